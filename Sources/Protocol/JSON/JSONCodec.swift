// JSON text <-> JSON values through libjansson, the one JSON codec of reel.
import CJansson

/// Why a text is not JSON.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case syntax, invalidUTF8, tooDeep, tooBig, other
    }
    public var kind: Kind
    public var message: String
    public var line: Int
    public var column: Int
    public var position: Int

    public var description: String {
        "\(message) (line \(line), column \(column), byte \(position))"
    }
}

extension JSON {
    /// The nesting depth libjansson accepts; deeper input is an error, not a crash.
    public static let maxDepth = Int(JSON_PARSER_MAX_DEPTH)

    /// Parses one JSON text (any value at the top level). NUL characters
    /// (`\u0000`) in strings are allowed; invalid UTF-8 is rejected.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSON {
        var error = json_error_t()
        let flags = Int(JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES)
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONParseError(kind: .syntax, message: "empty message: expected a JSON value", line: 1, column: 0, position: 0)
        }
        guard let root = json_loadb(base.assumingMemoryBound(to: CChar.self), bytes.count, flags, &error) else {
            throw JSONParseError(error)
        }
        defer { json_decref(root) }
        return JSON(jansson: root)
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSON {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    public static func parse(_ text: String) throws -> JSON {
        var text = text
        return try text.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    /// Compact JSON text, no newlines (so it can be one line of the wire protocol).
    public func serialized() -> String {
        let root = makeJansson()
        defer { json_decref(root) }
        // REAL_PRECISION(17) round-trips every double exactly.
        let flags = Int(JSON_COMPACT | JSON_ENCODE_ANY) | jsonRealPrecision(17)
        guard let text = json_dumps(root, flags) else { return "null" }
        defer { free(text) }
        return String(cString: text)
    }

    /// The serialized UTF-8 bytes.
    public func serializedBytes() -> [UInt8] { Array(serialized().utf8) }

    // MARK: jansson -> Swift

    init(jansson j: UnsafeMutablePointer<json_t>) {
        switch j.pointee.type {
        case JSON_NULL: self = .null
        case JSON_TRUE: self = .bool(true)
        case JSON_FALSE: self = .bool(false)
        case JSON_INTEGER: self = .int(Int64(json_integer_value(j)))
        case JSON_REAL: self = .double(json_real_value(j))
        case JSON_STRING:
            let n = json_string_length(j)
            let p = json_string_value(j)!
            self = .string(p.withMemoryRebound(to: UInt8.self, capacity: n) {
                String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
            })
        case JSON_ARRAY:
            let n = json_array_size(j)
            var a: [JSON] = []
            a.reserveCapacity(n)
            for i in 0..<n { a.append(JSON(jansson: json_array_get(j, i))) }
            self = .array(a)
        case JSON_OBJECT:
            var o = JSONObject()
            var it = json_object_iter(j)
            while let iter = it {
                let klen = json_object_iter_key_len(iter)
                let kp = json_object_iter_key(iter)!
                let key = kp.withMemoryRebound(to: UInt8.self, capacity: klen) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: klen), as: UTF8.self)
                }
                o[key] = JSON(jansson: json_object_iter_value(iter))
                it = json_object_iter_next(j, iter)
            }
            self = .object(o)
        default: self = .null
        }
    }

    // MARK: Swift -> jansson

    func makeJansson() -> UnsafeMutablePointer<json_t> {
        switch self {
        case .null: return json_null()
        case .bool(let b): return b ? json_true() : json_false()
        case .int(let i): return json_integer(json_int_t(i))
        case .double(let d):
            // JSON has no NaN/Infinity; jansson refuses them, so they become null.
            return d.isFinite ? json_real(d) : json_null()
        case .string(var s):
            return s.withUTF8 { buf in
                buf.withMemoryRebound(to: CChar.self) { json_stringn_nocheck($0.baseAddress ?? emptyCString, buf.count) }
            }
        case .array(let a):
            let j = json_array()!
            for v in a { json_array_append_new(j, v.makeJansson()) }
            return j
        case .object(let o):
            let j = json_object()!
            for (k, v) in o.pairs {
                var key = k
                key.withUTF8 { buf in
                    buf.withMemoryRebound(to: CChar.self) {
                        _ = json_object_setn_new_nocheck(j, $0.baseAddress ?? emptyCString, buf.count, v.makeJansson())
                    }
                }
            }
            return j
        }
    }
}

// A valid pointer for empty strings (withUTF8 may hand out a nil base address).
nonisolated(unsafe) private let emptyCString: UnsafePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
}()

private func jsonRealPrecision(_ n: Int) -> Int { (n & 0x1F) << 11 }

extension JSONParseError {
    init(_ e: json_error_t) {
        var e = e
        let text = withUnsafeBytes(of: &e.text) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        let code = withUnsafeBytes(of: &e.text) { raw in raw[Int(JSON_ERROR_TEXT_LENGTH) - 1] }
        let kind: Kind
        let message: String
        switch UInt32(code) {
        case json_error_invalid_utf8.rawValue:
            kind = .invalidUTF8; message = "invalid UTF-8: \(text)"
        case json_error_stack_overflow.rawValue:
            kind = .tooDeep; message = "nested too deeply (more than \(JSON.maxDepth) levels)"
        case json_error_numeric_overflow.rawValue:
            kind = .tooBig; message = "number out of range: \(text)"
        case json_error_invalid_syntax.rawValue, json_error_end_of_input_expected.rawValue, json_error_premature_end_of_input.rawValue,
             json_error_wrong_type.rawValue, json_error_invalid_format.rawValue, json_error_null_character.rawValue,
             json_error_duplicate_key.rawValue, json_error_null_byte_in_key.rawValue:
            kind = .syntax; message = text
        default:
            kind = .other; message = text
        }
        self.init(kind: kind, message: message, line: Int(e.line), column: Int(e.column), position: Int(e.position))
    }
}

#if canImport(Glibc)
import Glibc
#endif
