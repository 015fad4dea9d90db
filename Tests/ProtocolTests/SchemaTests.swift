import ReelProtocol
import XCTest

final class SchemaTests: XCTestCase {
    let schema: JSON = [
        "type": "object",
        "properties": [
            "n": ["type": "integer", "minimum": 1, "maximum": 10],
            "s": ["type": "string", "enum": ["a", "b"]],
            "l": ["type": "array", "items": ["type": "number"], "maxItems": 2],
            "o": ["type": "object", "properties": ["x": ["type": "boolean"]], "required": ["x"]],
            "k": ["type": ["integer", "string"]],
            "p": ["type": "string", "minLength": 1],
            "q": ["type": "string", "minLength": 3],
            "a": ["type": "array", "minItems": 1],
            "f": ["type": "string", "x-reel-extensions": [".mp4", ".webm", ".png"]],
            "w": ["type": "integer", "multipleOf": 16],
            "h": ["type": "number", "multipleOf": 0.5],
        ],
        "required": ["n"],
        "additionalProperties": false,
    ]

    func violation(_ v: JSON) -> String? { SchemaValidator.firstViolation(of: v, against: schema).map(\.description) }

    func testValid() {
        XCTAssertNil(violation(["n": 3, "s": "a", "l": [1, 2.5], "o": ["x": true], "k": "5m"]))
        XCTAssertNil(violation(["n": 3.0]), "3.0 is an integer in JSON")
    }

    func testViolationsNameTheField() {
        XCTAssertEqual(violation([:]), "/n: required field is missing")
        XCTAssertEqual(violation(["n": 0]), "/n: must be ≥ 1, got 0")
        XCTAssertEqual(violation(["n": 2.5]), "/n: expected integer, got number")
        XCTAssertEqual(violation(["n": 1, "s": "c"]), #"/s: must be one of "a", "b""#)
        XCTAssertEqual(violation(["n": 1, "l": [1, "x"]]), "/l/1: expected number, got string")
        XCTAssertEqual(violation(["n": 1, "l": [1, 2, 3]]), "/l: must have at most 2 items")
        XCTAssertEqual(violation(["n": 1, "o": [:]]), "/o/x: required field is missing")
        XCTAssertEqual(violation(["n": 1, "zz": 1]), "/zz: unknown field")
        XCTAssertEqual(violation(["n": 1, "k": true]), "/k: expected integer or string, got boolean")
        XCTAssertEqual(violation(["n": 1, "p": ""]), "/p: must not be empty")
        XCTAssertEqual(violation(["n": 1, "q": "ab"]), "/q: must have at least 3 characters")
        XCTAssertEqual(violation(["n": 1, "w": 65]), "/w: must be a multiple of 16, got 65")
        XCTAssertNil(violation(["n": 1, "w": 1024, "h": 2.5]))
        XCTAssertEqual(violation(["n": 1, "h": 2.25]), "/h: must be a multiple of 0.5, got 2.25")
        XCTAssertEqual(violation(["n": 1, "a": []]), "/a: must not be empty")
    }

    func testFileNameEndings() {
        for ok in ["/t/x.mp4", "/t/x.MP4", "/t/a.b/x.webm", "x.png"] { XCTAssertNil(violation(["n": 1, "f": .string(ok)]), ok) }
        XCTAssertEqual(violation(["n": 1, "f": "/t/x.avi"]), #"/f: must end in .mp4, .webm or .png, got ".avi""#)
        XCTAssertEqual(violation(["n": 1, "f": "/t.mp4/x"]), "/f: must end in .mp4, .webm or .png, got no extension")
        XCTAssertEqual(violation(["n": 1, "f": "/t/.mp4x"]), "/f: must end in .mp4, .webm or .png, got no extension")
    }

    func testMethodTableParams() {
        let get = Methods.byName["job.get"]!
        if case .failure(let e) = get.validate(["x"]) { XCTFail("\(e)") }
        if case .success = get.validate(nil) { XCTFail("id is required") }
        if case .success = get.validate(["a", "b"]) { XCTFail("too many positional params") }
    }
}
