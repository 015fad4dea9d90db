import CFFmpeg

/// Reads a file's audio stream as the compressed packets it stores, without decoding: the source of
/// a stream copy (`MediaWriter(copyingAudio:)`, like `ffmpeg -c:a copy`). The stream is the one
/// `AudioReader` would decode (FFmpeg's best audio stream). Memory: one packet.
///
/// Time: packet times are shifted so that 0 is time 0 of the file (its start time, shared with the
/// video), as `VideoReader` and `AudioReader` count; the bytes are untouched.
///
/// A damaged or short stream is reported as `AudioReader` reports it: a read error, a cut-short
/// packet, fewer packets than the index lists, or a stream ending well before its stated duration
/// is a `truncated` error when the reader reaches it (after the packets before it).
public final class AudioPacketReader {
    public let path: String
    /// What a writer needs to carry the packets: codec, its parameters, the packets' time base.
    public let format: EncodedAudioFormat
    /// Seconds, when the container says.
    public let duration: Double?

    private let input: InputFile
    private let stream: UnsafeMutablePointer<AVStream>
    private let packet: UnsafeMutablePointer<AVPacket>
    /// Time 0 of the file in the stream's time base.
    private let origin: Int64
    private var packetsRead = 0
    private var finished = false
    private var coveredUntil: Int64 = 0
    private var nextTimestamp: Int64? = nil

    public init(path: String) throws {
        self.path = path
        let input = try InputFile(path: path, streamInfo: .whenHeadersLack)
        self.input = input
        let index = av_find_best_stream(input.context, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        guard index >= 0, let stream = input.context.pointee.streams[Int(index)] else { throw input.missingStreamError("audio") }
        self.stream = stream
        let par = stream.pointee.codecpar!
        guard par.pointee.codec_id != AV_CODEC_ID_NONE else {
            throw MediaError(.unsupportedCodec, path: path,
                             "FFmpeg does not know the audio codec '\(StreamDecoder.codecName(par))', so it cannot be copied")
        }
        let rate = Int(par.pointee.sample_rate), channels = Int(par.pointee.ch_layout.nb_channels)
        guard rate > 0, rate <= MediaLimits.maxSampleRate, channels > 0, channels <= MediaLimits.maxChannels else {
            throw MediaError(.truncated, path: path, "the audio stream claims \(rate) Hz and \(channels) channels")
        }
        format = try EncodedAudioFormat(path: path, parameters: par, timeBase: stream.pointee.time_base)
        let start = input.context.pointee.start_time
        origin = start == noTimestamp ? 0
            : av_rescale_q(start, AVRational(num: 1, den: Int32(AV_TIME_BASE)), stream.pointee.time_base)
        let d = input.context.pointee.duration
        duration = d > 0 ? Double(d) / Double(AV_TIME_BASE) : nil
        packet = av_packet_alloc()
        // Only this stream is read; telling the demuxer lets it skip the others' data.
        for s in input.streams where s != stream { s.pointee.discard = AVDISCARD_ALL }
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// The next packet, or nil at the end of the stream. Throws `truncated` where the stream proves
    /// damaged or short.
    public func next() throws -> EncodedPacket? {
        if finished { return nil }
        while true {
            FFmpegLog.clear()
            let read = av_read_frame(input.context, packet)
            if read < 0 {
                finished = true
                if read != AVErrorCode.eof {
                    throw MediaError(.truncated, path: path, "reading the audio stopped: \(FFmpegLog.describe(read))")
                }
                try checkCompleteness()
                return nil
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == stream.pointee.index else { continue }
            packetsRead += 1
            if packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
                finished = true
                throw MediaError(.truncated, path: path, "audio packet \(packetsRead) is cut short")
            }
            return try take()
        }
    }

    /// Moves the current packet into an `EncodedPacket`, its times counted from the file's time 0.
    private func take() throws -> EncodedPacket {
        var pts = packet.pointee.pts, dts = packet.pointee.dts
        // Raw streams (ADTS, MP3 without an index) may leave times out: continue from the last packet.
        if pts == noTimestamp && dts == noTimestamp {
            guard let t = nextTimestamp else {
                throw MediaError(.truncated, path: path, "audio packet \(packetsRead) has no time stamp")
            }
            pts = t + origin
            dts = pts
        }
        if pts == noTimestamp { pts = dts }
        if dts == noTimestamp { dts = pts }
        packet.pointee.pts = pts - origin
        packet.pointee.dts = dts - origin
        packet.pointee.pos = -1
        let end = packet.pointee.pts + max(packet.pointee.duration, 0)
        nextTimestamp = end
        coveredUntil = max(coveredUntil, end)
        return EncodedPacket(moving: packet, timeBase: stream.pointee.time_base)
    }

    private func checkCompleteness() throws {
        let expected = Int(stream.pointee.nb_frames)
        if expected > 0 && packetsRead < expected {
            throw MediaError(.truncated, path: path, "the audio stream ends after \(packetsRead) of \(expected) packets")
        }
        if packetsRead == 0 {
            throw MediaError(.emptyStream, path: path, "the audio stream holds no packets")
        }
        // Containers without a packet count (Matroska, Ogg) still state a duration.
        let covered = Double(coveredUntil) * av_q2d(stream.pointee.time_base)
        if stream.pointee.duration > 0 {
            let stated = Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
            if stated > 0.2, covered < stated * 0.9 - 0.05 {
                throw MediaError(.truncated, path: path,
                                 String(format: "the audio stream ends at %.2f s of the %.2f s its header states", covered, stated))
            }
        }
    }
}
