// GEMM, batched GEMM and linear layers over OpenBLAS sgemm, split across the pool.
import CReelKernels

/// How a matrix operand is read: a pointer, its leading dimension, transposed or not.
struct MatrixOperand {
    let pointer: UnsafeMutablePointer<Float>
    let ld: Int
    let transposed: Bool
}

/// The last two dims of `t` as a BLAS operand when their strides allow it.
func matrixOperand(_ t: Tensor) -> MatrixOperand? {
    let r = t.shape[t.ndim - 2], c = t.shape[t.ndim - 1]
    let sr = t.strides[t.ndim - 2], sc = t.strides[t.ndim - 1]
    if sc == 1 || c == 1 { return MatrixOperand(pointer: t.data, ld: Swift.max(r == 1 ? c : sr, c, 1), transposed: false) }
    if sr == 1 || r == 1 { return MatrixOperand(pointer: t.data, ld: Swift.max(c == 1 ? r : sc, r, 1), transposed: true) }
    return nil
}

/// Matrix product with batch broadcasting (torch.matmul for ndim >= 2).
public func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard a.ndim >= 2, b.ndim >= 2 else { throw EngineError.shape("matmul: needs 2-d or more, got \(a.shape) and \(b.shape)") }
    let m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1], n = b.shape[b.ndim - 1]
    guard b.shape[b.ndim - 2] == k else { throw EngineError.shape("matmul: \(a.shape) x \(b.shape): inner dims differ") }
    let batchShape = try broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)))
    let batch = batchShape.reduce(1, *)
    let out = Tensor(uninitialized: batchShape + [m, n])
    if out.count == 0 { return out }
    if k == 0 { reel_fill(Int64(out.count), out.data, 0); return out }

    // A 2-d right operand and a left operand whose rows stack: one big GEMM.
    if b.ndim == 2, a.ndim > 2, let bo = matrixOperand(b) {
        let a2 = try a.reshape([batch * m, k])
        if let ao = matrixOperand(a2) {
            reel_sgemm(ao.transposed ? 1 : 0, bo.transposed ? 1 : 0, Int64(batch * m), Int64(n), Int64(k), 1,
                       ao.pointer, Int64(ao.ld), bo.pointer, Int64(bo.ld), 0, out.data, Int64(n))
            return out
        }
    }
    let ea = try a.expand(to: batchShape + [m, k]), eb = try b.expand(to: batchShape + [k, n])
    // Uniform batch strides (dense or broadcast) go to one batched call.
    func batchStride(_ t: Tensor) -> Int? {
        if batchShape.isEmpty { return 0 }
        let dims = batchShape.count
        var found: Int? = nil
        var expected = 0
        for i in (0..<dims).reversed() where t.shape[i] != 1 {
            if found == nil { found = t.strides[i]; expected = t.strides[i] * t.shape[i]; continue }
            if t.strides[i] != expected { return nil }
            expected *= t.shape[i]
        }
        // A zero stride anywhere must be zero everywhere to be uniform.
        let nonUnit = (0..<dims).filter { t.shape[$0] != 1 }
        if nonUnit.contains(where: { t.strides[$0] == 0 }) && !nonUnit.allSatisfy({ t.strides[$0] == 0 }) { return nil }
        return found ?? 0
    }
    var A = ea, B = eb
    var sa = batchStride(A), sb = batchStride(B)
    var ao = matrixOperand(A), bo = matrixOperand(B)
    if sa == nil || ao == nil { A = ea.contiguous(); sa = m * k; ao = matrixOperand(A) }
    if sb == nil || bo == nil { B = eb.contiguous(); sb = k * n; bo = matrixOperand(B) }
    reel_sgemm_batched(Int64(batch), ao!.transposed ? 1 : 0, bo!.transposed ? 1 : 0, Int64(m), Int64(n), Int64(k), 1,
                       ao!.pointer, Int64(ao!.ld), Int64(sa!), bo!.pointer, Int64(bo!.ld), Int64(sb!),
                       0, out.data, Int64(n), Int64(m * n))
    return out
}

/// An activation fused into the GEMM's epilogue.
public enum Activation: Sendable {
    case none, gelu, geluTanh, silu, relu
    var code: Int32 {
        switch self {
        case .none: return -1
        case .gelu: return Int32(REEL_UNARY_GELU_ERF)
        case .geluTanh: return Int32(REEL_UNARY_GELU_TANH)
        case .silu: return Int32(REEL_UNARY_SILU)
        case .relu: return Int32(REEL_UNARY_RELU)
        }
    }
}

/// y = x Wᵀ + b with PyTorch's layout: x[..., in], weight[out, in], bias[out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, activation: Activation = .none) throws -> Tensor {
    guard weight.ndim == 2, let inF = x.shape.last, weight.shape[1] == inF else {
        throw EngineError.shape("linear: input \(x.shape) does not fit weight \(weight.shape) ([out, in])")
    }
    let outF = weight.shape[0]
    try checkVector(bias, outF, "linear bias")
    let rows = x.count / Swift.max(inF, 1)
    let x2 = try x.reshape([rows, inF])
    guard let ao = matrixOperand(x2.isContiguous || x2.strides[1] == 1 ? x2 : x2.contiguous()),
          let wo = matrixOperand(weight.strides[1] == 1 || weight.strides[0] == 1 ? weight : weight.contiguous()) else {
        throw EngineError.shape("linear: unsupported layout")
    }
    let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outF])
    // weight is [out, in]: as a BLAS operand read transposed.
    reel_sgemm(ao.transposed ? 1 : 0, wo.transposed ? 0 : 1, Int64(rows), Int64(outF), Int64(inF), 1,
               ao.pointer, Int64(ao.ld), wo.pointer, Int64(wo.ld), 0, out.data, Int64(outF))
    let b = bias?.contiguous()
    reel_add_bias_rows(Int64(rows), Int64(outF), out.data, Int64(outF), b?.data, activation.code)
    return out
}
