import Logging

/// reel's swift-log handler: the level and metadata bookkeeping that swift-log asks of every
/// handler, once, and the output through one of two destinations — structured journal entries
/// (JournalOutput) or readable lines on stderr (StderrOutput). ReelLogging.bootstrap picks one.
public struct ReelLogHandler: LogHandler {
    public let label: String
    public let identifier: String
    public let destination: ReelLogging.Destination
    private var state = HandlerState()

    public init(label: String, identifier: String, destination: ReelLogging.Destination) {
        self.label = label
        self.identifier = identifier
        self.destination = destination
    }

    public var metadata: Logger.Metadata {
        get { state.metadata }
        set { state.metadata = newValue }
    }
    public var metadataProvider: Logger.MetadataProvider? {
        get { state.metadataProvider }
        set { state.metadataProvider = newValue }
    }
    public var logLevel: Logger.Level {
        get { state.logLevel }
        set { state.logLevel = newValue }
    }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { state.metadata[key] }
        set { state.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let metadata = state.merged(event.metadata)
        switch destination {
        case .journal: JournalOutput.write(event: event, metadata: metadata, label: label, identifier: identifier)
        case .stderr: StderrOutput.write(event: event, metadata: metadata, identifier: identifier)
        }
    }
}
