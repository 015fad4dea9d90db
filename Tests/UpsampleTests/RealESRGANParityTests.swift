import ReelEngine
import XCTest
@testable import ReelModels

/// Real-ESRGAN on the engine against the official ncnn wheel (CPU, fp32), on
/// crops of real photographs.
final class RealESRGANParityTests: XCTestCase {
    func testAnimeVideoV3MatchesNcnn() throws {
        let model = try SRVGGNetCompact(entry: Fixtures.model("realesr-animevideov3-x4", kind: SRVGGNetCompact.kind))
        XCTAssertEqual(model.config, SRVGGNetCompact.Configuration())  // the manifest holds the released hyper-parameters
        let minimum = try Fixtures.index().psnrMinDb
        for c in try Fixtures.cases(kind: SRVGGNetCompact.kind) {
            let t = try Fixtures.tensors(c)
            let out = try model(t.tensor("input"))
            assertPSNR(out, try t.tensor("output"), atLeast: minimum, c.caseName)
        }
    }

    func testX4PlusMatchesNcnn() throws {
        let model = try RRDBNet(entry: Fixtures.model("realesrgan-x4plus", kind: RRDBNet.kind))
        XCTAssertEqual(model.body.count, 23)
        let minimum = try Fixtures.index().psnrMinDb
        for c in try Fixtures.cases(kind: RRDBNet.kind) {
            let t = try Fixtures.tensors(c)
            let out = try model(t.tensor("input"))
            assertPSNR(out, try t.tensor("output"), atLeast: minimum, c.caseName)
        }
    }

    func testBadInputIsAClearError() throws {
        let model = try SRVGGNetCompact(entry: Fixtures.model("realesr-animevideov3-x4", kind: SRVGGNetCompact.kind))
        XCTAssertThrowsError(try model(Tensor(zeros: [1, 4, 8, 8]))) { error in
            XCTAssertTrue("\(error)".contains("expects [N, 3, H, W]"), "\(error)")
        }
    }
}
