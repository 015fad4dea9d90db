import Foundation
import ReelEngine
import ReelModels
import XCTest

/// The committed default model (models/reel-t2v-default: bf16 weights, MiniLM-shaped text) against
/// diffusers' WanPipeline: two guided steps on fixed latents and text embeddings, then the decode.
final class DefaultModelTests: XCTestCase {
    static let modelDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/reel-t2v-default").path

    func testTwoGuidedStepsAndDecode() throws {
        let p = try WanTextToVideoPipeline(directory: Self.modelDirectory)
        XCTAssertEqual(p.transformer.config.textDim, 384)
        XCTAssertEqual(p.scheduler.shift, 3)
        let f = try Fixtures.file("default_model.safetensors")
        let request = WanTextToVideoPipeline.Request(width: 64, height: 64, frames: 17, steps: 2, guidance: 5, seed: 0,
                                                     schedule: .shifted(shift: p.scheduler.shift))
        XCTAssertEqual(try p.latentShape(request), [1, 16, 5, 8, 8])
        let latents = try p.denoise(noise: f.tensor("latents"), promptEmbeds: f.tensor("prompt_embeds"),
                                    negativeEmbeds: f.tensor("negative_prompt_embeds"), request: request)
        assertClose(latents, try f.tensor("final_latents"), atol: 1e-4, rtol: 1e-4, "default model, 2 guided steps")
        var chunks: [Tensor] = []
        try p.decode(try f.tensor("final_latents")) { chunks.append($0) }
        assertClose(try concatenate(chunks, dim: 2), try f.tensor("video"), atol: 2e-3, "default model decode (reference stored as fp16)")
    }
}
