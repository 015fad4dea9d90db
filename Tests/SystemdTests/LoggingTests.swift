import Foundation
import Logging
import XCTest
@testable import ReelSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The log handler in both of its modes, from a separate process whose stderr the test
/// owns: plain lines on a pipe, and native journal datagrams when JOURNAL_STREAM names
/// stderr (read from a journal socket the test binds in a private mount namespace).
final class LoggingTests: XCTestCase {
    static let linePattern = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\w+) reel-probe: (.*)$"#

    func probeLines(environment: [String: String]) throws -> (stdout: String, lines: [String]) {
        var env = ProcessInfo.processInfo.environment
        env["JOURNAL_STREAM"] = nil
        env.merge(environment) { _, new in new }
        let result = try Harness.run(Harness.probe, ["log", "info"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        return (result.stdout, result.stderr.split(separator: "\n").map(String.init))
    }

    func testPlainLinesOnStderr() throws {
        let (stdout, lines) = try probeLines(environment: [:])
        XCTAssertEqual(stdout, "destination=stderr\n")
        // info and above only: the debug line is filtered by the level.
        XCTAssertEqual(lines.count, 3, lines.joined(separator: "\n"))
        let regex = try NSRegularExpression(pattern: Self.linePattern)
        for line in lines {
            XCTAssertNotNil(regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
        }
        XCTAssert(lines[0].hasSuffix(" info reel-probe: job started component=probe job_id=j-42 model=\"tiny wan\" plugin=fixture"), lines[0])
        XCTAssert(lines[1].hasSuffix(" warning reel-probe: model evicted component=probe modelName=wan-1.3b"), lines[1])
        XCTAssert(lines[2].hasSuffix(" error reel-probe: two lines component=probe"), lines[2])
    }

    func testJournalStreamOfAnotherFileMeansPlainLines() throws {
        // JOURNAL_STREAM inherited from a parent whose stderr was the journal, while ours is a pipe.
        let (stdout, lines) = try probeLines(environment: ["JOURNAL_STREAM": "8:12345"])
        XCTAssertEqual(stdout, "destination=stderr\n")
        XCTAssertEqual(lines.count, 3)
        let (stdout2, _) = try probeLines(environment: ["JOURNAL_STREAM": "not-a-stream"])
        XCTAssertEqual(stdout2, "destination=stderr\n")
    }

    func testStructuredJournalEntries() throws {
        guard getuid() == 0, let unshare = Harness.which("unshare"), let sh = Harness.which("sh") else {
            throw XCTSkip("needs root and unshare(1) to give the probe a private /run/systemd")
        }
        let dir = try Harness.tempDir("reel-journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        // <dir>/journal/socket becomes /run/systemd/journal/socket inside the namespace.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("journal"), withIntermediateDirectories: true)
        let journal = try Harness.bind(dir.appendingPathComponent("journal/socket").path, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(journal) }

        // stderr is a file whose device:inode goes into JOURNAL_STREAM, as systemd does for the journal stream.
        let stderrPath = dir.appendingPathComponent("stderr").path
        XCTAssertTrue(FileManager.default.createFile(atPath: stderrPath, contents: nil))
        var st = stat()
        XCTAssertEqual(stat(stderrPath, &st), 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: unshare)
        p.arguments = ["--mount", sh, "-c", "mount --bind \"$1\" /run/systemd && exec \"$2\" log debug", "sh", dir.path, Harness.probe]
        var env = ProcessInfo.processInfo.environment
        env["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try p.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw XCTSkip("no private mount namespace here: \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
        }
        XCTAssertEqual(stdout, "destination=journal\n")
        XCTAssertEqual(try String(contentsOfFile: stderrPath, encoding: .utf8), "", "nothing goes to stderr in journal mode")

        var entries: [[String: String]] = []
        while let datagram = Harness.receive(journal, wait: false) { entries.append(Self.parseNative(datagram)) }
        XCTAssertEqual(entries.count, 4, "debug level: all four messages")
        guard entries.count == 4 else { return }
        XCTAssertEqual(entries[0]["MESSAGE"], "debug detail")
        XCTAssertEqual(entries[0]["PRIORITY"], "7")
        XCTAssertEqual(entries[0]["STEP"], "1")
        XCTAssertEqual(entries[1]["MESSAGE"], "job started")
        XCTAssertEqual(entries[1]["PRIORITY"], "6")
        XCTAssertEqual(entries[1]["JOB_ID"], "j-42")
        XCTAssertEqual(entries[1]["PLUGIN"], "fixture")
        XCTAssertEqual(entries[1]["MODEL"], "tiny wan")
        XCTAssertEqual(entries[1]["COMPONENT"], "probe")
        XCTAssertEqual(entries[1]["SYSLOG_IDENTIFIER"], "reel-probe")
        XCTAssertEqual(entries[1]["LOGGER"], "reel.probe")
        XCTAssertEqual(entries[1]["CODE_FILE"].map { $0.hasSuffix("main.swift") }, true)
        XCTAssertNotNil(entries[1]["CODE_LINE"].flatMap(Int.init))
        XCTAssertEqual(entries[2]["PRIORITY"], "4")
        XCTAssertEqual(entries[2]["MODEL_NAME"], "wan-1.3b")
        // A multi-line message travels intact in the binary field encoding.
        XCTAssertEqual(entries[3]["MESSAGE"], "two\nlines")
        XCTAssertEqual(entries[3]["PRIORITY"], "3")
    }

    /// journald's native protocol: `NAME=value\n`, or `NAME\n` + 64-bit LE length + bytes + `\n`.
    static func parseNative(_ datagram: String) -> [String: String] {
        var fields: [String: String] = [:]
        var bytes = Array(datagram.utf8)[...]
        while !bytes.isEmpty {
            let nameEnd = bytes.firstIndex { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") } ?? bytes.endIndex
            let name = String(decoding: bytes[bytes.startIndex..<nameEnd], as: UTF8.self)
            if nameEnd < bytes.endIndex, bytes[nameEnd] == UInt8(ascii: "=") {
                let valueEnd = bytes[nameEnd...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
                fields[name] = String(decoding: bytes[(nameEnd + 1)..<valueEnd], as: UTF8.self)
                bytes = bytes[min(valueEnd + 1, bytes.endIndex)...]
            } else {
                let lenStart = nameEnd + 1
                var length = 0
                for i in 0..<8 { length |= Int(bytes[lenStart + i]) << (8 * i) }
                let valueStart = lenStart + 8
                fields[name] = String(decoding: bytes[valueStart..<(valueStart + length)], as: UTF8.self)
                bytes = bytes[(valueStart + length + 1)...]
            }
        }
        return fields
    }

    func testJournalFieldNames() {
        XCTAssertEqual(JournalOutput.fieldName("job_id"), "JOB_ID")
        XCTAssertEqual(JournalOutput.fieldName("jobID"), "JOB_ID")
        XCTAssertEqual(JournalOutput.fieldName("jobId"), "JOB_ID")
        XCTAssertEqual(JournalOutput.fieldName("plugin"), "PLUGIN")
        XCTAssertEqual(JournalOutput.fieldName("model-name"), "MODEL_NAME")
        XCTAssertEqual(JournalOutput.fieldName("_PID"), "PID", "clients may not set trusted _ fields")
        XCTAssertEqual(JournalOutput.fieldName("2fa"), "FA")
        XCTAssertNil(JournalOutput.fieldName("__"))
        XCTAssertEqual(JournalOutput.fieldName(String(repeating: "a", count: 100))?.count, 64)
    }

    func testPriorities() {
        XCTAssertEqual(JournalOutput.priority(.trace), 7)
        XCTAssertEqual(JournalOutput.priority(.info), 6)
        XCTAssertEqual(JournalOutput.priority(.notice), 5)
        XCTAssertEqual(JournalOutput.priority(.warning), 4)
        XCTAssertEqual(JournalOutput.priority(.error), 3)
        XCTAssertEqual(JournalOutput.priority(.critical), 2)
    }

    func testHandlersFollowTheSharedLevelUntilSetOwn() {
        let saved = ReelLogging.level
        defer { ReelLogging.setLevel(saved) }
        var handler = ReelLogHandler(label: "t", identifier: "t", destination: .stderr)
        ReelLogging.setLevel(.warning)
        XCTAssertEqual(handler.logLevel, .warning)
        ReelLogging.setLevel(.debug)   // a reload changed log_level
        XCTAssertEqual(handler.logLevel, .debug)
        handler.logLevel = .error
        ReelLogging.setLevel(.info)
        XCTAssertEqual(handler.logLevel, .error)
    }
}
