// One opened plugin library: its descriptor, read into Swift values, and
// typed calls into its functions.
import CReelPlugin
import Foundation
import ReelProtocol

final class LoadedPlugin: @unchecked Sendable {
    let path: String
    let descriptor: UnsafePointer<reel_plugin>
    let name: String
    let version: String
    let summary: String
    let modelKinds: [String]
    let stages: [StageSpec]
    /// dev/inode of the file, so a rescan does not open the same library twice.
    let fileID: FileID

    struct FileID: Hashable { var dev: UInt64; var ino: UInt64 }

    init(path: String, descriptor d: UnsafePointer<reel_plugin>, fileID: FileID) throws {
        self.path = path
        self.descriptor = d
        self.fileID = fileID
        let p = d.pointee
        guard let n = p.name, !String(cString: n).isEmpty else { throw PluginLoadError("the descriptor has no name") }
        name = String(cString: n)
        version = p.version.map { String(cString: $0) } ?? "0"
        summary = p.description.map { String(cString: $0) } ?? ""
        modelKinds = cStrings(p.model_kinds)
        guard p.run != nil else { throw PluginLoadError("the descriptor has no run function") }
        var stages: [StageSpec] = []
        for i in 0..<p.stage_count {
            let s = p.stages[i]
            guard let m = s.method else { throw PluginLoadError("stage \(i) has no method name") }
            let method = String(cString: m)
            guard method.contains("."), !method.hasPrefix("rpc."), !method.hasPrefix("reel."),
                  Methods.byName[method] == nil else {
                throw PluginLoadError("stage \(method): a stage is named <area>.<verb> and may not shadow a built-in method")
            }
            let schemaText = s.params_schema_json.map { String(cString: $0) } ?? "{\"type\":\"object\"}"
            let schema: JSON
            do { schema = try JSON.parse(schemaText) } catch {
                throw PluginLoadError("stage \(method): params schema is not JSON: \(error)")
            }
            guard schema["type"]?.stringValue == "object" else {
                throw PluginLoadError("stage \(method): params schema must be of type object")
            }
            for reserved in Methods.stageEnvelopeParams.map(\.name) where schema["properties"]?[reserved] != nil {
                throw PluginLoadError("stage \(method): params schema uses the reserved name \(reserved)")
            }
            let kinds = cStrings(s.model_kinds)
            let needsModel = s.flags & REEL_STAGE_NEEDS_MODEL != 0
            if needsModel && (p.load == nil || p.unload == nil) {
                throw PluginLoadError("stage \(method) needs a model but the plugin has no load/unload")
            }
            stages.append(StageSpec(method: method, summary: s.summary.map { String(cString: $0) } ?? "",
                                    plugin: name, paramsSchema: schema,
                                    modelKinds: kinds.isEmpty ? modelKinds : kinds, needsModel: needsModel))
        }
        self.stages = stages
    }

    // MARK: calls

    func estimate(dir: String, kind: String, host: HostContext) -> Result<UInt64, RPCError> {
        guard let f = descriptor.pointee.estimate else { return .success(0) }
        var bytes: UInt64 = 0
        let status = host.withHost { f(dir, kind, &bytes, $0) }
        if status != REEL_OK.rawValue { return .failure(host.failure(status: status, what: "estimating \(dir)")) }
        return .success(bytes)
    }

    func load(dir: String, kind: String, options: JSON, host: HostContext) -> Result<UnsafeMutableRawPointer, RPCError> {
        guard let f = descriptor.pointee.load else { return .failure(RPCError(.pluginFailure, "plugin \(name) cannot load models")) }
        var handle: UnsafeMutableRawPointer? = nil
        let status = host.withHost { f(dir, kind, options.serialized(), $0, &handle) }
        if status != REEL_OK.rawValue { return .failure(host.failure(status: status, what: "loading \(dir)")) }
        guard let handle else { return .failure(RPCError(.pluginFailure, "plugin \(name) returned no model handle for \(dir)")) }
        return .success(handle)
    }

    func unload(_ handle: UnsafeMutableRawPointer) {
        descriptor.pointee.unload?(handle)
    }

    func residentBytes(_ handle: UnsafeMutableRawPointer) -> UInt64 {
        descriptor.pointee.resident_bytes?(handle) ?? 0
    }

    /// Runs a stage; the status is returned raw so the runner can tell a
    /// cancellation from a failure.
    func run(method: String, model: UnsafeMutableRawPointer?, params: JSON, host: HostContext) -> Int32 {
        let f = descriptor.pointee.run!
        return host.withHost { f(method, model, params.serialized(), $0) }
    }
}

struct PluginLoadError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

private func cStrings(_ p: UnsafePointer<UnsafePointer<CChar>?>?) -> [String] {
    guard var p else { return [] }
    var out: [String] = []
    while let s = p.pointee {
        out.append(String(cString: s))
        p += 1
        if out.count > 1024 { break } // a missing NULL terminator should not run away
    }
    return out
}
