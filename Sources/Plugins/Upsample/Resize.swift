// ×2 and ×3 are the ×4 network followed by this downscale (the x2/x3 files of
// realesr-animevideov3 hold the same weights; Real-ESRGAN's --outscale resizes
// its ×4 output with Lanczos too). Lanczos-3 with the kernel widened by the
// reduction factor — Pillow's `Image.resize(LANCZOS)` — so the 4→3 and 4→2
// reductions average every input pixel instead of aliasing.
import ReelEngine
#if canImport(Glibc)
import Glibc
#endif

enum LanczosResize {
    /// One output coordinate's taps: first input index and normalised weights.
    struct Taps {
        let start: Int
        let weights: [Float]
    }

    static func lanczos(_ x: Double) -> Double {
        if x == 0 { return 1 }
        if x <= -3 || x >= 3 { return 0 }
        let px = Double.pi * x
        return 3 * sin(px) * sin(px / 3) / (px * px)
    }

    /// Pillow's precompute_coeffs for one axis.
    static func taps(input: Int, output: Int) -> [Taps] {
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

    /// Resizes planar float RGB (3 planes of height×width) to outWidth×outHeight.
    static func resize(_ pixels: UnsafePointer<Float>, width: Int, height: Int,
                       outWidth: Int, outHeight: Int) -> [Float] {
        let tx = taps(input: width, output: outWidth), ty = taps(input: height, output: outHeight)
        var out = [Float](repeating: 0, count: 3 * outWidth * outHeight)
        // Horizontal pass into a height × outWidth buffer per plane, then vertical; planes in parallel.
        out.withUnsafeMutableBufferPointer { dst in
            let base = dst.baseAddress!
            Engine.parallelFor(3) { c in
                let src = pixels + c * width * height
                var mid = [Float](repeating: 0, count: height * outWidth)
                for y in 0..<height {
                    let row = src + y * width
                    for x in 0..<outWidth {
                        let t = tx[x]
                        var s: Float = 0
                        for (k, w) in t.weights.enumerated() { s += w * row[t.start + k] }
                        mid[y * outWidth + x] = s
                    }
                }
                let plane = base + c * outWidth * outHeight
                for y in 0..<outHeight {
                    let t = ty[y]
                    let o = plane + y * outWidth
                    for x in 0..<outWidth { o[x] = 0 }
                    for (k, w) in t.weights.enumerated() {
                        let r = (t.start + k) * outWidth
                        for x in 0..<outWidth { o[x] += w * mid[r + x] }
                    }
                }
            }
        }
        return out
    }
}
