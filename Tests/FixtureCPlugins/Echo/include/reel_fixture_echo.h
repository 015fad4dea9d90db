/* The echo fixture plugin exports only reel_plugin_entry (see reel_plugin.h). */
