import Foundation
import XCTest
@testable import ReelMedia

/// Every way a file can be wrong gives a `MediaError` that names the file and the reason.
final class BadInputTests: MediaTestCase {
    // MARK: unreadable paths

    func testMissingPathDirectoryAndPathThroughAFile() throws {
        let missing = file("nope.mp4")
        assertMediaError(.unreadable, path: missing) { try probe(missing) }
        assertMediaError(.unreadable, path: missing) { try VideoReader(path: missing) }
        assertMediaError(.unreadable, path: missing) { try AudioReader(path: missing) }
        assertMediaError(.unreadable, path: missing) { try readImage(path: missing) }
        assertMediaError(.unreadable, path: directory) { try VideoReader(path: directory) }
        let plain = file("plain.txt")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: plain))
        let through = plain + "/clip.mp4"
        assertMediaError(.unreadable, path: through) { try probe(through) }
        do {
            _ = try probe(missing)
        } catch let error as MediaError {
            XCTAssertTrue(error.description.contains("No such file"), error.description)
        }
    }

    func testPermissionDenied() throws {
        try XCTSkipIf(getuid() == 0, "root reads any file; permission cannot be tested as root")
        let path = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=32x32:duration=0.2", "-c:v", "libx264"], output: "locked.mp4")
        chmod(path, 0)
        assertMediaError(.unreadable, path: path) { try VideoReader(path: path) }
    }

    func testUnwritableOutput() throws {
        let path = file("no/such/dir/out.mp4")
        assertMediaError(.writeFailed, path: path) {
            try MediaWriter(path: path, video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(8)))
        }
        assertMediaError(.writeFailed, path: path) { try writePNG(VideoFrame(width: 2, height: 2, red: 1, green: 0, blue: 0), to: path) }
        let unknown = file("out.xyz")
        assertMediaError(.invalidArgument, path: unknown) {
            try MediaWriter(path: unknown, video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(8)))
        }
        let wav = file("video.wav")
        assertMediaError(.invalidArgument, path: wav) {
            try MediaWriter(path: wav, video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(8)))
        }
        assertMediaError(.invalidArgument, path: file("x.mp4")) {
            try MediaWriter(path: file("x.mp4"), video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(0)))
        }
    }

    // MARK: not media

    func testNonMediaAndEmptyFiles() throws {
        let text = file("notes.mp4")
        try Data(String(repeating: "this is not a video\n", count: 200).utf8).write(to: URL(fileURLWithPath: text))
        assertMediaError(.notMedia, path: text) { try probe(text) }
        assertMediaError(.notMedia, path: text) { try VideoReader(path: text) }

        // Fixed noise (SplitMix64, seed 1): fresh random bytes are now and then probed by FFmpeg as a headerless
        // format (a clean clone's run once found a subtitle stream in them), which made this test a lottery.
        let random = file("noise.webm")
        var state: UInt64 = 1
        try Data((0 ..< 50_000).map { _ -> UInt8 in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }).write(to: URL(fileURLWithPath: random))
        assertMediaError(.notMedia, path: random) { try VideoReader(path: random) }

        let empty = file("empty.mp4")
        FileManager.default.createFile(atPath: empty, contents: Data())
        assertMediaError(.notMedia, path: empty) { try probe(empty) }
        assertMediaError(.notMedia, path: empty) { try AudioReader(path: empty) }
    }

    // MARK: truncated

    func testTruncatedMP4WithIndexAtTheEnd() throws {
        // The CLI's default MP4 keeps the index (moov) at the end: cut, the file cannot be opened.
        let whole = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=2", "-c:v", "libx264"], output: "whole.mp4")
        let cut = try truncate(whole, to: 0.6, as: "cut.mp4")
        assertMediaError(.truncated, path: cut) { try probe(cut) }
        assertMediaError(.truncated, path: cut) { try VideoReader(path: cut) }
        do { _ = try VideoReader(path: cut) } catch let e as MediaError {
            XCTAssertTrue(e.description.contains("mp4"), e.description)
        }
    }

    func testTruncatedFaststartMP4AndWebM() throws {
        for name in ["ours.mp4", "ours.webm"] {
            let whole = file(name)
            let writer = try MediaWriter(path: whole, video: VideoFormat(width: 64, height: 48, frameRate: FrameRate(10)),
                                         audio: AudioFormat(sampleRate: 48_000, channels: 2))
            for i in 0 ..< 20 {
                try writer.append(frame: patternFrame(width: 64, height: 48, index: i))
                try writer.append(audio: tone(seconds: 0.1, rate: 48_000, channels: 2))
            }
            try writer.finish()
            let cut = try truncate(whole, to: 0.5, as: "cut-" + name)
            // The header survives, so opening works; probing says so where the header indexes the packets.
            let info = try probe(whole)
            XCTAssertFalse(info.isCutShort, name)
            XCTAssertFalse(info.description.contains("cut short"), info.description)
            if name.hasSuffix(".mp4") {
                XCTAssertLessThanOrEqual(try XCTUnwrap(info.indexedEnd), info.fileSize)
                XCTAssertGreaterThan(try XCTUnwrap(info.indexedEnd), info.fileSize * 9 / 10, "the index reaches the last packet")
                let cutInfo = try probe(cut)
                XCTAssertTrue(cutInfo.isCutShort)
                XCTAssertEqual(cutInfo.indexedEnd, info.indexedEnd)
                XCTAssertTrue(cutInfo.description.contains("cut short: its header indexes \(info.indexedEnd!) bytes, the file holds \(cutInfo.fileSize)"),
                              cutInfo.description)
            }
            // Reading finds the stream cut short.
            let reader = try VideoReader(path: cut)
            assertMediaError(.truncated, path: cut) { try reader.readAll() }
            let audio = try AudioReader(path: cut)
            assertMediaError(.truncated, path: cut) { try audio.readAll() }
        }
    }

    func testTruncatedStillImage() throws {
        let png = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64", "-frames:v", "1"], output: "whole.png")
        let cut = try truncate(png, to: 0.5, as: "cut.png")
        assertMediaError(.truncated, path: cut) { try readImage(path: cut) }
    }

    // MARK: zero-length streams

    func testZeroLengthStreams() throws {
        // A Y4M header with no frames after it, and a WAV whose data chunk is empty.
        let y4m = file("empty.y4m")
        try Data("YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\n".utf8).write(to: URL(fileURLWithPath: y4m))
        assertMediaError(.emptyStream, path: y4m) { try VideoReader(path: y4m).readAll() }

        let wav = file("empty.wav")
        try Data(wavHeader(formatTag: 1, dataBytes: 0)).write(to: URL(fileURLWithPath: wav))
        assertMediaError(.emptyStream, path: wav) { try AudioReader(path: wav).readAll() }

        // A writer given nothing writes nothing.
        let out = file("nothing.mp4")
        let writer = try MediaWriter(path: out, video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(8)))
        assertMediaError(.emptyStream, path: out) { try writer.finish() }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("nothing") }, [])
    }

    func testMissingStreamKind() throws {
        let silent = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=32x32:duration=0.5", "-c:v", "libx264"], output: "silent.mp4")
        assertMediaError(.noStream, path: silent) { try AudioReader(path: silent) }
        let wav = try ffmpeg(["-f", "lavfi", "-i", "sine=duration=0.5"], output: "tone.wav")
        assertMediaError(.noStream, path: wav) { try VideoReader(path: wav) }
        let writer = try MediaWriter(path: file("v.mp4"), video: VideoFormat(width: 32, height: 32, frameRate: FrameRate(8)))
        assertMediaError(.invalidArgument, path: file("v.mp4")) { try writer.append(audio: tone(seconds: 0.1, rate: 8000, channels: 1)) }
        writer.cancel()
    }

    // MARK: absurd dimensions

    func testAbsurdDimensions() throws {
        let y4m = file("huge.y4m")
        var bytes = Array("YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
        bytes += [UInt8](repeating: 128, count: 1024)
        try Data(bytes).write(to: URL(fileURLWithPath: y4m))
        assertMediaError(.absurdDimensions, path: y4m) { try probe(y4m) }
        assertMediaError(.absurdDimensions, path: y4m) { try VideoReader(path: y4m) }

        let ok = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=32x32:duration=0.2", "-c:v", "libx264"], output: "ok.mp4")
        assertMediaError(.absurdDimensions, path: ok) { try VideoReader(path: ok, size: PixelSize(0, 10)) }
        assertMediaError(.absurdDimensions, path: ok) { try VideoReader(path: ok, size: PixelSize(100_000, 10)) }
        assertMediaError(.invalidArgument, path: ok) { try VideoReader(path: ok, frameRate: FrameRate(-1)) }
        assertMediaError(.invalidArgument, path: ok) { try AudioReader(path: ok, sampleRate: 0) }

        let out = file("huge.mp4")
        assertMediaError(.absurdDimensions, path: out) {
            try MediaWriter(path: out, video: VideoFormat(width: 40_000, height: 40_000, frameRate: FrameRate(24)))
        }
        assertMediaError(.absurdDimensions, path: out) {
            try MediaWriter(path: out, video: VideoFormat(width: 0, height: 480, frameRate: FrameRate(24)))
        }
    }

    // MARK: unsupported codecs

    func testUnsupportedCodecs() throws {
        // An AVI whose video fourcc FFmpeg does not know.
        let avi = try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=32x32:duration=0.5", "-c:v", "mpeg4"], output: "known.avi")
        var data = try XCTUnwrap(FileManager.default.contents(atPath: avi))
        data = replacing(Data("FMP4".utf8), with: Data("ZYXW".utf8), in: data)
        let unknown = file("unknown.avi")
        try data.write(to: URL(fileURLWithPath: unknown))
        assertMediaError(.unsupportedCodec, path: unknown) { try VideoReader(path: unknown) }
        do { _ = try VideoReader(path: unknown) } catch let e as MediaError {
            XCTAssertTrue(e.description.contains("ZYXW"), e.description)
        }
        let info = try probe(unknown)
        XCTAssertEqual(info.video?.decodable, false)
        XCTAssertEqual(info.video?.codecName, "ZYXW")

        // A WAV with an unknown sample format tag.
        let wav = file("unknown.wav")
        try Data(wavHeader(formatTag: 0x7A7A, dataBytes: 4000) + [UInt8](repeating: 0, count: 4000))
            .write(to: URL(fileURLWithPath: wav))
        assertMediaError(.unsupportedCodec, path: wav) { try AudioReader(path: wav) }
    }

    // MARK: helpers

    func truncate(_ path: String, to fraction: Double, as name: String) throws -> String {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let out = file(name)
        try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: out))
        return out
    }

    func wavHeader(formatTag: UInt16, dataBytes: UInt32) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        let rate: UInt32 = 8000, channels: UInt16 = 1, bits: UInt16 = 16
        var h = Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVE".utf8)
        h += Array("fmt ".utf8) + le32(16) + le16(formatTag) + le16(channels) + le32(rate)
        h += le32(rate * UInt32(channels) * UInt32(bits / 8)) + le16(channels * bits / 8) + le16(bits)
        h += Array("data".utf8) + le32(dataBytes)
        return h
    }

    func replacing(_ target: Data, with replacement: Data, in data: Data) -> Data {
        var out = data
        var from = out.startIndex
        while let r = out.range(of: target, in: from ..< out.endIndex) {
            out.replaceSubrange(r, with: replacement)
            from = r.upperBound
        }
        return out
    }
}
