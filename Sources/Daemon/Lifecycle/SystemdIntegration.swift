// reeld as a systemd service, over ReelSystemd: the ServiceHooks that speak
// sd_notify and take LISTEN_FDS, the SO_PEERCRED admission rule, and the
// watchdog's liveness check. Everything here is a no-op outside systemd
// (no NOTIFY_SOCKET, no LISTEN_FDS, no WATCHDOG_USEC).
import Foundation
import Logging
import NIOCore
import ReelProtocol
import ReelSystemd

/// ServiceHooks over libsystemd (sd_notify, sd_listen_fds).
struct SystemdHooks: ServiceHooks {
    /// `--listen-fd N` (a socket handed over by hand) wins over LISTEN_FDS.
    let explicitFD: Int32?

    func ready(status: String) { SystemdNotify.ready(status: status) }
    func status(_ line: String) { SystemdNotify.status(line) }
    func stopping() {
        SystemdNotify.stopping(status: "stopping: refusing new connections, interrupting the running job")
    }
    func reloading() { SystemdNotify.reloading(status: "reloading: re-reading the configuration, rescanning plugins") }
    func reloaded(status: String) { SystemdNotify.ready(status: status) }
    /// Half of WATCHDOG_USEC: the period to ping at.
    func watchdogInterval() -> Duration? { SystemdNotify.watchdogInterval() }
    func watchdogPing() { SystemdNotify.watchdogPing() }
    func listenFDs() -> [Int32] { explicitFD.map { [$0] } ?? SocketActivation.listenFDs() }
}

extension Daemon {
    /// Whether reeld serves a socket someone else owns (systemd's): only then does the next
    /// client start it again after an idle exit.
    var isSocketActivated: Bool { !hooks.listenFDs().isEmpty }

    /// Wires what systemd integration needs into the daemon; call before `run()`.
    func installSystemdIntegration() {
        for r in SocketActivation.rejectedFDs() {
            logger.warning("ignoring passed descriptor \(r.fd): \(r.reason)")
        }
        if hooks.listenFDs().count > 1 {
            logger.warning("systemd passed \(hooks.listenFDs().count) sockets; serving the first (fd \(hooks.listenFDs()[0]))")
        }
        if config.exitOnIdle != nil && !isSocketActivated {
            logger.warning("exit_on_idle is set but reeld is not socket-activated: after an idle exit nothing starts it again")
        }
        // The socket file whose group and mode say who may connect: the one systemd
        // passed (found from the descriptor), else the path reeld binds.
        let socketPath = hooks.listenFDs().first.flatMap(ReelSystemd.AccessPolicy.boundPath(fd:)) ?? config.socket
        dispatcher.admission = { [logger] peer in Daemon.admit(peer, socketPath: socketPath, logger: logger) }
    }

    /// SO_PEERCRED admission: root, reeld's own user, members of the socket's group.
    /// The socket file is re-read per connection so chgrp/chmod take effect at once.
    static func admit(_ peer: Peer, socketPath: String, logger: Logger) -> RPCError? {
        let policy = (try? ReelSystemd.AccessPolicy(socketPath: socketPath)) ?? ReelSystemd.AccessPolicy(socketGroup: nil)
        let decision = policy.check(PeerCredentials(pid: peer.pid, uid: peer.uid, gid: peer.gid, groups: peer.groups))
        guard !decision.isAllowed else { return nil }
        logger.warning("refused a connection", metadata: [
            "peer_pid": "\(peer.pid)", "peer_uid": "\(peer.uid)", "peer_gid": "\(peer.gid)", "reason": "\(decision.reason)",
        ])
        return RPCError(.accessDenied, "access denied: \(decision.reason)",
                        data: ["uid": .int(Int64(peer.uid)), "reason": .string(decision.reason)])
    }

    /// WATCHDOG=1 only when every serving event loop runs a no-op task: a wedged loop
    /// never answers, the pings stop, and systemd restarts reeld.
    func pingWatchdogIfServing() {
        let loops = Array(server.group.makeIterator())
        guard let first = loops.first else { return }
        EventLoopFuture.andAllSucceed(loops.map { $0.submit {} }, on: first).whenSuccess { [hooks] in
            hooks.watchdogPing()
        }
    }
}

extension Job {
    /// Structured fields for a job's log lines: JOB_ID, PLUGIN, STAGE, MODEL in the journal
    /// (`journalctl -u reeld JOB_ID=…`), key=value pairs on stderr.
    var logMetadata: Logger.Metadata {
        var m: Logger.Metadata = ["job_id": "\(id)", "plugin": "\(plugin)", "stage": "\(method)"]
        if let model { m["model"] = "\(model.name)" }
        return m
    }
}

/// Blocks SIGTERM, SIGINT and SIGHUP in every thread; call first thing in main, before any
/// thread exists. libdispatch reads the signals of reeld's signal sources through signalfd:
/// a signal that arrives while unblocked is delivered to the (ignored) disposition and lost,
/// e.g. a `systemctl stop` right after READY=1.
func blockHandledSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
}
