// The params of video.upsample: the JSON Schema reeld validates against before
// queueing, and the checked request the job runs. Checks that need more than
// the schema (fps and fps_factor together, the output's container, input ==
// output) fail with invalidParams before anything is read or written.
import ReelMedia
import ReelModels
import ReelPluginKit
import ReelProtocol

struct UpsampleParams {
    static let method = "video.upsample"
    static let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]

    static let schema: JSON = [
        "type": "object",
        "properties": [
            "input": ["type": "string", "minLength": 1, "x-reel-access": "read", "x-reel-media": "video",
                      "description": "Absolute path of the video to upsample (any file FFmpeg decodes)."],
            "output": ["type": "string", "minLength": 1, "x-reel-access": "write",
                       "x-reel-extensions": .array(MediaContainer.videoFileExtensions.map { .string($0) }),
                       "description": "Absolute path of the result: .mp4 (H.264 + AAC) or .webm (VP9 + Opus)."],
            "scale": ["type": "integer", "enum": [2, 3, 4], "default": 4,
                      "description": "Spatial factor. x2 and x3 run the x4 network, then an antialiased Lanczos-3 downscale."],
            "fps": ["type": "number", "exclusiveMinimum": 0, "maximum": 240,
                    "description": "Target frame rate; frames in between come from RIFE. Omit to keep the rate."],
            "fps_factor": ["type": "integer", "enum": [1, 2, 4],
                           "description": "Multiply the frame rate (RIFE x2 or x4); the alternative to fps."],
            "tile": ["type": "integer", "minimum": 32, "maximum": 2048, "default": 192,
                     "description": "Tile side in input pixels: memory is bounded by the tile, not the frame."],
            "overlap": ["type": "integer", "minimum": 0, "maximum": 256,
                        "description": "Context around each tile in input pixels (default: 18 for animevideov3, exact; 32 for x4plus)."],
            "quality": ["type": "integer", "minimum": 0, "maximum": 63,
                        "description": "Encoder constant quality (CRF; lower is better and bigger). H.264: 0-51 (default 18), VP9: 0-63 (default 31)."],
            "preset": ["type": "string", "enum": .array(presets.map { .string($0) }), "default": "medium",
                       "description": "x264 preset for .mp4 output."],
            "lookahead": ["type": "integer", "minimum": 0, "maximum": 250,
                          "description": "x264 rc-lookahead for .mp4 output: frames buffered for frame types and rate control. Default: the preset's, capped for large outputs so that x264's buffered frames stay near 256 MiB (12 at 3840x2160)."],
            "scene_threshold": ["type": "number", "minimum": 0, "maximum": 1, "default": 0.2,
                                "description": "RIFE's scene-cut rule: below this SSIM of 32x32 thumbnails the previous frame is repeated instead of interpolated."],
        ],
        "required": ["input", "output"],
        "additionalProperties": false,
    ]

    /// How the frame rate changes.
    enum Timing: Equatable {
        case keep
        case factor(Int)
        case target(FrameRate)
    }

    let input: String
    let output: String
    let container: MediaContainer
    let scale: Int
    let timing: Timing
    let tiling: Tiling
    /// nil: the writer's default for the container (18 for H.264, 31 for VP9).
    let quality: Int?
    let preset: String
    /// x264 rc-lookahead asked for; nil: the preset's, capped for large frames (`encoderSettings`).
    let lookahead: Int?
    let sceneThreshold: Double

    /// What x264's lookahead may hold when the job does not say: the preset's lookahead is kept
    /// up to this many bytes of buffered frames (medium's 40 fit at 1920x1080), else cut to
    /// what fits, never below 10 (veryfast's). At 3840x2160 that is 12 frames instead of 40.
    static let lookaheadBudget = 256 << 20

    init(_ p: JSON, model: SpatialModel) throws {
        guard let input = p["input"]?.stringValue, let output = p["output"]?.stringValue else {
            throw PluginError.invalidParams("input and output are required")
        }
        self.input = input
        self.output = output
        guard let container = MediaContainer(path: output), container == .mp4 || container == .webm else {
            throw PluginError.invalidParams("output \(output): use a .mp4 (H.264) or .webm (VP9) file name")
        }
        self.container = container
        if Self.samePath(input, output) {
            throw PluginError.invalidParams("output \(output) is the input; write the result to another file")
        }
        scale = Int(p["scale"]?.intValue ?? 4)
        guard [2, 3, 4].contains(scale) else { throw PluginError.invalidParams("scale \(scale): use 2, 3 or 4") }

        let fps = p["fps"]?.doubleValue
        let factor = p["fps_factor"]?.intValue.map(Int.init)
        switch (fps, factor) {
        case (.some, .some):
            throw PluginError.invalidParams("give fps (a target rate) or fps_factor (a multiplier), not both")
        case (let f?, nil):
            guard f > 0, f <= 240 else { throw PluginError.invalidParams("fps \(f) is not in (0, 240]") }
            timing = .target(Self.frameRate(f))
        case (nil, let k?) where k > 1:
            timing = .factor(k)
        default:
            timing = .keep
        }
        let tile = Int(p["tile"]?.intValue ?? 192)
        let overlap = Int(p["overlap"]?.intValue ?? Int64(model.defaultOverlap))
        tiling = Tiling(tile: tile, overlap: overlap)
        quality = p["quality"]?.intValue.map(Int.init)
        if container == .mp4, let q = quality, q > 51 {
            throw PluginError.invalidParams("quality \(q): H.264 (.mp4) takes 0-51")
        }
        preset = p["preset"]?.stringValue ?? "medium"
        lookahead = p["lookahead"]?.intValue.map(Int.init)
        sceneThreshold = p["scene_threshold"]?.doubleValue ?? 0.2
    }

    /// The encoder's settings for an output of width × height: the job's quality and preset, and
    /// x264's lookahead bounded by `lookaheadBudget` unless the job names one.
    func encoderSettings(width: Int, height: Int) -> EncoderSettings {
        var settings = EncoderSettings(crf: quality, preset: preset)
        guard container == .mp4 else { return settings }
        if let lookahead {
            settings.lookahead = lookahead
        } else if let presetLookahead = EncoderSettings.x264PresetLookahead(preset) {
            let fits = Self.lookaheadBudget / EncoderSettings.x264LookaheadFrameBytes(width: width, height: height)
            let bounded = Swift.max(fits, Swift.min(10, presetLookahead))
            if bounded < presetLookahead { settings.lookahead = bounded }
        }
        return settings
    }

    /// A rate as a fraction: whole numbers exactly, NTSC rates as n*1000/1001, others to 1/1000.
    static func frameRate(_ fps: Double) -> FrameRate {
        if fps.rounded() == fps { return FrameRate(Int(fps)) }
        let ntsc = fps * 1001 / 1000
        if abs(ntsc - ntsc.rounded()) < 1e-6 { return FrameRate(Int(ntsc.rounded()) * 1000, 1001) }
        let n = Int((fps * 1000).rounded())
        let g = gcd(n, 1000)
        return FrameRate(n / g, 1000 / g)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    private static func samePath(_ a: String, _ b: String) -> Bool {
        guard let ra = realPath(a) else { return false }
        return ra == (realPath(b) ?? b)
    }

    /// Everything the label records about how the file was made.
    var labelParams: JSON {
        var o: JSONObject = ["scale": .int(Int64(scale)), "tile": .int(Int64(tiling.tile)),
                             "overlap": .int(Int64(tiling.overlap)),
                             "scene_threshold": .double(sceneThreshold)]
        switch timing {
        case .keep: break
        case .factor(let k): o["fps_factor"] = .int(Int64(k))
        case .target(let r): o["fps"] = .string(r.description)
        }
        if let quality { o["quality"] = .int(Int64(quality)) }
        if container == .mp4 { o["preset"] = .string(preset) }
        if let lookahead, container == .mp4 { o["lookahead"] = .int(Int64(lookahead)) }
        return .object(o)
    }
}
