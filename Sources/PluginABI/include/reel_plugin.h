/* reel_plugin.h — the versioned C ABI between reeld and its stage plugins.
 * Seed: the daemon issue defines it. */
#ifndef REEL_PLUGIN_H
#define REEL_PLUGIN_H
#endif
