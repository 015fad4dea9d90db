import Foundation
import XCTest
@testable import ReelMedia

/// Audio copied from one file into another without re-encoding (`AudioPacketReader` into
/// `MediaWriter(copyingAudio:)`): ffprobe's hash of every packet is the same in both files, the
/// durations match, a flash and a click stay together when the video's frame rate changes, and
/// what a container cannot hold or a damaged input is refused with a clear error.
final class StreamCopyTests: MediaTestCase {
    /// ffprobe's view of the first audio stream's packets: pts, duration and SHA-256 of the bytes.
    func audioPackets(_ path: String) throws -> [(pts: String, duration: String, hash: String)] {
        let text = try run("ffprobe", ["-v", "error", "-select_streams", "a:0", "-show_packets", "-show_data_hash", "sha256",
                                       "-show_entries", "packet=pts_time,duration_time,data_hash", "-of", "json", path])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let packets = try XCTUnwrap(json["packets"] as? [[String: Any]])
        return packets.map { ($0["pts_time"] as? String ?? "", $0["duration_time"] as? String ?? "", $0["data_hash"] as? String ?? "") }
    }

    func audioDuration(_ path: String) throws -> Double {
        let probe = try ffprobe(path)
        let index = try XCTUnwrap((0 ..< 4).first { probe["streams.stream.\($0).codec_type"] == "audio" }, "\(path) has audio")
        if let d = Double(probe["streams.stream.\(index).duration"] ?? "") { return d }
        // Matroska keeps it in a DURATION tag, HH:MM:SS.fraction.
        let tag = try XCTUnwrap(probe["streams.stream.\(index).tags.DURATION"], "\(path): audio duration")
        let parts = tag.split(separator: ":").compactMap { Double($0) }
        XCTAssertEqual(parts.count, 3, tag)
        return parts.reduce(0) { $0 * 60 + $1 }
    }

    /// Re-times `input`'s video to `rate` through VideoReader/MediaWriter and copies its audio,
    /// interleaved by time as the upsample plugin does.
    @discardableResult
    func remux(_ input: String, to output: String, rate: FrameRate) throws -> Int {
        let video = try VideoReader(path: input, frameRate: rate)
        let audio = try AudioPacketReader(path: input)
        try MediaWriter.checkCopy(audio.format, into: try XCTUnwrap(MediaContainer(path: output)))
        let writer = try MediaWriter(path: output, video: VideoFormat(width: video.outputSize.width, height: video.outputSize.height,
                                                                      frameRate: rate),
                                     copyingAudio: audio.format, settings: EncoderSettings(preset: "ultrafast"))
        var pending = try audio.next()
        var frames = 0
        while let frame = try video.next() {
            try writer.append(frame: frame)
            frames += 1
            let shown = Double(frames) * Double(rate.denominator) / Double(rate.numerator)
            while let p = pending, p.time < shown {
                try writer.append(audioPacket: p)
                pending = try audio.next()
            }
        }
        while let p = pending {
            try writer.append(audioPacket: p)
            pending = try audio.next()
        }
        try writer.finish()
        return frames
    }

    /// `durationSlack`: a muxer that stores the stream's end padding (Matroska's DiscardPadding) states a
    /// duration up to one packet shorter than one that does not, for the very same packets.
    func assertSamePackets(_ input: String, _ output: String, durationSlack: Double = 0.001,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try audioPackets(input), b = try audioPackets(output)
        XCTAssertGreaterThan(a.count, 10, file: file, line: line)
        XCTAssertEqual(a.count, b.count, "packet count", file: file, line: line)
        XCTAssertEqual(a.map(\.hash), b.map(\.hash), "every packet's bytes", file: file, line: line)
        // Times are rescaled to the output's time base: equal within the coarser one's tick
        // (Matroska counts milliseconds).
        for (x, y) in zip(a, b) {
            XCTAssertEqual(Double(x.pts) ?? .nan, Double(y.pts) ?? .nan, accuracy: 0.0006, "packet time", file: file, line: line)
        }
        XCTAssertEqual(try audioDuration(output), try audioDuration(input), accuracy: durationSlack, file: file, line: line)
    }

    /// AAC from an MP4 reel wrote (a flash on frame 12 of 10 fps, a click at the same instant) into
    /// an MP4 at 25 fps: the same packets, and the click still on the flash.
    func testAACIntoMP4AtAnotherFrameRateIsBitIdenticalAndInSync() throws {
        let input = file("flash.mp4"), output = file("flash-25.mp4")
        let rate = 44_100, flashFrame = 12
        let writer = try MediaWriter(path: input, video: VideoFormat(width: 64, height: 48, frameRate: FrameRate(10)),
                                     audio: AudioFormat(sampleRate: rate, channels: 2))
        for i in 0 ..< 30 {
            let level: Float = i == flashFrame ? 1 : 0
            try writer.append(frame: VideoFrame(width: 64, height: 48, red: level, green: level, blue: level))
            var chunk = [Float](repeating: 0, count: rate / 10 * 2)
            for s in 0 ..< rate / 10 {
                // A quiet tone throughout, and a loud 2 ms click when the flash is shown.
                var v = 0.05 * Float(sin(2 * Double.pi * 330 * Double(i * rate / 10 + s) / Double(rate)))
                if i == flashFrame && s < rate / 500 { v = 0.9 * Float(sin(2 * Double.pi * 1000 * Double(s) / Double(rate))) }
                chunk[2 * s] = v
                chunk[2 * s + 1] = v
            }
            try writer.append(audio: PCMAudio(samples: chunk, sampleRate: rate, channels: 2))
        }
        try writer.finish()

        let frames = try remux(input, to: output, rate: FrameRate(25))
        XCTAssertEqual(frames, 75)
        try assertSamePackets(input, output)
        let probe = try ffprobe(output)
        XCTAssertEqual(probe["streams.stream.1.codec_name"] ?? probe["streams.stream.0.codec_name"], "aac")

        // Sync: the flash frame's time against the click's onset in the decoded copy.
        let shown = try VideoReader(path: output).readAll()
        let flash = try XCTUnwrap(shown.first { $0.channelMeans().red > 0.5 })
        let audio = try AudioReader(path: output, sampleRate: rate, channels: 1).readAll()
        let onset = try XCTUnwrap(audio.samples.firstIndex { abs($0) > 0.3 })
        XCTAssertEqual(flash.time, 1.2, accuracy: 0.001)
        XCTAssertEqual(Double(onset) / Double(rate), flash.time, accuracy: 0.01, "the click is where the flash is")
        // And the decoded samples are those of the input (a copy decodes to the same PCM).
        let original = try AudioReader(path: input, sampleRate: rate, channels: 1).readAll()
        XCTAssertEqual(original.samples.count, audio.samples.count)
        XCTAssertEqual(original.samples, audio.samples)
    }

    /// Opus in WebM made by the ffmpeg CLI, copied into WebM; MP3 in Matroska copied into MP4.
    func testOpusIntoWebMAndMP3IntoMP4AreBitIdentical() throws {
        let webm = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=12", "-f", "lavfi", "-i", "sine=frequency=523:sample_rate=48000",
                               "-t", "1.5", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus", "-b:a", "64k"],
                              output: "opus.webm")
        try remux(webm, to: file("opus-copy.webm"), rate: FrameRate(24))
        try assertSamePackets(webm, file("opus-copy.webm"), durationSlack: 0.02)

        let mkv = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=8", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100",
                              "-t", "2", "-c:v", "mpeg4", "-c:a", "libmp3lame", "-b:a", "96k"], output: "mp3.mkv")
        try remux(mkv, to: file("mp3-copy.mp4"), rate: FrameRate(8))
        try assertSamePackets(mkv, file("mp3-copy.mp4"), durationSlack: 0.027)
        XCTAssertEqual(try ffprobe(file("mp3-copy.mp4"))["streams.stream.1.codec_name"], "mp3")
    }

    /// What a container cannot hold is refused before anything is written, with the muxer's reason.
    func testContainersThatCannotHoldTheCodecAreRefused() throws {
        let aac = try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"], output: "tone.m4a")
        let flac = try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "flac"], output: "tone.mkv")
        let aacFormat = try AudioPacketReader(path: aac).format
        XCTAssertEqual(aacFormat.codecName, "aac")
        XCTAssertEqual(aacFormat.sampleRate, 44_100)
        XCTAssertEqual(aacFormat.channels, 1)
        XCTAssertNoThrow(try MediaWriter.checkCopy(aacFormat, into: .mp4))
        assertMediaError(.unsupportedCodec, path: aac) { try MediaWriter.checkCopy(aacFormat, into: .webm) }
        // FLAC in MP4 is experimental in FFmpeg 5.1: the muxer's own check refuses it.
        let flacFormat = try AudioPacketReader(path: flac).format
        assertMediaError(.unsupportedCodec, path: flac) { try MediaWriter.checkCopy(flacFormat, into: .mp4) }
        XCTAssertNoThrow(try MediaWriter.checkCopy(flacFormat, into: .flac))

        // A writer asked to copy what its container cannot hold fails to start and leaves nothing.
        let out = file("tone.webm")
        assertMediaError(.writeFailed, path: out) {
            try MediaWriter(path: out, video: VideoFormat(width: 16, height: 16, frameRate: FrameRate(8)), copyingAudio: aacFormat)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("tone.webm") }, [])
        assertMediaError(.invalidArgument, path: out) {
            try MediaWriter(path: out, audio: AudioFormat(sampleRate: 48_000, channels: 2), copyingAudio: aacFormat)
        }
    }

    /// A cut file, a file that is not media, a file without audio: MediaErrors, no crash.
    func testDamagedOrMissingAudioIsAClearError() throws {
        let whole = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=8", "-f", "lavfi", "-i", "sine=frequency=440",
                                "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", "+faststart"],
                               output: "whole.mp4")
        let data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = file("cut.mp4")
        try data.prefix(data.count * 6 / 10).write(to: URL(fileURLWithPath: cut))
        // The index (at the front) is intact: the stream opens, and reading it reaches the cut.
        let reader = try AudioPacketReader(path: cut)
        var packets = 0
        assertMediaError(.truncated, path: cut) { while try reader.next() != nil { packets += 1 } }
        XCTAssertGreaterThan(packets, 0, "the packets before the cut are read")
        XCTAssertNil(try reader.next(), "after the error the reader stays at its end")

        let junk = file("junk.mp4")
        try Data((0 ..< 4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: junk))
        assertMediaError(.notMedia, path: junk) { try AudioPacketReader(path: junk) }

        let silent = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=8", "-t", "1", "-c:v", "libx264"], output: "silent.mp4")
        assertMediaError(.noStream, path: silent) { try AudioPacketReader(path: silent) }
    }
}
