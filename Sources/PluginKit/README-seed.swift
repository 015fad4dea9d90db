// Seed file: the PluginKit area's code replaces this.
