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
        let (uh, uw) = (up.shape[2], up.shape[3])
        var pixels = [Float](repeating: 0, count: up.count)
        pixels.withUnsafeMutableBufferPointer { dst in
            let src = up.data
            for i in 0..<dst.count { dst[i] = Swift.min(Swift.max(src[i], 0), 1) }
        }
        if scale == network.scale {
            return VideoFrame(width: uw, height: uh, pixels: pixels, time: time)
        }
        let (ow, oh) = (w * scale, h * scale)
        let resized = pixels.withUnsafeBufferPointer {
            LanczosResize.resize($0.baseAddress!, width: uw, height: uh, outWidth: ow, outHeight: oh)
        }
        return VideoFrame(width: ow, height: oh, pixels: resized, time: time)
    }
}

extension VideoFrame {
    /// The frame as a [1, 3, H, W] tensor (VideoFrame is planar RGB already).
    func tensor() throws -> Tensor {
        try Tensor(pixels, shape: [1, 3, height, width])
    }
}
