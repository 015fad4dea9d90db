#if canImport(Glibc)
import Glibc
#endif

/// The outcome of an access check, with a reason fit for the log and the JSON-RPC error.
public struct AccessDecision: Sendable, Equatable, CustomStringConvertible {
    public let isAllowed: Bool
    public let reason: String

    public static func allowed(_ reason: String) -> AccessDecision { AccessDecision(isAllowed: true, reason: reason) }
    public static func refused(_ reason: String) -> AccessDecision { AccessDecision(isAllowed: false, reason: reason) }

    public var description: String { (isAllowed ? "allowed: " : "refused: ") + reason }
}

/// Who may talk to reeld: the daemon's own uid, root, and members of the socket file's
/// group when that group may connect (its mode grants the group write, e.g. 0660 with
/// group `reel`). Everyone else is refused even if the file's mode let them connect.
public struct AccessPolicy: Sendable, Equatable {
    public var daemonUID: uid_t
    /// The socket's group; nil when the group has no access (mode 0600) or is unknown.
    public var socketGroup: gid_t?

    public init(daemonUID: uid_t = getuid(), socketGroup: gid_t?) {
        self.daemonUID = daemonUID
        self.socketGroup = socketGroup
    }

    /// The policy for a socket file at `path`: its group counts when the mode grants the group write.
    public init(socketPath path: String, daemonUID: uid_t = getuid()) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw PeerCredentials.Error(operation: "stat(\(path))", errno: errno)
        }
        self.init(daemonUID: daemonUID, socketGroup: (st.st_mode & S_IWGRP) != 0 ? st.st_gid : nil)
    }

    /// The policy for a listening socket (bound by reeld or passed by systemd): looks up
    /// the path it is bound to and reads that file's group and mode.
    public init(listeningFD fd: Int32, daemonUID: uid_t = getuid()) throws {
        guard let path = Self.boundPath(fd: fd) else {
            self.init(daemonUID: daemonUID, socketGroup: nil)   // unnamed or abstract socket
            return
        }
        try self.init(socketPath: path, daemonUID: daemonUID)
    }

    public func check(_ peer: PeerCredentials) -> AccessDecision {
        if peer.uid == 0 {
            return .allowed("\(NameLookup.describeUser(peer.uid)) is root")
        }
        if peer.uid == daemonUID {
            return .allowed("\(NameLookup.describeUser(peer.uid)) is the daemon's own user")
        }
        if let group = socketGroup, peer.isMember(of: group) {
            return .allowed("\(NameLookup.describeUser(peer.uid)) is a member of the socket's \(NameLookup.describeGroup(group))")
        }
        let groupClause = socketGroup.map { " and not a member of the socket's \(NameLookup.describeGroup($0))" }
            ?? " (the socket grants no group access)"
        return .refused("\(NameLookup.describeUser(peer.uid)) (pid \(peer.pid)) is neither root nor the daemon's \(NameLookup.describeUser(daemonUID))"
                        + groupClause)
    }

    /// The filesystem path a Unix socket is bound to; nil for unnamed and abstract sockets.
    public static func boundPath(fd: Int32) -> String? {
        var addr = sockaddr_un()
        var len = socklen_t(MemoryLayout<sockaddr_un>.size)
        let r = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard r == 0, addr.sun_family == sa_family_t(AF_UNIX) else { return nil }
        let pathLength = Int(len) - MemoryLayout.offset(of: \sockaddr_un.sun_path)!
        guard pathLength > 1 else { return nil }
        return withUnsafeBytes(of: &addr.sun_path) { raw in
            let bytes = raw.prefix(pathLength)
            guard bytes.first != 0 else { return nil }   // abstract namespace
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
