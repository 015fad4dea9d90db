import XCTest
@testable import ReelSystemd
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify for real: the test binds the NOTIFY_SOCKET datagram socket and reads what
/// libsystemd sends, as PID 1 would.
final class NotifyTests: XCTestCase {
    var dir: URL!
    var socketFD: Int32 = -1
    var socketPath: String { dir.appendingPathComponent("notify.sock").path }

    override func setUpWithError() throws {
        dir = try Harness.tempDir("reel-notify")
        socketFD = try Harness.bind(socketPath, type: Int32(SOCK_DGRAM.rawValue))
    }

    override func tearDown() {
        close(socketFD)
        try? FileManager.default.removeItem(at: dir)
    }

    func fields(_ datagram: String?) -> [String] {
        (datagram ?? "").split(separator: "\n").map(String.init)
    }

    func testReadyStatusStoppingSequence() {
        Harness.withEnvironment(["NOTIFY_SOCKET": socketPath]) {
            XCTAssertTrue(SystemdNotify.isEnabled)
            SystemdNotify.ready(status: "Serving /run/reel/reel.sock; 2 plugins; queue 0")
            SystemdNotify.status("Running job 7 (fixture) 40%; queue 3\nsecond line")
            SystemdNotify.stopping()
            SystemdNotify.stopping(status: "Draining: waiting for job 7")
        }
        XCTAssertEqual(fields(Harness.receive(socketFD)), ["READY=1", "STATUS=Serving /run/reel/reel.sock; 2 plugins; queue 0"])
        // A STATUS= line never carries a newline: it would start a bogus assignment.
        XCTAssertEqual(fields(Harness.receive(socketFD)), ["STATUS=Running job 7 (fixture) 40%; queue 3 second line"])
        XCTAssertEqual(fields(Harness.receive(socketFD)), ["STOPPING=1"])
        XCTAssertEqual(fields(Harness.receive(socketFD)), ["STOPPING=1", "STATUS=Draining: waiting for job 7"])
        XCTAssertNil(Harness.receive(socketFD, wait: false), "nothing else was sent")
    }

    func testReloadingCarriesMonotonicTimestamp() throws {
        var before = timespec(), after = timespec()
        clock_gettime(CLOCK_MONOTONIC, &before)
        Harness.withEnvironment(["NOTIFY_SOCKET": socketPath]) { SystemdNotify.reloading() }
        clock_gettime(CLOCK_MONOTONIC, &after)
        let f = fields(Harness.receive(socketFD))
        XCTAssertEqual(f.first, "RELOADING=1")
        let usec = try XCTUnwrap(f.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        let lo = UInt64(before.tv_sec) * 1_000_000 + UInt64(before.tv_nsec) / 1000
        let hi = UInt64(after.tv_sec) * 1_000_000 + UInt64(after.tv_nsec) / 1000
        XCTAssert((lo...hi).contains(usec), "MONOTONIC_USEC \(usec) is CLOCK_MONOTONIC at the call (\(lo)…\(hi))")
    }

    func testWatchdogPingAndExtendTimeout() {
        Harness.withEnvironment(["NOTIFY_SOCKET": socketPath]) {
            SystemdNotify.watchdogPing()
            SystemdNotify.extendTimeout(.seconds(90))
        }
        XCTAssertEqual(fields(Harness.receive(socketFD)), ["WATCHDOG=1"])
        XCTAssertEqual(fields(Harness.receive(socketFD)), ["EXTEND_TIMEOUT_USEC=90000000"])
    }

    func testAbstractNotifySocket() throws {
        let name = "@reel-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = try Harness.bind(name, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(fd) }
        Harness.withEnvironment(["NOTIFY_SOCKET": name]) { SystemdNotify.ready(status: "abstract") }
        XCTAssertEqual(fields(Harness.receive(fd)), ["READY=1", "STATUS=abstract"])
    }

    func testEverythingIsANoOpWithoutNotifySocket() {
        Harness.withEnvironment(["NOTIFY_SOCKET": nil]) {
            XCTAssertFalse(SystemdNotify.isEnabled)
            SystemdNotify.ready(status: "x")
            SystemdNotify.status("x")
            SystemdNotify.watchdogPing()
            SystemdNotify.reloading()
            SystemdNotify.stopping()
            XCTAssertFalse(SystemdNotify.send(["READY=1"]))
        }
        XCTAssertNil(Harness.receive(socketFD, wait: false))
    }

    func testWatchdogIntervalIsHalfOfWatchdogUsec() {
        Harness.withEnvironment(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid())"]) {
            XCTAssertEqual(SystemdNotify.watchdogInterval(), .milliseconds(1500))
        }
        Harness.withEnvironment(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": nil]) {
            XCTAssertEqual(SystemdNotify.watchdogInterval(), .milliseconds(1500))
        }
        // WATCHDOG_PID names another process (a child inherited the variables): not ours to ping.
        Harness.withEnvironment(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"]) {
            XCTAssertNil(SystemdNotify.watchdogInterval())
        }
        Harness.withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
            XCTAssertNil(SystemdNotify.watchdogInterval())
        }
        Harness.withEnvironment(["WATCHDOG_USEC": "garbage", "WATCHDOG_PID": nil]) {
            XCTAssertNil(SystemdNotify.watchdogInterval())
        }
    }
}
