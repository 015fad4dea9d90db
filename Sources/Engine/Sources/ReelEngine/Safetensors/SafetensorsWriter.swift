// Writes safetensors files (for tools, exports and tests). Tensors are stored in
// insertion order, the header is padded with spaces to a multiple of 8 bytes so
// the data section is aligned, as the reference implementation does.
import CEngineJansson
import CReelKernels
import Glibc

public struct SafetensorsWriter {
    struct Entry { let name: String; let dtype: DType; let shape: [Int]; let bytes: [UInt8] }
    var entries: [Entry] = []
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds an fp32 tensor, stored as `dtype` (F32, F16 or BF16; BF16 rounds to nearest even).
    public mutating func add(_ name: String, _ tensor: Tensor, as dtype: DType = .float32) throws {
        guard !entries.contains(where: { $0.name == name }) else { throw EngineError.argument("safetensors writer: duplicate tensor '\(name)'") }
        let c = tensor.contiguous()
        let n = c.count
        var bytes = [UInt8](repeating: 0, count: n * dtype.byteSize)
        bytes.withUnsafeMutableBytes { raw in
            guard n > 0, let base = raw.baseAddress else { return }
            switch dtype {
            case .float32: base.copyMemory(from: c.data, byteCount: n * 4)
            case .bfloat16: reel_f32_to_bf16(Int64(n), base.assumingMemoryBound(to: UInt16.self), c.data)
            case .float16: reel_f32_to_f16(Int64(n), base.assumingMemoryBound(to: UInt16.self), c.data)
            default: break
            }
        }
        guard [.float32, .bfloat16, .float16].contains(dtype) else { throw EngineError.argument("safetensors writer: cannot store floats as \(dtype)") }
        entries.append(Entry(name: name, dtype: dtype, shape: tensor.shape, bytes: bytes))
    }

    /// Adds raw bytes of any dtype (for tests that need odd files).
    public mutating func addRaw(_ name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// The complete file contents.
    public func serialize() -> [UInt8] {
        let root = json_object()!
        defer { json_decref(root) }
        if !metadata.isEmpty {
            let m = json_object()!
            for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { json_object_set_new(m, k, json_string(v)) }
            json_object_set_new(root, "__metadata__", m)
        }
        var offset = 0
        for e in entries {
            let o = json_object()!
            json_object_set_new(o, "dtype", json_string(e.dtype.rawValue))
            let shape = json_array()!
            for s in e.shape { json_array_append_new(shape, json_integer(json_int_t(s))) }
            json_object_set_new(o, "shape", shape)
            let offs = json_array()!
            json_array_append_new(offs, json_integer(json_int_t(offset)))
            json_array_append_new(offs, json_integer(json_int_t(offset + e.bytes.count)))
            json_object_set_new(o, "data_offsets", offs)
            json_object_set_new(root, e.name, o)
            offset += e.bytes.count
        }
        let text = json_dumps(root, size_t(JSON_COMPACT | JSON_PRESERVE_ORDER))!
        defer { free(text) }
        var header = Array(UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text)))
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for e in entries { out.append(contentsOf: e.bytes) }
        return out
    }

    /// Writes atomically: a temporary file in the same directory, then rename.
    public func write(to path: String) throws {
        let bytes = serialize()
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafetensorsError.cannotOpen(path: tmp, reason: String(cString: strerror(errno))) }
        var written = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return true
        }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw SafetensorsError.cannotOpen(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
        }
    }
}
