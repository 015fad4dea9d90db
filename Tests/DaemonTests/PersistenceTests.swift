// Job records survive restarts; a kill -9 mid-job leaves it `interrupted`;
// SIGTERM drains.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class PersistenceTests: XCTestCase {
    func testKillDuringAJobLeavesItInterruptedAfterRestart() throws {
        let d = try startDaemon()
        var c = try d.client()
        let done = try submit(c, render(d, "done.raw"))
        XCTAssertEqual(try c.result("job.wait", ["id": .string(done)])["state"], "done")
        let running = try submit(c, render(d, "run.raw", frames: 100_000, delayMs: 10), subscribe: true)
        let queued = try submit(c, render(d, "queued.raw", frames: 2))
        _ = try c.waitForNotification { $0.method == "job.progress" && $0.params["phase"] == "render" }
        d.kill9()

        try d.start()
        c = try d.client()
        let r = try c.result("job.get", ["id": .string(running)])
        XCTAssertEqual(r["state"], "interrupted")
        XCTAssertEqual(r["error"]?["code"], -32013)
        XCTAssertGreaterThan(r["progress"]?["step"]?.intValue ?? -1, -1)
        let old = try c.result("job.get", ["id": .string(done)])
        XCTAssertEqual(old["state"], "done")
        XCTAssertEqual(old["result"]?["frames"], 4)
        XCTAssertEqual(try c.error("job.wait", ["id": .string(running)]).code, .interrupted)
        // The job that was waiting runs after the restart.
        XCTAssertEqual(try c.result("job.wait", ["id": .string(queued)])["state"], "done")
        let interrupted = try c.result("job.list", ["state": ["interrupted"]])["jobs"]!.arrayValue!
        XCTAssertEqual(interrupted.compactMap { $0["id"]?.stringValue }, [running])
    }

    func testSIGTERMDrainsTheRunningJobAsInterruptedAndKeepsTheQueue() throws {
        let d = try startDaemon()
        var c = try d.client()
        let running = try submit(c, render(d, "run.raw", frames: 100_000, delayMs: 10), subscribe: true)
        let queued = try submit(c, render(d, "later.raw", frames: 2))
        _ = try c.waitForNotification { $0.method == "job.progress" && $0.params["phase"] == "render" }
        XCTAssertEqual(d.stop(), 0, d.log_())
        XCTAssertTrue(d.log_().contains("stopping: draining"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.socket), "the socket file is removed")

        try d.start()
        c = try d.client()
        XCTAssertEqual(try c.result("job.get", ["id": .string(running)])["state"], "interrupted")
        XCTAssertEqual(try c.result("job.wait", ["id": .string(queued)])["state"], "done")
    }

    /// Started where it finds nothing to serve, reeld still answers, and its log says where it looked.
    func testNothingToServeIsSaidWithTheDirectories() throws {
        let d = try startDaemon(models: [:], plugins: [])
        XCTAssertEqual(try d.client().result("reel.info")["plugins"]?.arrayValue?.count, 0)
        let log = d.log_()
        XCTAssertTrue(log.contains("no stage plugins in \(d.pluginDir)"), log)
        XCTAssertTrue(log.contains("no models in "), log)
        XCTAssertFalse(try startDaemon().log_().contains("no stage plugins"), "not said where plugins are found")
    }

    func testSecondDaemonOnTheSameSocketRefuses() throws {
        let d = try startDaemon()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try BuildProducts.reeld)
        p.arguments = ["--config", d.configFile, "--state-dir", d.root + "/state2"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 0)
        let msg = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(msg.contains("already listening"), msg)
        XCTAssertNotNil(try d.client().result("reel.info"))
    }
}
