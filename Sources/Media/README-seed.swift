// Seed file: the Media area's code replaces this.
