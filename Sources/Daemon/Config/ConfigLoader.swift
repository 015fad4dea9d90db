// Reads reeld.toml over the defaults, then applies command-line overrides.
import Foundation
import Logging
import TOMLKit

enum ConfigLoader {
    static let keys = ["socket", "plugin_dirs", "model_dirs", "state_dir", "memory_budget", "keep_alive",
                       "queue_size", "max_message_bytes", "exit_on_idle", "log_level"]

    /// Loads `path` (a missing file is fine unless it was named explicitly).
    static func load(path: String, explicit: Bool, over base: Config) throws -> Config {
        guard FileManager.default.fileExists(atPath: path) else {
            if explicit { throw ConfigError(description: "config file \(path) does not exist") }
            return base
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError(description: "cannot read \(path): \(error.localizedDescription)")
        }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw ConfigError(description: "\(path):\(e.source.begin.line):\(e.source.begin.column): \(e.description)")
        }
        var c = base
        c.file = path
        for key in table.keys {
            guard keys.contains(key) else {
                throw ConfigError(description: "\(path): unknown key \"\(key)\" (known: \(keys.joined(separator: ", ")))")
            }
            let v = table[key]!
            func bad(_ expected: String) -> ConfigError { ConfigError(description: "\(path): \(key) must be \(expected)") }
            func strings() throws -> [String] {
                guard let a = v.array else { throw bad("an array of strings") }
                return try a.map { guard let s = $0.string else { throw bad("an array of strings") }; return s }
            }
            switch key {
            case "socket": c.socket = try v.string.orThrow(bad("a string"))
            case "plugin_dirs": c.pluginDirs = try strings()
            case "model_dirs": c.modelDirs = try strings()
            case "state_dir": c.stateDir = try v.string.orThrow(bad("a string"))
            case "memory_budget":
                c.memoryBudget = try (v.int.map { UInt64(max($0, 0)) } ?? v.string.flatMap(Units.bytes)).orThrow(bad("a size such as \"16GiB\""))
            case "keep_alive":
                c.keepAlive = try (v.int.map(Double.init) ?? v.double ?? v.string.flatMap(Units.seconds)).orThrow(bad("a duration such as \"5m\""))
            case "queue_size":
                c.queueSize = try v.int.flatMap { $0 > 0 ? $0 : nil }.orThrow(bad("a positive integer"))
            case "max_message_bytes":
                c.maxMessageBytes = try (v.int ?? v.string.flatMap(Units.bytes).map(Int.init)).flatMap { $0 >= 1024 ? $0 : nil }.orThrow(bad("a size of at least 1024 bytes"))
            case "exit_on_idle":
                if let b = v.bool { c.exitOnIdle = b ? 300 : nil } else {
                    c.exitOnIdle = try (v.int.map(Double.init) ?? v.string.flatMap(Units.seconds)).orThrow(bad("false or a duration"))
                }
            case "log_level":
                c.logLevel = try v.string.flatMap(parseLevel).orThrow(bad("one of trace, debug, info, notice, warning, error, critical"))
            default: break
            }
        }
        return c
    }

    static func parseLevel(_ s: String) -> Logger.Level? {
        Logger.Level(rawValue: s.lowercased() == "warn" ? "warning" : s.lowercased())
    }
}

extension Optional {
    func orThrow(_ e: @autoclosure () -> Error) throws -> Wrapped {
        guard let v = self else { throw e() }
        return v
    }
}
