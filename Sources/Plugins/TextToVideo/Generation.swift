import Foundation
import ReelEngine
import ReelMedia
import ReelModels
import ReelPluginKit
import ReelProtocol

/// One `video.generate` job: text → embeddings → seeded noise → denoising steps
/// (progress "denoise"; cancellation reaches inside a step through `CancelWatch`) → VAE decode streamed into
/// the writer chunk by chunk (progress "decode") → a labelled MP4 (or PNG).
struct Generation {
    let model: ResidentWan
    let params: GenerateParams
    let host: PluginHost

    func run() throws -> JSON {
        defer { Engine.releaseCachedMemory() } // an idle daemon holds only its models
        let p = params, pipeline = model.pipeline
        let request = WanTextToVideoPipeline.Request(width: p.width, height: p.height, frames: p.frames, steps: p.steps,
                                                     guidance: Float(p.guidance), seed: p.seed, schedule: p.noiseSchedule)
        do { _ = try pipeline.latentShape(request) } catch { throw PluginError.invalidParams("\(error)") }
        try WorkingMemory.check(pipeline: pipeline, request: request)
        let noise = try pipeline.noise(request)
        try host.declareOutput(p.output, mediaType: p.mediaType)
        let started = Date()
        Engine.resetPeakBytes()

        host.progress("encode_text", step: 0, total: 1)
        let prompt = try model.textEncoder.encode([p.prompt])
        let negative = request.guidance > 1 ? try model.negativeEmbedding(p.negativePrompt) : nil
        host.progress("encode_text", step: 1, total: 1)
        try host.checkCancelled()

        host.progress("denoise", step: 0, total: p.steps)
        let denoiseStart = Date()
        let latents = try CancelWatch.run(host) {
            try pipeline.denoise(noise: noise, promptEmbeds: prompt, negativeEmbeds: negative, request: request) { i in
                host.progress("denoise", step: i + 1, total: p.steps)
                try host.checkCancelled()
            }
        }
        let denoiseSeconds = Date().timeIntervalSince(denoiseStart)

        let label = GenerationLabel(model: model.name, plugin: TextToVideoPlugin.pluginName,
                                    pluginVersion: TextToVideoPlugin.pluginVersion, prompt: p.prompt, seed: p.seed)
        let metadata = ["reel_parameters": p.json.serialized()]
        let chunks = latents.shape[2]
        host.progress("decode", step: 0, total: chunks)
        let decodeStart = Date()
        var written = 0
        if p.isImage {
            var frame: VideoFrame? = nil
            try pipeline.decode(latents) { chunk in frame = try Generation.frames(chunk, fps: p.fps, first: 0).first }
            try writePNG(frame!, to: p.output, label: label, metadata: metadata)
            written = 1
            host.progress("decode", step: chunks, total: chunks)
        } else {
            let writer = try MediaWriter(path: p.output, video: VideoFormat(width: p.width, height: p.height, frameRate: FrameRate(p.fps)),
                                         label: label, metadata: metadata)
            do {
                var chunk = 0
                try pipeline.decode(latents) { video in
                    for frame in try Generation.frames(video, fps: p.fps, first: written) { try writer.append(frame: frame) }
                    written += video.shape[2]
                    chunk += 1
                    host.progress("decode", step: chunk, total: chunks)
                    try host.checkCancelled()
                }
                try writer.finish()
            } catch {
                writer.cancel()
                throw error
            }
        }
        let seconds = Date().timeIntervalSince(started)
        host.log(.info, "wrote \(p.output): \(written) frames \(p.width)×\(p.height) in \(String(format: "%.2f", seconds)) s")
        var result = p.json.objectValue!
        result["output"] = .string(p.output)
        result["model"] = .string(model.name)
        result["frames"] = .int(Int64(written))
        result["seconds"] = .double(seconds)
        result["denoise_seconds"] = .double(denoiseSeconds)
        result["decode_seconds"] = .double(Date().timeIntervalSince(decodeStart))
        result["peak_activation_bytes"] = .int(Int64(Engine.peakBytes))
        return .object(result)
    }

    /// Decoded video [1, 3, t, H, W] in [-1, 1] to frames in [0, 1] (diffusers' postprocess: x/2 + 0.5, clamped).
    static func frames(_ video: Tensor, fps: Int, first: Int) throws -> [VideoFrame] {
        let (t, h, w) = (video.shape[2], video.shape[3], video.shape[4])
        let v = video.contiguous(), plane = h * w
        return (0..<t).map { f in
            var pixels = [Float](repeating: 0, count: 3 * plane)
            for c in 0..<3 {
                let src = v.data + (c * t + f) * plane
                for i in 0..<plane { pixels[c * plane + i] = Swift.min(Swift.max(src[i] * 0.5 + 0.5, 0), 1) }
            }
            return VideoFrame(width: w, height: h, pixels: pixels, time: Double(first + f) / Double(fps))
        }
    }
}
