// The JSON-RPC 2.0 envelope: requests, notifications, responses, batches.

/// A request id: a string, an integer, or null (the spec allows all three).
public enum RPCID: Hashable, Sendable {
    case int(Int64)
    case string(String)
    case null

    public var json: JSON {
        switch self {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        case .null: return .null
        }
    }

    init?(json: JSON) {
        switch json {
        case .int(let i): self = .int(i)
        case .string(let s): self = .string(s)
        case .null: self = .null
        case .double(let d) where d.rounded() == d: self = .int(Int64(d))
        default: return nil
        }
    }
}

/// A call from a client. `id == nil` makes it a notification: no response.
public struct RPCRequest: Sendable, Equatable {
    public var id: RPCID?
    public var method: String
    public var params: JSON?

    public init(id: RPCID?, method: String, params: JSON? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    public var isNotification: Bool { id == nil }

    public var json: JSON {
        var o: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { o["params"] = params }
        if let id { o["id"] = id.json }
        return .object(o)
    }

    /// Validates one request object. On failure the error carries the id when
    /// one could be read, so the client can still match the response.
    public static func decode(_ json: JSON) -> Result<RPCRequest, RPCRequestError> {
        guard case .object(let o) = json else {
            return .failure(RPCRequestError(id: .null, error: .invalidRequest(field: "", reason: "a request must be an object, got \(json.typeName)")))
        }
        var id: RPCID? = nil
        if let rawID = o["id"] {
            guard let parsed = RPCID(json: rawID) else {
                return .failure(RPCRequestError(id: .null, error: .invalidRequest(field: "id", reason: "id must be a string, an integer or null")))
            }
            id = parsed
        }
        let replyID = id ?? .null
        guard o["jsonrpc"] == .string("2.0") else {
            return .failure(RPCRequestError(id: replyID, error: .invalidRequest(field: "jsonrpc", reason: "\"jsonrpc\" must be exactly \"2.0\"")))
        }
        guard case .string(let method)? = o["method"] else {
            return .failure(RPCRequestError(id: replyID, error: .invalidRequest(field: "method", reason: "\"method\" must be a string")))
        }
        if let p = o["params"] {
            switch p {
            case .object, .array: break
            default:
                return .failure(RPCRequestError(id: replyID, error: .invalidRequest(field: "params", reason: "\"params\" must be an object or an array")))
            }
        }
        for key in o.keys where !["jsonrpc", "method", "params", "id"].contains(key) {
            return .failure(RPCRequestError(id: replyID, error: .invalidRequest(field: key, reason: "unknown member \"\(key)\"")))
        }
        return .success(RPCRequest(id: id, method: method, params: o["params"]))
    }
}

/// A request that could not be accepted, with the id to answer it under.
public struct RPCRequestError: Error, Sendable, Equatable {
    public var id: RPCID
    public var error: RPCError
}

/// The answer to one request.
public struct RPCResponse: Sendable, Equatable {
    public var id: RPCID
    public var outcome: Result<JSON, RPCError>

    public init(id: RPCID, result: JSON) { self.id = id; self.outcome = .success(result) }
    public init(id: RPCID, error: RPCError) { self.id = id; self.outcome = .failure(error) }

    public var json: JSON {
        switch outcome {
        case .success(let r): return ["jsonrpc": "2.0", "id": id.json, "result": r]
        case .failure(let e): return ["jsonrpc": "2.0", "id": id.json, "error": e.json]
        }
    }
}

/// A notification from the daemon to a subscribed client.
public struct RPCNotification: Sendable, Equatable {
    public var method: String
    public var params: JSON

    public init(method: String, params: JSON) { self.method = method; self.params = params }

    public var json: JSON { ["jsonrpc": "2.0", "method": .string(method), "params": params] }
}

/// What a client reads from the daemon: a response or a notification.
public enum RPCServerMessage: Sendable, Equatable {
    case response(RPCResponse)
    case notification(RPCNotification)
    case batch([RPCResponse])

    public static func decode(_ json: JSON) -> RPCServerMessage? {
        if case .array(let items) = json {
            var rs: [RPCResponse] = []
            for i in items {
                guard case .response(let r)? = decode(i) else { return nil }
                rs.append(r)
            }
            return .batch(rs)
        }
        guard case .object(let o) = json, o["jsonrpc"] == .string("2.0") else { return nil }
        if let m = o["method"]?.stringValue, o["id"] == nil {
            return .notification(RPCNotification(method: m, params: o["params"] ?? .null))
        }
        guard let rawID = o["id"], let id = RPCID(json: rawID) else { return nil }
        if let e = o["error"], let err = RPCError(json: e) { return .response(RPCResponse(id: id, error: err)) }
        if let r = o["result"] { return .response(RPCResponse(id: id, result: r)) }
        return nil
    }
}

/// One incoming line, decoded as far as the spec lets us.
public enum RPCIncoming: Sendable {
    /// The line is not JSON: answer one parse error with id null.
    case unparsable(RPCError)
    /// A single request (or a single invalid request).
    case single(Result<RPCRequest, RPCRequestError>)
    /// A batch; an empty batch is itself an invalid request (handled by `decode`).
    case batch([Result<RPCRequest, RPCRequestError>])

    public static func decode(_ bytes: UnsafeRawBufferPointer) -> RPCIncoming {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch let e as JSONParseError {
            return .unparsable(.parseError(e))
        } catch {
            return .unparsable(RPCError(.parseError, "parse error: \(error)"))
        }
        return decode(json)
    }

    public static func decode(_ json: JSON) -> RPCIncoming {
        if case .array(let items) = json {
            if items.isEmpty {
                return .single(.failure(RPCRequestError(id: .null, error: .invalidRequest(field: "", reason: "an empty batch is not a request"))))
            }
            return .batch(items.map(RPCRequest.decode))
        }
        return .single(RPCRequest.decode(json))
    }
}
