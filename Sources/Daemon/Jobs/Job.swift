// One job: what was asked, by whom, where it is, and how it ended. Mutated
// only under JobManager's lock.
import Foundation
import ReelProtocol

final class Job: @unchecked Sendable {
    let id: String
    let method: String
    let plugin: String
    let model: ModelRef?
    let params: JSON
    let keepAlive: Double?
    let peer: Peer
    let createdAt: Double

    var state: JobState = .queued
    var phase = "queued"
    var step: Int64 = 0
    var total: Int64 = 0
    var startedAt: Double?
    var finishedAt: Double?
    var result: JSON?
    var error: RPCError?
    var outputs: [JSON] = []
    var position: Int?

    /// Set by job.cancel; the plugin sees it at its next check (is_cancelled).
    var cancelRequested = false
    /// Set by a drain (SIGTERM): the job ends `interrupted`, not `cancelled`.
    var interruptRequested = false

    // ETA bookkeeping for the current phase.
    var phaseStartedAt = 0.0
    var phaseStartStep: Int64 = 0
    var lastProgressSent = 0.0
    var lastPersisted = 0.0

    init(id: String, method: String, plugin: String, model: ModelRef?, params: JSON, keepAlive: Double?,
         peer: Peer, createdAt: Double = now()) {
        self.id = id
        self.method = method
        self.plugin = plugin
        self.model = model
        self.params = params
        self.keepAlive = keepAlive
        self.peer = peer
        self.createdAt = createdAt
    }

    var fraction: Double { total > 0 ? min(1, max(0, Double(step) / Double(total))) : 0 }

    /// Seconds left in the current phase, from the rate of its steps so far.
    var eta: Double? {
        guard total > 0, step > phaseStartStep, state == .running || state == .loading else { return nil }
        let rate = (now() - phaseStartedAt) / Double(step - phaseStartStep)
        return max(0, rate * Double(total - step))
    }

    var progressJSON: JSON {
        ["phase": .string(phase), "step": .int(step), "total": .int(total), "fraction": .double(fraction),
         "eta_seconds": eta.map { .double($0) } ?? .null]
    }

    var json: JSON {
        [
            "id": .string(id), "method": .string(method), "plugin": .string(plugin),
            "model": model.map { .string($0.name) } ?? .null,
            "params": params, "state": .string(state.rawValue),
            "position": position.map { .int(Int64($0)) } ?? .null,
            "progress": progressJSON,
            "created_at": .double(createdAt),
            "started_at": startedAt.map { .double($0) } ?? .null,
            "finished_at": finishedAt.map { .double($0) } ?? .null,
            "result": result ?? .null,
            "outputs": .array(outputs),
            "error": error?.json ?? .null,
            "uid": .int(Int64(peer.uid)),
        ]
    }

    func visible(to p: Peer) -> Bool { p.isRoot || p.uid == peer.uid }

    static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        let n = g.next() as UInt64
        return "j" + String(n, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
