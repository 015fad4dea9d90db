import Foundation
import ReelEngine
import XCTest
@testable import ReelModels

/// The committed fixtures (tools/parity/text_fixtures.py), the shared prompt
/// corpus and the fetched MiniLM.
enum TextFixtures {
    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func json(_ name: String) throws -> JSONTree { try JSONTree.load(path: path(name)) }

    static func tensors(_ name: String) throws -> SafetensorsFile { try SafetensorsFile(path: path(name)) }

    /// The repository root (this file is Tests/TextEncoderTests/FixtureSupport.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The 500 Movie Gen Video Bench prompts (CC BY-NC 4.0) in ../shared/data, or $REEL_SHARED_DATA.
    static func prompts() throws -> [String] {
        let dir = ProcessInfo.processInfo.environment["REEL_SHARED_DATA"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
        let file = dir.appendingPathComponent("moviegenbench-prompts-dev.txt")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            XCTFail("\(file.path) is missing: the shared prompt corpus (set REEL_SHARED_DATA to its folder)")
            throw ModelError.badInput("no prompt corpus")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        XCTAssertEqual(lines.count, 500)
        return lines
    }

    /// all-MiniLM-L6-v2 as tools/fetch_minilm.sh unpacks it into the model store.
    static func miniLMDirectory() throws -> String {
        let dir = ModelStore.defaultRoot().appendingPathComponent("all-minilm-l6-v2").path
        guard FileManager.default.fileExists(atPath: dir + "/model.safetensors") else {
            XCTFail("all-MiniLM-L6-v2 is not in \(dir): run tools/fetch_minilm.sh")
            throw ModelError.badInput("MiniLM not fetched")
        }
        return dir
    }

    static func ids(_ tree: JSONTree?) -> [Int] { tree?.array?.compactMap(\.int) ?? [] }

    /// A fixture text, stored as code points (some hold U+0000, which libjansson refuses in strings).
    static func text(_ entry: JSONTree) -> String {
        String(scalars: ids(entry["codepoints"]).compactMap { Unicode.Scalar(UInt32($0)) })
    }
}

func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    let x = a.contiguous().toArray(), y = b.contiguous().toArray()
    precondition(x.count == y.count, "sizes differ: \(a.shape) vs \(b.shape)")
    var m: Float = 0
    for i in 0..<x.count { m = max(m, abs(x[i] - y[i])) }
    return m
}
