// reeld's settings: defaults, then reeld.toml, then command-line flags.
import Foundation
import Logging
import ReelProtocol

struct Config: Equatable {
    var socket: String
    var pluginDirs: [String]
    var modelDirs: [String]
    var stateDir: String
    var memoryBudget: UInt64
    var keepAlive: Double            // seconds; negative = pinned
    var queueSize: Int
    var maxMessageBytes: Int
    var exitOnIdle: Double?          // seconds idle (no connection, no job, no model) before exiting; nil = never
    var logLevel: Logger.Level
    /// The file the settings came from (nil = defaults only).
    var file: String?
    /// --plugin-dir/--model-dir given: they replace the lists instead of adding.
    var pluginDirsFromFlags = false
    var modelDirsFromFlags = false

    /// Defaults for a system daemon (root) or a per-user one.
    static func defaults(environment env: [String: String], system: Bool) -> Config {
        let home = env["HOME"] ?? "/root"
        let stateDir = system ? "/var/lib/reel" : (env["XDG_STATE_HOME"].map { $0 + "/reel" } ?? home + "/.local/state/reel")
        let dataHome = env["XDG_DATA_HOME"] ?? home + "/.local/share"
        return Config(
            socket: SocketPath.resolve(environment: env),
            pluginDirs: system ? ["/usr/local/lib/reel/plugins", "/usr/lib/reel/plugins"]
                               : [dataHome + "/reel/plugins", "/usr/local/lib/reel/plugins", "/usr/lib/reel/plugins"],
            modelDirs: system ? ["/var/lib/reel/models", "/usr/local/share/reel/models", "/usr/share/reel/models"]
                              : [dataHome + "/reel/models", "/usr/local/share/reel/models", "/usr/share/reel/models"],
            stateDir: stateDir,
            memoryBudget: defaultBudget(),
            keepAlive: 300,
            queueSize: 64,
            maxMessageBytes: 16 << 20,
            exitOnIdle: nil,
            logLevel: .info,
            file: nil)
    }

    /// 75% of physical memory: leaves room for the OS and the daemon itself.
    static func defaultBudget() -> UInt64 {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? UInt64(pages) * UInt64(size) / 4 * 3 : 8 << 30
    }

    /// `--config`, else `$XDG_CONFIG_HOME/reel/reeld.toml` (user), else `/etc/reel/reeld.toml` (system).
    static func defaultFile(environment env: [String: String], system: Bool) -> String {
        if system { return "/etc/reel/reeld.toml" }
        let base = env["XDG_CONFIG_HOME"] ?? (env["HOME"] ?? "/root") + "/.config"
        return base + "/reel/reeld.toml"
    }
}

struct ConfigError: Error, CustomStringConvertible {
    var description: String
}
