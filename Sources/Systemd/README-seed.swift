// Seed file: the Systemd area's code replaces this.
