import CFFmpeg

/// An output audio stream fed with another file's packets as they are (a stream copy): the codec
/// parameters are copied, every packet's bytes go to the muxer untouched, only its times are
/// rescaled to the output stream's time base. The muxer interleaves them with the video.
final class AudioStreamCopy {
    let path: String
    let format: EncodedAudioFormat
    let stream: UnsafeMutablePointer<AVStream>
    private let muxer: UnsafeMutablePointer<AVFormatContext>
    private let scratch: UnsafeMutablePointer<AVPacket>
    private(set) var packetsWritten = 0

    init(path: String, muxer: UnsafeMutablePointer<AVFormatContext>, format: EncodedAudioFormat) throws {
        self.path = path
        self.muxer = muxer
        self.format = format
        guard let stream = avformat_new_stream(muxer, nil) else {
            throw MediaError(.writeFailed, path: path, "out of memory adding the audio stream")
        }
        try Self.configure(stream, format: format, path: path)
        self.stream = stream
        scratch = av_packet_alloc()
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = scratch
        av_packet_free(&p)
    }

    static func configure(_ stream: UnsafeMutablePointer<AVStream>, format: EncodedAudioFormat, path: String) throws {
        guard avcodec_parameters_copy(stream.pointee.codecpar, format.parameters) >= 0 else {
            throw MediaError(.writeFailed, path: path, "out of memory copying the audio stream's parameters")
        }
        // The source container's tag means nothing to another muxer: let this one choose its own.
        stream.pointee.codecpar.pointee.codec_tag = 0
        stream.pointee.time_base = format.timeBase
    }

    func append(_ packet: EncodedPacket) throws {
        guard av_packet_ref(scratch, packet.packet) >= 0 else {
            throw MediaError(.writeFailed, path: path, "out of memory for an audio packet")
        }
        // The muxer may have chosen another time base in avformat_write_header.
        av_packet_rescale_ts(scratch, packet.timeBase, stream.pointee.time_base)
        scratch.pointee.stream_index = stream.pointee.index
        FFmpegLog.clear()
        let written = av_interleaved_write_frame(muxer, scratch)  // takes the reference
        if written < 0 {
            av_packet_unref(scratch)
            throw MediaError(.writeFailed, path: path, "writing a copied audio packet failed: \(FFmpegLog.describe(written))")
        }
        packetsWritten += 1
    }

    /// Whether `container`'s muxer takes this stream as it is, found by starting such a file in
    /// memory: the muxer's own checks decide (its codec list, and codecs it holds only as
    /// experimental, like FLAC and Opus in MP4 for FFmpeg 5.1). Throws the muxer's reason when not.
    static func check(_ format: EncodedAudioFormat, into container: MediaContainer) throws {
        let what = "\(format.codecName) audio cannot be copied into \(container.rawValue)"
        FFmpegLog.install()
        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_alloc_output_context2(&oc, nil, container.muxerName, nil) >= 0, let oc else {
            throw MediaError(.writeFailed, path: format.path, "FFmpeg has no \(container.rawValue) muxer")
        }
        defer { avformat_free_context(oc) }
        if avformat_query_codec(oc.pointee.oformat, format.parameters.pointee.codec_id, FF_COMPLIANCE_NORMAL) != 1 {
            throw MediaError(.unsupportedCodec, path: format.path, "\(what): the \(container.rawValue) muxer does not take it")
        }
        guard let stream = avformat_new_stream(oc, nil) else {
            throw MediaError(.writeFailed, path: format.path, "out of memory")
        }
        try configure(stream, format: format, path: format.path)
        guard avio_open_dyn_buf(&oc.pointee.pb) >= 0 else { throw MediaError(.writeFailed, path: format.path, "out of memory") }
        defer {
            var buffer: UnsafeMutablePointer<UInt8>? = nil
            avio_close_dyn_buf(oc.pointee.pb, &buffer)
            av_free(buffer)
            oc.pointee.pb = nil
        }
        FFmpegLog.clear()
        let ret = avformat_write_header(oc, nil)
        if ret < 0 {
            throw MediaError(.unsupportedCodec, path: format.path, "\(what): \(FFmpegLog.describe(ret))")
        }
    }
}
