// Seeded noise: Philox4x32-10 + Box-Muller (see docs/engine.md). The stream is
// a pure function of (seed, offset), identical across machines and thread counts.
import CReelKernels

/// Standard normal samples. `offset` skips that many blocks of four samples, so
/// a long stream can be produced piecewise.
public func randn(_ shape: [Int], seed: UInt64, offset: UInt64 = 0) -> Tensor {
    let out = Tensor(uninitialized: shape)
    reel_philox_normal(seed, offset, Int64(out.count), out.data)
    return out
}

/// Uniform samples in [0, 1) with 24 random bits each.
public func rand(_ shape: [Int], seed: UInt64, offset: UInt64 = 0) -> Tensor {
    let out = Tensor(uninitialized: shape)
    reel_philox_uniform(seed, offset, Int64(out.count), out.data)
    return out
}

/// 0, 1, ..., n-1 as floats.
public func arange(_ n: Int) -> Tensor {
    let out = Tensor(uninitialized: [n])
    for i in 0..<n { out.data[i] = Float(i) }
    return out
}
