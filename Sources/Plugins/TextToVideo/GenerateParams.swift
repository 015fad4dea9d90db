import Foundation
import ReelMedia
import ReelModels
import ReelPluginKit
import ReelProtocol

/// The sampling defaults a model directory may carry in reel.json
/// ({"defaults": {"steps", "width", "height", "num_frames", "fps", "guidance_scale",
/// "flow_shift", "negative_prompt"}}); absent keys fall back to Wan2.1's.
struct ModelDefaults {
    var width = 832, height = 480, frames = 81, fps = 16, steps = 50
    var guidance: Double = 5
    var flowShift: Double? = nil
    var negativePrompt = ""

    init(directory: String) {
        guard let text = try? String(contentsOfFile: directory + "/reel.json", encoding: .utf8), let json = try? JSON.parse(text),
              let d = json["defaults"] else { return }
        width = Int(d["width"]?.intValue ?? Int64(width))
        height = Int(d["height"]?.intValue ?? Int64(height))
        frames = Int(d["num_frames"]?.intValue ?? Int64(frames))
        fps = Int(d["fps"]?.intValue ?? Int64(fps))
        steps = Int(d["steps"]?.intValue ?? Int64(steps))
        guidance = d["guidance_scale"]?.doubleValue ?? guidance
        flowShift = d["flow_shift"]?.doubleValue
        negativePrompt = d["negative_prompt"]?.stringValue ?? negativePrompt
    }
}

/// `video.generate`'s parameters, validated, with the model's defaults filled in.
struct GenerateParams {
    var prompt: String
    var negativePrompt: String
    var width: Int, height: Int, frames: Int, fps: Int
    var steps: Int
    var guidance: Double
    var seed: UInt64
    var schedule: String
    var flowShift: Double
    var output: String
    /// The container of a video output; nil for a single frame written as PNG (the name ends in .png, any case).
    var video: MediaContainer?

    static let schema: JSON = [
        "type": "object",
        "properties": [
            "prompt": ["type": "string", "minLength": 1, "description": "What the video shows."],
            "negative_prompt": ["type": "string", "description": "What to steer away from (classifier-free guidance); default: the model's (\"\")."],
            "output": ["type": "string", "minLength": 1, "x-reel-access": "write",
                       "x-reel-extensions": .array((MediaContainer.videoFileExtensions + [".png"]).map { .string($0) }),
                       "description": "Absolute path of the file to write: .mp4 or .webm (video), .png (a single frame)."],
            "width": ["type": "integer", "minimum": 16, "maximum": 4096, "multipleOf": 16,
                      "description": "Pixels; a multiple of the VAE stride × patch (16 for Wan). Default: the model's."],
            "height": ["type": "integer", "minimum": 16, "maximum": 4096, "multipleOf": 16, "description": "As width."],
            "frames": ["type": "integer", "minimum": 1, "maximum": 100001,
                       "description": "4k+1 frames (1 = text-to-image). Default: the model's (17 for reel's default, 81 for Wan2.1)."],
            "duration": ["type": "number", "exclusiveMinimum": 0, "maximum": 3600,
                         "description": "Seconds instead of frames: duration × fps rounded to the nearest 4k+1."],
            "fps": ["type": "integer", "minimum": 1, "maximum": 240, "description": "Frames per second of the output (default 16)."],
            "steps": ["type": "integer", "minimum": 1, "maximum": 1000, "description": "Denoising steps (default: the model's)."],
            "guidance": ["type": "number", "minimum": 0, "maximum": 50,
                         "description": "Classifier-free guidance scale; ≤ 1 turns guidance off (one model call per step)."],
            "seed": ["type": "integer", "minimum": 0, "description": "Noise seed; the same seed and parameters give the same video. Default: random (reported)."],
            "schedule": ["type": "string", "enum": ["shifted", "linear-quadratic"],
                         "description": "shifted: Wan's flow_shift schedule (default); linear-quadratic: Movie Gen's."],
            "flow_shift": ["type": "number", "exclusiveMinimum": 0, "maximum": 100,
                           "description": "σ shift of the schedule (default: the model's scheduler, 3 for Wan2.1 480p; 1 for linear-quadratic)."],
        ],
        "required": ["prompt", "output"],
        "additionalProperties": false,
    ]

    init(_ p: JSON, defaults d: ModelDefaults, schedulerShift: Double) throws {
        guard let prompt = p["prompt"]?.stringValue, !prompt.isEmpty else { throw PluginError.invalidParams("prompt is required") }
        guard let output = p["output"]?.stringValue, output.hasPrefix("/") else {
            throw PluginError.invalidParams("output must be an absolute path")
        }
        self.prompt = prompt
        self.output = output
        if !output.lowercased().hasSuffix(".png") {
            guard let c = MediaContainer(path: output), c.carriesVideo else {
                throw PluginError.invalidParams("output \(output): use .mp4 or .webm for video, .png for one frame")
            }
            video = c
        }
        negativePrompt = p["negative_prompt"]?.stringValue ?? d.negativePrompt
        width = Int(p["width"]?.intValue ?? Int64(d.width))
        height = Int(p["height"]?.intValue ?? Int64(d.height))
        fps = Int(p["fps"]?.intValue ?? Int64(d.fps))
        if p["frames"] != nil && p["duration"] != nil { throw PluginError.invalidParams("give frames or duration, not both") }
        if let seconds = p["duration"]?.doubleValue {
            frames = GenerateParams.frames(duration: seconds, fps: fps)
        } else {
            frames = Int(p["frames"]?.intValue ?? Int64(d.frames))
        }
        steps = Int(p["steps"]?.intValue ?? Int64(d.steps))
        guidance = p["guidance"]?.doubleValue ?? d.guidance
        seed = p["seed"]?.intValue.map { UInt64($0) } ?? UInt64.random(in: 0...UInt64(Int64.max))
        schedule = p["schedule"]?.stringValue ?? "shifted"
        guard NoiseSchedule.names.contains(schedule) else { throw PluginError.invalidParams("schedule must be one of \(NoiseSchedule.names)") }
        flowShift = p["flow_shift"]?.doubleValue ?? (schedule == "shifted" ? (d.flowShift ?? schedulerShift) : 1)
        if isImage && frames != 1 {
            throw PluginError.invalidParams("a .png output holds one frame; set frames to 1 or write .mp4")
        }
    }

    var isImage: Bool { video == nil }
    var mediaType: String { video?.mediaType ?? "image/png" }

    /// duration × fps to the nearest 4k+1 frames (at least 1).
    static func frames(duration: Double, fps: Int) -> Int {
        let raw = duration * Double(fps)
        return Swift.max(0, Int(((raw - 1) / 4).rounded())) * 4 + 1
    }

    var noiseSchedule: NoiseSchedule {
        schedule == "linear-quadratic" ? .linearQuadratic(shift: flowShift) : .shifted(shift: flowShift)
    }

    /// Everything that determines the video, for the file's metadata and the job's result.
    var json: JSON {
        [
            "prompt": .string(prompt), "negative_prompt": .string(negativePrompt),
            "width": .int(Int64(width)), "height": .int(Int64(height)), "frames": .int(Int64(frames)),
            "fps": .int(Int64(fps)), "steps": .int(Int64(steps)), "guidance": .double(guidance),
            "seed": .int(Int64(bitPattern: seed)), "schedule": .string(schedule), "flow_shift": .double(flowShift),
        ]
    }
}
