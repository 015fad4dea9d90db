// Clocks and statistics every benchmark area shares.
import Foundation

enum BenchClock {
    /// Monotonic wall-clock seconds.
    static func wall() -> Double { read(CLOCK_MONOTONIC) }
    /// CPU seconds of this process, summed over its threads.
    static func cpu() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// Wall seconds of `runs` calls of `body` (at least one), after one warm-up call as the references do.
func benchRuns(_ runs: Int, _ body: () throws -> Void) throws -> [Double] {
    try body()
    return try (0..<Swift.max(runs, 1)).map { _ in
        let t = BenchClock.wall()
        try body()
        return BenchClock.wall() - t
    }
}

func benchMedian(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The 1, 5 and 15 minute load averages, printed beside every table: figures taken on a
/// busy machine say so.
func benchLoadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").split(separator: " ").prefix(3).joined(separator: " ")
}
