// The composition root: builds every part from the config, wires them, runs
// until SIGTERM, drains. SIGHUP reloads the config and rescans plugins.
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import ReelProtocol
import ReelSystemd

final class Daemon: @unchecked Sendable {
    static let version = "0.1.0"

    private var _config: Config
    /// The current settings (SIGHUP replaces them while requests read them).
    var config: Config { stateLock.withLock { _config } }
    let configSource: (path: String, explicit: Bool, base: Config)?
    let logger: Logger
    let hooks: ServiceHooks
    let plugins: PluginRegistry
    let scheduler: Scheduler
    let store: JobStore
    let events = EventBus()
    let jobs: JobManager
    let dispatcher: Dispatcher
    let server: SocketServer
    let startedAt = now()
    private let control = DispatchQueue(label: "reeld.control")
    private var timers: [DispatchSourceTimer] = []
    private var signals: [DispatchSourceSignal] = []
    private let stopped = DispatchSemaphore(value: 0)
    private let stateLock = NIOLock()
    private var stopping = false
    private var lastStatus = ""
    private var idleSince = now()

    init(config: Config, configSource: (path: String, explicit: Bool, base: Config)?, hooks: ServiceHooks, logger: Logger) throws {
        self._config = config
        self.configSource = configSource
        self.hooks = hooks
        self.logger = logger
        plugins = PluginRegistry(logger: logger)
        scheduler = Scheduler(budget: config.memoryBudget, defaultKeepAlive: config.keepAlive, logger: logger)
        do { store = try JobStore(directory: config.stateDir) } catch {
            throw ConfigError(description: "cannot open the job store in \(config.stateDir): \(error)")
        }
        jobs = JobManager(store: store, scheduler: scheduler, plugins: plugins, events: events, capacity: config.queueSize, logger: logger)
        dispatcher = Dispatcher(logger: logger)
        server = SocketServer(dispatcher: dispatcher, events: events, maxMessageBytes: config.maxMessageBytes,
                              threads: min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)), logger: logger)
        registerHandlers()
        dispatcher.checkComplete()
        dispatcher.stageExists = { [plugins] in plugins.stage($0) != nil }
        dispatcher.stageHandler = { [unowned self] method, params, conn, reply in
            submitStage(method: method, params: params, connection: conn, reply: reply)
        }
        scheduler.onChange = { [unowned self] in statusChanged() }
        jobs.onChange = { [unowned self] in statusChanged() }
    }

    /// Runs until a SIGTERM/SIGINT drain completes.
    func run() throws {
        plugins.scan(directories: config.pluginDirs)
        warnIfNothingToServe()
        try jobs.recover()
        let fds = hooks.listenFDs()
        if let fd = fds.first {
            try server.start(listeningFD: fd)
        } else {
            try server.start(path: config.socket)
        }
        jobs.startRunner()
        installSignals()
        startTimers()
        let line = statusLine()
        logger.notice("reeld \(Daemon.version) ready: \(plugins.plugins.count) plugin(s), \(line)")
        hooks.ready(status: line)
        stopped.wait()
    }

    // MARK: status

    func statusLine() -> String {
        StatusLine.render(queueDepth: jobs.queueDepth, capacity: jobs.capacity, running: jobs.runningSummary(),
                          models: scheduler.snapshot().count, used: scheduler.usedBytes, budget: scheduler.budget)
    }

    private func statusChanged() {
        let line = statusLine()
        let changed = stateLock.withLock { () -> Bool in
            guard line != lastStatus else { return false }
            lastStatus = line
            return true
        }
        if changed { hooks.status(line) }
    }

    // MARK: signals and timers

    private func installSignals() {
        for s in [SIGTERM, SIGINT, SIGHUP] { signal(s, SIG_IGN) }
        for (sig, action) in [(SIGTERM, drainAndExit), (SIGINT, drainAndExit), (SIGHUP, reload)] as [(Int32, () -> Void)] {
            let src = DispatchSource.makeSignalSource(signal: sig, queue: control)
            src.setEventHandler(handler: action)
            src.resume()
            signals.append(src)
        }
    }

    private func startTimers() {
        let sweep = DispatchSource.makeTimerSource(queue: control)
        sweep.schedule(deadline: .now() + 0.2, repeating: 0.2)
        sweep.setEventHandler { [unowned self] in
            scheduler.sweep()
            checkIdleExit()
            statusChanged()   // progress of the running job: STATUS= at most 5 times a second
        }
        sweep.resume()
        timers.append(sweep)
        if let interval = hooks.watchdogInterval() {
            let wd = DispatchSource.makeTimerSource(queue: control)
            let period = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
            wd.schedule(deadline: .now(), repeating: max(0.1, period))   // already half of WATCHDOG_USEC
            wd.setEventHandler { [unowned self] in pingWatchdogIfServing() }
            wd.resume()
            timers.append(wd)
        }
    }

    private func checkIdleExit() {
        guard let limit = config.exitOnIdle else { return }
        let idle = jobs.isIdle && scheduler.isEmpty && events.connectionCount == 0
        let t = now()
        if !idle { idleSince = t; return }
        if t - idleSince >= limit {
            logger.notice("idle for \(formatSeconds(limit)); exiting")
            drainAndExit()
        }
    }

    /// SIGTERM: stop accepting, interrupt the running job at its next cancellation check
    /// (it is persisted as interrupted), unload models, exit.
    func drainAndExit() {
        let first = stateLock.withLock { () -> Bool in
            if stopping { return false }
            stopping = true
            return true
        }
        guard first else { return }
        logger.notice("stopping: draining")
        hooks.stopping()
        server.stopAccepting()
        jobs.drain()
        scheduler.unloadAll()
        for t in timers { t.cancel() }
        logger.notice("stopped")
        stopped.signal()
    }

    /// SIGHUP: reread the config file, apply what can change at run time,
    /// rescan plugins (resident models of plugins still present stay).
    func reload() {
        hooks.reloading()
        logger.notice("reloading")
        if let src = configSource {
            do {
                var c = try ConfigLoader.load(path: src.path, explicit: src.explicit, over: src.base)
                c.socket = config.socket // the socket stays (clients are connected to it)
                if c.stateDir != config.stateDir { logger.warning("state_dir changes take effect at restart") }
                c.stateDir = config.stateDir
                if c.maxMessageBytes != config.maxMessageBytes { logger.warning("max_message_bytes changes take effect at restart") }
                c.maxMessageBytes = config.maxMessageBytes
                stateLock.withLock { _config = c }
                ReelLogging.setLevel(c.logLevel)
                scheduler.defaultKeepAlive = c.keepAlive
                scheduler.setBudget(c.memoryBudget)
                jobs.setCapacity(c.queueSize)
            } catch {
                logger.error("reload: \(error); keeping the previous configuration")
            }
        }
        plugins.scan(directories: config.pluginDirs)
        warnIfNothingToServe()
        scheduler.dropModels(notServedBy: plugins.plugins)
        let line = statusLine()
        hooks.reloaded(status: line)
        logger.notice("reloaded: \(plugins.plugins.count) plugin(s), \(line)")
    }

    /// A reeld that found no plugin (or no model) still serves, but every stage would be
    /// "method not found": say where it looked, so a hand-started build is not a mystery.
    private func warnIfNothingToServe() {
        if plugins.plugins.isEmpty {
            logger.warning("no stage plugins in \(config.pluginDirs.joined(separator: ", ")): install them (sudo make install) or name a directory of them with --plugin-dir")
        }
        if ModelCatalog.scan(directories: config.modelDirs).isEmpty {
            logger.warning("no models in \(config.modelDirs.joined(separator: ", ")): import them (make models) or name a directory of them with --model-dir")
        }
    }
}
