/// One RGB picture as the engine makes and consumes it: float32, **planar** (all of R, then all of G,
/// then all of B: channel-height-width, the layout of a CHW tensor), values in [0, 1].
///
/// Planar is the layout the models produce (a VAE decodes to C×H×W), so the writer takes it without a
/// copy into another layout. `init(interleaved:)` and `interleaved()` convert from and to
/// height-width-channel (RGBRGB...) for code that wants that. Values outside [0, 1] are clamped when
/// encoded; NaN encodes as 0.
public struct VideoFrame: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `3 * width * height` floats: the R plane, then the G plane, then the B plane, rows top to bottom.
    public var pixels: [Float]
    /// Presentation time in seconds from the start of the file (0 for frames made in memory).
    public var time: Double

    public init(width: Int, height: Int, pixels: [Float], time: Double = 0) {
        precondition(width > 0 && height > 0, "VideoFrame needs a positive size")
        precondition(pixels.count == 3 * width * height,
                     "VideoFrame \(width)x\(height) needs \(3 * width * height) floats, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
        self.time = time
    }

    /// A frame filled with one colour.
    public init(width: Int, height: Int, red: Float, green: Float, blue: Float, time: Double = 0) {
        let plane = width * height
        var pixels = [Float](repeating: red, count: 3 * plane)
        for i in plane ..< 2 * plane { pixels[i] = green }
        for i in 2 * plane ..< 3 * plane { pixels[i] = blue }
        self.init(width: width, height: height, pixels: pixels, time: time)
    }

    /// Builds a frame from interleaved RGB floats (RGBRGB..., height-width-channel).
    public init(width: Int, height: Int, interleaved: [Float], time: Double = 0) {
        precondition(interleaved.count == 3 * width * height,
                     "interleaved RGB \(width)x\(height) needs \(3 * width * height) floats")
        let plane = width * height
        var planar = [Float](repeating: 0, count: 3 * plane)
        interleaved.withUnsafeBufferPointer { src in
            planar.withUnsafeMutableBufferPointer { dst in
                for i in 0 ..< plane {
                    dst[i] = src[3 * i]
                    dst[plane + i] = src[3 * i + 1]
                    dst[2 * plane + i] = src[3 * i + 2]
                }
            }
        }
        self.init(width: width, height: height, pixels: planar, time: time)
    }

    /// The same picture as interleaved RGB floats (RGBRGB..., height-width-channel).
    public func interleaved() -> [Float] {
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0 ..< plane {
                    dst[3 * i] = src[i]
                    dst[3 * i + 1] = src[plane + i]
                    dst[3 * i + 2] = src[2 * plane + i]
                }
            }
        }
        return out
    }

    /// The value of channel `c` (0 = R, 1 = G, 2 = B) at column `x`, row `y`.
    public subscript(c: Int, x: Int, y: Int) -> Float {
        pixels[(c * height + y) * width + x]
    }

    /// Mean of each channel: a cheap summary for tests and thumbnails.
    public func channelMeans() -> (red: Double, green: Double, blue: Double) {
        let plane = width * height
        var sums = [Double](repeating: 0, count: 3)
        pixels.withUnsafeBufferPointer { p in
            for c in 0 ..< 3 {
                var s: Double = 0
                for i in c * plane ..< (c + 1) * plane { s += Double(p[i]) }
                sums[c] = s / Double(plane)
            }
        }
        return (sums[0], sums[1], sums[2])
    }
}
