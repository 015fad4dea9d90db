import ReelEngine
@testable import ReelModels
import XCTest

/// Schedules and whole sampling runs against diffusers: WanPipeline's loop
/// (FlowMatchEulerDiscreteScheduler with shift 3, guidance 5, 4 steps) and the
/// same model on Movie Gen's linear-quadratic schedule, on fixed latents and
/// fixed text embeddings; then the VAE decode of the result.
final class SamplingTests: XCTestCase {
    let fixture = try! Fixtures.file("sampling.safetensors")

    func pipeline() throws -> WanTextToVideoPipeline {
        WanTextToVideoPipeline(transformer: try WanTransformer3DModel(directory: Fixtures.path("transformer_fp32")),
                               vae: try AutoencoderKLWan(directory: Fixtures.path("vae")),
                               scheduler: try WanTextToVideoPipeline.schedulerConfig(Fixtures.directory))
    }

    func testShiftedScheduleIsDiffusers() throws {
        let config = try WanTextToVideoPipeline.schedulerConfig(Fixtures.directory)
        XCTAssertEqual(config.shift, 3)
        let schedule = NoiseSchedule.shifted(shift: config.shift)
        assertClose(try Tensor(schedule.sigmas(steps: 4), shape: [5]), try fixture.tensor("shifted_sigmas"), atol: 1e-7, "shifted sigmas")
        assertClose(try Tensor(schedule.timesteps(steps: 4), shape: [4]), try fixture.tensor("shifted_timesteps"), atol: 1e-4, "shifted timesteps")
    }

    func testLinearQuadraticScheduleIsDiffusers() throws {
        let schedule = NoiseSchedule.linearQuadratic()
        assertClose(try Tensor(schedule.sigmas(steps: 6), shape: [7]), try fixture.tensor("lq_sigmas"), atol: 1e-7, "linear-quadratic sigmas")
        assertClose(try Tensor(schedule.timesteps(steps: 6), shape: [6]), try fixture.tensor("lq_timesteps"), atol: 1e-4, "linear-quadratic timesteps")
        // Movie Gen: 50 steps, the first half linear down to 1 − 0.025, monotone to 0.
        let s = schedule.sigmas(steps: 50)
        XCTAssertEqual(s.count, 51)
        XCTAssertEqual(s[25], 0.975, accuracy: 1e-6)
        XCTAssertTrue(zip(s, s.dropFirst()).allSatisfy { $0 > $1 })
    }

    func request(steps: Int, schedule: NoiseSchedule) -> WanTextToVideoPipeline.Request {
        .init(width: 32, height: 32, frames: 9, steps: steps, guidance: 5, seed: 0, schedule: schedule)
    }

    func testWanPipelineStepsWithGuidance() throws {
        let p = try pipeline()
        var steps: [Int] = []
        let out = try p.denoise(noise: fixture.tensor("latents"), promptEmbeds: fixture.tensor("prompt_embeds"),
                                negativeEmbeds: fixture.tensor("negative_prompt_embeds"),
                                request: request(steps: 4, schedule: .shifted(shift: 3))) { steps.append($0) }
        XCTAssertEqual(steps, [0, 1, 2, 3])
        assertClose(out, try fixture.tensor("final_latents"), atol: 5e-5, rtol: 1e-5, "4 guided steps (shift 3)")
        let video = try p.vae.decode(p.vae.denormalize(fixture.tensor("final_latents")))
        assertClose(video, try fixture.tensor("video"), atol: 2e-5, "decoded video")
    }

    func testLinearQuadraticSampling() throws {
        let p = try pipeline()
        let out = try p.denoise(noise: fixture.tensor("latents"), promptEmbeds: fixture.tensor("prompt_embeds"),
                                negativeEmbeds: fixture.tensor("negative_prompt_embeds"),
                                request: request(steps: 6, schedule: .linearQuadratic()))
        assertClose(out, try fixture.tensor("lq_final_latents"), atol: 5e-5, rtol: 1e-5, "6 guided steps (linear-quadratic)")
    }

    func testSeedReproducesAndCancellationStops() throws {
        let p = try pipeline()
        let r = request(steps: 2, schedule: .shifted(shift: 3))
        XCTAssertEqual(try p.noise(r).toArray(), try p.noise(r).toArray())
        var other = r
        other.seed = 1
        XCTAssertNotEqual(try p.noise(r).toArray(), try p.noise(other).toArray())
        struct Stop: Error {}
        var seen = 0
        XCTAssertThrowsError(try p.denoise(noise: p.noise(r), promptEmbeds: fixture.tensor("prompt_embeds"),
                                           negativeEmbeds: fixture.tensor("negative_prompt_embeds"), request: r) { _ in
            seen += 1
            throw Stop()
        })
        XCTAssertEqual(seen, 1)
    }

    func testGeometry() throws {
        let p = try pipeline()
        XCTAssertEqual(p.sizeMultiple, 16)
        XCTAssertEqual(try p.latentShape(request(steps: 1, schedule: .shifted(shift: 3))), [1, 4, 3, 4, 4])
        var single = request(steps: 1, schedule: .shifted(shift: 3))
        single.frames = 1  // text-to-image
        XCTAssertEqual(try p.latentShape(single), [1, 4, 1, 4, 4])
        var bad = single
        bad.width = 40
        XCTAssertThrowsError(try p.latentShape(bad)) { XCTAssertTrue("\($0)".contains("multiples of 16"), "\($0)") }
        bad = single
        bad.frames = 8
        XCTAssertThrowsError(try p.latentShape(bad)) { XCTAssertTrue("\($0)".contains("4k+1"), "\($0)") }
    }
}

/// The memory a real Wan2.1-T2V-1.3B generation needs (its published configs), as the plugin estimates before loading.
final class MemoryEstimateTests: XCTestCase {
    func testWan21T2V13BEstimate() throws {
        var t = WanTransformer3DModel.Configuration()
        t.numLayers = 30; t.numAttentionHeads = 12; t.ffnDim = 8960; t.textDim = 4096
        var v = AutoencoderKLWan.Configuration()
        v.zDim = 16
        let e = WanTextToVideoPipeline.estimateBytes(transformer: t, vae: v, width: 832, height: 480, frames: 81,
                                                     textTokens: 512, guided: true)
        print("Wan2.1-T2V-1.3B at 832×480×81: fp32 weights \(e.weights >> 20) MiB (transformer \(t.parameterCount) + VAE decoder \(v.decoderParameterCount) parameters), activations \(e.activations >> 20) MiB")
        XCTAssertEqual(Double(e.weights) / Double(1 << 30), 5.6, accuracy: 0.6)
        XCTAssertGreaterThan(e.activations, 1 << 30)
    }
}

final class SchedulerConfigTests: XCTestCase {
    /// The released Wan2.1 directories carry UniPC's config with flow_shift; reel reads its shift.
    func testUniPCFlowShiftIsRead() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/scheduler", withIntermediateDirectories: true)
        try #"{"_class_name": "UniPCMultistepScheduler", "flow_shift": 3.0, "use_flow_sigmas": true, "num_train_timesteps": 1000, "prediction_type": "flow_prediction"}"#
            .write(toFile: dir + "/scheduler/scheduler_config.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(try WanTextToVideoPipeline.schedulerConfig(dir).shift, 3)
    }
}
