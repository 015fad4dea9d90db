// reel-bench upsample: seconds per frame of the upsample networks on the
// engine, each beside its reference (tools/bench/upsample_reference.py: ncnn
// on the CPU for Real-ESRGAN, RIFE's own code on torch) on the same photograph,
// the same size and the same threads, in the same run; and the peak memory of
// a real 1080p → 4K job through reeld and the upsample plugin, beside x264
// alone on the same output size.
import ArgumentParser
import Foundation
import Glibc
import ReelEngine
import ReelMedia
import ReelModels
import ReelProtocol

struct UpsampleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upsample",
        abstract: "Real-ESRGAN (animevideov3, x4plus) beside ncnn, RIFE beside torch, and a 1080p -> 4K job's peak memory.")

    @Option(help: "Threads for both sides.") var threads = 2
    @Option(help: "Comma-separated cases: animevideov3, x4plus, rife, memory; empty = all.") var cases = ""
    @Option(help: "Input size of animevideov3 and RIFE, WxH.") var size = "480x270"
    @Option(help: "Input size of x4plus, WxH (it is ~30x the work of animevideov3 per pixel).") var x4plusSize = "480x270"
    @Option(help: "Timed calls per case after one warm-up (the median counts).") var frames = 2
    @Option(help: "Frames of the memory job (x264's lookahead fills after its lookahead + ~10 frames).") var memoryFrames = 2
    @Option(help: "Input size of the memory job, WxH.") var memoryInput = "1920x1080"
    @Option(help: "Scale of the memory job (2 makes 1080p 4K; 4 from 960x540 gives 4K at a quarter of the network's work).")
    var memoryScale = 2
    @Option(help: "The memory job's x264 lookahead (its `lookahead` param); default: the plugin's rule.") var memoryLookahead: Int?
    @Option(help: "Python with ncnn and torch for the references; n/a when they cannot run.") var python = "python3"
    @Option(help: "The reference script.") var referenceScript = "tools/bench/upsample_reference.py"
    @Option(help: "The reeld executable (default: beside reel-bench).") var reeld: String?
    @Option(help: "The upsample plugin (default: libReelUpsample.so beside reel-bench).") var plugin: String?
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        Engine.setThreads(threads)
        let wanted = Set(cases.split(separator: ",").map(String.init))
        func want(_ c: String) -> Bool { wanted.isEmpty || wanted.contains(c) }
        let load0 = benchLoadAverage()
        var rows: [JSON] = []
        let store = ModelStore.default

        for (name, model, sizeText) in [("animevideov3", "realesr-animevideov3-x4", size), ("x4plus", "realesrgan-x4plus", x4plusSize)] where want(name) {
            let (w, h) = try upsampleBenchSize(sizeText)
            say("reel  \(name) \(w)x\(h)…")
            let entry = try store.open(model)
            let net: SpatialUpscaler = name == "x4plus" ? try RRDBNet(entry: entry) : try SRVGGNetCompact(entry: entry)
            let x = try upsampleBenchPhoto(w, h)
            let ours = try benchRuns(frames) { _ = try net(x) }
            say("ncnn  \(name) \(w)x\(h)…")
            let ref = upsampleBenchReference(python: python, script: referenceScript, net: name, w: w, h: h,
                                             threads: threads, frames: frames)
            rows.append(row(name, "\(w)x\(h) -> \(4 * w)x\(4 * h)", ours, ref))
        }
        if want("rife") {
            let (w, h) = try upsampleBenchSize(size)
            say("reel  rife \(w)x\(h)…")
            let rife = try RIFE(entry: store.open("rife-hdv3"))
            let a = try upsampleBenchPhoto(w, h)
            // The reference's second frame: the same photograph shifted 4 pixels right (torch.roll).
            let b = try concatenate([a.slice(3, w - 4, w), a.slice(3, 0, w - 4)], dim: 3).contiguous()
            let ours = try benchRuns(frames) { _ = try rife.middleFrame(a, b) }
            say("torch rife \(w)x\(h)…")
            let ref = upsampleBenchReference(python: python, script: referenceScript, net: "rife", w: w, h: h,
                                             threads: threads, frames: frames)
            rows.append(row("rife", "\(w)x\(h) middle frame", ours, ref))
        }
        var memory: JSON = .null
        if want("memory") {
            say("reeld \(memoryInput) x\(memoryScale) job, \(memoryFrames) frames…")
            memory = try upsampleBenchMemory()
        }
        let load1 = benchLoadAverage()

        if json {
            print(JSON.object(["threads": .int(Int64(threads)), "load_before": .string(load0), "load_after": .string(load1),
                               "cases": .array(rows), "job_1080p_to_4k": memory]).serialized())
            return
        }
        print("reel-bench upsample: \(threads) threads, fp32; load average \(load0) before, \(load1) after")
        let header = ["case", "shape", "reel s/frame", "reference", "ref s/frame", "reel/ref"]
        let cells = rows.map { r -> [String] in
            let ours = r["reel_seconds_per_frame"]?.doubleValue ?? 0
            let theirs = r["reference_seconds_per_frame"]?.doubleValue
            return [r["case"]?.stringValue ?? "", r["shape"]?.stringValue ?? "", String(format: "%.3f", ours),
                    r["reference"]?.stringValue ?? "n/a", theirs.map { String(format: "%.3f", $0) } ?? "n/a",
                    theirs.map { String(format: "%.2fx", ours / $0) } ?? "n/a"]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
        func line(_ c: [String]) -> String {
            c.enumerated().map { i, s in s.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        print(line(header))
        for c in cells { print(line(c)) }
        if case .object = memory {
            let job = "\(memory["input"]?.stringValue ?? "") -> \(memory["output"]?.stringValue ?? "")"
            print(String(format: "%@ job (animevideov3 x%d, %d frames, tile 192, x264 medium lookahead %d): reeld peak RSS %.0f MiB (idle %.0f MiB), %.1f s/frame",
                         job, memoryScale, memory["frames"]?.intValue ?? 0, memory["lookahead"]?.intValue ?? -1,
                         memory["peak_rss_mib"]?.doubleValue ?? 0, memory["idle_rss_mib"]?.doubleValue ?? 0,
                         memory["seconds_per_frame"]?.doubleValue ?? 0))
            for e in memory["x264_alone"]?.arrayValue ?? [] {
                print(String(format: "x264 alone at %@ (ffmpeg CLI, %d frames, %@): peak RSS %.0f MiB",
                             memory["output"]?.stringValue ?? "", e["frames"]?.intValue ?? 0, e["what"]?.stringValue ?? "",
                             e["peak_rss_mib"]?.doubleValue ?? 0))
            }
        }
    }

    private func say(_ s: String) { if !json { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) } }

    private func row(_ name: String, _ shape: String, _ ours: [Double], _ ref: JSON?) -> JSON {
        var o: JSONObject = ["case": .string(name), "shape": .string(shape),
                             "reel_seconds_per_frame": .double(benchMedian(ours)),
                             "reel_runs": .array(ours.map { .double($0) })]
        if let ref {
            o["reference"] = ref["reference"] ?? .null
            o["reference_seconds_per_frame"] = ref["seconds_per_frame"] ?? .null
            o["reference_runs"] = ref["runs"] ?? .null
            o["reference_peak_rss_mib"] = ref["peak_rss_mib"] ?? .null
        }
        return .object(o)
    }

    /// A real job through reeld: a clip of the photograph panned over (1920x1080 by default), with
    /// animevideov3 at the default tile to `memoryScale` (x2: 3840x2160); the daemon's peak resident set
    /// (VmHWM) is the job's memory, weights and encoder included.
    private func upsampleBenchMemory() throws -> JSON {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let exe = reeld ?? dir + "/reeld", lib = plugin ?? dir + "/libReelUpsample.so"
        guard FileManager.default.isExecutableFile(atPath: exe), FileManager.default.fileExists(atPath: lib) else {
            throw ValidationError("reeld or libReelUpsample.so not found beside reel-bench; pass --reeld and --plugin")
        }
        var t = Array("/tmp/reel-bench-up-XXXXXX".utf8CString)
        guard let p = mkdtemp(&t) else { throw ValidationError("mkdtemp failed") }
        let tmp = String(cString: p)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        for d in ["state", "plugins", "models"] { try FileManager.default.createDirectory(atPath: tmp + "/" + d, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: lib, toPath: tmp + "/plugins/libReelUpsample.so")
        for m in ["realesr-animevideov3-x4", "rife-hdv3"] {
            try FileManager.default.createSymbolicLink(atPath: tmp + "/models/" + m, withDestinationPath: ModelStore.default.root.path + "/" + m)
        }
        // A real 1080p clip: the photograph panned over, H.264.
        let photo = upsampleBenchPhotoPath()
        let (iw, ih) = try upsampleBenchSize(memoryInput)
        let side = 5 * max(iw, ih) / 4
        try runTool("ffmpeg", ["-y", "-v", "error", "-loop", "1", "-framerate", "24", "-i", photo, "-vf",
                               "scale=\(side):\(side),crop=\(iw):\(ih):'\(side - iw)*n/\(2 * max(memoryFrames, 1))':\((side - ih) / 2),format=yuv420p",
                               "-frames:v", "\(memoryFrames)", "-c:v", "libx264", "-crf", "16", tmp + "/in.mp4"])
        try "".write(toFile: tmp + "/reeld.toml", atomically: true, encoding: .utf8)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: exe)
        daemon.arguments = ["--config", tmp + "/reeld.toml", "--socket", tmp + "/reel.sock", "--state-dir", tmp + "/state",
                            "--plugin-dir", tmp + "/plugins", "--model-dir", tmp + "/models", "--log-level", "warning"]
        var env = ProcessInfo.processInfo.environment
        env["REEL_THREADS"] = String(threads)
        // The copied plugin finds libReelEngine.so through its $ORIGIN runpath only beside the build.
        env["LD_LIBRARY_PATH"] = dir + (env["LD_LIBRARY_PATH"].map { ":" + $0 } ?? "")
        daemon.environment = env
        try daemon.run()
        defer { daemon.terminate(); daemon.waitUntilExit() }
        var conn: RPCConnection? = nil
        for _ in 0..<1000 where conn == nil {
            conn = try? RPCConnection(path: tmp + "/reel.sock")
            if conn == nil { usleep(10_000) }
        }
        guard let conn else { throw ValidationError("reeld did not start") }
        let idle = upsampleBenchRSS(pid: daemon.processIdentifier).current
        let t0 = BenchClock.wall()
        var params: JSONObject = ["input": .string(tmp + "/in.mp4"), "output": .string(tmp + "/out.mp4"),
                                  "scale": .int(Int64(memoryScale))]
        if let memoryLookahead { params["lookahead"] = .int(Int64(memoryLookahead)) }
        let job = try conn.call("job.submit", ["method": "video.upsample", "model": "realesr-animevideov3-x4",
                                               "params": .object(params)])
        let done = try conn.call("job.wait", ["id": job["id"] ?? .null])
        let seconds = BenchClock.wall() - t0
        let rss = upsampleBenchRSS(pid: daemon.processIdentifier)
        guard let result = done["result"], case .object = result else {
            throw ValidationError("the job failed: \(done)")
        }
        let frames = result["frames"]?.intValue ?? 0
        let (ow, oh) = (Int(result["width"]?.intValue ?? 0), Int(result["height"]?.intValue ?? 0))
        let lookahead = Int(result["lookahead"]?.intValue ?? 40)
        // The same encoder on its own at the output size, with the preset's lookahead and with the
        // job's, over enough frames to fill it; and the CLI writing raw video, its own share.
        var runs = [("rawvideo, the CLI's own share", ["-c:v", "rawvideo"]),
                    ("libx264 medium, lookahead 40", ["-c:v", "libx264", "-preset", "medium", "-crf", "18"])]
        if lookahead != 40 {
            runs.append(("libx264 medium, lookahead \(lookahead)",
                         ["-c:v", "libx264", "-preset", "medium", "-crf", "18", "-rc-lookahead", "\(lookahead)"]))
        }
        var alone: [JSON] = []
        for (what, codec) in runs {
            say("ffmpeg \(what) at \(ow)x\(oh), 60 frames…")
            if let kib = upsampleBenchEncoderPeakKiB(width: ow, height: oh, codec: codec) {
                alone.append(["what": .string(what), "frames": 60, "peak_rss_mib": .double(kib / 1024)])
            }
        }
        return ["frames": .int(frames), "input": .string(memoryInput), "output": .string("\(ow)x\(oh)"),
                "lookahead": .int(Int64(lookahead)),
                "peak_rss_mib": .double(rss.peak / 1024), "idle_rss_mib": .double(idle / 1024),
                "seconds": .double(seconds), "seconds_per_frame": .double(frames > 0 ? seconds / Double(frames) : 0),
                "tile": result["tile"] ?? .null, "audio": result["audio"] ?? .null,
                "x264_alone": .array(alone)]
    }
}

private func upsampleBenchSize(_ s: String) throws -> (Int, Int) {
    let p = s.lowercased().split(separator: "x").compactMap { Int($0) }
    guard p.count == 2, p[0] > 0, p[1] > 0 else { throw ValidationError("size \(s): use WxH") }
    return (p[0], p[1])
}

/// The astronaut photograph (scikit-image's data, committed for the plugin tests) at w×h, [1, 3, h, w].
private func upsampleBenchPhoto(_ w: Int, _ h: Int) throws -> Tensor {
    let f = try readImage(path: upsampleBenchPhotoPath(), size: PixelSize(w, h))
    return try Tensor(f.pixels, shape: [1, 3, h, w])
}

private func upsampleBenchPhotoPath() -> String {
    "Tests/UpsamplePluginTests/Fixtures/astronaut.png"
}

/// VmRSS and VmHWM of a process, in KiB.
private func upsampleBenchRSS(pid: Int32) -> (current: Double, peak: Double) {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Double {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
        return Double(line.split(separator: " ").dropFirst().first { Double($0) != nil }.flatMap { Double($0) } ?? 0)
    }
    return (field("VmRSS:"), field("VmHWM:"))
}

/// Peak RSS (KiB) of the ffmpeg CLI encoding 60 frames of width×height with `codec`'s arguments.
private func upsampleBenchEncoderPeakKiB(width: Int, height: Int, codec: [String]) -> Double? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    p.arguments = ["-f", "%M", "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=\(width)x\(height):r=24", "-frames:v", "60"]
        + codec + ["-pix_fmt", "yuv420p", "-f", "null", "-"]
    let err = Pipe()
    p.standardError = err
    do { try p.run() } catch { return nil }
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return text.split(separator: "\n").last.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
}

/// One JSON line from tools/bench/upsample_reference.py, or nil (printed as n/a) when it cannot run.
private func upsampleBenchReference(python: String, script: String, net: String, w: Int, h: Int, threads: Int, frames: Int) -> JSON? {
    referenceJSON(python: python, script: script, [net, "--width", "\(w)", "--height", "\(h)", "--threads", "\(threads)",
                                                   "--frames", "\(frames)"], threads: threads)
}
