// The OpenRPC document and the Markdown reference, both from the method table.

public enum OpenRPC {
    public static func document(version: String, stages: [StageSpec] = []) -> JSON {
        var methods: [JSON] = Methods.all.map(method)
        for s in stages { methods.append(stageMethod(s)) }
        return [
            "openrpc": "1.2.6",
            "info": ["title": "reeld", "version": .string(version),
                     "description": .string("JSON-RPC 2.0 over a Unix socket, one message per line. Protocol \(Methods.protocolVersion).")],
            "methods": .array(methods),
            "components": ["errors": .object(JSONObject(RPCErrorCode.catalogue.map {
                (String($0.code.rawValue), ["code": .int(Int64($0.code.rawValue)), "message": .string($0.name), "data": .string($0.meaning)])
            }))],
            "x-notifications": .array(Methods.notifications.map {
                ["name": .string($0.name), "summary": .string($0.summary), "params": $0.params]
            }),
        ]
    }

    static func method(_ m: MethodSpec) -> JSON {
        var o: JSONObject = [
            "name": .string(m.name),
            "summary": .string(m.summary),
            "paramStructure": "either",
            "params": .array(m.params.map { p in
                ["name": .string(p.name), "summary": .string(p.summary), "required": .bool(p.required), "schema": p.schema]
            }),
            "result": ["name": .string(m.resultName), "schema": m.result],
        ]
        if !m.description.isEmpty { o["description"] = .string(m.description) }
        if !m.errors.isEmpty {
            o["errors"] = .array(m.errors.map { c in
                ["code": .int(Int64(c.rawValue)), "message": .string(RPCErrorCode.catalogue.first { $0.code == c }?.name ?? "")]
            })
        }
        return .object(o)
    }

    static func stageMethod(_ s: StageSpec) -> JSON {
        var params: [JSON] = Methods.stageEnvelopeParams.map {
            ["name": .string($0.name), "summary": .string($0.summary), "required": false, "schema": $0.schema]
        }
        let req = Set(s.paramsSchema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        for (k, v) in s.paramsSchema["properties"]?.objectValue?.pairs ?? [] {
            params.append(["name": .string(k), "summary": .string(v["description"]?.stringValue ?? ""),
                           "required": .bool(req.contains(k)), "schema": v])
        }
        return [
            "name": .string(s.method),
            "summary": .string(s.summary),
            "description": .string("Stage served by plugin \(s.plugin); a shortcut for job.submit with method \(s.method). Returns the queued job."),
            "paramStructure": "by-name",
            "params": .array(params),
            "result": ["name": "job", "schema": Schemas.job],
            "x-plugin": .string(s.plugin),
            "x-model-kinds": .array(s.modelKinds.map { .string($0) }),
        ]
    }
}

/// The generated part of docs/protocol.md.
public enum ProtocolReference {
    public static let beginMarker = "<!-- BEGIN GENERATED FROM Sources/Protocol/Methods/MethodTable.swift -->"
    public static let endMarker = "<!-- END GENERATED -->"

    public static func markdown() -> String {
        var out = [beginMarker, "", "### Methods", "", "| method | summary |", "|---|---|"]
        for m in Methods.all { out.append("| [`\(m.name)`](#\(anchor(m.name))) | \(m.summary) |") }
        for m in Methods.all {
            out.append("")
            out.append("#### `\(m.name)`")
            out.append("")
            out.append(m.summary + (m.description.isEmpty ? "" : " " + m.description))
            out.append("")
            if m.params.isEmpty {
                out.append("Params: none.")
            } else {
                out.append("| param | type | required | meaning |")
                out.append("|---|---|---|---|")
                for p in m.params {
                    out.append("| `\(p.name)` | \(typeText(p.schema)) | \(p.required ? "yes" : "no") | \(p.summary) |")
                }
            }
            out.append("")
            out.append("Result `\(m.resultName)`: \(typeText(m.result))\(fields(m.result)).")
            if !m.errors.isEmpty {
                out.append("")
                out.append("Errors: " + m.errors.map { c in
                    "\(c.rawValue) \(RPCErrorCode.catalogue.first { $0.code == c }?.name ?? "")"
                }.joined(separator: ", ") + ".")
            }
        }
        out += ["", "### Notifications (daemon → subscribed client)", "", "| method | params | meaning |", "|---|---|---|"]
        for n in Methods.notifications {
            let keys = n.params["properties"]?.objectValue?.keys.map { "`\($0)`" }.joined(separator: ", ") ?? ""
            out.append("| `\(n.name)` | \(keys) | \(n.summary) |")
        }
        out += ["", "### Error codes", "", "| code | name | meaning |", "|---|---|---|"]
        for e in RPCErrorCode.catalogue { out.append("| \(e.code.rawValue) | \(e.name) | \(e.meaning) |") }
        out += ["", endMarker]
        return out.joined(separator: "\n")
    }

    static func anchor(_ name: String) -> String { name.lowercased().filter { $0.isLetter || $0.isNumber } }

    static func typeText(_ s: JSON) -> String {
        if let t = s["type"]?.stringValue {
            if t == "array", let it = s["items"] { return "array of \(typeText(it))" }
            if let e = s["enum"]?.arrayValue { return e.map { "`\($0)`" }.joined(separator: " \\| ") }
            return t
        }
        if let ts = s["type"]?.arrayValue { return ts.compactMap(\.stringValue).joined(separator: " or ") }
        return "any"
    }

    static func fields(_ s: JSON) -> String {
        guard let props = s["properties"]?.objectValue, !props.isEmpty else { return "" }
        return " with " + props.keys.map { "`\($0)`" }.joined(separator: ", ")
    }
}
