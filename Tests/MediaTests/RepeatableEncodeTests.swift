import Foundation
import XCTest
@testable import ReelMedia

/// The same frames make the same file, whatever the process's heap held before: a seed names one video.
/// (Debian 12's x264, core 164, reads heap memory it never wrote in its AVX-512 kernels when
/// macroblock-tree rate control meets B-frames, so on an AVX-512 CPU two encodes of one clip in one
/// long-lived reeld came out different; `VideoEncoder` holds x264 to its AVX2 kernels there.)
final class RepeatableEncodeTests: MediaTestCase {
    /// glibc's M_PERTURB: malloc fills new blocks with the complement of this byte, free fills with it.
    private static let mallocPerturb: Int32 = -6
    private typealias MalloptFunction = @convention(c) (Int32, Int32) -> Int32
    private let mallopt: MalloptFunction? = dlsym(dlopen(nil, RTLD_NOW), "mallopt").map { unsafeBitCast($0, to: MalloptFunction.self) }

    /// A blue disc crossing a sky gradient diagonally (what the default model draws): smooth content
    /// with one moving object, where x264 picks B-frames and the macroblock tree matters.
    private func movingFrame(width: Int, height: Int, index: Int) -> VideoFrame {
        var pixels = [Float](repeating: 0, count: 3 * width * height)
        let plane = width * height
        let cx = Float(width) * (0.2 + 0.035 * Float(index)), cy = Float(height) * (0.75 - 0.03 * Float(index))
        let radius = Float(width) * 0.12
        for y in 0 ..< height {
            for x in 0 ..< width {
                let d = ((Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy)).squareRoot()
                let disc = min(max(radius - d, 0), 1)            // anti-aliased edge
                let v = Float(y) / Float(height), i = y * width + x
                pixels[i] = (0.3 + 0.3 * v) * (1 - disc) + 0.1 * disc
                pixels[plane + i] = (0.5 + 0.2 * v) * (1 - disc) + 0.2 * disc
                pixels[2 * plane + i] = (0.9 - 0.2 * v) * (1 - disc) + 0.95 * disc
            }
        }
        return VideoFrame(width: width, height: height, pixels: pixels)
    }

    private func encode(_ name: String, width: Int, height: Int, perturb: Int32) throws -> Data {
        _ = mallopt?(Self.mallocPerturb, perturb)
        defer { _ = mallopt?(Self.mallocPerturb, 0) }
        let path = file(name)
        let writer = try MediaWriter(path: path, video: VideoFormat(width: width, height: height, frameRate: FrameRate(16)),
                                     label: label())
        for i in 0 ..< 17 { try writer.append(frame: movingFrame(width: width, height: height, index: i)) }
        try writer.finish()
        return try XCTUnwrap(FileManager.default.contents(atPath: path))
    }

    func testSameFramesMakeTheSameWebMTwice() throws {
        let first = try encode("a.webm", width: 96, height: 96, perturb: 0)
        let second = try encode("b.webm", width: 96, height: 96, perturb: 0xA5)
        XCTAssertTrue(first == second, "two writes of one clip to WebM differ (a random segment UID or date?)")
    }

    func testSameFramesMakeTheSameMP4WhateverTheHeapHeld() throws {
        XCTAssertNotNil(mallopt, "glibc's mallopt")
        for (width, height) in [(64, 64), (96, 96), (320, 192)] {
            let clean = try encode("a-\(width).mp4", width: width, height: height, perturb: 0)
            for perturb: Int32 in [0x11, 0xA5, 0xEE] {
                let dirty = try encode("b-\(width)-\(perturb).mp4", width: width, height: height, perturb: perturb)
                XCTAssertEqual(dirty.count, clean.count, "\(width)x\(height), heap perturbed with \(perturb)")
                XCTAssertTrue(dirty == clean, "\(width)x\(height): the encode differs when the heap held \(perturb)")
            }
        }
    }
}
