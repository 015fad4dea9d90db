import XCTest
import ReelSystemd
#if canImport(Glibc)
import Glibc
#endif

/// Socket activation for real: systemd-socket-activate opens the socket and launches the
/// probe with LISTEN_FDS on the first connection, as a .socket unit would.
final class SocketActivationTests: XCTestCase {
    func activate(_ extra: [String], trigger: (String) throws -> Int32) throws -> (Harness.Result, Int32) {
        let tool = try XCTUnwrap(Harness.which("systemd-socket-activate"), "systemd-socket-activate (package systemd) is required")
        let dir = try Harness.tempDir("reel-activate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("reel.sock").path
        let launcher = Background { try? Harness.run(tool, extra + ["-l", path, Harness.probe, "listen"]) }
        let fd = try trigger(path)
        return (try XCTUnwrap(launcher.wait()), fd)
    }

    func testServesThePassedStreamSocket() throws {
        let (result, fd) = try activate([]) { try Harness.connectWhenListening($0) }
        defer { close(fd) }
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssert(result.stdout.contains("fds=3\n"), result.stdout)       // SD_LISTEN_FDS_START
        XCTAssert(result.stdout.contains("rejected=\n"), result.stdout)
        // The probe accepted our connection on the inherited socket and saw who we are.
        let reply = Harness.readLine(fd)
        XCTAssert(reply.hasPrefix("served-by="), reply)
        XCTAssert(reply.contains("peer-uid=\(getuid()) peer-pid=\(getpid())"), reply)
    }

    func testRejectsADatagramSocket() throws {
        let (result, fd) = try activate(["--datagram"]) { path in
            // The first datagram is what makes systemd-socket-activate launch the probe.
            let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var sent = -1
            for _ in 0..<2000 where sent < 0 {
                var (addr, len) = Harness.sockaddr(path: path)
                sent = withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(s, "x", 1, 0, $0, len) }
                }
                if sent < 0 { usleep(5000) }
            }
            return s
        }
        defer { close(fd) }
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssert(result.stdout.contains("fds=\n"), result.stdout)
        XCTAssert(result.stdout.contains("rejected=3:not a listening AF_UNIX stream socket"), result.stdout)
    }

    func testNotActivatedWithoutListenFDs() throws {
        var env = ProcessInfo.processInfo.environment
        env["LISTEN_FDS"] = nil
        env["LISTEN_PID"] = nil
        let result = try Harness.run(Harness.probe, ["listen"], environment: env)
        XCTAssertEqual(result.stdout, "fds=\nrejected=\n")
    }

    func testListenFDsForAnotherPIDAreIgnored() throws {
        // LISTEN_PID names a different process: the descriptors were not meant for us.
        var env = ProcessInfo.processInfo.environment
        env["LISTEN_FDS"] = "1"
        env["LISTEN_PID"] = "1"
        let result = try Harness.run(Harness.probe, ["listen"], environment: env)
        XCTAssertEqual(result.stdout, "fds=\nrejected=\n")
    }
}
