/* A complete reel plugin in plain C, used by the daemon tests: stage
 * "echo.run" needs no model, counts `steps` steps (checking cancellation at
 * each) and returns {"echo": <the params>}. It is also the example of
 * docs/plugins.md. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include "reel_plugin.h"

static int echo_run(const char *method, void *model, const char *params_json, const reel_host *host) {
    (void)model;
    if (strcmp(method, "echo.run") != 0) {
        host->set_error(host->ctx, "unknown method");
        return REEL_ERR_FAILED;
    }
    /* A real plugin parses params with its JSON library; the echo needs only "steps". */
    long steps = 3;
    const char *s = strstr(params_json, "\"steps\":");
    if (s) steps = strtol(s + 8, NULL, 10);
    for (long i = 1; i <= steps; i++) {
        if (host->is_cancelled(host->ctx)) return REEL_ERR_CANCELLED;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        host->progress(host->ctx, "echo", i, steps);
    }
    size_t n = strlen(params_json) + 16;
    char *result = malloc(n);
    if (!result) return REEL_ERR_NO_MEMORY;
    snprintf(result, n, "{\"echo\":%s}", params_json);
    host->set_result(host->ctx, result);
    free(result);
    host->log(host->ctx, REEL_LOG_DEBUG, "echo done");
    return REEL_OK;
}

static const reel_stage echo_stages[] = {
    {
        .method = "echo.run",
        .summary = "Echo the params back after `steps` steps (a C test plugin).",
        .params_schema_json =
            "{\"type\":\"object\",\"properties\":{"
            "\"message\":{\"type\":\"string\",\"description\":\"Anything.\"},"
            "\"steps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000,\"description\":\"Steps to count.\"}},"
            "\"required\":[\"message\"],\"additionalProperties\":false}",
        .model_kinds = NULL,
        .flags = 0,
    },
};

static const reel_plugin echo_plugin = {
    .abi_version = REEL_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(reel_plugin),
    .name = "echo-c",
    .version = "1.0.0",
    .description = "Echoes its params; proves the ABI works from plain C.",
    .model_kinds = NULL,
    .stages = echo_stages,
    .stage_count = 1,
    .estimate = NULL,
    .load = NULL,
    .unload = NULL,
    .resident_bytes = NULL,
    .run = echo_run,
};

REEL_PLUGIN_EXPORT const reel_plugin *reel_plugin_entry(uint32_t host_abi_version) {
    (void)host_abi_version;
    return &echo_plugin;
}
