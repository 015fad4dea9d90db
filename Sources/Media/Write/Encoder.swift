import CFFmpeg

/// One encoder feeding one stream of the muxer. Video and audio encoders share the drain loop.
class Encoder {
    let path: String
    let context: UnsafeMutablePointer<AVCodecContext>
    let stream: UnsafeMutablePointer<AVStream>
    private let packet: UnsafeMutablePointer<AVPacket>
    private let muxer: UnsafeMutablePointer<AVFormatContext>

    /// Allocates the codec context for `codecName`, lets `configure` set it up, opens it with
    /// `options`, and adds the stream to `muxer`.
    init(path: String, muxer: UnsafeMutablePointer<AVFormatContext>, codecName: String,
         options: [String: String], configure: (UnsafeMutablePointer<AVCodecContext>) -> Void) throws {
        self.path = path
        self.muxer = muxer
        guard let codec = avcodec_find_encoder_by_name(codecName) else {
            throw MediaError(.unsupportedCodec, path: path, "this FFmpeg has no '\(codecName)' encoder")
        }
        guard let ctx = avcodec_alloc_context3(codec), let stream = avformat_new_stream(muxer, nil) else {
            throw MediaError(.writeFailed, path: path, "out of memory setting up the \(codecName) encoder")
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = ctx
        configure(ctx)
        if muxer.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var dict: OpaquePointer? = nil
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        FFmpegLog.clear()
        var ret = avcodec_open2(ctx, codec, &dict)
        av_dict_free(&dict)
        if ret >= 0 {
            ret = avcodec_parameters_from_context(stream.pointee.codecpar, ctx)
            stream.pointee.time_base = ctx.pointee.time_base
        }
        if ret < 0 {
            let detail = FFmpegLog.describe(ret)
            avcodec_free_context(&owned)
            throw MediaError(.writeFailed, path: path, "cannot open the \(codecName) encoder: \(detail)")
        }
        context = ctx
        self.stream = stream
        packet = av_packet_alloc()
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
    }

    /// Sends a frame (nil flushes) and writes every packet the encoder has ready.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>?) throws {
        FFmpegLog.clear()
        let sent = avcodec_send_frame(context, frame)
        if sent < 0 && !(frame == nil && sent == AVErrorCode.eof) {
            throw MediaError(.writeFailed, path: path, "the encoder refused a frame: \(FFmpegLog.describe(sent))")
        }
        while true {
            let got = avcodec_receive_packet(context, packet)
            if got == AVErrorCode.again || got == AVErrorCode.eof { return }
            if got < 0 {
                throw MediaError(.writeFailed, path: path, "encoding failed: \(FFmpegLog.describe(got))")
            }
            av_packet_rescale_ts(packet, context.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            FFmpegLog.clear()
            let written = av_interleaved_write_frame(muxer, packet)  // takes the packet's reference
            if written < 0 {
                throw MediaError(.writeFailed, path: path, "writing a packet failed: \(FFmpegLog.describe(written))")
            }
        }
    }

    /// The muxer rewrites stream time bases in avformat_write_header; packets are rescaled on write.
    func allocFrame() -> UnsafeMutablePointer<AVFrame> { av_frame_alloc() }
}
