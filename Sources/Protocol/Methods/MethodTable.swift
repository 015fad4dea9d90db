// THE method table. The daemon's dispatcher serves exactly these names,
// `rpc.discover` is generated from them, and docs/protocol.md is generated
// from them (a test keeps the doc in step). Plugin stages (video.generate,
// video.upsample, …) are added at run time from the plugins' descriptors and
// are shortcuts for job.submit with that stage.

public enum Methods {
    public static let protocolVersion = "1.0.0"

    static let jobParams: [ParamSpec] = [ParamSpec("id", "The job id.", required: true, schema: Schemas.jobID)]

    public static let all: [MethodSpec] = [
        MethodSpec("reel.info", summary: "Daemon version, ABI version, plugins and their stages, resident models, memory budget, queue depth.",
                   resultName: "info",
                   result: Schemas.obj([
                       ("version", Schemas.string), ("protocol_version", Schemas.string), ("abi_version", Schemas.integer),
                       ("pid", Schemas.integer), ("uptime_seconds", Schemas.number), ("socket", Schemas.string),
                       ("state_dir", Schemas.string),
                       ("plugins", Schemas.array(Schemas.obj([("name", Schemas.string), ("version", Schemas.string), ("stages", Schemas.array(Schemas.string))]))),
                       ("resident", Schemas.array(Schemas.residentModel)),
                       ("memory_budget_bytes", Schemas.integer), ("memory_resident_bytes", Schemas.integer),
                       ("queue", Schemas.obj([("depth", Schemas.integer), ("capacity", Schemas.integer), ("running", Schemas.nullable(Schemas.jobID))])),
                       ("peer", Schemas.obj([("pid", Schemas.integer), ("uid", Schemas.integer), ("gid", Schemas.integer)])),
                   ])),
        MethodSpec("rpc.discover", summary: "The OpenRPC document of every method, including the plugins' stages.",
                   resultName: "openrpc", result: ["type": "object", "description": "An OpenRPC 1.2.6 document."]),
        MethodSpec("plugin.list", summary: "Loaded plugins with their stages and params schemas, and the plugin files that were skipped and why.",
                   resultName: "plugins",
                   result: Schemas.obj([("plugins", Schemas.array(Schemas.plugin)),
                                        ("skipped", Schemas.array(Schemas.obj([("path", Schemas.string), ("reason", Schemas.string)])))])),
        MethodSpec("model.list", summary: "Models found in the model directories, with their kind, serving plugin and memory estimate.",
                   resultName: "models", result: Schemas.obj([("models", Schemas.array(Schemas.model))])),
        MethodSpec("model.load", summary: "Load a model now (waits until it is resident) and keep it for `keep_alive`.",
                   description: "Checks the plugin's memory estimate against the budget first, evicting idle models least recently used first.",
                   params: [ParamSpec("model", "Model name (directory name in a model directory) or an absolute path.", required: true, schema: Schemas.string),
                            ParamSpec("keep_alive", "How long to keep it after use; default from reeld.toml (5m).", schema: Schemas.keepAlive)],
                   resultName: "model", result: Schemas.residentModel,
                   errors: [.modelNotFound, .modelTooLarge, .memoryBusy, .pluginFailure, .accessDenied]),
        MethodSpec("model.unload", summary: "Unload a resident model now.",
                   params: [ParamSpec("model", "Model name or path.", required: true, schema: Schemas.string)],
                   resultName: "unloaded", result: Schemas.obj([("unloaded", Schemas.boolean)]),
                   errors: [.modelNotFound, .modelBusy]),
        MethodSpec("model.ps", summary: "Resident models: bytes, last use, keep-alive expiry, in-use count; and the memory budget.",
                   resultName: "resident",
                   result: Schemas.obj([("models", Schemas.array(Schemas.residentModel)),
                                        ("budget_bytes", Schemas.integer), ("used_bytes", Schemas.integer)])),
        MethodSpec("media.probe", summary: "What a media file holds (format, duration, streams, tags) and reel's AI-generated label, if it has one.",
                   description: "Reads the container headers only, no decoding. The calling user must be able to read the file.",
                   params: [ParamSpec("path", "Absolute path of the file.", required: true, schema: Schemas.readPath)],
                   resultName: "media", result: Schemas.mediaInfo,
                   errors: [.accessDenied, .badMedia]),
        MethodSpec("job.submit", summary: "Queue a job for a stage; returns its id at once.",
                   description: "The job outlives the connection. With `subscribe` the connection receives the job's events from the start.",
                   params: [ParamSpec("method", "The stage, e.g. video.generate (see plugin.list).", required: true, schema: Schemas.string),
                            ParamSpec("params", "The stage's params (checked against its schema).", schema: Schemas.object),
                            ParamSpec("model", "Model name or path; default: the only model of a kind the stage serves.", schema: Schemas.string),
                            ParamSpec("keep_alive", "Keep the model this long after the job.", schema: Schemas.keepAlive),
                            ParamSpec("subscribe", "Subscribe this connection to the job's events.", schema: Schemas.boolean)],
                   resultName: "job", result: Schemas.job,
                   errors: [.queueFull, .methodNotFound, .invalidParams, .modelNotFound, .modelTooLarge, .accessDenied, .badMedia, .shuttingDown]),
        MethodSpec("job.get", summary: "One job: state, progress, result or error.", params: jobParams,
                   resultName: "job", result: Schemas.job, errors: [.jobNotFound]),
        MethodSpec("job.list", summary: "Jobs, newest first, optionally filtered.",
                   params: [ParamSpec("state", "Only jobs in these states.", schema: Schemas.array(Schemas.jobState)),
                            ParamSpec("method", "Only jobs of this stage.", schema: Schemas.string),
                            ParamSpec("limit", "At most this many (default 50).", schema: ["type": "integer", "minimum": 1, "maximum": 10000])],
                   resultName: "jobs", result: Schemas.obj([("jobs", Schemas.array(Schemas.job))])),
        MethodSpec("job.cancel", summary: "Cancel a queued or running job; a running job stops at its stage's next check (within a denoising step for video.generate, between tiles for video.upsample).",
                   description: "Returns the job. Cancelling a finished job changes nothing.",
                   params: jobParams, resultName: "job", result: Schemas.job, errors: [.jobNotFound]),
        MethodSpec("job.wait", summary: "Wait until a job is finished (or `timeout` seconds pass) and return it.",
                   description: "A job that ended failed, cancelled or interrupted answers with that error code and the job in `data`.",
                   params: jobParams + [ParamSpec("timeout", "Seconds to wait at most; the job is returned as it is then.",
                                                  schema: ["type": "number", "minimum": 0])],
                   resultName: "job", result: Schemas.job, errors: [.jobNotFound, .pluginFailure, .cancelled, .interrupted]),
        MethodSpec("job.subscribe", summary: "Send this connection the events of these jobs (or of every job of the caller).",
                   description: "Events are the notifications job.progress, job.state and job.queue. Subscribing to a running job reattaches to it; its current state is sent at once.",
                   params: [ParamSpec("ids", "Job ids; omit for all jobs.", schema: Schemas.array(Schemas.jobID))],
                   resultName: "subscribed", result: Schemas.obj([("ids", Schemas.array(Schemas.jobID)), ("all", Schemas.boolean)]),
                   errors: [.jobNotFound]),
        MethodSpec("job.unsubscribe", summary: "Stop sending events of these jobs (or of all jobs) to this connection.",
                   params: [ParamSpec("ids", "Job ids; omit for all.", schema: Schemas.array(Schemas.jobID))],
                   resultName: "unsubscribed", result: Schemas.obj([("ids", Schemas.array(Schemas.jobID)), ("all", Schemas.boolean)])),
    ]

    public static let notifications: [NotificationSpec] = [
        NotificationSpec(name: "job.progress", summary: "Progress of a loading or running job (at most ~20 per second per job).",
                         params: Schemas.obj([("id", Schemas.jobID), ("state", Schemas.jobState), ("phase", Schemas.string),
                                              ("step", Schemas.integer), ("total", Schemas.integer), ("fraction", Schemas.number),
                                              ("eta_seconds", Schemas.nullable(Schemas.number))])),
        NotificationSpec(name: "job.state", summary: "A job changed state; final states carry result or error.",
                         params: Schemas.obj([("id", Schemas.jobID), ("state", Schemas.jobState), ("job", Schemas.job)])),
        NotificationSpec(name: "job.queue", summary: "A queued job moved in the queue.",
                         params: Schemas.obj([("id", Schemas.jobID), ("position", Schemas.integer)])),
    ]

    public static let byName: [String: MethodSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Params every stage shortcut accepts besides the stage's own (taken out
    /// before the stage schema is checked, so stage schemas must not use them).
    public static let stageEnvelopeParams: [ParamSpec] = [
        ParamSpec("model", "Model name or path.", schema: Schemas.string),
        ParamSpec("keep_alive", "Keep the model this long after the job.", schema: Schemas.keepAlive),
        ParamSpec("subscribe", "Subscribe this connection to the job's events.", schema: Schemas.boolean),
    ]
}

/// A stage a plugin serves, as the protocol sees it.
public struct StageSpec: Sendable {
    public var method: String
    public var summary: String
    public var plugin: String
    public var paramsSchema: JSON
    public var modelKinds: [String]
    public var needsModel: Bool
    public init(method: String, summary: String, plugin: String, paramsSchema: JSON, modelKinds: [String], needsModel: Bool) {
        self.method = method
        self.summary = summary
        self.plugin = plugin
        self.paramsSchema = paramsSchema
        self.modelKinds = modelKinds
        self.needsModel = needsModel
    }
}
