// The seam to the service manager. reeld calls these at the moments systemd
// cares about; the default does nothing. ReelSystemd plugs in with one line
// per hook (SystemdNotify.ready(status:), .status(_:), .stopping(),
// .reloading(), .watchdogInterval(), .watchdogPing(), SocketActivation.listenFDs()).

protocol ServiceHooks: Sendable {
    /// Start-up finished; `status` is the first status line.
    func ready(status: String)
    /// A new one-line status (queue, running job, resident models).
    func status(_ line: String)
    /// SIGTERM received: draining.
    func stopping()
    /// SIGHUP received: reloading the configuration.
    func reloading()
    /// Reload finished.
    func reloaded(status: String)
    /// How often to ping the watchdog (nil = no watchdog).
    func watchdogInterval() -> Duration?
    func watchdogPing()
    /// Listening sockets passed by the service manager (socket activation).
    func listenFDs() -> [Int32]
}

/// No service manager: run in the foreground.
struct NoServiceManager: ServiceHooks {
    func ready(status: String) {}
    func status(_ line: String) {}
    func stopping() {}
    func reloading() {}
    func reloaded(status: String) {}
    func watchdogInterval() -> Duration? { nil }
    func watchdogPing() {}
    func listenFDs() -> [Int32] { [] }
}
