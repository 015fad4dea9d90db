import Foundation
import ReelEngine
import ReelMedia
import ReelModels
import ReelProtocol
import ReelTestSupport
import XCTest

/// video.generate end to end through the real reeld on a temporary socket: a
/// WanPipeline directory in diffusers' layout assembled from the parity
/// fixtures (tiny random transformer, VAE, scheduler) and the text helper's tiny
/// UMT5 with its SentencePiece tokenizer (Tests/TextEncoderTests/Fixtures/umt5-tiny).
final class TextToVideoPluginTests: XCTestCase {
    static let repoTests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    func makeModel(in dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try #"{"_class_name": "WanPipeline", "_diffusers_version": "0.42.1"}"#.write(toFile: dir + "/model_index.json", atomically: true, encoding: .utf8)
        try fm.copyItem(atPath: Fixtures.path("transformer_bf16_sharded"), toPath: dir + "/transformer")
        try fm.copyItem(atPath: Fixtures.path("vae"), toPath: dir + "/vae")
        try fm.copyItem(atPath: Fixtures.path("scheduler"), toPath: dir + "/scheduler")
        let umt5 = Self.repoTests.appendingPathComponent("TextEncoderTests/Fixtures/umt5-tiny").path
        try fm.copyItem(atPath: umt5 + "/text_encoder", toPath: dir + "/text_encoder")
        try fm.copyItem(atPath: umt5 + "/tokenizer", toPath: dir + "/tokenizer")
        try #"{"format": "reel-model/1", "task": "text-to-video", "defaults": {"steps": 3, "width": 32, "height": 32, "num_frames": 9, "fps": 8, "guidance_scale": 4.0}}"#
            .write(toFile: dir + "/reel.json", atomically: true, encoding: .utf8)
    }

    func startDaemon() throws -> DaemonProcess {
        // The build directory itself is the plugin directory: there the plugin finds libReelEngine.so ($ORIGIN).
        _ = try BuildProducts.path("libReelTextToVideo.so")
        let d = try DaemonProcess(settings: ["plugin_dirs": "[\"\(BuildProducts.directory)\"]"], plugins: [])
        try makeModel(in: d.modelDir + "/tiny-wan")
        try d.start()
        return d
    }

    /// Submits and waits (a hang guard, never a speed check); returns the finished job.
    func generate(_ c: RPCClient, _ params: JSONObject) throws -> JSON {
        let job = try c.result("job.submit", ["method": "video.generate", "params": .object(params), "model": "tiny-wan"])
        let id = try XCTUnwrap(job["id"]?.stringValue)
        return try c.call("job.wait", ["id": .string(id)], timeout: 3600).outcome.get()
    }

    func testGenerateWritesALabelledReproducibleVideo() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        let c = try d.client()
        let out1 = d.outputDir + "/a.mp4", out2 = d.outputDir + "/b.mp4"
        let job = try generate(c, ["prompt": "a red ball bouncing on green grass", "output": .string(out1), "seed": 42])
        XCTAssertEqual(job["state"]?.stringValue, "done", "\(job)")
        let result = try XCTUnwrap(job["result"])
        XCTAssertEqual(result["frames"]?.intValue, 9)
        XCTAssertEqual(result["steps"]?.intValue, 3)
        XCTAssertEqual(result["seed"]?.intValue, 42)

        // Decoded by FFmpeg: 9 frames of 32×32 at 8 fps, with the AI-generated label and the parameters.
        let reader = try VideoReader(path: out1)
        var frames: [VideoFrame] = []
        while let f = try reader.next() { frames.append(f) }
        XCTAssertEqual(frames.count, 9)
        XCTAssertEqual(frames.first?.width, 32)
        let tags = try MediaProbe.probe(out1).tags
        XCTAssertEqual(tags[GenerationLabel.Key.aiGenerated], "true")
        XCTAssertEqual(tags[GenerationLabel.Key.prompt], "a red ball bouncing on green grass")
        XCTAssertEqual(tags[GenerationLabel.Key.seed], "42")
        XCTAssertEqual(tags[GenerationLabel.Key.model], "tiny-wan")
        XCTAssertTrue(tags["reel_parameters"]?.contains("\"guidance\":4") ?? false, "\(tags)")

        // The same seed again: the model is resident (no load phase) and the frames are identical.
        _ = try generate(c, ["prompt": "a red ball bouncing on green grass", "output": .string(out2), "seed": 42])
        let again = try VideoReader(path: out2)
        var second: [VideoFrame] = []
        while let f = try again.next() { second.append(f) }
        XCTAssertEqual(second.map(\.pixels), frames.map(\.pixels))
        // and the files are the same bytes: stream, tags and container (docs/media.md, "Repeatable output")
        XCTAssertTrue(FileManager.default.contents(atPath: out1) == FileManager.default.contents(atPath: out2),
                      "the same seed wrote different files")
        let ps = try c.result("model.ps")
        XCTAssertTrue(ps.serialized().contains("tiny-wan"), ps.serialized())
    }

    /// `reel generate` as a user runs it: a relative -o lands beside the client, --json streams the job's events
    /// from its first (those that reach the client before job.submit's answer too) and ends with the finished job.
    func testTheClientsGenerateCommand() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        let r = try ClientProcess.run(["generate", "a blue cube falls onto sand", "-o", "cube.mp4", "--model", "tiny-wan",
                                       "--seed", "3", "--steps", "2", "--json"], socket: d.socket, cwd: d.outputDir)
        XCTAssertEqual(r.status, 0, r.err)
        let lines = try r.out.split(separator: "\n").map { try JSON.parse(String($0)) }
        let job = try XCTUnwrap(lines.last)
        XCTAssertEqual(job["state"], "done", "\(job)")
        XCTAssertEqual(job["outputs"]?.arrayValue?.first?["path"]?.stringValue, d.outputDir + "/cube.mp4")
        let events = lines.dropLast()
        XCTAssertEqual(Set(events.compactMap { $0["params"]?["id"]?.stringValue }), [try XCTUnwrap(job["id"]?.stringValue)],
                       "every event is this job's")
        let states = events.filter { $0["method"] == "job.state" }.compactMap { $0["params"]?["state"]?.stringValue }
        // A fresh daemon: the model loads first. "loading" is published as the runner takes the job, often before
        // job.submit's answer reaches the client; the client keeps such early events for the stream.
        XCTAssertEqual(states, ["loading", "running", "done"])
        let steps = events.filter { $0["method"] == "job.progress" && $0["params"]?["phase"] == "denoise" }
        XCTAssertEqual(steps.last?["params"]?["step"]?.intValue, 2)
        XCTAssertEqual(try VideoReader(path: d.outputDir + "/cube.mp4").readAll().count, 9)

        // --detach: the job id at once; `reel wait` follows it to the same file.
        let detached = try ClientProcess.run(["generate", "a star", "-o", d.outputDir + "/star.mp4", "--model", "tiny-wan",
                                              "--steps", "2", "--detach"], socket: d.socket)
        XCTAssertEqual(detached.status, 0, detached.err)
        let waited = try ClientProcess.run(["wait", detached.out.trimmingCharacters(in: .whitespacesAndNewlines)], socket: d.socket)
        XCTAssertEqual(waited.status, 0, waited.err)
        XCTAssertEqual(waited.out.trimmingCharacters(in: .whitespacesAndNewlines), d.outputDir + "/star.mp4")
    }

    /// Values JSON cannot carry are refused by the client by name (a NaN would travel as null, a seed above
    /// Int64.max as a negative number), with the usage exit status, before anything reaches the daemon.
    func testTheClientRefusesValuesJSONCannotCarry() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        for (args, message) in [(["--guidance", "nan"], "--guidance must be a finite number"),
                                (["--duration", "inf"], "--duration must be a finite number"),
                                (["--seed", "9223372036854775808"], "--seed must be 0…9223372036854775807")] {
            let r = try ClientProcess.run(["generate", "a star", "-o", d.outputDir + "/x.mp4", "--model", "tiny-wan"] + args,
                                          socket: d.socket)
            XCTAssertEqual(r.status, 2, "\(args): \(r.err)")
            XCTAssertTrue(r.err.contains(message), "\(args): \(r.err)")
        }
        XCTAssertEqual(try d.client().result("job.list")["jobs"]?.arrayValue?.count, 0, "nothing was submitted")
    }

    func testImageAndBadParams() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        let c = try d.client()
        let png = d.outputDir + "/one.png"
        let r = try generate(c, ["prompt": "a star", "output": .string(png), "frames": 1, "schedule": "linear-quadratic", "steps": 2])
        XCTAssertEqual(r["state"]?.stringValue, "done", "\(r)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: png))
        // A bad size is refused at submission with an invalid-params error naming the rule (no job, no model
        // loaded for it); a bad frame count fails the job once the model says its rule; nothing is written.
        let jobs = try c.result("job.list")["jobs"]?.arrayValue?.count
        XCTAssertThrowsError(try generate(c, ["prompt": "a star", "output": .string(d.outputDir + "/x.mp4"), "width": 40])) {
            XCTAssertTrue("\($0)".contains("/params/width: must be a multiple of 16, got 40"), "\($0)")
        }
        XCTAssertEqual(try c.result("job.list")["jobs"]?.arrayValue?.count, jobs, "refused before a job was made")
        XCTAssertThrowsError(try generate(c, ["prompt": "a star", "output": .string(d.outputDir + "/x.mp4"), "frames": 4])) {
            XCTAssertTrue("\($0)".contains("frames must be 4k+1"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.outputDir + "/x.mp4"))
    }

    /// A size no machine could hold is refused with the figures before anything is allocated (an allocation
    /// the engine cannot get would end the daemon), and the daemon goes on serving.
    func testAbsurdSizeIsRefusedAndTheDaemonGoesOn() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        let c = try d.client()
        XCTAssertThrowsError(try generate(c, ["prompt": "a star", "output": .string(d.outputDir + "/huge.mp4"),
                                              "width": 4096, "height": 4096, "frames": 100001])) {
            XCTAssertTrue("\($0)".contains("a 4096x4096 video of 100001 frames needs about"), "\($0)")
            XCTAssertTrue("\($0)".contains("GiB of working memory"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.outputDir + "/huge.mp4"))
        let r = try generate(c, ["prompt": "a star", "output": .string(d.outputDir + "/small.mp4"), "steps": 1])
        XCTAssertEqual(r["state"]?.stringValue, "done", "\(r)")
        XCTAssertTrue(d.isRunning)
    }

    /// An output name no writer takes is refused when the job is submitted, before the model loads: no job, no
    /// resident model, no file. Endings are compared without case.
    func testOutputNameIsCheckedAtSubmission() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        let c = try d.client()
        for name in ["x.avi", "x.wav", "x"] {
            let e = try c.error("job.submit", ["method": "video.generate", "model": "tiny-wan",
                                               "params": ["prompt": "a star", "output": .string(d.outputDir + "/" + name)]])
            XCTAssertEqual(e.code, .invalidParams, name)
            XCTAssertEqual(e.data?["field"], "/params/output", name)
            XCTAssertTrue(e.message.contains("must end in .mp4, .m4v, .mov, .webm, .mkv or .png"), e.message)
        }
        XCTAssertEqual(try c.result("job.list")["jobs"]?.arrayValue?.count, 0)
        XCTAssertEqual(try c.result("model.ps")["models"]?.arrayValue?.count, 0, "the model must not have been loaded")
        let png = d.outputDir + "/ONE.PNG"
        let r = try generate(c, ["prompt": "a star", "output": .string(png), "frames": 1, "steps": 1])
        XCTAssertEqual(r["state"]?.stringValue, "done", "\(r)")
        XCTAssertEqual(r["outputs"]?.arrayValue?.first?["media_type"]?.stringValue, "image/png", "\(r)")
        XCTAssertEqual(try MediaProbe.probe(png).video?.width, 32)
    }

    /// Submits a generation, cancels it once its denoise phase shows, and returns job.wait's error (the job's
    /// end) after checking that nothing was written.
    func cancelDuringDenoise(_ c: RPCClient, _ params: JSONObject) throws -> RPCError {
        let job = try c.result("job.submit", ["method": "video.generate", "model": "tiny-wan", "subscribe": true,
                                              "params": .object(params)])
        let id = try XCTUnwrap(job["id"]?.stringValue)
        _ = try c.waitForNotification { $0.method == "job.progress" && $0.params["id"]?.stringValue == id && $0.params["phase"] == "denoise" }
        _ = try c.result("job.cancel", ["id": .string(id)])
        let e = try c.error("job.wait", ["id": .string(id)])
        XCTAssertEqual(e.data?["state"], "cancelled")
        XCTAssertFalse(FileManager.default.fileExists(atPath: try XCTUnwrap(params["output"]?.stringValue)))
        return e
    }

    /// Cancelling a running generation stops it between denoising steps and writes no file.
    func testCancelBetweenSteps() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        let c = try d.client()
        let e = try cancelDuringDenoise(c, ["prompt": "a long one", "output": .string(d.outputDir + "/long.mp4"), "steps": 1000,
                                            "width": 128, "height": 128])
        let step = try XCTUnwrap(e.data?["progress"]?["step"]?.intValue)
        XCTAssertLessThan(step, 1000, "stopped at a step boundary")
        // The daemon and the resident model serve the next job.
        let next = try generate(c, ["prompt": "after", "output": .string(d.outputDir + "/after.mp4"), "steps": 1])
        XCTAssertEqual(next["state"]?.stringValue, "done")
    }

    /// A cancel that arrives during a step stops it inside the step (before the transformer's next block, or
    /// inside attention), not after it: one step of a large model on a CPU can take minutes. The single step here
    /// (69 632 tokens) never completes.
    func testCancelWithinAStep() throws {
        let d = try startDaemon()
        defer { _ = d.stop() }
        let e = try cancelDuringDenoise(try d.client(), ["prompt": "a wide one", "output": .string(d.outputDir + "/wide.mp4"),
                                                         "steps": 1, "width": 1024, "height": 1024, "frames": 65])
        XCTAssertEqual(e.data?["progress"]?["phase"], "denoise")
        XCTAssertEqual(e.data?["progress"]?["step"]?.intValue, 0, "stopped inside the step")
    }
}
