import ReelEngine
import XCTest
@testable import ReelModels

/// Tiled inference against the whole frame at once, on the fixtures' photographs.
final class TilingTests: XCTestCase {
    func testTilesCoverTheFrameOnce() {
        let rects = Tiling(tile: 20, overlap: 4).tiles(height: 47, width: 63)
        XCTAssertEqual(rects.count, 3 * 4)
        XCTAssertEqual(rects.reduce(0) { $0 + ($1.y1 - $1.y0) * ($1.x1 - $1.x0) }, 47 * 63)
    }

    func testSRVGGTiledWithFullContextEqualsWholeFrame() throws {
        let model = try SRVGGNetCompact(entry: Fixtures.model("realesr-animevideov3-x4", kind: SRVGGNetCompact.kind))
        for c in try Fixtures.cases(kind: SRVGGNetCompact.kind) {
            let x = try Fixtures.tensors(c).tensor("input")
            let whole = try model(x)
            var steps: [Int] = []
            let tiled = try Tiling(tile: 20, overlap: model.receptiveRadius).run(model, x) { done, total in
                steps.append(done)
                XCTAssertEqual(total, 3 * 4)
            }
            XCTAssertEqual(steps, Array(1...12))
            // Overlap ≥ the receptive field: the same numbers up to summation order.
            assertPSNR(tiled, whole, atLeast: 100, "\(c.caseName) tiled")
        }
    }

    func testX4PlusTiledIsCloseToWholeFrame() throws {
        let model = try RRDBNet(entry: Fixtures.model("realesrgan-x4plus", kind: RRDBNet.kind))
        let c = try Fixtures.cases(kind: RRDBNet.kind)[0]
        let x = try Fixtures.tensors(c).tensor("input")
        let whole = try model(x)
        let tiled = try Tiling(tile: 32, overlap: 16).run(model, x)
        // Less context than the receptive field: not exact, but close (Real-ESRGAN itself tiles with 10).
        assertPSNR(tiled, whole, atLeast: 40, "\(c.caseName) tiled, overlap 16")
    }

    func testCancellationFromProgressStops() throws {
        struct Cancelled: Error {}
        let model = try SRVGGNetCompact(entry: Fixtures.model("realesr-animevideov3-x4", kind: SRVGGNetCompact.kind))
        let x = try Fixtures.tensors(try Fixtures.cases(kind: SRVGGNetCompact.kind)[0]).tensor("input")
        var calls = 0
        XCTAssertThrowsError(try Tiling(tile: 16, overlap: 4).run(model, x) { done, _ in
            calls += 1
            if done == 2 { throw Cancelled() }
        }) { XCTAssertTrue($0 is Cancelled) }
        XCTAssertEqual(calls, 2)
    }
}

/// The banded path the plugin takes for ×2 and ×3: rows of tiles, each consumed
/// as it is made, resized as they stream in.
final class BandedResizeTests: XCTestCase {
    func testBandsAreTheTiledOutputRowByRow() throws {
        let model = try SRVGGNetCompact(entry: Fixtures.model("realesr-animevideov3-x4", kind: SRVGGNetCompact.kind))
        let x = try Fixtures.tensors(try Fixtures.cases(kind: SRVGGNetCompact.kind)[0]).tensor("input")
        let tiling = Tiling(tile: 20, overlap: 8)
        let whole = try tiling.run(model, x)
        var rows: [Int] = []
        try tiling.runBands(model, x) { band, row in
            rows.append(row)
            XCTAssertEqual(band.shape[3], whole.shape[3])
            let part = try whole.slice(2, row, row + band.shape[2]).contiguous()
            XCTAssertEqual(band.contiguous().toArray(), part.toArray(), "band at row \(row)")
        }
        XCTAssertEqual(rows, stride(from: 0, to: x.shape[2], by: 20).map { $0 * 4 })
    }

    func testStreamingLanczosIsBitIdenticalHoweverBanded() throws {
        let (w, h, ow, oh) = (53, 41, 40, 31)
        let x = (0..<(3 * w * h)).map { Float(sin(Double($0) * 0.37) * 0.5 + 0.5) }
        let whole = x.withUnsafeBufferPointer {
            LanczosResize.resize($0.baseAddress!, width: w, height: h, outWidth: ow, outHeight: oh)
        }
        for bands in [[41], [1, 40], [7, 7, 7, 7, 7, 6], [20, 1, 20]] {
            let r = StreamingLanczos(width: w, height: h, outWidth: ow, outHeight: oh)
            var row = 0
            for n in bands {
                // Each band as its own three planes, as the tiling hands them over.
                var band = [Float]()
                for c in 0..<3 { band += x[(c * h + row) * w ..< (c * h + row + n) * w] }
                band.withUnsafeBufferPointer { r.append($0.baseAddress!, rows: n, planeStride: n * w) }
                row += n
            }
            XCTAssertEqual(r.finish(), whole, "bands \(bands)")
        }
    }

    /// Pillow's Image.resize(LANCZOS) on real photographs (tools/parity/upsample_fixtures.py).
    func testLanczosMatchesPillowOnPhotographs() throws {
        for c in try Fixtures.cases(kind: "lanczos") {
            let f = try Fixtures.tensors(c)
            let x = try f.tensor("input").contiguous(), expected = try f.tensor("output")
            let (h, w, oh, ow) = (x.shape[2], x.shape[3], expected.shape[2], expected.shape[3])
            let out = withExtendedLifetime(x) {
                LanczosResize.resize(x.data, width: w, height: h, outWidth: ow, outHeight: oh)
            }
            let actual = try Tensor(out, shape: [1, 3, oh, ow])
            // Pillow accumulates in double, reel in float: ~1e-7 apart.
            XCTAssertLessThan(maxAbs(try actual - expected), 1e-5, c.caseName)
            assertPSNR(actual, expected, atLeast: 100, c.caseName)
        }
    }
}
