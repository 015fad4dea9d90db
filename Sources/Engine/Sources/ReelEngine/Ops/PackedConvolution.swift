// Convolution weights prepared once for the bf16 kernel (see PackedLinear):
// Real-ESRGAN's and the VAE's 3x3 convolutions at about twice sgemm's rate.
import CReelKernels

public final class PackedConvolution: @unchecked Sendable {
    public let weightShape: [Int]
    public let groups: Int
    public let precision: MatmulPrecision
    let float32: Tensor?
    let packed: [OpaquePointer?]

    /// weight: [Cout, Cin/groups, kernel...] (PyTorch's layout).
    public init(_ weight: Tensor, groups: Int = 1, precision: MatmulPrecision = .float32) throws {
        guard weight.ndim >= 3, weight.ndim <= 5, groups > 0, weight.shape[0] % groups == 0 else {
            throw EngineError.shape("PackedConvolution: weight \(weight.shape) with \(groups) groups")
        }
        weightShape = weight.shape
        self.groups = groups
        if precision == .bf16 && reel_bf16_gemm_available() != 0 {
            let w = weight.contiguous()
            let coutG = weight.shape[0] / groups, k = weight.count / weight.shape[0]
            packed = (0..<groups).map { g in reel_bf16_pack_conv_weight(Int64(coutG), Int64(k), w.data + g * coutG * k) }
            guard packed.allSatisfy({ $0 != nil }) else { throw EngineError.argument("PackedConvolution: out of memory") }
            float32 = nil
            self.precision = .bf16
        } else {
            float32 = weight
            packed = []
            self.precision = .float32
        }
    }

    deinit { for p in packed { reel_bf16_free_conv_weight(p) } }
}

/// `convolution` with a prepared weight (groups come from the weight).
public func convolution(_ x: Tensor, weight: PackedConvolution, bias: Tensor? = nil, stride: [Int], padding: [(Int, Int)],
                        dilation: [Int], paddingMode: PaddingMode = .zeros) throws -> Tensor {
    if let w = weight.float32 {
        return try convolution(x, weight: w, bias: bias, stride: stride, padding: padding, dilation: dilation,
                               groups: weight.groups, paddingMode: paddingMode)
    }
    let g = try ConvGeometry(x, weightShape: weight.weightShape, bias: bias, stride: stride, padding: padding,
                             dilation: dilation, groups: weight.groups, paddingMode: paddingMode)
    let out = Tensor(uninitialized: g.outShape)
    let b = bias?.contiguous()
    weight.packed.withUnsafeBufferPointer { w in
        reel_conv_nd_bf16(Int32(g.sd), Int64(g.batch), Int64(g.cin), Int64(g.cout), Int64(weight.groups), g.inSize.map(Int64.init),
                          g.kernel.map(Int64.init), stride.map(Int64.init), dilation.map(Int64.init), g.outSize.map(Int64.init),
                          g.padded.data, w.baseAddress, b?.data, out.data)
    }
    return out
}

/// conv2d with a prepared weight.
public func conv2d(_ x: Tensor, weight: PackedConvolution, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   dilation: Int = 1, paddingMode: PaddingMode = .zeros) throws -> Tensor {
    try convolution(x, weight: weight, bias: bias, stride: [stride, stride], padding: [(padding, padding), (padding, padding)],
                    dilation: [dilation, dilation], paddingMode: paddingMode)
}

/// conv3d with a prepared weight; `causal` as in `conv3d`.
public func conv3d(_ x: Tensor, weight: PackedConvolution, bias: Tensor? = nil, stride: [Int] = [1, 1, 1],
                   padding: [Int] = [0, 0, 0], dilation: [Int] = [1, 1, 1], paddingMode: PaddingMode = .zeros,
                   causal: Bool = false) throws -> Tensor {
    guard padding.count == 3 else { throw EngineError.argument("conv3d: padding needs 3 entries") }
    var pads = padding.map { ($0, $0) }
    if causal { pads[0] = (2 * padding[0], 0) }
    return try convolution(x, weight: weight, bias: bias, stride: stride, padding: pads, dilation: dilation, paddingMode: paddingMode)
}
