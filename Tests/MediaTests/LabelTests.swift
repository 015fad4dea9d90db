import Foundation
import XCTest
@testable import ReelMedia

/// The AI-generated label: its two written forms, and what other tools see of it.
final class LabelTests: MediaTestCase {
    func testCommentFormRoundTripsAnyPrompt() {
        let tricky = GenerationLabel(model: "wan 2.1: t2v", plugin: "text to video", pluginVersion: "1.0.0-beta 2",
                                     prompt: "line one\nmodel: not a key\nprompt: still the prompt ü 雪", seed: .max,
                                     generator: "reel 9.9")
        let parsed = GenerationLabel(comment: tricky.comment)
        XCTAssertEqual(parsed, tricky)
        XCTAssertTrue(tricky.comment.hasPrefix(GenerationLabel.commentHeadline))
        XCTAssertNil(GenerationLabel(comment: "just a comment"))
    }

    func testTagsAreReadCaseInsensitivelyAndFallBackToTheComment() {
        let label = self.label()
        var upper: [String: String] = [:]
        for (k, v) in label.tags { upper[k.uppercased()] = v }
        XCTAssertEqual(GenerationLabel(tags: upper), label)
        XCTAssertEqual(GenerationLabel(tags: ["comment": label.comment]), label)
        XCTAssertEqual(GenerationLabel(tags: ["ICMT": label.comment]), label)
        XCTAssertNil(GenerationLabel(tags: ["title": "holiday", "comment": "nice"]))
        XCTAssertEqual(label.tags.first { $0.key == GenerationLabel.Key.aiGenerated }?.value, "true")
    }

    /// ffprobe -show_format shows the keys in MP4 (thanks to use_metadata_tags), WebM and FLAC, and
    /// the comment in WAV; a Unicode prompt survives each.
    func testFFprobeShowsTheLabelInEveryContainer() throws {
        let label = self.label(prompt: "ein Fuchs im Schnee — 雪の中の狐")
        for name in ["l.mp4", "l.webm", "l.flac", "l.wav"] {
            let path = file(name)
            let hasVideo = name.hasSuffix("mp4") || name.hasSuffix("webm")
            let writer = try MediaWriter(path: path,
                                         video: hasVideo ? VideoFormat(width: 32, height: 32, frameRate: FrameRate(10)) : nil,
                                         audio: AudioFormat(sampleRate: 48_000, channels: 2), label: label)
            if hasVideo { try writer.append(frame: patternFrame(width: 32, height: 32, index: 0)) }
            try writer.append(audio: tone(seconds: 0.1, rate: 48_000, channels: 2))
            try writer.finish()

            let text = try run("ffprobe", ["-v", "error", "-show_format", path])
            if name.hasSuffix("wav") {
                XCTAssertTrue(text.contains("TAG:comment=\(GenerationLabel.commentHeadline)"), name)
            } else {
                let prefix = name.hasSuffix("webm") ? "TAG:REEL_" : "TAG:reel_"
                XCTAssertTrue(text.contains("\(prefix)\(name.hasSuffix("webm") ? "AI_GENERATED" : "ai_generated")=true"), name)
                XCTAssertTrue(text.contains("\(prefix)\(name.hasSuffix("webm") ? "PROMPT" : "prompt")=\(label.prompt)"), "\(name): \(text)")
                XCTAssertTrue(text.contains("\(prefix)\(name.hasSuffix("webm") ? "SEED" : "seed")=\(label.seed)"), name)
            }
            XCTAssertEqual(try probe(path).label, label, name)
        }
    }

    func testPNGChunksAreValidAndVisibleToFFmpeg() throws {
        let path = file("l.png")
        let label = self.label(prompt: "ascii prompt")
        try writePNG(VideoFrame(width: 8, height: 8, red: 0.2, green: 0.4, blue: 0.6), to: path, label: label,
                     metadata: ["Title": "thumbnail"])
        let bytes = Array(try XCTUnwrap(FileManager.default.contents(atPath: path)))
        XCTAssertEqual(PNGTextChunks.read(bytes)["reel_seed"], "1234567890123")
        XCTAssertEqual(PNGTextChunks.read(bytes)["Title"], "thumbnail")
        // FFmpeg's PNG decoder checks nothing about CRCs, but it does surface tEXt as frame tags.
        let frames = try run("ffprobe", ["-v", "error", "-show_frames", path])
        XCTAssertTrue(frames.contains("TAG:reel_model=wan2.1-t2v-tiny"), frames)
        XCTAssertTrue(frames.contains("TAG:reel_ai_generated=true"), frames)
        // Each chunk's CRC is right (a strict reader would reject the file otherwise).
        var at = 8
        while at + 12 <= bytes.count {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            let body = Array(bytes[at + 4 ..< at + 8 + length])
            let stored = UInt32(bytes[at + 8 + length]) << 24 | UInt32(bytes[at + 9 + length]) << 16 |
                UInt32(bytes[at + 10 + length]) << 8 | UInt32(bytes[at + 11 + length])
            XCTAssertEqual(PNGTextChunks.crc32(body), stored, String(decoding: body.prefix(4), as: UTF8.self))
            at += 12 + length
        }
        XCTAssertEqual(at, bytes.count)
    }

    func testFilesWithoutALabelHaveNone() throws {
        let path = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=32x32:duration=0.2", "-c:v", "libx264",
                               "-metadata", "comment=shot on a phone"], output: "phone.mp4")
        XCTAssertNil(try probe(path).label)
        let png = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=32x32", "-frames:v", "1"], output: "plain.png")
        XCTAssertNil(try probe(png).label)
    }
}

final class ProbeTextTests: MediaTestCase {
    func testSummaryShowsStreamsAndLabel() throws {
        let path = file("s.mp4")
        let writer = try MediaWriter(path: path, video: VideoFormat(width: 48, height: 32, frameRate: FrameRate(10)),
                                     audio: AudioFormat(sampleRate: 48_000, channels: 2), label: label())
        for i in 0 ..< 10 { try writer.append(frame: patternFrame(width: 48, height: 32, index: i)) }
        try writer.append(audio: tone(seconds: 1, rate: 48_000, channels: 2))
        try writer.finish()
        let text = try probe(path).description
        XCTAssertTrue(text.contains("#0 video: h264 48x32 10 fps yuv420p, 10 frames"), text)
        XCTAssertTrue(text.contains("#1 audio: aac 48000 Hz stereo fltp"), text)
        XCTAssertTrue(text.contains("AI-generated: model wan2.1-t2v-tiny, plugin text-to-video 0.1.0, seed 1234567890123"), text)
        XCTAssertTrue(text.contains("prompt: a red fox runs through snow, golden hour"), text)
    }
}
