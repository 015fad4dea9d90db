import ReelEngine
import XCTest

/// Every op against PyTorch's output for the same inputs (Fixtures/ops.safetensors,
/// written by tools/parity/engine_fixtures.py). Tolerances are stated per test and
/// listed in docs/engine.md.
final class OpParityTests: XCTestCase {
    func t(_ name: String) throws -> Tensor { try Fixtures.op(name) }

    func testMatmulAndLinear() throws {
        assertClose(try matmul(t("matmul.a"), t("matmul.b")), try t("matmul.out"), atol: 1e-4, rtol: 1e-5, "matmul")
        assertClose(try matmul(t("bmm.a"), t("bmm.b")), try t("bmm.out"), atol: 1e-4, rtol: 1e-5, "bmm")
        assertClose(try matmul(t("matmul_broadcast.a"), t("matmul_broadcast.b")), try t("matmul_broadcast.out"), atol: 1e-4, rtol: 1e-5, "broadcast")
        // operands given as transposed views go to BLAS without a copy
        let bT = try t("matmul.b").transposed(0, 1).contiguous().transposed(0, 1)
        assertClose(try matmul(t("matmul.a"), bT), try t("matmul.out"), atol: 1e-4, rtol: 1e-5, "transposed view")
        assertClose(try linear(t("linear.x"), weight: t("linear.w"), bias: t("linear.b")), try t("linear.out"), atol: 1e-5, rtol: 1e-5, "linear")
        assertClose(try linear(t("linear_big.x"), weight: t("linear_big.w"), activation: .geluTanh), try t("linear_big.out"),
                    atol: 1e-5, rtol: 1e-5, "linear + gelu(tanh), split over threads")
        XCTAssertThrowsError(try linear(t("linear.x"), weight: t("linear_big.w")))
    }

    func testConvolutions() throws {
        assertClose(try conv1d(t("conv1d.x"), weight: t("conv1d.w"), bias: t("conv1d.b"), stride: 2, padding: 2, groups: 2),
                    try t("conv1d.out"), atol: 1e-5, rtol: 1e-5, "conv1d")
        assertClose(try conv1d(t("conv1d_causal.x"), weight: t("conv1d_causal.w"), padding: 2, dilation: 2, causal: true),
                    try t("conv1d_causal.out"), atol: 1e-5, rtol: 1e-5, "conv1d causal")
        let x = try t("conv2d.x"), w = try t("conv2d.w"), b = try t("conv2d.b")
        assertClose(try conv2d(x, weight: w, bias: b, padding: 1), try t("conv2d.out"), atol: 1e-5, rtol: 1e-5, "conv2d")
        assertClose(try conv2d(x, weight: w, bias: b, padding: 1, paddingMode: .replicate), try t("conv2d_replicate.out"),
                    atol: 1e-5, rtol: 1e-5, "conv2d replicate")
        assertClose(try conv2d(x, weight: w, bias: b, padding: 1, paddingMode: .reflect), try t("conv2d_reflect.out"),
                    atol: 1e-5, rtol: 1e-5, "conv2d reflect")
        assertClose(try conv2d(x, weight: t("conv2d_strided.w"), bias: b, stride: 2, padding: 2, dilation: 2, groups: 2),
                    try t("conv2d_strided.out"), atol: 1e-5, rtol: 1e-5, "conv2d stride/dilation/groups")
        assertClose(try conv2d(x, weight: t("conv2d_1x1.w"), bias: t("conv2d_1x1.b")), try t("conv2d_1x1.out"),
                    atol: 1e-5, rtol: 1e-5, "conv2d 1x1")
        let x3 = try t("conv3d_causal.x"), w3 = try t("conv3d_causal.w"), b3 = try t("conv3d_causal.b")
        assertClose(try conv3d(x3, weight: w3, bias: b3, padding: [1, 1, 1], causal: true), try t("conv3d_causal.out"),
                    atol: 1e-5, rtol: 1e-5, "conv3d causal")
        assertClose(try conv3d(x3, weight: w3, bias: b3, stride: [1, 2, 2], padding: [1, 1, 1]), try t("conv3d_strided.out"),
                    atol: 1e-5, rtol: 1e-5, "conv3d strided")
        assertClose(try convTranspose2d(t("conv_transpose2d.x"), weight: t("conv_transpose2d.w"), bias: t("conv_transpose2d.b"),
                                        stride: [2, 2], padding: [1, 1]),
                    try t("conv_transpose2d.out"), atol: 1e-5, rtol: 1e-5, "conv_transpose2d")
        assertClose(try convTranspose2d(t("conv_transpose2d_groups.x"), weight: t("conv_transpose2d_groups.w"),
                                        bias: t("conv_transpose2d_groups.b"), stride: [2, 2], padding: [1, 1],
                                        outputPadding: [1, 1], groups: 2),
                    try t("conv_transpose2d_groups.out"), atol: 1e-5, rtol: 1e-5, "conv_transpose2d groups")
        XCTAssertThrowsError(try conv2d(x, weight: t("conv3d_causal.w")))
        XCTAssertThrowsError(try conv2d(x, weight: w, groups: 4))
    }

    func testResampling() throws {
        let x = try t("resize_nearest_up.x")
        let modes: [(String, InterpolationMode)] = [("nearest", .nearest), ("nearest_exact", .nearestExact)]
        for (key, mode) in modes {
            assertClose(try interpolate(x, size: [17, 29], mode: mode), try t("resize_\(key)_up.out"), atol: 0, rtol: 0, key)
            assertClose(try interpolate(x, size: [7, 5], mode: mode), try t("resize_\(key)_down.out"), atol: 0, rtol: 0, key)
        }
        assertClose(try interpolate(x, scaleFactor: 2, mode: .nearest), try t("resize_nearest_x2.out"), atol: 0, rtol: 0, "nearest x2")
        for (key, mode) in [("bilinear", InterpolationMode.bilinear), ("bicubic", .bicubic)] {
            for align in [false, true] {
                let name = "resize_\(key)_\(align ? "ac" : "hc")"
                assertClose(try interpolate(x, size: [17, 29], mode: mode, alignCorners: align), try t(name + "_up.out"), atol: 2e-6, rtol: 1e-5, name)
                assertClose(try interpolate(x, size: [7, 5], mode: mode, alignCorners: align), try t(name + "_down.out"), atol: 2e-6, rtol: 1e-5, name)
            }
        }
        assertClose(try interpolate(x, scaleFactor: 4, mode: .bilinear), try t("resize_bilinear_x4.out"), atol: 2e-6, rtol: 1e-5, "bilinear x4")
        for pad in ["border", "zeros"] {
            for align in [false, true] {
                let name = "grid_sample_\(pad)_\(align ? "ac" : "hc")"
                assertClose(try gridSample(t(name + ".x"), grid: t(name + ".grid"), padding: pad == "border" ? .border : .zeros, alignCorners: align),
                            try t(name + ".out"), atol: 2e-6, rtol: 1e-5, name)
            }
        }
        assertClose(try pixelShuffle(t("pixel_shuffle.x"), 2), try t("pixel_shuffle.out"), atol: 0, rtol: 0, "pixel shuffle")
        assertClose(try pixelUnshuffle(t("pixel_unshuffle.x"), 2), try t("pixel_unshuffle.out"), atol: 0, rtol: 0, "pixel unshuffle")
    }

    func testAttention() throws {
        let q = try t("sdpa.q"), k = try t("sdpa.k"), v = try t("sdpa.v")
        assertClose(try scaledDotProductAttention(q, k, v), try t("sdpa.out"), atol: 2e-6, rtol: 1e-5, "sdpa")
        assertClose(try scaledDotProductAttention(q, k, v, mask: .boolean(t("sdpa_bool.mask"))), try t("sdpa_bool.out"),
                    atol: 2e-6, rtol: 1e-5, "boolean mask")
        assertClose(try scaledDotProductAttention(q, k, v, mask: .additive(t("sdpa_additive.mask"))), try t("sdpa_additive.out"),
                    atol: 2e-6, rtol: 1e-5, "additive mask")
        let lengths = try t("sdpa_keypad.lengths").toArray().map { Int($0) }
        assertClose(try scaledDotProductAttention(q, k, v, mask: .keyPadding(lengths: lengths)), try t("sdpa_keypad.out"),
                    atol: 2e-6, rtol: 1e-5, "key padding")
        let qc = try t("sdpa_causal.q")
        assertClose(try scaledDotProductAttention(qc, qc, qc, causal: true), try t("sdpa_causal.out"), atol: 2e-6, rtol: 1e-5, "causal")
        assertClose(try scaledDotProductAttention(t("sdpa_long.q"), t("sdpa_long.k"), t("sdpa_long.v"), scale: 0.2),
                    try t("sdpa_long.out"), atol: 2e-6, rtol: 1e-5, "several key blocks")
        // Strided views straight from a projection layout [B, L, H, D] work without copies.
        let qv = try q.transposed(1, 2).contiguous().transposed(1, 2)
        assertClose(try scaledDotProductAttention(qv, k, v), try t("sdpa.out"), atol: 2e-6, rtol: 1e-5, "strided q")
    }

    func testNormalisation() throws {
        let x = try t("layer_norm.x")
        assertClose(try layerNorm(x, weight: t("layer_norm.w"), bias: t("layer_norm.b"), eps: 1e-5), try t("layer_norm.out"),
                    atol: 1e-5, rtol: 1e-5, "layer norm")
        assertClose(try layerNorm(x, eps: 1e-6), try t("layer_norm_plain.out"), atol: 1e-5, rtol: 1e-5, "layer norm, no affine")
        assertClose(try rmsNorm(x, weight: t("rms_norm.w"), eps: 1e-6), try t("rms_norm.out"), atol: 1e-5, rtol: 1e-5, "rms norm")
        assertClose(try groupNorm(t("group_norm.x"), groups: 4, weight: t("group_norm.w"), bias: t("group_norm.b")),
                    try t("group_norm.out"), atol: 1e-5, rtol: 1e-5, "group norm")
    }

    func testActivations() throws {
        let x = try t("gelu.x")
        assertClose(gelu(x), try t("gelu.out"), atol: 1e-6, rtol: 1e-6, "gelu erf")
        assertClose(gelu(x, approximate: .tanh), try t("gelu_tanh.out"), atol: 1e-6, rtol: 1e-6, "gelu tanh")
        assertClose(silu(x), try t("silu.out"), atol: 1e-6, rtol: 1e-6, "silu")
        assertClose(tanh(x), try t("tanh.out"), atol: 1e-6, rtol: 1e-6, "tanh")
        assertClose(sigmoid(x), try t("sigmoid.out"), atol: 1e-6, rtol: 1e-6, "sigmoid")
        assertClose(exp(x), try t("exp.out"), atol: 0, rtol: 2e-7, "exp")
        assertClose(try prelu(t("prelu.x"), weight: t("prelu.w")), try t("prelu.out"), atol: 0, rtol: 0, "prelu")
        let s = try t("softmax_last.x")
        assertClose(try softmax(s), try t("softmax_last.out"), atol: 1e-7, rtol: 1e-5, "softmax")
        assertClose(try softmax(s, axis: 1), try t("softmax_mid.out"), atol: 1e-7, rtol: 1e-5, "softmax axis 1")
        assertClose(try logSoftmax(s), try t("log_softmax.out"), atol: 1e-5, rtol: 1e-6, "log softmax")
    }

    func testReductionsAndBroadcasting() throws {
        let x = try t("sum_mid.x")
        assertClose(try sum(x, axis: 1), try t("sum_mid.out"), atol: 1e-5, rtol: 1e-6, "sum")
        assertClose(try mean(x, axis: -1), try t("mean_last.out"), atol: 1e-6, rtol: 1e-6, "mean")
        assertClose(try max(x, axis: 0), try t("max_first.out"), atol: 0, rtol: 0, "max")
        let a = try t("broadcast.a"), b = try t("broadcast.b")
        assertClose(try a + b, try t("broadcast.add"), atol: 0, rtol: 0, "add")
        assertClose(try a - b, try t("broadcast.sub"), atol: 0, rtol: 0, "sub")
        assertClose(try a * b, try t("broadcast.mul"), atol: 0, rtol: 0, "mul")
        assertClose(try a / (abs(b) + 0.5), try t("broadcast.div"), atol: 0, rtol: 1e-7, "div")
    }

    func testWanRotaryEmbedding() throws {
        let (c, s) = wanRotaryTables(headDim: 32, frames: 3, height: 4, width: 5)
        assertClose(c, try t("wan_rope.cos"), atol: 1e-6, rtol: 0, "cos table")
        assertClose(s, try t("wan_rope.sin"), atol: 1e-6, rtol: 0, "sin table")
        assertClose(try applyRotaryEmbedding(t("wan_rope.x"), cos: c, sin: s), try t("wan_rope.out"), atol: 2e-6, rtol: 1e-6, "rope")
    }
}

/// The bf16 GEMM path (AVX512-BF16): weights and activations rounded to bf16,
/// fp32 accumulation. Compared with PyTorch's fp32 results at bf16 tolerances.
final class BF16ParityTests: XCTestCase {
    func testPackedLinear() throws {
        let x = try Fixtures.op("linear.x"), w = try Fixtures.op("linear.w"), b = try Fixtures.op("linear.b")
        let exact = try PackedLinear(w, precision: .float32)
        XCTAssertEqual(exact.precision, .float32)
        assertClose(try linear(x, weight: exact, bias: b), try Fixtures.op("linear.out"), atol: 1e-5, rtol: 1e-5, "packed fp32")
        try XCTSkipUnless(Engine.hasAVX512BF16, "no AVX512-BF16 on this cpu: the bf16 path falls back to fp32")
        let fast = try PackedLinear(w, precision: .bf16)
        XCTAssertEqual(fast.precision, .bf16)
        // ragged shapes: rows not a multiple of 6, columns not of 64, odd k
        assertClose(try linear(x, weight: fast, bias: b), try Fixtures.op("linear.out"), atol: 2e-2, rtol: 1e-2, "bf16 linear")
        let big = try PackedLinear(Fixtures.op("linear_big.w"), precision: .bf16)
        assertClose(try linear(Fixtures.op("linear_big.x"), weight: big, activation: .geluTanh), try Fixtures.op("linear_big.out"),
                    atol: 2e-2, rtol: 1e-2, "bf16 linear + gelu")
        // Exactness: on inputs that are already bf16 values the only difference
        // from fp32 sgemm is the order of fp32 additions.
        for (m, k, n) in [(7, 33, 70), (13, 1030, 129), (1, 64, 64)] {
            let xs = randn([m, k], seed: 3).roundedToBF16(), ws = randn([n, k], seed: 4).roundedToBF16()
            assertClose(try linear(xs, weight: PackedLinear(ws, precision: .bf16)), try linear(xs, weight: ws),
                        atol: 1e-4, rtol: 1e-5, "bf16 exact on bf16 values \(m)x\(k)x\(n)")
        }
    }
}

final class BF16ConvolutionTests: XCTestCase {
    func testPackedConvolution() throws {
        let x = try Fixtures.op("conv2d.x"), w = try Fixtures.op("conv2d.w"), b = try Fixtures.op("conv2d.b")
        let exact = try PackedConvolution(w)
        assertClose(try conv2d(x, weight: exact, bias: b, padding: 1), try Fixtures.op("conv2d.out"), atol: 1e-5, rtol: 1e-5, "packed conv fp32")
        try XCTSkipUnless(Engine.hasAVX512BF16, "no AVX512-BF16 on this cpu")
        let fast = try PackedConvolution(w, precision: .bf16)
        XCTAssertEqual(fast.precision, .bf16)
        assertClose(try conv2d(x, weight: fast, bias: b, padding: 1), try Fixtures.op("conv2d.out"), atol: 2e-2, rtol: 1e-2, "bf16 conv2d")
        let grouped = try PackedConvolution(Fixtures.op("conv2d_strided.w"), groups: 2, precision: .bf16)
        assertClose(try convolution(x, weight: grouped, bias: b, stride: [2, 2], padding: [(2, 2), (2, 2)], dilation: [2, 2]),
                    try Fixtures.op("conv2d_strided.out"), atol: 2e-2, rtol: 1e-2, "bf16 conv2d groups")
        let w3 = try Fixtures.op("conv3d_causal.w")
        assertClose(try conv3d(Fixtures.op("conv3d_causal.x"), weight: PackedConvolution(w3, precision: .bf16),
                               bias: Fixtures.op("conv3d_causal.b"), padding: [1, 1, 1], causal: true),
                    try Fixtures.op("conv3d_causal.out"), atol: 2e-2, rtol: 1e-2, "bf16 conv3d causal")
        // exact on bf16 values, with more output channels than one column block
        let xs = randn([1, 5, 13, 11], seed: 5).roundedToBF16(), ws = (randn([70, 5, 3, 3], seed: 6) * 0.2).roundedToBF16()
        assertClose(try conv2d(xs, weight: PackedConvolution(ws, precision: .bf16), padding: 1), try conv2d(xs, weight: ws, padding: 1),
                    atol: 1e-5, rtol: 1e-5, "bf16 conv exact on bf16 values")
    }
}

final class WinogradConvolutionTests: XCTestCase {
    /// conv2d takes the Winograd path for 3x3 convolutions with channels in 16s; the
    /// same call with it switched off lowers to GEMM. Both must match PyTorch.
    func testNCHWPathAgainstTorchAndGEMM() throws {
        try XCTSkipUnless(WinogradConvolution3x3.isAvailable, "no AVX-512 on this cpu")
        let x = try Fixtures.op("conv2d_winograd.x"), w = try Fixtures.op("conv2d_winograd.w"), b = try Fixtures.op("conv2d_winograd.b")
        let reference = try Fixtures.op("conv2d_winograd.out")
        let winograd = try conv2d(x, weight: w, bias: b, padding: 1)
        assertClose(winograd, reference, atol: 1e-4, rtol: 1e-4, "Winograd conv2d")
        Engine.useWinograd = false
        defer { Engine.useWinograd = true }
        let gemm = try conv2d(x, weight: w, bias: b, padding: 1)
        assertClose(gemm, reference, atol: 1e-5, rtol: 1e-5, "GEMM conv2d")
        assertClose(winograd, gemm, atol: 1e-4, rtol: 1e-4, "Winograd against GEMM")
        // replicate padding goes through the same kernel on a padded input
        Engine.useWinograd = true
        let replicate = try conv2d(x, weight: w, bias: b, padding: 1, paddingMode: .replicate)
        Engine.useWinograd = false
        assertClose(replicate, try conv2d(x, weight: w, bias: b, padding: 1, paddingMode: .replicate), atol: 1e-4, rtol: 1e-4,
                    "Winograd replicate")
    }

    /// A causal 3x3x3 conv3d (Wan's VAE) through the same kernel, the taps summed in the Winograd domain.
    func testConv3dAgainstTorchAndGEMM() throws {
        try XCTSkipUnless(WinogradConvolution3x3.isAvailable, "no AVX-512 on this cpu")
        let x = try Fixtures.op("conv3d_winograd.x"), w = try Fixtures.op("conv3d_winograd.w"), b = try Fixtures.op("conv3d_winograd.b")
        let reference = try Fixtures.op("conv3d_winograd.out")
        let winograd = try conv3d(x, weight: w, bias: b, padding: [1, 1, 1], causal: true)
        assertClose(winograd, reference, atol: 1e-4, rtol: 1e-4, "Winograd conv3d")
        Engine.useWinograd = false
        defer { Engine.useWinograd = true }
        assertClose(winograd, try conv3d(x, weight: w, bias: b, padding: [1, 1, 1], causal: true), atol: 1e-4, rtol: 1e-4,
                    "Winograd conv3d against GEMM")
    }

    /// The NHWC entry: 3 input channels padded to 16, bias and PReLU fused.
    func testNHWCWithFusedPReLU() throws {
        try XCTSkipUnless(WinogradConvolution3x3.isAvailable, "no AVX-512 on this cpu")
        let key = "conv2d_winograd_prelu"
        let conv = try WinogradConvolution3x3(weight: Fixtures.op("\(key).w"))
        XCTAssertEqual(conv.paddedInChannels, 16)
        XCTAssertEqual(conv.paddedOutChannels, 16)
        let x = try nchwToNHWC(Fixtures.op("\(key).x"), channels: conv.paddedInChannels)
        XCTAssertEqual(x.shape, [1, 30, 41, 16])
        let y = try conv3x3NHWC(x, weight: conv, bias: Fixtures.op("\(key).b"), preluSlope: Fixtures.op("\(key).slope"))
        assertClose(try nhwcToNCHW(y), try Fixtures.op("\(key).out"), atol: 1e-4, rtol: 1e-4, "NHWC Winograd + PReLU")
        // layout round trip is exact
        let z = try Fixtures.op("conv2d_winograd.x")
        assertClose(try nhwcToNCHW(nchwToNHWC(z)), z, atol: 0, rtol: 0, "NCHW -> NHWC -> NCHW")
        XCTAssertThrowsError(try conv3x3NHWC(nchwToNHWC(Fixtures.op("\(key).x")), weight: conv), "3 channels where 16 are expected")
        XCTAssertThrowsError(try WinogradConvolution3x3(weight: Fixtures.op("conv3d_causal.w")))
    }
}
