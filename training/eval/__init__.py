"""Evaluation: a pixel analyzer for generated clips, prompt parsing, and the held-out benchmark."""
