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

/// One raw Philox4x32-10 block: counter (4 words) and key (2 words) to 4 words.
public func philox4x32(counter: [UInt32], key: [UInt32]) -> [UInt32] {
    precondition(counter.count == 4 && key.count == 2)
    var out = [UInt32](repeating: 0, count: 4)
    reel_philox4x32_10(counter, key, &out)
    return out
}
