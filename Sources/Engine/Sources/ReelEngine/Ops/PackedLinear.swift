// Linear layers whose weights are prepared once, at load time, for the fastest
// GEMM the cpu has. `.float32` keeps PyTorch's numbers (sgemm); `.bf16` rounds
// weights and activations to bf16 and accumulates in fp32 (AVX512-BF16, about
// twice sgemm's rate), the precision Wan and most DiTs are run at.
import CReelKernels

public enum MatmulPrecision: Sendable {
    case float32, bf16
    /// bf16 where the cpu has AVX512-BF16, else float32.
    public static var fastest: MatmulPrecision { Engine.hasAVX512BF16 ? .bf16 : .float32 }
}

/// A [out, in] weight (PyTorch layout) ready for `linear(_:weight:bias:)`.
public final class PackedLinear: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// What the weight runs at: `.bf16` only when requested and supported.
    public let precision: MatmulPrecision
    let float32: Tensor?
    let packed: OpaquePointer?

    public init(_ weight: Tensor, precision: MatmulPrecision = .float32) throws {
        guard weight.ndim == 2 else { throw EngineError.shape("PackedLinear: weight must be [out, in], got \(weight.shape)") }
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        if precision == .bf16 && reel_bf16_gemm_available() != 0 {
            let w = weight.contiguous()
            packed = reel_bf16_pack_weight(Int64(outFeatures), Int64(inFeatures), w.data, Int64(inFeatures))
            guard packed != nil else { throw EngineError.argument("PackedLinear: out of memory packing \(weight.shape)") }
            float32 = nil
            self.precision = .bf16
        } else {
            float32 = weight
            packed = nil
            self.precision = .float32
        }
    }

    deinit { if let packed { reel_bf16_free_weight(packed) } }

    /// Bytes the prepared weight occupies.
    public var bytes: Int {
        if let packed { return Int(reel_bf16_weight_bytes(packed)) }
        return outFeatures * inFeatures * 4
    }
}

/// y = x Wᵀ + b with a prepared weight.
public func linear(_ x: Tensor, weight: PackedLinear, bias: Tensor? = nil, activation: Activation = .none) throws -> Tensor {
    if let w = weight.float32 { return try linear(x, weight: w, bias: bias, activation: activation) }
    guard let inF = x.shape.last, inF == weight.inFeatures else {
        throw EngineError.shape("linear: input \(x.shape) does not fit weight [\(weight.outFeatures), \(weight.inFeatures)]")
    }
    try checkVector(bias, weight.outFeatures, "linear bias")
    let rows = x.count / Swift.max(inF, 1)
    let x2 = try x.reshape([rows, inF])
    let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [weight.outFeatures])
    reel_bf16_linear(Int64(rows), x2.data, Int64(inF), weight.packed, out.data, Int64(weight.outFeatures))
    let b = bias?.contiguous()
    reel_add_bias_rows(Int64(rows), Int64(weight.outFeatures), out.data, Int64(weight.outFeatures), b?.data, activation.code)
    return out
}
