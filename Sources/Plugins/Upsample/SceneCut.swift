// RIFE's scene-cut rule, as the reference's inference_video.py applies it: the
// two (padded) frames are shrunk to 32×32 (bilinear, align_corners=False) and
// compared with `ssim_matlab` (model/pytorch_msssim): the RGB image taken as
// a 3×32×32 volume, an 11×11×11 Gaussian window (σ = 1.5) with replicate
// padding, L = 1. Below the threshold (0.2) the pair straddles a cut, and the
// frames in between repeat the first frame instead of morphing across it.
import ReelEngine
#if canImport(Glibc)
import Glibc
#endif

enum SceneCut {
    static let thumbnailSide = 32

    /// The 32×32 thumbnail of a [1, 3, H, W] frame (padded as RIFE sees it).
    static func thumbnail(_ padded: Tensor) throws -> [Float] {
        try interpolate(padded, size: [thumbnailSide, thumbnailSide], mode: .bilinear).toArray()
    }

    /// ssim_matlab of two 3×32×32 thumbnails.
    static func ssim(_ a: [Float], _ b: [Float]) -> Double {
        let (c, h, w) = (3, thumbnailSide, thumbnailSide)
        let n = c * h * w
        precondition(a.count == n && b.count == n)
        let x = a.map(Double.init), y = b.map(Double.init)
        let mu1 = blur(x, c, h, w), mu2 = blur(y, c, h, w)
        let xx = blur(zip(x, x).map { $0 * $1 }, c, h, w)
        let yy = blur(zip(y, y).map { $0 * $1 }, c, h, w)
        let xy = blur(zip(x, y).map { $0 * $1 }, c, h, w)
        let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03
        var total = 0.0
        for i in 0..<n {
            let s1 = xx[i] - mu1[i] * mu1[i], s2 = yy[i] - mu2[i] * mu2[i], s12 = xy[i] - mu1[i] * mu2[i]
            let v1 = 2 * s12 + c2, v2 = s1 + s2 + c2
            total += (2 * mu1[i] * mu2[i] + c1) * v1 / ((mu1[i] * mu1[i] + mu2[i] * mu2[i] + c1) * v2)
        }
        return total / Double(n)
    }

    /// The normalised Gaussian of `gaussian(11, 1.5)`.
    static let window: [Double] = {
        let g = (0..<11).map { i -> Double in let d = Double(i - 5); return Glibc.exp(-d * d / (2 * 1.5 * 1.5)) }
        let s = g.reduce(0, +)
        return g.map { $0 / s }
    }()

    /// The separable 3-D Gaussian over (channel, row, column); replicate padding = clamped indices.
    static func blur(_ v: [Double], _ c: Int, _ h: Int, _ w: Int) -> [Double] {
        var cur = v
        let dims = [(c, h * w), (h, w), (w, 1)]  // (extent, stride) of each axis
        for (extent, stride) in dims {
            var out = [Double](repeating: 0, count: cur.count)
            for i in 0..<cur.count {
                let pos = (i / stride) % extent
                let base = i - pos * stride
                var s = 0.0
                for k in 0..<11 {
                    let q = Swift.min(Swift.max(pos + k - 5, 0), extent - 1)
                    s += window[k] * cur[base + q * stride]
                }
                out[i] = s
            }
            cur = out
        }
        return cur
    }
}
