// info, plugins, discover, socket-path, call.
import ArgumentParser
import Foundation
import ReelProtocol

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The daemon: version, plugins, resident models, memory, queue (reel.info).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try guarded {
            let i = try global.call("reel.info")
            if global.json { return Printer.json(i) }
            print("reeld \(i["version"]?.stringValue ?? "?") (protocol \(i["protocol_version"]?.stringValue ?? "?"), plugin ABI \(i["abi_version"]?.intValue ?? 0)), pid \(i["pid"]?.intValue ?? 0), up \(Printer.duration(i["uptime_seconds"]?.doubleValue ?? 0))")
            print("socket:  \(i["socket"]?.stringValue ?? "")")
            print("state:   \(i["state_dir"]?.stringValue ?? "")")
            print("memory:  \(Printer.bytes(i["memory_resident_bytes"])) of \(Printer.bytes(i["memory_budget_bytes"])) resident")
            let q = i["queue"]
            print("queue:   \(q?["depth"]?.intValue ?? 0)/\(q?["capacity"]?.intValue ?? 0) waiting, running: \(q?["running"]?.stringValue ?? "none")")
            for p in i["plugins"]?.arrayValue ?? [] {
                let stages = p["stages"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? ""
                print("plugin:  \(p["name"]?.stringValue ?? "") \(p["version"]?.stringValue ?? "") — \(stages)")
            }
            for m in i["resident"]?.arrayValue ?? [] {
                print("model:   \(m["name"]?.stringValue ?? "") \(Printer.bytes(m["bytes"]))")
            }
        }
    }
}

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Loaded plugins and their stages; skipped plugin files and why (plugin.list).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try guarded {
            let r = try global.call("plugin.list")
            if global.json { return Printer.json(r) }
            var rows: [[String]] = []
            for p in r["plugins"]?.arrayValue ?? [] {
                for s in p["stages"]?.arrayValue ?? [] {
                    rows.append([s["method"]?.stringValue ?? "", p["name"]?.stringValue ?? "", p["version"]?.stringValue ?? "",
                                 s["model_kinds"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? "",
                                 s["summary"]?.stringValue ?? ""])
                }
            }
            Printer.table(["STAGE", "PLUGIN", "VERSION", "MODEL KINDS", "SUMMARY"], rows)
            for s in r["skipped"]?.arrayValue ?? [] {
                print("skipped \(s["path"]?.stringValue ?? ""): \(s["reason"]?.stringValue ?? "")")
            }
        }
    }
}

struct Discover: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the OpenRPC document of every method and stage (rpc.discover).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try guarded { Printer.json(try global.call("rpc.discover")) }
    }
}

struct SocketPathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "socket-path", abstract: "Print the socket path in use.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        if global.json { Printer.json(["socket": .string(global.socketPath)]) } else { print(global.socketPath) }
    }
}

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Call any method with JSON params and print the JSON result.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The method, e.g. reel.info.") var method: String
    @Argument(help: "Params as JSON (an object or an array).") var params: String?

    func run() throws {
        try guarded {
            var p: JSON? = nil
            if let params {
                do { p = try JSON.parse(params) } catch { throw ClientFailure(code: .usage, message: "reel: params are not JSON: \(error)") }
            }
            Printer.json(try global.call(method, p))
        }
    }
}
