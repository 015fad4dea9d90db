// media.probe through the real daemon: a file made by the ffmpeg CLI with reel's label
// tags is read back with its streams and label; bad files get a clear error; the
// daemon keeps serving.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class MediaProbeTests: XCTestCase {
    func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-v", "error", "-y"] + args
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ffmpeg \(args)")
    }

    func testProbeReadsStreamsAndTheAIGeneratedLabel() throws {
        let d = try startDaemon()
        let c = try d.client()
        let clip = d.outputDir + "/labelled.mp4"
        try FileManager.default.createDirectory(atPath: d.outputDir, withIntermediateDirectories: true)
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=16:duration=1",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-metadata", "reel_ai_generated=true", "-metadata", "reel_generator=reel 0.1.0",
                    "-metadata", "reel_model=reel-t2v-default", "-metadata", "reel_plugin=text-to-video",
                    "-metadata", "reel_plugin_version=0.1.0", "-metadata", "reel_prompt=a red ball bouncing on green grass",
                    "-metadata", "reel_seed=7", "-movflags", "+use_metadata_tags", clip])

        let info = try c.result("media.probe", ["path": .string(clip)])
        XCTAssertEqual(info["path"]?.stringValue, clip)
        let streams = info["streams"]?.arrayValue ?? []
        let video = try XCTUnwrap(streams.first { $0["kind"] == "video" })
        XCTAssertEqual(video["codec"], "h264")
        XCTAssertEqual(video["width"], 96)
        XCTAssertEqual(video["height"], 64)
        XCTAssertEqual(video["fps"]?.doubleValue, 16)
        let audio = try XCTUnwrap(streams.first { $0["kind"] == "audio" })
        XCTAssertEqual(audio["codec"], "aac")
        XCTAssertEqual(audio["sample_rate"], 48000)
        let label = try XCTUnwrap(info["label"])
        XCTAssertEqual(label["ai_generated"], true)
        XCTAssertEqual(label["model"], "reel-t2v-default")
        XCTAssertEqual(label["prompt"], "a red ball bouncing on green grass")
        XCTAssertEqual(label["seed"], 7)
        XCTAssertTrue(info["summary"]?.stringValue?.contains("a red ball bouncing on green grass") ?? false)
        XCTAssertEqual(info["cut_short"], false)
        XCTAssertNil(SchemaValidator.firstViolation(of: info, against: Schemas.mediaInfo))

        // The same file with its index moved to the front and its end cut off: it still opens, and the probe
        // says it was cut short (its header indexes more than the file holds).
        let front = d.outputDir + "/front.mp4", cut = d.outputDir + "/cut.mp4"
        try ffmpeg(["-i", clip, "-c", "copy", "-movflags", "+faststart", front])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: front))
        try bytes.prefix(bytes.count * 7 / 10).write(to: URL(fileURLWithPath: cut))
        let whole = try c.result("media.probe", ["path": .string(front)])
        XCTAssertEqual(whole["cut_short"], false)
        let cutInfo = try c.result("media.probe", ["path": .string(cut)])
        XCTAssertEqual(cutInfo["cut_short"], true)
        XCTAssertEqual(cutInfo["indexed_end"], whole["indexed_end"])
        XCTAssertTrue(cutInfo["summary"]?.stringValue?.contains("cut short") ?? false, "\(cutInfo)")
        XCTAssertNil(SchemaValidator.firstViolation(of: cutInfo, against: Schemas.mediaInfo))

        // A file with no label has label null, not an error.
        let plain = d.outputDir + "/plain.wav"
        try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100:duration=0.5", plain])
        XCTAssertEqual(try c.result("media.probe", ["path": .string(plain)])["label"], .null)
    }

    func testBadFilesGetClearErrorsAndTheDaemonKeepsServing() throws {
        let d = try startDaemon()
        let c = try d.client()
        try FileManager.default.createDirectory(atPath: d.outputDir, withIntermediateDirectories: true)
        let text = d.outputDir + "/notes.mp4"
        try "these are not frames".write(toFile: text, atomically: true, encoding: .utf8)
        var e = try c.error("media.probe", ["path": .string(text)])
        XCTAssertEqual(e.code, .badMedia)
        XCTAssertEqual(e.data?["reason"], "not_media")
        XCTAssertEqual(e.data?["path"]?.stringValue, text)
        XCTAssertTrue(e.message.contains(text), e.message)

        e = try c.error("media.probe", ["path": .string(d.outputDir + "/missing.mp4")])
        XCTAssertEqual(e.code, .accessDenied)
        XCTAssertTrue(e.message.contains("does not exist"), e.message)

        e = try c.error("media.probe", ["path": "relative.mp4"])
        XCTAssertEqual(e.code, .accessDenied)

        e = try c.error("media.probe", [:])
        XCTAssertEqual(e.code, .invalidParams)
        XCTAssertEqual(e.data?["field"], "/path")

        XCTAssertEqual(try c.result("reel.info")["version"]?.stringValue?.isEmpty, false)
    }
}
