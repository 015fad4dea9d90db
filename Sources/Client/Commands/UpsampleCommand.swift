// reel upsample: video.upsample with names a user types (model aliases, "x2"
// for a rate factor, a default output name), followed with the usual progress bar.
import ArgumentParser
import Foundation
import ReelProtocol

struct Upsample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upscale a video x2/x3/x4 (Real-ESRGAN) and raise its frame rate (RIFE); audio is kept.",
        discussion: """
            Runs the stage video.upsample. --fps takes a target rate (32, 29.97) or a factor (x2, x4); in-between \
            frames come from RIFE, which repeats the previous frame across scene cuts. x2 and x3 run the x4 network \
            and reduce its output with Lanczos. Models: animevideov3 (fast, for video and animation; default) or \
            x4plus (sharper on photographs, about 30 times the work per pixel), or any model name or directory.
            Example: reel upsample clip.mp4 -o clip-4k.mp4 --scale 4 --fps x2
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The video to upsample.") var input: String
    @Option(name: .shortAndLong, help: "The result, .mp4 or .webm (default: INPUT-x<scale>.mp4 beside the input).") var output: String?
    @Option(help: "Spatial factor: 2, 3 or 4.") var scale = 4
    @Option(help: "Target frame rate (e.g. 32) or a factor (x2, x4); default: keep the rate.") var fps: String?
    @Option(help: "animevideov3, x4plus, or a model name or directory.") var model = "animevideov3"
    @Option(help: "Tile side in input pixels (memory is bounded by the tile).") var tile: Int?
    @Option(help: "Context around each tile in input pixels.") var overlap: Int?
    @Option(help: "Encoder quality (CRF; lower is better and bigger).") var quality: Int?
    @Option(help: "x264 preset for .mp4 (ultrafast ... veryslow).") var preset: String?
    @Option(name: .customLong("keep-alive"), help: "Keep the model this long after the job: 5m, 0, -1.") var keepAlive: String?
    @Flag(help: "Print the job id and return at once; the job goes on.") var detach = false

    static let aliases = ["animevideov3": "realesr-animevideov3-x4", "x4plus": "realesrgan-x4plus"]

    func validate() throws {
        guard [2, 3, 4].contains(scale) else { throw ValidationError("--scale must be 2, 3 or 4") }
        if let fps { _ = try Self.rate(fps) }
    }

    /// "32" / "29.97" → a target rate; "x2" / "2x" / "×4" → a factor.
    static func rate(_ s: String) throws -> (key: String, value: JSON) {
        let t = s.lowercased().replacingOccurrences(of: "×", with: "x")
        if t.hasPrefix("x") || t.hasSuffix("x") {
            guard let k = Int(t.trimmingCharacters(in: CharacterSet(charactersIn: "x"))), [1, 2, 4].contains(k) else {
                throw ValidationError("--fps \(s): a factor is x2 or x4")
            }
            return ("fps_factor", .int(Int64(k)))
        }
        guard let f = Double(t), f > 0, f <= 240 else { throw ValidationError("--fps \(s): give a rate in (0, 240] or a factor x2/x4") }
        return ("fps", f.rounded() == f ? .int(Int64(f)) : .double(f))
    }

    func run() throws {
        try guarded {
            let cwd = FileManager.default.currentDirectoryPath
            func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : cwd + "/" + p }
            let inputPath = absolute(input)
            let outputPath = absolute(output ?? Self.defaultOutput(for: input, scale: scale))
            var p: JSONObject = ["input": .string(inputPath), "output": .string(outputPath), "scale": .int(Int64(scale))]
            if let fps { let r = try Self.rate(fps); p[r.key] = r.value }
            if let tile { p["tile"] = .int(Int64(tile)) }
            if let overlap { p["overlap"] = .int(Int64(overlap)) }
            if let quality { p["quality"] = .int(Int64(quality)) }
            if let preset { p["preset"] = .string(preset) }
            try submitAndFollow(try global.connect(), method: "video.upsample", params: p,
                                model: Self.aliases[model] ?? absoluteIfPath(model), keepAlive: keepAlive, detach: detach,
                                json: global.json)
        }
    }

    /// clip.mkv → clip-x4.mp4 beside it.
    static func defaultOutput(for input: String, scale: Int) -> String {
        let url = URL(fileURLWithPath: input)
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-x\(scale).mp4").path
    }
}
