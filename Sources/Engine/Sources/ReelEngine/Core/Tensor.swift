import CReelKernels

/// The memory behind one or more tensors: an engine allocation (64-byte aligned,
/// counted by `Engine.liveBytes`) or borrowed memory such as an mmap'd
/// safetensors file, kept alive by `owner`.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    private let owned: Bool
    private let owner: AnyObject?

    /// Uninitialised storage for `count` floats.
    public init(count: Int) {
        guard let p = reel_alloc_floats(Int64(count)) else {
            fatalError("reel engine: out of memory allocating \(count * 4) bytes")
        }
        base = p
        self.count = count
        owned = true
        owner = nil
    }

    /// Borrows memory owned by `owner` (which must outlive no reader: it is retained here).
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        base = pointer
        self.count = count
        owned = false
        self.owner = owner
    }

    deinit {
        if owned { reel_free_floats(base, Int64(count)) }
    }
}

/// An n-dimensional fp32 tensor: a view (shape, strides, offset) onto storage.
/// Views (reshape, permute, slice, expand, ...) share storage and cost nothing;
/// ops that need dense memory call `contiguous()`, which copies only when needed.
/// Ops return new tensors; methods ending in `_` write in place, like PyTorch.
public struct Tensor: @unchecked Sendable {
    public let storage: TensorStorage
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int

    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// Uninitialised dense tensor (callers fill every element).
    public init(uninitialized shape: [Int]) {
        let n = shape.reduce(1, *)
        self.init(storage: TensorStorage(count: n), shape: shape, strides: Tensor.denseStrides(shape))
    }

    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        reel_fill(Int64(count), data, value)
    }

    /// A dense tensor holding `values` (row-major).
    public init(_ values: [Float], shape: [Int]) throws {
        let n = shape.reduce(1, *)
        guard n == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw EngineError.shape("\(values.count) values cannot fill shape \(shape)")
        }
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { data.update(from: b, count: n) }
        }
    }

    /// A 0-d tensor.
    public init(scalar value: Float) {
        self.init(repeating: value, shape: [])
    }

    public static func denseStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    public var ndim: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    /// Pointer to element [0, 0, ...]. Write through it only on tensors you created.
    public var data: UnsafeMutablePointer<Float> { storage.base + offset }

    public func size(_ dim: Int) -> Int { shape[dim < 0 ? dim + ndim : dim] }

    /// True when elements are laid out densely in row-major order.
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: ndim - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Self when dense already, else a dense copy.
    public func contiguous() -> Tensor {
        if isContiguous { return Tensor(storage: storage, shape: shape, strides: Tensor.denseStrides(shape), offset: offset) }
        let out = Tensor(uninitialized: shape)
        copyStrided(into: out.data)
        return out
    }

    /// A dense copy that never shares storage with self.
    public func clone() -> Tensor {
        let out = Tensor(uninitialized: shape)
        copyStrided(into: out.data)
        return out
    }

    func copyStrided(into dst: UnsafeMutablePointer<Float>) {
        if count == 0 { return }
        let sh = shape.map(Int64.init), st = strides.map(Int64.init)
        if ndim == 0 { dst[0] = data[0]; return }
        sh.withUnsafeBufferPointer { s in
            st.withUnsafeBufferPointer { t in
                reel_copy_strided(Int32(ndim), s.baseAddress, dst, data, t.baseAddress)
            }
        }
    }

    /// All elements in row-major order.
    public func toArray() -> [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.data, count: count))
    }

    /// The single element of a tensor with one element.
    public func item() throws -> Float {
        guard count == 1 else { throw EngineError.shape("item() needs one element, shape is \(shape)") }
        return data[0]
    }

    /// Element at a full index (slow; for tests and small lookups).
    public subscript(_ index: Int...) -> Float {
        precondition(index.count == ndim, "index \(index) for shape \(shape)")
        var o = 0
        for (i, v) in index.enumerated() { o += v * strides[i] }
        return data[o]
    }

    /// Copies `source` (broadcast to self's shape) into self's elements, which
    /// may be a strided view (e.g. a slice of a bigger tensor).
    public func copy_(from source: Tensor) throws {
        try assign(self, source)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = count <= 8 ? toArray().map { "\($0)" }.joined(separator: ", ") : "\(count) elements"
        return "Tensor(shape: \(shape), [\(values)])"
    }
}

/// Errors raised by tensor ops: the message says which op and which shapes.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case shape(String)
    case argument(String)
    /// The computation's `EngineInterrupt` triggered (a cancelled job); its output was discarded.
    case interrupted

    public var description: String {
        switch self {
        case .shape(let m): return "shape error: \(m)"
        case .argument(let m): return "invalid argument: \(m)"
        case .interrupted: return "interrupted"
        }
    }
}
