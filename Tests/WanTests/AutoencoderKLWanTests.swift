import ReelEngine
import ReelModels
import XCTest

/// AutoencoderKLWan against diffusers (tiny random Wan 2.1 layout: 8× spatial,
/// 4× temporal, mid-block attention): the chunked decode with the feature
/// cache, the tiled decode, and the encoder.
final class AutoencoderKLWanTests: XCTestCase {
    static let vae = try! AutoencoderKLWan(directory: Fixtures.path("vae"))
    var vae: AutoencoderKLWan { Self.vae }

    func testConfig() throws {
        XCTAssertEqual(vae.spatialCompression, 8)
        XCTAssertEqual(vae.temporalCompression, 4)
        XCTAssertEqual(vae.config.latentsMean.count, 4)
        XCTAssertEqual(vae.latentFrames(17), 5)
        XCTAssertEqual(vae.videoFrames(5), 17)
    }

    func testDecodeChunkByChunk() throws {
        let io = try Fixtures.file("vae_io.safetensors")
        var chunks: [Int] = []
        var frames: [Tensor] = []
        try vae.decode(io.tensor("latents")) { chunk in
            chunks.append(chunk.shape[2])
            frames.append(chunk)
        }
        XCTAssertEqual(chunks, [1, 4, 4], "one frame, then four per latent frame")
        assertClose(try concatenate(frames, dim: 2), try io.tensor("video"), atol: 2e-5, "VAE decode")
    }

    func testTiledDecode() throws {
        let io = try Fixtures.file("vae_io.safetensors")
        let tiled = try AutoencoderKLWan(directory: Fixtures.path("vae"))
        tiled.tileSampleMinHeight = 32; tiled.tileSampleMinWidth = 32
        tiled.tileSampleStrideHeight = 24; tiled.tileSampleStrideWidth = 24
        assertClose(try tiled.decode(io.tensor("tiled_latents")), try io.tensor("tiled_video"), atol: 2e-5, "VAE tiled decode")
    }

    func testEncode() throws {
        let io = try Fixtures.file("vae_io.safetensors")
        let moments = try vae.encodeMoments(io.tensor("encode_input"))
        assertClose(moments, try io.tensor("encode_moments"), atol: 1e-5, rtol: 1e-5, "VAE encode moments")
        assertClose(try vae.encode(io.tensor("encode_input")), try io.tensor("encode_mean"), atol: 1e-5, rtol: 1e-5, "VAE encode mean")
    }

    /// Memory is bounded in the number of frames: the cache holds the same bytes
    /// after 3 latent frames as after 12, and each chunk is at most 4 frames.
    func testDecodeMemoryIsBoundedInFrames() throws {
        func peakDuring(latentFrames: Int) throws -> (peak: Int, chunkMax: Int) {
            let z = randn([1, 4, latentFrames, 4, 4], seed: 11) * 0.5
            Engine.resetPeakBytes()
            let before = Engine.liveBytes
            var chunkMax = 0
            try vae.decode(z) { chunkMax = Swift.max(chunkMax, $0.shape[2]) }
            return (Engine.peakBytes - before, chunkMax)
        }
        let short = try peakDuring(latentFrames: 3), long = try peakDuring(latentFrames: 12)
        XCTAssertEqual(long.chunkMax, 4)
        XCTAssertLessThan(Double(long.peak), Double(short.peak) * 1.25, "peak \(long.peak) B for 45 frames vs \(short.peak) B for 9")
    }

    func testLatentNormalisationRoundTrips() throws {
        let z = randn([1, 4, 2, 2, 2], seed: 3)
        assertClose(try vae.normalize(vae.denormalize(z)), z, atol: 1e-5, "normalize ∘ denormalize")
    }

    func testBadInput() throws {
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [1, 3, 1, 2, 2]))) { XCTAssertTrue("\($0)".contains("4"), "\($0)") }
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [1, 3, 4, 16, 16]))) { XCTAssertTrue("\($0)".contains("4k+1"), "\($0)") }
    }
}
