import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// Socket activation (sd_listen_fds(3)): the sockets systemd opened for this process.
public enum SocketActivation {
    /// The listening Unix stream sockets passed with LISTEN_FDS, in order; empty when the
    /// process was not socket-activated. Passed descriptors that are not listening
    /// AF_UNIX stream sockets (a misconfigured .socket unit) are left out.
    ///
    /// sd_listen_fds(1) clears LISTEN_* from the environment so children don't inherit
    /// them; the answer is therefore computed once and remembered.
    public static func listenFDs() -> [Int32] { activated }

    /// Whether systemd passed at least one usable listening socket.
    public static var isActivated: Bool { !activated.isEmpty }

    /// Descriptors passed with LISTEN_FDS that were rejected, with the reason — for a log line.
    public static func rejectedFDs() -> [(fd: Int32, reason: String)] { rejected }

    private static let inspected: (accepted: [Int32], rejected: [(fd: Int32, reason: String)]) = inspect()
    private static var activated: [Int32] { inspected.accepted }
    private static var rejected: [(fd: Int32, reason: String)] { inspected.rejected }

    private static func inspect() -> (accepted: [Int32], rejected: [(fd: Int32, reason: String)]) {
        let n = sd_listen_fds(1)
        guard n > 0 else { return ([], []) }
        var accepted: [Int32] = []
        var rejected: [(fd: Int32, reason: String)] = []
        for fd in SD_LISTEN_FDS_START..<(SD_LISTEN_FDS_START + n) {
            // type SOCK_STREAM, listening = 1, any path (nil, 0).
            let r = sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0)
            if r > 0 {
                accepted.append(fd)
            } else if r == 0 {
                rejected.append((fd, "not a listening AF_UNIX stream socket"))
            } else {
                rejected.append((fd, String(cString: strerror(-r))))
            }
        }
        return (accepted, rejected)
    }
}
