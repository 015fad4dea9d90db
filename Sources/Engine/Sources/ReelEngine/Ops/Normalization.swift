// LayerNorm, RMSNorm, GroupNorm and the AdaLN modulation of DiT blocks.
import CReelKernels

/// LayerNorm over the last dimension (torch.nn.LayerNorm with one normalized dim).
public func layerNorm(_ x: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) throws -> Tensor {
    let n = x.shape.last ?? 1
    try checkVector(weight, n, "layerNorm weight")
    try checkVector(bias, n, "layerNorm bias")
    let c = x.contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
    let out = Tensor(uninitialized: x.shape)
    reel_layer_norm(Int64(x.count / Swift.max(n, 1)), Int64(n), out.data, c.data, w?.data, b?.data, eps)
    return out
}

/// DiT modulation: layerNorm(x) * (1 + scale) + shift, fused in one pass.
/// x is [B, L, D]; scale and shift are [B, D], [B, 1, D] or [D].
public func layerNormModulated(_ x: Tensor, scale: Tensor, shift: Tensor, eps: Float = 1e-6) throws -> Tensor {
    guard x.ndim == 3 else { throw EngineError.shape("layerNormModulated: x must be [B, L, D], got \(x.shape)") }
    let (b, l, d) = (x.shape[0], x.shape[1], x.shape[2])
    func perBatch(_ t: Tensor, _ name: String) throws -> Tensor {
        guard t.count == d || t.count == b * d, t.shape.last == d else {
            throw EngineError.shape("layerNormModulated: \(name) \(t.shape) does not fit x \(x.shape)")
        }
        return try t.reshape([-1, d]).contiguous()
    }
    let sc = try perBatch(scale, "scale"), sh = try perBatch(shift, "shift")
    guard sc.shape[0] == sh.shape[0] else { throw EngineError.shape("layerNormModulated: scale \(scale.shape) vs shift \(shift.shape)") }
    let c = x.contiguous()
    let out = Tensor(uninitialized: x.shape)
    let rowsPerGroup = sc.shape[0] == 1 ? b * l : l
    reel_layer_norm_modulate(Int64(b * l), Int64(d), out.data, c.data, sc.data, sh.data, Int64(rowsPerGroup), eps)
    return out
}

/// RMSNorm over the last dimension (torch.nn.RMSNorm).
public func rmsNorm(_ x: Tensor, weight: Tensor? = nil, eps: Float = 1e-6) throws -> Tensor {
    let n = x.shape.last ?? 1
    try checkVector(weight, n, "rmsNorm weight")
    let c = x.contiguous(), w = weight?.contiguous()
    let out = Tensor(uninitialized: x.shape)
    reel_rms_norm(Int64(x.count / Swift.max(n, 1)), Int64(n), out.data, c.data, w?.data, eps)
    return out
}

/// GroupNorm over x[N, C, ...] (torch.nn.GroupNorm).
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) throws -> Tensor {
    guard x.ndim >= 2, groups > 0, x.shape[1] % groups == 0 else {
        throw EngineError.shape("groupNorm: \(groups) groups do not divide the channels of \(x.shape)")
    }
    let ch = x.shape[1]
    try checkVector(weight, ch, "groupNorm weight")
    try checkVector(bias, ch, "groupNorm bias")
    let c = x.contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
    let out = Tensor(uninitialized: x.shape)
    let spatial = x.count / Swift.max(x.shape[0] * ch, 1)
    reel_group_norm(Int64(x.shape[0]), Int64(ch), Int64(spatial), Int64(groups), out.data, c.data, w?.data, b?.data, eps)
    return out
}

func checkVector(_ t: Tensor?, _ n: Int, _ what: String) throws {
    if let t, t.count != n { throw EngineError.shape("\(what) has \(t.count) elements, expected \(n)") }
}
