import Foundation
import ReelEngine
import XCTest

final class SafetensorsTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ bytes: [UInt8], _ name: String = "t.safetensors") -> String {
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// A file with the given header JSON and `dataBytes` bytes of data.
    func file(header: String, dataBytes: Int) -> String {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { bytes.append(contentsOf: $0) }
        return write(bytes + h + [UInt8](repeating: 0, count: dataBytes))
    }

    func expectError(_ path: String, _ check: (SafetensorsError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(path: path), file: file, line: line) { e in
            guard let e = e as? SafetensorsError else { return XCTFail("unexpected \(e)", file: file, line: line) }
            XCTAssert(check(e), "unexpected error: \(e)", file: file, line: line)
        }
    }

    func testRoundTripAllFloatDtypes() throws {
        let t = try Tensor([1.5, -2.25, 3.0e-3, 65504, 0.1, -7], shape: [2, 3])
        var w = SafetensorsWriter(metadata: ["format": "pt"])
        try w.add("a.f32", t)
        try w.add("a.bf16", t, as: .bfloat16)
        try w.add("a.f16", t, as: .float16)
        try w.add("view", t.transposed(0, 1))
        let path = dir + "/round.safetensors"
        try w.write(to: path)
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.names, ["a.bf16", "a.f16", "a.f32", "view"])
        XCTAssertEqual(try f.tensor("a.f32").toArray(), t.toArray())
        XCTAssertEqual(try f.info("a.bf16").dtype, .bfloat16)
        assertClose(try f.tensor("a.bf16"), t, atol: 0, rtol: 1.0 / 256, "bf16")
        assertClose(try f.tensor("a.f16"), t, atol: 1e-6, rtol: 1.0 / 2048, "f16")
        XCTAssertEqual(try f.tensor("view", shape: [3, 2]).toArray(), try t.transposed(0, 1).toArray())
    }

    func testConversionMatchesTorch() throws {
        let ops = Fixtures.ops
        XCTAssertEqual(try ops.info("dtype.f16").dtype, .float16)
        XCTAssertEqual(try ops.info("dtype.bf16").dtype, .bfloat16)
        XCTAssertEqual(try ops.tensor("dtype.f16").toArray(), try ops.tensor("dtype.f16_as_f32").toArray())
        XCTAssertEqual(try ops.tensor("dtype.bf16").toArray(), try ops.tensor("dtype.bf16_as_f32").toArray())
        // and our writer rounds fp32 to bf16 exactly as torch does
        var w = SafetensorsWriter()
        try w.add("x", try ops.tensor("dtype.f32"), as: .bfloat16)
        try w.write(to: dir + "/b.safetensors")
        let back = try SafetensorsFile(path: dir + "/b.safetensors").tensor("x")
        XCTAssertEqual(back.toArray(), try ops.tensor("dtype.bf16_as_f32").toArray())
    }

    func testTruncatedFile() throws {
        var w = SafetensorsWriter()
        try w.add("x", Tensor(zeros: [64]))
        let bytes = w.serialize()
        expectError(write(Array(bytes.prefix(5)), "a")) { if case .truncated = $0 { return true }; return false }
        expectError(write(Array(bytes.prefix(20)), "b")) { if case .truncated = $0 { return true }; return false }
        expectError(write(Array(bytes.dropLast(4)), "c")) {
            if case .truncated(_, let reason) = $0 { return reason.contains("'x'") }; return false
        }
        expectError(write([], "d")) { if case .truncated = $0 { return true }; return false }
    }

    func testOffsetsOutOfRange() {
        let p = file(header: #"{"x":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}"#, dataBytes: 16)
        expectError(p) { if case .truncated(_, let r) = $0 { return r.contains("'x'") }; return false }
        let q = file(header: #"{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, dataBytes: 16)
        expectError(q) { if case .badEntry(_, "x", _) = $0 { return true }; return false }
    }

    func testOverlappingOffsets() {
        let p = file(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, dataBytes: 24)
        expectError(p) { if case .overlapping(_, "a", "b") = $0 { return true }; return false }
    }

    func testHeaderThatLies() {
        // shape says 6 floats, offsets give 16 bytes
        let p = file(header: #"{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#, dataBytes: 16)
        expectError(p) { if case .badEntry(_, "x", let r) = $0 { return r.contains("24 bytes") }; return false }
        // header length beyond the file
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(4096).littleEndian) { bytes.append(contentsOf: $0) }
        expectError(write(bytes + Array("{}      ".utf8), "long")) { if case .truncated = $0 { return true }; return false }
        // not JSON, unknown dtype, bad shape
        expectError(file(header: "{nope", dataBytes: 0)) { if case .badHeader = $0 { return true }; return false }
        expectError(file(header: #"{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4)) {
            if case .badEntry(_, "x", let r) = $0 { return r.contains("F33") }; return false
        }
        expectError(file(header: #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4)) {
            if case .badEntry = $0 { return true }; return false
        }
        expectError(file(header: #"[1,2]"#, dataBytes: 0)) { if case .badHeader = $0 { return true }; return false }
    }

    func testMissingTensorAndWrongShape() throws {
        var w = SafetensorsWriter()
        try w.add("present", Tensor(zeros: [2, 2]))
        try w.write(to: dir + "/m.safetensors")
        let f = try SafetensorsFile(path: dir + "/m.safetensors")
        XCTAssertThrowsError(try f.tensor("absent")) { e in
            XCTAssertEqual(e as? SafetensorsError, .missingTensor(path: dir + "/m.safetensors", name: "absent"))
            XCTAssert("\(e)".contains("absent"))
        }
        XCTAssertThrowsError(try f.tensor("present", shape: [4])) { e in
            guard case .shapeMismatch(_, "present", [4], [2, 2]) = e as! SafetensorsError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try SafetensorsFile(path: dir + "/nothing.safetensors")) { e in
            guard case .cannotOpen = e as! SafetensorsError else { return XCTFail("\(e)") }
        }
    }

    func testShardedIndex() throws {
        var a = SafetensorsWriter(), b = SafetensorsWriter()
        try a.add("layer.0.weight", Tensor([1, 2], shape: [2]))
        try b.add("layer.1.weight", Tensor([3, 4, 5], shape: [3]), as: .bfloat16)
        try a.write(to: dir + "/model-00001-of-00002.safetensors")
        try b.write(to: dir + "/model-00002-of-00002.safetensors")
        let index = #"{"metadata":{"total_size":10},"weight_map":{"layer.0.weight":"model-00001-of-00002.safetensors","layer.1.weight":"model-00002-of-00002.safetensors"}}"#
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(index.utf8))
        let w = try Safetensors.open(dir)
        XCTAssert(w is ShardedSafetensors)
        XCTAssertEqual(w.names, ["layer.0.weight", "layer.1.weight"])
        XCTAssertEqual(try w.tensor("layer.1.weight").toArray(), [3, 4, 5])
        XCTAssertEqual(try w.tensor("layer.0.weight", shape: [2]).toArray(), [1, 2])
        XCTAssertThrowsError(try w.tensor("layer.2.weight"))

        // an index that promises a tensor its shard lacks
        let lying = #"{"weight_map":{"layer.9.weight":"model-00001-of-00002.safetensors"}}"#
        FileManager.default.createFile(atPath: dir + "/bad.index.json", contents: Data(lying.utf8))
        XCTAssertThrowsError(try ShardedSafetensors(indexPath: dir + "/bad.index.json")) { e in
            XCTAssert("\(e)".contains("layer.9.weight"), "\(e)")
        }
    }

    func testFloat32WeightsAreMappedNotCopied() throws {
        var w = SafetensorsWriter()
        try w.add("big", Tensor(repeating: 1, shape: [1 << 18]))
        try w.write(to: dir + "/big.safetensors")
        let before = Engine.liveBytes
        let t = try SafetensorsFile(path: dir + "/big.safetensors").tensor("big")
        XCTAssertLessThan(Engine.liveBytes - before, 1 << 20)
        XCTAssertEqual(t[12345], 1)
        // the mapping outlives the file object
        XCTAssertEqual(try sum(t).item(), Float(1 << 18))
    }
}
