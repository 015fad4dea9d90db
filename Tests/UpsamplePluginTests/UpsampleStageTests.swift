// video.upsample end to end: real clips filmed from real photographs, sent
// through the real reeld and the real plugin with the imported models, the
// output checked with ffprobe and against the Swift models run directly on
// the same decoded frames.
import Foundation
import ReelEngine
import ReelMedia
import ReelModels
import ReelProtocol
import ReelTestSupport
import XCTest

final class UpsampleStageTests: XCTestCase {
    func testStageAndModelsAreServed() throws {
        let d = try startUpsampleDaemon()
        let c = try d.client()
        let plugins = try c.result("plugin.list")["plugins"]?.arrayValue ?? []
        let upsample = try XCTUnwrap(plugins.first { $0["name"] == "upsample" })
        let stage = try XCTUnwrap(upsample["stages"]?.arrayValue?.first)
        XCTAssertEqual(stage["method"], "video.upsample")
        XCTAssertEqual(stage["params_schema"]?["properties"]?["input"]?["x-reel-access"], "read")
        let models = try c.result("model.list")["models"]?.arrayValue ?? []
        for name in Clips.modelNames {
            let m = try XCTUnwrap(models.first { $0["name"]?.stringValue == name }, "\(name) listed")
            XCTAssertEqual(m["plugin"], "upsample", "\(name) is served by the plugin: \(m)")
        }
    }

    /// ×4 and ×2 frame rate with audio: size, frame count and rate by ffprobe, the audio copied
    /// packet for packet, the label written, each real frame equal to SRVGGNetCompact's own output
    /// on the decoded frame and each in-between frame to SRVGGNetCompact(RIFE's middle frame).
    func testUpscaleX4DoublesFrameRateAndKeepsAudio() throws {
        let d = try startUpsampleDaemon()
        let c = try d.client()
        let input = d.outputDir + "/pan.mp4", output = d.outputDir + "/pan-x4.mp4"
        try Clips.panZoom("astronaut.png", to: input, frames: 6)

        // Tiles of 32 with the exact overlap (18) make four tiles per frame, equal to the whole frame.
        let id = try submitUpsample(c, ["input": .string(input), "output": .string(output), "scale": 4,
                                        "fps_factor": 2, "tile": 32, "quality": 0])
        let r = try waitJob(c, id)
        let job = try r.outcome.get()
        XCTAssertEqual(job["state"], "done", "\(job)")
        let result = try XCTUnwrap(job["result"])
        XCTAssertEqual(result["width"], 256)
        XCTAssertEqual(result["height"], 192)
        XCTAssertEqual(result["frames"], 12)
        XCTAssertEqual(result["fps"], "16")
        XCTAssertEqual(result["audio"], true)
        XCTAssertEqual(result["audio_mode"], "copy")
        XCTAssertEqual(result["audio_codec"], "aac")
        XCTAssertNil(result["audio_note"])
        XCTAssertEqual(result["lookahead"], 40, "x264's own at this size")
        XCTAssertEqual(result["interpolation_model"], "rife-hdv3")
        XCTAssertEqual(result["interpolated_frames"], 5, "the last source frame has no successor: it is held")
        XCTAssertEqual(result["scene_cuts"], 0)
        XCTAssertEqual(job["outputs"]?.arrayValue?.first?["path"]?.stringValue, output)

        // Progress: one step per output frame, in the upsample phase.
        let steps = c.drainNotifications().filter { $0.method == "job.progress" && $0.params["phase"] == "upsample" }
        XCTAssertEqual(steps.last?.params["step"], 12)

        let probe = try Clips.ffprobe(output)
        let streams = probe["streams"]?.arrayValue ?? []
        let v = try XCTUnwrap(streams.first { $0["codec_type"] == "video" })
        XCTAssertEqual(v["codec_name"], "h264")
        XCTAssertEqual(v["width"], 256)
        XCTAssertEqual(v["height"], 192)
        XCTAssertEqual(v["nb_read_frames"], "12")
        XCTAssertEqual(v["avg_frame_rate"], "16/1")
        let a = try XCTUnwrap(streams.first { $0["codec_type"] == "audio" }, "audio passed through")
        XCTAssertEqual(a["codec_name"], "aac")
        let inputAudio = try XCTUnwrap(try Clips.ffprobe(input)["streams"]?.arrayValue?.first { $0["codec_type"] == "audio" })
        let inDur = try XCTUnwrap(Double(inputAudio["duration"]?.stringValue ?? "")), outDur = try XCTUnwrap(Double(a["duration"]?.stringValue ?? ""))
        XCTAssertEqual(outDur, inDur, accuracy: 0.001, "the whole tone is there")
        // Copied, not re-encoded: every packet's bytes and time as in the input, at twice the frame rate.
        let inPackets = try Clips.audioPackets(input), outPackets = try Clips.audioPackets(output)
        XCTAssertGreaterThan(inPackets.count, 10)
        XCTAssertEqual(outPackets, inPackets)
        let tags = try XCTUnwrap(probe["format"]?["tags"])
        XCTAssertEqual(tags["reel_ai_generated"], "true")
        XCTAssertEqual(tags["reel_plugin"], "upsample")
        XCTAssertEqual(tags["reel_plugin_version"], "0.1.0")
        XCTAssertEqual(tags["reel_model"], "realesr-animevideov3-x4 + rife-hdv3")
        let params = try JSON.parse(try XCTUnwrap(tags["reel_params"]?.stringValue))
        XCTAssertEqual(params["scale"], 4)
        XCTAssertEqual(params["fps_factor"], 2)

        // The pixels: the Swift models on the same decoded frames. Lossless H.264 still codes 4:2:0,
        // which costs ~37 dB on these pictures; a bicubic x4 is far below that.
        let store = ModelStore(root: URL(fileURLWithPath: d.modelDir))
        let srvgg = try SRVGGNetCompact(entry: store.open("realesr-animevideov3-x4"))
        let rife = try RIFE(entry: store.open("rife-hdv3"))
        let source = try VideoReader(path: input, frameRate: FrameRate(8)).readAll().map { try $0.tensor() }
        let out = try decodedFrames(output)
        XCTAssertEqual(source.count, 6)
        XCTAssertEqual(out.count, 12)
        for k in [0, 2, 5] {
            let expected = clamp(try srvgg(source[k]), min: 0, max: 1)
            let bicubic = clamp(try interpolate(source[k], scaleFactor: 4, mode: .bicubic), min: 0, max: 1)
            let p = psnr(out[2 * k], expected), baseline = psnr(out[2 * k], bicubic)
            XCTAssertGreaterThan(p, 34, "output frame \(2 * k) is the network's x4 of source frame \(k)")
            XCTAssertGreaterThan(p, baseline + 6, "and not merely any x4 (bicubic: \(baseline) dB)")
        }
        for k in [0, 3] {
            let middle = try rife.middleFrame(source[k], source[k + 1])
            let expected = clamp(try srvgg(middle), min: 0, max: 1)
            let neighbour = clamp(try srvgg(source[k]), min: 0, max: 1)
            let p = psnr(out[2 * k + 1], expected)
            XCTAssertGreaterThan(p, 34, "output frame \(2 * k + 1) is the x4 of RIFE's middle frame")
            XCTAssertGreaterThan(p, psnr(out[2 * k + 1], neighbour) + 3, "not a repeated neighbour")
        }
        // The last output frame holds the last source frame.
        XCTAssertGreaterThan(psnr(out[11], clamp(try srvgg(source[5]), min: 0, max: 1)), 34)

        // Resident between jobs, with RIFE counted in the handle.
        let ps = try c.result("model.ps")["models"]?.arrayValue ?? []
        let resident = try XCTUnwrap(ps.first { $0["name"] == "realesr-animevideov3-x4" }, "still resident: \(ps)")
        let weights = try FileManager.default.attributesOfItem(atPath: d.modelDir + "/realesr-animevideov3-x4/model.safetensors")[.size] as! Int
        let rifeWeights = try FileManager.default.attributesOfItem(atPath: d.modelDir + "/rife-hdv3/model.safetensors")[.size] as! Int
        XCTAssertEqual(resident["bytes"]?.intValue, Int64(weights + rifeWeights))
    }

    /// `reel upsample` as a user runs it: the model's alias, a factor for the rate, the default output name beside
    /// the input, and --json streaming the job's events from its first, ending with the finished job.
    func testTheClientsUpsampleCommand() throws {
        let d = try startUpsampleDaemon()
        try Clips.panZoom("astronaut.png", to: d.outputDir + "/pan.mp4", frames: 4, audio: false)
        let r = try ClientProcess.run(["upsample", "pan.mp4", "--scale", "2", "--fps", "x2", "--model", "animevideov3", "--json"],
                                      socket: d.socket, cwd: d.outputDir)
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try r.out.split(separator: "\n").map { try JSON.parse(String($0)) }
        let job = try XCTUnwrap(lines.last)
        XCTAssertEqual(job["state"], "done", "\(job)")
        XCTAssertEqual(job["model"], "realesr-animevideov3-x4", "the alias names the imported model")
        XCTAssertEqual(job["outputs"]?.arrayValue?.first?["path"]?.stringValue, d.outputDir + "/pan-x2.mp4")
        XCTAssertEqual(job["result"]?["frames"], 8)
        let states = lines.dropLast().filter { $0["method"] == "job.state" }.compactMap { $0["params"]?["state"]?.stringValue }
        XCTAssertEqual(states, ["loading", "running", "done"], "a fresh daemon loads first; no event is lost")
        let v = try XCTUnwrap(try Clips.ffprobe(d.outputDir + "/pan-x2.mp4")["streams"]?.arrayValue?.first)
        XCTAssertEqual(v["width"], 128)
        XCTAssertEqual(v["nb_read_frames"], "8")
    }

    /// ×2 to a target rate into WebM: 6 frames at 8 fps become 9 at 12 fps; the picture is the
    /// network's ×4 reduced to ×2.
    func testScaleTwoToTargetFrameRateInWebM() throws {
        let d = try startUpsampleDaemon()
        let c = try d.client()
        let input = d.outputDir + "/pan.mp4", output = d.outputDir + "/pan-x2.webm"
        try Clips.panZoom("coffee.png", to: input, frames: 6)
        let id = try submitUpsample(c, ["input": .string(input), "output": .string(output), "scale": 2, "fps": 12,
                                        "quality": 4])
        let job = try waitJob(c, id).outcome.get()
        XCTAssertEqual(job["state"], "done", "\(job)")
        XCTAssertEqual(job["result"]?["frames"], 9)
        XCTAssertEqual(job["result"]?["fps"], "12")
        let probe = try Clips.ffprobe(output)
        let v = try XCTUnwrap(probe["streams"]?.arrayValue?.first { $0["codec_type"] == "video" })
        XCTAssertEqual(v["codec_name"], "vp9")
        XCTAssertEqual(v["width"], 128)
        XCTAssertEqual(v["height"], 96)
        XCTAssertEqual(v["nb_read_frames"], "9")
        XCTAssertEqual(v["r_frame_rate"], "12/1")
        XCTAssertNotNil(probe["streams"]?.arrayValue?.first { $0["codec_type"] == "audio" && $0["codec_name"] == "opus" })
        // WebM holds no AAC: the fallback re-encodes, and the result says so and why.
        XCTAssertEqual(job["result"]?["audio_mode"], "encode")
        XCTAssertEqual(job["result"]?["audio_codec"], "opus")
        let note = job["result"]?["audio_note"]?.stringValue ?? ""
        XCTAssertTrue(note.contains("aac") && note.contains("webm"), note)
        XCTAssertNil(job["result"]?["lookahead"], "no x264 in WebM")

        let store = ModelStore(root: URL(fileURLWithPath: d.modelDir))
        let srvgg = try SRVGGNetCompact(entry: store.open("realesr-animevideov3-x4"))
        let source = try VideoReader(path: input, frameRate: FrameRate(8)).readAll().map { try $0.tensor() }
        let out = try decodedFrames(output)
        // Output frame 0 is source frame 0; a 2×2 average of the ×4 is close to the Lanczos ×2.
        let x4 = clamp(try srvgg(source[0]), min: 0, max: 1)
        let averaged = try mean(try x4.reshape([3, 96, 2, 128, 2]), axis: 4)
        let down = try mean(try averaged.permute([0, 1, 3, 2]).contiguous(), axis: 3).reshape([1, 3, 96, 128])
        let bicubic = clamp(try interpolate(source[0], scaleFactor: 2, mode: .bicubic), min: 0, max: 1)
        let p = psnr(out[0], down)
        XCTAssertGreaterThan(p, 30, "the network's picture, reduced")
        XCTAssertGreaterThan(p, psnr(out[0], bicubic), "closer to the network than to a bicubic x2")
    }

    /// RIFE's scene-cut rule: across the cut the in-between frame repeats the frame before it.
    func testSceneCutRepeatsInsteadOfMorphing() throws {
        let d = try startUpsampleDaemon()
        let c = try d.client()
        let input = d.outputDir + "/cut.mp4", output = d.outputDir + "/cut-x4.mp4"
        try Clips.sceneCut(to: input)
        let id = try submitUpsample(c, ["input": .string(input), "output": .string(output), "fps_factor": 2, "quality": 0])
        let job = try waitJob(c, id).outcome.get()
        XCTAssertEqual(job["state"], "done", "\(job)")
        XCTAssertEqual(job["result"]?["scene_cuts"], 1)
        XCTAssertEqual(job["result"]?["audio"], false)
        let out = try decodedFrames(output)
        XCTAssertEqual(out.count, 12)
        // Source frames 2 | 3 straddle the cut: output 5 repeats output 4; output 3 (inside the first shot) does not repeat 2.
        XCTAssertGreaterThan(psnr(out[5], out[4]), 45)
        XCTAssertLessThan(psnr(out[3], out[2]), 40)
    }

    /// Cancel a running job: it stops between frames, nothing is left under the output name or
    /// beside it, and the daemon (and the resident model) go on serving.
    func testCancelMidJob() throws {
        let d = try startUpsampleDaemon()
        let c = try d.client()
        let input = d.outputDir + "/long.mp4", output = d.outputDir + "/long-x4.mp4"
        try Clips.panZoom("astronaut.png", to: input, frames: 48, audio: false)
        let id = try submitUpsample(c, ["input": .string(input), "output": .string(output)])
        _ = try c.waitForNotification(timeout: 3600) {
            $0.method == "job.progress" && $0.params["id"]?.stringValue == id && $0.params["phase"] == "upsample"
                && ($0.params["step"]?.intValue ?? 0) >= 1
        }
        XCTAssertNotEqual(try c.result("job.cancel", ["id": .string(id)])["state"], "done")
        let e = try XCTUnwrap(try waitJob(c, id).outcome.failureValue)
        XCTAssertEqual(e.code, .cancelled)
        let step = try XCTUnwrap(e.data?["progress"]?["step"]?.intValue)
        XCTAssertLessThan(step, 48, "stopped between frames")
        let left = try FileManager.default.contentsOfDirectory(atPath: d.outputDir).filter { $0 != "long.mp4" }
        XCTAssertEqual(left, [], "no output and no partial file")

        let small = d.outputDir + "/small.mp4"
        try Clips.panZoom("coffee.png", to: small, frames: 2, audio: false)
        let next = try submitUpsample(c, ["input": .string(small), "output": .string(d.outputDir + "/small-x3.mp4"), "scale": 3])
        let job = try waitJob(c, next).outcome.get()
        XCTAssertEqual(job["state"], "done")
        XCTAssertEqual(job["result"]?["width"], 192)
        XCTAssertEqual(job["result"]?["height"], 144)
    }

    /// Bad params get clear errors, nothing is written, and the daemon goes on.
    func testBadParamsAreRefusedClearly() throws {
        let d = try startUpsampleDaemon(models: ["realesr-animevideov3-x4", "rife-hdv3"])
        let c = try d.client()
        let input = d.outputDir + "/in.mp4"
        try Clips.panZoom("coffee.png", to: input, frames: 2, audio: false)
        func submitError(_ params: JSONObject, model: String = "realesr-animevideov3-x4") throws -> RPCError {
            try c.error("job.submit", ["method": "video.upsample", "params": .object(params), "model": .string(model)])
        }
        let out = d.outputDir + "/out.mp4"

        let scale = try submitError(["input": .string(input), "output": .string(out), "scale": 5])
        XCTAssertEqual(scale.code, .invalidParams)
        XCTAssertEqual(scale.data?["field"], "/params/scale")

        let missing = try submitError(["input": .string(d.outputDir + "/nope.mp4"), "output": .string(out)])
        XCTAssertEqual(missing.code, .accessDenied)
        XCTAssertEqual(missing.data?["field"], "/params/input")
        XCTAssertTrue(missing.message.contains("does not exist"), missing.message)

        let rifeOnly = try submitError(["input": .string(input), "output": .string(out)], model: "rife-hdv3")
        XCTAssertEqual(rifeOnly.code, .invalidParams)
        XCTAssertEqual(rifeOnly.data?["field"], "/model")

        for name in ["out.txt", "out.wav"] {     // no writer's ending, or one for audio alone: before the model loads
            let notVideo = try submitError(["input": .string(input), "output": .string(d.outputDir + "/" + name)])
            XCTAssertEqual(notVideo.code, .invalidParams)
            XCTAssertEqual(notVideo.data?["field"], "/params/output")
            XCTAssertTrue(notVideo.message.contains("must end in .mp4, .m4v, .mov, .webm or .mkv"), notVideo.message)
        }
        // Inputs that are not usable video, refused at job.submit from their headers (x-reel-media): junk, an
        // index-first clip cut short (it would open, and the job would meet the cut only while streaming), and
        // sound alone.
        let junk = d.outputDir + "/junk.mp4"
        try "this is not a video\n".write(toFile: junk, atomically: true, encoding: .utf8)
        let whole = d.outputDir + "/whole.mp4", cut = d.outputDir + "/cut.mp4", tone = d.outputDir + "/tone.m4a"
        try Clips.panZoom("coffee.png", to: whole, frames: 24)
        try Clips.shell(["ffmpeg", "-y", "-v", "error", "-i", whole, "-c", "copy", "-movflags", "+faststart", cut])
        try Clips.shell(["ffmpeg", "-y", "-v", "error", "-i", whole, "-vn", "-c", "copy", tone])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: cut))
        try bytes.prefix(bytes.count * 6 / 10).write(to: URL(fileURLWithPath: cut))
        try FileManager.default.removeItem(atPath: whole)
        for (path, reason, words) in [(junk, "not_media", "not a media file"), (cut, "truncated", "a copy or download stopped early"),
                                      (tone, "no_stream", "holds no video stream")] {
            let e = try submitError(["input": .string(path), "output": .string(out)])
            XCTAssertEqual(e.code, .badMedia, "\(path): \(e)")
            XCTAssertEqual(e.data?["field"], "/params/input")
            XCTAssertEqual(e.data?["reason"]?.stringValue, reason, "\(path): \(e)")
            XCTAssertTrue(e.message.contains(words), e.message)
        }
        XCTAssertEqual(try c.result("model.ps")["models"]?.arrayValue?.count, 0, "no model loaded for refused jobs")
        XCTAssertEqual(try c.result("job.list")["jobs"]?.arrayValue?.count, 0, "no job made for refused submissions")

        // Refused when the job runs: both rate options, the output is the input.
        let cases: [(JSONObject, RPCErrorCode, String)] = [
            (["input": .string(input), "output": .string(out), "fps": 24, "fps_factor": 2], .invalidParams, "not both"),
            (["input": .string(input), "output": .string(input)], .invalidParams, "is the input"),
        ]
        for (params, code, words) in cases {
            let id = try submitUpsample(c, params)
            // job.wait answers -32004 for a failed job; the job's own error carries the code.
            let e = try XCTUnwrap(try waitJob(c, id).outcome.failureValue, "\(params) must fail")
            XCTAssertEqual(e.code, .pluginFailure, "\(params): \(e)")
            XCTAssertEqual(e.data?["state"], "failed")
            XCTAssertEqual(e.data?["error"]?["code"]?.intValue, Int64(code.rawValue), "\(params): \(e)")
            XCTAssertTrue(e.message.contains(words), "\(params): \(e.message)")
        }
        XCTAssertTrue(e2eNothingWritten(d.outputDir, keep: ["in.mp4", "junk.mp4", "cut.mp4", "tone.m4a"]))
        XCTAssertNotNil(try c.result("reel.info")["version"], "still serving")
        XCTAssertTrue(d.isRunning)
    }

    private func e2eNothingWritten(_ dir: String, keep: Set<String>) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).allSatisfy { keep.contains($0) }
    }
}

extension VideoFrame {
    func tensor() throws -> Tensor { try Tensor(pixels, shape: [1, 3, height, width]) }
}

extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
