import Foundation
import ReelEngine
import XCTest

/// The committed fixtures written by tools/parity/engine_fixtures.py.
enum Fixtures {
    static func url(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
    }
    static let ops: SafetensorsFile = try! SafetensorsFile(path: url("ops.safetensors"))
    static func op(_ name: String) throws -> Tensor { try ops.tensor(name) }
}

/// |actual - expected| <= atol + rtol * |expected| everywhere; reports the worst element.
func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float = 1e-5, rtol: Float = 1e-5,
                 _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let a = actual.toArray(), e = expected.toArray()
    var worst = 0, worstExcess: Float = -.infinity, maxAbs: Float = 0
    for i in 0..<a.count {
        let d = Swift.abs(a[i] - e[i])
        maxAbs = Swift.max(maxAbs, d)
        let excess = d - (atol + rtol * Swift.abs(e[i]))
        if excess > worstExcess || d.isNaN { worstExcess = d.isNaN ? .infinity : excess; worst = i }
    }
    // The achieved error, for docs/engine.md's tolerance table.
    print("parity \(what): max abs error \(maxAbs)")
    XCTAssert(worstExcess <= 0, "\(what): element \(worst) is \(a[worst]), expected \(e[worst]) (max abs error \(maxAbs), atol \(atol), rtol \(rtol))",
              file: file, line: line)
}

func maxAbsError(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.toArray(), b.toArray()).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
}

func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "reel-engine-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
