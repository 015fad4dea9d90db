// reel generate: video.generate (the text-to-video stage) with names a user types,
// followed with the usual progress bar (phases encode_text, denoise, decode).
import ArgumentParser
import Foundation
import ReelProtocol

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a video (or, with --frames 1 and a .png output, an image) from a text prompt.",
        discussion: """
            Runs the stage video.generate on a Wan-family model: reel's default model (reel-t2v-default, 64×64, \
            17 frames at 16 fps) or a diffusers-layout Wan2.1 text-to-video directory. Unset options take the \
            model's defaults. The MP4 is labelled as AI-generated, with the model, prompt, seed and parameters \
            in its metadata; the same seed and parameters give the same video.
            Example: reel generate "a red ball bouncing on green grass" -o ball.mp4 --seed 7
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "What the video shows.") var prompt: String
    @Option(name: .shortAndLong, help: "The result: .mp4 or .webm, or .png for one frame (default: reel-<seed>.mp4 here).") var output: String?
    @Option(name: .customLong("negative"), help: "What to steer away from (classifier-free guidance).") var negativePrompt: String?
    @Option(help: "A model name or a WanPipeline directory.") var model = "reel-t2v-default"
    @Option(help: "Width in pixels (a multiple of 16).") var width: Int?
    @Option(help: "Height in pixels (a multiple of 16).") var height: Int?
    @Option(help: "Frames, 4k+1 (1: an image).") var frames: Int?
    @Option(help: "Seconds instead of --frames (rounded to 4k+1 frames at --fps).") var duration: Double?
    @Option(help: "Frames per second.") var fps: Int?
    @Option(help: "Denoising steps.") var steps: Int?
    @Option(help: "Guidance scale (≤ 1 turns classifier-free guidance off).") var guidance: Double?
    @Option(help: "Noise seed (default: random, printed in the result).") var seed: UInt64?
    @Option(help: "shifted (Wan's flow_shift schedule) or linear-quadratic (Movie Gen's).") var schedule: String?
    @Option(name: .customLong("flow-shift"), help: "σ shift of the schedule.") var flowShift: Double?
    @Option(name: .customLong("keep-alive"), help: "Keep the model this long after the job: 5m, 0, -1.") var keepAlive: String?
    @Flag(help: "Print the job id and return at once; the job goes on.") var detach = false

    func validate() throws {
        if frames != nil && duration != nil { throw ValidationError("give --frames or --duration, not both") }
        if let schedule, !["shifted", "linear-quadratic"].contains(schedule) {
            throw ValidationError("--schedule must be shifted or linear-quadratic")
        }
        // JSON has no NaN or infinity (the encoder would send null), and seeds travel as JSON integers (Int64).
        for (name, value) in [("--guidance", guidance), ("--flow-shift", flowShift), ("--duration", duration)] {
            if let value, !value.isFinite { throw ValidationError("\(name) must be a finite number, got \(value)") }
        }
        if let seed, seed > UInt64(Int64.max) { throw ValidationError("--seed must be 0…\(Int64.max), got \(seed)") }
    }

    func run() throws {
        try guarded {
            let cwd = FileManager.default.currentDirectoryPath
            func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : cwd + "/" + p }
            let seed = self.seed ?? UInt64.random(in: 0...UInt64(Int64.max))
            var p: JSONObject = ["prompt": .string(prompt), "output": .string(absolute(output ?? "reel-\(seed).mp4")),
                                 "seed": .int(Int64(seed))]
            if let negativePrompt { p["negative_prompt"] = .string(negativePrompt) }
            if let width { p["width"] = .int(Int64(width)) }
            if let height { p["height"] = .int(Int64(height)) }
            if let frames { p["frames"] = .int(Int64(frames)) }
            if let duration { p["duration"] = .double(duration) }
            if let fps { p["fps"] = .int(Int64(fps)) }
            if let steps { p["steps"] = .int(Int64(steps)) }
            if let guidance { p["guidance"] = .double(guidance) }
            if let schedule { p["schedule"] = .string(schedule) }
            if let flowShift { p["flow_shift"] = .double(flowShift) }
            try submitAndFollow(try global.connect(), method: "video.generate", params: p, model: absoluteIfPath(model),
                                keepAlive: keepAlive, detach: detach, json: global.json)
        }
    }
}
