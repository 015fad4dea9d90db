// An mmap'd safetensors reader. The whole header is validated on open (dtype,
// shape against byte range, offsets inside the file, no overlaps), so a bad file
// fails early with a message naming the tensor, never later with garbage.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data section; offsets are relative to its start.
import CEngineJansson
import Glibc

public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, reason: String)
    case badHeader(path: String, reason: String)
    case badEntry(path: String, tensor: String, reason: String)
    case overlapping(path: String, first: String, second: String)
    case missingTensor(path: String, name: String)
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    case unsupportedDType(path: String, name: String, dtype: String)
    case badIndex(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(p, r): return "\(p): cannot open: \(r)"
        case let .truncated(p, r): return "\(p): truncated file: \(r)"
        case let .badHeader(p, r): return "\(p): invalid safetensors header: \(r)"
        case let .badEntry(p, t, r): return "\(p): tensor '\(t)': \(r)"
        case let .overlapping(p, a, b): return "\(p): tensors '\(a)' and '\(b)' overlap in the data section"
        case let .missingTensor(p, n): return "\(p): no tensor named '\(n)'"
        case let .shapeMismatch(p, n, e, f): return "\(p): tensor '\(n)' has shape \(f), expected \(e)"
        case let .unsupportedDType(p, n, d): return "\(p): tensor '\(n)' has dtype \(d), which cannot be read as floats"
        case let .badIndex(p, r): return "\(p): invalid shard index: \(r)"
        }
    }
}

/// One tensor's entry in a header.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range within the data section.
    public let begin: Int
    public let end: Int
}

/// Anything that hands out named weights as fp32 tensors: one file or a sharded set.
public protocol WeightSource: AnyObject {
    var names: [String] { get }
    func info(_ name: String) throws -> TensorInfo
    /// The tensor converted to fp32; `shape`, when given, must match exactly.
    func tensor(_ name: String, shape: [Int]?) throws -> Tensor
}

extension WeightSource {
    public func tensor(_ name: String) throws -> Tensor { try tensor(name, shape: nil) }
    public func contains(_ name: String) -> Bool { (try? info(name)) != nil }
}

/// A read-only memory mapping that unmaps when the last tensor using it goes.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let size: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SafetensorsError.cannotOpen(path: path, reason: "not a regular file") }
        size = Int(st.st_size)
        guard size > 0 else { throw SafetensorsError.truncated(path: path, reason: "the file is empty") }
        // Private + writable: fp32 tensors alias the pages; a stray write copies a
        // page instead of touching the file.
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw SafetensorsError.cannotOpen(path: path, reason: "mmap: \(String(cString: strerror(errno)))") }
        base = p
    }

    deinit { munmap(base, size) }
}

public final class SafetensorsFile: WeightSource, @unchecked Sendable {
    public let path: String
    /// The header's "__metadata__" (string to string).
    public let metadata: [String: String]
    public let entries: [String: TensorInfo]
    let file: MappedFile
    let dataStart: Int

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        guard file.size >= 8 else {
            throw SafetensorsError.truncated(path: path, reason: "\(file.size) bytes, shorter than the 8-byte header length")
        }
        let headerLength = Int(UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self)))
        guard headerLength <= 100_000_000 else {
            throw SafetensorsError.badHeader(path: path, reason: "header length \(headerLength) is implausible (over 100 MB)")
        }
        guard 8 + headerLength <= file.size else {
            throw SafetensorsError.truncated(path: path, reason: "header claims \(headerLength) bytes but the file has \(file.size - 8) after the length")
        }
        dataStart = 8 + headerLength
        let dataSize = file.size - dataStart

        var error = json_error_t()
        guard let root = json_loadb(file.base.advanced(by: 8).assumingMemoryBound(to: CChar.self), headerLength, 0, &error) else {
            let text = withUnsafeBytes(of: error.text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            throw SafetensorsError.badHeader(path: path, reason: "not JSON: \(text) at byte \(error.position)")
        }
        defer { json_decref(root) }
        guard root.pointee.type == JSON_OBJECT else { throw SafetensorsError.badHeader(path: path, reason: "the header is not a JSON object") }

        var meta: [String: String] = [:]
        var found: [String: TensorInfo] = [:]
        var iter = json_object_iter(root)
        while let it = iter {
            let name = String(cString: json_object_iter_key(it))
            let value = json_object_iter_value(it)!
            iter = json_object_iter_next(root, it)
            if name == "__metadata__" {
                guard value.pointee.type == JSON_OBJECT else { throw SafetensorsError.badHeader(path: path, reason: "__metadata__ is not an object") }
                var m = json_object_iter(value)
                while let mi = m {
                    let v = json_object_iter_value(mi)!
                    guard v.pointee.type == JSON_STRING else {
                        throw SafetensorsError.badHeader(path: path, reason: "__metadata__ values must be strings")
                    }
                    meta[String(cString: json_object_iter_key(mi))] = String(cString: json_string_value(v))
                    m = json_object_iter_next(value, mi)
                }
                continue
            }
            found[name] = try Self.parseEntry(path: path, name: name, value, dataSize: dataSize)
        }
        metadata = meta
        entries = found

        // Overlaps: sort by start, each must begin at or after the previous end.
        let sorted = found.values.filter { $0.end > $0.begin }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end {
            throw SafetensorsError.overlapping(path: path, first: a.name, second: b.name)
        }
    }

    static func parseEntry(path: String, name: String, _ v: UnsafeMutablePointer<json_t>, dataSize: Int) throws -> TensorInfo {
        func bad(_ r: String) -> SafetensorsError { .badEntry(path: path, tensor: name, reason: r) }
        guard v.pointee.type == JSON_OBJECT else { throw bad("entry is not an object") }
        guard let d = json_object_get(v, "dtype"), d.pointee.type == JSON_STRING else { throw bad("missing dtype") }
        let dtypeName = String(cString: json_string_value(d))
        guard let dtype = DType(rawValue: dtypeName) else { throw bad("unknown dtype \(dtypeName)") }
        guard let s = json_object_get(v, "shape"), s.pointee.type == JSON_ARRAY else { throw bad("missing shape") }
        var shape: [Int] = []
        for i in 0..<json_array_size(s) {
            let e = json_array_get(s, i)!
            guard e.pointee.type == JSON_INTEGER, json_integer_value(e) >= 0 else { throw bad("shape entries must be non-negative integers") }
            shape.append(Int(json_integer_value(e)))
        }
        guard let o = json_object_get(v, "data_offsets"), o.pointee.type == JSON_ARRAY, json_array_size(o) == 2,
              let o0 = json_array_get(o, 0), let o1 = json_array_get(o, 1),
              o0.pointee.type == JSON_INTEGER, o1.pointee.type == JSON_INTEGER else { throw bad("data_offsets must be [begin, end]") }
        let begin = Int(json_integer_value(o0)), end = Int(json_integer_value(o1))
        guard begin >= 0, end >= begin else { throw bad("data_offsets [\(begin), \(end)] are out of order") }
        let (elements, overflow) = shape.reduce((1, false)) { acc, x in
            let r = acc.0.multipliedReportingOverflow(by: x)
            return (r.partialValue, acc.1 || r.overflow)
        }
        guard !overflow, elements.multipliedReportingOverflow(by: dtype.byteSize).overflow == false else { throw bad("shape \(shape) is too large") }
        guard end - begin == elements * dtype.byteSize else {
            throw bad("shape \(shape) of \(dtype.rawValue) needs \(elements * dtype.byteSize) bytes but data_offsets span \(end - begin)")
        }
        guard end <= dataSize else {
            throw SafetensorsError.truncated(path: path, reason: "tensor '\(name)' ends at byte \(end) of the data section, which has only \(dataSize) bytes")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    public var names: [String] { entries.keys.sorted() }

    public func info(_ name: String) throws -> TensorInfo {
        guard let i = entries[name] else { throw SafetensorsError.missingTensor(path: path, name: name) }
        return i
    }

    /// The raw bytes of a tensor, valid while this file object lives.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let i = try info(name)
        return UnsafeRawBufferPointer(start: file.base.advanced(by: dataStart + i.begin), count: i.end - i.begin)
    }

    /// The tensor as fp32: aligned fp32 data is used in place (no copy), other
    /// dtypes are converted on load.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        let i = try info(name)
        if let expected, expected != i.shape {
            throw SafetensorsError.shapeMismatch(path: path, name: name, expected: expected, found: i.shape)
        }
        guard [.float32, .float16, .bfloat16, .float64, .int64, .int32, .int16, .int8, .uint8, .bool].contains(i.dtype) else {
            throw SafetensorsError.unsupportedDType(path: path, name: name, dtype: i.dtype.rawValue)
        }
        let src = file.base.advanced(by: dataStart + i.begin)
        let count = i.shape.reduce(1, *)
        if i.dtype == .float32 && Int(bitPattern: src) % 4 == 0 && count > 0 {
            let storage = TensorStorage(borrowing: src.assumingMemoryBound(to: Float.self), count: count, owner: file)
            return Tensor(storage: storage, shape: i.shape, strides: Tensor.denseStrides(i.shape))
        }
        let out = Tensor(uninitialized: i.shape)
        if count > 0 { convertToFloat(i.dtype, src, out.data, count) }
        return out
    }
}
