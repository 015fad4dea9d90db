/* A plugin built against a future ABI: reeld must log it and skip it. */
#include <stddef.h>
#include "reel_plugin.h"

static const reel_plugin wrong_plugin = {
    .abi_version = REEL_PLUGIN_ABI_VERSION + 98u,
    .struct_size = sizeof(reel_plugin),
    .name = "wrong-abi",
    .version = "9.9.9",
    .description = "Declares another ABI version.",
    .stages = NULL,
    .stage_count = 0,
};

REEL_PLUGIN_EXPORT const reel_plugin *reel_plugin_entry(uint32_t host_abi_version) {
    (void)host_abi_version;
    return &wrong_plugin;
}
