// Scaled-dot-product attention without the full score matrix (see attention.c).
import CReelKernels

/// Masks for `scaledDotProductAttention`, as torch's attn_mask plus key padding.
public enum AttentionMask {
    /// Added to the scores; broadcastable to [B, H, Lq, Lk]. -inf removes a key.
    case additive(Tensor)
    /// Nonzero = take part (torch's boolean attn_mask); broadcastable to [B, H, Lq, Lk].
    case boolean(Tensor)
    /// Keys at index >= lengths[b] are padding for batch element b.
    case keyPadding(lengths: [Int])
}

/// softmax(q kᵀ · scale + mask) v. q[B, H, Lq, D], k[B, H, Lk, D], v[B, H, Lk, Dv]
/// (any strides with a dense last dim, e.g. `x.unflatten(2, [H, D]).transposed(1, 2)`
/// views of a projection). Returns [B, H, Lq, Dv] laid out as [B, Lq, H, Dv], so
/// `.transposed(1, 2).flatten(2)` is free. `causal` lets query i see keys <= i.
/// Rows whose keys are all masked come out as zeros.
public func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: AttentionMask? = nil,
                                      scale: Float? = nil, causal: Bool = false) throws -> Tensor {
    guard q.ndim == 4, k.ndim == 4, v.ndim == 4 else {
        throw EngineError.shape("attention: q, k, v must be [B, H, L, D], got \(q.shape), \(k.shape), \(v.shape)")
    }
    let (b, h, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (lk, dv) = (k.shape[2], v.shape[3])
    guard k.shape[0] == b, v.shape[0] == b, k.shape[1] == h, v.shape[1] == h, k.shape[3] == d, v.shape[2] == lk else {
        throw EngineError.shape("attention: q \(q.shape), k \(k.shape), v \(v.shape) do not agree")
    }
    func dense(_ t: Tensor) -> Tensor { t.strides[3] == 1 || t.shape[3] == 1 ? t : t.contiguous() }
    let Q = dense(q), K = dense(k), V = dense(v)
    let storage = Tensor(uninitialized: [b, lq, h, dv])
    let out = try storage.transposed(1, 2)

    var maskTensor: Tensor? = nil
    if let mask {
        switch mask {
        case .additive(let m):
            maskTensor = try m.expand(to: [b, h, lq, lk])
        case .boolean(let m):
            let e = try m.expand(to: try broadcastShape(m.shape, [1, 1, lq, lk])).contiguous()
            let add = Tensor(uninitialized: e.shape)
            for i in 0..<e.count { add.data[i] = e.data[i] != 0 ? 0 : -.infinity }
            maskTensor = try add.expand(to: [b, h, lq, lk])
        case .keyPadding(let lengths):
            guard lengths.count == b else { throw EngineError.shape("attention: \(lengths.count) key lengths for batch \(b)") }
            let add = Tensor(uninitialized: [b, 1, 1, lk])
            for i in 0..<b { for j in 0..<lk { add.data[i * lk + j] = j < lengths[i] ? 0 : -.infinity } }
            maskTensor = try add.expand(to: [b, h, lq, lk])
        }
        if let m = maskTensor, m.strides[3] != 1 { maskTensor = m.contiguous() }
    }
    var args = reel_attention_args()
    args.batch = Int64(b); args.heads = Int64(h); args.lq = Int64(lq); args.lk = Int64(lk); args.d = Int64(d); args.dv = Int64(dv)
    args.q = UnsafePointer(Q.data); args.q_sb = Int64(Q.strides[0]); args.q_sh = Int64(Q.strides[1]); args.q_sl = Int64(Q.strides[2])
    args.k = UnsafePointer(K.data); args.k_sb = Int64(K.strides[0]); args.k_sh = Int64(K.strides[1]); args.k_sl = Int64(K.strides[2])
    args.v = UnsafePointer(V.data); args.v_sb = Int64(V.strides[0]); args.v_sh = Int64(V.strides[1]); args.v_sl = Int64(V.strides[2])
    args.o = out.data; args.o_sb = Int64(out.strides[0]); args.o_sh = Int64(out.strides[1]); args.o_sl = Int64(out.strides[2])
    if let m = maskTensor {
        args.mask = UnsafePointer(m.data); args.m_sb = Int64(m.strides[0]); args.m_sh = Int64(m.strides[1]); args.m_sl = Int64(m.strides[2])
    }
    args.scale = scale ?? 1 / Float(d).squareRoot()
    args.causal = causal ? 1 : 0
    // BLAS needs leading dimensions >= the row length.
    if lq > 1 && Q.strides[2] < d || lk > 1 && (K.strides[2] < d || V.strides[2] < dv) {
        return try scaledDotProductAttention(q.contiguous(), k.contiguous(), v.contiguous(), mask: mask, scale: scale, causal: causal)
    }
    let interrupt = Engine.interrupt
    withExtendedLifetime((Q, K, V, maskTensor, interrupt)) {
        if let interrupt { args.interrupt = UnsafePointer(interrupt.flag) }
        reel_attention(&args)
    }
    if interrupt?.isTriggered == true { throw EngineError.interrupted }  // tasks returned early: output incomplete
    return out
}
