import ReelEngine
import ReelModels
import XCTest

/// WanTransformer3DModel against diffusers on a tiny random configuration saved
/// by diffusers' save_pretrained: fp32 in one file, and bf16 sharded with an
/// index.json (the layout of the released Wan2.1 checkpoints).
final class WanTransformerTests: XCTestCase {
    func run(_ model: WanTransformer3DModel) throws -> Tensor {
        let io = try Fixtures.file("transformer_io.safetensors")
        let x = try io.tensor("hidden_states"), ctx = try io.tensor("encoder_hidden_states")
        let t = try io.tensor("timestep").toArray()
        return try model(x, timesteps: t, text: model.conditionText(ctx))
    }

    func testFP32SingleFile() throws {
        let model = try WanTransformer3DModel(directory: Fixtures.path("transformer_fp32"))
        XCTAssertEqual(model.config.numLayers, 2)
        XCTAssertEqual(model.config.patchSize, [1, 2, 2])
        XCTAssertEqual(model.config.textDim, 32)
        assertClose(try run(model), try Fixtures.file("transformer_io.safetensors").tensor("output_fp32"),
                    atol: 1e-5, rtol: 1e-5, "transformer fp32")
    }

    func testBF16Sharded() throws {
        let dir = Fixtures.path("transformer_bf16_sharded")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/diffusion_pytorch_model.safetensors.index.json"))
        let source = try Safetensors.open(dir)
        XCTAssertEqual(try source.info("blocks.0.attn1.to_q.weight").dtype, .bfloat16)
        let model = try WanTransformer3DModel(directory: dir)
        assertClose(try run(model), try Fixtures.file("transformer_io.safetensors").tensor("output_bf16"),
                    atol: 1e-5, rtol: 1e-5, "transformer bf16 sharded")
    }

    /// Each batch element sees only its own text and timestep.
    func testBatchElementsAreIndependent() throws {
        let model = try WanTransformer3DModel(directory: Fixtures.path("transformer_fp32"))
        let io = try Fixtures.file("transformer_io.safetensors")
        let x = try io.tensor("hidden_states"), ctx = try io.tensor("encoder_hidden_states")
        let t = try io.tensor("timestep").toArray()
        let second = try model(x.slice(0, 1, 2).contiguous(), timesteps: [t[1]], text: model.conditionText(ctx.slice(0, 1, 2).contiguous()))
        assertClose(second, try io.tensor("output_fp32").slice(0, 1, 2).contiguous(), atol: 1e-5, rtol: 1e-5, "transformer batch element 1 alone")
    }

    func testConfigDefaultsAreDiffusers() throws {
        let dir = temporaryDirectory()
        try "{\"_class_name\": \"WanTransformer3DModel\", \"num_layers\": 30, \"num_attention_heads\": 12, \"ffn_dim\": 8960, \"text_dim\": 4096}"
            .write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        // The real Wan2.1-T2V-1.3B configuration: 12 heads × 128 = 1536 wide, 30 layers: about 1.42 billion parameters.
        let cfg = try WanTransformer3DModel.Configuration.load(dir + "/config.json")
        XCTAssertEqual(cfg.innerDim, 1536)
        XCTAssertEqual(cfg.patchSize, [1, 2, 2])
        XCTAssertEqual(cfg.freqDim, 256)
        XCTAssertEqual(Double(cfg.parameterCount) / 1e9, 1.42, accuracy: 0.02)
    }

    func testErrorsAreClear() throws {
        let model = try WanTransformer3DModel(directory: Fixtures.path("transformer_fp32"))
        let ctx = try model.conditionText(Tensor(zeros: [1, 3, 32]))
        XCTAssertThrowsError(try model(Tensor(zeros: [1, 4, 1, 3, 4]), timesteps: [1], text: ctx)) { error in
            XCTAssertTrue("\(error)".contains("patch size"), "\(error)")
        }
        XCTAssertThrowsError(try model.conditionText(Tensor(zeros: [1, 3, 33]))) { error in
            XCTAssertTrue("\(error)".contains("32"), "\(error)")
        }
        // A checkpoint missing a tensor names it.
        XCTAssertThrowsError(try WanTransformer3DModel(directory: Fixtures.path("vae")))
    }
}
