import Foundation
import ReelEngine

// The layers of diffusers' AutoencoderKLWan (autoencoder_kl_wan.py), holding
// their checkpoint tensors under the same names, and the feature cache that
// lets the causal convolutions run one temporal chunk at a time.

/// Frames of each causal conv's input kept for the next chunk (diffusers' CACHE_T).
let cacheFrames = 2

/// The per-conv memory of a chunked encode/decode (diffusers' feat_cache +
/// feat_idx): every causal conv, in call order, owns one slot holding the last
/// input frames it saw. `rep` is diffusers' "Rep" marker of an upsampler that
/// has seen only the first chunk.
public final class CausalCache {
    enum Slot { case empty, rep, frames(Tensor) }
    var slots: [Slot] = []
    var index = 0

    public init() {}

    /// Called at the start of each chunk.
    func rewind() { index = 0 }

    func next() -> Slot {
        if index == slots.count { slots.append(.empty) }
        return slots[index]
    }

    func store(_ slot: Slot) {
        slots[index] = slot
        index += 1
    }

    /// Bytes held (for tests of bounded memory).
    public var bytes: Int {
        slots.reduce(0) { if case .frames(let t) = $1 { return $0 + 4 * t.count } else { return $0 } }
    }
}

/// WanCausalConv3d: a Conv3d whose time padding is all in front (2·p), filled
/// from the cache when one is given.
struct WanCausalConv3d {
    let weight: Tensor  // [out, in, kt, kh, kw]
    let bias: Tensor
    let stride: [Int]
    let padding: [Int]  // (t, h, w) as the module's `padding`

    init(_ path: ModulePath, _ inC: Int, _ outC: Int, kernel: [Int], stride: [Int] = [1, 1, 1], padding: [Int] = [0, 0, 0]) throws {
        weight = try path.tensor("weight", shape: [outC, inC] + kernel)
        bias = try path.tensor("bias", shape: [outC])
        self.stride = stride
        self.padding = padding
    }

    init(_ path: ModulePath, _ inC: Int, _ outC: Int, k: Int, padding p: Int = 0) throws {
        try self.init(path, inC, outC, kernel: [k, k, k], padding: [p, p, p])
    }

    /// `cached`: frames to put in front of x instead of that many zero frames.
    func callAsFunction(_ x: Tensor, cached: Tensor? = nil) throws -> Tensor {
        var input = x
        var front = 2 * padding[0]
        if let cached, front > 0 {
            input = try concatenate([cached, x], dim: 2)
            front -= cached.shape[2]
        }
        return try convolution(input, weight: weight, bias: bias, stride: stride,
                               padding: [(Swift.max(front, 0), 0), (padding[1], padding[1]), (padding[2], padding[2])],
                               dilation: [1, 1, 1])
    }

    /// The cached call every diffusers block repeats: remember x's last frames
    /// (topped up from the previous cache when x is one frame), convolve with
    /// the previous cache in front.
    func callAsFunction(_ x: Tensor, cache: CausalCache?) throws -> Tensor {
        guard let cache else { return try self(x) }
        let slot = cache.next()
        var keep = try x.slice(2, -cacheFrames).clone()
        var previous: Tensor? = nil
        if case .frames(let p) = slot {
            previous = p
            if keep.shape[2] < cacheFrames { keep = try concatenate([p.slice(2, -1), keep], dim: 2) }
        }
        let out = try self(x, cached: previous)
        cache.store(.frames(keep))
        return out
    }
}

/// WanRMS_norm: F.normalize over channels · sqrt(C) · gamma (+ bias), on
/// x[N, C, ...] without moving channels last; `silu` fuses the activation
/// that follows it everywhere in the VAE.
struct WanRMSNorm {
    let gamma: Tensor  // [C, 1, 1, 1] (video) or [C, 1, 1] (images)
    let channels: Int

    init(_ path: ModulePath, _ channels: Int, images: Bool = false) throws {
        gamma = try path.tensor("gamma", shape: images ? [channels, 1, 1] : [channels, 1, 1, 1])
        self.channels = channels
    }

    func callAsFunction(_ x: Tensor, silu applySiLU: Bool = false) -> Tensor {
        let c = x.contiguous()
        let n = x.shape[0], ch = x.shape[1], s = x.count / Swift.max(n * ch, 1)
        let out = Tensor(uninitialized: x.shape)
        let g = gamma.contiguous().data, scale = Float(ch).squareRoot()
        let src = c.data, dst = out.data
        // Parallel over (batch, spatial blocks); each block accumulates the channel sums in a row.
        let block = 512
        let blocks = (s + block - 1) / block
        Engine.parallelFor(n * blocks) { job in
            let b = job / blocks, s0 = (job % blocks) * block, len = Swift.min(block, s - s0)
            let base = b * ch * s + s0
            var sums = [Float](repeating: 0, count: len)
            sums.withUnsafeMutableBufferPointer { acc in
                for k in 0..<ch {
                    let row = src + base + k * s
                    for i in 0..<len { acc[i] += row[i] * row[i] }
                }
                for i in 0..<len { acc[i] = scale / Swift.max(acc[i].squareRoot(), 1e-12) }
                for k in 0..<ch {
                    let row = src + base + k * s, o = dst + base + k * s, gk = g[k]
                    for i in 0..<len { o[i] = row[i] * acc[i] * gk }
                }
            }
        }
        // The engine's vectorised SiLU (a second pass, still cheaper than a scalar exp per element here).
        return applySiLU ? silu(out) : out
    }
}

/// WanResidualBlock: norm1 → SiLU → conv1 → norm2 → SiLU → conv2, plus the
/// (1×1×1 conv) shortcut.
struct WanResidualBlock {
    let norm1: WanRMSNorm, conv1: WanCausalConv3d
    let norm2: WanRMSNorm, conv2: WanCausalConv3d
    let convShortcut: WanCausalConv3d?

    init(_ path: ModulePath, _ inDim: Int, _ outDim: Int) throws {
        norm1 = try WanRMSNorm(path["norm1"], inDim)
        conv1 = try WanCausalConv3d(path["conv1"], inDim, outDim, k: 3, padding: 1)
        norm2 = try WanRMSNorm(path["norm2"], outDim)
        conv2 = try WanCausalConv3d(path["conv2"], outDim, outDim, k: 3, padding: 1)
        convShortcut = inDim != outDim ? try WanCausalConv3d(path["conv_shortcut"], inDim, outDim, k: 1) : nil
    }

    func callAsFunction(_ x: Tensor, cache: CausalCache?) throws -> Tensor {
        let h = try convShortcut.map { try $0(x) } ?? x
        var y = try conv1(norm1(x, silu: true), cache: cache)
        y = try conv2(norm2(y, silu: true), cache: cache)
        try y.add_(h)
        return y
    }
}

/// WanAttentionBlock: single-head self-attention over each frame's pixels.
struct WanAttentionBlock {
    let norm: WanRMSNorm
    let toQKVWeight: Tensor, toQKVBias: Tensor  // Conv2d 1×1 [3C, C, 1, 1]
    let projWeight: Tensor, projBias: Tensor

    init(_ path: ModulePath, _ dim: Int) throws {
        norm = try WanRMSNorm(path["norm"], dim, images: true)
        toQKVWeight = try path["to_qkv"].tensor("weight", shape: [3 * dim, dim, 1, 1]).reshape([3 * dim, dim])
        toQKVBias = try path["to_qkv"].tensor("bias", shape: [3 * dim])
        projWeight = try path["proj"].tensor("weight", shape: [dim, dim, 1, 1]).reshape([dim, dim])
        projBias = try path["proj"].tensor("bias", shape: [dim])
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        // Per frame, pixels as tokens: [B·T, HW, C].
        let frames = try x.permute([0, 2, 1, 3, 4]).reshape([b * t, c, h * w])
        let tokens = try norm(frames.reshape([b * t, c, h, w])).reshape([b * t, c, h * w]).transposed(1, 2)
        let qkv = try linear(tokens, weight: toQKVWeight, bias: toQKVBias)  // [BT, HW, 3C]
        let q = try qkv.slice(2, 0, c).unsqueeze(1), k = try qkv.slice(2, c, 2 * c).unsqueeze(1)
        let v = try qkv.slice(2, 2 * c, 3 * c).unsqueeze(1)
        let o = try scaledDotProductAttention(q, k, v).squeeze(1)  // [BT, HW, C]
        let y = try linear(o, weight: projWeight, bias: projBias)   // [BT, HW, C]
        let back = try y.reshape([b, t, h, w, c]).permute([0, 4, 1, 2, 3])
        return try back + x
    }
}

/// WanResample: 2× spatial up/down sampling per frame, with a causal time conv
/// for the 3-d modes (doubling frames on the way up, halving on the way down).
struct WanResample {
    enum Mode: String { case upsample2d, upsample3d, downsample2d, downsample3d }
    let mode: Mode
    let convWeight: Tensor, convBias: Tensor   // resample.1 (Conv2d 3×3)
    let timeConv: WanCausalConv3d?

    init(_ path: ModulePath, dim: Int, mode: Mode) throws {
        self.mode = mode
        let outDim = mode == .upsample2d || mode == .upsample3d ? dim / 2 : dim
        convWeight = try path["resample"][1].tensor("weight", shape: [outDim, dim, 3, 3])
        convBias = try path["resample"][1].tensor("bias", shape: [outDim])
        switch mode {
        case .upsample3d: timeConv = try WanCausalConv3d(path["time_conv"], dim, 2 * dim, kernel: [3, 1, 1], padding: [1, 0, 0])
        case .downsample3d: timeConv = try WanCausalConv3d(path["time_conv"], dim, dim, kernel: [3, 1, 1], stride: [2, 1, 1])
        default: timeConv = nil
        }
    }

    func callAsFunction(_ input: Tensor, cache: CausalCache?) throws -> Tensor {
        var x = input
        let (b, c) = (x.shape[0], x.shape[1])
        if mode == .upsample3d, let cache, let timeConv {
            switch cache.next() {
            case .empty:
                cache.store(.rep)
            case let slot:
                let t = x.shape[2]
                var keep = try x.slice(2, -cacheFrames).clone()
                if keep.shape[2] < cacheFrames {
                    if case .frames(let p) = slot { keep = try concatenate([p.slice(2, -1), keep], dim: 2) }
                    else { keep = try concatenate([Tensor(zeros: keep.shape), keep], dim: 2) }
                }
                var y: Tensor
                if case .frames(let p) = slot { y = try timeConv(x, cached: p) } else { y = try timeConv(x) }
                cache.store(.frames(keep))
                // [B, 2, C, T, H, W] -> frames interleaved: [B, C, T, 2, H, W] -> [B, C, 2T, H, W].
                let (h, w) = (y.shape[3], y.shape[4])
                y = try y.reshape([b, 2, c, t, h, w]).permute([0, 2, 3, 1, 4, 5]).reshape([b, c, 2 * t, h, w])
                x = y
            }
        }
        let (t, h, w) = (x.shape[2], x.shape[3], x.shape[4])
        var planes = try x.permute([0, 2, 1, 3, 4]).reshape([b * t, c, h, w])
        switch mode {
        case .upsample2d, .upsample3d:
            planes = try interpolate(planes, scaleFactor: 2, mode: .nearestExact)
            planes = try conv2d(planes, weight: convWeight, bias: convBias, stride: 1, padding: 1)
        case .downsample2d, .downsample3d:
            planes = try convolution(planes, weight: convWeight, bias: convBias, stride: [2, 2],
                                     padding: [(0, 1), (0, 1)], dilation: [1, 1])
        }
        let oc = planes.shape[1]
        x = try planes.reshape([b, t, oc, planes.shape[2], planes.shape[3]]).permute([0, 2, 1, 3, 4]).contiguous()
        if mode == .downsample3d, let cache, let timeConv {
            switch cache.next() {
            case .frames(let p):
                let keep = try x.slice(2, -1).clone()
                x = try timeConv(concatenate([p.slice(2, -1), x], dim: 2))
                cache.store(.frames(keep))
            default:
                cache.store(.frames(x.clone()))
            }
        }
        return x
    }
}

/// WanMidBlock: resnet, then (attention, resnet) pairs.
struct WanMidBlock {
    let resnets: [WanResidualBlock]
    let attentions: [WanAttentionBlock]

    init(_ path: ModulePath, _ dim: Int) throws {
        resnets = try (0..<2).map { try WanResidualBlock(path["resnets"][$0], dim, dim) }
        attentions = [try WanAttentionBlock(path["attentions"][0], dim)]
    }

    func callAsFunction(_ x: Tensor, cache: CausalCache?) throws -> Tensor {
        var y = try resnets[0](x, cache: cache)
        for (attn, resnet) in zip(attentions, resnets.dropFirst()) {
            y = try resnet(attn(y), cache: cache)
        }
        return y
    }
}
