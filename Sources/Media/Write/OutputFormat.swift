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

    /// The file-name endings that choose this container (compared without case).
    public var fileExtensions: [String] {
        switch self {
        case .mp4: return [".mp4", ".m4v", ".mov"]
        case .webm: return [".webm", ".mkv"]
        case .wav: return [".wav"]
        case .flac: return [".flac"]
        }
    }

    /// The endings of the containers that carry video, for a params schema's `x-reel-extensions`.
    public static let videoFileExtensions = allCases.filter(\.carriesVideo).flatMap(\.fileExtensions)

    /// The container for a file name's extension (.mp4/.m4v/.mov, .webm/.mkv, .wav, .flac).
    public init?(path: String) {
        let name = path.split(separator: "/").last.map(String.init)?.lowercased() ?? ""
        guard let dot = name.lastIndex(of: "."),
              let c = Self.allCases.first(where: { $0.fileExtensions.contains(String(name[dot...])) }) else { return nil }
        self = c
    }

    /// The media type of what the muxer writes, whichever of the endings named it.
    public var mediaType: String {
        switch self {
        case .mp4: return "video/mp4"
        case .webm: return "video/webm"
        case .wav: return "audio/wav"
        case .flac: return "audio/flac"
        }
    }

    var muxerName: String { rawValue }
    public var carriesVideo: Bool { self == .mp4 || self == .webm }
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
    /// Encoder threads; 0 lets the encoder choose (x264: 1.5 per core, each a frame in flight).
    public var threads: Int
    /// AAC / Opus bit rate in bits per second.
    public var audioBitRate: Int
    /// x264 `rc-lookahead`: frames analysed ahead for frame types and macroblock-tree rate control.
    /// nil = the preset's (10 at veryfast, 40 at medium, 60 at slow). Every one of them is a whole
    /// input frame plus its half-size copy held inside x264, so on large frames this is most of the
    /// encoder's memory (see `x264LookaheadFrameBytes`); fewer costs some compression (docs/media.md).
    public var lookahead: Int?
    /// x264 `sync-lookahead`: frames queued between the caller and x264's lookahead thread, held on
    /// top of the lookahead. nil = x264's (B-frames + 1 when threaded); 0 runs the lookahead in the
    /// encoding thread.
    public var syncLookahead: Int?

    public init(crf: Int? = nil, preset: String = "medium", vp9Speed: Int = 4, threads: Int = 0,
                audioBitRate: Int? = nil, lookahead: Int? = nil, syncLookahead: Int? = nil) {
        self.crf = crf
        self.preset = preset
        self.vp9Speed = vp9Speed
        self.threads = threads
        self.audioBitRate = audioBitRate ?? 192_000
        self.lookahead = lookahead
        self.syncLookahead = syncLookahead
    }
}

extension EncoderSettings {
    /// x264's own `rc-lookahead` for a preset (x264's preset table), nil for an unknown name.
    public static func x264PresetLookahead(_ preset: String) -> Int? {
        ["ultrafast": 0, "superfast": 0, "veryfast": 10, "faster": 20, "fast": 30, "medium": 40,
         "slow": 50, "slower": 60, "veryslow": 60, "placebo": 60][preset]
    }

    /// What one frame waiting in x264's lookahead holds, in bytes: the picture as x264 stores it
    /// (yuv420p, 32-pixel borders) and its half-size four-plane copy for the lookahead's motion
    /// search (x264's frame.c). About 22 MB at 3840x2160, 5.6 MB at 1920x1080.
    public static func x264LookaheadFrameBytes(width: Int, height: Int) -> Int {
        let (w, h) = ((width + 15) & ~15, (height + 15) & ~15)
        let luma = (w + 64) * (h + 64)
        let lowres = 4 * (w / 2 + 64) * (h / 2 + 64)
        return luma + luma / 2 + lowres
    }
}
