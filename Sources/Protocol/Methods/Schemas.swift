// JSON Schemas of the values that travel in params and results.

public enum Schemas {
    public static let string: JSON = ["type": "string"]
    public static let integer: JSON = ["type": "integer"]
    public static let number: JSON = ["type": "number"]
    public static let boolean: JSON = ["type": "boolean"]
    public static let object: JSON = ["type": "object"]
    public static func nullable(_ s: JSON) -> JSON {
        var s = s
        if let t = s["type"]?.stringValue { s["type"] = [.string(t), "null"] }
        return s
    }
    public static func array(_ items: JSON) -> JSON { ["type": "array", "items": items] }
    public static func obj(_ props: [(String, JSON)], required: [String] = []) -> JSON {
        ["type": "object", "properties": .object(JSONObject(props)), "required": .array(required.map { .string($0) })]
    }
    public static func described(_ s: JSON, _ d: String) -> JSON {
        var s = s
        s["description"] = .string(d)
        return s
    }

    public static let jobID: JSON = ["type": "string", "minLength": 1, "description": "A job id as returned by job.submit."]
    public static let jobState: JSON = ["type": "string", "enum": .array(JobState.allCases.map { .string($0.rawValue) })]

    /// A keep-alive: seconds (0 = unload after the job, negative = pinned) or
    /// a duration string such as "5m", "30s", "1h", "0", "-1".
    public static let keepAlive: JSON = [
        "type": ["integer", "number", "string"],
        "description": "Seconds, or a duration like \"5m\", \"90s\", \"1h\"; 0 unloads after use, -1 pins the model.",
    ]

    public static let error: JSON = obj([("code", integer), ("message", string), ("data", [:])], required: ["code", "message"])

    public static let progress: JSON = obj([
        ("phase", described(string, "What the job is doing: queued, loading, or a plugin phase such as denoise, decode, encode.")),
        ("step", integer), ("total", integer),
        ("fraction", described(number, "step/total of the current phase, 0…1.")),
        ("eta_seconds", nullable(described(number, "Estimated seconds left in the current phase; null until measurable."))),
    ])

    public static let job: JSON = obj([
        ("id", jobID),
        ("method", described(string, "The stage, e.g. video.generate.")),
        ("plugin", string),
        ("model", nullable(string)),
        ("params", object),
        ("state", jobState),
        ("position", nullable(described(integer, "1-based place in the queue while queued."))),
        ("progress", progress),
        ("created_at", described(number, "Unix time, seconds.")),
        ("started_at", nullable(number)),
        ("finished_at", nullable(number)),
        ("result", described([:], "The plugin's result (names output files) once done.")),
        ("outputs", described(array(obj([("path", string), ("media_type", string)], required: ["path", "media_type"])),
                              "The files the plugin declared before writing them, also when the job failed (partial outputs).")),
        ("error", nullable(error)),
        ("uid", integer),
    ], required: ["id", "method", "state", "created_at"])

    public static let residentModel: JSON = obj([
        ("name", string), ("path", string), ("plugin", string), ("kind", string),
        ("bytes", described(integer, "Resident size reported by the plugin.")),
        ("loaded_at", number), ("last_used", number),
        ("expires_at", nullable(described(number, "Unix time the keep-alive ends; null when pinned or in use."))),
        ("keep_alive_seconds", described(number, "-1 = pinned.")),
        ("in_use", described(integer, "Jobs currently using the model.")),
    ], required: ["name", "bytes", "in_use"])

    public static let model: JSON = obj([
        ("name", string), ("path", string), ("kind", string), ("plugin", nullable(string)),
        ("estimate_bytes", nullable(integer)), ("resident", boolean),
    ], required: ["name", "path", "kind"])

    public static let stage: JSON = obj([
        ("method", string), ("summary", string), ("model_kinds", array(string)),
        ("needs_model", boolean), ("params_schema", object),
    ])

    public static let plugin: JSON = obj([
        ("name", string), ("version", string), ("path", string), ("abi_version", integer),
        ("model_kinds", array(string)), ("stages", array(stage)),
    ])

    public static let readPath: JSON = ["type": "string", "minLength": 1, "x-reel-access": "read"]

    /// media.probe's result: the container, its streams, its tags and reel's label.
    public static let mediaInfo: JSON = obj([
        ("path", string), ("format", string), ("format_long_name", string),
        ("duration_seconds", nullable(number)), ("bit_rate", nullable(integer)), ("file_size", integer),
        ("indexed_end", described(nullable(integer), "Where the header's index says the data ends (bytes); null without an index.")),
        ("cut_short", described(boolean, "The index reaches past the file's end: the file was cut short after its header.")),
        ("streams", array(obj([
            ("index", integer), ("kind", string), ("codec", string), ("codec_long_name", string),
            ("decodable", boolean), ("duration_seconds", nullable(number)), ("frames", nullable(integer)),
            ("width", nullable(integer)), ("height", nullable(integer)), ("fps", nullable(number)),
            ("pixel_format", nullable(string)), ("sample_rate", nullable(integer)), ("channels", nullable(integer)),
            ("channel_layout", nullable(string)), ("tags", object),
        ]))),
        ("tags", object),
        ("label", nullable(obj([
            ("ai_generated", boolean), ("generator", string), ("model", string), ("plugin", string),
            ("plugin_version", string), ("prompt", string), ("seed", integer),
        ]))),
        ("summary", string),
    ])
}
