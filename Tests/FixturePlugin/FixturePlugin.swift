// The fixture plugin of the daemon tests: a real plugin with a real model.
// Its model is a directory with manifest.json {"kind": "reel-fixture",
// "weights": "weights.bin"}; loading mmaps the weights and touches every page
// (so the daemon's memory accounting is real). The stage `fixture.render`
// writes a synthetic pattern as raw RGB24 frames, one step per frame, with a
// configurable per-step delay, cancellation at every step and an optional
// failure at a given frame.
import ReelPluginKit
import ReelProtocol
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("reel_plugin_entry")
public func reelPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
    PluginExport.descriptor(for: FixturePlugin(), hostABI: hostABI)
}

final class FixturePlugin: ReelPlugin {
    let name = "fixture"
    let version = "1.0.0"
    let description = "Renders a synthetic pattern as raw RGB24 frames (test fixture)."
    let modelKinds = ["reel-fixture"]

    let stages = [
        PluginStage(
            method: "fixture.render",
            summary: "Render a synthetic pattern as raw RGB24 frames to a file.",
            paramsSchema: [
                "type": "object",
                "properties": [
                    "output": ["type": "string", "minLength": 1, "description": "Absolute path of the raw file to write.",
                               "x-reel-access": "write"],
                    "width": ["type": "integer", "minimum": 1, "maximum": 4096, "default": 64],
                    "height": ["type": "integer", "minimum": 1, "maximum": 4096, "default": 48],
                    "frames": ["type": "integer", "minimum": 1, "maximum": 100000, "default": 8,
                               "description": "Frames to render; one progress step each."],
                    "step_delay_ms": ["type": "integer", "minimum": 0, "maximum": 600000, "default": 0,
                                      "description": "Sleep this long per frame (makes jobs observable)."],
                    "fail_at_frame": ["type": "integer", "minimum": 1,
                                      "description": "Fail with a plugin error when reaching this frame."],
                ],
                "required": ["output"],
                "additionalProperties": false,
            ],
            modelKinds: ["reel-fixture"]),
    ]

    func weightsPath(_ dir: String) throws -> String {
        let manifest = try readFile(dir + "/manifest.json")
        let m = try JSON.parse(manifest)
        guard m["kind"]?.stringValue == "reel-fixture" else { throw PluginError.badModel("\(dir): manifest kind is not reel-fixture") }
        return dir + "/" + (m["weights"]?.stringValue ?? "weights.bin")
    }

    func estimate(modelDirectory: String, kind: String) throws -> UInt64 {
        var st = stat()
        let path = try weightsPath(modelDirectory)
        guard stat(path, &st) == 0 else { throw PluginError.badModel("cannot stat \(path): \(String(cString: strerror(errno)))") }
        return UInt64(st.st_size)
    }

    func load(modelDirectory: String, kind: String, options: JSON, host: PluginHost) throws -> ReelModel {
        let path = try weightsPath(modelDirectory)
        let m = try JSON.parse(try readFile(modelDirectory + "/manifest.json"))
        let delayMs = Int(m["load_delay_ms"]?.intValue ?? 0)
        return try FixtureModel(path: path, loadDelayMs: delayMs, host: host)
    }

    func run(method: String, model: ReelModel?, params: JSON, host: PluginHost) throws -> JSON {
        guard let model = model as? FixtureModel else { throw PluginError.failed("fixture.render needs a fixture model") }
        let output = params["output"]!.stringValue!
        let width = Int(params["width"]?.intValue ?? 64)
        let height = Int(params["height"]?.intValue ?? 48)
        let frames = Int(params["frames"]?.intValue ?? 8)
        let delayMs = Int(params["step_delay_ms"]?.intValue ?? 0)
        let failAt = params["fail_at_frame"]?.intValue.map(Int.init)

        try host.declareOutput(output, mediaType: "video/x-raw-rgb24")
        guard let file = fopen(output, "wb") else {
            throw PluginError.failed("cannot open \(output): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var frame = [UInt8](repeating: 0, count: width * height * 3)
        host.progress("render", step: 0, total: frames)
        for f in 0..<frames {
            try host.checkCancelled()
            if let failAt, f + 1 == failAt { throw PluginError.failed("fixture failure requested at frame \(failAt)") }
            FixturePattern.fill(&frame, width: width, height: height, frame: f, seed: model.seed)
            guard fwrite(frame, 1, frame.count, file) == frame.count else {
                throw PluginError.failed("write to \(output) failed: \(String(cString: strerror(errno)))")
            }
            if delayMs > 0 { sleepMs(delayMs, host: host) }
            host.progress("render", step: f + 1, total: frames)
        }
        return [
            "output": .string(output), "width": .int(Int64(width)), "height": .int(Int64(height)),
            "frames": .int(Int64(frames)), "pixel_format": "rgb24",
            "bytes": .int(Int64(frames * frame.count)), "model_seed": .int(Int64(model.seed)),
        ]
    }
}

/// The pattern, also computed by the tests to check the output.
enum FixturePattern {
    static func fill(_ buf: inout [UInt8], width: Int, height: Int, frame: Int, seed: UInt8) {
        var i = 0
        for y in 0..<height {
            for x in 0..<width {
                buf[i] = UInt8(truncatingIfNeeded: x + frame)
                buf[i + 1] = UInt8(truncatingIfNeeded: y + frame)
                buf[i + 2] = seed
                i += 3
            }
        }
    }
}

/// A mmapped weights file, every page touched so it is resident.
final class FixtureModel: ReelModel {
    let base: UnsafeMutableRawPointer?
    let size: Int
    let seed: UInt8

    init(path: String, loadDelayMs: Int, host: PluginHost) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PluginError.badModel("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
        guard size > 0 else { base = nil; seed = 0; return }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw PluginError.failed("mmap \(path): \(String(cString: strerror(errno)))")
        }
        base = p
        // Touch every page, in 16 steps reported as the "load" phase.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let chunks = 16
        var sum: UInt32 = 0
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        for c in 0..<chunks {
            let start = size * c / chunks, end = size * (c + 1) / chunks
            var off = start
            while off < end { sum &+= UInt32(bytes[off]); off += page }
            if loadDelayMs > 0 { sleepMs(loadDelayMs, host: nil) }
            host.progress("load", step: c + 1, total: chunks)
        }
        seed = UInt8(truncatingIfNeeded: sum) | 1
    }

    var residentBytes: UInt64 { UInt64(size) }

    func unload() {
        if let base { munmap(base, size) }
    }
}

private func sleepMs(_ ms: Int, host: PluginHost?) {
    // Sleep in slices so a cancellation is seen within ~10 ms.
    var left = ms
    while left > 0 {
        if let host, host.isCancelled { return }
        let slice = min(left, 10)
        var ts = timespec(tv_sec: 0, tv_nsec: slice * 1_000_000)
        nanosleep(&ts, nil)
        left -= slice
    }
}

private func readFile(_ path: String) throws -> String {
    guard let f = fopen(path, "rb") else { throw PluginError.badModel("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { fclose(f) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return String(decoding: out, as: UTF8.self)
}
