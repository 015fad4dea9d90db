// ps, models, load, unload.
import ArgumentParser
import Foundation
import ReelProtocol

struct PS: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resident models: size, last use, keep-alive expiry, jobs using them (model.ps).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try guarded {
            let r = try global.call("model.ps")
            if global.json { return Printer.json(r) }
            Printer.table(["NAME", "PLUGIN", "SIZE", "IN USE", "LAST USED", "UNLOADS"], (r["models"]?.arrayValue ?? []).map { m in
                [m["name"]?.stringValue ?? "", m["plugin"]?.stringValue ?? "", Printer.bytes(m["bytes"]),
                 "\(m["in_use"]?.intValue ?? 0)", Printer.ago(m["last_used"]),
                 (m["in_use"]?.intValue ?? 0) > 0 ? "after use" : Printer.until(m["expires_at"])]
            })
            print("memory: \(Printer.bytes(r["used_bytes"])) of \(Printer.bytes(r["budget_bytes"]))")
        }
    }
}

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Models in the model directories (model.list).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try guarded {
            let r = try global.call("model.list")
            if global.json { return Printer.json(r) }
            Printer.table(["NAME", "KIND", "PLUGIN", "ESTIMATE", "RESIDENT", "PATH"], (r["models"]?.arrayValue ?? []).map { m in
                [m["name"]?.stringValue ?? "", m["kind"]?.stringValue ?? "", m["plugin"]?.stringValue ?? "-",
                 Printer.bytes(m["estimate_bytes"]), m["resident"]?.boolValue == true ? "yes" : "no", m["path"]?.stringValue ?? ""]
            })
        }
    }
}

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load a model now and keep it resident (model.load).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Model name or directory.") var model: String
    @Option(name: .customLong("keep-alive"), help: "How long to keep it after use: 5m, 1h, 0, -1 (forever).") var keepAlive: String?

    func run() throws {
        try guarded {
            var p: JSONObject = ["model": .string(absoluteIfPath(model))]
            if let keepAlive { p["keep_alive"] = keepAliveJSON(keepAlive) }
            let r = try global.call("model.load", .object(p))
            if global.json { return Printer.json(r) }
            print("\(r["name"]?.stringValue ?? model): \(Printer.bytes(r["bytes"])) resident, unloads \(Printer.until(r["expires_at"]))")
        }
    }
}

struct Unload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Unload a resident model (model.unload).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Model name or directory.") var model: String

    func run() throws {
        try guarded {
            let r = try global.call("model.unload", ["model": .string(absoluteIfPath(model))])
            if global.json { return Printer.json(r) }
            print(r["unloaded"]?.boolValue == true ? "unloaded \(model)" : "\(model) was not resident")
        }
    }
}

func absoluteIfPath(_ s: String) -> String {
    guard s.contains("/"), !s.hasPrefix("/") else { return s }
    return FileManager.default.currentDirectoryPath + "/" + s
}

func keepAliveJSON(_ s: String) -> JSON {
    if let i = Int64(s) { return .int(i) }
    return .string(s)
}
