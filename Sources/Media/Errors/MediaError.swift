/// Every failure of the Media module is a `MediaError`: it names the file and says why, in words a
/// user can act on ("truncated file", "no decoder for codec 'xyz'"), never a bare FFmpeg code.
public struct MediaError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What went wrong, as a category callers can switch on (the daemon maps these to JSON-RPC errors).
    public enum Reason: String, Sendable, CaseIterable {
        /// The path does not exist, is a directory, or cannot be opened for reading.
        case unreadable
        /// The file exists but is no media format FFmpeg knows (or is empty).
        case notMedia
        /// The format is recognised but the file ends early or its data is damaged.
        case truncated
        /// The file has the kind of stream asked for, but it holds no frames or samples.
        case emptyStream
        /// The file has no stream of the kind asked for (no video in an audio file, say).
        case noStream
        /// A width or height that is zero, negative, or larger than `MediaLimits` allows.
        case absurdDimensions
        /// FFmpeg on this system has no decoder (or encoder) for the codec.
        case unsupportedCodec
        /// A parameter of the call is wrong (frame of the wrong size, bad frame rate, ...).
        case invalidArgument
        /// Encoding, muxing or writing the output failed (disk full, unwritable directory, ...).
        case writeFailed
        /// Decoding failed in a way that is not simply a short file.
        case decodeFailed

        var phrase: String {
            switch self {
            case .unreadable: return "cannot read file"
            case .notMedia: return "not a media file"
            case .truncated: return "truncated or damaged file"
            case .emptyStream: return "empty stream"
            case .noStream: return "no such stream"
            case .absurdDimensions: return "unsupported dimensions"
            case .unsupportedCodec: return "unsupported codec"
            case .invalidArgument: return "invalid argument"
            case .writeFailed: return "cannot write file"
            case .decodeFailed: return "decoding failed"
            }
        }
    }

    public let path: String
    public let reason: Reason
    public let detail: String

    public init(_ reason: Reason, path: String, _ detail: String) {
        self.reason = reason
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(reason.phrase): \(detail)" }
}
