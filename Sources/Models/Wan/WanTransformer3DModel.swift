import Foundation
import ReelEngine

/// Wan's video diffusion transformer as diffusers lays it out
/// (diffusers/models/transformers/transformer_wan.py, `WanTransformer3DModel`):
/// a Conv3d patch embedding, a timestep embedding projected to six AdaLN
/// modulation vectors per block, a text embedder, `num_layers` blocks
/// (self-attention with RMS q/k norm across heads and 3-d RoPE, cross-attention
/// to the text, a gelu-tanh FFN), the output norm + modulation, `proj_out` and
/// unpatchify. Checkpoint keys are diffusers' (`blocks.3.attn1.to_q.weight`).
///
/// Compute is fp32 whatever the stored dtype (bf16 weights are widened on load).
/// Text-to-video only: the image-to-video variants (`image_dim`,
/// `added_kv_proj_dim`) are refused with a clear error.
public final class WanTransformer3DModel: @unchecked Sendable {
    public static let className = "WanTransformer3DModel"

    /// transformer/config.json.
    public struct Configuration: Codable, Sendable, Equatable {
        public var patchSize: [Int] = [1, 2, 2]
        public var numAttentionHeads = 40
        public var attentionHeadDim = 128
        public var inChannels = 16
        public var outChannels = 16
        public var textDim = 4096
        public var freqDim = 256
        public var ffnDim = 13824
        public var numLayers = 40
        public var crossAttnNorm = true
        public var qkNorm: String? = "rms_norm_across_heads"
        public var eps: Double = 1e-6
        public var imageDim: Int? = nil
        public var addedKvProjDim: Int? = nil
        public var ropeMaxSeqLen = 1024

        enum CodingKeys: String, CodingKey {
            case patchSize = "patch_size", numAttentionHeads = "num_attention_heads"
            case attentionHeadDim = "attention_head_dim", inChannels = "in_channels", outChannels = "out_channels"
            case textDim = "text_dim", freqDim = "freq_dim", ffnDim = "ffn_dim", numLayers = "num_layers"
            case crossAttnNorm = "cross_attn_norm", qkNorm = "qk_norm", eps, imageDim = "image_dim"
            case addedKvProjDim = "added_kv_proj_dim", ropeMaxSeqLen = "rope_max_seq_len"
        }

        public init() {}

        /// Missing keys take diffusers' defaults, as `register_to_config` does.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Configuration()
            patchSize = try c.decodeIfPresent([Int].self, forKey: .patchSize) ?? d.patchSize
            numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
            attentionHeadDim = try c.decodeIfPresent(Int.self, forKey: .attentionHeadDim) ?? d.attentionHeadDim
            inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
            outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? inChannels
            textDim = try c.decodeIfPresent(Int.self, forKey: .textDim) ?? d.textDim
            freqDim = try c.decodeIfPresent(Int.self, forKey: .freqDim) ?? d.freqDim
            ffnDim = try c.decodeIfPresent(Int.self, forKey: .ffnDim) ?? d.ffnDim
            numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? d.numLayers
            crossAttnNorm = try c.decodeIfPresent(Bool.self, forKey: .crossAttnNorm) ?? d.crossAttnNorm
            qkNorm = c.contains(.qkNorm) ? try c.decodeIfPresent(String.self, forKey: .qkNorm) : d.qkNorm
            eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? d.eps
            imageDim = try c.decodeIfPresent(Int.self, forKey: .imageDim)
            addedKvProjDim = try c.decodeIfPresent(Int.self, forKey: .addedKvProjDim)
            ropeMaxSeqLen = try c.decodeIfPresent(Int.self, forKey: .ropeMaxSeqLen) ?? d.ropeMaxSeqLen
        }

        /// Reads a config.json.
        public static func load(_ path: String) throws -> Configuration {
            try JSONTree.load(path: path).decode(Configuration.self)
        }

        public var innerDim: Int { numAttentionHeads * attentionHeadDim }

        /// Parameters, counted from the configuration (for memory estimates before loading).
        public var parameterCount: Int {
            let d = innerDim, p = patchSize.reduce(1, *)
            let attn = 4 * (d * d + d) + 2 * d
            let block = 2 * attn + (d * ffnDim + ffnDim) + (ffnDim * d + d) + 6 * d + (crossAttnNorm ? 2 * d : 0)
            let embed = inChannels * p * d + d
            let cond = (freqDim * d + d) + (d * d + d) + (d * 6 * d + 6 * d) + (textDim * d + d) + (d * d + d)
            return embed + cond + numLayers * block + 2 * d + (d * outChannels * p + outChannels * p)
        }
    }

    /// torch.nn.Linear.
    public struct Linear: Sendable {
        public let weight: Tensor  // [out, in]
        public let bias: Tensor    // [out]

        init(_ path: ModulePath, _ inF: Int, _ outF: Int) throws {
            weight = try path.tensor("weight", shape: [outF, inF])
            bias = try path.tensor("bias", shape: [outF])
        }

        init(weight: Tensor, bias: Tensor) { self.weight = weight; self.bias = bias }

        func callAsFunction(_ x: Tensor, activation: Activation = .none) throws -> Tensor {
            try linear(x, weight: weight, bias: bias, activation: activation)
        }
    }

    /// WanAttention: to_q/to_k/to_v, RMS norm over all heads (norm_q, norm_k), to_out.0.
    /// For self-attention the three projections are fused into one GEMM on load.
    public struct Attention: Sendable {
        public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
        public let normQ: Tensor, normK: Tensor
        let qkv: Linear?
        let heads: Int
        let eps: Float

        init(_ path: ModulePath, dim: Int, heads: Int, eps: Float, fuse: Bool) throws {
            toQ = try Linear(path["to_q"], dim, dim)
            toK = try Linear(path["to_k"], dim, dim)
            toV = try Linear(path["to_v"], dim, dim)
            toOut = try Linear(path["to_out"][0], dim, dim)
            normQ = try path["norm_q"].tensor("weight", shape: [dim])
            normK = try path["norm_k"].tensor("weight", shape: [dim])
            qkv = fuse ? Linear(weight: try concatenate([toQ.weight, toK.weight, toV.weight], dim: 0),
                                bias: try concatenate([toQ.bias, toK.bias, toV.bias], dim: 0)) : nil
            self.heads = heads
            self.eps = eps
        }

        /// Self-attention over x[B, L, D] with RoPE tables [L, headDim].
        func selfAttention(_ x: Tensor, rope: (cos: Tensor, sin: Tensor)) throws -> Tensor {
            let d = x.shape[2]
            let proj = try qkv!(x)
            var q = try rmsNorm(proj.slice(2, 0, d), weight: normQ, eps: eps).unflatten(2, [heads, -1])
            var k = try rmsNorm(proj.slice(2, d, 2 * d), weight: normK, eps: eps).unflatten(2, [heads, -1])
            let v = try proj.slice(2, 2 * d, 3 * d).unflatten(2, [heads, -1])
            q = try applyRotaryEmbedding(q, cos: rope.cos, sin: rope.sin)
            k = try applyRotaryEmbedding(k, cos: rope.cos, sin: rope.sin)
            let o = try scaledDotProductAttention(q.transposed(1, 2), k.transposed(1, 2), v.transposed(1, 2))
            return try toOut(o.transposed(1, 2).flatten(2))
        }

        /// Keys and values of the text, [B, H, Lk, headDim] each; constant over the
        /// denoising steps, so a sampler computes them once per generation.
        func textKeysValues(_ context: Tensor) throws -> (k: Tensor, v: Tensor) {
            let k = try rmsNorm(toK(context), weight: normK, eps: eps).unflatten(2, [heads, -1]).transposed(1, 2)
            let v = try toV(context).unflatten(2, [heads, -1]).transposed(1, 2)
            return (k, v)
        }

        func crossAttention(_ x: Tensor, keysValues kv: (k: Tensor, v: Tensor)) throws -> Tensor {
            let q = try rmsNorm(toQ(x), weight: normQ, eps: eps).unflatten(2, [heads, -1])
            let o = try scaledDotProductAttention(q.transposed(1, 2), kv.k, kv.v)
            return try toOut(o.transposed(1, 2).flatten(2))
        }
    }

    /// WanTransformerBlock.
    public struct Block: Sendable {
        public let attn1: Attention, attn2: Attention
        public let norm2Weight: Tensor?, norm2Bias: Tensor?
        public let ffnIn: Linear, ffnOut: Linear   // ffn.net.0.proj, ffn.net.2
        public let scaleShiftTable: Tensor         // [1, 6, D]
        let eps: Float

        init(_ path: ModulePath, _ c: Configuration) throws {
            let d = c.innerDim, eps = Float(c.eps)
            attn1 = try Attention(path["attn1"], dim: d, heads: c.numAttentionHeads, eps: eps, fuse: true)
            attn2 = try Attention(path["attn2"], dim: d, heads: c.numAttentionHeads, eps: eps, fuse: false)
            if c.crossAttnNorm {
                norm2Weight = try path["norm2"].tensor("weight", shape: [d])
                norm2Bias = try path["norm2"].tensor("bias", shape: [d])
            } else {
                norm2Weight = nil
                norm2Bias = nil
            }
            ffnIn = try Linear(path["ffn"]["net"][0]["proj"], d, c.ffnDim)
            ffnOut = try Linear(path["ffn"]["net"][2], c.ffnDim, d)
            scaleShiftTable = try path.tensor("scale_shift_table", shape: [1, 6, d])
            self.eps = eps
        }

        /// x[B, L, D]; modulation[B, 6, D] (the time projection); text keys/values of attn2.
        func callAsFunction(_ x: Tensor, modulation: Tensor, text: (k: Tensor, v: Tensor),
                            rope: (cos: Tensor, sin: Tensor)) throws -> Tensor {
            let m = try (scaleShiftTable + modulation).chunk(6, dim: 1)
            let (shift, scale, gate, cShift, cScale, cGate) = (m[0], m[1], m[2], m[3], m[4], m[5])
            var h = x
            let n1 = try layerNormModulated(h, scale: scale, shift: shift, eps: eps)
            h = try h + attn1.selfAttention(n1, rope: rope) * gate
            let n2 = norm2Weight == nil ? h : try layerNorm(h, weight: norm2Weight, bias: norm2Bias, eps: eps)
            try h.add_(attn2.crossAttention(n2, keysValues: text))
            let n3 = try layerNormModulated(h, scale: cScale, shift: cShift, eps: eps)
            let f = try ffnOut(ffnIn(n3, activation: .geluTanh))
            return try h + f * cGate
        }
    }

    public let config: Configuration
    public let patchEmbeddingWeight: Tensor   // patch_embedding.weight [D, C, pt, ph, pw]
    public let patchEmbeddingBias: Tensor
    let patchProjection: Linear               // the same conv as a GEMM over flattened patches
    public let timeEmbedder1: Linear, timeEmbedder2: Linear   // condition_embedder.time_embedder.linear_{1,2}
    public let timeProj: Linear                               // condition_embedder.time_proj
    public let textEmbedder1: Linear, textEmbedder2: Linear   // condition_embedder.text_embedder.linear_{1,2}
    public let blocks: [Block]
    public let scaleShiftTable: Tensor        // [1, 2, D]
    public let projOut: Linear

    public init(config c: Configuration, checkpoint: Checkpoint) throws {
        guard c.imageDim == nil, c.addedKvProjDim == nil else {
            throw ModelError.unsupported("WanTransformer3DModel with image conditioning (image_dim/added_kv_proj_dim): only text-to-video is supported")
        }
        guard c.qkNorm == "rms_norm_across_heads" else {
            throw ModelError.unsupported("WanTransformer3DModel qk_norm \(c.qkNorm ?? "null") (Wan uses rms_norm_across_heads)")
        }
        guard c.patchSize.count == 3, c.patchSize.allSatisfy({ $0 > 0 }), c.attentionHeadDim % 2 == 0 else {
            throw ModelError.unsupported("WanTransformer3DModel patch_size \(c.patchSize), head dim \(c.attentionHeadDim)")
        }
        config = c
        let d = c.innerDim, p = c.patchSize, cond = checkpoint["condition_embedder"]
        patchEmbeddingWeight = try checkpoint["patch_embedding"].tensor("weight", shape: [d, c.inChannels] + p)
        patchEmbeddingBias = try checkpoint["patch_embedding"].tensor("bias", shape: [d])
        patchProjection = Linear(weight: try patchEmbeddingWeight.reshape([d, -1]), bias: patchEmbeddingBias)
        timeEmbedder1 = try Linear(cond["time_embedder"]["linear_1"], c.freqDim, d)
        timeEmbedder2 = try Linear(cond["time_embedder"]["linear_2"], d, d)
        timeProj = try Linear(cond["time_proj"], d, 6 * d)
        textEmbedder1 = try Linear(cond["text_embedder"]["linear_1"], c.textDim, d)
        textEmbedder2 = try Linear(cond["text_embedder"]["linear_2"], d, d)
        blocks = try (0..<c.numLayers).map { try Block(checkpoint["blocks"][$0], c) }
        scaleShiftTable = try checkpoint.root.tensor("scale_shift_table", shape: [1, 2, d])
        projOut = try Linear(checkpoint["proj_out"], d, c.outChannels * p.reduce(1, *))
        try checkpoint.requireAllUsed()
    }

    /// Loads a diffusers `transformer/` folder: config.json and
    /// diffusion_pytorch_model.safetensors, or its sharded index.
    public convenience init(directory: String) throws {
        let config = try JSONTree.load(path: directory + "/config.json").decode(Configuration.self)
        let source = try Safetensors.open(directory)
        try self.init(config: config, checkpoint: Checkpoint(source: source, path: directory))
    }

    /// The text after `condition_embedder.text_embedder`, with every block's
    /// cross-attention keys and values: what stays fixed across denoising steps.
    public struct TextConditioning: @unchecked Sendable {
        public let embedded: Tensor                 // [B, Lt, D]
        let keysValues: [(k: Tensor, v: Tensor)]
    }

    /// encoderHiddenStates[B, Lt, text_dim] (the text encoder's output).
    public func conditionText(_ encoderHiddenStates: Tensor) throws -> TextConditioning {
        guard encoderHiddenStates.ndim == 3, encoderHiddenStates.shape[2] == config.textDim else {
            throw ModelError.badInput("text embeddings must be [batch, tokens, \(config.textDim)], got \(encoderHiddenStates.shape)")
        }
        let e = try textEmbedder2(textEmbedder1(encoderHiddenStates, activation: .geluTanh))
        return TextConditioning(embedded: e, keysValues: try blocks.map { try $0.attn2.textKeysValues(e) })
    }

    /// diffusers' Timesteps(flip_sin_to_cos=True, downscale_freq_shift=0): [cos | sin] of t·exp(-ln(1e4)·i/half).
    func timestepFeatures(_ timesteps: [Float]) -> Tensor {
        let half = config.freqDim / 2
        let out = Tensor(uninitialized: [timesteps.count, config.freqDim])
        for (b, t) in timesteps.enumerated() {
            for i in 0..<half {
                let freq = Foundation.exp(-Foundation.log(Float(10000)) * Float(i) / Float(half))
                let arg = t * freq
                out.data[b * config.freqDim + i] = Foundation.cos(arg)
                out.data[b * config.freqDim + half + i] = Foundation.sin(arg)
            }
        }
        return out
    }

    /// One denoiser evaluation: hiddenStates[B, C, F, H, W] latents, one timestep
    /// per batch element (0...1000), text from `conditionText` (its batch must
    /// match). Returns the predicted velocity [B, out_channels, F, H, W].
    /// Under `Engine.withInterrupt`, a triggered interrupt stops it before the next
    /// block (and inside attention): a step of a large model on a CPU takes minutes.
    public func callAsFunction(_ hiddenStates: Tensor, timesteps: [Float], text: TextConditioning) throws -> Tensor {
        let c = config, p = c.patchSize, d = c.innerDim
        guard hiddenStates.ndim == 5, hiddenStates.shape[1] == c.inChannels else {
            throw ModelError.badInput("latents must be [batch, \(c.inChannels), frames, height, width], got \(hiddenStates.shape)")
        }
        let (b, f, h, w) = (hiddenStates.shape[0], hiddenStates.shape[2], hiddenStates.shape[3], hiddenStates.shape[4])
        guard f % p[0] == 0, h % p[1] == 0, w % p[2] == 0, f > 0, h > 0, w > 0 else {
            throw ModelError.badInput("latent size \(f)×\(h)×\(w) is not a multiple of the patch size \(p)")
        }
        guard timesteps.count == b, text.embedded.shape[0] == b else {
            throw ModelError.badInput("batch \(b) with \(timesteps.count) timesteps and \(text.embedded.shape[0]) texts")
        }
        let (pf, ph, pw) = (f / p[0], h / p[1], w / p[2])
        guard Swift.max(pf, ph, pw) <= c.ropeMaxSeqLen else {
            throw ModelError.badInput("\(pf)×\(ph)×\(pw) patches exceed rope_max_seq_len \(c.ropeMaxSeqLen)")
        }
        // Patch embedding: a Conv3d with kernel = stride = patch is one GEMM over flattened patches.
        let patches = try hiddenStates.reshape([b, c.inChannels, pf, p[0], ph, p[1], pw, p[2]])
            .permute([0, 2, 4, 6, 1, 3, 5, 7]).reshape([b, pf * ph * pw, c.inChannels * p.reduce(1, *)])
        var x = try patchProjection(patches)

        let temb = try timeEmbedder2(timeEmbedder1(timestepFeatures(timesteps), activation: .silu))
        let modulation = try timeProj(silu(temb)).reshape([b, 6, d])
        let rope = wanRotaryTables(headDim: c.attentionHeadDim, frames: pf, height: ph, width: pw)

        for (i, block) in blocks.enumerated() {
            try Engine.checkInterrupt()
            x = try block(x, modulation: modulation, text: text.keysValues[i], rope: rope)
        }
        let m = try (scaleShiftTable + temb.unsqueeze(1)).chunk(2, dim: 1)
        x = try layerNormModulated(x, scale: m[1], shift: m[0], eps: Float(c.eps))
        x = try projOut(x)
        // Unpatchify: [B, f, h, w, pt, ph, pw, C] -> [B, C, f·pt, h·ph, w·pw].
        return try x.reshape([b, pf, ph, pw, p[0], p[1], p[2], c.outChannels])
            .permute([0, 7, 1, 4, 2, 5, 3, 6]).reshape([b, c.outChannels, f, h, w])
    }

    /// Convenience: text embeddings in, velocity out (no caching of the text across calls).
    public func callAsFunction(_ hiddenStates: Tensor, timestep: Float, encoderHiddenStates: Tensor) throws -> Tensor {
        try self(hiddenStates, timesteps: [Float](repeating: timestep, count: hiddenStates.shape[0]),
                 text: conditionText(encoderHiddenStates))
    }
}
