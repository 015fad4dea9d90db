import Foundation
import ReelEngine
import XCTest

/// The committed fixtures written by tools/parity/wan_fixtures.py (diffusers on torch CPU).
enum Fixtures {
    static var directory: String { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path }
    static func path(_ name: String) -> String { directory + "/" + name }
    static func file(_ name: String) throws -> SafetensorsFile { try SafetensorsFile(path: path(name)) }
}

/// |actual − expected| ≤ atol + rtol·|expected| everywhere; prints the achieved
/// error (docs/t2v.md's parity table) and reports the worst element.
func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float = 0,
                 _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let a = actual.toArray(), e = expected.toArray()
    var worst = 0, worstExcess: Float = -.infinity, maxAbs: Float = 0
    for i in 0..<a.count {
        let d = Swift.abs(a[i] - e[i])
        maxAbs = Swift.max(maxAbs, d.isNaN ? .infinity : d)
        let excess = d.isNaN ? .infinity : d - (atol + rtol * Swift.abs(e[i]))
        if excess > worstExcess { worstExcess = excess; worst = i }
    }
    let scale = e.reduce(0) { Swift.max($0, Swift.abs($1)) }
    print("parity \(what): max abs error \(maxAbs) (max |expected| \(scale))")
    XCTAssert(worstExcess <= 0, "\(what): element \(worst) is \(a[worst]), expected \(e[worst]) (max abs error \(maxAbs), atol \(atol), rtol \(rtol))",
              file: file, line: line)
}

func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "reel-wan-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
