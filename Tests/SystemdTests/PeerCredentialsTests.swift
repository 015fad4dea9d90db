import Foundation
import XCTest
@testable import ReelSystemd
#if canImport(Glibc)
import Glibc
#endif

/// SO_PEERCRED and the access policy over real sockets, with real other users:
/// the client runs as `nobody` through setpriv(1).
final class PeerCredentialsTests: XCTestCase {
    func testSocketpairReportsThisProcess() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let peer = try PeerCredentials.of(fd: fds[0])
        XCTAssertEqual(peer.pid, getpid())
        XCTAssertEqual(peer.uid, getuid())
        XCTAssertEqual(peer.gid, getgid())
        var groups = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
        _ = getgroups(Int32(groups.count), &groups)
        XCTAssertEqual(Set(peer.groups), Set(groups))
    }

    func testNotASocketIsAnError() throws {
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        XCTAssertThrowsError(try PeerCredentials.of(fd: fd)) { error in
            XCTAssert("\(error)".contains("SO_PEERCRED"), "\(error)")
        }
    }

    func testSupplementaryGroupFallbacksAgree() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let fromSocket = try XCTUnwrap(PeerCredentials.peerGroups(fd: fds[0]))
        let fromProc = try XCTUnwrap(PeerCredentials.procGroups(pid: getpid()))
        XCTAssertEqual(Set(fromSocket), Set(fromProc))
    }

    func testPolicyFromSocketFileMode() throws {
        let dir = try Harness.tempDir("reel-policy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("reel.sock").path
        let fd = try Harness.listen(path)
        defer { close(fd) }
        XCTAssertEqual(chown(path, getuid(), 4242), 0)
        XCTAssertEqual(chmod(path, 0o660), 0)
        XCTAssertEqual(try AccessPolicy(socketPath: path).socketGroup, 4242)
        XCTAssertEqual(try AccessPolicy(listeningFD: fd).socketGroup, 4242, "the path is found from the fd")
        XCTAssertEqual(AccessPolicy.boundPath(fd: fd), path)
        XCTAssertEqual(chmod(path, 0o600), 0)
        XCTAssertNil(try AccessPolicy(socketPath: path).socketGroup, "a 0600 socket grants its group nothing")
        XCTAssertThrowsError(try AccessPolicy(socketPath: dir.appendingPathComponent("missing").path))
    }

    func testDecisions() {
        let policy = AccessPolicy(daemonUID: 998, socketGroup: 997)
        XCTAssertTrue(policy.check(PeerCredentials(pid: 1, uid: 0, gid: 0, groups: [])).isAllowed)
        XCTAssertTrue(policy.check(PeerCredentials(pid: 1, uid: 998, gid: 998, groups: [])).isAllowed)
        XCTAssertTrue(policy.check(PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [27, 997])).isAllowed)
        XCTAssertTrue(policy.check(PeerCredentials(pid: 1, uid: 1000, gid: 997, groups: [])).isAllowed)
        let refused = policy.check(PeerCredentials(pid: 77, uid: 1000, gid: 1000, groups: [27]))
        XCTAssertFalse(refused.isAllowed)
        XCTAssert(refused.reason.contains("uid 1000"), refused.reason)
        XCTAssert(refused.reason.contains("pid 77"), refused.reason)
        XCTAssert(refused.reason.contains("gid 997"), refused.reason)
        let noGroup = AccessPolicy(daemonUID: 998, socketGroup: nil)
        XCTAssertFalse(noGroup.check(PeerCredentials(pid: 1, uid: 1000, gid: 997, groups: [997])).isAllowed)
    }

    // MARK: - Another user on a real socket

    /// Accepts one connection from the probe run as `nobody` (with `extraGroups` as
    /// supplementary groups) and returns what the policy decided about it.
    func decisionForNobody(extraGroups: [gid_t]) throws -> (PeerCredentials, AccessDecision, String) {
        guard getuid() == 0 else { throw XCTSkip("switching to nobody needs root") }
        let setpriv = try XCTUnwrap(Harness.which("setpriv"), "setpriv (util-linux) is required")
        let dir = try Harness.tempDir("reel-peer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("reel.sock").path
        let listener = try Harness.listen(path)
        defer { close(listener) }
        XCTAssertEqual(chown(path, 0, 4242), 0)
        XCTAssertEqual(chmod(path, 0o666), 0)   // the kernel lets anyone connect; the policy decides
        let policy = try AccessPolicy(listeningFD: listener)

        let groups = extraGroups.isEmpty ? ["--clear-groups"] : ["--groups=\(extraGroups.map(String.init).joined(separator: ","))"]
        let runner = Background {
            try? Harness.run(setpriv, ["--reuid=nobody", "--regid=nogroup"] + groups + [Harness.probe, "connect", path])
        }
        let conn = accept(listener, nil, nil)
        XCTAssertGreaterThanOrEqual(conn, 0)
        let peer = try PeerCredentials.of(fd: conn)
        let decision = policy.check(peer)
        _ = Harness.readLine(conn)
        Harness.writeLine(conn, decision.description)
        close(conn)
        let result = try XCTUnwrap(runner.wait())
        XCTAssertEqual(result.status, 0, result.stderr)
        return (peer, decision, result.stdout)
    }

    func testNobodyIsRefused() throws {
        let (peer, decision, clientSaw) = try decisionForNobody(extraGroups: [])
        XCTAssertEqual(peer.uid, 65534)
        XCTAssertEqual(peer.gid, 65534)
        XCTAssertEqual(peer.groups, [])
        XCTAssertNotEqual(peer.pid, getpid())
        XCTAssertFalse(decision.isAllowed)
        XCTAssert(decision.reason.contains("uid 65534 (nobody)"), decision.reason)
        XCTAssert(decision.reason.contains("not a member of the socket's gid 4242") || decision.reason.contains("(gid 4242)"), decision.reason)
        XCTAssertEqual(clientSaw, "refused: \(decision.reason)\n")
    }

    func testNobodyInTheSocketGroupIsAllowed() throws {
        let (peer, decision, _) = try decisionForNobody(extraGroups: [4242, 4343])
        XCTAssertEqual(peer.uid, 65534)
        XCTAssertEqual(Set(peer.groups), [4242, 4343], "supplementary groups as the peer held them at connect")
        XCTAssertTrue(decision.isAllowed, decision.reason)
        XCTAssert(decision.reason.contains("member of the socket's"), decision.reason)
    }
}
