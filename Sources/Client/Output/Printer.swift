// Human output: tables, sizes, times. --json prints the raw results instead.
import Foundation
import ReelProtocol

enum Printer {
    static func json(_ v: JSON) { print(v.serialized()) }

    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        print(line(header))
        for r in rows { print(line(r)) }
    }

    static func bytes(_ v: JSON?) -> String {
        guard let b = v?.intValue else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var x = Double(b)
        var u = 0
        while x >= 1024 && u < units.count - 1 { x /= 1024; u += 1 }
        return u == 0 ? "\(b) B" : String(format: "%.1f %@", x, units[u])
    }

    static func ago(_ v: JSON?) -> String {
        guard let t = v?.doubleValue else { return "-" }
        return duration(Date().timeIntervalSince1970 - t) + " ago"
    }

    static func until(_ v: JSON?) -> String {
        guard let t = v?.doubleValue else { return "forever" }
        let d = t - Date().timeIntervalSince1970
        return d <= 0 ? "now" : "in " + duration(d)
    }

    static func duration(_ s: Double) -> String {
        let s = max(0, s)
        if s < 60 { return String(format: "%.0fs", s) }
        if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
        return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60)
    }

    static func jobLine(_ j: JSON) -> [String] {
        let p = j["progress"]
        let step = p?["total"]?.intValue ?? 0 > 0 ? "\(p?["step"]?.intValue ?? 0)/\(p?["total"]?.intValue ?? 0)" : ""
        return [j["id"]?.stringValue ?? "", j["state"]?.stringValue ?? "", j["method"]?.stringValue ?? "",
                j["model"]?.stringValue ?? "-", "\(p?["phase"]?.stringValue ?? "") \(step)".trimmingCharacters(in: .whitespaces),
                ago(j["created_at"])]
    }
}
