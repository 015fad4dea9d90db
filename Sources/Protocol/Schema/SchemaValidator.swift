// A small JSON Schema validator: the subset reel's method table and plugin
// stage schemas use (draft 2020-12 keywords: type, enum, const, properties,
// required, additionalProperties, items, minItems, maxItems, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, multipleOf, minLength, maxLength, anyOf), plus reel's
// `x-reel-extensions`: the file-name endings a path may have (e.g. [".mp4",
// ".png"], compared without case), so a wrong output name is refused when the job
// is submitted, not after its model has loaded. Other unknown keywords
// (description, default, format, examples, x-…) are ignored, as the spec says,
// so richer schemas still load.

public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// A JSON pointer to the offending value, e.g. `/frames` or `/size/0`.
    public var field: String
    public var reason: String
    public var description: String { "\(field.isEmpty ? "/" : field): \(reason)" }
}

public enum SchemaValidator {
    /// The first violation, or nil when `value` matches `schema`.
    public static func firstViolation(of value: JSON, against schema: JSON, at path: String = "") -> SchemaViolation? {
        guard case .object(let s) = schema else { return nil } // `true` / `{}` accept anything
        func fail(_ reason: String) -> SchemaViolation { SchemaViolation(field: path, reason: reason) }

        if let t = s["type"] {
            let allowed: [String] = t.stringValue.map { [$0] } ?? (t.arrayValue?.compactMap(\.stringValue) ?? [])
            if !allowed.isEmpty && !allowed.contains(where: { matches(value, type: $0) }) {
                return fail("expected \(allowed.joined(separator: " or ")), got \(value.typeName)")
            }
        }
        if let e = s["enum"]?.arrayValue, !e.contains(where: { equalNumbersAware($0, value) }) {
            return fail("must be one of \(e.map(\.description).joined(separator: ", "))")
        }
        if let c = s["const"], !equalNumbersAware(c, value) {
            return fail("must be \(c)")
        }
        if let any = s["anyOf"]?.arrayValue {
            var firstFailure: SchemaViolation?
            var ok = false
            for alt in any {
                if let v = firstViolation(of: value, against: alt, at: path) { firstFailure = firstFailure ?? v } else { ok = true; break }
            }
            if !ok, let f = firstFailure { return f }
        }
        switch value {
        case .int, .double:
            let x = value.doubleValue!
            if let m = s["minimum"]?.doubleValue, x < m { return fail("must be ≥ \(fmt(m)), got \(fmt(x))") }
            if let m = s["maximum"]?.doubleValue, x > m { return fail("must be ≤ \(fmt(m)), got \(fmt(x))") }
            if let m = s["exclusiveMinimum"]?.doubleValue, x <= m { return fail("must be > \(fmt(m)), got \(fmt(x))") }
            if let m = s["exclusiveMaximum"]?.doubleValue, x >= m { return fail("must be < \(fmt(m)), got \(fmt(x))") }
            if let m = s["multipleOf"]?.doubleValue, m > 0, (x / m).rounded() != x / m {
                return fail("must be a multiple of \(fmt(m)), got \(fmt(x))")
            }
        case .string(let str):
            let n = str.count
            if let m = s["minLength"]?.intValue, n < m { return fail(m == 1 ? "must not be empty" : "must have at least \(m) characters") }
            if let m = s["maxLength"]?.intValue, n > m { return fail("must have at most \(m) characters") }
            if let endings = s["x-reel-extensions"]?.arrayValue?.compactMap(\.stringValue), !endings.isEmpty,
               case let lower = str.lowercased(), !endings.contains(where: { lower.hasSuffix($0.lowercased()) }) {
                return fail("must end in \(listed(endings)), got \(fileExtension(str).map { "\"\($0)\"" } ?? "no extension")")
            }
        case .array(let items):
            if let m = s["minItems"]?.intValue, items.count < m { return fail(m == 1 ? "must not be empty" : "must have at least \(m) items") }
            if let m = s["maxItems"]?.intValue, items.count > m { return fail("must have at most \(m) items") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() {
                    if let v = firstViolation(of: item, against: itemSchema, at: "\(path)/\(i)") { return v }
                }
            }
        case .object(let o):
            let props = s["properties"]?.objectValue ?? JSONObject()
            for req in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where o[req] == nil {
                return SchemaViolation(field: "\(path)/\(escape(req))", reason: "required field is missing")
            }
            for (k, v) in o.pairs {
                let sub = "\(path)/\(escape(k))"
                if let ps = props[k] {
                    if let viol = firstViolation(of: v, against: ps, at: sub) { return viol }
                } else if let extra = s["additionalProperties"] {
                    if extra == .bool(false) { return SchemaViolation(field: sub, reason: "unknown field") }
                    if let viol = firstViolation(of: v, against: extra, at: sub) { return viol }
                }
            }
        default: break
        }
        return nil
    }

    static func matches(_ v: JSON, type: String) -> Bool {
        switch (type, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
             ("number", .int), ("number", .double), ("integer", .int): return true
        case ("integer", .double(let d)): return d.rounded() == d
        default: return false
        }
    }

    static func equalNumbersAware(_ a: JSON, _ b: JSON) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// ".a", ".a or .b", ".a, .b or .c"
    static func listed(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }

    /// The extension of a path's last component (".avi"), nil when it has none.
    static func fileExtension(_ path: String) -> String? {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        return String(name[dot...])
    }

    static func fmt(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}

extension String {
    fileprivate func replacingOccurrences(of a: String, with b: String) -> String {
        guard contains(a) else { return self }
        return split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
