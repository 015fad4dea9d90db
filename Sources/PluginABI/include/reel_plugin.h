/* reel_plugin.h — the versioned C ABI between reeld and its stage plugins.
 *
 * A plugin is a shared library (.so) in one of reeld's plugin directories. It
 * exports ONE symbol, `reel_plugin_entry`, which returns a pointer to a static
 * descriptor: the ABI version it was built against, its name and version, the
 * model kinds it can load, the stages (JSON-RPC methods) it serves with a JSON
 * Schema of each stage's params, and the functions the host calls.
 *
 * Rules (docs/plugins.md has the long form):
 *  - Every string crossing the ABI is NUL-terminated UTF-8. JSON is JSON text.
 *  - Strings the plugin returns in its descriptor must live as long as the
 *    library is loaded (reeld never dlcloses a plugin).
 *  - Strings the host passes in are valid only during the call; copy them.
 *  - The host serialises calls that concern one model handle; calls for
 *    different models (and `estimate`) may run concurrently on other threads.
 *  - A plugin never exits the process, never installs signal handlers, and
 *    reports failure through its return status and host->set_error.
 */
#ifndef REEL_PLUGIN_H
#define REEL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change. reeld loads only plugins whose
 * descriptor->abi_version equals its own. */
#define REEL_PLUGIN_ABI_VERSION 1u

/* The name of the one exported symbol. */
#define REEL_PLUGIN_ENTRY_SYMBOL "reel_plugin_entry"

/* Status codes returned by estimate, load and run. */
typedef enum reel_status {
    REEL_OK = 0,
    REEL_ERR_FAILED = 1,         /* anything else; say why with host->set_error */
    REEL_ERR_CANCELLED = 2,      /* host->is_cancelled() returned true and the plugin stopped */
    REEL_ERR_INVALID_PARAMS = 3, /* params passed the schema but make no sense (say which with set_error) */
    REEL_ERR_ACCESS = 4,         /* host->declare_output refused a path */
    REEL_ERR_NO_MEMORY = 5,      /* an allocation failed */
    REEL_ERR_BAD_MODEL = 6       /* the model directory is not one this plugin can load */
} reel_status;

/* Log levels for host->log. */
typedef enum reel_log_level {
    REEL_LOG_ERROR = 0,
    REEL_LOG_WARNING = 1,
    REEL_LOG_INFO = 2,
    REEL_LOG_DEBUG = 3
} reel_log_level;

/* What the host offers a plugin during estimate, load and run. Every
 * callback gets `ctx` back as its first argument. All callbacks are safe to
 * call from any thread the plugin owns. */
typedef struct reel_host {
    uint32_t struct_size; /* sizeof(reel_host) of the host; later ABIs only append */
    void *ctx;

    /* Progress of the current phase ("load", "denoise", "decode", "render", ...):
     * step of total (total 0 = unknown). Cheap; call it at every step. */
    void (*progress)(void *ctx, const char *phase, int64_t step, int64_t total);

    /* Nonzero once the job was cancelled or the daemon is draining. Check it
     * at every step boundary and return REEL_ERR_CANCELLED promptly. */
    int (*is_cancelled)(void *ctx);

    /* A log line, attributed to the plugin and the job in the daemon's log. */
    void (*log)(void *ctx, int level, const char *message);

    /* Call before creating or writing an output file. Returns REEL_OK when the
     * client that submitted the job may write `path` (the host checks the
     * client's uid/gids against the directory), REEL_ERR_ACCESS otherwise; the
     * plugin must then not write it. The host records the path in the job's
     * `outputs`. `media_type` is e.g. "video/mp4", "application/octet-stream". */
    int (*declare_output)(void *ctx, const char *path, const char *media_type);

    /* The result of run, as JSON text (an object is customary). Copied by the
     * host; the last call wins. */
    void (*set_result)(void *ctx, const char *json);

    /* A human-readable error message for a non-OK status. Copied. */
    void (*set_error)(void *ctx, const char *message);
} reel_host;

/* Stage flags. */
#define REEL_STAGE_NEEDS_MODEL 1u /* run gets a loaded model handle (else model is NULL) */

/* One stage: a JSON-RPC method the plugin serves, e.g. "video.generate". */
typedef struct reel_stage {
    const char *method;             /* "<area>.<verb>", unique across plugins */
    const char *summary;            /* one line for rpc.discover and docs */
    const char *params_schema_json; /* JSON Schema (object) of the params */
    const char *const *model_kinds; /* NULL-terminated kinds this stage runs on; NULL = any kind of the plugin */
    uint32_t flags;                 /* REEL_STAGE_* */
} reel_stage;

/* The descriptor. Append-only across ABI versions; check struct_size. */
typedef struct reel_plugin {
    uint32_t abi_version; /* REEL_PLUGIN_ABI_VERSION the plugin was built with */
    uint32_t struct_size; /* sizeof(reel_plugin) */
    const char *name;     /* short, unique: "text-to-video" */
    const char *version;  /* the plugin's own version: "0.1.0" */
    const char *description;

    /* Model kinds this plugin loads, NULL-terminated. A kind is the
     * `_class_name` of a diffusers-layout directory's model_index.json (e.g.
     * "WanPipeline") or the `kind` of a directory's manifest.json (e.g.
     * "realesrgan-srvgg"). reeld discovers model directories and matches them. */
    const char *const *model_kinds;

    const reel_stage *stages;
    size_t stage_count;

    /* Bytes of memory loading `model_dir` would take (an honest upper
     * estimate: weights plus working buffers). Called before every load to
     * check the memory budget. May be NULL if the plugin has no models. */
    int (*estimate)(const char *model_dir, const char *kind, uint64_t *bytes_out, const reel_host *host);

    /* Load a model directory. `options_json` is an object (may be "{}").
     * Report progress with phase "load". On success store an opaque handle. */
    int (*load)(const char *model_dir, const char *kind, const char *options_json,
                const reel_host *host, void **model_out);

    /* Free everything load allocated. Never called while run uses the model. */
    void (*unload)(void *model);

    /* Bytes the loaded model actually holds now. */
    uint64_t (*resident_bytes)(void *model);

    /* Run one request of stage `method`. `params_json` has passed the stage's
     * schema. `model` is the loaded handle (NULL for stages without
     * REEL_STAGE_NEEDS_MODEL). Report progress, check is_cancelled at every
     * step, declare outputs before writing, set_result on success. */
    int (*run)(const char *method, void *model, const char *params_json, const reel_host *host);
} reel_plugin;

/* The exported entry point. `host_abi_version` is the host's
 * REEL_PLUGIN_ABI_VERSION; a plugin may return NULL if it cannot serve it. */
typedef const reel_plugin *(*reel_plugin_entry_fn)(uint32_t host_abi_version);

#if defined(__GNUC__)
#define REEL_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define REEL_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif /* REEL_PLUGIN_H */
