// The one-line status a service manager shows (systemctl status), e.g.
// "queue 2/64 · running j3fa… fixture.render render 12/50 (24%) · 1 model, 1.2 GiB of 16.0 GiB".

enum StatusLine {
    static func render(queueDepth: Int, capacity: Int, running: String?, models: Int, used: UInt64, budget: UInt64) -> String {
        var parts = ["queue \(queueDepth)/\(capacity)"]
        parts.append(running.map { "running \($0)" } ?? "idle")
        parts.append("\(models) model\(models == 1 ? "" : "s"), \(Units.formatBytes(used)) of \(Units.formatBytes(budget))")
        return parts.joined(separator: " · ")
    }
}
