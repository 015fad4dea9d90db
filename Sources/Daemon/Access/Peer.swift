// Who is on the other end of a connection: SO_PEERCRED plus the process's
// supplementary groups. (ReelSystemd.PeerCredentials can replace `of(fd:)`.)
import Foundation
import ReelSystemd

/// `struct ucred` of <sys/socket.h> (Glibc hides it behind _GNU_SOURCE).
struct UCred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

struct Peer: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    var groups: [UInt32]

    var isRoot: Bool { uid == 0 }

    /// The daemon itself (used for jobs restored from the store).
    static var current: Peer {
        Peer(pid: getpid(), uid: getuid(), gid: getgid(), groups: supplementaryGroups(pid: getpid()) ?? [])
    }

    static func of(ucred c: UCred) -> Peer {
        // /proc, else the user database when /proc hides the peer (ProtectProc=invisible).
        Peer(pid: c.pid, uid: c.uid, gid: c.gid, groups: PeerCredentials.supplementaryGroups(pid: c.pid, uid: c.uid, gid: c.gid))
    }

    /// The `Groups:` line of /proc/PID/status: the groups of the connecting
    /// process itself, not of its user's entry in /etc/group.
    static func supplementaryGroups(pid: Int32) -> [UInt32]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Groups:") {
            return line.dropFirst(7).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
        }
        return nil
    }
}
