// Reductions along one axis.
import CReelKernels

func reduce(_ op: Int32, _ x: Tensor, axis: Int?, keepDims: Bool) throws -> Tensor {
    let c = x.contiguous()
    guard let axis else {
        let out = Tensor(uninitialized: keepDims ? [Int](repeating: 1, count: x.ndim) : [])
        reel_reduce(op, 1, Int64(x.count), 1, out.data, c.data)
        return out
    }
    let a = try x.axis(axis, "reduce")
    let outer = x.shape[..<a].reduce(1, *), len = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
    var shape = x.shape
    if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
    let out = Tensor(uninitialized: shape)
    reel_reduce(op, Int64(outer), Int64(len), Int64(inner), out.data, c.data)
    return out
}

/// Sum over `axis`, or over everything when nil.
public func sum(_ x: Tensor, axis: Int? = nil, keepDims: Bool = false) throws -> Tensor {
    try reduce(Int32(REEL_RED_SUM), x, axis: axis, keepDims: keepDims)
}
public func mean(_ x: Tensor, axis: Int? = nil, keepDims: Bool = false) throws -> Tensor {
    try reduce(Int32(REEL_RED_MEAN), x, axis: axis, keepDims: keepDims)
}
public func max(_ x: Tensor, axis: Int? = nil, keepDims: Bool = false) throws -> Tensor {
    try reduce(Int32(REEL_RED_MAX), x, axis: axis, keepDims: keepDims)
}
public func min(_ x: Tensor, axis: Int? = nil, keepDims: Bool = false) throws -> Tensor {
    try reduce(Int32(REEL_RED_MIN), x, axis: axis, keepDims: keepDims)
}
