import CJansson

/// A parsed JSON document as a plain Swift tree, read with libjansson (reel's
/// one JSON codec), and a `Decoder` over it so that manifests and configs are
/// ordinary `Decodable` types, as in mlx-swift-examples' config.json loading.
enum JSONTree: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses a whole file; errors name the file, line and column.
    static func load(path: String) throws -> JSONTree {
        var error = json_error_t()
        guard let root = json_load_file(path, 0, &error) else {
            let text = withUnsafeBytes(of: error.text) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ParseError(description: "\(path):\(error.line):\(error.column): \(text)")
        }
        defer { json_decref(root) }
        return JSONTree(root)
    }

    static func parse(_ text: String) throws -> JSONTree {
        var error = json_error_t()
        guard let root = json_loads(text, 0, &error) else {
            let msg = withUnsafeBytes(of: error.text) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ParseError(description: "line \(error.line), column \(error.column): \(msg)")
        }
        defer { json_decref(root) }
        return JSONTree(root)
    }

    private init(_ v: UnsafeMutablePointer<json_t>) {
        switch v.pointee.type {
        case JSON_OBJECT:
            var dict: [String: JSONTree] = [:]
            var iter = json_object_iter(v)
            while let it = iter {
                let key = String(cString: json_object_iter_key(it))
                dict[key] = JSONTree(json_object_iter_value(it))
                iter = json_object_iter_next(v, it)
            }
            self = .object(dict)
        case JSON_ARRAY:
            self = .array((0..<json_array_size(v)).map { JSONTree(json_array_get(v, $0)) })
        case JSON_STRING:
            self = .string(String(cString: json_string_value(v)))
        case JSON_INTEGER:
            self = .int(Int64(json_integer_value(v)))
        case JSON_REAL:
            self = .double(json_real_value(v))
        case JSON_TRUE:
            self = .bool(true)
        case JSON_FALSE:
            self = .bool(false)
        default:
            self = .null
        }
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: TreeDecoder(value: self, codingPath: []))
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

private struct TreeDecoder: Decoder {
    let value: JSONTree
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let dict) = value else { throw mismatch([String: Any].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedTree<Key>(dict: dict, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([Any].self, value, codingPath) }
        return UnkeyedTree(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleTree(value: value, codingPath: codingPath) }
}

private func mismatch(_ type: Any.Type, _ value: JSONTree, _ path: [CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value)"))
}

/// Scalars (only the types in `scalarTypes`), shared by the three container kinds.
private func decodeScalar<T: Decodable>(_ type: T.Type, _ value: JSONTree, _ path: [CodingKey]) throws -> T {
    switch (value, type) {
    case (.bool(let b), is Bool.Type): return b as! T
    case (.string(let s), is String.Type): return s as! T
    case (.int(let i), is Int.Type): return Int(i) as! T
    case (.int(let i), is Int64.Type): return i as! T
    case (.int(let i), is Int32.Type) where Int64(Int32.min)...Int64(Int32.max) ~= i: return Int32(i) as! T
    case (.int(let i), is Double.Type): return Double(i) as! T
    case (.int(let i), is Float.Type): return Float(i) as! T
    case (.double(let d), is Double.Type): return d as! T
    case (.double(let d), is Float.Type): return Float(d) as! T
    case (.double(let d), is Int.Type) where d.rounded() == d: return Int(d) as! T
    default: throw mismatch(type, value, path)
    }
}

private let scalarTypes: [Any.Type] = [Bool.self, String.self, Int.self, Int64.self, Int32.self, Double.self, Float.self]

private func isScalar<T>(_ type: T.Type) -> Bool { scalarTypes.contains { $0 == type } }

private struct KeyedTree<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let dict: [String: JSONTree]
    let codingPath: [CodingKey]
    var allKeys: [Key] { dict.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { dict[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONTree {
        guard let v = dict[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing key \"\(key.stringValue)\""))
        }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool { (try? value(key)) == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let v = try value(key)
        let path = codingPath + [key]
        if isScalar(type) {
            return try decodeScalar(type, v, path)
        }
        return try T(from: TreeDecoder(value: v, codingPath: path))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try TreeDecoder(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { TreeDecoder(value: .object(dict), codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> Decoder { TreeDecoder(value: try value(key), codingPath: codingPath + [key]) }
}

private struct UnkeyedTree: UnkeyedDecodingContainer {
    let items: [JSONTree]
    let codingPath: [CodingKey]
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [JSONTree], codingPath: [CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    private mutating func next() throws -> (JSONTree, [CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "array ended"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [AnyKey(intValue: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        if !isAtEnd, items[currentIndex] == .null { currentIndex += 1; return true }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, path) = try next()
        if isScalar(type) {
            return try decodeScalar(type, v, path)
        }
        return try T(from: TreeDecoder(value: v, codingPath: path))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, path) = try next()
        return try TreeDecoder(value: v, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (v, path) = try next()
        return try TreeDecoder(value: v, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let (v, path) = try next()
        return TreeDecoder(value: v, codingPath: path)
    }
}

private struct SingleTree: SingleValueDecodingContainer {
    let value: JSONTree
    let codingPath: [CodingKey]

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if isScalar(type) {
            return try decodeScalar(type, value, codingPath)
        }
        return try T(from: TreeDecoder(value: value, codingPath: codingPath))
    }
}
