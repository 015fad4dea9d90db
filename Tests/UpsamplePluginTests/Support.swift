// Shared by the upsample plugin tests: a daemon with the real plugin and the
// imported models, real short videos filmed from real photographs with the
// ffmpeg CLI, ffprobe, and PSNR.
import Foundation
import ReelEngine
import ReelMedia
import ReelModels
import ReelProtocol
import ReelTestSupport
import XCTest

enum Clips {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let modelNames = ["realesr-animevideov3-x4", "realesrgan-x4plus", "rife-hdv3"]

    /// Runs a command; throws with its stderr when it fails.
    @discardableResult
    static func shell(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw HarnessError("\(args.joined(separator: " ")) failed: \(String(decoding: e, as: UTF8.self))")
        }
        return String(decoding: o, as: UTF8.self)
    }

    /// A pan-and-zoom over a real photograph: `frames` frames of 64×48 at 8 fps, H.264, with a
    /// 440 Hz tone as AAC when `audio`.
    static func panZoom(_ photo: String, to path: String, frames: Int, audio: Bool = true) throws {
        var args = ["ffmpeg", "-y", "-v", "error", "-loop", "1", "-framerate", "8",
                    "-i", fixtures.appendingPathComponent(photo).path]
        if audio { args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=\(Double(frames) / 8)"] }
        args += ["-filter_complex",
                 "[0:v]zoompan=z='1.15+0.02*on':x='24+on*3':y='20+on*2':d=1:s=64x48:fps=8,format=yuv420p[v]",
                 "-map", "[v]"]
        if audio { args += ["-map", "1:a", "-c:a", "aac", "-b:a", "96k"] }
        // -t, not -frames:v: stopping on the video count would cut the audio after its first packet.
        args += ["-t", "\(Double(frames) / 8)", "-c:v", "libx264", "-crf", "12", "-preset", "veryfast", path]
        try shell(args)
    }

    /// Three 64×64 frames panning over one photograph, then three over another: one scene cut
    /// (the reference's ssim_matlab of the 32×32 thumbnails across it is 0.155, within the shots ≥ 0.75).
    /// 64×64 needs no padding for RIFE, whose zero padding would otherwise count as similarity.
    static func sceneCut(to path: String) throws {
        try shell(["ffmpeg", "-y", "-v", "error",
                   "-loop", "1", "-framerate", "8", "-i", fixtures.appendingPathComponent("astronaut.png").path,
                   "-loop", "1", "-framerate", "8", "-i", fixtures.appendingPathComponent("coffee.png").path,
                   "-filter_complex",
                   "[0:v]zoompan=z=1.2:x='6+on*4':y=20:d=1:s=64x64:fps=8,trim=end_frame=3,setpts=PTS-STARTPTS[a];" +
                   "[1:v]zoompan=z=2:x='50+on*4':y=40:d=1:s=64x64:fps=8,trim=end_frame=3,setpts=PTS-STARTPTS[b];" +
                   "[a][b]concat=n=2:v=1,format=yuv420p[v]",
                   "-map", "[v]", "-frames:v", "6", "-c:v", "libx264", "-crf", "12", "-preset", "veryfast", path])
    }

    /// The first audio stream's packets by ffprobe: "pts_time duration_time SHA256:…" per packet.
    static func audioPackets(_ path: String) throws -> [String] {
        let probe = try JSON.parse(try shell(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_packets",
                                              "-show_data_hash", "sha256", "-show_entries", "packet=pts_time,duration_time,data_hash",
                                              "-of", "json", path]))
        return (probe["packets"]?.arrayValue ?? []).map { p in
            ["pts_time", "duration_time", "data_hash"].map { p[$0]?.stringValue ?? "" }.joined(separator: " ")
        }
    }

    /// ffprobe's streams and format as JSON.
    static func ffprobe(_ path: String) throws -> JSON {
        try JSON.parse(try shell(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                                  "-of", "json", path]))
    }
}

extension XCTestCase {
    /// reeld with only the upsample plugin and links to the imported models (`make models`).
    func startUpsampleDaemon(models: [String] = Clips.modelNames) throws -> DaemonProcess {
        let d = try DaemonProcess(plugins: [try BuildProducts.path("libReelUpsample.so")])
        // The plugin is copied into the daemon's plugin directory, away from the libReelEngine.so its
        // $ORIGIN runpath expects (installs put the engine in LIBDIR): reeld inherits this path.
        let buildDir = BuildProducts.directory
        let current = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"] ?? ""
        if !current.split(separator: ":").contains(Substring(buildDir)) {
            setenv("LD_LIBRARY_PATH", current.isEmpty ? buildDir : buildDir + ":" + current, 1)
        }
        let store = ModelStore.defaultRoot()
        for name in models {
            let src = store.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: src + "/manifest.json") else {
                throw HarnessError("\(name) is not in \(store.path): run `make models`")
            }
            try FileManager.default.createSymbolicLink(atPath: d.modelDir + "/" + name, withDestinationPath: src)
        }
        try d.start()
        addTeardownBlock { d.kill9() }
        return d
    }

    /// Submits video.upsample (subscribed) and returns the job id.
    func submitUpsample(_ c: RPCClient, _ params: JSONObject, model: String = "realesr-animevideov3-x4") throws -> String {
        let job = try c.result("job.submit", ["method": "video.upsample", "params": .object(params),
                                              "model": .string(model), "subscribe": true])
        return try XCTUnwrap(job["id"]?.stringValue)
    }

    /// job.wait with a generous hang guard (never a speed check).
    func waitJob(_ c: RPCClient, _ id: String) throws -> RPCResponse {
        try c.call("job.wait", ["id": .string(id)], timeout: 3600)
    }
}

/// The decoded frames of a file, as [1, 3, H, W] tensors.
func decodedFrames(_ path: String) throws -> [Tensor] {
    try VideoReader(path: path).readAll().map { try Tensor($0.pixels, shape: [1, 3, $0.height, $0.width]) }
}

func psnr(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.toArray(), y = b.toArray()
    precondition(x.count == y.count, "sizes differ: \(a.shape) vs \(b.shape)")
    var se = 0.0
    for i in 0..<x.count { let d = Double(x[i]) - Double(y[i]); se += d * d }
    return 10 * log10(1 / max(se / Double(x.count), 1e-12))
}
