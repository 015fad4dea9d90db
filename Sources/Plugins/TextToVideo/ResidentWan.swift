import Foundation
import ReelEngine
import ReelModels
import ReelPluginKit

/// A loaded WanPipeline directory: transformer, VAE, scheduler settings and
/// text encoder, kept resident between jobs (the daemon decides when to unload).
final class ResidentWan: ReelModel {
    let directory: String
    let name: String
    let pipeline: WanTextToVideoPipeline
    let textEncoder: any TextEncoder
    let defaults: ModelDefaults
    let residentBytes: UInt64
    /// The negative prompt's embedding, kept since most jobs use the default one.
    var negativeCache: (prompt: String, embedding: Tensor)? = nil

    init(directory: String, host: PluginHost) throws {
        let before = Engine.liveBytes
        self.directory = directory
        name = URL(fileURLWithPath: directory).lastPathComponent
        host.progress("load", step: 0, total: 3)
        textEncoder = try loadTextEncoder(modelDirectory: directory)
        host.progress("load", step: 1, total: 3)
        pipeline = try WanTextToVideoPipeline(directory: directory)
        host.progress("load", step: 3, total: 3)
        guard textEncoder.dim == pipeline.transformer.config.textDim else {
            throw PluginError.badModel("\(directory): the text encoder gives \(textEncoder.dim)-wide states, the transformer expects text_dim \(pipeline.transformer.config.textDim)")
        }
        defaults = ModelDefaults(directory: directory)
        residentBytes = UInt64(Swift.max(0, Engine.liveBytes - before))
        host.log(.info, "loaded \(name): transformer \(pipeline.transformer.config.parameterCount) parameters, text encoder \(textEncoder.name), \(residentBytes >> 20) MiB resident")
        // The transformer is GEMM-bound: say so when the environment holds OpenBLAS back.
        if let warning = Engine.blasCoreWarning { host.log(.warning, warning) }
    }

    func unload() {}

    func negativeEmbedding(_ prompt: String) throws -> Tensor {
        if let c = negativeCache, c.prompt == prompt { return c.embedding }
        let e = try textEncoder.encode([prompt])
        negativeCache = (prompt, e)
        return e
    }
}
