// The upsample plugin: one stage, `video.upsample`, that makes a video sharper
// (Real-ESRGAN ×2/×3/×4) and optionally smoother (RIFE ×2/×4 or to a target
// frame rate), streaming frames from the input file to the output file.
//
// The daemon hands a job one model: the spatial one (realesrgan-srvgg or
// realesrgan-rrdb), named by the job's `model`. RIFE, when a job changes the
// frame rate, is attached to that loaded model (ResidentModels.swift), so it
// stays resident exactly as long as the spatial model does and its bytes are
// counted in the handle's resident_bytes.
import ReelModels
import ReelPluginKit
import ReelProtocol

@_cdecl("reel_plugin_entry")
public func reelPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    PluginExport.descriptor(for: UpsamplePlugin(), hostABI: hostABI)
}

final class UpsamplePlugin: ReelPlugin {
    static let pluginName = "upsample"
    static let pluginVersion = "0.1.0"

    let name = UpsamplePlugin.pluginName
    let version = UpsamplePlugin.pluginVersion
    let description = "Real-ESRGAN spatial upscaling (x2/x3/x4) and RIFE frame interpolation for videos."
    let modelKinds = [SRVGGNetCompact.kind, RRDBNet.kind, RIFE.kind]

    let stages = [
        PluginStage(method: UpsampleParams.method,
                    summary: "Upscale a video x2/x3/x4 with Real-ESRGAN and raise its frame rate with RIFE; audio is kept.",
                    paramsSchema: UpsampleParams.schema,
                    modelKinds: [SRVGGNetCompact.kind, RRDBNet.kind]),
    ]

    func estimate(modelDirectory: String, kind: String) throws -> UInt64 {
        try ModelFootprint.estimate(directory: modelDirectory, kind: kind)
    }

    func load(modelDirectory: String, kind: String, options: JSON, host: PluginHost) throws -> ReelModel {
        try ResidentModels.load(directory: modelDirectory, kind: kind, host: host)
    }

    func run(method: String, model: ReelModel?, params: JSON, host: PluginHost) throws -> JSON {
        guard method == UpsampleParams.method else { throw PluginError.failed("the upsample plugin has no stage \(method)") }
        guard let spatial = model as? SpatialModel else {
            throw PluginError.badModel("\(method) runs on a Real-ESRGAN model (\(SRVGGNetCompact.kind) or \(RRDBNet.kind)), not a \(RIFE.kind)")
        }
        let request = try UpsampleParams(params, model: spatial)
        return try UpsampleJob(request: request, model: spatial, host: host).run()
    }
}
