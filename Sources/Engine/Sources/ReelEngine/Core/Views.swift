// Views: reshape, permute, slice, expand, ... share storage and copy nothing;
// concatenate and the ops that need dense memory copy.
import CReelKernels

extension Tensor {
    func axis(_ d: Int, _ op: String) throws -> Int {
        let a = d < 0 ? d + ndim : d
        guard a >= 0 && a < ndim else { throw EngineError.argument("\(op): dim \(d) out of range for shape \(shape)") }
        return a
    }

    /// Same elements, new shape (one entry may be -1). A view when the layout
    /// allows, else a copy (as torch.reshape).
    public func reshape(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        if let i = newShape.firstIndex(of: -1) {
            guard newShape.filter({ $0 == -1 }).count == 1, known > 0, count % known == 0 else {
                throw EngineError.shape("reshape: cannot infer -1 in \(newShape) for \(count) elements")
            }
            target[i] = count / known
        }
        guard target.reduce(1, *) == count, target.allSatisfy({ $0 >= 0 }) else {
            throw EngineError.shape("reshape: shape \(shape) (\(count) elements) cannot become \(newShape)")
        }
        let base = isContiguous ? self : contiguous()
        return Tensor(storage: base.storage, shape: target, strides: Tensor.denseStrides(target), offset: base.offset)
    }

    public func reshape(_ dims: Int...) throws -> Tensor { try reshape(dims) }

    /// Reorders dimensions: result dim i is self's dim `order[i]`.
    public func permute(_ order: [Int]) throws -> Tensor {
        let axes = try order.map { try axis($0, "permute") }
        guard axes.count == ndim, Set(axes).count == ndim else {
            throw EngineError.argument("permute: \(order) is not a permutation of \(ndim) dims")
        }
        return Tensor(storage: storage, shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] }, offset: offset)
    }

    public func permute(_ order: Int...) throws -> Tensor { try permute(order) }

    public func transposed(_ a: Int, _ b: Int) throws -> Tensor {
        var order = Array(0..<ndim)
        let x = try axis(a, "transpose"), y = try axis(b, "transpose")
        order.swapAt(x, y)
        return try permute(order)
    }

    /// Elements start ..< end (step) along `dim`. Negative bounds count from the end.
    public func slice(_ dim: Int, _ start: Int, _ end: Int? = nil, step: Int = 1) throws -> Tensor {
        let d = try axis(dim, "slice")
        guard step > 0 else { throw EngineError.argument("slice: step must be positive") }
        let n = shape[d]
        var s = start < 0 ? start + n : start
        var e = end.map { $0 < 0 ? $0 + n : $0 } ?? n
        s = Swift.max(0, Swift.min(s, n))
        e = Swift.max(s, Swift.min(e, n))
        var sh = shape, st = strides
        sh[d] = (e - s + step - 1) / step
        st[d] = strides[d] * step
        return Tensor(storage: storage, shape: sh, strides: st, offset: offset + s * strides[d])
    }

    /// One index along `dim`, removing that dim.
    public func select(_ dim: Int, _ index: Int) throws -> Tensor {
        let d = try axis(dim, "select")
        let i = index < 0 ? index + shape[d] : index
        guard i >= 0 && i < shape[d] else { throw EngineError.argument("select: index \(index) out of range for size \(shape[d])") }
        var sh = shape, st = strides
        sh.remove(at: d)
        st.remove(at: d)
        return Tensor(storage: storage, shape: sh, strides: st, offset: offset + i * strides[d])
    }

    public func unsqueeze(_ dim: Int) throws -> Tensor {
        let d = dim < 0 ? dim + ndim + 1 : dim
        guard d >= 0 && d <= ndim else { throw EngineError.argument("unsqueeze: dim \(dim) for shape \(shape)") }
        var sh = shape, st = strides
        sh.insert(1, at: d)
        st.insert(d < ndim ? strides[d] * shape[d] : 1, at: d)
        return Tensor(storage: storage, shape: sh, strides: st, offset: offset)
    }

    /// Removes `dim` (size 1), or every size-1 dim when nil.
    public func squeeze(_ dim: Int? = nil) throws -> Tensor {
        if let dim {
            let d = try axis(dim, "squeeze")
            guard shape[d] == 1 else { return self }
            var sh = shape, st = strides
            sh.remove(at: d)
            st.remove(at: d)
            return Tensor(storage: storage, shape: sh, strides: st, offset: offset)
        }
        let keep = (0..<ndim).filter { shape[$0] != 1 }
        return Tensor(storage: storage, shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: offset)
    }

    /// Merges dims start ... end into one.
    public func flatten(_ start: Int = 0, _ end: Int = -1) throws -> Tensor {
        let s = try axis(start, "flatten"), e = try axis(end, "flatten")
        guard s <= e else { throw EngineError.argument("flatten: start \(start) after end \(end)") }
        return try reshape(Array(shape[..<s]) + [shape[s...e].reduce(1, *)] + Array(shape[(e + 1)...]))
    }

    /// Splits dim into `sizes` (one may be -1).
    public func unflatten(_ dim: Int, _ sizes: [Int]) throws -> Tensor {
        let d = try axis(dim, "unflatten")
        return try reshape(Array(shape[..<d]) + sizes + Array(shape[(d + 1)...]))
    }

    /// Broadcasts to `target` (numpy rules) with zero strides; no copy.
    public func expand(to target: [Int]) throws -> Tensor {
        guard target.count >= ndim else { throw EngineError.shape("expand: \(shape) has more dims than \(target)") }
        let lead = target.count - ndim
        var st = [Int](repeating: 0, count: target.count)
        for i in 0..<target.count {
            if i < lead { continue }
            let s = shape[i - lead]
            if s == target[i] { st[i] = strides[i - lead] }
            else if s == 1 { st[i] = 0 }
            else { throw EngineError.shape("cannot broadcast \(shape) to \(target)") }
        }
        return Tensor(storage: storage, shape: target, strides: st, offset: offset)
    }

    /// Splits along `dim` into pieces of the given sizes (views).
    public func split(_ sizes: [Int], dim: Int) throws -> [Tensor] {
        let d = try axis(dim, "split")
        guard sizes.reduce(0, +) == shape[d] else {
            throw EngineError.shape("split: sizes \(sizes) do not add up to \(shape[d]) along dim \(dim) of \(shape)")
        }
        var out: [Tensor] = []
        var start = 0
        for s in sizes {
            out.append(try slice(d, start, start + s))
            start += s
        }
        return out
    }

    /// Splits along `dim` into `chunks` equal pieces (views), as torch.chunk for divisible sizes.
    public func chunk(_ chunks: Int, dim: Int) throws -> [Tensor] {
        let d = try axis(dim, "chunk")
        guard chunks > 0, shape[d] % chunks == 0 else {
            throw EngineError.shape("chunk: size \(shape[d]) is not divisible into \(chunks) chunks")
        }
        return try split([Int](repeating: shape[d] / chunks, count: chunks), dim: d)
    }
}

/// Joins tensors along `dim`; every other dim must agree.
public func concatenate(_ tensors: [Tensor], dim: Int) throws -> Tensor {
    guard let first = tensors.first else { throw EngineError.argument("concatenate: no tensors") }
    let d = try first.axis(dim, "concatenate")
    for t in tensors {
        guard t.ndim == first.ndim, (0..<t.ndim).allSatisfy({ $0 == d || t.shape[$0] == first.shape[$0] }) else {
            throw EngineError.shape("concatenate: \(t.shape) does not match \(first.shape) outside dim \(dim)")
        }
    }
    var shape = first.shape
    shape[d] = tensors.reduce(0) { $0 + $1.shape[d] }
    let out = Tensor(uninitialized: shape)
    var start = 0
    for t in tensors {
        let view = try out.slice(d, start, start + t.shape[d])
        try assign(view, t)
        start += t.shape[d]
    }
    return out
}

public func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    try concatenate(tensors.map { try $0.unsqueeze(dim) }, dim: dim)
}

/// Writes `source` (broadcast) into the possibly strided view `destination`.
func assign(_ destination: Tensor, _ source: Tensor) throws {
    let src = try source.expand(to: destination.shape)
    if destination.isContiguous {
        src.copyStrided(into: destination.data)
        return
    }
    // A strided destination: densify the source, then scatter row by row.
    let dense = src.contiguous()
    let n = destination.ndim
    if n == 0 { destination.data[0] = dense.data[0]; return }
    let inner = destination.shape[n - 1], innerStride = destination.strides[n - 1]
    let rows = destination.count / Swift.max(inner, 1)
    var index = [Int](repeating: 0, count: n)
    for r in 0..<rows {
        var off = 0
        for k in 0..<(n - 1) { off += index[k] * destination.strides[k] }
        let dst = destination.data + off
        let s = dense.data + r * inner
        if innerStride == 1 { dst.update(from: s, count: inner) }
        else { for i in 0..<inner { dst[i * innerStride] = s[i] } }
        var k = n - 2
        while k >= 0 {
            index[k] += 1
            if index[k] < destination.shape[k] { break }
            index[k] = 0
            k -= 1
        }
    }
}
