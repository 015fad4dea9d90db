import Foundation
import ReelEngine
import XCTest
@testable import ReelModels

/// The committed fixtures (tools/parity/upsample_fixtures.py) and the imported models.
enum Fixtures {
    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    struct Case: Decodable {
        let caseName: String
        let file: String
        let model: String
        let kind: String
        let scale: Double?

        enum CodingKeys: String, CodingKey {
            case caseName = "case", file, model, kind, scale
        }
    }

    struct Index: Decodable {
        let psnrMinDb: Double
        let cases: [Case]

        enum CodingKeys: String, CodingKey {
            case psnrMinDb = "psnr_min_db", cases
        }
    }

    static func index() throws -> Index {
        try JSONTree.load(path: directory.appendingPathComponent("fixtures.json").path).decode(Index.self)
    }

    static func cases(kind: String) throws -> [Case] {
        let found = try index().cases.filter { $0.kind == kind }
        XCTAssertFalse(found.isEmpty, "no \(kind) fixtures in fixtures.json")
        return found
    }

    static func tensors(_ c: Case) throws -> SafetensorsFile {
        try SafetensorsFile(path: directory.appendingPathComponent(c.file).path)
    }

    /// An imported model; the tests need `make models` (which `make test` runs).
    static func model(_ name: String, kind: String) throws -> ModelStore.Entry {
        do {
            return try ModelStore.default.open(name, kind: kind)
        } catch {
            XCTFail("\(error)")
            throw error
        }
    }
}

/// PSNR in dB of `actual` against `expected`, for signals of the given peak:
/// 10·log10(peak² / MSE).
func psnr(_ actual: Tensor, _ expected: Tensor, peak: Double = 1) -> Double {
    let a = actual.toArray(), e = expected.toArray()
    precondition(a.count == e.count)
    var se = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(e[i])
        se += d * d
    }
    let mse = se / Double(max(a.count, 1))
    return mse == 0 ? .infinity : 10 * log10(peak * peak / mse)
}

func maxAbs(_ t: Tensor) -> Double {
    t.toArray().reduce(0) { max($0, Double(abs($1))) }
}

func assertPSNR(_ actual: Tensor, _ expected: Tensor, atLeast minimum: Double, peak: Double = 1,
                _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let p = psnr(actual, expected, peak: peak)
    print("\(what): PSNR \(String(format: "%.2f", p)) dB")
    XCTAssertGreaterThanOrEqual(p, minimum, "\(what): PSNR \(p) dB below \(minimum) dB", file: file, line: line)
}
