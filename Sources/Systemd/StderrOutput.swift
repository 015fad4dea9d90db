import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Plain, readable lines on stderr for a terminal, a pipe or a file:
/// `2026-11-24T22:30:01.123Z info reeld: job started job_id=7 plugin=fixture`.
enum StderrOutput {
    static func write(event: LogEvent, metadata: Logger.Metadata, identifier: String) {
        var line = Self.line(timestamp: Self.timestamp(), level: event.level, identifier: identifier,
                        message: "\(event.message)", metadata: metadata)
        if let error = event.error { line += " error=\(Self.quoted("\(error)"))" }
        line += "\n"
        // One write per line: lines from concurrent loggers never interleave mid-line.
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    static func line(timestamp: String, level: Logger.Level, identifier: String,
                     message: String, metadata: Logger.Metadata) -> String {
        var line = "\(timestamp) \(level.rawValue) \(identifier): \(message.replacingNewlines())"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(quoted(value.plain))"
        }
        return line
    }

    /// Values with spaces, quotes or `=` are quoted so lines stay machine-splittable.
    static func quoted(_ s: String) -> String {
        let needsQuotes = s.isEmpty || s.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        guard needsQuotes else { return s }
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// UTC, millisecond precision, ISO 8601.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%S", &tm)
        let ms = Int(ts.tv_nsec / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) + ".\(msText)Z"
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        contains(where: \.isNewline) ? String(map { $0.isNewline ? " " : $0 }) : self
    }
}
