#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a connected Unix socket, as the kernel recorded it at
/// connect(2) time (SO_PEERCRED), with the peer's supplementary groups.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public let pid: pid_t
    public let uid: uid_t
    public let gid: gid_t
    /// Supplementary groups (without `gid` unless the peer also holds it as one).
    public let groups: [gid_t]

    public init(pid: pid_t, uid: uid_t, gid: gid_t, groups: [gid_t]) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public let operation: String
        public let errno: Int32
        public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
    }

    /// Reads the peer's credentials from a connected AF_UNIX socket.
    ///
    /// Supplementary groups come from SO_PEERGROUPS (Linux ≥ 4.13: recorded at connect,
    /// so a peer that exits or changes groups can't race the check); older kernels fall
    /// back to /proc/<pid>/status, then to getgrouplist(3) for the uid's user.
    public static func of(fd: Int32) throws -> PeerCredentials {
        var cred = UCred()
        var len = socklen_t(MemoryLayout<UCred>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 else {
            throw Error(operation: "getsockopt(SO_PEERCRED)", errno: errno)
        }
        let groups = peerGroups(fd: fd) ?? procGroups(pid: cred.pid) ?? userGroups(uid: cred.uid, gid: cred.gid)
        return PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid, groups: groups)
    }

    /// True when `group` is the peer's primary or one of its supplementary groups.
    public func isMember(of group: gid_t) -> Bool {
        gid == group || groups.contains(group)
    }

    public var description: String {
        "pid \(pid) uid \(uid) gid \(gid)" + (groups.isEmpty ? "" : " groups \(groups.map(String.init).joined(separator: ","))")
    }

    /// A peer's supplementary groups when only its pid, uid and gid are at hand (a server
    /// that read SO_PEERCRED itself): /proc/<pid>/status, else — when /proc hides other
    /// users' processes (ProtectProc=invisible) — the groups the user database assigns.
    public static func supplementaryGroups(pid: pid_t, uid: uid_t, gid: gid_t) -> [gid_t] {
        procGroups(pid: pid) ?? userGroups(uid: uid, gid: gid)
    }

    // MARK: - Where supplementary groups come from

    /// `struct ucred` from <sys/socket.h>; Glibc's Swift overlay hides it behind _GNU_SOURCE.
    struct UCred {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
    }

    static let soPeerGroups: Int32 = 59   // <asm-generic/socket.h>; not every libc exports it

    static func peerGroups(fd: Int32) -> [gid_t]? {
        var capacity = 64
        while capacity <= 65_536 {
            var buffer = [gid_t](repeating: 0, count: capacity)
            var len = socklen_t(capacity * MemoryLayout<gid_t>.size)
            let r = buffer.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, soPeerGroups, $0.baseAddress, &len) }
            if r == 0 { return Array(buffer.prefix(Int(len) / MemoryLayout<gid_t>.size)) }
            guard errno == ERANGE else { return nil }   // ENOPROTOOPT on old kernels
            capacity = max(capacity * 2, Int(len) / MemoryLayout<gid_t>.size)
        }
        return nil
    }

    /// The `Groups:` line of /proc/<pid>/status (hidden under ProtectProc=invisible).
    static func procGroups(pid: pid_t) -> [gid_t]? {
        guard pid > 0, let lines = ProcFile.lines("/proc/\(pid)/status"),
              let groups = lines.first(where: { $0.hasPrefix("Groups:") }) else { return nil }
        return groups.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { gid_t($0) }
    }

    /// The groups /etc/group (NSS) assigns to the uid's user: what the peer would have
    /// after a fresh login, the last resort.
    static func userGroups(uid: uid_t, gid: gid_t) -> [gid_t] {
        guard let name = NameLookup.userName(uid) else { return [] }
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(name, gid, &groups, &n) >= 0 { return Array(groups.prefix(Int(n))) }
            if n <= count { return [] }
            count = n
        }
    }
}

/// getpwuid_r / getgrgid_r / getgrnam_r without the buffer dance at every call site.
enum NameLookup {
    static func userName(_ uid: uid_t) -> String? {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: pwd.pw_name)
    }

    static func groupName(_ gid: gid_t) -> String? {
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrgid_r(gid, &grp, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: grp.gr_name)
    }

    static func groupID(_ name: String) -> gid_t? {
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &grp, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return grp.gr_gid
    }

    static func describeUser(_ uid: uid_t) -> String {
        userName(uid).map { "uid \(uid) (\($0))" } ?? "uid \(uid)"
    }

    static func describeGroup(_ gid: gid_t) -> String {
        groupName(gid).map { "group \($0) (gid \(gid))" } ?? "gid \(gid)"
    }
}
