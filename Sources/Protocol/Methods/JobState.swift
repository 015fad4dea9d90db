// Job states, shared by daemon and client.

public enum JobState: String, CaseIterable, Sendable {
    case queued, loading, running, done, failed, cancelled, interrupted

    /// A job in a final state never changes again.
    public var isFinal: Bool {
        switch self {
        case .done, .failed, .cancelled, .interrupted: return true
        case .queued, .loading, .running: return false
        }
    }
}
