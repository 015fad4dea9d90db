import Foundation
import ReelEngine

/// diffusers' `scheduler/scheduler_config.json`: FlowMatchEulerDiscreteScheduler's `shift`, or the
/// `flow_shift` of the UniPCMultistepScheduler that the released Wan2.1 directories carry (reel samples
/// both with flow-matching Euler at that shift).
public struct FlowMatchSchedulerConfig: Codable, Sendable, Equatable {
    public var numTrainTimesteps = 1000
    public var shift: Double = 1
    public var useDynamicShifting = false

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", shift, flowShift = "flow_shift", useDynamicShifting = "use_dynamic_shifting"
    }

    public init() {}

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(numTrainTimesteps, forKey: .numTrainTimesteps)
        try c.encode(shift, forKey: .shift)
        try c.encode(useDynamicShifting, forKey: .useDynamicShifting)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numTrainTimesteps = try c.decodeIfPresent(Int.self, forKey: .numTrainTimesteps) ?? 1000
        shift = try c.decodeIfPresent(Double.self, forKey: .shift) ?? c.decodeIfPresent(Double.self, forKey: .flowShift) ?? 1
        useDynamicShifting = try c.decodeIfPresent(Bool.self, forKey: .useDynamicShifting) ?? false
    }
}

/// Text-to-video with Wan's components from a diffusers-layout directory
/// (model_index.json, transformer/, vae/, scheduler/): what diffusers'
/// WanPipeline does after the text encoder — seeded noise, flow-matching Euler
/// steps with classifier-free guidance, then the VAE decode streamed chunk by chunk.
public final class WanTextToVideoPipeline: @unchecked Sendable {
    public let directory: String
    public let transformer: WanTransformer3DModel
    public let vae: AutoencoderKLWan
    public let scheduler: FlowMatchSchedulerConfig

    public init(transformer: WanTransformer3DModel, vae: AutoencoderKLWan, scheduler: FlowMatchSchedulerConfig, directory: String = "") {
        self.transformer = transformer
        self.vae = vae
        self.scheduler = scheduler
        self.directory = directory
    }

    /// Loads transformer/, vae/ and scheduler/ of a diffusers WanPipeline directory.
    public convenience init(directory: String) throws {
        try WanTextToVideoPipeline.checkModelIndex(directory)
        let scheduler = try WanTextToVideoPipeline.schedulerConfig(directory)
        try self.init(transformer: WanTransformer3DModel(directory: directory + "/transformer"),
                      vae: AutoencoderKLWan(directory: directory + "/vae"),
                      scheduler: scheduler, directory: directory)
        guard transformer.config.inChannels == vae.config.zDim, transformer.config.outChannels == vae.config.zDim else {
            throw ModelError.unsupported("transformer channels \(transformer.config.inChannels) do not match the VAE's z_dim \(vae.config.zDim)")
        }
    }

    static func checkModelIndex(_ directory: String) throws {
        let path = directory + "/model_index.json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError.badInput("\(directory) is not a diffusers pipeline directory (no model_index.json)")
        }
        guard case .object(let index) = try JSONTree.load(path: path), case .string(let cls)? = index["_class_name"] else {
            throw ModelError.badInput("\(path): no _class_name")
        }
        guard cls == "WanPipeline" else { throw ModelError.unsupported("\(path): pipeline \(cls), expected WanPipeline") }
    }

    public static func schedulerConfig(_ directory: String) throws -> FlowMatchSchedulerConfig {
        let path = directory + "/scheduler/scheduler_config.json"
        guard FileManager.default.fileExists(atPath: path) else { return FlowMatchSchedulerConfig() }
        let config = try JSONTree.load(path: path).decode(FlowMatchSchedulerConfig.self)
        guard !config.useDynamicShifting else { throw ModelError.unsupported("\(path): use_dynamic_shifting") }
        return config
    }

    /// One generation's settings.
    public struct Request: Sendable {
        public var width: Int
        public var height: Int
        public var frames: Int
        public var steps: Int
        public var guidance: Float
        public var seed: UInt64
        public var schedule: NoiseSchedule

        public init(width: Int, height: Int, frames: Int, steps: Int, guidance: Float, seed: UInt64, schedule: NoiseSchedule) {
            self.width = width; self.height = height; self.frames = frames
            self.steps = steps; self.guidance = guidance; self.seed = seed; self.schedule = schedule
        }
    }

    /// Pixels per latent cell times the patch: the granularity of width and height.
    public var sizeMultiple: Int { vae.spatialCompression * Swift.max(transformer.config.patchSize[1], transformer.config.patchSize[2]) }

    /// Latent shape [1, z, T, h, w] for a request, or a clear error.
    public func latentShape(_ r: Request) throws -> [Int] {
        let m = sizeMultiple, tc = vae.temporalCompression
        guard r.width > 0, r.height > 0, r.width % m == 0, r.height % m == 0 else {
            throw ModelError.badInput("width and height must be positive multiples of \(m), got \(r.width)×\(r.height)")
        }
        guard r.frames >= 1, (r.frames - 1) % tc == 0 else {
            throw ModelError.badInput("frames must be \(tc)k+1 (1, \(tc + 1), \(2 * tc + 1), …), got \(r.frames)")
        }
        guard r.steps >= 1, r.steps <= 1000 else { throw ModelError.badInput("steps must be 1…1000, got \(r.steps)") }
        let lt = vae.latentFrames(r.frames)
        guard lt % transformer.config.patchSize[0] == 0 else {
            throw ModelError.badInput("\(lt) latent frames do not fit the temporal patch \(transformer.config.patchSize[0])")
        }
        return [1, vae.config.zDim, lt, r.height / vae.spatialCompression, r.width / vae.spatialCompression]
    }

    /// The seed's starting noise: the engine's Philox normal stream, identical on every machine and thread count.
    public func noise(_ r: Request) throws -> Tensor { randn(try latentShape(r), seed: r.seed) }

    /// Denoises from `noise` to clean latents (normalised, as the sampler sees them).
    /// `promptEmbeds`/`negativeEmbeds` are [1, tokens, text_dim]; without a
    /// negative, the empty-text embedding must be given by the caller if guidance > 1.
    public func denoise(noise: Tensor, promptEmbeds: Tensor, negativeEmbeds: Tensor?, request r: Request,
                        afterStep: (Int) throws -> Void = { _ in }) throws -> Tensor {
        let guided = r.guidance > 1
        guard !guided || negativeEmbeds != nil else {
            throw ModelError.badInput("guidance \(r.guidance) needs negative (unconditional) text embeddings")
        }
        let text: Tensor
        if guided, let neg = negativeEmbeds {
            let len = Swift.max(promptEmbeds.shape[1], neg.shape[1])
            text = try concatenate([padTokens(promptEmbeds, len), padTokens(neg, len)], dim: 0)
        } else {
            text = promptEmbeds
        }
        let conditioning = try transformer.conditionText(text)
        let sampler = FlowMatchEulerSampler(schedule: r.schedule, steps: r.steps, trainTimesteps: scheduler.numTrainTimesteps)
        return try sampler.sample(noise, guidance: r.guidance, velocity: { x, t in
            try self.transformer(x, timesteps: [Float](repeating: t, count: x.shape[0]), text: conditioning)
        }, afterStep: afterStep)
    }

    /// Zero rows up to `length` tokens (as the pipeline pads the encoder's output).
    func padTokens(_ e: Tensor, _ length: Int) throws -> Tensor {
        if e.shape[1] == length { return e }
        return try concatenate([e, Tensor(zeros: [e.shape[0], length - e.shape[1], e.shape[2]])], dim: 1)
    }

    /// Decodes sampler latents to video chunks in [-1, 1] ([1, 3, t, H, W] each).
    public func decode(_ latents: Tensor, onFrames: (Tensor) throws -> Void) throws {
        try vae.decode(vae.denormalize(latents), onFrames: onFrames)
    }

    // MARK: memory

    /// Bytes a generation needs: fp32 weights of the transformer and the VAE
    /// decoder, plus the larger of the denoising and decoding activations.
    public static func estimateBytes(transformer t: WanTransformer3DModel.Configuration, vae v: AutoencoderKLWan.Configuration,
                                     width: Int, height: Int, frames: Int, textTokens: Int, guided: Bool) -> (weights: Int, activations: Int) {
        let weights = 4 * (t.parameterCount + v.decoderParameterCount)
        let s = 1 << (v.dimMult.count - 1), tc = 1 << v.temperalDownsample.filter { $0 }.count
        let lt = (frames - 1) / tc + 1
        let tokens = lt / t.patchSize[0] * (height / s / t.patchSize[1]) * (width / s / t.patchSize[2])
        let batch = guided ? 2 : 1, d = t.innerDim
        // Live at once in a block: x, the norm, q/k/v (3), the attention output, the FFN hidden, rope tables;
        // attention itself is blocked (no L×L score matrix).
        let denoise = 4 * batch * (tokens * (8 * d + t.ffnDim) + 2 * textTokens * d * t.numLayers)
        // Decoding one chunk: up to 4 frames at full size with the widest full-size layer, a few tensors live,
        // plus the caches (2 frames per conv).
        let base = v.decoderBaseDim ?? v.baseDim
        let fullWidth = base * (v.dimMult.first ?? 1)
        let decode = 4 * (6 * 4 * fullWidth * width * height + 2 * 2 * base * v.dimMult.max()! * width * height)
        return (weights, Swift.max(denoise, decode))
    }
}
