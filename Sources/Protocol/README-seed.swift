// Seed file: the Protocol area's code replaces this.
