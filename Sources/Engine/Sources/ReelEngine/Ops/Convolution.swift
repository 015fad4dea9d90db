// Convolutions (1-d, 2-d, 3-d; any padding mode, stride, dilation, groups) and
// the transposed 2-d convolution, with PyTorch's weight layouts.
import CReelKernels

/// How the border is filled before a convolution.
public enum PaddingMode: Sendable {
    case zeros, replicate, reflect
    var code: Int32 {
        switch self {
        case .zeros: return Int32(REEL_PAD_ZERO)
        case .replicate: return Int32(REEL_PAD_REPLICATE)
        case .reflect: return Int32(REEL_PAD_REFLECT)
        }
    }
}

/// Pads the trailing `pads.count` dims (1...3) of x by (before, after) each.
public func pad(_ x: Tensor, _ pads: [(Int, Int)], mode: PaddingMode = .zeros) throws -> Tensor {
    let sd = pads.count
    guard sd >= 1 && sd <= 3 && x.ndim >= sd else { throw EngineError.argument("pad: 1 to 3 trailing dims, got \(sd) for \(x.shape)") }
    guard pads.allSatisfy({ $0.0 >= 0 && $0.1 >= 0 }) else { throw EngineError.argument("pad: negative padding \(pads)") }
    let spatial = Array(x.shape.suffix(sd))
    if mode == .reflect {
        for (i, p) in pads.enumerated() where p.0 >= spatial[i] || p.1 >= spatial[i] {
            throw EngineError.argument("pad: reflect padding \(p) must be smaller than the size \(spatial[i])")
        }
    }
    if pads.allSatisfy({ $0 == (0, 0) }) { return x }
    let outer = x.shape.dropLast(sd).reduce(1, *)
    let outShape = Array(x.shape.dropLast(sd)) + zip(spatial, pads).map { $0 + $1.0 + $1.1 }
    let c = x.contiguous()
    let out = Tensor(uninitialized: outShape)
    let inn = spatial.map(Int64.init), lo = pads.map { Int64($0.0) }, hi = pads.map { Int64($0.1) }
    reel_pad(Int64(outer), Int32(sd), inn, lo, hi, mode.code, out.data, c.data)
    return out
}

/// N-d convolution with explicit (before, after) padding per spatial dim.
/// x[N, Cin, spatial...], weight[Cout, Cin/groups, kernel...], bias[Cout].
public func convolution(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int], padding: [(Int, Int)],
                        dilation: [Int], groups: Int = 1, paddingMode: PaddingMode = .zeros) throws -> Tensor {
    let g = try ConvGeometry(x, weightShape: weight.shape, bias: bias, stride: stride, padding: padding,
                             dilation: dilation, groups: groups, paddingMode: paddingMode)
    let out = Tensor(uninitialized: g.outShape)
    let w = weight.contiguous(), b = bias?.contiguous()
    reel_conv_nd(Int32(g.sd), Int64(g.batch), Int64(g.cin), Int64(g.cout), Int64(groups), g.inSize.map(Int64.init),
                 g.kernel.map(Int64.init), stride.map(Int64.init), dilation.map(Int64.init), g.outSize.map(Int64.init),
                 g.padded.data, w.data, b?.data, out.data)
    return out
}

/// Shapes of one convolution, checked, with the input already padded.
struct ConvGeometry {
    let sd, batch, cin, cout: Int
    let padded: Tensor
    let inSize, kernel, outSize: [Int]
    var outShape: [Int] { [batch, cout] + outSize }

    init(_ x: Tensor, weightShape: [Int], bias: Tensor?, stride: [Int], padding: [(Int, Int)], dilation: [Int],
         groups: Int, paddingMode: PaddingMode) throws {
        sd = weightShape.count - 2
        guard sd >= 1 && sd <= 3, x.ndim == sd + 2, stride.count == sd, padding.count == sd, dilation.count == sd else {
            throw EngineError.shape("conv\(sd)d: input \(x.shape), weight \(weightShape), stride \(stride), dilation \(dilation)")
        }
        (batch, cin, cout) = (x.shape[0], x.shape[1], weightShape[0])
        guard groups > 0, cin % groups == 0, cout % groups == 0, weightShape[1] == cin / groups else {
            throw EngineError.shape("conv\(sd)d: weight \(weightShape) does not fit \(cin) input channels in \(groups) groups")
        }
        guard stride.allSatisfy({ $0 > 0 }), dilation.allSatisfy({ $0 > 0 }) else {
            throw EngineError.argument("conv\(sd)d: stride and dilation must be positive")
        }
        try checkVector(bias, cout, "conv bias")
        padded = try pad(x, padding, mode: paddingMode).contiguous()
        inSize = Array(padded.shape.suffix(sd))
        kernel = Array(weightShape.suffix(sd))
        var o: [Int] = []
        for i in 0..<sd {
            let span = inSize[i] - dilation[i] * (kernel[i] - 1) - 1
            guard span >= 0 else { throw EngineError.shape("conv\(sd)d: kernel \(kernel) larger than the padded input \(inSize)") }
            o.append(span / stride[i] + 1)
        }
        outSize = o
    }
}

/// torch.nn.functional.conv1d. `causal` pads 2·padding before and nothing after.
public func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   dilation: Int = 1, groups: Int = 1, paddingMode: PaddingMode = .zeros, causal: Bool = false) throws -> Tensor {
    try convolution(x, weight: weight, bias: bias, stride: [stride],
                    padding: [causal ? (2 * padding, 0) : (padding, padding)], dilation: [dilation],
                    groups: groups, paddingMode: paddingMode)
}

/// torch.nn.functional.conv2d (padding per dim: [h, w]).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int], padding: [Int],
                   dilation: [Int] = [1, 1], groups: Int = 1, paddingMode: PaddingMode = .zeros) throws -> Tensor {
    guard padding.count == 2 else { throw EngineError.argument("conv2d: padding needs 2 entries") }
    return try convolution(x, weight: weight, bias: bias, stride: stride, padding: padding.map { ($0, $0) },
                           dilation: dilation, groups: groups, paddingMode: paddingMode)
}

public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   dilation: Int = 1, groups: Int = 1, paddingMode: PaddingMode = .zeros) throws -> Tensor {
    try conv2d(x, weight: weight, bias: bias, stride: [stride, stride], padding: [padding, padding],
               dilation: [dilation, dilation], groups: groups, paddingMode: paddingMode)
}

/// conv3d on x[N, C, T, H, W]. `causal` is Wan's CausalConv3d: time is padded by
/// 2·padding[0] in front and not at all behind, so frame t never sees t+1.
public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1, 1],
                   padding: [Int] = [0, 0, 0], dilation: [Int] = [1, 1, 1], groups: Int = 1,
                   paddingMode: PaddingMode = .zeros, causal: Bool = false) throws -> Tensor {
    guard padding.count == 3 else { throw EngineError.argument("conv3d: padding needs 3 entries") }
    var pads = padding.map { ($0, $0) }
    if causal { pads[0] = (2 * padding[0], 0) }
    return try convolution(x, weight: weight, bias: bias, stride: stride, padding: pads, dilation: dilation,
                           groups: groups, paddingMode: paddingMode)
}

/// torch.nn.functional.conv_transpose2d: x[N, Cin, H, W], weight[Cin, Cout/groups, kh, kw].
public func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1],
                            padding: [Int] = [0, 0], outputPadding: [Int] = [0, 0], dilation: [Int] = [1, 1],
                            groups: Int = 1) throws -> Tensor {
    guard x.ndim == 4, weight.ndim == 4, weight.shape[0] == x.shape[1], groups > 0, x.shape[1] % groups == 0 else {
        throw EngineError.shape("convTranspose2d: input \(x.shape) does not fit weight \(weight.shape) ([Cin, Cout/g, kh, kw])")
    }
    let cout = weight.shape[1] * groups
    try checkVector(bias, cout, "convTranspose2d bias")
    let (h, w, kh, kw) = (x.shape[2], x.shape[3], weight.shape[2], weight.shape[3])
    let oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outputPadding[0] + 1
    let ow = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outputPadding[1] + 1
    guard oh > 0, ow > 0 else { throw EngineError.shape("convTranspose2d: empty output for input \(x.shape)") }
    let c = x.contiguous(), wt = weight.contiguous(), b = bias?.contiguous()
    let out = Tensor(uninitialized: [x.shape[0], cout, oh, ow])
    reel_conv_transpose2d(Int64(x.shape[0]), Int64(x.shape[1]), Int64(cout), Int64(groups), Int64(h), Int64(w),
                          Int64(kh), Int64(kw), Int64(stride[0]), Int64(stride[1]), Int64(padding[0]), Int64(padding[1]),
                          Int64(dilation[0]), Int64(dilation[1]), Int64(oh), Int64(ow), c.data, wt.data, b?.data, out.data)
    return out
}
