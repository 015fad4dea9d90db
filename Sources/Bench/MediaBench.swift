// reel-bench media: 1080p encode and decode throughput of ReelMedia beside the ffmpeg CLI, with the
// same codec settings (libx264 preset/CRF/threads, yuv420p; the same swscale flags) and the same
// frames, measured in the same run. Encode: the CLI reads the same frames as raw planar float RGB
// (gbrpf32le). Decode: the CLI decodes the same file to gbrpf32le (reel's output format) and, as a
// second reference, to 8-bit gbrp. Each side runs `--repeats` times, alternating; the best run counts.
import ArgumentParser
import Foundation
import Glibc
import ReelMedia
import ReelProtocol

struct MediaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Encode (RGB float -> H.264 MP4) and decode (H.264 -> RGB float) at 1080p, beside the ffmpeg CLI.")

    @Option(help: "Frames per encode and decode run.") var frames = 48
    @Option(help: "Distinct frames generated and cycled (each takes 24 MB at 1080p).") var distinct = 12
    @Option(help: "Frame width.") var width = 1920
    @Option(help: "Frame height.") var height = 1080
    @Option(help: "x264 preset.") var preset = "medium"
    @Option(help: "x264 CRF.") var crf = 18
    @Option(help: "Encoder and decoder threads, both sides.") var threads = 2
    @Option(help: "Runs per side; the fastest counts.") var repeats = 2
    @Option(help: "The ffmpeg executable.") var ffmpeg = "ffmpeg"
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        let workDir = NSTemporaryDirectory() + "reel-bench-media-\(getpid())"
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let loadBefore = loadAverage()

        // The same frames for both sides: ours from memory, the CLI's from a raw gbrpf32le file
        // (looped with -stream_loop), so each side encodes the identical sequence.
        let pictures = (0 ..< distinct).map { syntheticFrame(index: $0) }
        let raw = workDir + "/frames.gbrpf32le"
        try writeRaw(pictures, to: raw)
        let fps = FrameRate(24)
        let settings = EncoderSettings(crf: crf, preset: preset, threads: threads)

        var encodeOurs: [Measurement] = [], encodeCLI: [Measurement] = []
        var ourFile = "", cliFile = ""
        for r in 0 ..< repeats {
            ourFile = workDir + "/ours-\(r).mp4"
            encodeOurs.append(try time {
                let writer = try MediaWriter(path: ourFile, video: VideoFormat(width: width, height: height, frameRate: fps),
                                             settings: settings)
                for i in 0 ..< frames { try writer.append(frame: pictures[i % distinct]) }
                try writer.finish()
            })
            cliFile = workDir + "/cli-\(r).mp4"
            let loops = (frames + distinct - 1) / distinct - 1
            encodeCLI.append(try time {
                try runTool(ffmpeg, ["-hide_banner", "-loglevel", "error", "-y",
                                     "-f", "rawvideo", "-pix_fmt", "gbrpf32le", "-s", "\(width)x\(height)", "-r", "24",
                                     "-stream_loop", "\(loops)", "-i", raw, "-frames:v", "\(frames)",
                                     "-sws_flags", "bicubic", "-pix_fmt", "yuv420p",
                                     "-c:v", "libx264", "-preset", preset, "-crf", "\(crf)", "-threads", "\(threads)",
                                     "-movflags", "+faststart", cliFile])
            })
        }
        let ourSize = fileSize(ourFile), cliSize = fileSize(cliFile)

        // Decode the CLI's file on both sides into planar float RGB at the stored size.
        var decodeOurs: [Measurement] = [], decodeCLI: [Measurement] = [], decodeCLI8: [Measurement] = []
        var decoded = 0
        for _ in 0 ..< max(repeats, 3) {
            decodeOurs.append(try time {
                let reader = try VideoReader(path: cliFile, threads: threads)
                decoded = 0
                while try reader.next() != nil { decoded += 1 }
            })
            decodeCLI.append(try time {
                try runTool(ffmpeg, ["-hide_banner", "-loglevel", "error", "-threads", "\(threads)", "-i", cliFile,
                                     "-sws_flags", "bicubic+accurate_rnd+full_chroma_int",
                                     "-pix_fmt", "gbrpf32le", "-f", "rawvideo", "-y", "/dev/null"])
            })
            // The CLI's float output goes through swscale's slower float path; 8-bit planar RGB is
            // the fastest RGB the CLI can give, shown as a second, stricter reference.
            decodeCLI8.append(try time {
                try runTool(ffmpeg, ["-hide_banner", "-loglevel", "error", "-threads", "\(threads)", "-i", cliFile,
                                     "-sws_flags", "bicubic+accurate_rnd+full_chroma_int",
                                     "-pix_fmt", "gbrp", "-f", "rawvideo", "-y", "/dev/null"])
            })
        }
        guard decoded == frames else {
            throw ValidationError("decoded \(decoded) frames, expected \(frames)")
        }
        let loadAfter = loadAverage()

        let n = Double(frames)
        func row(_ name: String, _ ours: [Measurement], _ reference: [Measurement]) -> Row {
            Row(name: name, ours: n / ours.map(\.wall).min()!, reference: n / reference.map(\.wall).min()!,
                oursCPU: ours.map(\.cpu).min()! / n, referenceCPU: reference.map(\.cpu).min()! / n)
        }
        let rows: [Row] = [
            // Named by the size measured ("1080p" at the default 1920x1080).
            row("encode \(height)p RGB float -> H.264 MP4", encodeOurs, encodeCLI),
            row("decode \(height)p H.264 MP4 -> RGB float", decodeOurs, decodeCLI),
            row("decode, reference: CLI to 8-bit RGB (gbrp)", decodeOurs, decodeCLI8),
        ]
        let settingsText = "libx264 preset=\(preset) crf=\(crf) threads=\(threads), yuv420p, \(frames) frames \(width)x\(height)"
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if json {
            let results: [JSON] = rows.map { r in
                ["name": .string(r.name), "unit": "frames/s", "reel": .double(r.ours), "ffmpeg_cli": .double(r.reference),
                 "ratio": .double(r.ratio), "cpu_s_per_frame": ["reel": .double(r.oursCPU), "ffmpeg_cli": .double(r.referenceCPU)],
                 "cpu_ratio": .double(r.cpuRatio)]
            }
            let out: JSON = [
                "area": "media",
                "settings": ["codec": "libx264", "preset": .string(preset), "crf": JSON(crf), "threads": JSON(threads),
                             "frames": JSON(frames), "width": JSON(width), "height": JSON(height)],
                "results": .array(results),
                "output_bytes": ["reel": JSON(ourSize), "ffmpeg_cli": JSON(cliSize)],
                "load_average": ["before": .double(loadBefore), "after": .double(loadAfter)],
                "cores": JSON(cores),
            ]
            print(out.serialized())
        } else {
            print("reel-bench media — \(settingsText); best of \(repeats) (decode: \(max(repeats, 3))) runs")
            print("load average \(fmt(loadBefore)) before, \(fmt(loadAfter)) after, on \(cores) cores")
            print("")
            let w = rows.map { $0.name.count }.max()!
            print(pad("", w) + "   reel fps   ffmpeg fps   ratio   reel cpu/f   ffmpeg cpu/f   cpu ratio")
            for r in rows {
                print(pad(r.name, w) + "  " + lpad(fmt(r.ours), 9) + "  " + lpad(fmt(r.reference), 11) + "  " + lpad(fmt(r.ratio), 6) +
                      "  " + lpad(fmt3(r.oursCPU) + " s", 11) + "  " + lpad(fmt3(r.referenceCPU) + " s", 13) + "  " + lpad(fmt(r.cpuRatio), 10))
            }
            print("")
            print("ratio: reel fps / ffmpeg fps (wall clock); cpu ratio: ffmpeg CPU s per frame / reel's (> 1: reel does less work)")
            print("")
            print("output size: reel \(ourSize) bytes, ffmpeg \(cliSize) bytes")
        }
    }

    struct Row {
        let name: String
        /// Frames per second (wall clock), best run.
        let ours: Double
        let reference: Double
        /// CPU seconds per frame, best run.
        let oursCPU: Double
        let referenceCPU: Double
        var ratio: Double { ours / reference }
        /// reel's throughput per CPU second over the CLI's.
        var cpuRatio: Double { referenceCPU / oursCPU }
    }

    /// A 1080p-like picture with gradients, moving discs and fine texture, so the encoder has real
    /// work (a flat frame would make the encode time meaningless).
    func syntheticFrame(index: Int) -> VideoFrame {
        // Locals: the @Option wrappers are slow to read in a loop.
        let width = self.width, height = self.height, distinct = self.distinct
        let plane = width * height
        var pixels = [Float](repeating: 0, count: 3 * plane)
        let t = Float(index) / Float(distinct)
        var seed: UInt32 = 2_654_435_761 &* UInt32(index + 1)
        pixels.withUnsafeMutableBufferPointer { p in
            for y in 0 ..< height {
                let fy = Float(y) / Float(height)
                for x in 0 ..< width {
                    let fx = Float(x) / Float(width)
                    seed = seed &* 1_664_525 &+ 1_013_904_223
                    let grain = Float(seed >> 24) / 255 * 0.04 - 0.02
                    let dx = fx - 0.3 - 0.4 * t, dy = fy - 0.5
                    let disc: Float = dx * dx + dy * dy < 0.02 ? 0.5 : 0
                    let ripple = 0.1 * sinf(40 * fx + 25 * fy + 6.283 * t)
                    let i = y * width + x
                    p[i] = fx * 0.8 + disc + grain
                    p[plane + i] = fy * 0.7 + ripple + grain
                    p[2 * plane + i] = 0.5 + 0.3 * sinf(8 * fx * fy + t) + grain
                }
            }
        }
        return VideoFrame(width: width, height: height, pixels: pixels)
    }

    func writeRaw(_ frames: [VideoFrame], to path: String) throws {
        guard let f = fopen(path, "wb") else { throw ValidationError("cannot write \(path)") }
        defer { fclose(f) }
        let plane = self.width * self.height
        for frame in frames {
            // gbrpf32le: planes G, B, R.
            frame.pixels.withUnsafeBufferPointer { p in
                for c in [1, 2, 0] { _ = fwrite(p.baseAddress! + c * plane, 4, plane, f) }
            }
        }
    }
}

/// Wall-clock seconds, and CPU seconds of this process and its finished children (the ffmpeg CLI):
/// on a shared machine the CPU time is the steadier measure of the work each side does.
struct Measurement {
    var wall: Double
    var cpu: Double
}

private func cpuSeconds() -> Double {
    var me = rusage(), children = rusage()
    getrusage(RUSAGE_SELF.rawValue, &me)
    getrusage(RUSAGE_CHILDREN.rawValue, &children)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(me.ru_utime) + seconds(me.ru_stime) + seconds(children.ru_utime) + seconds(children.ru_stime)
}

private func time(_ body: () throws -> Void) throws -> Measurement {
    let cpuStart = cpuSeconds()
    let start = BenchClock.wall()
    try body()
    return Measurement(wall: BenchClock.wall() - start, cpu: cpuSeconds() - cpuStart)
}

private func loadAverage() -> Double {
    var load = [Double](repeating: 0, count: 3)
    return getloadavg(&load, 3) > 0 ? load[0] : 0
}

private func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

private func fmt(_ v: Double) -> String { String(format: "%.2f", v) }
private func fmt3(_ v: Double) -> String { String(format: "%.3f", v) }
private func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
private func lpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
