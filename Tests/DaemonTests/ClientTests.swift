// The `reel` client against the real daemon: output, --json, exit codes.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class ClientTests: XCTestCase {
    func reel(_ args: [String], socket: String, cwd: String? = nil) throws -> (status: Int32, out: String, err: String) {
        try ClientProcess.run(args, socket: socket, cwd: cwd)
    }

    func testDaemonNotRunningIsExitCode3WithAHint() throws {
        let r = try reel(["info"], socket: "/tmp/reel-no-such-dir/reel.sock")
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("reeld is not running"), r.err)
        XCTAssertTrue(r.err.contains("systemctl --user start reeld"), r.err)
    }

    /// man/reel.1 names every subcommand and exit status that `reel --help` lists, so the page cannot fall
    /// behind the client again (it once listed six of seventeen commands).
    func testTheManPageCoversEveryCommandAndExitStatus() throws {
        let help = try reel(["--help"], socket: "/tmp/reel-no-such-dir/reel.sock")
        XCTAssertEqual(help.status, 0, help.err)
        func section(_ title: String) -> [Substring] {
            let lines = help.out.split(separator: "\n", omittingEmptySubsequences: false)
            guard let start = lines.firstIndex(where: { $0.hasPrefix(title) }) else { return [] }
            return Array(lines[(start + 1)...].prefix { !$0.isEmpty })
        }
        // Entries start at two spaces; wrapped text is indented further.
        func names(_ lines: [Substring]) -> [String] {
            lines.filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
        }
        let commands = names(section("SUBCOMMANDS:")), statuses = names(section("Exit codes:"))
        XCTAssertGreaterThan(commands.count, 15, help.out)
        XCTAssertEqual(statuses, ["0", "1", "2", "3", "4", "5", "130"], help.out)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("man/reel.1"), encoding: .utf8)
        let entries = Set(page.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix(".B ") || line.hasPrefix(".BI ") else { return nil }
            return line.split(separator: " ").dropFirst().first.map(String.init)
        })
        for name in commands + statuses {
            XCTAssertTrue(entries.contains(name), "man/reel.1 has no entry for \(name)")
        }
    }

    func testRunInfoJobsAndExitCodes() throws {
        let d = try startDaemon()
        let info = try reel(["info", "--json"], socket: d.socket)
        XCTAssertEqual(info.status, 0, info.err)
        XCTAssertEqual(try JSON.parse(info.out.trimmingCharacters(in: .whitespacesAndNewlines))["abi_version"], 1)

        // A relative output path is made absolute against the client's directory.
        let run = try reel(["run", "fixture.render", "output=rel.raw", "frames=3", "width=4", "height=4", "step_delay_ms=30"], socket: d.socket, cwd: d.outputDir)
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertEqual(run.out.trimmingCharacters(in: .whitespacesAndNewlines), d.outputDir + "/rel.raw")
        XCTAssertTrue(run.err.contains("render"), "plain progress lines when not on a terminal: \(run.err)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: d.outputDir + "/rel.raw")).count, 3 * 4 * 4 * 3)

        let failed = try reel(["run", "fixture.render", "output=/\(d.outputDir)/f.raw", "fail_at_frame=1"], socket: d.socket)
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.err.contains("fixture failure requested"), failed.err)

        let usage = try reel(["run", "fixture.render", "novalue"], socket: d.socket)
        XCTAssertEqual(usage.status, 2)

        let detached = try reel(["run", "--detach", "echo.run", "message=hi"], socket: d.socket)
        XCTAssertEqual(detached.status, 0)
        let id = detached.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let waited = try reel(["wait", id, "--json"], socket: d.socket)
        XCTAssertEqual(waited.status, 0, waited.err)
        let last = try XCTUnwrap(waited.out.split(separator: "\n").last)
        XCTAssertEqual(try JSON.parse(String(last))["result"]?["echo"]?["message"], "hi")

        let jobs = try reel(["jobs"], socket: d.socket)
        XCTAssertTrue(jobs.out.contains(id), jobs.out)
        let ps = try reel(["ps"], socket: d.socket)
        XCTAssertTrue(ps.out.contains("fix"), ps.out)
        let path = try reel(["socket-path"], socket: d.socket)
        XCTAssertEqual(path.out.trimmingCharacters(in: .whitespacesAndNewlines), d.socket)
        let notFound = try reel(["job", "j0"], socket: d.socket)
        XCTAssertEqual(notFound.status, 1)
        XCTAssertTrue(notFound.err.contains("job not found"), notFound.err)
    }
}
