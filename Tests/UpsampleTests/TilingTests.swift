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
