// The job queue and its runner. A bounded FIFO (full = an explicit error);
// one runner thread takes jobs in order, acquires the model through the
// scheduler (state `loading`), runs the stage (state `running`) and records
// the outcome. Jobs outlive the connection that submitted them.
import Foundation
import Logging
import NIOConcurrencyHelpers
import ReelProtocol

final class JobManager: @unchecked Sendable {
    private let lock = NIOLock()
    /// Held while a job becomes final and its state event is queued, and while
    /// job.wait looks at a job: a waiter never hears "done" before subscribers do.
    private let emitLock = NIOLock()
    private let wake = NSCondition()
    private var queue: [Job] = []
    private var active: [String: Job] = [:]        // queued, loading, running
    private var running: Job?
    private var waiters: [String: [(Job) -> Void]] = [:]
    private(set) var capacity: Int
    private var draining = false
    private var runnerDone = DispatchSemaphore(value: 0)
    private var runnerStarted = false

    let store: JobStore
    let scheduler: Scheduler
    let plugins: PluginRegistry
    let events: EventBus
    let logger: Logger
    var onChange: () -> Void = {}

    init(store: JobStore, scheduler: Scheduler, plugins: PluginRegistry, events: EventBus, capacity: Int, logger: Logger) {
        self.store = store
        self.scheduler = scheduler
        self.plugins = plugins
        self.events = events
        self.capacity = capacity
        self.logger = logger
    }

    func setCapacity(_ n: Int) { lock.withLock { capacity = n } }

    // MARK: startup

    /// Marks interrupted jobs and queues again those that were waiting.
    func recover() throws {
        let (interrupted, queued) = try store.recover()
        if interrupted > 0 { logger.notice("\(interrupted) job(s) were running when reeld stopped; marked interrupted") }
        for j in queued {
            if plugins.stage(j.method) == nil {
                j.state = .failed
                j.finishedAt = now()
                j.error = RPCError(.methodNotFound, "the stage \(j.method) is no longer served by any plugin")
                try? store.update(j)
                continue
            }
            lock.withLock {
                queue.append(j)
                active[j.id] = j
            }
        }
        if !queued.isEmpty { logger.notice("\(queued.count) queued job(s) restored") }
        lock.withLock { renumberLocked() }
    }

    func startRunner() {
        let t = Thread { [self] in runLoop() }
        t.name = "reeld-runner"
        t.stackSize = 8 << 20
        lock.withLock { runnerStarted = true }
        t.start()
    }

    // MARK: requests

    func submit(method: String, plugin: String, model: ModelRef?, params: JSON, keepAlive: Double?, peer: Peer,
                subscribe: Connection?) -> Result<JSON, RPCError> {
        let job = Job(id: Job.newID(), method: method, plugin: plugin, model: model, params: params,
                      keepAlive: keepAlive, peer: peer)
        let admitted: RPCError? = lock.withLock {
            if draining { return RPCError(.shuttingDown, "reeld is shutting down and accepts no new jobs") }
            if queue.count >= capacity {
                return RPCError(.queueFull, "the queue is full (\(capacity) jobs waiting); retry later",
                                data: ["capacity": .int(Int64(capacity))])
            }
            return nil
        }
        if let admitted { return .failure(admitted) }
        do { try store.insert(job) } catch {
            return .failure(RPCError(.internalError, "cannot record the job: \(error)"))
        }
        subscribe?.subscribe(ids: [job.id])
        let full: Bool = lock.withLock {
            if queue.count >= capacity { return true } // lost a race with another submitter
            queue.append(job)
            active[job.id] = job
            job.position = queue.count
            return false
        }
        if full {
            job.state = .failed
            job.error = RPCError(.queueFull, "the queue is full (\(capacity) jobs waiting); retry later")
            job.finishedAt = now()
            try? store.update(job)
            return .failure(job.error!)
        }
        logger.info("job \(job.id) queued: \(method)\(model.map { " on " + $0.name } ?? "") for uid \(peer.uid)",
                    metadata: job.logMetadata)
        let snapshot = lock.withLock { job.json } // as queued, before the runner may take it
        wake.lock(); wake.signal(); wake.unlock()
        onChange()
        return .success(snapshot)
    }

    /// A job by id, from memory or the store; nil if unknown or not the caller's.
    func job(_ id: String, for peer: Peer) -> Job? {
        let j = lock.withLock { active[id] } ?? (try? store.fetch(id: id)) ?? nil
        guard let j, j.visible(to: peer) else { return nil }
        return j
    }

    func json(_ j: Job) -> JSON { lock.withLock { j.json } }

    func list(states: [JobState]?, method: String?, limit: Int, for peer: Peer) -> Result<[JSON], RPCError> {
        do {
            let rows = try store.list(states: states, method: method, uid: peer.isRoot ? nil : peer.uid, limit: limit)
            // Live jobs have fresher progress in memory than in the store.
            return .success(lock.withLock { rows.map { (active[$0.id] ?? $0).json } })
        } catch {
            return .failure(RPCError(.internalError, "cannot read jobs: \(error)"))
        }
    }

    func cancel(_ id: String, by peer: Peer) -> Result<JSON, RPCError> {
        // Another user's job is not found, as for job.get: its existence is not revealed.
        guard let j = job(id, for: peer) else { return .failure(notFound(id)) }
        let wasQueued: Bool = lock.withLock {
            guard active[id] != nil else { return false }
            if j.state == .queued {
                queue.removeAll { $0 === j }
                return true
            }
            j.cancelRequested = true
            return false
        }
        if wasQueued {
            logger.info("job \(id) cancelled while queued")
            finish(j, .cancelled, error: RPCError(.cancelled, "cancelled before it started"))
            notifyPositions()
        } else if !j.state.isFinal {
            logger.info("job \(id): cancellation requested; the plugin stops at its next check")
        }
        return .success(json(j))
    }

    /// Calls `done` with the job once it is final (at once if it already is).
    /// Returns a token to `stopWaiting` (for timeouts and disconnects).
    func wait(_ id: String, for peer: Peer, done: @escaping (Job) -> Void) -> Result<Void, RPCError> {
        guard let j = job(id, for: peer) else { return .failure(notFound(id)) }
        emitLock.withLock {
            let now: Bool = lock.withLock {
                if j.state.isFinal { return true }
                waiters[id, default: []].append(done)
                return false
            }
            if now { done(j) }
        }
        return .success(())
    }

    func notFound(_ id: String) -> RPCError {
        RPCError(.jobNotFound, "job not found: \(id)", data: ["id": .string(id)])
    }

    // MARK: views

    var queueDepth: Int { lock.withLock { queue.count } }
    var runningJob: Job? { lock.withLock { running } }
    var isIdle: Bool { lock.withLock { queue.isEmpty && running == nil } }

    /// "render 12/50 (24%)" for the status line.
    func runningSummary() -> String? {
        lock.withLock {
            guard let r = running else { return nil }
            let pct = Int(r.fraction * 100)
            return "\(r.id) \(r.method) \(r.state == .loading ? "loading" : r.phase) \(r.step)/\(r.total) (\(pct)%)"
        }
    }

    // MARK: drain

    /// Stop taking jobs, interrupt the running one at its next cancellation check, wait for
    /// the runner to finish. Queued jobs stay queued in the store.
    func drain() {
        let started: Bool = lock.withLock {
            draining = true
            running?.interruptRequested = true
            return runnerStarted
        }
        wake.lock(); wake.broadcast(); wake.unlock()
        if started { runnerDone.wait() }
    }

    // MARK: the runner

    private func runLoop() {
        while true {
            wake.lock()
            var next: Job? = nil
            while true {
                let (stop, j): (Bool, Job?) = lock.withLock {
                    if draining { return (true, nil) }
                    guard !queue.isEmpty else { return (false, nil) }
                    let j = queue.removeFirst()
                    running = j
                    j.position = nil
                    return (false, j)
                }
                if stop { wake.unlock(); runnerDone.signal(); return }
                if let j { next = j; break }
                wake.wait()
            }
            wake.unlock()
            notifyPositions()
            execute(next!)
            lock.withLock { running = nil }
            onChange()
        }
    }

    private func execute(_ job: Job) {
        var log = logger
        for (k, v) in job.logMetadata { log[metadataKey: k] = v }
        let host = HostContext(logger: log, peer: job.peer)
        host.isCancelled = { [self] in lock.withLock { job.cancelRequested || job.interruptRequested } }
        host.onProgress = { [self] phase, step, total in progress(job, phase: phase, step: step, total: total) }

        guard let (plugin, stage) = plugins.stage(job.method) else {
            finish(job, .failed, error: RPCError(.methodNotFound, "the stage \(job.method) is no longer served"))
            return
        }
        lock.withLock { job.startedAt = now() }
        var lease: Scheduler.Lease? = nil
        if stage.needsModel, let model = job.model {
            setState(job, .loading, phase: "load")
            switch scheduler.acquire(model, plugin: plugin, host: host) {
            case .failure(let e):
                let (c, i) = lock.withLock { (job.cancelRequested, job.interruptRequested) }
                if i { finish(job, .interrupted, error: interruptedError) }
                else if c { finish(job, .cancelled, error: RPCError(.cancelled, "cancelled while loading")) }
                else { finish(job, .failed, error: e) }
                return
            case .success(let l): lease = l
            }
        }
        let (c, i) = lock.withLock { (job.cancelRequested, job.interruptRequested) }
        if c || i {
            if let lease { scheduler.release(lease, keepAlive: job.keepAlive) }
            finish(job, i ? .interrupted : .cancelled, error: i ? interruptedError : RPCError(.cancelled, "cancelled before it ran"))
            return
        }
        setState(job, .running, phase: "run")
        log.info("running \(job.method) with plugin \(plugin.name)")
        let status = plugin.run(method: job.method, model: lease?.handle, params: job.params, host: host)
        if let lease { scheduler.release(lease, keepAlive: job.keepAlive) }
        lock.withLock { job.outputs = host.outputs }
        if status == 0 {
            let result: JSON
            if let text = host.result {
                guard let parsed = try? JSON.parse(text) else {
                    finish(job, .failed, error: RPCError(.pluginFailure, "plugin \(plugin.name) returned a result that is not JSON"))
                    return
                }
                result = parsed
            } else {
                result = [:]
            }
            lock.withLock { job.result = result }
            finish(job, .done, error: nil)
        } else {
            let e = host.failure(status: status, what: "running \(job.method)")
            if e.code == .cancelled {
                let interrupted = lock.withLock { job.interruptRequested }
                finish(job, interrupted ? .interrupted : .cancelled,
                       error: interrupted ? interruptedError : RPCError(.cancelled, "cancelled at step \(lock.withLock { job.step })"))
            } else {
                finish(job, .failed, error: e)
            }
        }
    }

    private var interruptedError: RPCError { RPCError(.interrupted, "interrupted: reeld was stopping") }

    // MARK: state changes and events

    private func setState(_ job: Job, _ s: JobState, phase: String) {
        lock.withLock {
            job.state = s
            job.phase = phase
            job.step = 0
            job.total = 0
            job.phaseStartedAt = now()
            job.phaseStartStep = 0
        }
        persist(job)
        publishState(job)
        onChange()
    }

    func finish(_ job: Job, _ s: JobState, error: RPCError?) {
        let ws: [(Job) -> Void] = emitLock.withLock {
            let ws: [(Job) -> Void] = lock.withLock {
                job.state = s
                job.error = error
                job.finishedAt = now()
                if s == .done { job.phase = "done" }
                return waiters.removeValue(forKey: job.id) ?? []
            }
            // Saved before it leaves memory, so job.get never reads a stale row.
            persist(job)
            lock.withLock { active[job.id] = nil }
            publishState(job)
            return ws
        }
        switch s {
        case .done: logger.info("job \(job.id) done", metadata: job.logMetadata)
        case .failed: logger.warning("job \(job.id) failed: \(error?.message ?? "")", metadata: job.logMetadata)
        default: logger.info("job \(job.id) \(s.rawValue)", metadata: job.logMetadata)
        }
        for w in ws { w(job) }
        onChange()
    }

    private func progress(_ job: Job, phase: String, step: Int64, total: Int64) {
        let (send, save, params): (Bool, Bool, JSON?) = lock.withLock {
            let newPhase = phase != job.phase
            if newPhase {
                job.phase = phase
                job.phaseStartedAt = now()
                job.phaseStartStep = step
            }
            job.step = step
            job.total = total
            let t = now()
            // Events at most every 50 ms, but always a phase's first and last step: a phase's first step can
            // take minutes (one denoising step of a large model on a CPU), and the phase must show meanwhile.
            // The store once a second.
            let send = t - job.lastProgressSent >= 0.05 || step == total || newPhase
            let save = t - job.lastPersisted >= 1
            if send { job.lastProgressSent = t }
            if save { job.lastPersisted = t }
            guard send else { return (false, save, nil) }
            var p = job.progressJSON
            p["id"] = .string(job.id)
            p["state"] = .string(job.state.rawValue)
            return (true, save, p)
        }
        if send, let params { events.publish(job, RPCNotification(method: "job.progress", params: params), droppable: true) }
        if save { persist(job) }
    }

    private func publishState(_ job: Job) {
        let (state, j) = lock.withLock { (job.state, job.json) }
        events.publish(job, RPCNotification(method: "job.state", params: ["id": .string(job.id), "state": .string(state.rawValue), "job": j]))
    }

    /// Sends the current state of a job to one connection (reattach).
    func sendCurrent(_ job: Job, to c: Connection) {
        let (state, j) = lock.withLock { (job.state, job.json) }
        c.send(RPCNotification(method: "job.state", params: ["id": .string(job.id), "state": .string(state.rawValue), "job": j]).json)
    }

    private func renumberLocked() {
        for (i, j) in queue.enumerated() { j.position = i + 1 }
    }

    private func notifyPositions() {
        let moved: [Job] = lock.withLock {
            renumberLocked()
            return queue
        }
        for j in moved {
            events.publish(j, RPCNotification(method: "job.queue", params: ["id": .string(j.id), "position": .int(Int64(j.position ?? 0))]))
        }
    }

    private func persist(_ job: Job) {
        do {
            // Snapshot under the lock so the row is consistent.
            try lock.withLock { try store.update(job) }
        } catch {
            logger.error("cannot save job \(job.id): \(error)")
        }
    }
}
