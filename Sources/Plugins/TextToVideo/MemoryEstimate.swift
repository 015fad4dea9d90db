import Foundation
import ReelEngine
import ReelModels
import ReelPluginKit

/// What loading a WanPipeline directory and running its default generation
/// costs, before anything is loaded: fp32 weights (counted from the
/// safetensors headers, whatever their stored dtype) plus the activations.
struct MemoryEstimate {
    var transformerBytes = 0, vaeBytes = 0, textEncoderBytes = 0, activationBytes = 0
    var totalBytes: Int { transformerBytes + vaeBytes + textEncoderBytes + activationBytes }

    init(modelDirectory dir: String) throws {
        transformerBytes = MemoryEstimate.fp32Bytes(of: dir + "/transformer")
        vaeBytes = MemoryEstimate.fp32Bytes(of: dir + "/vae")
        textEncoderBytes = MemoryEstimate.fp32Bytes(of: dir + "/text_encoder")
        if textEncoderBytes == 0, let pointer = try? String(contentsOfFile: dir + "/text_encoder/reel_text_encoder.json", encoding: .utf8),
           let range = pointer.range(of: "\"store_dir\": \"") {
            // reel's default model: the text encoder lives in the model store.
            let name = pointer[range.upperBound...].prefix { $0 != "\"" }
            textEncoderBytes = MemoryEstimate.fp32Bytes(of: ModelStore.default.root.appendingPathComponent(String(name)).path)
        }
        // Above 4 GiB of fp32 (UMT5-XXL: 22.7 GB) the text encoder streams its blocks from the mapped
        // file instead of keeping fp32 copies (TextEncoderOptions.streamWeights): about one block resident.
        if textEncoderBytes > 4 << 30 { textEncoderBytes = 1 << 30 }
        let t = try WanTransformer3DModel.Configuration.load(dir + "/transformer/config.json")
        let v = try AutoencoderKLWan.Configuration.load(dir + "/vae/config.json")
        let d = ModelDefaults(directory: dir)
        activationBytes = WanTextToVideoPipeline.estimateBytes(transformer: t, vae: v, width: d.width, height: d.height,
                                                               frames: d.frames, textTokens: 512, guided: d.guidance > 1).activations
    }

    /// 4 bytes per element of every tensor in the directory's safetensors files.
    static func fp32Bytes(of directory: String) -> Int {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var total = 0
        for f in files where f.hasSuffix(".safetensors") {
            guard let st = try? SafetensorsFile(path: directory + "/" + f) else { continue }
            for name in st.names { total += 4 * ((try? st.info(name).shape.reduce(1, *)) ?? 0) }
        }
        return total
    }
}

/// A generation's working memory, checked before its first allocation: a size the machine cannot hold is an
/// invalid request with the figures, not an allocation failure that would end the daemon with every job in it.
enum WorkingMemory {
    static func check(pipeline: WanTextToVideoPipeline, request r: WanTextToVideoPipeline.Request) throws {
        let need = WanTextToVideoPipeline.estimateBytes(transformer: pipeline.transformer.config, vae: pipeline.vae.config,
                                                        width: r.width, height: r.height, frames: r.frames,
                                                        textTokens: 512, guided: r.guidance > 1).activations
        guard let available = Engine.availableBytes, need > available else { return }
        throw PluginError.invalidParams("a \(r.width)x\(r.height) video of \(r.frames) frames needs about \(gib(need)) of "
            + "working memory and \(gib(available)) is free: ask for fewer pixels or frames")
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / 0x1p30) }
}
