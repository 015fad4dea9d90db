import CFFmpeg
import Foundation

/// What a file holds, read from its headers without decoding (FFmpeg's stream-info pass runs only
/// when a header leaves a codec's parameters unknown, as with raw H.264 or MPEG-TS).
public struct MediaInfo: Sendable, Equatable {
    public var path: String
    /// FFmpeg's demuxer name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2", and its long name.
    public var formatName: String
    public var formatLongName: String
    /// Seconds; nil when the container does not say (a still image, a raw stream).
    public var duration: Double?
    public var bitRate: Int?
    public var fileSize: Int
    public var streams: [StreamInfo]
    /// Container tags as stored (MP4 keys, Matroska tags, Vorbis comments, PNG text chunks).
    public var tags: [String: String]
    /// reel's AI-generated label, when the file carries one.
    public var label: GenerationLabel?
    /// Where the container's index says the streams' data ends (the furthest packet's offset plus its size),
    /// when the header carries an index (MP4/MOV: its moov; Matroska: its cues). Past `fileSize`, the file
    /// was cut short after its header: it opens, but the packets beyond its end are gone.
    public var indexedEnd: Int?

    /// The header promises more bytes than the file holds (a copy or download stopped early).
    public var isCutShort: Bool { indexedEnd.map { $0 > fileSize } ?? false }

    public var video: StreamInfo? { streams.first { $0.kind == .video } }
    public var audio: StreamInfo? { streams.first { $0.kind == .audio } }
}

public struct StreamInfo: Sendable, Equatable {
    public enum Kind: String, Sendable { case video, audio, subtitle, data, attachment, unknown }
    public var index: Int
    public var kind: Kind
    /// FFmpeg's codec name ("h264", "aac"), or the container's tag when FFmpeg does not know the codec.
    public var codecName: String
    public var codecLongName: String
    /// Whether this FFmpeg can decode the stream.
    public var decodable: Bool
    public var duration: Double?
    /// Frames or packets the container's index lists (nil when it does not say).
    public var frameCount: Int?
    public var bitRate: Int?
    // Video
    public var width: Int?
    public var height: Int?
    public var frameRate: FrameRate?
    public var pixelFormat: String?
    // Audio
    public var sampleRate: Int?
    public var channels: Int?
    public var channelLayout: String?
    public var sampleFormat: String?
    public var tags: [String: String]
}

/// Probes a file (see `MediaInfo`). Errors name the file and the reason (`MediaError`).
public func probe(_ path: String) throws -> MediaInfo {
    try MediaProbe.probe(path)
}

public enum MediaProbe {
    public static func probe(_ path: String) throws -> MediaInfo {
        let input = try InputFile(path: path, streamInfo: .whenHeadersLack)
        let ctx = input.context
        let fmt = ctx.pointee.iformat.pointee
        var tags = input.tags
        let formatName = String(cString: fmt.name)
        if formatName.contains("png"), let bytes = FileManager.default.contents(atPath: path) {
            // PNG keeps text in chunks that FFmpeg's demuxer does not surface as format tags.
            for (k, v) in PNGTextChunks.read(Array(bytes)) { tags[k] = v }
        }
        let streams = input.streams.map(streamInfo)
        if streams.isEmpty {
            throw MediaError(.noStream, path: path, "the \(formatName) file holds no streams")
        }
        for s in streams where s.kind == .video {
            if let w = s.width, let h = s.height, w > 0, h > 0 {
                try MediaLimits.check(PixelSize(w, h), path: path, what: "the video stream's size")
            }
        }
        var st = stat()
        let size = stat(path, &st) == 0 ? Int(st.st_size) : 0
        let d = ctx.pointee.duration
        return MediaInfo(
            path: path,
            formatName: formatName,
            formatLongName: fmt.long_name.map { String(cString: $0) } ?? formatName,
            duration: d > 0 ? Double(d) / Double(AV_TIME_BASE) : nil,
            bitRate: ctx.pointee.bit_rate > 0 ? Int(ctx.pointee.bit_rate) : nil,
            fileSize: size,
            streams: streams,
            tags: tags,
            label: GenerationLabel(tags: tags),
            indexedEnd: indexedEnd(ctx))
    }

    /// The furthest byte any stream's index points at (nil when no stream has an index). MP4's index lists
    /// every packet with its size; Matroska's cues list cluster starts, whose size they do not give.
    static func indexedEnd(_ ctx: UnsafeMutablePointer<AVFormatContext>) -> Int? {
        var end: Int64? = nil
        for i in 0 ..< Int(ctx.pointee.nb_streams) {
            guard let stream = ctx.pointee.streams[i] else { continue }
            for k in 0 ..< avformat_index_get_entries_count(stream) {
                guard let e = avformat_index_get_entry(stream, k)?.pointee, e.pos >= 0 else { continue }
                end = max(end ?? 0, e.pos + Int64(max(e.size, 0)))
            }
        }
        return end.map { Int($0) }
    }

    static func streamInfo(_ stream: UnsafeMutablePointer<AVStream>) -> StreamInfo {
        let par = stream.pointee.codecpar.pointee
        let kind: StreamInfo.Kind
        switch par.codec_type {
        case AVMEDIA_TYPE_VIDEO: kind = .video
        case AVMEDIA_TYPE_AUDIO: kind = .audio
        case AVMEDIA_TYPE_SUBTITLE: kind = .subtitle
        case AVMEDIA_TYPE_DATA: kind = .data
        case AVMEDIA_TYPE_ATTACHMENT: kind = .attachment
        default: kind = .unknown
        }
        let descriptor = avcodec_descriptor_get(par.codec_id)
        let tb = stream.pointee.time_base
        let duration = stream.pointee.duration > 0 ? Double(stream.pointee.duration) * av_q2d(tb) : nil
        var info = StreamInfo(
            index: Int(stream.pointee.index), kind: kind,
            codecName: StreamDecoder.codecName(stream.pointee.codecpar),
            codecLongName: descriptor.flatMap { $0.pointee.long_name.map { String(cString: $0) } } ?? "unknown",
            decodable: avcodec_find_decoder(par.codec_id) != nil,
            duration: duration,
            frameCount: stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil,
            bitRate: par.bit_rate > 0 ? Int(par.bit_rate) : nil,
            tags: InputFile.dictionary(stream.pointee.metadata))
        if kind == .video {
            info.width = Int(par.width)
            info.height = Int(par.height)
            let r = stream.pointee.avg_frame_rate.num > 0 ? stream.pointee.avg_frame_rate : stream.pointee.r_frame_rate
            if r.num > 0 && r.den > 0 { info.frameRate = FrameRate(Int(r.num), Int(r.den)) }
            info.pixelFormat = par.format >= 0 ? VideoReader.pixelFormatName(par.format) : nil
        } else if kind == .audio {
            info.sampleRate = Int(par.sample_rate)
            info.channels = Int(par.ch_layout.nb_channels)
            var buffer = [CChar](repeating: 0, count: 128)
            var layout = par.ch_layout
            if av_channel_layout_describe(&layout, &buffer, buffer.count) > 0 {
                info.channelLayout = String(cString: buffer)
            }
            info.sampleFormat = par.format >= 0
                ? av_get_sample_fmt_name(AVSampleFormat(par.format)).map { String(cString: $0) } : nil
        }
        return info
    }
}
