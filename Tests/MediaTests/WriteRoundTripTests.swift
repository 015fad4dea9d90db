import Foundation
import XCTest
@testable import ReelMedia

/// Files written by `MediaWriter` / `writePNG`, checked by ffprobe and read back by the readers.
final class WriteRoundTripTests: MediaTestCase {
    func testMP4WithAudioIsH264AndAAC() throws {
        let path = file("clip.mp4")
        let writer = try MediaWriter(path: path, video: VideoFormat(width: 96, height: 64, frameRate: FrameRate(24)),
                                     audio: AudioFormat(sampleRate: 16_000, channels: 1), label: label())
        for i in 0 ..< 24 {
            try writer.append(frame: patternFrame(width: 96, height: 64, index: i))
            if i % 6 == 5 { try writer.append(audio: tone(seconds: 0.25, rate: 16_000, channels: 1)) }
        }
        try writer.finish()

        let p = try ffprobe(path, countFrames: true)
        XCTAssertEqual(p["streams.stream.0.codec_name"], "h264")
        XCTAssertEqual(p["streams.stream.0.pix_fmt"], "yuv420p")
        XCTAssertEqual(p["streams.stream.0.width"], "96")
        XCTAssertEqual(p["streams.stream.0.height"], "64")
        XCTAssertEqual(p["streams.stream.0.nb_read_frames"], "24")
        XCTAssertEqual(p["streams.stream.0.r_frame_rate"], "24/1")
        XCTAssertEqual(p["streams.stream.0.color_space"], "bt709")
        XCTAssertEqual(p["streams.stream.1.codec_name"], "aac")
        XCTAssertEqual(p["streams.stream.1.sample_rate"], "48000")
        XCTAssertEqual(p["streams.stream.1.channels"], "2")
        XCTAssertEqual(try XCTUnwrap(Double(p["format.duration"] ?? "")), 1.0, accuracy: 0.05)
        XCTAssertEqual(p["format.tags.reel_ai_generated"], "true")
        XCTAssertEqual(p["format.tags.reel_model"], "wan2.1-t2v-tiny")
        XCTAssertEqual(p["format.tags.reel_seed"], "1234567890123")
        XCTAssertEqual(p["format.tags.reel_prompt"], "a red fox runs through snow, golden hour")
        XCTAssertEqual(p["format.tags.reel_plugin_version"], "0.1.0")
        XCTAssertNil(p["format.tags.reel_source_size"], "even sizes are not padded")
        XCTAssertFalse(FileManager.default.fileExists(atPath: file(".clip.mp4.partial-\(getpid())")))

        // faststart: the index (moov) comes before the media data (mdat).
        let head = try XCTUnwrap(FileManager.default.contents(atPath: path)).prefix(4096)
        let moov = try XCTUnwrap(head.range(of: Data("moov".utf8)))
        if let mdat = head.range(of: Data("mdat".utf8)) { XCTAssertLessThan(moov.lowerBound, mdat.lowerBound) }

        // Read back: frame count, size, timing and picture content.
        let reader = try VideoReader(path: path)
        let frames = try reader.readAll()
        XCTAssertEqual(frames.count, 24)
        for (i, frame) in frames.enumerated() {
            XCTAssertEqual(frame.time, Double(i) / 24, accuracy: 1e-6)
            let expected = patternFrame(width: 96, height: 64, index: i)
            XCTAssertLessThan(meanAbsoluteError(frame, expected), 0.02, "frame \(i)")
        }
        let audio = try AudioReader(path: path, sampleRate: 16_000, channels: 1).readAll()
        XCTAssertEqual(audio.duration, 1.0, accuracy: 0.03)
    }

    func testWebMIsVP9AndOpus() throws {
        let path = file("clip.webm")
        let writer = try MediaWriter(path: path, video: VideoFormat(width: 64, height: 48, frameRate: FrameRate(12)),
                                     audio: AudioFormat(sampleRate: 48_000, channels: 2), label: label())
        for i in 0 ..< 12 { try writer.append(frame: patternFrame(width: 64, height: 48, index: i)) }
        try writer.append(audio: tone(seconds: 1, rate: 48_000, channels: 2))
        try writer.finish()

        let p = try ffprobe(path, countFrames: true)
        XCTAssertEqual(p["streams.stream.0.codec_name"], "vp9")
        XCTAssertEqual(p["streams.stream.0.width"], "64")
        XCTAssertEqual(p["streams.stream.0.nb_read_frames"], "12")
        XCTAssertEqual(p["streams.stream.1.codec_name"], "opus")
        XCTAssertEqual(p["streams.stream.1.sample_rate"], "48000")
        XCTAssertEqual(try XCTUnwrap(Double(p["format.duration"] ?? "")), 1.0, accuracy: 0.05)
        // Matroska stores tag names in upper case.
        XCTAssertEqual(p["format.tags.REEL_AI_GENERATED"], "true")
        XCTAssertEqual(p["format.tags.REEL_SEED"], "1234567890123")
        XCTAssertEqual(p["format.tags.REEL_PROMPT"], "a red fox runs through snow, golden hour")

        let frames = try VideoReader(path: path).readAll()
        XCTAssertEqual(frames.count, 12)
        XCTAssertLessThan(meanAbsoluteError(frames[5], patternFrame(width: 64, height: 48, index: 5)), 0.03)
        XCTAssertEqual(try probe(path).label, label())
    }

    func testWAVAndFLACKeepRateChannelsAndSamples() throws {
        for name in ["tone.wav", "tone.flac"] {
            let path = file(name)
            let input = tone(seconds: 0.5, rate: 22_050, channels: 2, frequency: 1000)
            let writer = try MediaWriter(path: path, audio: AudioFormat(sampleRate: 22_050, channels: 2), label: label())
            try writer.append(audio: input)
            try writer.finish()

            let p = try ffprobe(path)
            XCTAssertEqual(p["streams.stream.0.codec_name"], name.hasSuffix("wav") ? "pcm_s16le" : "flac")
            XCTAssertEqual(p["streams.stream.0.sample_rate"], "22050")
            XCTAssertEqual(p["streams.stream.0.channels"], "2")
            XCTAssertEqual(try XCTUnwrap(Double(p["format.duration"] ?? "")), 0.5, accuracy: 0.001)
            XCTAssertTrue(p["format.tags.comment"]?.hasPrefix(GenerationLabel.commentHeadline) ?? false, name)
            if name.hasSuffix("flac") {
                XCTAssertEqual(p["format.tags.reel_model"], "wan2.1-t2v-tiny")
            }
            XCTAssertEqual(try probe(path).label, label(), name)

            // 16-bit lossless: the samples come back to within quantisation.
            let back = try AudioReader(path: path, sampleRate: 22_050, channels: 2).readAll()
            XCTAssertEqual(back.frameCount, input.frameCount, name)
            let worst = zip(back.samples, input.samples).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThan(worst, 1.0 / 16_000, name)
        }
    }

    func testPNGKeepsPixelsAndLabel() throws {
        let path = file("still.png")
        let frame = patternFrame(width: 33, height: 17, index: 3)
        let unicodeLabel = label(prompt: "un renard roux — 雪の中")
        try writePNG(frame, to: path, label: unicodeLabel)

        let p = try ffprobe(path)
        XCTAssertEqual(p["streams.stream.0.codec_name"], "png")
        XCTAssertEqual(p["streams.stream.0.width"], "33")
        XCTAssertEqual(p["streams.stream.0.height"], "17")
        let info = try probe(path)
        XCTAssertEqual(info.label, unicodeLabel)
        XCTAssertEqual(info.tags["reel_model"], "wan2.1-t2v-tiny")

        let back = try readImage(path: path)
        XCTAssertEqual(back.width, 33)
        XCTAssertEqual(back.height, 17)
        // 8-bit PNG: within half a quantisation step.
        let worst = zip(back.pixels, frame.pixels).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThanOrEqual(worst, 0.5 / 255 + 1e-6)
    }

    /// H.264 4:2:0 needs even sizes: the writer pads by edge replication, records the true size,
    /// and the reader crops back to it.
    func testOddSizeIsPaddedAndCroppedBack() throws {
        let path = file("odd.mp4")
        let writer = try MediaWriter(path: path, video: VideoFormat(width: 75, height: 41, frameRate: FrameRate(10)))
        XCTAssertEqual(writer.codedSize, PixelSize(76, 42))
        for i in 0 ..< 5 { try writer.append(frame: patternFrame(width: 75, height: 41, index: i)) }
        try writer.finish()

        let p = try ffprobe(path)
        XCTAssertEqual(p["streams.stream.0.width"], "76")
        XCTAssertEqual(p["streams.stream.0.height"], "42")
        XCTAssertEqual(p["format.tags.reel_source_size"], "75x41")

        let reader = try VideoReader(path: path)
        XCTAssertEqual(reader.outputSize, PixelSize(75, 41))
        let frames = try reader.readAll()
        XCTAssertEqual(frames.count, 5)
        XCTAssertLessThan(meanAbsoluteError(frames[2], patternFrame(width: 75, height: 41, index: 2)), 0.03)
        // VP9 takes odd sizes as they are.
        let webm = file("odd.webm")
        let w2 = try MediaWriter(path: webm, video: VideoFormat(width: 75, height: 41, frameRate: FrameRate(10)))
        XCTAssertEqual(w2.codedSize, PixelSize(75, 41))
        try w2.append(frame: patternFrame(width: 75, height: 41, index: 0))
        try w2.finish()
        XCTAssertEqual(try ffprobe(webm)["streams.stream.0.width"], "75")
    }

    /// The file name's ending picks the container, in any case; the media type is the muxer's.
    func testContainerFromFileName() {
        let cases: [(String, MediaContainer?)] = [
            ("/o/a.mp4", .mp4), ("/o/a.M4V", .mp4), ("a.mov", .mp4), ("/o/a.b/c.WebM", .webm), ("c.mkv", .webm),
            ("s.wav", .wav), ("s.FLAC", .flac), ("/o/a.avi", nil), ("/o/mp4", nil), ("/o.mp4/a", nil), ("", nil),
        ]
        for (path, want) in cases { XCTAssertEqual(MediaContainer(path: path), want, path) }
        XCTAssertEqual(MediaContainer.videoFileExtensions, [".mp4", ".m4v", ".mov", ".webm", ".mkv"])
        XCTAssertEqual(MediaContainer(path: "a.mov")?.mediaType, "video/mp4")
        XCTAssertEqual(MediaContainer(path: "a.mkv")?.mediaType, "video/webm")
        XCTAssertEqual(MediaContainer(path: "a.flac")?.mediaType, "audio/flac")
    }

    func testInterleavedFrameHelpersAreInverse() {
        let frame = patternFrame(width: 5, height: 3, index: 7)
        let interleaved = frame.interleaved()
        XCTAssertEqual(Array(interleaved[0 ..< 3]), [frame[0, 0, 0], frame[1, 0, 0], frame[2, 0, 0]])
        XCTAssertEqual(VideoFrame(width: 5, height: 3, interleaved: interleaved), frame)
    }

    func testOutOfRangeAndNaNPixelsAreClamped() throws {
        let path = file("clamp.png")
        var pixels = [Float](repeating: 2, count: 3 * 4 * 4)      // above 1 -> white
        for i in 16 ..< 32 { pixels[i] = -1 }                     // G below 0 -> 0
        for i in 32 ..< 48 { pixels[i] = .nan }                   // B NaN -> 0
        try writePNG(VideoFrame(width: 4, height: 4, pixels: pixels), to: path)
        let back = try readImage(path: path)
        let means = back.channelMeans()
        XCTAssertEqual(means.red, 1, accuracy: 1e-6)
        XCTAssertEqual(means.green, 0, accuracy: 1e-6)
        XCTAssertEqual(means.blue, 0, accuracy: 1e-6)
    }

    func testWriterRefusesWrongFramesAndGoesOn() throws {
        let path = file("wrong.mp4")
        let writer = try MediaWriter(path: path, video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(8)))
        try writer.append(frame: patternFrame(width: 32, height: 32, index: 0))
        assertMediaError(.invalidArgument, path: path) { try writer.append(frame: patternFrame(width: 16, height: 32, index: 1)) }
        var short = patternFrame(width: 32, height: 32, index: 1)
        short.pixels.removeLast(10)
        assertMediaError(.invalidArgument, path: path) { try writer.append(frame: short) }
        // Refused frames do not spoil the file: the writer goes on.
        try writer.append(frame: patternFrame(width: 32, height: 32, index: 1))
        try writer.finish()
        XCTAssertEqual(try ffprobe(path, countFrames: true)["streams.stream.0.nb_read_frames"], "2")
        assertMediaError(.invalidArgument, path: path) { try writer.append(frame: patternFrame(width: 32, height: 32, index: 2)) }
        assertMediaError(.invalidArgument, path: path) { try writer.finish() }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["wrong.mp4"])
    }

    func testCancelledWriterLeavesNothing() throws {
        let path = file("cancel.webm")
        let writer = try MediaWriter(path: path, video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(8)))
        try writer.append(frame: patternFrame(width: 32, height: 32, index: 0))
        writer.cancel()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }
}

func meanAbsoluteError(_ a: VideoFrame, _ b: VideoFrame) -> Double {
    precondition(a.pixels.count == b.pixels.count)
    var sum: Double = 0
    for i in 0 ..< a.pixels.count { sum += Double(abs(a.pixels[i] - b.pixels[i])) }
    return sum / Double(a.pixels.count)
}
