// reel-bench t2v: the text-to-video core (denoising steps with classifier-free guidance, then the VAE decode)
// of a diffusers-layout Wan model on reel's engine, beside diffusers' WanPipeline (torch CPU, fp32;
// tools/bench/diffusers_t2v.py) on the same model, settings, latent and text-embedding shapes and thread
// count, in the same run. Text encoding is outside both timings (`reel generate` reports it separately).
import ArgumentParser
import Foundation
import Glibc
import ReelEngine
import ReelModels
import ReelProtocol

struct T2VBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2v",
        abstract: "Seconds per denoising step and per generation (steps + decode) of a Wan model, beside diffusers.")

    @Option(help: "A diffusers-layout WanPipeline directory.") var model = "models/reel-t2v-default"
    @Option(help: "Frame width (default: the model's reel.json, else 64).") var width: Int?
    @Option(help: "Frame height.") var height: Int?
    @Option(help: "Frames (4k+1).") var frames: Int?
    @Option(help: "Denoising steps.") var steps = 10
    @Option(help: "Guidance scale (> 1: two model calls per step, batched).") var guidance: Float = 5
    @Option(help: "Text tokens per prompt (48 for the default model's MiniLM, 512 for Wan2.1's UMT5).") var textTokens = 48
    @Option(help: "Threads, both sides (default: the cores this process may use).") var threads: Int?
    @Option(help: "Runs per side; the fastest counts.") var repeats = 2
    @Option(help: "Python with torch and diffusers for the reference side.") var python = "python3"
    @Option(help: "The reference script.") var script = "tools/bench/diffusers_t2v.py"
    @Flag(help: "Skip the diffusers side.") var noReference = false
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        let n = threads ?? Engine.cores
        Engine.setThreads(n)
        let defaults = (try? String(contentsOfFile: model + "/reel.json", encoding: .utf8)).flatMap { try? JSON.parse($0) }?["defaults"]
        func setting(_ key: String, _ fallback: Int) -> Int { defaults?[key]?.intValue.map { Int($0) } ?? fallback }
        let w = width ?? setting("width", 64), h = height ?? setting("height", 64)
        let f = frames ?? setting("num_frames", 17)

        let loadStart = BenchClock.wall()
        let pipeline = try WanTextToVideoPipeline(directory: model)
        let loadSeconds = BenchClock.wall() - loadStart
        let textDim = pipeline.transformer.config.textDim
        let request = WanTextToVideoPipeline.Request(width: w, height: h, frames: f, steps: steps, guidance: guidance,
                                                     seed: 0, schedule: .shifted(shift: pipeline.scheduler.shift))
        let prompt = randn([1, textTokens, textDim], seed: 1), negative = Tensor(zeros: [1, textTokens, textDim])

        var best: (total: Double, steps: [Double], decode: Double)? = nil
        Engine.resetPeakBytes()
        for _ in 0..<repeats {
            let start = BenchClock.wall()
            var marks: [Double] = []
            let latents = try pipeline.denoise(noise: pipeline.noise(request), promptEmbeds: prompt, negativeEmbeds: negative,
                                               request: request) { _ in marks.append(BenchClock.wall()) }
            var frameCount = 0
            try pipeline.decode(latents) { frameCount += $0.shape[2] }
            let end = BenchClock.wall()
            precondition(frameCount == f)
            let stepTimes = zip([start] + marks.dropLast(), marks).map { $1 - $0 }
            if best == nil || end - start < best!.total { best = (end - start, stepTimes, end - marks.last!) }
        }
        let ours = best!
        let oursStep = benchMedian(ours.steps)
        let peak = Engine.peakBytes, rss = peakRSS()

        var ref: JSON? = nil
        if !noReference {
            guard let r = referenceJSON(python: python, script: script,
                                        ["--model", model, "--threads", "\(n)", "--width", "\(w)", "--height", "\(h)",
                                         "--frames", "\(f)", "--steps", "\(steps)", "--guidance", "\(guidance)",
                                         "--text-tokens", "\(textTokens)", "--repeats", "\(repeats)"], threads: n, quiet: true) else {
                throw ValidationError("the diffusers reference (\(script)) failed; run it by hand to see why, or pass --no-reference")
            }
            ref = r
        }
        let refStep = ref?["step_seconds"]?.doubleValue, refTotal = ref?["total_seconds"]?.doubleValue
        let refDecode = ref?["decode_seconds"]?.doubleValue
        if json {
            var out: JSONObject = [
                "model": .string(model), "threads": JSON(n), "width": JSON(w), "height": JSON(h), "frames": JSON(f),
                "steps": JSON(steps), "guidance": .double(Double(guidance)), "text_tokens": JSON(textTokens),
                "load_seconds": .double(loadSeconds),
                "reel": ["step_seconds": .double(oursStep), "decode_seconds": .double(ours.decode),
                         "total_seconds": .double(ours.total), "peak_engine_bytes": JSON(peak), "peak_rss_bytes": JSON(rss)],
            ]
            if let ref { out["diffusers"] = ref }
            if let refStep, let refTotal {
                out["speedup_step"] = .double(refStep / oursStep)
                out["speedup_total"] = .double(refTotal / ours.total)
            }
            print(JSON.object(out).serialized())
            return
        }
        print("reel-bench t2v: \(model), \(w)×\(h), \(f) frames, \(steps) steps, guidance \(guidance), \(textTokens) text tokens, \(n) threads")
        print("loaded in \(fmt(loadSeconds)) s; peak engine memory \(peak >> 20) MiB, peak RSS \(rss >> 20) MiB")
        print("")
        print("                      reel      diffusers   speed-up")
        func row(_ name: String, _ a: Double, _ b: Double?) {
            let r = b.map { fmt($0) } ?? "-", s = b.map { String(format: "%.2f×", $0 / a) } ?? "-"
            print(name.padding(toLength: 18, withPad: " ", startingAt: 0) + lpad(fmt(a), 8) + lpad(r, 14) + lpad(s, 11))
        }
        row("s / step", oursStep, refStep)
        row("s decode", ours.decode, refDecode)
        row("s generation", ours.total, refTotal)
        if let rssRef = ref?["peak_rss_bytes"]?.intValue { print("diffusers peak RSS \(rssRef >> 20) MiB") }
    }
}

private func peakRSS() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Int(u.ru_maxrss) * 1024
}

private func fmt(_ v: Double) -> String { String(format: "%.3f", v) }
private func lpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: Swift.max(0, n - s.count)) + s }
