// Jobs through the real daemon: submit, progress, results on disk, cancel of
// queued and running jobs, failures, a full queue, reattaching.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class JobTests: XCTestCase {
    func testRenderJobWritesThePatternAndReportsProgress() throws {
        let d = try startDaemon()
        let c = try d.client()
        let job = try c.result("fixture.render", ["output": .string(d.outputDir + "/a.raw"), "frames": 5, "width": 16, "height": 8,
                                                  "subscribe": true])
        let id = try XCTUnwrap(job["id"]?.stringValue)
        XCTAssertEqual(job["state"], "queued")
        let done = try c.result("job.wait", ["id": .string(id)])
        XCTAssertEqual(done["state"], "done")
        XCTAssertEqual(done["model"], "fix")
        XCTAssertEqual(done["outputs"]?.arrayValue?.first?["path"]?.stringValue, d.outputDir + "/a.raw")
        // Every field of a real job is in the documented schema (rpc.discover, docs/protocol.md).
        let documented = Set(try XCTUnwrap(Schemas.job["properties"]?.objectValue).keys)
        XCTAssertEqual(Set(try XCTUnwrap(done.objectValue).keys).subtracting(documented), [])
        let result = try XCTUnwrap(done["result"])
        XCTAssertEqual(result["bytes"], .int(5 * 16 * 8 * 3))

        // The file holds the pattern: (x+f, y+f, seed) per pixel.
        let data = try XCTUnwrap(FileManager.default.contents(atPath: d.outputDir + "/a.raw"))
        XCTAssertEqual(data.count, 5 * 16 * 8 * 3)
        let seed = UInt8(try XCTUnwrap(result["model_seed"]?.intValue))
        for f in [0, 4] {
            for (x, y) in [(0, 0), (15, 7), (3, 5)] {
                let i = ((f * 8 + y) * 16 + x) * 3
                XCTAssertEqual([data[i], data[i + 1], data[i + 2]], [UInt8(x + f), UInt8(y + f), seed])
            }
        }

        // Events: loading → running → done, progress of the load and render phases.
        let events = c.drainNotifications()
        let states = events.filter { $0.method == "job.state" }.compactMap { $0.params["state"]?.stringValue }
        XCTAssertEqual(states, ["loading", "running", "done"])
        let progress = events.filter { $0.method == "job.progress" }
        let phases = Set(progress.compactMap { $0.params["phase"]?.stringValue })
        XCTAssertTrue(phases.contains("render") && phases.contains("load"), "\(phases)")
        let last = try XCTUnwrap(progress.last { $0.params["phase"] == "render" })
        XCTAssertEqual(last.params["step"], 5)
        XCTAssertEqual(last.params["total"], 5)
        XCTAssertEqual(last.params["fraction"]?.doubleValue, 1.0)
        XCTAssertNotNil(last.params["eta_seconds"])
    }

    func testStageWithoutModelFromACPlugin() throws {
        let d = try startDaemon()
        let c = try d.client()
        let id = try XCTUnwrap(c.result("echo.run", ["message": "héllo", "steps": 3])["id"]?.stringValue)
        let job = try c.result("job.wait", ["id": .string(id)])
        XCTAssertEqual(job["result"]?["echo"]?["message"], "héllo")
        XCTAssertEqual(job["model"], .null)
    }

    func testCancelQueuedAndRunningJobs() throws {
        let d = try startDaemon()
        let c = try d.client()
        let running = try submit(c, render(d, "r.raw", frames: 10_000, delayMs: 20), subscribe: true)
        let queued = try submit(c, render(d, "q.raw", frames: 2))
        _ = try c.waitForNotification { $0.method == "job.progress" && $0.params["id"]?.stringValue == running && $0.params["phase"] == "render" }
        XCTAssertEqual(try state(c, queued), "queued")

        let q = try c.result("job.cancel", ["id": .string(queued)])
        XCTAssertEqual(q["state"], "cancelled")
        let r = try c.result("job.cancel", ["id": .string(running)])
        XCTAssertNotEqual(r["state"], "done")

        let e = try c.error("job.wait", ["id": .string(running)])
        XCTAssertEqual(e.code, .cancelled)
        XCTAssertEqual(e.data?["state"], "cancelled")
        let steps = try XCTUnwrap(e.data?["progress"]?["step"]?.intValue)
        XCTAssertLessThan(steps, 10_000, "the plugin stopped at a step boundary")
        XCTAssertEqual(try c.error("job.wait", ["id": .string(queued)]).code, .cancelled)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.outputDir + "/q.raw"), "a cancelled queued job never ran")
        // Cancelling a finished job changes nothing.
        XCTAssertEqual(try c.result("job.cancel", ["id": .string(queued)])["state"], "cancelled")
        // The daemon goes on.
        let next = try submit(c, render(d, "n.raw"))
        XCTAssertEqual(try c.result("job.wait", ["id": .string(next)])["state"], "done")
    }

    func testPluginFailureFailsTheJobOnly() throws {
        let d = try startDaemon()
        let c = try d.client()
        let id = try submit(c, render(d, "f.raw", frames: 5, extra: ["fail_at_frame": 3]))
        let e = try c.error("job.wait", ["id": .string(id)])
        XCTAssertEqual(e.code, .pluginFailure)
        XCTAssertEqual(e.data?["state"], "failed")
        XCTAssertTrue(e.data?["error"]?["message"]?.stringValue?.contains("fixture failure requested at frame 3") ?? false, "\(e)")
        XCTAssertEqual(e.data?["error"]?["code"], -32004)
        let ok = try submit(c, render(d, "g.raw"))
        XCTAssertEqual(try c.result("job.wait", ["id": .string(ok)])["state"], "done")
    }

    func testFullQueueIsAnErrorNotAHang() throws {
        let d = try startDaemon(settings: ["queue_size": "3"])
        let c = try d.client()
        let blocker = try submit(c, render(d, "b.raw", frames: 100_000, delayMs: 10), subscribe: true)
        _ = try c.waitForNotification { $0.method == "job.state" && $0.params["state"] == "running" }
        var ids: [String] = []
        for i in 0..<3 { ids.append(try submit(c, render(d, "q\(i).raw"))) }
        let e = try c.error("job.submit", ["method": "fixture.render", "params": render(d, "over.raw")])
        XCTAssertEqual(e.code, .queueFull)
        XCTAssertEqual(e.data?["capacity"], 3)
        let info = try c.result("reel.info")
        XCTAssertEqual(info["queue"]?["depth"], 3)
        XCTAssertEqual(info["queue"]?["running"]?.stringValue, blocker)
        // Queue positions are reported.
        XCTAssertEqual(try c.result("job.get", ["id": .string(ids[2])])["position"], 3)
        _ = try c.result("job.cancel", ["id": .string(blocker)])
        for id in ids { XCTAssertEqual(try c.result("job.wait", ["id": .string(id)])["state"], "done") }
    }

    func testJobOutlivesItsClientAndCanBeReattached() throws {
        let d = try startDaemon()
        var id = ""
        do {
            let a = try d.client()
            id = try submit(a, render(d, "long.raw", frames: 40, delayMs: 25))
        } // a disconnects
        let b = try d.client()
        _ = try b.result("job.subscribe", ["ids": [.string(id)]])
        // The current state arrives at once, then the rest of the events.
        let first = try b.waitForNotification { $0.method == "job.state" }
        XCTAssertEqual(first.params["id"]?.stringValue, id)
        let end = try b.waitForNotification { $0.method == "job.state" && $0.params["state"] == "done" }
        XCTAssertEqual(end.params["job"]?["result"]?["frames"], 40)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.outputDir + "/long.raw"))
    }

    func testQueuePositionEvents() throws {
        let d = try startDaemon()
        let c = try d.client()
        let blocker = try submit(c, render(d, "0.raw", frames: 100_000, delayMs: 10), subscribe: true)
        _ = try c.waitForNotification { $0.method == "job.state" && $0.params["state"] == "running" }
        let second = try submit(c, render(d, "2.raw"))
        let third = try submit(c, render(d, "3.raw"), subscribe: true)
        XCTAssertEqual(try c.result("job.get", ["id": .string(third)])["position"], 2)
        _ = try c.result("job.cancel", ["id": .string(second)])
        let moved = try c.waitForNotification { $0.method == "job.queue" && $0.params["id"]?.stringValue == third }
        XCTAssertEqual(moved.params["position"], 1)
        _ = try c.result("job.cancel", ["id": .string(blocker)])
        XCTAssertEqual(try c.result("job.wait", ["id": .string(third)])["state"], "done")
    }

    func testListFiltersAndWaitTimeout() throws {
        let d = try startDaemon()
        let c = try d.client()
        let a = try submit(c, render(d, "a.raw"))
        XCTAssertEqual(try c.result("job.wait", ["id": .string(a)])["state"], "done")
        let b = try XCTUnwrap(c.result("echo.run", ["message": "x"])["id"]?.stringValue)
        _ = try c.result("job.wait", ["id": .string(b)])
        let slow = try submit(c, render(d, "s.raw", frames: 1000, delayMs: 20))
        // A wait with a timeout returns the job as it is.
        let partial = try c.result("job.wait", ["id": .string(slow), "timeout": 0.2])
        XCTAssertFalse(JobState(rawValue: partial["state"]!.stringValue!)!.isFinal)
        _ = try c.result("job.cancel", ["id": .string(slow)])

        let all = try c.result("job.list")["jobs"]!.arrayValue!.compactMap { $0["id"]?.stringValue }
        XCTAssertEqual(Array(all.prefix(3)), [slow, b, a], "newest first")
        let echo = try c.result("job.list", ["method": "echo.run"])["jobs"]!.arrayValue!
        XCTAssertEqual(echo.compactMap { $0["id"]?.stringValue }, [b])
        let done = try c.result("job.list", ["state": ["done"], "limit": 1])["jobs"]!.arrayValue!
        XCTAssertEqual(done.count, 1)
        XCTAssertEqual(done.first?["id"]?.stringValue, b)
        XCTAssertEqual(try c.error("job.get", ["id": "j0000"]).code, .jobNotFound)
        XCTAssertEqual(try c.error("job.cancel", ["id": "j0000"]).code, .jobNotFound)
        XCTAssertEqual(try c.error("job.wait", ["id": "j0000"]).code, .jobNotFound)
        XCTAssertEqual(try c.error("job.subscribe", ["ids": ["j0000"]]).code, .jobNotFound)
    }

    func testSubmitErrors() throws {
        let d = try startDaemon(models: ["fix": 1 << 20, "fix2": 1 << 20])
        let c = try d.client()
        // Two models of the kind: the model must be named.
        var e = try c.error("fixture.render", render(d, "x.raw"))
        XCTAssertEqual(e.code, .invalidParams)
        XCTAssertEqual(e.data?["field"], "/model")
        e = try c.error("job.submit", ["method": "fixture.render", "params": render(d, "x.raw"), "model": "nope"])
        XCTAssertEqual(e.code, .modelNotFound)
        e = try c.error("job.submit", ["method": "video.generate", "params": [:]])
        XCTAssertEqual(e.code, .methodNotFound)
        // Paths must be absolute; a directory that does not exist is refused.
        e = try c.error("job.submit", ["method": "fixture.render", "model": "fix", "params": ["output": "relative.raw"]])
        XCTAssertEqual(e.code, .accessDenied)
        XCTAssertEqual(e.data?["field"], "/params/output")
        e = try c.error("job.submit", ["method": "fixture.render", "model": "fix", "params": ["output": "/nonexistent/dir/x.raw"]])
        XCTAssertEqual(e.code, .accessDenied)
    }

    /// The access rule, with a client running as another user (nobody).
    func testAnotherUserCannotMakeTheDaemonWriteWhereItCannot() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run a client as another user") }
        guard let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first(where: FileManager.default.fileExists),
              let socat = ["/usr/bin/socat", "/bin/socat"].first(where: FileManager.default.fileExists) else {
            throw XCTSkip("needs setpriv and socat")
        }
        let d = try startDaemon()
        let mine = d.root + "/private"
        try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
        chmod(mine, 0o755) // nobody may enter but not write
        let open = d.root + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
        chmod(open, 0o777)

        func asNobody(_ lines: [JSON]) throws -> [JSON] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: setpriv)
            // A member of the socket's group (root's: the test daemon runs as root), so the
            // connection is admitted (SO_PEERCRED) and the path rule decides.
            p.arguments = ["--reuid=65534", "--regid=65534", "--groups=0", socat, "-t", "30", "-", "UNIX-CONNECT:" + d.socket]
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            try p.run()
            input.fileHandleForWriting.write(lines.map { $0.serialized() + "\n" }.joined().data(using: .utf8)!)
            input.fileHandleForWriting.closeFile()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
        }
        let answers = try asNobody([
            RPCRequest(id: .int(1), method: "fixture.render", params: ["output": .string(mine + "/x.raw"), "frames": 1]).json,
            RPCRequest(id: .int(2), method: "fixture.render", params: ["output": .string(open + "/y.raw"), "frames": 1]).json,
            RPCRequest(id: .int(3), method: "reel.info").json,
        ])
        let byID = Dictionary(uniqueKeysWithValues: answers.map { ($0["id"]!.description, $0) })
        XCTAssertEqual(byID["1"]?["error"]?["code"], -32006, "\(answers)")
        XCTAssertEqual(byID["1"]?["error"]?["data"]?["field"], "/output")
        XCTAssertEqual(byID["3"]?["result"]?["peer"]?["uid"], 65534)
        let allowed = try XCTUnwrap(byID["2"]?["result"]?["id"]?.stringValue, "\(answers)")
        let c = try d.client()
        XCTAssertEqual(try c.result("job.wait", ["id": .string(allowed)])["uid"], 65534)
        // Root sees nobody's job; nobody's jobs are not root's to hide, but nobody cannot see root's.
        let rootJob = try submit(c, render(d, "root.raw"))
        let seen = try asNobody([RPCRequest(id: .int(1), method: "job.get", params: ["id": .string(rootJob)]).json,
                                 RPCRequest(id: .int(2), method: "job.cancel", params: ["id": .string(rootJob)]).json])
        XCTAssertEqual(seen.map { $0["error"]?["code"] }, [-32002, -32002], "cancel does not reveal the job either: \(seen)")
    }
}
