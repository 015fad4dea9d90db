import ReelEngine

/// A spatial super-resolution network: [N, C, H, W] → [N, C, H·scale, W·scale].
public protocol SpatialUpscaler: AnyObject, Sendable {
    var scale: Int { get }
    /// How far (in input pixels) one output pixel sees; tiles overlapping by at
    /// least this much give exactly the untiled result.
    var receptiveRadius: Int { get }
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

extension SRVGGNetCompact: SpatialUpscaler {
    public var scale: Int { config.upscale }
    /// One pixel per 3×3 conv.
    public var receptiveRadius: Int { config.numConv + 2 }
}

extension RRDBNet: SpatialUpscaler {
    public var scale: Int { config.scale }
    /// 15 convs per RRDB plus the head: far more than any practical overlap, so
    /// tiled x4plus is (very nearly) exact only where the far context is smooth,
    /// as in Real-ESRGAN's own tiling.
    public var receptiveRadius: Int { 1 + config.numBlock * 15 + 1 + 3 }
}

/// Runs an upscaler over overlapping tiles so that any frame size runs in
/// memory bounded by the tile size (Real-ESRGAN's tile / tile_pad): each tile
/// is cut from the input with `overlap` pixels of context on every side that
/// has a neighbour, upscaled, and only its core is written to the output.
public struct Tiling: Sendable, Equatable {
    /// Core tile side in input pixels.
    public var tile: Int
    /// Context on each side in input pixels.
    public var overlap: Int

    public init(tile: Int = 192, overlap: Int = 16) {
        self.tile = tile
        self.overlap = overlap
    }

    /// The tiles' core rectangles (y0, y1, x0, x1) in input pixels, row by row.
    public func tiles(height: Int, width: Int) -> [(y0: Int, y1: Int, x0: Int, x1: Int)] {
        var out: [(Int, Int, Int, Int)] = []
        for y0 in stride(from: 0, to: height, by: tile) {
            for x0 in stride(from: 0, to: width, by: tile) {
                out.append((y0, Swift.min(y0 + tile, height), x0, Swift.min(x0 + tile, width)))
            }
        }
        return out
    }

    /// x: [N, C, H, W]. `progress(done, total)` runs after each tile; throwing
    /// from it (for a cancelled job) stops at once.
    public func run(_ net: SpatialUpscaler, _ x: Tensor,
                    progress: ((Int, Int) throws -> Void)? = nil) throws -> Tensor {
        var output: Tensor?
        let (h, w) = (x.shape[2] * net.scale, x.shape[3] * net.scale)
        try runBands(net, x, progress: progress) { band, row in
            if band.shape[2] == h { output = band; return }   // one band: the whole output
            if output == nil { output = Tensor(uninitialized: [x.shape[0], band.shape[1], h, w]) }
            try output!.slice(2, row, row + band.shape[2]).copy_(from: band)
        }
        return output!
    }

    /// The same result one row of tiles at a time, top to bottom: `band` is
    /// [N, C, rows·scale, W·scale] starting at output row `row`. A caller that
    /// consumes bands as they come (a downscale) never holds the whole output.
    public func runBands(_ net: SpatialUpscaler, _ x: Tensor,
                         progress: ((Int, Int) throws -> Void)? = nil,
                         band consume: (_ band: Tensor, _ row: Int) throws -> Void) throws {
        guard tile > 0, overlap >= 0 else { throw ModelError.badInput("tile \(tile) and overlap \(overlap)") }
        guard x.ndim == 4 else { throw ModelError.badInput("expected [N, C, H, W], got \(x.shape)") }
        let (h, w, s) = (x.shape[2], x.shape[3], net.scale)
        if h <= tile && w <= tile {
            let out = try net(x)
            try progress?(1, 1)
            try consume(out, 0)
            return
        }
        let rects = tiles(height: h, width: w)
        var band: Tensor?
        for (i, r) in rects.enumerated() {
            let py0 = Swift.max(r.y0 - overlap, 0), py1 = Swift.min(r.y1 + overlap, h)
            let px0 = Swift.max(r.x0 - overlap, 0), px1 = Swift.min(r.x1 + overlap, w)
            let patch = try x.slice(2, py0, py1).slice(3, px0, px1).contiguous()
            let up = try net(patch)
            if r.x0 == 0 { band = Tensor(uninitialized: [x.shape[0], up.shape[1], (r.y1 - r.y0) * s, w * s]) }
            let core = try up.slice(2, (r.y0 - py0) * s, (r.y1 - py0) * s).slice(3, (r.x0 - px0) * s, (r.x1 - px0) * s)
            try band!.slice(3, r.x0 * s, r.x1 * s).copy_(from: core)
            try progress?(i + 1, rects.count)
            if r.x1 == w {
                try consume(band!, r.y0 * s)
                band = nil
            }
        }
    }
}
