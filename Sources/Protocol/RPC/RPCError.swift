// JSON-RPC 2.0 error objects: the standard codes and reel's application codes.

/// An error code. The -32768…-32000 range is reserved by JSON-RPC; reel's
/// application errors use -32001…-32099 ("server error" range) so that generic
/// JSON-RPC clients still recognise them as errors of the server.
public struct RPCErrorCode: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    // JSON-RPC 2.0
    public static let parseError = RPCErrorCode(rawValue: -32700)
    public static let invalidRequest = RPCErrorCode(rawValue: -32600)
    public static let methodNotFound = RPCErrorCode(rawValue: -32601)
    public static let invalidParams = RPCErrorCode(rawValue: -32602)
    public static let internalError = RPCErrorCode(rawValue: -32603)

    // reel
    public static let queueFull = RPCErrorCode(rawValue: -32001)
    public static let jobNotFound = RPCErrorCode(rawValue: -32002)
    public static let modelTooLarge = RPCErrorCode(rawValue: -32003)
    public static let pluginFailure = RPCErrorCode(rawValue: -32004)
    public static let cancelled = RPCErrorCode(rawValue: -32005)
    public static let accessDenied = RPCErrorCode(rawValue: -32006)
    public static let modelNotFound = RPCErrorCode(rawValue: -32007)
    public static let messageTooLarge = RPCErrorCode(rawValue: -32008)
    public static let shuttingDown = RPCErrorCode(rawValue: -32009)
    public static let modelBusy = RPCErrorCode(rawValue: -32010)
    public static let memoryBusy = RPCErrorCode(rawValue: -32011)
    // -32012 is retired: job.wait answers a failed job with -32004 (plugin failure).
    public static let interrupted = RPCErrorCode(rawValue: -32013)
    public static let badMedia = RPCErrorCode(rawValue: -32014)

    /// Every code with its name and meaning, in the order the docs list them.
    public static let catalogue: [(code: RPCErrorCode, name: String, meaning: String)] = [
        (.parseError, "parse error", "The line is not JSON: a syntax error, invalid UTF-8, or nesting deeper than 2048 levels. `id` is null."),
        (.invalidRequest, "invalid request", "The JSON is not a JSON-RPC 2.0 request (missing `jsonrpc: \"2.0\"`, `method` not a string, bad `id`, empty batch). `data.field` names what is wrong."),
        (.methodNotFound, "method not found", "No built-in method and no plugin stage has that name. `data.method` echoes it."),
        (.invalidParams, "invalid params", "The params do not match the method's schema. `data.field` names the offending field (a JSON pointer), `data.reason` says why."),
        (.internalError, "internal error", "A bug in reeld; the message says what failed. The daemon keeps serving."),
        (.queueFull, "queue full", "The job queue already holds `queue_size` jobs waiting to run. Retry later; nothing was queued."),
        (.jobNotFound, "job not found", "No job with that id exists (or it belongs to another user)."),
        (.modelTooLarge, "model too large", "The plugin's estimate of the model's memory exceeds the whole memory budget. `data` has `estimate_bytes` and `budget_bytes`."),
        (.pluginFailure, "plugin failure", "The plugin reported an error while loading a model or running a job; the message is the plugin's."),
        (.cancelled, "cancelled", "The job was cancelled (by `job.cancel` or a client's Ctrl-C) before it finished."),
        (.accessDenied, "access denied", "The calling user may not read or write a path named in the params, or may not connect at all (the socket's access rule)."),
        (.modelNotFound, "model not found", "No model with that name in the model directories, or no plugin serves its kind."),
        (.messageTooLarge, "message too large", "The line exceeded `max_message_bytes`; it was discarded up to its newline."),
        (.shuttingDown, "shutting down", "reeld is draining (SIGTERM) and accepts no new work."),
        (.modelBusy, "model busy", "The model is in use by a running job and cannot be unloaded now."),
        (.memoryBusy, "memory busy", "The model fits the budget, but models in use hold too much of it right now."),
        (.interrupted, "interrupted", "The job was running when reeld stopped; it will not resume."),
        (.badMedia, "bad media", "A file named in the params is not media reel can read (missing, truncated, not media, no decoder); at `job.submit`, an input the stage marks `x-reel-media` that fails its header check (`data.field` names it). `data` has `path`, `reason` (unreadable, not_media, truncated, empty_stream, no_stream, absurd_dimensions, unsupported_codec, …) and `detail`."),
    ]
}

/// A JSON-RPC error object.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: RPCErrorCode
    public var message: String
    public var data: JSON?

    public init(_ code: RPCErrorCode, _ message: String, data: JSON? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var json: JSON {
        var o: JSONObject = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
        if let data { o["data"] = data }
        return .object(o)
    }

    public init?(json: JSON) {
        guard let c = json["code"]?.intValue, let m = json["message"]?.stringValue else { return nil }
        self.init(RPCErrorCode(rawValue: Int(c)), m, data: json["data"])
    }

    public var description: String { "\(message) (code \(code.rawValue))" }

    // Helpers for the common shapes.
    public static func invalidParams(field: String, reason: String) -> RPCError {
        RPCError(.invalidParams, "invalid params: \(field.isEmpty ? "params" : field): \(reason)",
                 data: ["field": .string(field), "reason": .string(reason)])
    }
    public static func invalidRequest(field: String, reason: String) -> RPCError {
        RPCError(.invalidRequest, "invalid request: \(reason)", data: ["field": .string(field), "reason": .string(reason)])
    }
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(.methodNotFound, "method not found: \(method)", data: ["method": .string(method)])
    }
    public static func parseError(_ e: JSONParseError) -> RPCError {
        RPCError(.parseError, "parse error: \(e.message)",
                 data: ["line": .int(Int64(e.line)), "column": .int(Int64(e.column)), "position": .int(Int64(e.position))])
    }
}
