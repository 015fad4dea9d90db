// Seed: the engine issue replaces this.
