// One frame through the spatial network: tiled ×4 (memory bounded by the
// tile), clamped to [0, 1], then for ×2 and ×3 the Lanczos downscale, fed one
// row of tiles at a time.
import ReelEngine
import ReelMedia
import ReelModels

struct SpatialPass {
    let network: SpatialUpscaler
    let tiling: Tiling
    let scale: Int

    /// `frame`: [1, 3, H, W]; `betweenTiles` runs after every tile (it throws to cancel).
    func callAsFunction(_ frame: Tensor, time: Double, betweenTiles: @escaping () throws -> Void) throws -> VideoFrame {
        let (h, w) = (frame.shape[2], frame.shape[3])
        if scale == network.scale {
            let up = try tiling.run(network, frame) { _, _ in try betweenTiles() }.contiguous()
            let (uh, uw, count) = (up.shape[2], up.shape[3], up.count)
            return withExtendedLifetime(up) {
                VideoFrame(width: uw, height: uh, pixels: Self.clampedCopy(up.data, count: count), time: time)
            }
        }
        // ×2 and ×3 reduce the ×4 output one row of tiles at a time: the ×4 frame
        // (400 MB from a 1080p input) is never held whole, only one band of it.
        let s = network.scale
        let resizer = StreamingLanczos(width: w * s, height: h * s, outWidth: w * scale, outHeight: h * scale)
        try tiling.runBands(network, frame, progress: { _, _ in try betweenTiles() }) { band, _ in
            let b = band.contiguous()
            withExtendedLifetime(b) {
                Self.clampInPlace(b.data, count: b.count)
                resizer.append(b.data, rows: b.shape[2], planeStride: b.shape[2] * b.shape[3])
            }
        }
        return VideoFrame(width: w * scale, height: h * scale, pixels: resizer.finish(), time: time)
    }

    private static func clampInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { p[i] = Swift.min(Swift.max(p[i], 0), 1) }
    }

    private static func clampedCopy(_ p: UnsafePointer<Float>, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { dst, n in
            for i in 0..<count { dst[i] = Swift.min(Swift.max(p[i], 0), 1) }
            n = count
        }
    }
}

extension VideoFrame {
    /// The frame as a [1, 3, H, W] tensor (VideoFrame is planar RGB already).
    func tensor() throws -> Tensor {
        try Tensor(pixels, shape: [1, 3, height, width])
    }
}
