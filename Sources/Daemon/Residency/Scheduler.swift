// Which models are resident, and for how long. One file, like Ollama's
// scheduler:
//  - A model is loaded on first use and stays resident for its keep-alive
//    after its last use (default 5 minutes; per request: 0 = unload when the
//    job ends, negative = pinned until model.unload).
//  - Before loading, the plugin's estimate is checked against the memory
//    budget: larger than the whole budget is an error (model too large);
//    otherwise idle models are evicted least recently used first; models in
//    use and pinned models are never evicted (if they hold the memory, the
//    load fails with "memory busy").
//  - Loading reports its progress as the "load" phase through the plugin.
import Foundation
import Logging
import NIOConcurrencyHelpers
import ReelProtocol

final class Scheduler: @unchecked Sendable {
    final class Resident {
        let model: ModelRef
        let plugin: LoadedPlugin
        let handle: UnsafeMutableRawPointer
        var bytes: UInt64
        let loadedAt: Double
        var lastUsed: Double
        var keepAlive: Double
        var inUse = 0
        init(model: ModelRef, plugin: LoadedPlugin, handle: UnsafeMutableRawPointer, bytes: UInt64, keepAlive: Double) {
            self.model = model
            self.plugin = plugin
            self.handle = handle
            self.bytes = bytes
            self.keepAlive = keepAlive
            loadedAt = now()
            lastUsed = loadedAt
        }
        var pinned: Bool { keepAlive < 0 }
        /// Unix time the keep-alive runs out; nil while in use or pinned.
        var expiresAt: Double? { inUse > 0 || pinned ? nil : lastUsed + keepAlive }
    }

    /// A model held by a job; give it back with `release`.
    struct Lease {
        let resident: Resident
        var handle: UnsafeMutableRawPointer { resident.handle }
    }

    private let lock = NIOLock()
    private var residents: [String: Resident] = [:]      // by model path
    private var loading: [String: UInt64] = [:]          // path → reserved estimate
    private let loaded = NSCondition()                   // signalled when a load finishes
    private var _budget: UInt64
    private var _defaultKeepAlive: Double
    var budget: UInt64 { lock.withLock { _budget } }
    var defaultKeepAlive: Double {
        get { lock.withLock { _defaultKeepAlive } }
        set { lock.withLock { _defaultKeepAlive = newValue } }
    }
    private let logger: Logger
    /// Called after any change (the status line, ps watchers).
    var onChange: () -> Void = {}

    init(budget: UInt64, defaultKeepAlive: Double, logger: Logger) {
        self._budget = budget
        self._defaultKeepAlive = defaultKeepAlive
        self.logger = logger
    }

    // MARK: acquire / release

    func acquire(_ model: ModelRef, plugin: LoadedPlugin, options: JSON = [:], host: HostContext) -> Result<Lease, RPCError> {
        enum Next { case resident(Lease), wait, load }
        while true {
            let next: Next = lock.withLock {
                if let r = residents[model.path] {
                    r.inUse += 1
                    r.lastUsed = now()
                    return .resident(Lease(resident: r))
                }
                return loading[model.path] != nil ? .wait : .load
            }
            switch next {
            case .resident(let lease):
                onChange()
                return .success(lease)
            case .wait: // another thread is loading this model: wait for it, then take it
                loaded.lock(); _ = loaded.wait(until: Date().addingTimeInterval(0.05)); loaded.unlock()
            case .load:
                if let result = load(model, plugin: plugin, options: options, host: host) { return result }
                // nil: lost a race with another loader; look again
            }
        }
    }

    /// Loads after checking the budget; nil if another thread started loading it first.
    private func load(_ model: ModelRef, plugin: LoadedPlugin, options: JSON, host: HostContext) -> Result<Lease, RPCError>? {
        let estimate: UInt64
        switch plugin.estimate(dir: model.path, kind: model.kind, host: host) {
        case .failure(let e): return .failure(e)
        case .success(let b): estimate = b
        }
        var victims: [Resident] = []
        let reserved: Result<Void, RPCError>? = lock.withLock {
            if estimate > _budget {
                return .failure(RPCError(.modelTooLarge,
                    "model \(model.name) needs about \(Units.formatBytes(estimate)), more than the whole memory budget of \(Units.formatBytes(_budget))",
                    data: ["model": .string(model.name), "estimate_bytes": .int(Int64(estimate)), "budget_bytes": .int(Int64(_budget))]))
            }
            if loading[model.path] != nil || residents[model.path] != nil { return nil }
            var used = usedLocked()
            let idle = residents.values.filter { $0.inUse == 0 && !$0.pinned }.sorted { $0.lastUsed < $1.lastUsed }
            var i = 0
            while used + estimate > _budget && i < idle.count {
                victims.append(idle[i])
                used -= idle[i].bytes
                i += 1
            }
            if used + estimate > _budget {
                victims = []
                return .failure(RPCError(.memoryBusy,
                    "model \(model.name) needs about \(Units.formatBytes(estimate)) but models in use or pinned hold \(Units.formatBytes(usedLocked())) of the \(Units.formatBytes(_budget)) budget",
                    data: ["model": .string(model.name), "estimate_bytes": .int(Int64(estimate)), "budget_bytes": .int(Int64(_budget)),
                           "used_bytes": .int(Int64(usedLocked()))]))
            }
            for v in victims { residents[v.model.path] = nil }
            loading[model.path] = estimate
            return .success(())
        }
        switch reserved {
        case nil: return nil
        case .failure(let e)?: return .failure(e)
        case .success?: break
        }
        for v in victims {
            logger.info("evicting \(v.model.name) (idle, least recently used) to make room for \(model.name)")
            v.plugin.unload(v.handle)
        }
        logger.info("loading \(model.name) (\(model.kind)) with plugin \(plugin.name), estimate \(Units.formatBytes(estimate))")
        let result = plugin.load(dir: model.path, kind: model.kind, options: options, host: host)
        let lease: Result<Lease, RPCError> = lock.withLock {
            loading[model.path] = nil
            switch result {
            case .failure(let e): return .failure(e)
            case .success(let handle):
                let r = Resident(model: model, plugin: plugin, handle: handle,
                                 bytes: max(plugin.residentBytes(handle), 0), keepAlive: _defaultKeepAlive)
                r.inUse = 1
                residents[model.path] = r
                return .success(Lease(resident: r))
            }
        }
        loaded.lock(); loaded.broadcast(); loaded.unlock()
        if case .success(let l) = lease {
            logger.info("loaded \(model.name): \(Units.formatBytes(l.resident.bytes)) resident")
        }
        onChange()
        return lease
    }

    /// Gives a model back. `keepAlive` (seconds) replaces the model's keep-alive
    /// (nil = the default); 0 unloads it now unless another job uses it.
    func release(_ lease: Lease, keepAlive: Double?) {
        let r = lease.resident
        let unloadNow: Bool = lock.withLock {
            r.inUse -= 1
            r.lastUsed = now()
            r.keepAlive = keepAlive ?? _defaultKeepAlive
            r.bytes = r.plugin.residentBytes(r.handle)
            if r.inUse == 0 && r.keepAlive == 0 && residents[r.model.path] === r {
                residents[r.model.path] = nil
                return true
            }
            return false
        }
        if unloadNow {
            logger.info("unloading \(r.model.name) (keep_alive 0)")
            r.plugin.unload(r.handle)
        }
        onChange()
    }

    // MARK: explicit unload, expiry, shutdown

    enum UnloadOutcome { case unloaded, notResident, busy }

    func unload(path: String) -> UnloadOutcome {
        let r: Resident? = lock.withLock {
            guard let r = residents[path] else { return nil }
            if r.inUse > 0 { return r }
            residents[path] = nil
            return r
        }
        guard let r else { return .notResident }
        if r.inUse > 0 { return .busy }
        logger.info("unloading \(r.model.name) (requested)")
        r.plugin.unload(r.handle)
        onChange()
        return .unloaded
    }

    /// Unloads idle models whose keep-alive ran out. Called by a timer.
    func sweep(at t: Double = now()) {
        let expired: [Resident] = lock.withLock {
            let e = residents.values.filter { ($0.expiresAt ?? .infinity) <= t }
            for r in e { residents[r.model.path] = nil }
            return e
        }
        for r in expired {
            logger.info("unloading \(r.model.name) (keep-alive of \(formatSeconds(r.keepAlive)) expired)")
            r.plugin.unload(r.handle)
        }
        if !expired.isEmpty { onChange() }
    }

    /// A new budget (SIGHUP): idle models are evicted LRU until the rest fit.
    func setBudget(_ b: UInt64) {
        let victims: [Resident] = lock.withLock {
            _budget = b
            var used = usedLocked()
            var v: [Resident] = []
            for r in residents.values.filter({ $0.inUse == 0 }).sorted(by: { $0.lastUsed < $1.lastUsed }) where used > b {
                residents[r.model.path] = nil
                used -= r.bytes
                v.append(r)
            }
            return v
        }
        for r in victims {
            logger.info("unloading \(r.model.name) to fit the new budget of \(Units.formatBytes(b))")
            r.plugin.unload(r.handle)
        }
    }

    /// Unloads idle models whose plugin is no longer served (after a rescan).
    func dropModels(notServedBy plugins: [LoadedPlugin]) {
        let keep = Set(plugins.map { ObjectIdentifier($0) })
        let gone: [Resident] = lock.withLock {
            let g = residents.values.filter { !keep.contains(ObjectIdentifier($0.plugin)) && $0.inUse == 0 }
            for r in g { residents[r.model.path] = nil }
            return g
        }
        for r in gone { r.plugin.unload(r.handle) }
    }

    func unloadAll() {
        let all: [Resident] = lock.withLock {
            let a = Array(residents.values)
            residents = [:]
            return a
        }
        for r in all {
            logger.info("unloading \(r.model.name) (shutdown)")
            r.plugin.unload(r.handle)
        }
    }

    // MARK: views

    struct Snapshot {
        var model: ModelRef
        var plugin: String
        var bytes: UInt64
        var loadedAt: Double
        var lastUsed: Double
        var expiresAt: Double?
        var keepAlive: Double
        var inUse: Int

        var json: JSON {
            [
                "name": .string(model.name), "path": .string(model.path), "plugin": .string(plugin), "kind": .string(model.kind),
                "bytes": .int(Int64(bytes)), "loaded_at": .double(loadedAt), "last_used": .double(lastUsed),
                "expires_at": expiresAt.map { .double($0) } ?? .null,
                "keep_alive_seconds": .double(keepAlive < 0 ? -1 : keepAlive), "in_use": .int(Int64(inUse)),
            ]
        }
    }

    func snapshot() -> [Snapshot] {
        lock.withLock {
            residents.values.sorted { $0.lastUsed > $1.lastUsed }.map {
                Snapshot(model: $0.model, plugin: $0.plugin.name, bytes: $0.bytes, loadedAt: $0.loadedAt, lastUsed: $0.lastUsed,
                         expiresAt: $0.expiresAt, keepAlive: $0.keepAlive, inUse: $0.inUse)
            }
        }
    }

    var usedBytes: UInt64 { lock.withLock { usedLocked() } }
    func isResident(_ path: String) -> Bool { lock.withLock { residents[path] != nil } }
    var isEmpty: Bool { lock.withLock { residents.isEmpty && loading.isEmpty } }

    private func usedLocked() -> UInt64 {
        residents.values.reduce(0) { $0 + $1.bytes } + loading.values.reduce(0, +)
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func formatSeconds(_ s: Double) -> String {
    if s < 0 { return "forever" }
    if s >= 3600 && s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600))h" }
    if s >= 60 && s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60))m" }
    return s.rounded() == s ? "\(Int(s))s" : String(format: "%.1fs", s)
}
