/// The containers reel writes, each with a fixed pair of codecs (docs/media.md has the table).
public enum MediaContainer: String, Sendable, CaseIterable {
    /// H.264 (libx264, yuv420p, CRF) + AAC-LC 48 kHz stereo, `+faststart`.
    case mp4
    /// VP9 (libvpx-vp9, constant quality) + Opus 48 kHz stereo.
    case webm
    /// 16-bit PCM at the input rate and channel count; audio only.
    case wav
    /// FLAC, 16 bits, at the input rate and channel count; audio only.
    case flac

    /// The container for a file name's extension (.mp4/.m4v/.mov, .webm/.mkv, .wav, .flac).
    public init?(path: String) {
        let ext = path.split(separator: "/").last.flatMap { name -> Substring? in
            guard let dot = name.lastIndex(of: ".") else { return nil }
            return name[name.index(after: dot)...]
        }?.lowercased() ?? ""
        switch ext {
        case "mp4", "m4v", "mov": self = .mp4
        case "webm", "mkv": self = .webm
        case "wav": self = .wav
        case "flac": self = .flac
        default: return nil
        }
    }

    var muxerName: String { rawValue }
    var carriesVideo: Bool { self == .mp4 || self == .webm }
}

/// The video a writer will be given: every appended frame must be this size.
public struct VideoFormat: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var frameRate: FrameRate
    public init(width: Int, height: Int, frameRate: FrameRate) {
        self.width = width
        self.height = height
        self.frameRate = frameRate
    }
}

/// The audio a writer will be given: float interleaved PCM at this rate and channel count.
public struct AudioFormat: Sendable, Equatable {
    public var sampleRate: Int
    public var channels: Int
    public init(sampleRate: Int, channels: Int) {
        self.sampleRate = sampleRate
        self.channels = channels
    }
}

/// Encoder knobs. Defaults give visually clean output at sane speed; `reel-bench media` uses them.
public struct EncoderSettings: Sendable, Equatable {
    /// Constant-rate-factor quality: lower is better and bigger. nil = 18 for H.264, 31 for VP9.
    public var crf: Int?
    /// x264 preset (ultrafast ... veryslow).
    public var preset: String
    /// libvpx-vp9 `cpu-used` (0 slowest/best ... 8 fastest).
    public var vp9Speed: Int
    /// Encoder threads; 0 lets the encoder choose (one per core).
    public var threads: Int
    /// AAC / Opus bit rate in bits per second.
    public var audioBitRate: Int

    public init(crf: Int? = nil, preset: String = "medium", vp9Speed: Int = 4, threads: Int = 0,
                audioBitRate: Int? = nil) {
        self.crf = crf
        self.preset = preset
        self.vp9Speed = vp9Speed
        self.threads = threads
        self.audioBitRate = audioBitRate ?? 192_000
    }
}
