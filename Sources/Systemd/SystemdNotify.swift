import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The sd_notify(3) protocol: tells the service manager how the daemon is doing.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset (the daemon was not started by
/// systemd with Type=notify), so callers never need to check first.
public enum SystemdNotify {
    /// Whether a service manager is listening (`NOTIFY_SOCKET` is set).
    public static var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// READY=1 with a status line. Send only once the daemon really serves.
    public static func ready(status: String) {
        send(["READY=1", "STATUS=" + oneLine(status)])
    }

    /// STATUS= — the line `systemctl status reeld` shows.
    public static func status(_ s: String) {
        send(["STATUS=" + oneLine(s)])
    }

    /// STOPPING=1 — the daemon has begun its graceful shutdown.
    public static func stopping(status: String? = nil) {
        send(["STOPPING=1"] + (status.map { ["STATUS=" + oneLine($0)] } ?? []))
    }

    /// RELOADING=1 with MONOTONIC_USEC (systemd ≥ 253 matches the reload by that
    /// timestamp; older managers ignore the field). Follow it with `ready(status:)`.
    public static func reloading(status: String? = nil) {
        var fields = ["RELOADING=1", "MONOTONIC_USEC=\(monotonicMicroseconds())"]
        if let status { fields.append("STATUS=" + oneLine(status)) }
        send(fields)
    }

    /// How often to send WATCHDOG=1: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
    /// recommends; nil when the unit sets no WatchdogSec= (or WATCHDOG_PID names another process).
    public static func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec / 2))
    }

    /// WATCHDOG=1 — "the serving loop is alive". Send it from the loop that would wedge.
    public static func watchdogPing() {
        send(["WATCHDOG=1"])
    }

    /// EXTEND_TIMEOUT_USEC= — asks for more time during a long start, reload or drain.
    public static func extendTimeout(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let usec = max(0, seconds) * 1_000_000 + attoseconds / 1_000_000_000_000
        send(["EXTEND_TIMEOUT_USEC=\(usec)"])
    }

    /// Sends raw assignments (one `KEY=value` each). Returns whether a datagram was sent.
    @discardableResult
    public static func send(_ assignments: [String]) -> Bool {
        guard isEnabled, !assignments.isEmpty else { return false }
        // unset_environment = 0: the daemon notifies many times over its life.
        return sd_notify(0, assignments.joined(separator: "\n")) > 0
    }

    static func oneLine(_ s: String) -> String {
        s.contains(where: \.isNewline) ? String(s.map { $0.isNewline ? " " : $0 }) : s
    }

    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }
}
