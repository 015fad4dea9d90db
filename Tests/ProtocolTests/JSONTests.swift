import ReelProtocol
import XCTest

final class JSONTests: XCTestCase {
    func testRoundTrip() throws {
        let text = #"{"a":1,"b":[true,false,null],"c":"é\u0000x","d":-2.5,"e":{"z":1,"y":2},"f":9007199254740993}"#
        let v = try JSON.parse(text)
        XCTAssertEqual(v["a"], 1)
        XCTAssertEqual(v["c"]?.stringValue, "é\u{0}x")
        XCTAssertEqual(v["d"]?.doubleValue, -2.5)
        XCTAssertEqual(v["f"]?.intValue, 9007199254740993)
        XCTAssertEqual(v["e"]?.objectValue?.keys, ["z", "y"], "insertion order is kept")
        XCTAssertEqual(try JSON.parse(v.serialized()), v)
        XCTAssertFalse(v.serialized().contains("\n"))
        XCTAssertEqual(v.serialized(), text)
    }

    func testDoublesRoundTripExactly() throws {
        for d in [0.1, 1.0 / 3.0, 1e-300, 123456789.123456789, -0.0] {
            XCTAssertEqual(try JSON.parse(JSON.double(d).serialized()).doubleValue, d)
        }
        XCTAssertEqual(JSON.double(.nan).serialized(), "null", "JSON has no NaN")
    }

    func testErrors() {
        func kind(_ bytes: [UInt8]) -> JSONParseError.Kind? {
            do { _ = try JSON.parse(bytes); return nil } catch let e as JSONParseError { return e.kind } catch { return nil }
        }
        XCTAssertEqual(kind(Array("{\"a\":".utf8)), .syntax)
        XCTAssertEqual(kind(Array("\"".utf8) + [0xFF, 0xFE] + Array("\"".utf8)), .invalidUTF8)
        XCTAssertEqual(kind(Array(String(repeating: "[", count: 5000).utf8) + Array(String(repeating: "]", count: 5000).utf8)), .tooDeep)
        XCTAssertEqual(kind(Array("123456789012345678901234567890".utf8)), .tooBig)
        XCTAssertEqual(kind(Array(#"{"a":1,"a":2}"#.utf8)), .syntax, "duplicate keys are refused")
        XCTAssertEqual(kind([]), .syntax)
        XCTAssertNil(kind(Array((String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000)).utf8)))
    }

    func testAccessors() {
        let v: JSON = ["n": 3.0, "s": "x", "o": ["k": true]]
        XCTAssertEqual(v["n"]?.intValue, 3)
        XCTAssertNil(JSON.double(3.5).intValue)
        XCTAssertEqual(v["o"]?["k"]?.boolValue, true)
        XCTAssertNil(v["s"]?["k"])
        var o = JSONObject()
        o["a"] = 1
        o["b"] = 2
        o["a"] = nil
        XCTAssertEqual(o.keys, ["b"])
    }
}
