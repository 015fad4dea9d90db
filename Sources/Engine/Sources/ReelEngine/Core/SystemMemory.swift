import Foundation

// How much more memory this process can take before the kernel refuses it: what a job checks its working
// memory against before allocating, since an allocation the engine cannot get ends the process (and with it
// the daemon and every other job).
extension Engine {
    /// Bytes this process can still allocate: the system's MemAvailable, capped by the headroom of every cgroup
    /// above the process (memory.max − memory.current, e.g. a systemd unit's MemoryMax=), plus what the engine's
    /// allocator holds freed for reuse. nil where /proc/meminfo cannot be read.
    public static var availableBytes: Int? {
        guard let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let available = SystemMemory.field("MemAvailable", in: meminfo) else { return nil }
        let cgroup = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)).flatMap { SystemMemory.cgroupHeadroom($0) }
        return Swift.min(available, cgroup ?? .max) + cachedBytes
    }
}

enum SystemMemory {
    /// A "Name:   123 kB" line of /proc/meminfo, in bytes.
    static func field(_ name: String, in meminfo: String) -> Int? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix(name + ":") {
            let parts = line.dropFirst(name.count + 1).split(separator: " ")
            guard let value = parts.first.flatMap({ Int($0) }) else { return nil }
            return parts.dropFirst().first == "kB" ? value * 1024 : value
        }
        return nil
    }

    /// The smallest memory.max − memory.current from the process's cgroup (v2, "0::/path") up to the root;
    /// nil when no level sets a limit (or cgroup v2 is not mounted at `root`).
    static func cgroupHeadroom(_ selfCgroup: String, root: String = "/sys/fs/cgroup") -> Int? {
        guard let line = selfCgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        var levels = [root], dir = root                  // the root, then each level down to the process's own
        for part in line.dropFirst(3).split(separator: "/") {
            dir += "/" + part
            levels.append(dir)
        }
        return levels.compactMap { dir -> Int? in
            guard let max = read(dir + "/memory.max").flatMap(Int.init),
                  let current = read(dir + "/memory.current").flatMap(Int.init) else { return nil }   // "max": no limit
            return Swift.max(0, max - current)
        }.min()
    }

    private static func read(_ file: String) -> String? {
        (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
