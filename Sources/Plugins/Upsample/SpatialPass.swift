// One frame through the spatial network: tiled ×4 (memory bounded by the
// tile), clamped to [0, 1], then the Lanczos downscale for ×2 and ×3.
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
        let up = try tiling.run(network, frame) { _, _ in try betweenTiles() }.contiguous()
        let (uh, uw, count) = (up.shape[2], up.shape[3], up.count)
        if scale == network.scale {
            return withExtendedLifetime(up) {
                VideoFrame(width: uw, height: uh, pixels: Self.clampedCopy(up.data, count: count), time: time)
            }
        }
        // ×2 and ×3 reduce the ×4 frame (400 MB from 1080p input): clamped in place, this call's
        // own tensor, so the job's largest buffer is not doubled.
        let (ow, oh) = (w * scale, h * scale)
        let resized = withExtendedLifetime(up) {
            Self.clampInPlace(up.data, count: count)
            return LanczosResize.resize(up.data, width: uw, height: uh, outWidth: ow, outHeight: oh)
        }
        return VideoFrame(width: ow, height: oh, pixels: resized, time: time)
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
