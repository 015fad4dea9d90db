import CFFmpeg
import Glibc

/// Writes a video and/or audio file as the content is produced: each `append` converts and encodes
/// at once, so memory stays bounded however long the output. The file appears at `path` only when
/// `finish()` succeeds (it is written to a hidden temporary name beside it and renamed), so a failed
/// or abandoned write never leaves a half file under the real name.
///
///     let writer = try MediaWriter(path: "out.mp4",
///                                  video: VideoFormat(width: 832, height: 480, frameRate: FrameRate(16)),
///                                  audio: AudioFormat(sampleRate: 16_000, channels: 1),
///                                  label: GenerationLabel(model: "wan2.1-t2v-1.3b", plugin: "text-to-video",
///                                                         pluginVersion: "0.1.0", prompt: prompt, seed: 42))
///     for frame in frames { try writer.append(frame: frame) }
///     try writer.append(audio: pcm)
///     try writer.finish()
///
/// Containers and codecs: see `MediaContainer`. Appending video and audio alternately in time order
/// keeps the muxer's interleaving queue short; appending all audio at the end also works (the muxer
/// then holds up to 10 s of compressed packets).
///
/// Audio can instead be copied from another file without re-encoding (lossless, like
/// `ffmpeg -c:a copy`): open the writer with `copyingAudio: reader.format` of an `AudioPacketReader`
/// and append its packets with `append(audioPacket:)`. `MediaWriter.checkCopy(_:into:)` says
/// beforehand whether the container takes that codec (AAC or MP3 in MP4, Opus in WebM).
public final class MediaWriter {
    public let path: String
    public let container: MediaContainer
    /// The size the video stream is coded at (the frame size rounded up to even for H.264).
    public private(set) var codedSize: PixelSize? = nil

    private let temporaryPath: String
    private var muxer: UnsafeMutablePointer<AVFormatContext>?
    private var video: VideoEncoder?
    private var audio: AudioEncoder?
    private var audioCopy: AudioStreamCopy?
    private var state: State = .open

    private enum State { case open, finished, failed }

    /// - Parameters:
    ///   - audio: the PCM that `append(audio:)` will be given, encoded into the container's codec.
    ///   - copyingAudio: instead of `audio`, a coded stream whose packets `append(audioPacket:)` will
    ///     be given and that is written as it is.
    public init(path: String, container: MediaContainer? = nil, video: VideoFormat? = nil, audio: AudioFormat? = nil,
                copyingAudio: EncodedAudioFormat? = nil,
                label: GenerationLabel? = nil, metadata: [String: String] = [:],
                settings: EncoderSettings = EncoderSettings()) throws {
        FFmpegLog.install()
        self.path = path
        guard let container = container ?? MediaContainer(path: path) else {
            throw MediaError(.invalidArgument, path: path,
                             "cannot tell the container from the file name; use .mp4, .webm, .wav or .flac")
        }
        self.container = container
        if video == nil && audio == nil && copyingAudio == nil {
            throw MediaError(.invalidArgument, path: path, "a file needs a video or an audio stream")
        }
        if audio != nil && copyingAudio != nil {
            throw MediaError(.invalidArgument, path: path, "give audio to encode or audio to copy, not both")
        }
        if video != nil && !container.carriesVideo {
            throw MediaError(.invalidArgument, path: path, "\(container.rawValue) holds audio only")
        }
        if let video {
            try MediaLimits.check(PixelSize(video.width, video.height), path: path, what: "the video size")
            guard video.frameRate.isValid else {
                throw MediaError(.invalidArgument, path: path, "frame rate \(video.frameRate) is not in (0, \(MediaLimits.maxFrameRate)]")
            }
        }
        if let audio {
            guard audio.sampleRate > 0, audio.sampleRate <= MediaLimits.maxSampleRate,
                  audio.channels > 0, audio.channels <= MediaLimits.maxChannels else {
                throw MediaError(.invalidArgument, path: path,
                                 "audio of \(audio.sampleRate) Hz and \(audio.channels) channels is not supported")
            }
        }

        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(directory).\(name).partial-\(getpid())"

        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_alloc_output_context2(&oc, nil, container.muxerName, temporaryPath) >= 0, let oc else {
            throw MediaError(.writeFailed, path: path, "FFmpeg has no \(container.rawValue) muxer")
        }
        muxer = oc
        // No random file UID, date or muxer version in the file (Matroska/WebM write them otherwise):
        // the same clip makes the same bytes.
        oc.pointee.flags |= AVFMT_FLAG_BITEXACT
        do {
            if let video {
                self.video = try VideoEncoder(path: path, muxer: oc, container: container, format: video, settings: settings)
            }
            if let audio {
                self.audio = try AudioEncoder(path: path, muxer: oc, container: container, format: audio, settings: settings)
            }
            if let copyingAudio {
                audioCopy = try AudioStreamCopy(path: path, muxer: oc, format: copyingAudio)
            }
            codedSize = self.video?.codedSize
            var tags = metadata
            if let label { for (k, v) in label.tags { tags[k] = v } }
            if let video, let coded = codedSize, coded != PixelSize(video.width, video.height) {
                tags[GenerationLabel.Key.sourceSize] = "\(video.width)x\(video.height)"
            }
            // in key order: a dictionary's order changes from one instance to the next, and the same
            // clip should make the same bytes
            for (k, v) in tags.sorted(by: { $0.key < $1.key }) { av_dict_set(&oc.pointee.metadata, k, v, 0) }
            try openOutput(oc)
        } catch {
            discard()
            throw error
        }
    }

    deinit {
        if state == .open { discard() }
    }

    private func openOutput(_ oc: UnsafeMutablePointer<AVFormatContext>) throws {
        FFmpegLog.clear()
        let opened = avio_open(&oc.pointee.pb, temporaryPath, AVIO_FLAG_WRITE)
        if opened < 0 {
            throw MediaError(.writeFailed, path: path, FFmpegLog.describe(opened))
        }
        var options: OpaquePointer? = nil
        if container == .mp4 {
            // faststart: index first, so players start before the download ends;
            // use_metadata_tags: keep reel_* keys (plain MP4 keeps only iTunes-style ones).
            av_dict_set(&options, "movflags", "+faststart+use_metadata_tags", 0)
        }
        let written = avformat_write_header(oc, &options)
        av_dict_free(&options)
        if written < 0 {
            throw MediaError(.writeFailed, path: path, "cannot start the \(container.rawValue) file: \(FFmpegLog.describe(written))")
        }
    }

    /// Encodes one frame (RGB float planar, the size given at init). Frames are shown at
    /// k / frameRate in the order appended.
    public func append(frame: VideoFrame) throws {
        try checkOpen()
        guard let video else {
            throw MediaError(.invalidArgument, path: path, "the writer was opened without a video stream")
        }
        // A wrong frame is the caller's mistake, not the file's: refuse it and keep the writer.
        try video.validate(frame)
        try guarded { try video.append(frame) }
    }

    /// Encodes audio (float interleaved, the rate and channels given at init), continuing where the
    /// last call ended.
    public func append(audio pcm: PCMAudio) throws {
        try checkOpen()
        guard let audio else {
            throw MediaError(.invalidArgument, path: path, "the writer was opened without an audio stream")
        }
        try audio.validate(pcm)
        try guarded { try audio.append(pcm) }
    }

    /// Writes one packet of the copied audio stream (see `copyingAudio`), as it is. Packets are
    /// given in the order their source stores them; their times (seconds from time 0, where the
    /// first video frame is) are kept, so the audio stays where it was against the video whatever
    /// the video's frame rate.
    public func append(audioPacket: EncodedPacket) throws {
        try checkOpen()
        guard let audioCopy else {
            throw MediaError(.invalidArgument, path: path, "the writer was opened without an audio stream to copy")
        }
        try guarded { try audioCopy.append(audioPacket) }
    }

    /// Throws (`unsupportedCodec`, with the muxer's reason) unless `container` can hold `format`'s
    /// packets as they are; a writer copying it into that container would fail to start.
    public static func checkCopy(_ format: EncodedAudioFormat, into container: MediaContainer) throws {
        try AudioStreamCopy.check(format, into: container)
    }

    /// Flushes the encoders, completes the file and moves it to `path`.
    public func finish() throws {
        try checkOpen()
        try guarded {
            if let video, video.framesWritten == 0 {
                throw MediaError(.emptyStream, path: path, "no video frames were appended")
            }
            if let audio, audio.samplesIn == 0 {
                throw MediaError(.emptyStream, path: path, "no audio samples were appended")
            }
            if let audioCopy, audioCopy.packetsWritten == 0 {
                throw MediaError(.emptyStream, path: path, "no audio packets were appended")
            }
            try video?.encode(nil)
            try audio?.finish()
            guard let oc = muxer else { return }
            FFmpegLog.clear()
            let trailer = av_write_trailer(oc)
            if trailer < 0 {
                throw MediaError(.writeFailed, path: path, "cannot complete the file: \(FFmpegLog.describe(trailer))")
            }
            let closed = avio_closep(&oc.pointee.pb)
            if closed < 0 {
                throw MediaError(.writeFailed, path: path, "closing the file failed: \(FFmpegLog.describe(closed))")
            }
            if rename(temporaryPath, path) != 0 {
                throw MediaError(.writeFailed, path: path, "cannot move the finished file into place: \(String(cString: strerror(errno)))")
            }
            state = .finished
            releaseEncoders()
        }
    }

    /// Abandons the file: frees everything and removes the partial output.
    public func cancel() {
        if state == .open { discard() }
    }

    private func checkOpen() throws {
        switch state {
        case .open: return
        case .finished: throw MediaError(.invalidArgument, path: path, "the writer is already finished")
        case .failed: throw MediaError(.invalidArgument, path: path, "the writer failed earlier and was discarded")
        }
    }

    /// An encoding or writing failure ends the writer: the partial file is removed so nothing
    /// half-written remains. (Frames or audio of the wrong shape are refused before this.)
    private func guarded(_ body: () throws -> Void) throws {
        do { try body() } catch {
            discard()
            throw error
        }
    }

    private func releaseEncoders() {
        video = nil
        audio = nil
        audioCopy = nil
        if let oc = muxer {
            if oc.pointee.pb != nil { avio_closep(&oc.pointee.pb) }
            avformat_free_context(oc)
        }
        muxer = nil
    }

    private func discard() {
        if state == .open { state = .failed }
        releaseEncoders()
        unlink(temporaryPath)
    }
}
