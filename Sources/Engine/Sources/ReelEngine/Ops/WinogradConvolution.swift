// 3x3 stride-1 convolutions on NHWC activations by Winograd F(4x4, 3x3)
// (CReelKernels/winograd.c). `conv2d` already takes this path for NCHW tensors
// (with two layout transposes around it); networks that chain many 3x3
// convolutions keep their activations NHWC between layers and call
// `conv3x3NHWC`, with bias and PReLU fused, so the transposes happen once per
// network instead of twice per layer.
import CReelKernels

/// A 3x3 convolution weight transformed once for the Winograd kernel. Channel
/// counts round up to multiples of 16 (the padding is zero): NHWC inputs carry
/// `paddedInChannels` channels and outputs `paddedOutChannels`.
public final class WinogradConvolution3x3: @unchecked Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let paddedInChannels: Int
    public let paddedOutChannels: Int
    let handle: OpaquePointer

    /// Whether this cpu runs the kernel (AVX-512); otherwise use `conv2d`.
    public static var isAvailable: Bool { reel_winograd_available() != 0 }

    /// weight: [Cout, Cin, 3, 3] (PyTorch's layout).
    public init(weight: Tensor) throws {
        guard Self.isAvailable else { throw EngineError.argument("Winograd convolution needs AVX-512") }
        guard weight.ndim == 4, weight.shape[2] == 3, weight.shape[3] == 3 else {
            throw EngineError.shape("WinogradConvolution3x3: weight \(weight.shape) is not [Cout, Cin, 3, 3]")
        }
        let w = weight.contiguous()
        guard let h = reel_winograd_pack(Int64(weight.shape[0]), Int64(weight.shape[1]), 1, w.data) else {
            throw EngineError.argument("WinogradConvolution3x3: out of memory")
        }
        handle = h
        outChannels = weight.shape[0]
        inChannels = weight.shape[1]
        paddedInChannels = Int(reel_winograd_cin(h))
        paddedOutChannels = Int(reel_winograd_cout(h))
    }

    deinit { reel_winograd_free(handle) }
}

/// x[N, H, W, paddedIn] (NHWC) → [N, H', W', paddedOut] with zero padding
/// `padding` on every side; `bias` and a per-channel PReLU `preluSlope`
/// ([outChannels] each, or one value for all) are applied in the same pass. Padded output channels
/// hold zeros (plus nothing: their bias and slope are zero).
public func conv3x3NHWC(_ x: Tensor, weight: WinogradConvolution3x3, bias: Tensor? = nil, preluSlope: Tensor? = nil,
                        padding: Int = 1) throws -> Tensor {
    guard x.ndim == 4, x.shape[3] == weight.paddedInChannels else {
        throw EngineError.shape("conv3x3NHWC: input \(x.shape) is not [N, H, W, \(weight.paddedInChannels)]")
    }
    guard padding >= 0 else { throw EngineError.argument("conv3x3NHWC: negative padding") }
    let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
    let oh = h + 2 * padding - 2, ow = w + 2 * padding - 2
    guard oh > 0, ow > 0 else { throw EngineError.shape("conv3x3NHWC: input \(h)x\(w) too small for padding \(padding)") }
    func perChannel(_ t: Tensor?, _ name: String) throws -> Tensor? {
        guard let t else { return nil }
        if t.count == 1 && weight.outChannels > 1 { // one value for every channel (PReLU's default)
            return try perChannel(Tensor(repeating: t.contiguous().data[0], shape: [weight.outChannels]), name)
        }
        guard t.count == weight.outChannels else {
            throw EngineError.shape("conv3x3NHWC: \(name) has \(t.count) entries for \(weight.outChannels) channels")
        }
        if weight.outChannels == weight.paddedOutChannels { return t.contiguous() }
        let padded = Tensor(zeros: [weight.paddedOutChannels])
        try padded.slice(0, 0, weight.outChannels).copy_(from: t.reshape([weight.outChannels]))
        return padded
    }
    let b = try perChannel(bias, "bias"), s = try perChannel(preluSlope, "PReLU slope")
    let input = x.contiguous()
    let out = Tensor(uninitialized: [n, oh, ow, weight.paddedOutChannels])
    reel_conv3x3_nhwc(Int64(n), Int64(h), Int64(w), Int64(padding), Int64(padding), Int64(oh), Int64(ow), input.data,
                      weight.handle, b?.data, s?.data, out.data)
    return out
}

/// [N, C, H, W] → [N, H, W, channels] (channels ≥ C; the extra ones are zero).
public func nchwToNHWC(_ x: Tensor, channels: Int? = nil) throws -> Tensor {
    guard x.ndim == 4 else { throw EngineError.shape("nchwToNHWC: \(x.shape) is not [N, C, H, W]") }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let cp = channels ?? c
    guard cp >= c else { throw EngineError.argument("nchwToNHWC: \(cp) channels < \(c)") }
    let input = x.contiguous()
    if cp == c {
        let out = Tensor(uninitialized: [n, h, w, c])
        reel_nchw_to_nhwc(Int64(n), Int64(c), Int64(h * w), input.data, out.data)
        return out
    }
    let out = Tensor(zeros: [n, h, w, cp])
    try out.slice(3, 0, c).copy_(from: input.permute(0, 2, 3, 1))
    return out
}

/// [N, H, W, C] → [N, channels, H, W] (the first `channels` of C).
public func nhwcToNCHW(_ x: Tensor, channels: Int? = nil) throws -> Tensor {
    guard x.ndim == 4 else { throw EngineError.shape("nhwcToNCHW: \(x.shape) is not [N, H, W, C]") }
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let keep = channels ?? c
    guard keep <= c else { throw EngineError.argument("nhwcToNCHW: \(keep) channels > \(c)") }
    let input = x.contiguous()
    if keep == c {
        let out = Tensor(uninitialized: [n, c, h, w])
        reel_nhwc_to_nchw(Int64(n), Int64(c), Int64(h * w), input.data, out.data)
        return out
    }
    return try input.slice(3, 0, keep).permute(0, 3, 1, 2).contiguous()
}
