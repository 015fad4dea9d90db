// Small file-system helpers (the plugin avoids Foundation's file APIs on hot paths).
#if canImport(Glibc)
import Glibc
#endif

/// The canonical path (symlinks resolved), or nil when it does not exist.
func realPath(_ path: String) -> String? {
    guard let r = realpath(path, nil) else { return nil }
    defer { free(r) }
    return String(cString: r)
}

/// The size of a file in bytes, or nil when it cannot be stat'ed.
func fileSize(_ path: String) -> UInt64? {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_size) : nil
}

/// The directory part and the last component of a path.
func splitPath(_ path: String) -> (directory: String, name: String) {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    guard let slash = p.lastIndex(of: "/") else { return (".", p) }
    let dir = String(p[..<slash])
    return (dir.isEmpty ? "/" : dir, String(p[p.index(after: slash)...]))
}

/// The model directories beside `directory` (its parent's entries), sorted by name.
func siblingDirectories(of directory: String) -> [String] {
    let parent = splitPath(directory).directory
    guard let d = opendir(parent) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if !name.hasPrefix(".") { names.append(name) }
    }
    return names.sorted().map { parent + "/" + $0 }
}
