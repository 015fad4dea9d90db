import CSystemd
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Writes each log event as one structured journal entry with sd_journal_sendv(3):
/// MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_* and every metadata key as an upper-case
/// field (`job_id` → JOB_ID), so `journalctl -u reeld JOB_ID=…` finds a job's lines.
enum JournalOutput {
    static func write(event: LogEvent, metadata: Logger.Metadata, label: String, identifier: String) {
        var fields = Self.fields(event: event, metadata: metadata, label: label, identifier: identifier)
        if let error = event.error { fields.append("ERROR=\(error)") }
        Self.send(fields)
    }

    /// The entry's `FIELD=value` assignments, in the order they are sent.
    static func fields(event: LogEvent, metadata: Logger.Metadata, label: String, identifier: String) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(priority(event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "LOGGER=\(label)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            guard let name = fieldName(key) else { continue }
            fields.append("\(name)=\(value.plain)")
        }
        return fields
    }

    /// syslog(3) priorities as journald stores them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7      // LOG_DEBUG
        case .info: return 6               // LOG_INFO
        case .notice: return 5             // LOG_NOTICE
        case .warning: return 4            // LOG_WARNING
        case .error: return 3              // LOG_ERR
        case .critical: return 2           // LOG_CRIT
        }
    }

    /// A journal field name for a metadata key: `job_id`, `jobID`, `job-id` → JOB_ID.
    /// Journal names are A–Z, 0–9 and `_`, at most 64 long, and must not start with `_`
    /// (trusted, journald-set fields) or a digit; keys that can't be mapped are dropped.
    static func fieldName(_ key: String) -> String? {
        var out = ""
        var previous: Character = "_"
        for c in key {
            if c.isUppercase, previous.isLowercase || previous.isNumber { out.append("_") }
            if c.isASCII, c.isLetter || c.isNumber {
                out.append(Character(c.uppercased()))
            } else if out.last != "_" {
                out.append("_")
            }
            previous = c
        }
        while out.first == "_" || (out.first?.isNumber ?? false) { out.removeFirst() }
        while out.last == "_" { out.removeLast() }
        guard !out.isEmpty else { return nil }
        return String(out.prefix(64))
    }

    /// One datagram to journald; values may contain newlines (sd_journal_sendv encodes them).
    static func send(_ fields: [String]) {
        let copies = fields.map { strdup($0)! }
        defer { copies.forEach { free($0) } }
        let iov = copies.map { iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0)) }
        _ = sd_journal_sendv(iov, Int32(iov.count))
    }
}
