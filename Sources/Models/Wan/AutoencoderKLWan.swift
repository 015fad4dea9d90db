import ReelEngine

/// Wan 2.1's causal video autoencoder as diffusers lays it out
/// (autoencoder_kl_wan.py, `AutoencoderKLWan`): 8× spatial and 4× temporal
/// compression, every conv causal in time. Decoding runs one latent frame at a
/// time through the decoder with the feature cache (diffusers' `_decode` loop),
/// so memory is bounded in the number of frames and decoded frames can be
/// streamed to a writer as they come; large frames are decoded in overlapping
/// spatial tiles blended as diffusers' `tiled_decode`. Encoding (for the edit
/// stage) runs the first frame, then four frames at a time, as `_encode`.
///
/// The Wan 2.2 variant (`is_residual`, `patch_size`) is refused with a clear error.
public final class AutoencoderKLWan: @unchecked Sendable {
    public static let className = "AutoencoderKLWan"

    /// vae/config.json.
    public struct Configuration: Codable, Sendable, Equatable {
        public var baseDim = 96
        public var decoderBaseDim: Int? = nil
        public var zDim = 16
        public var dimMult = [1, 2, 4, 4]
        public var numResBlocks = 2
        public var attnScales: [Double] = []
        public var temperalDownsample = [false, true, true]
        public var latentsMean: [Float] = []
        public var latentsStd: [Float] = []
        public var isResidual = false
        public var inChannels = 3
        public var outChannels = 3
        public var patchSize: Int? = nil
        public var scaleFactorTemporal = 4
        public var scaleFactorSpatial = 8

        enum CodingKeys: String, CodingKey {
            case baseDim = "base_dim", decoderBaseDim = "decoder_base_dim", zDim = "z_dim", dimMult = "dim_mult"
            case numResBlocks = "num_res_blocks", attnScales = "attn_scales", temperalDownsample = "temperal_downsample"
            case latentsMean = "latents_mean", latentsStd = "latents_std", isResidual = "is_residual"
            case inChannels = "in_channels", outChannels = "out_channels", patchSize = "patch_size"
            case scaleFactorTemporal = "scale_factor_temporal", scaleFactorSpatial = "scale_factor_spatial"
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Configuration()
            baseDim = try c.decodeIfPresent(Int.self, forKey: .baseDim) ?? d.baseDim
            decoderBaseDim = try c.decodeIfPresent(Int.self, forKey: .decoderBaseDim)
            zDim = try c.decodeIfPresent(Int.self, forKey: .zDim) ?? d.zDim
            dimMult = try c.decodeIfPresent([Int].self, forKey: .dimMult) ?? d.dimMult
            numResBlocks = try c.decodeIfPresent(Int.self, forKey: .numResBlocks) ?? d.numResBlocks
            attnScales = try c.decodeIfPresent([Double].self, forKey: .attnScales) ?? d.attnScales
            temperalDownsample = try c.decodeIfPresent([Bool].self, forKey: .temperalDownsample) ?? d.temperalDownsample
            latentsMean = try c.decodeIfPresent([Float].self, forKey: .latentsMean) ?? []
            latentsStd = try c.decodeIfPresent([Float].self, forKey: .latentsStd) ?? []
            isResidual = try c.decodeIfPresent(Bool.self, forKey: .isResidual) ?? false
            inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
            outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 3
            patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize)
            scaleFactorTemporal = try c.decodeIfPresent(Int.self, forKey: .scaleFactorTemporal) ?? 4
            scaleFactorSpatial = try c.decodeIfPresent(Int.self, forKey: .scaleFactorSpatial) ?? 8
        }

        /// Reads a config.json.
        public static func load(_ path: String) throws -> Configuration {
            try JSONTree.load(path: path).decode(Configuration.self)
        }

        /// Parameters of the decoder side (post_quant_conv + decoder), for memory estimates.
        public var decoderParameterCount: Int {
            let dim = decoderBaseDim ?? baseDim
            let dims = ([dimMult.last!] + dimMult.reversed()).map { dim * $0 }
            func conv(_ i: Int, _ o: Int, _ k: Int) -> Int { i * o * k + o }
            func res(_ i: Int, _ o: Int) -> Int { i + conv(i, o, 27) + o + conv(o, o, 27) + (i != o ? conv(i, o, 1) : 0) }
            var n = conv(zDim, zDim, 1) + conv(zDim, dims[0], 27)
            n += 2 * res(dims[0], dims[0]) + dims[0] + conv(dims[0], 3 * dims[0], 1) + conv(dims[0], dims[0], 1)
            for i in 0..<(dims.count - 1) {
                var cur = i > 0 ? dims[i] / 2 : dims[i]
                for _ in 0...numResBlocks { n += res(cur, dims[i + 1]); cur = dims[i + 1] }
                if i != dimMult.count - 1 {
                    n += conv(dims[i + 1], dims[i + 1] / 2, 9)
                    if temperalDownsample.reversed()[i] { n += conv(dims[i + 1], 2 * dims[i + 1], 3) }
                }
            }
            return n + dims.last! + conv(dims.last!, outChannels, 27)
        }
    }

    /// One entry of encoder.down_blocks, in checkpoint order.
    enum DownLayer {
        case residual(WanResidualBlock)
        case attention(WanAttentionBlock)
        case resample(WanResample)
    }

    /// One entry of decoder.up_blocks (WanUpBlock).
    struct UpBlock {
        let resnets: [WanResidualBlock]
        let upsampler: WanResample?
    }

    public let config: Configuration
    // encoder.*
    let encoderConvIn: WanCausalConv3d
    let downBlocks: [DownLayer]
    let encoderMid: WanMidBlock
    let encoderNormOut: WanRMSNorm
    let encoderConvOut: WanCausalConv3d
    let quantConv: WanCausalConv3d
    // decoder.*
    let postQuantConv: WanCausalConv3d
    let decoderConvIn: WanCausalConv3d
    let decoderMid: WanMidBlock
    let upBlocks: [UpBlock]
    let decoderNormOut: WanRMSNorm
    let decoderConvOut: WanCausalConv3d

    /// diffusers' tiling settings (in pixels); tiling applies when the frame is larger than the minimum tile.
    public var useTiling = true
    public var tileSampleMinHeight = 256, tileSampleMinWidth = 256
    public var tileSampleStrideHeight = 192, tileSampleStrideWidth = 192

    public init(config c: Configuration, checkpoint: Checkpoint) throws {
        guard !c.isResidual, c.patchSize == nil else {
            throw ModelError.unsupported("AutoencoderKLWan with is_residual/patch_size (the Wan 2.2 VAE); Wan 2.1's VAE is supported")
        }
        guard c.dimMult.count >= 1, c.temperalDownsample.count == c.dimMult.count - 1 else {
            throw ModelError.unsupported("AutoencoderKLWan dim_mult \(c.dimMult) with temperal_downsample \(c.temperalDownsample)")
        }
        guard c.latentsMean.isEmpty || c.latentsMean.count == c.zDim, c.latentsStd.isEmpty || c.latentsStd.count == c.zDim else {
            throw ModelError.unsupported("latents_mean/latents_std need \(c.zDim) entries")
        }
        config = c
        let enc = checkpoint["encoder"], dec = checkpoint["decoder"]

        // Encoder: dims = base·[1] + base·dim_mult.
        let eDims = ([1] + c.dimMult).map { c.baseDim * $0 }
        encoderConvIn = try WanCausalConv3d(enc["conv_in"], c.inChannels, eDims[0], k: 3, padding: 1)
        var layers: [DownLayer] = []
        var scale = 1.0
        for i in 0..<c.dimMult.count {
            var inDim = eDims[i]
            let outDim = eDims[i + 1]
            for _ in 0..<c.numResBlocks {
                layers.append(.residual(try WanResidualBlock(enc["down_blocks"][layers.count], inDim, outDim)))
                if c.attnScales.contains(scale) {
                    layers.append(.attention(try WanAttentionBlock(enc["down_blocks"][layers.count], outDim)))
                }
                inDim = outDim
            }
            if i != c.dimMult.count - 1 {
                let mode: WanResample.Mode = c.temperalDownsample[i] ? .downsample3d : .downsample2d
                layers.append(.resample(try WanResample(enc["down_blocks"][layers.count], dim: outDim, mode: mode)))
                scale /= 2
            }
        }
        downBlocks = layers
        encoderMid = try WanMidBlock(enc["mid_block"], eDims.last!)
        encoderNormOut = try WanRMSNorm(enc["norm_out"], eDims.last!)
        encoderConvOut = try WanCausalConv3d(enc["conv_out"], eDims.last!, 2 * c.zDim, k: 3, padding: 1)
        quantConv = try WanCausalConv3d(checkpoint["quant_conv"], 2 * c.zDim, 2 * c.zDim, k: 1)

        // Decoder: dims = base·[dim_mult[-1]] + base·reversed(dim_mult); each upsampler halves the channels.
        let base = c.decoderBaseDim ?? c.baseDim
        let dDims = ([c.dimMult.last!] + c.dimMult.reversed()).map { base * $0 }
        let temporalUp = Array(c.temperalDownsample.reversed())
        postQuantConv = try WanCausalConv3d(checkpoint["post_quant_conv"], c.zDim, c.zDim, k: 1)
        decoderConvIn = try WanCausalConv3d(dec["conv_in"], c.zDim, dDims[0], k: 3, padding: 1)
        decoderMid = try WanMidBlock(dec["mid_block"], dDims[0])
        var ups: [UpBlock] = []
        for i in 0..<c.dimMult.count {
            var cur = i > 0 ? dDims[i] / 2 : dDims[i]
            let outDim = dDims[i + 1]
            var resnets: [WanResidualBlock] = []
            for j in 0...c.numResBlocks {
                resnets.append(try WanResidualBlock(dec["up_blocks"][i]["resnets"][j], cur, outDim))
                cur = outDim
            }
            var upsampler: WanResample? = nil
            if i != c.dimMult.count - 1 {
                upsampler = try WanResample(dec["up_blocks"][i]["upsamplers"][0], dim: outDim,
                                            mode: temporalUp[i] ? .upsample3d : .upsample2d)
            }
            ups.append(UpBlock(resnets: resnets, upsampler: upsampler))
        }
        upBlocks = ups
        decoderNormOut = try WanRMSNorm(dec["norm_out"], dDims.last!)
        decoderConvOut = try WanCausalConv3d(dec["conv_out"], dDims.last!, c.outChannels, k: 3, padding: 1)
        try checkpoint.requireAllUsed()
    }

    /// Loads a diffusers `vae/` folder (config.json + diffusion_pytorch_model.safetensors or its index).
    public convenience init(directory: String) throws {
        let config = try JSONTree.load(path: directory + "/config.json").decode(Configuration.self)
        try self.init(config: config, checkpoint: Checkpoint(source: try Safetensors.open(directory), path: directory))
    }

    public var spatialCompression: Int { 1 << (config.dimMult.count - 1) }
    public var temporalCompression: Int { 1 << config.temperalDownsample.filter { $0 }.count }

    /// Latent frames for `frames` video frames (frames = 4k + 1 for Wan).
    public func latentFrames(_ frames: Int) -> Int { (frames - 1) / temporalCompression + 1 }
    /// Video frames decoded from `latentFrames` latent frames.
    public func videoFrames(_ latentFrames: Int) -> Int { (latentFrames - 1) * temporalCompression + 1 }

    // MARK: latent normalisation (the pipeline's latents_mean / latents_std)

    func perChannel(_ values: [Float], default v: Float) throws -> Tensor {
        try Tensor(values.isEmpty ? [Float](repeating: v, count: config.zDim) : values, shape: [1, config.zDim, 1, 1, 1])
    }

    /// The sampler's latents to the decoder's: z·std + mean (WanPipeline before `vae.decode`).
    public func denormalize(_ latents: Tensor) throws -> Tensor {
        try latents * perChannel(config.latentsStd, default: 1) + perChannel(config.latentsMean, default: 0)
    }

    /// The encoder's latents to the sampler's: (z − mean) / std.
    public func normalize(_ latents: Tensor) throws -> Tensor {
        try (latents - perChannel(config.latentsMean, default: 0)) / perChannel(config.latentsStd, default: 1)
    }

    // MARK: decoding

    /// The decoder on one chunk (one latent frame), caches carried in `cache`; not clamped.
    func decodeChunk(_ x: Tensor, cache: CausalCache) throws -> Tensor {
        cache.rewind()
        var h = try decoderConvIn(x, cache: cache)
        h = try decoderMid(h, cache: cache)
        for block in upBlocks {
            for r in block.resnets { h = try r(h, cache: cache) }
            if let up = block.upsampler { h = try up(h, cache: cache) }
        }
        // Not clamped here: tiles are blended before the clamp, as diffusers does.
        return try decoderConvOut(decoderNormOut(h, silu: true), cache: cache)
    }

    /// Decodes z[B, z_dim, T, h, w] (already denormalised) to video in [-1, 1],
    /// handing each chunk of frames [B, 3, t, H, W] to `onFrames` as soon as it
    /// is decoded (1 frame first, then 4 per latent frame). Memory stays bounded
    /// by one chunk plus the caches, whatever T is.
    public func decode(_ z: Tensor, onFrames: (Tensor) throws -> Void) throws {
        guard z.ndim == 5, z.shape[1] == config.zDim else {
            throw ModelError.badInput("latents must be [batch, \(config.zDim), frames, height, width], got \(z.shape)")
        }
        let (t, h, w) = (z.shape[2], z.shape[3], z.shape[4])
        let s = config.scaleFactorSpatial
        if useTiling && (w > tileSampleMinWidth / s || h > tileSampleMinHeight / s) {
            return try tiledDecode(z, onFrames: onFrames)
        }
        let cache = CausalCache()
        for i in 0..<t {
            try onFrames(clamp(decodeChunk(postQuantConv(z.slice(2, i, i + 1)), cache: cache), min: -1, max: 1))
        }
    }

    /// The whole video at once: [B, 3, 4(T-1)+1, 8h, 8w].
    public func decode(_ z: Tensor) throws -> Tensor {
        var chunks: [Tensor] = []
        try decode(z) { chunks.append($0) }
        return try concatenate(chunks, dim: 2)
    }

    /// diffusers' tiled_decode, chunk by chunk: every tile keeps its own cache,
    /// and each chunk's tiles are blended (in diffusers' order, in place) and
    /// cropped before the next chunk is decoded.
    func tiledDecode(_ z: Tensor, onFrames: (Tensor) throws -> Void) throws {
        let (t, h, w) = (z.shape[2], z.shape[3], z.shape[4])
        let s = config.scaleFactorSpatial
        let (minH, minW) = (tileSampleMinHeight / s, tileSampleMinWidth / s)
        let (strideH, strideW) = (tileSampleStrideHeight / s, tileSampleStrideWidth / s)
        guard strideH > 0, strideW > 0 else { throw ModelError.badInput("VAE tile stride below the \(s)-pixel latent size") }
        let blendH = tileSampleMinHeight - tileSampleStrideHeight, blendW = tileSampleMinWidth - tileSampleStrideWidth
        let rowStarts = Array(stride(from: 0, to: h, by: strideH)), colStarts = Array(stride(from: 0, to: w, by: strideW))
        let caches = rowStarts.map { _ in colStarts.map { _ in CausalCache() } }
        for k in 0..<t {
            var rows: [[Tensor]] = []
            for (i, r) in rowStarts.enumerated() {
                var row: [Tensor] = []
                for (j, c) in colStarts.enumerated() {
                    let tile = try z.slice(2, k, k + 1).slice(3, r, r + minH).slice(4, c, c + minW)
                    row.append(try decodeChunk(postQuantConv(tile), cache: caches[i][j]).contiguous())
                }
                rows.append(row)
            }
            var resultRows: [Tensor] = []
            for i in 0..<rows.count {
                var pieces: [Tensor] = []
                for j in 0..<rows[i].count {
                    let tile = rows[i][j]
                    if i > 0 { blendVertical(rows[i - 1][j], tile, blendH) }
                    if j > 0 { blendHorizontal(rows[i][j - 1], tile, blendW) }
                    pieces.append(try tile.slice(3, 0, tileSampleStrideHeight).slice(4, 0, tileSampleStrideWidth))
                }
                resultRows.append(try concatenate(pieces, dim: 4))
            }
            let frame = try concatenate(resultRows, dim: 3).slice(3, 0, h * s).slice(4, 0, w * s)
            try onFrames(clamp(frame, min: -1, max: 1))
        }
    }

    /// b's first rows fade in from a's last rows (diffusers' blend_v, in place on b).
    func blendVertical(_ a: Tensor, _ b: Tensor, _ extent: Int) {
        let e = Swift.min(a.shape[3], b.shape[3], extent)
        let planes = b.shape[0] * b.shape[1] * b.shape[2]
        let (ah, bh, w) = (a.shape[3], b.shape[3], Swift.min(a.shape[4], b.shape[4]))
        let (aw, bw) = (a.shape[4], b.shape[4])
        for p in 0..<planes {
            for y in 0..<e {
                let f = Float(y) / Float(e)
                let ar = a.data + p * ah * aw + (ah - e + y) * aw, br = b.data + p * bh * bw + y * bw
                for x in 0..<w { br[x] = ar[x] * (1 - f) + br[x] * f }
            }
        }
    }

    /// b's first columns fade in from a's last columns (diffusers' blend_h, in place on b).
    func blendHorizontal(_ a: Tensor, _ b: Tensor, _ extent: Int) {
        let e = Swift.min(a.shape[4], b.shape[4], extent)
        let planes = b.shape[0] * b.shape[1] * b.shape[2]
        let (ah, aw, bh, bw) = (a.shape[3], a.shape[4], b.shape[3], b.shape[4])
        let rows = Swift.min(ah, bh)
        for p in 0..<planes {
            for y in 0..<rows {
                let ar = a.data + p * ah * aw + y * aw, br = b.data + p * bh * bw + y * bw
                for x in 0..<e {
                    let f = Float(x) / Float(e)
                    br[x] = ar[aw - e + x] * (1 - f) + br[x] * f
                }
            }
        }
    }

    // MARK: encoding

    /// The encoder on one chunk.
    func encodeChunk(_ x: Tensor, cache: CausalCache) throws -> Tensor {
        cache.rewind()
        var h = try encoderConvIn(x, cache: cache)
        for layer in downBlocks {
            switch layer {
            case .residual(let r): h = try r(h, cache: cache)
            case .attention(let a): h = try a(h)
            case .resample(let r): h = try r(h, cache: cache)
            }
        }
        h = try encoderMid(h, cache: cache)
        return try encoderConvOut(encoderNormOut(h, silu: true), cache: cache)
    }

    /// Encodes video x[B, 3, 4k+1, H, W] in [-1, 1] to the posterior's
    /// parameters [B, 2·z_dim, k+1, H/8, W/8] (mean, then log-variance).
    public func encodeMoments(_ x: Tensor) throws -> Tensor {
        guard x.ndim == 5, x.shape[1] == config.inChannels else {
            throw ModelError.badInput("video must be [batch, \(config.inChannels), frames, height, width], got \(x.shape)")
        }
        let (t, h, w) = (x.shape[2], x.shape[3], x.shape[4])
        let s = spatialCompression, tc = temporalCompression
        guard h % s == 0, w % s == 0, (t - 1) % tc == 0 else {
            throw ModelError.badInput("video \(t)×\(h)×\(w): frames must be \(tc)k+1 and sides multiples of \(s)")
        }
        let cache = CausalCache()
        var outs = [try encodeChunk(x.slice(2, 0, 1), cache: cache)]
        for i in 0..<((t - 1) / tc) {
            outs.append(try encodeChunk(x.slice(2, 1 + tc * i, 1 + tc * (i + 1)), cache: cache))
        }
        return try quantConv(concatenate(outs, dim: 2))
    }

    /// The posterior mean (what the pipelines use as the clip's latents), not normalised.
    public func encode(_ x: Tensor) throws -> Tensor {
        try encodeMoments(x).slice(1, 0, config.zDim).contiguous()
    }
}
