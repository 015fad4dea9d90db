// The text-to-video stage: `video.generate` on Wan-family models in diffusers'
// layout (model_index.json with _class_name WanPipeline): reel's default model
// and the real Wan2.1 text-to-video weights run through the same code.
import Foundation
import ReelEngine
import ReelModels
import ReelPluginKit
import ReelProtocol

@_cdecl("reel_plugin_entry")
public func reelPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    PluginExport.descriptor(for: TextToVideoPlugin(), hostABI: hostABI)
}

final class TextToVideoPlugin: ReelPlugin {
    static let pluginName = "text-to-video"
    static let pluginVersion = "0.1.0"
    let name = TextToVideoPlugin.pluginName
    let version = TextToVideoPlugin.pluginVersion
    let description = "Text-to-video with Wan-family diffusion transformers (flow matching, classifier-free guidance)."
    let modelKinds = ["WanPipeline"]

    let stages = [
        PluginStage(method: "video.generate",
                    summary: "Generate a video (or a single image) from a text prompt; writes an MP4 labelled as AI-generated.",
                    paramsSchema: GenerateParams.schema, modelKinds: ["WanPipeline"]),
    ]

    /// Weights (fp32 in memory) + text encoder + the activations of the model's default generation.
    func estimate(modelDirectory: String, kind: String) throws -> UInt64 {
        UInt64(try MemoryEstimate(modelDirectory: modelDirectory).totalBytes)
    }

    func load(modelDirectory: String, kind: String, options: JSON, host: PluginHost) throws -> ReelModel {
        do {
            return try ResidentWan(directory: modelDirectory, host: host)
        } catch let e as PluginError {
            throw e
        } catch {
            throw PluginError.badModel("\(modelDirectory): \(error)")
        }
    }

    func run(method: String, model: ReelModel?, params: JSON, host: PluginHost) throws -> JSON {
        guard method == "video.generate" else { throw PluginError.invalidParams("unknown method \(method)") }
        guard let model = model as? ResidentWan else { throw PluginError.badModel("video.generate needs a WanPipeline model") }
        let request = try GenerateParams(params, defaults: model.defaults, schedulerShift: model.pipeline.scheduler.shift)
        return try Generation(model: model, params: request, host: host).run()
    }
}
