// Builds the C descriptor for a Swift plugin and bridges the C calls to it.
import CReelPlugin
import ReelProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The export helper. In the plugin:
///
///     @_cdecl("reel_plugin_entry")
///     public func reelPluginEntry(_ hostABI: UInt32) -> UnsafeRawPointer? {
///         PluginExport.descriptor(for: MyPlugin(), hostABI: hostABI)
///     }
public enum PluginExport {
    // One plugin per library (each library links its own copy of this module).
    nonisolated(unsafe) static var plugin: ReelPlugin?
    nonisolated(unsafe) static var descriptorPointer: UnsafeMutablePointer<reel_plugin>?
    static let lock = PthreadMutex()

    public static func descriptor(for make: @autoclosure () -> ReelPlugin, hostABI: UInt32) -> UnsafeRawPointer? {
        lock.locked {
            if let d = descriptorPointer { return UnsafeRawPointer(d) }
            let p = make()
            plugin = p
            let d = UnsafeMutablePointer<reel_plugin>.allocate(capacity: 1)
            let stages = UnsafeMutablePointer<reel_stage>.allocate(capacity: max(p.stages.count, 1))
            for (i, s) in p.stages.enumerated() {
                stages[i] = reel_stage(
                    method: cString(s.method), summary: cString(s.summary),
                    params_schema_json: cString(s.paramsSchema.serialized()),
                    model_kinds: s.modelKinds.isEmpty ? nil : cStringArray(s.modelKinds),
                    flags: s.needsModel ? REEL_STAGE_NEEDS_MODEL : 0)
            }
            d.initialize(to: reel_plugin(
                abi_version: REEL_PLUGIN_ABI_VERSION, struct_size: UInt32(MemoryLayout<reel_plugin>.size),
                name: cString(p.name), version: cString(p.version), description: cString(p.description),
                model_kinds: cStringArray(p.modelKinds), stages: UnsafePointer(stages), stage_count: p.stages.count,
                estimate: exportEstimate, load: exportLoad, unload: exportUnload,
                resident_bytes: exportResidentBytes, run: exportRun))
            descriptorPointer = d
            return UnsafeRawPointer(d)
        }
    }

    static func report(_ error: Error, _ host: UnsafePointer<reel_host>?) -> Int32 {
        let e = error as? PluginError ?? .failed(String(describing: error))
        if let host { host.pointee.set_error(host.pointee.ctx, e.description) }
        return Int32(e.status.rawValue)
    }
}

/// Boxes a model so it can cross the ABI as `void *`.
final class ModelBox {
    let model: ReelModel
    init(_ m: ReelModel) { model = m }
}

private func cString(_ s: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(s)!) }

private func cStringArray(_ a: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
    let p = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: a.count + 1)
    for (i, s) in a.enumerated() { p[i] = cString(s) }
    p[a.count] = nil
    return UnsafePointer(p)
}

private let exportEstimate: @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutablePointer<UInt64>?, UnsafePointer<reel_host>?) -> Int32 = { dir, kind, out, host in
    do {
        let bytes = try PluginExport.plugin!.estimate(modelDirectory: String(cString: dir!), kind: String(cString: kind!))
        out?.pointee = bytes
        return Int32(REEL_OK.rawValue)
    } catch { return PluginExport.report(error, host) }
}

private let exportLoad: @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<reel_host>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 = { dir, kind, options, host, out in
    do {
        let opts = try options.map { try JSON.parse(String(cString: $0)) } ?? [:]
        let m = try PluginExport.plugin!.load(modelDirectory: String(cString: dir!), kind: String(cString: kind!),
                                              options: opts, host: PluginHost(raw: host!))
        out?.pointee = Unmanaged.passRetained(ModelBox(m)).toOpaque()
        return Int32(REEL_OK.rawValue)
    } catch { return PluginExport.report(error, host) }
}

private let exportUnload: @convention(c) (UnsafeMutableRawPointer?) -> Void = { handle in
    guard let handle else { return }
    let box = Unmanaged<ModelBox>.fromOpaque(handle).takeRetainedValue()
    box.model.unload()
}

private let exportResidentBytes: @convention(c) (UnsafeMutableRawPointer?) -> UInt64 = { handle in
    guard let handle else { return 0 }
    return Unmanaged<ModelBox>.fromOpaque(handle).takeUnretainedValue().model.residentBytes
}

private let exportRun: @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<reel_host>?) -> Int32 = { method, handle, params, host in
    guard let host else { return Int32(REEL_ERR_FAILED.rawValue) }
    do {
        let p = try JSON.parse(String(cString: params!))
        let model = handle.map { Unmanaged<ModelBox>.fromOpaque($0).takeUnretainedValue().model }
        let result = try PluginExport.plugin!.run(method: String(cString: method!), model: model, params: p, host: PluginHost(raw: host))
        host.pointee.set_result(host.pointee.ctx, result.serialized())
        return Int32(REEL_OK.rawValue)
    } catch { return PluginExport.report(error, host) }
}
