// The file access rule: a client can make reeld read or write only where the
// client itself could. Checked with the peer's uid/gid/groups (SO_PEERCRED)
// against the permission bits of the path and every directory above it:
//  - read:  every ancestor directory searchable (x), the file readable (r).
//  - write: every ancestor searchable, the parent directory writable (w+x),
//           and an existing file writable and a regular file.
//  - paths must be absolute; symlinks are resolved and the resolved path is checked.
//  - uid 0 may do anything. ACLs are not consulted (they can only make us
//    refuse something the client could do, never the reverse).
// Then reeld's own reach (`daemonRefusal`): the system service's sandbox can make a path the
// client may use read-only, invisible or private to reeld (ServiceSandbox).
import Foundation
import ReelProtocol
import ReelSystemd

enum AccessMode: String { case read, write }

enum PathAccess {
    static func check(_ path: String, _ mode: AccessMode, for peer: Peer) -> Result<Void, RPCError> {
        func deny(_ why: String) -> Result<Void, RPCError> {
            .failure(RPCError(.accessDenied, "access denied: \(path): \(why)",
                              data: ["path": .string(path), "mode": .string(mode.rawValue), "uid": .int(Int64(peer.uid))]))
        }
        guard path.hasPrefix("/") else { return deny("the path must be absolute") }

        let target: String
        switch mode {
        case .read:
            guard let real = realPath(path) else { return deny("does not exist" + hiddenHint(path, peer)) }
            target = real
        case .write:
            let parent = (path as NSString).deletingLastPathComponent
            guard let realParent = realPath(parent.isEmpty ? "/" : parent) else {
                return deny("the directory \(parent) does not exist" + hiddenHint(path, peer))
            }
            target = realParent + "/" + (path as NSString).lastPathComponent
        }
        // The client's own permission first, then reeld's.
        func reached() -> Result<Void, RPCError> { daemonRefusal(target, mode, for: peer).map(deny) ?? .success(()) }
        if peer.isRoot { return reached() }
        // Every directory above the target must be searchable.
        var dir = ""
        let components = target.split(separator: "/").map(String.init)
        for c in components.dropLast() {
            dir += "/" + c
            guard let st = statPath(dir) else { return deny("cannot stat \(dir)") }
            if !allowed(st, peer, 0o1) { return deny("no search permission on \(dir)") }
        }
        if !allowed(statRoot(), peer, 0o1) { return deny("no search permission on /") }
        switch mode {
        case .read:
            guard let st = statPath(target) else { return deny("does not exist") }
            if !allowed(st, peer, 0o4) { return deny("not readable by uid \(peer.uid)") }
        case .write:
            let parent = dir.isEmpty ? "/" : dir
            guard let pst = statPath(parent) else { return deny("cannot stat \(parent)") }
            if !allowed(pst, peer, 0o3) { return deny("the directory \(parent) is not writable by uid \(peer.uid)") }
            if let st = statPath(target) {
                if (st.st_mode & S_IFMT) != S_IFREG { return deny("exists and is not a regular file") }
                if !allowed(st, peer, 0o2) { return deny("exists and is not writable by uid \(peer.uid)") }
            }
        }
        return reached()
    }

    /// Paths named in params whose schema property says `"x-reel-access": "read"|"write"`
    /// (a string, or an array of strings). Returns the first refusal.
    static func checkParams(_ params: JSON, schema: JSON, for peer: Peer) -> RPCError? {
        guard let props = schema["properties"]?.objectValue else { return nil }
        for (name, prop) in props.pairs {
            guard let m = prop["x-reel-access"]?.stringValue.flatMap(AccessMode.init(rawValue:)) else { continue }
            let paths: [String]
            switch params[name] {
            case .string(let s)?: paths = [s]
            case .array(let a)?: paths = a.compactMap(\.stringValue)
            default: paths = []
            }
            for p in paths {
                if case .failure(var e) = check(p, m, for: peer) {
                    e.data?["field"] = .string("/" + name)
                    return e
                }
            }
        }
        return nil
    }

    /// Mounts private to reeld's mount namespace (systemd's PrivateTmp=): read once, they do not change.
    static let privateMounts = ServiceSandbox.privateMounts()

    /// Why reeld itself cannot do `mode` at the resolved path `target`, or nil. Checked for every client,
    /// root too: the sandbox binds the daemon, whoever asks. A private mount refuses only a client that
    /// does not share reeld's mount namespace (or whose namespace /proc hides).
    static func daemonRefusal(_ target: String, _ mode: AccessMode, for peer: Peer) -> String? {
        if let mount = privateMount(holding: target, for: peer) {
            return mode == .write
                ? "reeld has a private \(mount) (systemd's PrivateTmp=): a file it writes there is not the one you would see; "
                  + "write under /var/lib/reel/outputs or another directory you share with the service"
                : "reeld has a private \(mount) (systemd's PrivateTmp=) and does not see your files there; "
                  + "put the input under /var/lib/reel/outputs or another directory you share with the service"
        }
        let uid = geteuid()
        switch mode {
        case .read:
            if access(target, R_OK) != 0 { return "reeld (uid \(uid)) may not read it: \(String(cString: strerror(errno)))" }
        case .write:
            let dir = (target as NSString).deletingLastPathComponent
            let parent = dir.isEmpty ? "/" : dir
            let existing = statPath(target) != nil
            if access(existing ? target : parent, existing ? W_OK : W_OK | X_OK) != 0 {
                if errno == EROFS {
                    return "\(parent) is read-only to reeld (the system service writes only where its unit's "
                        + "ReadWritePaths= allows, such as /var/lib/reel/outputs; add a directory with `systemctl edit reeld`)"
                }
                return (existing ? "reeld (uid \(uid)) may not overwrite it" : "reeld (uid \(uid)) may not write in \(parent)")
                    + ": \(String(cString: strerror(errno)))"
            }
        }
        return nil
    }

    /// A hint for a path that does not exist to reeld: under a home directory hidden from it (ProtectHome=),
    /// or a private /tmp.
    private static func hiddenHint(_ path: String, _ peer: Peer) -> String {
        if let mount = privateMount(holding: path, for: peer) {
            return " (reeld has a private \(mount), systemd's PrivateTmp=: use /var/lib/reel/outputs or another directory you share with it)"
        }
        for top in ["/home", "/root", "/run/user"] where path.hasPrefix(top + "/") && isHidden(top) {
            return " (reeld does not see \(top): the system service runs with ProtectHome=; use the per-user service, "
                + "or /var/lib/reel/outputs)"
        }
        return ""
    }

    /// The private mount of reeld's that holds `path`, unless `peer` looks through the same one.
    private static func privateMount(holding path: String, for peer: Peer) -> String? {
        guard let mount = ServiceSandbox.privateMount(holding: path, among: privateMounts) else { return nil }
        return ServiceSandbox.sharesMountNamespace(pid: peer.pid) == true ? nil : mount
    }

    /// An empty or unreadable directory: what ProtectHome= leaves of /home, /root and /run/user.
    private static func isHidden(_ dir: String) -> Bool {
        guard let d = opendir(dir) else { return true }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { return false }
        }
        return true
    }

    private static func statPath(_ p: String) -> Foundation.stat? {
        var st = Foundation.stat()
        return stat(p, &st) == 0 ? st : nil
    }

    private static func statRoot() -> Foundation.stat { statPath("/") ?? Foundation.stat() }

    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// `bits` is an rwx triple (4 = r, 2 = w, 1 = x) checked in the class that applies.
    private static func allowed(_ st: Foundation.stat, _ peer: Peer, _ bits: mode_t) -> Bool {
        let mode = st.st_mode
        if st.st_uid == peer.uid { return (mode >> 6) & bits == bits }
        if st.st_gid == peer.gid || peer.groups.contains(st.st_gid) { return (mode >> 3) & bits == bits }
        return mode & bits == bits
    }
}
