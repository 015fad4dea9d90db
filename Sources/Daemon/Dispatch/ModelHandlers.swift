// model.list, model.load, model.unload, model.ps.
import Foundation
import ReelProtocol

extension Daemon {
    func registerModelHandlers() {
        dispatcher.register("model.list") { [unowned self] _, reply in
            let models = ModelCatalog.scan(directories: config.modelDirs)
            reply(.success(["models": .array(models.map { m in
                let p = plugin(forKind: m.kind)
                var estimate: JSON = .null
                if let p, case .success(let b) = p.estimate(dir: m.path, kind: m.kind, host: HostContext(logger: logger, peer: .current)) {
                    estimate = .int(Int64(b))
                }
                return ["name": .string(m.name), "path": .string(m.path), "kind": .string(m.kind),
                        "plugin": p.map { .string($0.name) } ?? .null, "estimate_bytes": estimate,
                        "resident": .bool(scheduler.isResident(m.path))]
            })]))
        }

        dispatcher.register("model.load") { [unowned self] call, reply in
            let keepAlive: Double?
            switch parseKeepAlive(call.params["keep_alive"], field: "/keep_alive") {
            case .failure(let e): reply(.failure(e)); return
            case .success(let k): keepAlive = k
            }
            let model: ModelRef
            switch resolveModel(call.params["model"]!.stringValue!, peer: call.peer, field: "/model") {
            case .failure(let e): reply(.failure(e)); return
            case .success(let m): model = m
            }
            guard let plugin = plugin(forKind: model.kind) else {
                reply(.failure(RPCError(.modelNotFound, "no plugin loads models of kind \(model.kind) (\(model.name))"))); return
            }
            // Loading takes a while: off the event loop.
            DispatchQueue.global().async { [self] in
                var log = logger
                log[metadataKey: "model"] = "\(model.name)"
                let host = HostContext(logger: log, peer: call.peer)
                switch scheduler.acquire(model, plugin: plugin, host: host) {
                case .failure(let e): reply(.failure(e))
                case .success(let lease):
                    scheduler.release(lease, keepAlive: keepAlive)
                    if let s = scheduler.snapshot().first(where: { $0.model.path == model.path }) {
                        reply(.success(s.json))
                    } else {
                        reply(.success(["name": .string(model.name), "path": .string(model.path), "plugin": .string(plugin.name),
                                        "kind": .string(model.kind), "bytes": 0, "in_use": 0]))  // keep_alive 0: already gone
                    }
                }
            }
        }

        dispatcher.register("model.unload") { [unowned self] call, reply in
            let name = call.params["model"]!.stringValue!
            let path = name.hasPrefix("/") ? name
                : scheduler.snapshot().first(where: { $0.model.name == name })?.model.path
                ?? ModelCatalog.scan(directories: config.modelDirs).first(where: { $0.name == name })?.path
            guard let path else { reply(.failure(RPCError(.modelNotFound, "model not found: \(name)", data: ["model": .string(name)]))); return }
            DispatchQueue.global().async { [self] in
                switch scheduler.unload(path: path) {
                case .unloaded: reply(.success(["unloaded": true]))
                case .notResident: reply(.success(["unloaded": false]))
                case .busy: reply(.failure(RPCError(.modelBusy, "model \(name) is in use by a running job", data: ["model": .string(name)])))
                }
            }
        }

        dispatcher.register("model.ps") { [unowned self] _, reply in
            reply(.success(["models": .array(scheduler.snapshot().map(\.json)),
                            "budget_bytes": .int(Int64(scheduler.budget)), "used_bytes": .int(Int64(scheduler.usedBytes))]))
        }
    }

    func plugin(forKind kind: String) -> LoadedPlugin? {
        plugins.plugins.first { $0.modelKinds.contains(kind) }
    }

    /// A model by name (in the model directories) or by absolute path (the
    /// caller must be able to read it).
    func resolveModel(_ nameOrPath: String, peer: Peer, field: String) -> Result<ModelRef, RPCError> {
        if nameOrPath.hasPrefix("/") {
            if case .failure(var e) = PathAccess.check(nameOrPath, .read, for: peer) {
                e.data?["field"] = .string(field)
                return .failure(e)
            }
            guard let kind = ModelCatalog.kind(of: nameOrPath) else {
                return .failure(RPCError(.modelNotFound, "\(nameOrPath) is not a model directory (no model_index.json or manifest.json)",
                                         data: ["model": .string(nameOrPath)]))
            }
            return .success(ModelRef(name: (nameOrPath as NSString).lastPathComponent, path: nameOrPath, kind: kind))
        }
        let all = ModelCatalog.scan(directories: config.modelDirs)
        guard let m = all.first(where: { $0.name == nameOrPath }) else {
            return .failure(RPCError(.modelNotFound, "model not found: \(nameOrPath) (known: \(all.map(\.name).joined(separator: ", ")))",
                                     data: ["model": .string(nameOrPath)]))
        }
        return .success(m)
    }

    /// keep_alive: seconds or a duration string; nil when absent.
    func parseKeepAlive(_ v: JSON?, field: String) -> Result<Double?, RPCError> {
        switch v {
        case nil, .null?: return .success(nil)
        case .int(let i)?: return .success(i < 0 ? -1 : Double(i))
        case .double(let d)?: return .success(d < 0 ? -1 : d)
        case .string(let s)?:
            guard let secs = Units.seconds(s) else {
                return .failure(.invalidParams(field: field, reason: "not a duration: \"\(s)\" (use e.g. \"5m\", \"30s\", 0, -1)"))
            }
            return .success(secs < 0 ? -1 : secs)
        default: return .failure(.invalidParams(field: field, reason: "expected seconds or a duration string"))
        }
    }
}
