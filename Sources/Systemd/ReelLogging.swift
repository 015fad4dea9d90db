import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Chooses where reel's logs go: structured journald entries when stderr is the
/// journal, readable lines on stderr otherwise.
public enum ReelLogging {
    public enum Destination: String, Sendable {
        case journal
        case stderr
    }

    /// Installs reel's LogHandler as the process's swift-log backend. Call once, first thing.
    /// `identifier` becomes SYSLOG_IDENTIFIER in the journal and the line prefix on stderr.
    public static func bootstrap(level: Logger.Level, identifier: String? = nil) {
        let identifier = identifier ?? programName()
        let destination = detectDestination()
        setLevel(level)
        LoggingSystem.bootstrap { label in
            makeHandler(label: label, destination: destination, identifier: identifier)
        }
    }

    /// A handler for `destination`, for callers that build Loggers themselves (tests, tools).
    public static func makeHandler(label: String, destination: Destination, identifier: String) -> any LogHandler {
        ReelLogHandler(label: label, identifier: identifier, destination: destination)
    }

    /// Changes the level of every handler made here that has not had its own level set
    /// (a configuration reload changes log_level without rebuilding Loggers).
    public static func setLevel(_ level: Logger.Level) { sharedLevel.store(level) }
    public static var level: Logger.Level { sharedLevel.load() }

    /// The journal when JOURNAL_STREAM's `device:inode` is the file stderr is open on,
    /// as systemd.exec(5) prescribes; stderr otherwise (a terminal, a pipe, a file).
    public static func detectDestination() -> Destination {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return .stderr }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return .stderr }
        var st = stat()
        guard fstat(STDERR_FILENO, &st) == 0 else { return .stderr }
        return (UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino) ? .journal : .stderr
    }

    static func programName() -> String {
        let path = CommandLine.arguments.first ?? "reel"
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    static let sharedLevel = LevelBox(.info)
}

/// A lock-protected log level shared by handlers that follow the process-wide level.
final class LevelBox: @unchecked Sendable {
    private var value: Logger.Level
    private var mutex = pthread_mutex_t()

    init(_ value: Logger.Level) {
        self.value = value
        pthread_mutex_init(&mutex, nil)
    }

    func load() -> Logger.Level {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        return value
    }

    func store(_ level: Logger.Level) {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        value = level
    }
}

/// What both handlers share: metadata as a value, a level that follows ReelLogging's
/// unless set on this handler, and the merge of handler, provider and call-site metadata.
struct HandlerState {
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    var ownLevel: Logger.Level?

    var logLevel: Logger.Level {
        get { ownLevel ?? ReelLogging.level }
        set { ownLevel = newValue }
    }

    func merged(_ callSite: Logger.Metadata?) -> Logger.Metadata {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let callSite { all.merge(callSite) { _, new in new } }
        return all
    }
}

extension Logger.MetadataValue {
    /// Strings as they are (no quotes), everything else as swift-log prints it.
    var plain: String {
        switch self {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        default: return description
        }
    }
}
