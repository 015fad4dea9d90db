"""reel's training code: the procedural world, the default models' training and export, evaluation."""
