// Job progress: a bar redrawn in place on a terminal, plain lines otherwise.
import Foundation
import ReelProtocol

final class ProgressView {
    let tty = isatty(STDERR_FILENO) == 1
    private var lastPlain = ""
    private var lastPlainTime = 0.0
    private var drawn = false

    func update(state: String, phase: String, step: Int64, total: Int64, eta: Double?) {
        if tty {
            let width = 30
            let frac = total > 0 ? min(1, Double(step) / Double(total)) : 0
            let filled = Int(frac * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let counts = total > 0 ? " \(step)/\(total) \(Int(frac * 100))%" : ""
            let etaText = eta.map { " ETA \(Printer.duration($0))" } ?? ""
            write("\r\u{1B}[2K\(phase.padding(toLength: 8, withPad: " ", startingAt: 0)) \(bar)\(counts)\(etaText)")
            drawn = true
        } else {
            // One line per phase change, and at most one a second otherwise.
            let now = Date().timeIntervalSince1970
            let key = "\(state) \(phase)"
            if key != lastPlain || now - lastPlainTime >= 1 || (total > 0 && step == total) {
                let pct = total > 0 ? " (\(Int(Double(step) / Double(total) * 100))%)" : ""
                write("\(state) \(phase) \(step)/\(total)\(pct)\(eta.map { " eta \(Printer.duration($0))" } ?? "")\n")
                lastPlain = key
                lastPlainTime = now
            }
        }
    }

    func message(_ s: String) {
        finishLine()
        write(s + "\n")
    }

    func finishLine() {
        if tty && drawn { write("\r\u{1B}[2K"); drawn = false }
    }

    private func write(_ s: String) { FileHandle.standardError.write(s.data(using: .utf8)!) }
}
