import Foundation
import XCTest
@testable import ReelMedia

/// Writing and reading stream: memory does not grow with the length of the video.
final class MemoryBoundTests: MediaTestCase {
    func testLongWriteAndReadKeepMemoryFlat() throws {
        let path = file("long.mp4")
        let size = 128, warmup = 40, more = 480
        // What keeping every frame would cost: more * 3 * 128 * 128 floats = 94 MiB.
        let unbounded = more * 3 * size * size * 4
        let frames = (0 ..< 8).map { patternFrame(width: size, height: size, index: $0) }
        let writer = try MediaWriter(path: path, video: VideoFormat(width: size, height: size, frameRate: FrameRate(24)),
                                     audio: AudioFormat(sampleRate: 48_000, channels: 2),
                                     settings: EncoderSettings(preset: "ultrafast", threads: 1))
        let audio = tone(seconds: 1.0 / 24, rate: 48_000, channels: 2)
        for i in 0 ..< warmup {
            try writer.append(frame: frames[i % 8])
            try writer.append(audio: audio)
        }
        let before = residentBytes()
        for i in 0 ..< more {
            try writer.append(frame: frames[i % 8])
            try writer.append(audio: audio)
        }
        let grewWriting = residentBytes() - before
        try writer.finish()
        XCTAssertLessThan(grewWriting, unbounded / 4, "writing \(more) frames grew memory by \(grewWriting) bytes")

        let reader = try VideoReader(path: path, threads: 1)
        for _ in 0 ..< warmup { _ = try reader.next() }
        let readStart = residentBytes()
        var count = warmup
        while try reader.next() != nil { count += 1 }
        let grewReading = residentBytes() - readStart
        XCTAssertEqual(count, warmup + more)
        XCTAssertLessThan(grewReading, unbounded / 4, "reading \(more) frames grew memory by \(grewReading) bytes")
    }

    /// Current resident set size, from /proc/self/statm.
    func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}
