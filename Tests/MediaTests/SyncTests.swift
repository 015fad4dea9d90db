import Foundation
import XCTest
@testable import ReelMedia

/// Audio/video sync survives a write and a read: a white flash on one frame and a click at the same
/// instant come back less than one frame apart.
final class SyncTests: MediaTestCase {
    func testFlashAndClickStayWithinOneFrame() throws {
        for name in ["sync.mp4", "sync.webm"] {
            let fps = 25, rate = 48_000, flashFrame = 37, frameCount = 75
            let path = file(name)
            let writer = try MediaWriter(path: path, video: VideoFormat(width: 64, height: 48, frameRate: FrameRate(fps)),
                                         audio: AudioFormat(sampleRate: rate, channels: 2))
            let samplesPerFrame = rate / fps
            for i in 0 ..< frameCount {
                let level: Float = i == flashFrame ? 1 : 0
                try writer.append(frame: VideoFrame(width: 64, height: 48, red: level, green: level, blue: level))
                // The click: a 2 ms 1 kHz burst starting exactly when the flash frame is shown.
                var chunk = [Float](repeating: 0, count: samplesPerFrame * 2)
                if i == flashFrame {
                    for s in 0 ..< rate / 500 {
                        let v = 0.9 * Float(sin(2 * Double.pi * 1000 * Double(s) / Double(rate)))
                        chunk[2 * s] = v
                        chunk[2 * s + 1] = v
                    }
                }
                try writer.append(audio: PCMAudio(samples: chunk, sampleRate: rate, channels: 2))
            }
            try writer.finish()

            let frames = try VideoReader(path: path).readAll()
            XCTAssertEqual(frames.count, frameCount, name)
            let brightest = frames.max { $0.channelMeans().red < $1.channelMeans().red }!
            XCTAssertGreaterThan(brightest.channelMeans().red, 0.9, name)
            let flashTime = brightest.time

            let audio = try AudioReader(path: path, sampleRate: rate, channels: 1).readAll()
            let onset = try XCTUnwrap(audio.samples.firstIndex { abs($0) > 0.3 }, name)
            let clickTime = Double(onset) / Double(rate)

            let offset = abs(clickTime - flashTime)
            XCTAssertLessThan(offset, 1.0 / Double(fps), "\(name): flash at \(flashTime) s, click at \(clickTime) s")
            // In practice the codecs' delays are compensated to well under a frame.
            XCTAssertLessThan(offset, 0.01, "\(name): flash at \(flashTime) s, click at \(clickTime) s")
        }
    }
}
