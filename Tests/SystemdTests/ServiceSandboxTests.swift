import Foundation
import XCTest
@testable import ReelSystemd

final class ServiceSandboxTests: XCTestCase {
    /// Lines as the kernel writes them (proc(5)), with systemd's PrivateTmp= bind mounts of a unit whose
    /// /tmp is on the root file system and of one whose /tmp is a tmpfs.
    let mountinfo = """
    22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw
    25 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
    310 22 259:1 /tmp/systemd-private-6f1c2e-reeld.service-Ab12Cd/tmp /tmp rw,relatime shared:140 - ext4 /dev/nvme0n1p1 rw
    311 22 0:31 /systemd-private-6f1c2e-reeld.service-Ef34Gh/tmp /var/tmp rw,nosuid,nodev shared:141 - tmpfs tmpfs rw
    312 22 259:1 /srv/my\\040videos /srv/my\\040videos ro,relatime shared:142 - ext4 /dev/nvme0n1p1 rw
    313 22 259:1 /srv/systemd-private-x/tmp /srv/a\\040b rw,relatime shared:143 - ext4 /dev/nvme0n1p1 rw
    """

    func testPrivateMountsAreTheSystemdPrivateDirectories() {
        XCTAssertEqual(ServiceSandbox.privateMounts(mountinfo: mountinfo), ["/tmp", "/var/tmp", "/srv/a b"])
        XCTAssertEqual(ServiceSandbox.privateMounts(mountinfo: ""), [])
    }

    func testThePrivateMountHoldingAPath() {
        let mounts = ["/tmp", "/var/tmp", "/var/tmp/x"]
        XCTAssertEqual(ServiceSandbox.privateMount(holding: "/tmp/a.mp4", among: mounts), "/tmp")
        XCTAssertEqual(ServiceSandbox.privateMount(holding: "/tmp", among: mounts), "/tmp")
        XCTAssertNil(ServiceSandbox.privateMount(holding: "/tmpfoo/a.mp4", among: mounts))
        XCTAssertEqual(ServiceSandbox.privateMount(holding: "/var/tmp/x/y", among: mounts), "/var/tmp/x", "the innermost")
        XCTAssertNil(ServiceSandbox.privateMount(holding: "/var/lib/reel/outputs/a.mp4", among: mounts))
    }

    func testMountNamespacesAreComparedThroughProc() throws {
        XCTAssertEqual(ServiceSandbox.sharesMountNamespace(pid: getpid()), true)
        XCTAssertNil(ServiceSandbox.sharesMountNamespace(pid: Int32.max), "no such process")
        guard getuid() == 0, let unshare = Harness.which("unshare") else { throw XCTSkip("needs root and unshare(1)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: unshare)
        p.arguments = ["--mount", "sleep", "30"]
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        var other: Bool? = true
        for _ in 0..<200 {             // until unshare has made the namespace and exec'd sleep
            other = ServiceSandbox.sharesMountNamespace(pid: p.processIdentifier)
            if other == false { break }
            usleep(10_000)
        }
        XCTAssertEqual(other, false)
    }

    func testThisProcessesMountsAreReadFromProc() throws {
        let text = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        XCTAssertFalse(text.isEmpty)
        XCTAssertEqual(ServiceSandbox.privateMounts(), ServiceSandbox.privateMounts(mountinfo: text))
    }
}
