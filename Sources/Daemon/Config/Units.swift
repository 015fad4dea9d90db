// Human units in reeld.toml and on the command line: sizes and durations.

enum Units {
    /// "16GiB", "512MiB", "1.5G", "1000000" (bytes) → bytes. Binary (Ki, Mi, Gi, Ti)
    /// and decimal (K, M, G, T / KB, MB, GB, TB) suffixes.
    static func bytes(_ text: String) -> UInt64? {
        let t = text.trimmingSpaces().lowercased()
        let suffixes: [(String, Double)] = [
            ("tib", 0x1p40), ("gib", 0x1p30), ("mib", 0x1p20), ("kib", 0x1p10),
            ("tb", 1e12), ("gb", 1e9), ("mb", 1e6), ("kb", 1e3),
            ("ti", 0x1p40), ("gi", 0x1p30), ("mi", 0x1p20), ("ki", 0x1p10),
            ("t", 1e12), ("g", 1e9), ("m", 1e6), ("k", 1e3), ("b", 1),
        ]
        for (s, mult) in suffixes where t.hasSuffix(s) {
            guard let v = Double(t.dropLast(s.count).trimmingSpaces()), v >= 0 else { return nil }
            return UInt64(v * mult)
        }
        guard let v = Double(t), v >= 0 else { return nil }
        return UInt64(v)
    }

    /// "5m", "30s", "1h30m", "250ms", "0", "-1", "300" (seconds) → seconds.
    /// Negative means forever (pinned).
    static func seconds(_ text: String) -> Double? {
        let t = text.trimmingSpaces().lowercased()
        if let v = Double(t) { return v }
        if t.hasPrefix("-") { return seconds(String(t.dropFirst())).map { $0 == 0 ? 0 : -1 } }
        var total = 0.0
        var number = ""
        var i = t.startIndex
        var sawUnit = false
        while i < t.endIndex {
            let c = t[i]
            if c.isNumber || c == "." { number.append(c); i = t.index(after: i); continue }
            var unit = ""
            while i < t.endIndex, t[i].isLetter { unit.append(t[i]); i = t.index(after: i) }
            guard let v = Double(number) else { return nil }
            switch unit {
            case "ms": total += v / 1000
            case "s": total += v
            case "m": total += v * 60
            case "h": total += v * 3600
            case "d": total += v * 86400
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        return total
    }

    static func formatBytes(_ b: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(b)
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(b) B" : String(format: "%.1f %@", v, units[u])
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

import Foundation
