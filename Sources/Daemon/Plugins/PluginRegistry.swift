// Finds plugin libraries in the configured directories and opens them. A file
// that fails to open, lacks `reel_plugin_entry`, declares another ABI version
// or has a malformed descriptor is logged and skipped; the rest are served.
// Libraries are never closed: Swift plugins cannot be safely unloaded, and a
// rescan (SIGHUP) only adds what is new.
import CReelPlugin
import Foundation
import Logging
import NIOConcurrencyHelpers
import ReelProtocol

final class PluginRegistry: @unchecked Sendable {
    struct Skipped { var path: String; var reason: String }

    private let lock = NIOLock()
    private var _plugins: [LoadedPlugin] = []
    private var _skipped: [Skipped] = []
    private var _stages: [String: (LoadedPlugin, StageSpec)] = [:]
    private var opened: [LoadedPlugin.FileID: LoadedPlugin] = [:]
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    var plugins: [LoadedPlugin] { lock.withLock { _plugins } }
    var skipped: [Skipped] { lock.withLock { _skipped } }
    var stages: [StageSpec] { lock.withLock { _plugins.flatMap { p in p.stages.filter { _stages[$0.method]?.0 === p } } } }

    func stage(_ method: String) -> (LoadedPlugin, StageSpec)? { lock.withLock { _stages[method] } }

    func plugin(named name: String) -> LoadedPlugin? { lock.withLock { _plugins.first { $0.name == name } } }

    /// (Re)scans the directories. Plugins already open stay; plugins whose file
    /// is gone are no longer served.
    func scan(directories: [String]) {
        var plugins: [LoadedPlugin] = []
        var skipped: [Skipped] = []
        var stages: [String: (LoadedPlugin, StageSpec)] = [:]
        var names: Set<String> = []
        for dir in directories {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for file in entries.sorted() where file.hasSuffix(".so") || file.contains(".so.") {
                let path = dir + "/" + file
                switch open(path) {
                case .success(let p):
                    if names.contains(p.name) {
                        skipped.append(Skipped(path: path, reason: "another plugin named \(p.name) is already loaded"))
                        logger.warning("skipping plugin \(path): another plugin named \(p.name) is already loaded")
                        continue
                    }
                    names.insert(p.name)
                    plugins.append(p)
                    for s in p.stages {
                        if let other = stages[s.method] {
                            logger.warning("plugin \(p.name): stage \(s.method) is already served by \(other.0.name); ignored")
                        } else {
                            stages[s.method] = (p, s)
                        }
                    }
                    logger.info("plugin \(p.name) \(p.version) from \(path): stages \(p.stages.map(\.method).joined(separator: ", "))")
                case .failure(let reason):
                    skipped.append(Skipped(path: path, reason: reason.description))
                    logger.warning("skipping plugin \(path): \(reason.description)")
                }
            }
        }
        lock.withLock {
            _plugins = plugins
            _skipped = skipped
            _stages = stages
        }
    }

    private func open(_ path: String) -> Result<LoadedPlugin, PluginLoadError> {
        var st = stat()
        guard stat(path, &st) == 0 else { return .failure(PluginLoadError("cannot stat: \(String(cString: strerror(errno)))")) }
        let id = LoadedPlugin.FileID(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        if let p = lock.withLock({ opened[id] }) { return .success(p) }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(PluginLoadError("dlopen failed: \(dlerror().map { String(cString: $0) } ?? "unknown error")"))
        }
        guard let sym = dlsym(handle, REEL_PLUGIN_ENTRY_SYMBOL) else {
            return .failure(PluginLoadError("no \(REEL_PLUGIN_ENTRY_SYMBOL) symbol: not a reel plugin"))
        }
        let entry = unsafeBitCast(sym, to: reel_plugin_entry_fn.self)
        guard let d = entry(REEL_PLUGIN_ABI_VERSION) else {
            return .failure(PluginLoadError("\(REEL_PLUGIN_ENTRY_SYMBOL) returned NULL (the plugin cannot serve ABI \(REEL_PLUGIN_ABI_VERSION))"))
        }
        guard d.pointee.abi_version == REEL_PLUGIN_ABI_VERSION else {
            return .failure(PluginLoadError("built for plugin ABI version \(d.pointee.abi_version); reeld speaks \(REEL_PLUGIN_ABI_VERSION)"))
        }
        guard d.pointee.struct_size >= UInt32(MemoryLayout<reel_plugin>.size) else {
            return .failure(PluginLoadError("descriptor struct_size \(d.pointee.struct_size) is smaller than ABI \(REEL_PLUGIN_ABI_VERSION)'s \(MemoryLayout<reel_plugin>.size)"))
        }
        do {
            let p = try LoadedPlugin(path: path, descriptor: d, fileID: id)
            lock.withLock { opened[id] = p }
            return .success(p)
        } catch let e as PluginLoadError {
            return .failure(e)
        } catch {
            return .failure(PluginLoadError("\(error)"))
        }
    }
}
