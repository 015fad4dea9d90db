// Resizing, grid sampling and pixel (un)shuffle with PyTorch's conventions.
import CReelKernels

public enum InterpolationMode: Sendable {
    case nearest, nearestExact, bilinear, bicubic
    var code: Int32 {
        switch self {
        case .nearest: return Int32(REEL_RESAMPLE_NEAREST)
        case .nearestExact: return Int32(REEL_RESAMPLE_NEAREST_EXACT)
        case .bilinear: return Int32(REEL_RESAMPLE_BILINEAR)
        case .bicubic: return Int32(REEL_RESAMPLE_BICUBIC)
        }
    }
}

/// F.interpolate on x[N, C, H, W] (or any [..., H, W]) to `size` [oh, ow].
public func interpolate(_ x: Tensor, size: [Int], mode: InterpolationMode, alignCorners: Bool = false) throws -> Tensor {
    guard x.ndim >= 2, size.count == 2, size.allSatisfy({ $0 > 0 }) else {
        throw EngineError.argument("interpolate: size \(size) for input \(x.shape)")
    }
    let (h, w) = (x.shape[x.ndim - 2], x.shape[x.ndim - 1])
    return try resize(x, size[0], size[1], Float(h) / Float(size[0]), Float(w) / Float(size[1]), mode, alignCorners)
}

/// F.interpolate with `scale_factor` (coordinates use 1/scale, as torch does).
public func interpolate(_ x: Tensor, scaleFactor: Float, mode: InterpolationMode, alignCorners: Bool = false) throws -> Tensor {
    guard x.ndim >= 2, scaleFactor > 0 else { throw EngineError.argument("interpolate: scale \(scaleFactor)") }
    let (h, w) = (x.shape[x.ndim - 2], x.shape[x.ndim - 1])
    let oh = Int((Float(h) * scaleFactor).rounded(.down)), ow = Int((Float(w) * scaleFactor).rounded(.down))
    return try resize(x, oh, ow, 1 / scaleFactor, 1 / scaleFactor, mode, alignCorners)
}

func resize(_ x: Tensor, _ oh: Int, _ ow: Int, _ sh: Float, _ sw: Float, _ mode: InterpolationMode, _ align: Bool) throws -> Tensor {
    let (h, w) = (x.shape[x.ndim - 2], x.shape[x.ndim - 1])
    let planes = x.count / Swift.max(h * w, 1)
    let c = x.contiguous()
    let out = Tensor(uninitialized: Array(x.shape.dropLast(2)) + [oh, ow])
    reel_resize2d(mode.code, align ? 1 : 0, Int64(planes), Int64(h), Int64(w), Int64(oh), Int64(ow), sh, sw, out.data, c.data)
    return out
}

public enum GridPadding: Sendable { case zeros, border }

/// F.grid_sample(mode="bilinear"): x[N, C, H, W], grid[N, OH, OW, 2] with (x, y) in [-1, 1].
public func gridSample(_ x: Tensor, grid: Tensor, padding: GridPadding = .zeros, alignCorners: Bool = false) throws -> Tensor {
    guard x.ndim == 4, grid.ndim == 4, grid.shape[3] == 2, grid.shape[0] == x.shape[0] else {
        throw EngineError.shape("gridSample: input \(x.shape), grid \(grid.shape) (expected [N, OH, OW, 2])")
    }
    let c = x.contiguous(), g = grid.contiguous()
    let out = Tensor(uninitialized: [x.shape[0], x.shape[1], grid.shape[1], grid.shape[2]])
    reel_grid_sample2d(Int64(x.shape[0]), Int64(x.shape[1]), Int64(x.shape[2]), Int64(x.shape[3]),
                       Int64(grid.shape[1]), Int64(grid.shape[2]), out.data, c.data, g.data,
                       alignCorners ? 1 : 0, padding == .border ? 1 : 0)
    return out
}

/// [N, C·r², H, W] -> [N, C, H·r, W·r] (torch.nn.PixelShuffle).
public func pixelShuffle(_ x: Tensor, _ r: Int) throws -> Tensor {
    guard x.ndim == 4, r > 0, x.shape[1] % (r * r) == 0 else { throw EngineError.shape("pixelShuffle: \(x.shape) by \(r)") }
    let (n, c, h, w) = (x.shape[0], x.shape[1] / (r * r), x.shape[2], x.shape[3])
    return try x.reshape([n, c, r, r, h, w]).permute([0, 1, 4, 2, 5, 3]).contiguous().reshape([n, c, h * r, w * r])
}

/// [N, C, H·r, W·r] -> [N, C·r², H, W] (torch.nn.PixelUnshuffle).
public func pixelUnshuffle(_ x: Tensor, _ r: Int) throws -> Tensor {
    guard x.ndim == 4, r > 0, x.shape[2] % r == 0, x.shape[3] % r == 0 else { throw EngineError.shape("pixelUnshuffle: \(x.shape) by \(r)") }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2] / r, x.shape[3] / r)
    return try x.reshape([n, c, h, r, w, r]).permute([0, 1, 3, 5, 2, 4]).contiguous().reshape([n, c * r * r, h, w])
}
