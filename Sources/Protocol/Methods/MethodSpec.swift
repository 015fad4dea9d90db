// The shape of one entry in the method table.

/// One named parameter of a method (OpenRPC's "content descriptor").
public struct ParamSpec: Sendable {
    public var name: String
    public var summary: String
    public var required: Bool
    public var schema: JSON

    public init(_ name: String, _ summary: String, required: Bool = false, schema: JSON) {
        self.name = name
        self.summary = summary
        self.required = required
        self.schema = schema
    }
}

/// One method: what the dispatcher serves, `rpc.discover` lists and
/// docs/protocol.md documents.
public struct MethodSpec: Sendable {
    public var name: String
    public var summary: String
    public var description: String
    public var params: [ParamSpec]
    public var resultName: String
    public var result: JSON
    public var errors: [RPCErrorCode]

    public init(_ name: String, summary: String, description: String = "", params: [ParamSpec] = [],
                resultName: String = "result", result: JSON, errors: [RPCErrorCode] = []) {
        self.name = name
        self.summary = summary
        self.description = description
        self.params = params
        self.resultName = resultName
        self.result = result
        self.errors = errors
    }

    /// The params as one object schema: what the dispatcher validates against.
    public var paramsSchema: JSON {
        var props = JSONObject()
        for p in params { props[p.name] = p.schema }
        return [
            "type": "object",
            "properties": .object(props),
            "required": .array(params.filter(\.required).map { .string($0.name) }),
            "additionalProperties": false,
        ]
    }

    /// Positional params become named ones in declaration order (JSON-RPC
    /// allows both; OpenRPC's paramStructure "either").
    public func namedParams(_ params: JSON?) -> Result<JSONObject, RPCError> {
        switch params {
        case nil, .null?: return .success(JSONObject())
        case .object(let o)?: return .success(o)
        case .array(let a)?:
            guard a.count <= self.params.count else {
                return .failure(.invalidParams(field: "/\(self.params.count)",
                    reason: "\(name) takes at most \(self.params.count) positional params, got \(a.count)"))
            }
            var o = JSONObject()
            for (i, v) in a.enumerated() { o[self.params[i].name] = v }
            return .success(o)
        default:
            return .failure(.invalidParams(field: "", reason: "params must be an object or an array"))
        }
    }

    /// Named params, validated against the schema.
    public func validate(_ params: JSON?) -> Result<JSONObject, RPCError> {
        namedParams(params).flatMap { o in
            if let v = SchemaValidator.firstViolation(of: .object(o), against: paramsSchema) {
                return .failure(.invalidParams(field: v.field, reason: v.reason))
            }
            return .success(o)
        }
    }
}

/// A notification the daemon sends to subscribed connections.
public struct NotificationSpec: Sendable {
    public var name: String
    public var summary: String
    public var params: JSON
}
