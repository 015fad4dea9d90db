import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest
@testable import ReelSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The real reeld as systemd would run it, without systemd as PID 1: the test owns the
/// NOTIFY_SOCKET datagram socket and reads what reeld sends, starts reeld through
/// systemd-socket-activate for LISTEN_FDS, sets WATCHDOG_USEC, sends SIGHUP and SIGTERM,
/// and connects as another user.
final class ReeldServiceTests: XCTestCase {
    /// One reeld under test: the daemon tests' temporary root (plugins, fixture model,
    /// config) plus a notify socket and the process.
    final class Service {
        let d: DaemonProcess
        let notifyPath: String
        let notifyFD: Int32
        let notifications: DatagramCollector
        var process: Process?
        /// Every datagram received so far, in order.
        private(set) var received: [(at: Double, fields: [String])] = []

        convenience init(settings: [String: String] = [:]) throws {
            let d = try DaemonProcess(settings: settings)
            try d.addModel("fix", bytes: 1 << 20)
            try d.writeConfig()
            try self.init(d: d, notifyPath: d.root + "/notify.sock")
        }

        init(d: DaemonProcess, notifyPath: String) throws {
            self.d = d
            self.notifyPath = notifyPath
            notifyFD = try Harness.bind(notifyPath, type: Int32(SOCK_DGRAM.rawValue))
            notifications = DatagramCollector(fd: notifyFD)
        }

        deinit {
            if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            notifications.stop()
            close(notifyFD)
        }

        /// A reeld started directly (not socket-activated) that has sent READY=1.
        static func ready() throws -> Service {
            let s = try Service()
            try s.start(activated: false)
            try s.waitFor("READY=1")
            return s
        }

        /// Starts reeld; with `activated`, systemd-socket-activate owns the socket and
        /// execs reeld on the first connection, as reeld.socket does.
        func start(activated: Bool, environment extra: [String: String] = [:], arguments: [String] = []) throws {
            var env = ["NOTIFY_SOCKET": notifyPath]
            env.merge(extra) { _, new in new }
            let p = Process()
            if activated {
                let tool = try XCTUnwrap(Harness.which("systemd-socket-activate"))
                p.executableURL = URL(fileURLWithPath: tool)
                p.arguments = ["-l", d.socket] + env.sorted { $0.key < $1.key }.map { "-E\($0.key)=\($0.value)" }
                    + [try BuildProducts.reeld, "--config", d.configFile] + arguments
            } else {
                p.executableURL = URL(fileURLWithPath: try BuildProducts.reeld)
                p.arguments = ["--config", d.configFile] + arguments
                var all = ProcessInfo.processInfo.environment
                // Nothing systemd-ish leaks in from the test process (other tests set these).
                for k in ["REEL_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM"] {
                    all[k] = nil
                }
                all.merge(env) { _, new in new }
                p.environment = all
            }
            FileManager.default.createFile(atPath: d.logFile, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: d.logFile))
            log.seekToEndOfFile()
            p.standardOutput = log
            p.standardError = log
            try p.run()
            process = p
        }

        /// The next sd_notify datagram, split into assignments.
        func next() throws -> [String] {
            // A hang guard, not a timing check: a dead reeld must fail the test, not block it.
            guard let (at, text) = notifications.next() else {
                throw HarnessError("no further sd_notify datagram within 60 s; received:\n"
                                   + received.map { $0.fields.joined(separator: " | ") }.joined(separator: "\n")
                                   + "\nreeld log:\n\(d.log_())")
            }
            let fields = text.split(separator: "\n").map(String.init)
            received.append((at, fields))
            return fields
        }

        /// Reads datagrams until one carries `assignment` (e.g. "READY=1"); returns it.
        @discardableResult
        func waitFor(_ assignment: String, where match: ([String]) -> Bool = { _ in true }) throws -> [String] {
            while true {
                let f = try next()
                // "READY=1" matches exactly; "STATUS=" matches any STATUS= line.
                let has = f.contains { assignment.hasSuffix("=") ? $0.hasPrefix(assignment) : $0 == assignment }
                if has, match(f) { return f }
            }
        }

        func status(_ fields: [String]) -> String? {
            fields.first { $0.hasPrefix("STATUS=") }.map { String($0.dropFirst(7)) }
        }

        /// Connects, retrying while systemd-socket-activate is still creating the socket.
        func connect() throws -> RPCClient {
            for _ in 0..<1200 {
                if let c = try? RPCClient(socket: d.socket) { return c }
                usleep(50_000)
            }
            return try RPCClient(socket: d.socket)
        }

        func signal(_ s: Int32) { if let p = process { kill(p.processIdentifier, s) } }

        func waitForExit() -> Int32 {
            guard let p = process else { return -1 }
            p.waitUntilExit()
            return p.terminationStatus
        }

        func submit(_ c: RPCClient, output: String, frames: Int, delayMs: Int) throws -> String {
            let params: JSON = ["output": .string(d.outputDir + "/" + output), "frames": .int(Int64(frames)),
                                "width": 16, "height": 8, "step_delay_ms": .int(Int64(delayMs))]
            let job = try c.result("job.submit", ["method": "fixture.render", "model": "fix", "params": params])
            return try XCTUnwrap(job["id"]?.stringValue)
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: - Notify

    func testReadyOnlyOnceTheSocketServesWithPluginsLoaded() throws {
        let s = try Service()
        try s.start(activated: false)
        let ready = try s.waitFor("READY=1")
        XCTAssertFalse(s.received.dropLast().contains { $0.fields.contains("READY=1") })
        // READY means serving: connect at once, no retry, and the plugins are there.
        let c = try RPCClient(socket: s.d.socket)
        let info = try c.result("reel.info")
        XCTAssert("\(info)".contains("fixture"), "\(info)")
        let status = try XCTUnwrap(s.status(ready))
        XCTAssert(status.hasPrefix("queue 0/64 · idle · 0 models"), status)
        s.signal(SIGTERM)
        try s.waitFor("STOPPING=1")
        XCTAssertEqual(s.waitForExit(), 0)
    }

    func testSocketActivatedStatusLinesAndSIGTERMDrainPersistsInterrupted() throws {
        let s = try Service()
        try s.start(activated: true)
        let c = try s.connect()             // this connection is what makes systemd-socket-activate exec reeld
        try s.waitFor("READY=1")
        XCTAssert(try s.d.log_().contains("serving the listening socket fd 3"), s.d.log_())

        let running = try s.submit(c, output: "long.raw", frames: 400, delayMs: 25)
        let queued = try s.submit(c, output: "after.raw", frames: 2, delayMs: 0)
        // A status line a person can read: queue depth, the running job with its progress, the model.
        let line = try XCTUnwrap(s.status(try s.waitFor("STATUS=", where: { f in
            f.contains { $0.contains("running") && $0.contains("%") && $0.contains("queue 1/64") && $0.contains("1 model") }
        })))
        XCTAssert(line.contains(String(running.prefix(4))), line)
        XCTAssert(line.contains("fixture.render"), line)

        s.signal(SIGTERM)
        let stopping = try s.waitFor("STOPPING=1")
        XCTAssert(s.status(stopping)?.contains("stopping") ?? false)
        XCTAssertEqual(s.waitForExit(), 0, s.d.log_())

        // The next reeld finds the running job interrupted and the queued one still queued, then runs it.
        let again = try Service.restart(s)
        let c2 = try RPCClient(socket: s.d.socket)
        XCTAssertEqual(try c2.result("job.get", ["id": .string(running)])["state"], "interrupted")
        let done = try c2.result("job.wait", ["id": .string(queued)])
        XCTAssertEqual(done["state"], "done", "\(done)")
        again.signal(SIGTERM)
        XCTAssertEqual(again.waitForExit(), 0)
    }

    func testWatchdogPingsAtHalfOfWatchdogUsec() throws {
        let s = try Service()
        try s.start(activated: false, environment: ["WATCHDOG_USEC": "1000000"])
        try s.waitFor("READY=1")
        var times: [Double] = []
        while times.count < 8 {
            _ = try s.waitFor("WATCHDOG=1")
            times.append(s.received.last!.at)
        }
        let intervals = zip(times.dropFirst(), times).map { $0 - $1 }
        let mean = intervals.reduce(0, +) / Double(intervals.count)
        // Half of 1 s; the tolerance absorbs a loaded machine, not a wrong period (1 s or 0.25 s).
        XCTAssert((0.4...0.7).contains(mean), "mean interval \(mean) s, intervals \(intervals)")
        s.signal(SIGTERM)
        XCTAssertEqual(s.waitForExit(), 0)
    }

    func testNoWatchdogPingsWithoutWatchdogUsec() throws {
        let s = try Service.ready()
        // A job makes status traffic; none of it may be a watchdog ping.
        let c = try RPCClient(socket: s.d.socket)
        let id = try s.submit(c, output: "x.raw", frames: 20, delayMs: 20)
        XCTAssertEqual(try c.result("job.wait", ["id": .string(id)])["state"], "done")
        s.signal(SIGTERM)
        try s.waitFor("STOPPING=1")
        XCTAssertFalse(s.received.contains { $0.fields.contains("WATCHDOG=1") })
        XCTAssertEqual(s.waitForExit(), 0)
    }

    func testSIGHUPReloadsConfigurationAndKeepsResidentModels() throws {
        let s = try Service.ready()
        let c = try RPCClient(socket: s.d.socket)
        _ = try c.result("model.load", ["model": "fix", "keep_alive": -1])
        s.d.settings["queue_size"] = "5"
        try s.d.writeConfig()

        var before = timespec()
        clock_gettime(CLOCK_MONOTONIC, &before)
        s.signal(SIGHUP)
        let reloading = try s.waitFor("RELOADING=1")
        let usec = try XCTUnwrap(reloading.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst(15)) })
        XCTAssertGreaterThanOrEqual(usec, UInt64(before.tv_sec) * 1_000_000 + UInt64(before.tv_nsec) / 1000)
        let ready = try s.waitFor("READY=1")
        let status = try XCTUnwrap(s.status(ready))
        XCTAssert(status.hasPrefix("queue 0/5 "), "the new queue_size is in effect: \(status)")
        XCTAssert(status.contains("1 model"), "the resident model stayed: \(status)")
        let ps = try c.result("model.ps")
        XCTAssert("\(ps)".contains("fix"), "\(ps)")
        s.signal(SIGTERM)
        XCTAssertEqual(s.waitForExit(), 0)
    }

    // MARK: - Socket ownership and idle exit

    func testRefusesALiveSocketRemovesAStaleOneAndNeverAFile() throws {
        let s = try Service.ready()
        // A second reeld on the same path must not steal it.
        let second = try Harness.run(try BuildProducts.reeld, ["--config", s.d.configFile])
        XCTAssertNotEqual(second.status, 0)
        XCTAssert(second.stderr.contains("another reeld is already listening on \(s.d.socket)"), second.stderr)
        XCTAssertNoThrow(try RPCClient(socket: s.d.socket).result("reel.info"), "the first one still serves")

        // A crash leaves the socket file behind; the next reeld removes it and serves.
        s.signal(SIGKILL)
        _ = s.waitForExit()
        XCTAssert(FileManager.default.fileExists(atPath: s.d.socket))
        let restarted = try Service.restart(s)
        XCTAssertNoThrow(try RPCClient(socket: s.d.socket).result("reel.info"))
        restarted.signal(SIGTERM)
        XCTAssertEqual(restarted.waitForExit(), 0)

        // Something that is not a socket is never removed.
        try "precious".write(toFile: s.d.socket, atomically: true, encoding: .utf8)
        let refused = try Harness.run(try BuildProducts.reeld, ["--config", s.d.configFile])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssert(refused.stderr.contains("is not a socket"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: s.d.socket, encoding: .utf8), "precious")
    }

    func testExitsWhenIdleAndWarnsWithoutSocketActivation() throws {
        let s = try Service(settings: ["exit_on_idle": "\"1s\""])
        try s.start(activated: true)
        do {
            let c = try s.connect()
            try s.waitFor("READY=1")
            _ = try c.result("reel.info")
        }   // the client disconnects; nothing queued, running or resident
        try s.waitFor("STOPPING=1")
        XCTAssertEqual(s.waitForExit(), 0)
        XCTAssert(s.d.log_().contains("exiting"), s.d.log_())

        // Bound by reeld itself it exits too, but says that nothing will start it again.
        let plain = try Service(settings: ["exit_on_idle": "\"1s\""])
        try plain.start(activated: false)
        try plain.waitFor("READY=1")
        try plain.waitFor("STOPPING=1")
        XCTAssertEqual(plain.waitForExit(), 0)
        XCTAssert(plain.d.log_().contains("exit_on_idle is set but reeld is not socket-activated"), plain.d.log_())
    }

    // MARK: - Access control

    /// Sends reel.info as nobody (through setpriv and socat) and returns the answer.
    func infoAsNobody(_ s: Service, groups: [String]) throws -> JSON {
        let setpriv = try XCTUnwrap(Harness.which("setpriv"))
        let socat = try XCTUnwrap(Harness.which("socat"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: setpriv)
        p.arguments = ["--reuid=65534", "--regid=65534"] + groups + [socat, "-t", "30", "-", "UNIX-CONNECT:" + s.d.socket]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write((RPCRequest(id: .int(1), method: "reel.info").json.serialized() + "\n").data(using: .utf8)!)
        input.fileHandleForWriting.closeFile()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").first.map(String.init) else {
            throw HarnessError("no answer from reeld to nobody (socat exit \(p.terminationStatus)); reeld log:\n\(s.d.log_())")
        }
        return try JSON.parse(line)
    }

    func testAnotherUserIsRefusedUnlessInTheSocketGroup() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run a client as another user") }
        let s = try Service.ready()
        var st = stat()
        XCTAssertEqual(stat(s.d.socket, &st), 0)

        let refused = try infoAsNobody(s, groups: ["--clear-groups"])
        XCTAssertEqual(refused["error"]?["code"], -32006, "\(refused)")
        let message = refused["error"]?["message"]?.stringValue ?? ""
        XCTAssert(message.contains("uid 65534 (nobody)"), message)
        XCTAssert(message.contains("not a member of the socket's"), message)
        XCTAssertEqual(refused["error"]?["data"]?["uid"], 65534)
        XCTAssert(s.d.log_().contains("refused a connection"), s.d.log_())

        let admitted = try infoAsNobody(s, groups: ["--groups=\(st.st_gid)"])
        XCTAssertEqual(admitted["result"]?["peer"]?["uid"], 65534, "\(admitted)")

        // The root client still works, and the refusal cost nobody else anything.
        XCTAssertNoThrow(try RPCClient(socket: s.d.socket).result("reel.info"))
        s.signal(SIGTERM)
        XCTAssertEqual(s.waitForExit(), 0)
    }

    // MARK: - Journal

    func testReeldWritesStructuredJournalEntries() throws {
        guard getuid() == 0, let unshare = Harness.which("unshare"), let sh = Harness.which("sh") else {
            throw XCTSkip("needs root and unshare(1) to give reeld a private /run/systemd")
        }
        let s = try Service()
        let jdir = s.d.root + "/run-systemd"
        try FileManager.default.createDirectory(atPath: jdir + "/journal", withIntermediateDirectories: true)
        let journal = try Harness.bind(jdir + "/journal/socket", type: Int32(SOCK_DGRAM.rawValue))
        let collector = DatagramCollector(fd: journal)
        defer { collector.stop(); close(journal) }

        FileManager.default.createFile(atPath: s.d.logFile, contents: nil)
        var st = stat()
        XCTAssertEqual(stat(s.d.logFile, &st), 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: unshare)
        p.arguments = ["--mount", sh, "-c", "mount --bind \"$1\" /run/systemd && exec \"$2\" --config \"$3\"",
                       "sh", jdir, try BuildProducts.reeld, s.d.configFile]
        var env = ProcessInfo.processInfo.environment
        env["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"   // stderr is the journal stream
        env["NOTIFY_SOCKET"] = s.notifyPath
        p.environment = env
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: s.d.logFile))
        try p.run()
        s.process = p
        try s.waitFor("READY=1")

        let c = try RPCClient(socket: s.d.socket)
        let id = try s.submit(c, output: "j.raw", frames: 2, delayMs: 0)
        XCTAssertEqual(try c.result("job.wait", ["id": .string(id)])["state"], "done")
        s.signal(SIGTERM)
        XCTAssertEqual(s.waitForExit(), 0)

        let entries = collector.all.map(LoggingTests.parseNative)
        XCTAssert(entries.allSatisfy { $0["SYSLOG_IDENTIFIER"] == "reeld" })
        let done = try XCTUnwrap(entries.first { $0["MESSAGE"] == "job \(id) done" }, "\(entries.map { $0["MESSAGE"] ?? "" })")
        XCTAssertEqual(done["PRIORITY"], "6")
        XCTAssertEqual(done["JOB_ID"], id)
        XCTAssertEqual(done["STAGE"], "fixture.render")
        XCTAssertEqual(done["MODEL"], "fix")
        XCTAssertNotNil(done["PLUGIN"])
        XCTAssert(entries.contains { ($0["MESSAGE"] ?? "").hasPrefix("reeld ") && $0["PRIORITY"] == "5" }, "the ready notice")
        XCTAssertEqual(s.d.log_(), "", "in journal mode nothing goes to stderr")
    }
}

extension ReeldServiceTests {
    /// The sandbox of the system unit, imitated in a private mount namespace: a directory read-only to
    /// reeld (ProtectSystem=strict), one holding a systemd private directory (PrivateTmp=), and /home
    /// empty and inaccessible (ProtectHome=). The client
    /// (root here) may write both, so only reeld's own check can refuse them: at job.submit, no job made.
    func testOutputsTheSandboxedDaemonCannotReachAreRefusedAtSubmit() throws {
        guard getuid() == 0, let unshare = Harness.which("unshare"), let sh = Harness.which("sh"),
              FileManager.default.fileExists(atPath: "/home") else {
            throw XCTSkip("needs root, unshare(1) and /home to give reeld a private mount namespace")
        }
        let s = try Service()
        let ro = s.d.outputDir + "/ro", shared = s.d.outputDir + "/tmp"
        let privateDir = s.d.root + "/systemd-private-0123-reeld.service-abc/tmp"
        for dir in [ro, shared, privateDir] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: unshare)
        p.arguments = ["--mount", "--propagation", "private", sh, "-c",
                       "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && mount --bind \"$2\" \"$3\" "
                       + "&& mount -t tmpfs -o mode=000 tmpfs /home && exec \"$4\" --config \"$5\"",
                       "sh", ro, privateDir, shared, try BuildProducts.reeld, s.d.configFile]
        p.environment = ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": s.notifyPath]) { _, new in new }
        p.standardError = FileHandle.nullDevice
        try p.run()
        s.process = p
        try s.waitFor("READY=1")

        let c = try RPCClient(socket: s.d.socket)
        func refusal(_ output: String) throws -> RPCError {
            try c.error("job.submit", ["method": "fixture.render", "model": "fix",
                                       "params": ["output": .string(output), "frames": 1, "width": 16, "height": 8]])
        }
        let readOnly = try refusal(ro + "/a.raw")
        XCTAssertEqual(readOnly.code, .accessDenied)
        XCTAssertEqual(readOnly.data?["field"], "/params/output")
        XCTAssertTrue(readOnly.message.contains("is read-only to reeld") && readOnly.message.contains("ReadWritePaths="), readOnly.message)
        let hidden = try refusal(shared + "/a.raw")
        XCTAssertEqual(hidden.code, .accessDenied)
        XCTAssertTrue(hidden.message.contains("reeld has a private \(shared) (systemd's PrivateTmp=)"), hidden.message)
        let home = try refusal("/home/alice/a.raw")            // ProtectHome=: an empty, inaccessible /home
        XCTAssertEqual(home.code, .accessDenied)
        XCTAssertTrue(home.message.contains("reeld does not see /home") && home.message.contains("ProtectHome="), home.message)
        XCTAssertEqual(try c.result("job.list")["jobs"]?.arrayValue?.count, 0, "no job made for refused outputs")

        // A client inside reeld's own mount namespace sees the same private directory: not refused there.
        guard let nsenter = Harness.which("nsenter") else { throw XCTSkip("needs nsenter(1)") }
        let inside = try Harness.run(nsenter, ["--mount", "--target", "\(p.processIdentifier)", try BuildProducts.path("reel"),
                                               "call", "job.submit",
                                               #"{"method": "fixture.render", "model": "fix", "params": {"output": "\#(shared)/b.raw", "frames": 1, "width": 16, "height": 8}}"#],
                                     environment: ["REEL_SOCKET": s.d.socket])
        XCTAssertEqual(inside.status, 0, inside.stderr)
        let insideID = try XCTUnwrap(try JSON.parse(inside.stdout)["id"]?.stringValue, inside.stdout)
        XCTAssertEqual(try c.result("job.wait", ["id": .string(insideID)])["state"], "done")
        XCTAssertTrue(FileManager.default.fileExists(atPath: privateDir + "/b.raw"), "written into the private directory")

        let id = try s.submit(c, output: "fine.raw", frames: 1, delayMs: 0)       // beside them: served as ever
        XCTAssertEqual(try c.result("job.wait", ["id": .string(id)])["state"], "done")
        XCTAssertTrue(FileManager.default.fileExists(atPath: s.d.outputDir + "/fine.raw"))
        s.signal(SIGTERM)
        XCTAssertEqual(s.waitForExit(), 0)
    }
}

extension ReeldServiceTests.Service {
    /// A fresh reeld over the same directories and configuration (a restart).
    static func restart(_ old: ReeldServiceTests.Service) throws -> ReeldServiceTests.Service {
        let s = try ReeldServiceTests.Service(reusing: old)
        try s.start(activated: false)
        try s.waitFor("READY=1")
        return s
    }

    convenience init(reusing old: ReeldServiceTests.Service) throws {
        try self.init(d: old.d, notifyPath: old.d.root + "/notify-\(UInt32.random(in: 0...UInt32.max)).sock")
    }
}
