// ×2 and ×3 are the ×4 network followed by this downscale (the x2/x3 files of
// realesr-animevideov3 hold the same weights; Real-ESRGAN's --outscale resizes
// its ×4 output with Lanczos too). Lanczos-3 with the kernel widened by the
// reduction factor — Pillow's `Image.resize(LANCZOS)` — so the 4→3 and 4→2
// reductions average every input pixel instead of aliasing.
//
// The resize streams: rows arrive in bands, top to bottom (one row of tiles of
// the ×4 network at a time), and each band is added into the output rows it
// touches, so the ×4 frame (400 MB from a 1080p input) never exists whole.
import ReelEngine
#if canImport(Glibc)
import Glibc
#endif

public enum LanczosResize {
    /// One output coordinate's taps: first input index and normalised weights.
    public struct Taps: Sendable {
        public let start: Int
        public let weights: [Float]
    }

    static func lanczos(_ x: Double) -> Double {
        if x == 0 { return 1 }
        if x <= -3 || x >= 3 { return 0 }
        let px = Double.pi * x
        return 3 * sin(px) * sin(px / 3) / (px * px)
    }

    /// Pillow's precompute_coeffs for one axis.
    public static func taps(input: Int, output: Int) -> [Taps] {
        let scale = Double(input) / Double(output)
        let filterScale = Swift.max(scale, 1)
        let support = 3 * filterScale
        return (0..<output).map { o in
            let center = (Double(o) + 0.5) * scale
            let lo = Swift.max(Int(center - support + 0.5), 0)
            let hi = Swift.min(Int(center + support + 0.5), input)
            var w = (lo..<hi).map { lanczos((Double($0) - center + 0.5) / filterScale) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            return Taps(start: lo, weights: w.map(Float.init))
        }
    }

    /// Resizes planar float RGB (3 planes of height×width) to outWidth×outHeight in one go.
    public static func resize(_ pixels: UnsafePointer<Float>, width: Int, height: Int,
                              outWidth: Int, outHeight: Int) -> [Float] {
        let resizer = StreamingLanczos(width: width, height: height, outWidth: outWidth, outHeight: outHeight)
        resizer.append(pixels, rows: height, planeStride: width * height)
        return resizer.finish()
    }
}

/// A Lanczos resize of planar float RGB whose input rows arrive in bands, top to
/// bottom. Each output row accumulates its vertical taps in ascending input row
/// order whatever the banding, so the result is bit-identical however the rows
/// are split. Memory: the output plus one row's horizontal pass.
public final class StreamingLanczos: @unchecked Sendable {
    public let width: Int, height: Int, outWidth: Int, outHeight: Int
    private let columnTaps: [LanczosResize.Taps]
    /// For each input row, the output rows it feeds and with what weight.
    private let rowTargets: [[(row: Int, weight: Float)]]
    private var output: [Float]
    public private(set) var rowsSeen = 0

    public init(width: Int, height: Int, outWidth: Int, outHeight: Int) {
        (self.width, self.height, self.outWidth, self.outHeight) = (width, height, outWidth, outHeight)
        columnTaps = LanczosResize.taps(input: width, output: outWidth)
        var targets = [[(row: Int, weight: Float)]](repeating: [], count: height)
        for (y, t) in LanczosResize.taps(input: height, output: outHeight).enumerated() {
            for (k, w) in t.weights.enumerated() { targets[t.start + k].append((y, w)) }
        }
        rowTargets = targets
        output = [Float](repeating: 0, count: 3 * outWidth * outHeight)
    }

    /// The next `rows` input rows: three planes of rows×width floats, `planeStride` apart.
    public func append(_ band: UnsafePointer<Float>, rows: Int, planeStride: Int) {
        precondition(rowsSeen + rows <= height, "StreamingLanczos: more rows than the input has")
        let (first, ow, w) = (rowsSeen, outWidth, width)
        output.withUnsafeMutableBufferPointer { dst in
            let base = dst.baseAddress!
            Engine.parallelFor(3) { c in
                let src = band + c * planeStride
                let plane = base + c * ow * outHeight
                var mid = [Float](repeating: 0, count: ow)
                for y in 0..<rows {
                    // Horizontal pass of one input row …
                    let row = src + y * w
                    for x in 0..<ow {
                        let t = columnTaps[x]
                        var s: Float = 0
                        for (k, wt) in t.weights.enumerated() { s += wt * row[t.start + k] }
                        mid[x] = s
                    }
                    // … added into every output row whose vertical taps include it.
                    for target in rowTargets[first + y] {
                        let o = plane + target.row * ow
                        for x in 0..<ow { o[x] += target.weight * mid[x] }
                    }
                }
            }
        }
        rowsSeen += rows
    }

    /// The resized frame, once every input row has been appended.
    public func finish() -> [Float] {
        precondition(rowsSeen == height, "StreamingLanczos: \(rowsSeen) of \(height) rows appended")
        return output
    }
}
