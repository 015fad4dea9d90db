// The file access rule: a client can make reeld read or write only where the
// client itself could. Checked with the peer's uid/gid/groups (SO_PEERCRED)
// against the permission bits of the path and every directory above it:
//  - read:  every ancestor directory searchable (x), the file readable (r).
//  - write: every ancestor searchable, the parent directory writable (w+x),
//           and an existing file writable and a regular file.
//  - paths must be absolute; symlinks are resolved and the resolved path is checked.
//  - uid 0 may do anything. ACLs are not consulted (they can only make us
//    refuse something the client could do, never the reverse).
import Foundation
import ReelProtocol

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
            guard let real = realPath(path) else { return deny("does not exist") }
            target = real
        case .write:
            let parent = (path as NSString).deletingLastPathComponent
            guard let realParent = realPath(parent.isEmpty ? "/" : parent) else { return deny("the directory \(parent) does not exist") }
            target = realParent + "/" + (path as NSString).lastPathComponent
        }
        if peer.isRoot { return .success(()) }
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
        return .success(())
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
