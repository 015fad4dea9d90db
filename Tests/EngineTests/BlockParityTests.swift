import ReelEngine
import XCTest

/// Whole blocks against diffusers: a Wan transformer block (self-attention with
/// RMS q/k norm and 3-d RoPE, cross-attention, FFN, AdaLN modulation; weights
/// stored as BF16) and a Wan-VAE-style causal conv3d stack.
final class BlockParityTests: XCTestCase {
    /// Linear layers of the block: fp32 sgemm, or weights packed for the bf16 kernel.
    var precision: MatmulPrecision = .float32

    func lin(_ x: Tensor, _ w: WeightSource, _ name: String, activation: Activation = .none) throws -> Tensor {
        let weight = try PackedLinear(w.tensor(name + ".weight"), precision: precision)
        return try linear(x, weight: weight, bias: w.tensor(name + ".bias"), activation: activation)
    }

    /// diffusers' WanAttention forward, written with the engine's ops.
    func wanAttention(_ x: Tensor, context: Tensor?, _ w: WeightSource, _ p: String, heads: Int,
                      rope: (cos: Tensor, sin: Tensor)?) throws -> Tensor {
        let ctx = context ?? x
        var q = try lin(x, w, p + ".to_q")
        var k = try lin(ctx, w, p + ".to_k")
        let v = try lin(ctx, w, p + ".to_v")
        q = try rmsNorm(q, weight: w.tensor(p + ".norm_q.weight"), eps: 1e-6).unflatten(2, [heads, -1])
        k = try rmsNorm(k, weight: w.tensor(p + ".norm_k.weight"), eps: 1e-6).unflatten(2, [heads, -1])
        if let rope {
            q = try applyRotaryEmbedding(q, cos: rope.cos, sin: rope.sin)
            k = try applyRotaryEmbedding(k, cos: rope.cos, sin: rope.sin)
        }
        let o = try scaledDotProductAttention(q.transposed(1, 2), k.transposed(1, 2), v.unflatten(2, [heads, -1]).transposed(1, 2))
        return try lin(o.transposed(1, 2).flatten(2), w, p + ".to_out.0")
    }

    func wanBlock() throws -> (ours: Tensor, torch: Tensor) {
        let w = try SafetensorsFile(path: Fixtures.url("wan_block.safetensors"))
        XCTAssertEqual(try w.info("block.attn1.to_q.weight").dtype, .bfloat16)
        let grid = try w.tensor("grid").toArray().map { Int($0) }
        var x = try w.tensor("input.hidden_states")
        let ctx = try w.tensor("input.encoder_hidden_states"), temb = try w.tensor("input.temb")
        let heads = 4, dim = x.shape[2]
        let rope = wanRotaryTables(headDim: dim / heads, frames: grid[0], height: grid[1], width: grid[2])

        let mod = try (w.tensor("block.scale_shift_table") + temb).chunk(6, dim: 1)
        let (shift, scale, gate, cShift, cScale, cGate) = (mod[0], mod[1], mod[2], mod[3], mod[4], mod[5])
        let n1 = try layerNormModulated(x, scale: scale, shift: shift, eps: 1e-6)
        x = try x + wanAttention(n1, context: nil, w, "block.attn1", heads: heads, rope: rope) * gate
        let n2 = try layerNorm(x, weight: w.tensor("block.norm2.weight"), bias: w.tensor("block.norm2.bias"), eps: 1e-6)
        x = try x + wanAttention(n2, context: ctx, w, "block.attn2", heads: heads, rope: nil)
        let n3 = try layerNormModulated(x, scale: cScale, shift: cShift, eps: 1e-6)
        let h = try lin(n3, w, "block.ffn.net.0.proj", activation: .geluTanh)
        x = try x + lin(h, w, "block.ffn.net.2") * cGate
        return (x, try w.tensor("output"))
    }

    func testWanTransformerBlock() throws {
        precision = .float32
        let (ours, torch) = try wanBlock()
        assertClose(ours, torch, atol: 1e-4, rtol: 1e-4, "Wan block")
    }

    /// The same block with every linear on the bf16 kernel, against diffusers in fp32.
    func testWanTransformerBlockBF16() throws {
        try XCTSkipUnless(Engine.hasAVX512BF16, "no AVX512-BF16 on this cpu")
        precision = .bf16
        let (ours, torch) = try wanBlock()
        assertClose(ours, torch, atol: 1e-2, rtol: 1e-2, "Wan block, bf16 linears")
    }

    func testCausalConv3dStack() throws {
        let w = try SafetensorsFile(path: Fixtures.url("causal_conv3d.safetensors"))
        let x = try w.tensor("input")
        let h1 = try conv3d(x, weight: w.tensor("conv1.weight"), bias: w.tensor("conv1.bias"), padding: [1, 1, 1], causal: true)
        assertClose(h1, try w.tensor("hidden"), atol: 1e-5, rtol: 1e-5, "first causal conv")
        // WanRMS_norm over channels: F.normalize(x, dim=1) * sqrt(C) * gamma
        let gamma = try w.tensor("norm.gamma").reshape([-1])
        let normed = try rmsNorm(h1.permute([0, 2, 3, 4, 1]), weight: gamma, eps: 1e-24).permute([0, 4, 1, 2, 3])
        let out = try conv3d(silu(normed), weight: w.tensor("conv2.weight"), bias: w.tensor("conv2.bias"),
                             stride: [1, 2, 2], padding: [1, 1, 1], causal: true)
        assertClose(out, try w.tensor("output"), atol: 1e-5, rtol: 1e-5, "causal conv3d stack")

        // Causality: changing the last frame leaves every earlier output frame unchanged.
        let x2 = x.clone()
        let last = try x2.slice(2, -1)
        try last.copy_(from: randn(last.shape, seed: 9))
        let y1 = try conv3d(x2, weight: w.tensor("conv1.weight"), padding: [1, 1, 1], causal: true)
        let y0 = try conv3d(x, weight: w.tensor("conv1.weight"), padding: [1, 1, 1], causal: true)
        XCTAssertEqual(try y1.slice(2, 0, -1).toArray(), try y0.slice(2, 0, -1).toArray())
        XCTAssertNotEqual(try y1.slice(2, -1).toArray(), try y0.slice(2, -1).toArray())
    }
}
