// Activations and softmax.
import CReelKernels

public enum GELUApproximation: Sendable { case none, tanh }

/// GELU: exact (erf) by default, or the tanh approximation (`approximate: .tanh`).
public func gelu(_ x: Tensor, approximate: GELUApproximation = .none) -> Tensor {
    unary(Int32(approximate == .none ? REEL_UNARY_GELU_ERF : REEL_UNARY_GELU_TANH), x)
}
public func silu(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_SILU), x) }
public func sigmoid(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_SIGMOID), x) }
public func tanh(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_TANH), x) }
public func relu(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_RELU), x) }

public func leakyRelu(_ x: Tensor, negativeSlope: Float = 0.01) -> Tensor {
    let c = x.contiguous()
    let out = Tensor(uninitialized: x.shape)
    reel_leaky_relu(Int64(x.count), out.data, c.data, negativeSlope)
    return out
}

/// PReLU with one slope or one per channel (dim 1), as torch.nn.PReLU.
public func prelu(_ x: Tensor, weight: Tensor) throws -> Tensor {
    let channels = x.ndim >= 2 ? x.shape[1] : 1
    guard weight.count == 1 || weight.count == channels else {
        throw EngineError.shape("prelu: \(weight.count) slopes for \(channels) channels")
    }
    let c = x.contiguous(), w = weight.contiguous()
    let outer = x.ndim >= 2 ? x.shape[0] : 1
    let inner = x.ndim >= 2 ? x.count / Swift.max(outer * channels, 1) : x.count
    let out = Tensor(uninitialized: x.shape)
    reel_prelu(Int64(outer), Int64(channels), Int64(inner), out.data, c.data, w.data, Int64(w.count))
    return out
}

/// Softmax along `axis` (default: last).
public func softmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    try alongLastAxis(x, axis) { rows, n, out, input in reel_softmax_rows(rows, n, out, input) }
}

public func logSoftmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    try alongLastAxis(x, axis) { rows, n, out, input in reel_log_softmax_rows(rows, n, out, input) }
}

/// Runs a row kernel over `axis` by moving that axis last (a copy only when needed).
func alongLastAxis(_ x: Tensor, _ axis: Int,
                   _ kernel: (Int64, Int64, UnsafeMutablePointer<Float>, UnsafePointer<Float>) -> Void) throws -> Tensor {
    let a = try x.axis(axis, "softmax")
    if a == x.ndim - 1 {
        let c = x.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let n = x.shape.last ?? 1
        kernel(Int64(x.count / Swift.max(n, 1)), Int64(n), out.data, c.data)
        return out
    }
    let moved = try x.transposed(a, -1)
    let r = try alongLastAxis(moved, -1, kernel)
    return try r.transposed(a, -1).contiguous()
}
