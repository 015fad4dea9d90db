// What a service's own view of the file system hides from its clients. systemd's sandbox gives reeld a
// different view from the users it serves: PrivateTmp=yes mounts a private directory over /tmp and
// /var/tmp, ProtectSystem=strict makes everything read-only but ReadWritePaths=, ProtectHome=yes empties
// the home directories. A path a client may write can therefore be read-only, invisible or private to
// reeld; the daemon checks its own reach with this before it accepts a job, so a job does not run for
// minutes and then fail to write, or "succeed" into a /tmp nobody else sees.
#if canImport(Glibc)
import Glibc
#endif

public enum ServiceSandbox {
    /// Mount points of this process whose contents come from a systemd private directory
    /// (`…/systemd-private-<boot>-<unit>-<random>/tmp`, PrivateTmp=), read from /proc/self/mountinfo.
    public static func privateMounts(mountinfo: String) -> [String] {
        privateMounts(lines: mountinfo.split(separator: "\n").map(String.init))
    }

    /// This process's private mounts (empty when /proc is unreadable).
    public static func privateMounts() -> [String] {
        privateMounts(lines: ProcFile.lines("/proc/self/mountinfo") ?? [])
    }

    static func privateMounts(lines: [String]) -> [String] {
        lines.compactMap { line in
            // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw": field 4 is the mounted
            // directory's path inside its file system, field 5 the mount point (octal escapes for spaces).
            let f = line.split(separator: " ", omittingEmptySubsequences: false)
            guard f.count > 5, f[3].contains("/systemd-private-") else { return nil }
            return unescape(String(f[4]))
        }
    }

    /// Whether process `pid` sees the file system through this process's mount namespace: then a private
    /// mount of ours is its too (a client started inside the same sandbox, or reeld not sandboxed at all
    /// inside a namespace that is). nil when /proc does not say (another user's process under
    /// ProtectProc=invisible, or a process that has gone).
    public static func sharesMountNamespace(pid: Int32) -> Bool? {
        guard let theirs = namespace("/proc/\(pid)/ns/mnt"), let ours = namespace("/proc/self/ns/mnt") else { return nil }
        return theirs == ours
    }

    private static func namespace(_ link: String) -> String? {
        var buf = [CChar](repeating: 0, count: 128)
        let n = readlink(link, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The private mount that holds `path` (an absolute, resolved path), if any.
    public static func privateMount(holding path: String, among mounts: [String]) -> String? {
        mounts.filter { path == $0 || path.hasPrefix($0 == "/" ? "/" : $0 + "/") }.max { $0.count < $1.count }
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescape(_ s: String) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
