// Rotary position embeddings, including Wan's 3-d split of the head dimension.
import CReelKernels
import Glibc

/// cos/sin tables [positions, dim] for 1-d RoPE at integer positions, each
/// frequency repeated for its pair: interleaved (f0 f0 f1 f1 ...) or halves
/// (f0 f1 ... f0 f1 ...). Computed in double like diffusers' get_1d_rotary_pos_embed.
public func rotaryTables(dim: Int, positions: Int, theta: Double = 10000, interleaved: Bool = true) -> (cos: Tensor, sin: Tensor) {
    let c = Tensor(uninitialized: [positions, dim]), s = Tensor(uninitialized: [positions, dim])
    let half = dim / 2
    for p in 0..<positions {
        for i in 0..<half {
            let freq = 1.0 / Glibc.pow(theta, Double(2 * i) / Double(dim))
            let angle = Double(p) * freq
            let (cv, sv) = (Float(Glibc.cos(angle)), Float(Glibc.sin(angle)))
            let (a, b) = interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
            c.data[p * dim + a] = cv; c.data[p * dim + b] = cv
            s.data[p * dim + a] = sv; s.data[p * dim + b] = sv
        }
    }
    return (c, s)
}

/// Wan's 3-d RoPE (diffusers' WanRotaryPosEmbed): the head dim splits into
/// frame, height and width bands (t = d - 2·2⌊d/6⌋, h = w = 2⌊d/6⌋), each a 1-d
/// interleaved RoPE over its own coordinate. Returns cos/sin [F·H·W, headDim] for
/// tokens in (frame, row, column) order.
public func wanRotaryTables(headDim: Int, frames: Int, height: Int, width: Int, theta: Double = 10000) -> (cos: Tensor, sin: Tensor) {
    let hDim = 2 * (headDim / 6), wDim = hDim, tDim = headDim - hDim - wDim
    let t = rotaryTables(dim: tDim, positions: frames, theta: theta)
    let hh = rotaryTables(dim: hDim, positions: height, theta: theta)
    let ww = rotaryTables(dim: wDim, positions: width, theta: theta)
    let n = frames * height * width
    let c = Tensor(uninitialized: [n, headDim]), s = Tensor(uninitialized: [n, headDim])
    for f in 0..<frames {
        for y in 0..<height {
            for x in 0..<width {
                let row = ((f * height + y) * width + x) * headDim
                for (src, pos, off, dim) in [(t, f, 0, tDim), (hh, y, tDim, hDim), (ww, x, tDim + hDim, wDim)] {
                    for i in 0..<dim {
                        c.data[row + off + i] = src.cos.data[pos * dim + i]
                        s.data[row + off + i] = src.sin.data[pos * dim + i]
                    }
                }
            }
        }
    }
    return (c, s)
}

/// Rotates x[B, L, H, D] (any strides, dense last dim) by cos/sin [L, D].
/// interleaved: pairs (2i, 2i+1), as Wan; else halves (i, i + D/2), as Llama.
public func applyRotaryEmbedding(_ x: Tensor, cos: Tensor, sin: Tensor, interleaved: Bool = true) throws -> Tensor {
    guard x.ndim == 4 else { throw EngineError.shape("rope: x must be [B, L, H, D], got \(x.shape)") }
    let (b, l, h, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    guard cos.count == l * d, sin.count == l * d, d % 2 == 0 else {
        throw EngineError.shape("rope: tables \(cos.shape) do not fit x \(x.shape)")
    }
    let src = x.strides[3] == 1 ? x : x.contiguous()
    let c = cos.contiguous(), s = sin.contiguous()
    let out = Tensor(uninitialized: x.shape)
    reel_rope(Int64(b), Int64(l), Int64(h), Int64(d), out.data, src.data, Int64(src.strides[0]), Int64(src.strides[1]),
              Int64(src.strides[2]), c.data, s.data, interleaved ? 1 : 0)
    return out
}
