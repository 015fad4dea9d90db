// reeld.toml and the command line.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class ConfigTests: XCTestCase {
    func run(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try BuildProducts.reeld)
        p.arguments = args
        let out = Pipe()
        p.standardError = out
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testBadConfigFilesAreClearErrors() throws {
        let dir = NSTemporaryDirectory() + "reel-config-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [(String, String)] = [
            ("queue_size = 0\n", "queue_size must be a positive integer"),
            ("memory_budget = \"lots\"\n", "memory_budget must be a size"),
            ("keep_alive = \"soon\"\n", "keep_alive must be a duration"),
            ("colour = \"blue\"\n", "unknown key \"colour\""),
            ("socket = \n", "reeld.toml:1"),
        ]
        for (text, expected) in cases {
            try text.write(toFile: dir + "/reeld.toml", atomically: true, encoding: .utf8)
            let (status, out) = try run(["--config", dir + "/reeld.toml"])
            XCTAssertEqual(status, 2, text)
            XCTAssertTrue(out.contains(expected), "\(text): \(out)")
        }
        let (status, out) = try run(["--config", dir + "/missing.toml"])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(out.contains("does not exist"), out)
    }

    func testUnitsAndFlagsOverrideTheFile() throws {
        let d = try DaemonProcess(settings: ["memory_budget": "\"1GiB\"", "keep_alive": "\"90s\"", "queue_size": "9"])
        try d.addModel("fix", bytes: 4096)
        try d.start(extraArguments: ["--queue-size", "11"])
        addTeardownBlock { d.destroy() }
        let c = try d.client()
        let info = try c.result("reel.info")
        XCTAssertEqual(info["memory_budget_bytes"]?.intValue, 1 << 30)
        XCTAssertEqual(info["queue"]?["capacity"], 11)
        _ = try c.result("model.load", ["model": "fix"])
        XCTAssertEqual(try c.result("model.ps")["models"]?.arrayValue?.first?["keep_alive_seconds"], 90.0)
    }

    // exit_on_idle, socket-activated or not (with a warning that nothing will restart it),
    // is covered end to end by Tests/SystemdTests/ReeldServiceTests.

    func testHelpAndProtocolDoc() throws {
        let (status, out) = try run(["--help"])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(out.contains("--memory-budget"))
        // man/reeld.8 names every option the help lists (roff escapes its dashes).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("man/reeld.8"), encoding: .utf8)
        let options = out.split(separator: "\n").compactMap { line -> String? in
            let t = line.drop { $0 == " " }
            guard line.hasPrefix("  --"), t.hasPrefix("--") else { return nil }
            return t.split(separator: " ").first.map(String.init)
        }
        XCTAssertGreaterThan(options.count, 15, out)
        for option in options {
            XCTAssertTrue(page.contains(option.replacingOccurrences(of: "-", with: "\\-")), "man/reeld.8 does not name \(option)")
        }
        let (s2, doc) = try run(["--print-protocol-doc"])
        XCTAssertEqual(s2, 0)
        XCTAssertTrue(doc.contains(ProtocolReference.beginMarker))
    }
}
