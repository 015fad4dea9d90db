import Foundation
import XCTest
@testable import ReelMedia

/// Files the ffmpeg CLI makes at test time, decoded by the readers.
final class DecodeTests: MediaTestCase {
    /// 2 s of testsrc2 at 12 fps, 80x60, in each codec the build can encode.
    func testDecodesVideoCodecsMadeByTheCLI() throws {
        var cases: [(name: String, args: [String])] = [
            ("h264.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
            ("vp9.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]),
            ("mpeg4.avi", ["-c:v", "mpeg4", "-q:v", "3"]),
            ("mjpeg.mkv", ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"]),
        ]
        if try hasEncoder("libaom-av1") {
            cases.append(("av1.mkv", ["-c:v", "libaom-av1", "-cpu-used", "8", "-crf", "40", "-b:v", "0"]))
        }
        for (name, args) in cases {
            let path = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=80x60:rate=12:duration=2"] + args, output: name)
            let info = try probe(path)
            XCTAssertEqual(info.video?.width, 80, name)
            XCTAssertEqual(info.video?.height, 60, name)
            XCTAssertEqual(info.video?.decodable, true, name)

            let reader = try VideoReader(path: path)
            let frames = try reader.readAll()
            XCTAssertEqual(frames.count, 24, name)
            XCTAssertEqual(frames.last?.time ?? 0, 23.0 / 12, accuracy: 1e-3, name)
            // Same decode through the CLI, as RGB: the pictures agree (both sides use BT.601 for
            // these untagged streams), up to the scaler's rounding.
            let reference = try cliFrame(path, index: 10, width: 80, height: 60)
            XCTAssertLessThan(meanAbsoluteError(frames[10], reference), 0.01, name)
        }
    }

    func testTenBitVideoKeepsItsPrecision() throws {
        let path = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=80x60:rate=12:duration=1",
                               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le"], output: "ten.mp4")
        XCTAssertEqual(try probe(path).video?.pixelFormat, "yuv420p10le")
        let frames = try VideoReader(path: path).readAll()
        XCTAssertEqual(frames.count, 12)
        XCTAssertLessThan(meanAbsoluteError(frames[6], try cliFrame(path, index: 6, width: 80, height: 60)), 0.01)
        // Values between the 8-bit steps show the 16-bit path.
        let between = frames[6].pixels.filter { abs($0 * 255 - ($0 * 255).rounded()) > 0.05 }.count
        XCTAssertGreaterThan(between, frames[6].pixels.count / 10)
    }

    func testRequestedSizeAndFrameRate() throws {
        let path = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=2",
                               "-c:v", "libx264", "-preset", "ultrafast"], output: "src.mp4")
        // Downsample 30 -> 12 fps and scale to 64x48.
        let reader = try VideoReader(path: path, size: PixelSize(64, 48), frameRate: FrameRate(12))
        let frames = try reader.readAll()
        XCTAssertEqual(frames.count, 24)
        XCTAssertTrue(frames.allSatisfy { $0.width == 64 && $0.height == 48 })
        for (i, f) in frames.enumerated() { XCTAssertEqual(f.time, Double(i) / 12, accuracy: 1e-9) }
        // Frame for frame what the CLI's fps filter picks.
        for k in [0, 1, 5, 11, 23] {
            let reference = try cliFrame(path, index: k, width: 64, height: 48, filter: "fps=12,")
            XCTAssertLessThan(meanAbsoluteError(frames[k], reference), 0.01, "frame \(k)")
            if k > 0 { XCTAssertGreaterThan(meanAbsoluteError(frames[k], frames[k - 1]), 0.001, "frame \(k) moves") }
        }
        // Upsample 30 -> 60 fps: every source frame twice.
        let doubled = try VideoReader(path: path, frameRate: FrameRate(60)).readAll()
        XCTAssertEqual(doubled.count, 120)
        XCTAssertEqual(doubled[6].pixels, doubled[7].pixels)
        // NTSC rate.
        let ntsc = try VideoReader(path: path, frameRate: FrameRate(30000, 1001)).readAll()
        XCTAssertEqual(ntsc.count, 60)
    }

    func testDecodesAudioCodecsMadeByTheCLI() throws {
        let cases: [(name: String, args: [String])] = [
            ("aac.m4a", ["-c:a", "aac", "-b:a", "128k"]),
            ("opus.ogg", ["-c:a", "libopus", "-b:a", "96k"]),
            ("flac.flac", ["-c:a", "flac"]),
            ("mp3.mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
        ]
        for (name, args) in cases {
            let path = try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100:duration=2",
                                   "-ac", "2"] + args, output: name)
            let info = try probe(path)
            XCTAssertEqual(info.audio?.channels, 2, name)
            // To 16 kHz mono: the rate, the length and the tone survive.
            let pcm = try AudioReader(path: path, sampleRate: 16_000, channels: 1).readAll()
            XCTAssertEqual(pcm.sampleRate, 16_000)
            XCTAssertEqual(pcm.channels, 1)
            XCTAssertEqual(pcm.duration, 2.0, accuracy: 0.06, name)
            let middle = Array(pcm.samples[8000 ..< 24000])
            let tonePower = power(middle, at: 1000, rate: 16_000)
            for other in [300.0, 700, 1500, 3000] {
                XCTAssertGreaterThan(tonePower, 1000 * power(middle, at: other, rate: 16_000), "\(name) at \(other) Hz")
            }
            let rms = (middle.map { Double($0 * $0) }.reduce(0, +) / Double(middle.count)).squareRoot()
            XCTAssertEqual(rms, 0.125 / 2.squareRoot(), accuracy: 0.02, name)  // sine's default amplitude 1/8
            // And to 48 kHz stereo.
            let stereo = try AudioReader(path: path, sampleRate: 48_000, channels: 2).readAll()
            XCTAssertEqual(stereo.frameCount, 96_000, accuracy: 3000, name)
        }
        // A named layout: stereo up-mixed to 5.1 keeps the tone in front left and right only.
        let path = file("flac.flac")
        let surround = try AudioReader(path: path, sampleRate: 44_100, layout: "5.1").readAll()
        XCTAssertEqual(surround.channels, 6)
        let rms = (0 ..< 6).map { c -> Double in
            let x = surround.channel(c)
            return (x.map { Double($0 * $0) }.reduce(0, +) / Double(x.count)).squareRoot()
        }
        XCTAssertGreaterThan(rms[0], 0.05)
        XCTAssertGreaterThan(rms[1], 0.05)
        XCTAssertLessThan(rms[3], 0.001, "no LFE from a stereo source")
        assertMediaError(.invalidArgument, path: path) { try AudioReader(path: path, layout: "seven and a half") }
    }

    func testDecodesStillImages() throws {
        for (name, args) in [("still.png", [String]()), ("still.jpg", ["-q:v", "2"]), ("still.webp", ["-lossless", "1"])] {
            let path = try ffmpeg(["-f", "lavfi", "-i", "color=c=0x3366CC:size=50x30", "-frames:v", "1"] + args,
                                  output: name)
            let frame = try readImage(path: path)
            XCTAssertEqual(frame.width, 50, name)
            XCTAssertEqual(frame.height, 30, name)
            let m = frame.channelMeans()
            XCTAssertEqual(m.red, 0x33 / 255.0, accuracy: 0.02, name)
            XCTAssertEqual(m.green, 0x66 / 255.0, accuracy: 0.02, name)
            XCTAssertEqual(m.blue, 0xCC / 255.0, accuracy: 0.02, name)
            let scaled = try readImage(path: path, size: PixelSize(20, 10))
            XCTAssertEqual(scaled.pixels.count, 3 * 200)
        }
    }

    func testProbeReadsHeadersOfCLIFiles() throws {
        let path = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=128x72:rate=25:duration=3",
                               "-f", "lavfi", "-i", "sine=sample_rate=44100:duration=3",
                               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                               "-metadata", "title=probe me", "-shortest"], output: "av.mp4")
        let info = try probe(path)
        XCTAssertTrue(info.formatName.contains("mp4"))
        XCTAssertEqual(info.duration ?? 0, 3, accuracy: 0.05)
        XCTAssertEqual(info.streams.count, 2)
        XCTAssertEqual(info.video?.codecName, "h264")
        XCTAssertEqual(info.video?.frameRate, FrameRate(25))
        XCTAssertEqual(info.video?.frameCount, 75)
        XCTAssertEqual(info.video?.pixelFormat, "yuv420p")
        XCTAssertEqual(info.audio?.codecName, "aac")
        XCTAssertEqual(info.audio?.sampleRate, 44100)
        XCTAssertEqual(info.audio?.channelLayout, "mono")
        XCTAssertEqual(info.tags["title"], "probe me")
        XCTAssertNil(info.label, "a file reel did not make carries no label")
        XCTAssertGreaterThan(info.fileSize, 0)

        // A raw H.264 stream has no header values: probe falls back to FFmpeg's stream-info pass.
        let raw = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x32:rate=10:duration=1", "-c:v", "libx264",
                              "-preset", "ultrafast", "-f", "h264"], output: "raw.h264")
        let rawInfo = try probe(raw)
        XCTAssertEqual(rawInfo.video?.width, 64)
        XCTAssertEqual(rawInfo.video?.height, 32)
    }

    // MARK: helpers

    func hasEncoder(_ name: String) throws -> Bool {
        try run("ffmpeg", ["-hide_banner", "-encoders"]).contains(" \(name) ")
    }

    /// Frame `index` decoded by the ffmpeg CLI into planar float RGB (gbrpf32le), for comparison.
    func cliFrame(_ path: String, index: Int, width: Int, height: Int, filter: String = "") throws -> VideoFrame {
        let raw = file("ref-\(index).raw")
        try run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", path, "-vf", "\(filter)scale=\(width):\(height):flags=bicubic,select=eq(n\\,\(index))",
                           "-frames:v", "1", "-pix_fmt", "gbrpf32le", "-sws_flags", "bicubic+accurate_rnd+full_chroma_int",
                           "-f", "rawvideo", raw])
        let data = try XCTUnwrap(FileManager.default.contents(atPath: raw))
        let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let plane = width * height
        XCTAssertEqual(floats.count, 3 * plane)
        // gbrp plane order is G, B, R.
        let pixels = Array(floats[2 * plane ..< 3 * plane]) + Array(floats[0 ..< plane]) + Array(floats[plane ..< 2 * plane])
        return VideoFrame(width: width, height: height, pixels: pixels)
    }
}

/// Power of `x` at frequency `f` (one DFT bin, Goertzel-style).
func power(_ x: [Float], at f: Double, rate: Int) -> Double {
    var re = 0.0, im = 0.0
    let w = 2 * Double.pi * f / Double(rate)
    for (i, v) in x.enumerated() {
        re += Double(v) * cos(w * Double(i))
        im -= Double(v) * sin(w * Double(i))
    }
    return re * re + im * im
}

final class ThumbnailTests: MediaTestCase {
    func testThumbnailIsTheFrameAtThatTime() throws {
        // Keyframes every 12 frames, so the seek lands before the target and decodes forward.
        let path = try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=3", "-c:v", "libx264",
                               "-preset", "ultrafast", "-g", "12"], output: "t.mp4")
        let all = try VideoReader(path: path).readAll()
        for (t, index) in [(0.0, 0), (1.0, 24), (1.27, 30), (2.99, 71), (10.0, 71)] {
            let thumb = try thumbnail(path: path, at: t)
            XCTAssertEqual(thumb.time, all[index].time, accuracy: 1e-6, "at \(t) s")
            XCTAssertEqual(thumb.pixels, all[index].pixels, "at \(t) s")
        }
        let png = file("thumb.png")
        try writePNG(try thumbnail(path: path, at: 1, size: PixelSize(48, 32)), to: png)
        XCTAssertEqual(try probe(png).video?.width, 48)
        assertMediaError(.invalidArgument, path: path) { try thumbnail(path: path, at: -1) }
    }
}
