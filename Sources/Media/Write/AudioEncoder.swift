import CFFmpeg

/// Float interleaved PCM -> the container's audio codec. swresample converts rate, layout and sample
/// format as samples arrive; an AVAudioFifo cuts them into the encoder's frame size. Only one frame's
/// worth plus the resampler's delay is ever held.
final class AudioEncoder: Encoder {
    let format: AudioFormat
    private var state: ResampleState!
    private(set) var samplesIn = 0
    private var samplesOut: Int64 = 0

    init(path: String, muxer: UnsafeMutablePointer<AVFormatContext>, container: MediaContainer,
         format: AudioFormat, settings: EncoderSettings) throws {
        self.format = format
        let codecName: String
        var sampleFormat: AVSampleFormat
        var rate = format.sampleRate
        var channels = format.channels
        switch container {
        case .mp4:
            codecName = "aac"; sampleFormat = AV_SAMPLE_FMT_FLTP; rate = 48_000; channels = 2
        case .webm:
            codecName = "libopus"; sampleFormat = AV_SAMPLE_FMT_FLT; rate = 48_000; channels = 2
        case .wav:
            codecName = "pcm_s16le"; sampleFormat = AV_SAMPLE_FMT_S16
        case .flac:
            codecName = "flac"; sampleFormat = AV_SAMPLE_FMT_S16
        }
        let bitRate = (container == .mp4 || container == .webm) ? settings.audioBitRate : 0
        let (outRate, outChannels, outFormat) = (rate, channels, sampleFormat)
        try super.init(path: path, muxer: muxer, codecName: codecName, options: [:]) { ctx in
            ctx.pointee.sample_fmt = outFormat
            ctx.pointee.sample_rate = Int32(outRate)
            av_channel_layout_default(&ctx.pointee.ch_layout, Int32(outChannels))
            ctx.pointee.time_base = AVRational(num: 1, den: Int32(outRate))
            if bitRate > 0 { ctx.pointee.bit_rate = Int64(bitRate) }
        }
        state = try ResampleState(path: path, input: format, encoder: context)
    }

    /// The resampler, the FIFO and the frame handed to the encoder, freed together.
    final class ResampleState {
        var resampler: OpaquePointer?
        let fifo: OpaquePointer
        let frame: UnsafeMutablePointer<AVFrame>
        let frameSize: Int32

        init(path: String, input: AudioFormat, encoder ctx: UnsafeMutablePointer<AVCodecContext>) throws {
            var inLayout = AVChannelLayout()
            av_channel_layout_default(&inLayout, Int32(input.channels))
            defer { av_channel_layout_uninit(&inLayout) }
            var swr: OpaquePointer? = nil
            FFmpegLog.clear()
            var ret = swr_alloc_set_opts2(&swr, &ctx.pointee.ch_layout, ctx.pointee.sample_fmt, ctx.pointee.sample_rate,
                                          &inLayout, AV_SAMPLE_FMT_FLT, Int32(input.sampleRate), 0, nil)
            if ret >= 0 { ret = swr_init(swr) }
            guard ret >= 0, let fifo = av_audio_fifo_alloc(ctx.pointee.sample_fmt, ctx.pointee.ch_layout.nb_channels, 4096) else {
                swr_free(&swr)
                throw MediaError(.writeFailed, path: path,
                                 "cannot convert \(input.sampleRate) Hz \(input.channels)-channel audio for the encoder: \(FFmpegLog.describe(ret))")
            }
            resampler = swr
            self.fifo = fifo
            // Encoders with a variable frame size (PCM) take any size; cut those into 1024-sample frames.
            frameSize = ctx.pointee.frame_size > 0 ? ctx.pointee.frame_size : 1024
            frame = av_frame_alloc()
        }

        deinit {
            swr_free(&resampler)
            av_audio_fifo_free(fifo)
            var f: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&f)
        }
    }

    func validate(_ audio: PCMAudio) throws {
        guard audio.sampleRate == format.sampleRate, audio.channels == format.channels else {
            throw MediaError(.invalidArgument, path: path,
                             "audio is \(audio.sampleRate) Hz \(audio.channels) ch but the writer was opened for " +
                             "\(format.sampleRate) Hz \(format.channels) ch")
        }
    }

    func append(_ audio: PCMAudio) throws {
        try validate(audio)
        if audio.frameCount == 0 { return }
        samplesIn += audio.frameCount
        try audio.samples.withUnsafeBufferPointer { buf in
            var input: UnsafePointer<UInt8>? = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
            try resample(&input, count: audio.frameCount)
        }
        try drain(final: false)
    }

    /// Flushes the resampler and the FIFO (the last frame may be short), then the encoder.
    func finish() throws {
        try resample(nil, count: 0)
        try drain(final: true)
        try encode(nil)
    }

    private func resample(_ input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int) throws {
        let capacity = swr_get_out_samples(state.resampler, Int32(count)) + 64
        guard av_audio_fifo_realloc(state.fifo, av_audio_fifo_size(state.fifo) + capacity) >= 0 else {
            throw MediaError(.writeFailed, path: path, "out of memory buffering audio")
        }
        // Convert into a scratch buffer, then queue in the FIFO.
        var scratch: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>? = nil
        let channels = context.pointee.ch_layout.nb_channels
        guard av_samples_alloc_array_and_samples(&scratch, nil, channels, capacity, context.pointee.sample_fmt, 0) >= 0,
              let scratch else {
            throw MediaError(.writeFailed, path: path, "out of memory converting audio")
        }
        defer {
            av_freep(UnsafeMutableRawPointer(scratch))   // the samples (one block for all planes)
            var array: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>? = scratch
            av_freep(&array)
        }
        let produced = swr_convert(state.resampler, scratch, capacity, input, Int32(count))
        guard produced >= 0 else {
            throw MediaError(.writeFailed, path: path, "resampling audio failed: \(FFmpegLog.describe(produced))")
        }
        if produced > 0 {
            let written = scratch.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: Int(channels)) {
                av_audio_fifo_write(state.fifo, $0, produced)
            }
            guard written == produced else {
                throw MediaError(.writeFailed, path: path, "buffering audio failed")
            }
        }
    }

    private func drain(final: Bool) throws {
        let fifo = state.fifo, frame = state.frame
        while av_audio_fifo_size(fifo) >= state.frameSize || (final && av_audio_fifo_size(fifo) > 0) {
            let n = min(state.frameSize, av_audio_fifo_size(fifo))
            av_frame_unref(frame)
            frame.pointee.nb_samples = n
            frame.pointee.format = context.pointee.sample_fmt.rawValue
            frame.pointee.sample_rate = context.pointee.sample_rate
            av_channel_layout_copy(&frame.pointee.ch_layout, &context.pointee.ch_layout)
            guard av_frame_get_buffer(frame, 0) >= 0 else {
                throw MediaError(.writeFailed, path: path, "out of memory for an audio frame")
            }
            let read = frame.pointee.extended_data.withMemoryRebound(to: UnsafeMutableRawPointer?.self,
                                                                     capacity: Int(context.pointee.ch_layout.nb_channels)) {
                av_audio_fifo_read(fifo, $0, n)
            }
            guard read == n else { throw MediaError(.writeFailed, path: path, "reading buffered audio failed") }
            frame.pointee.pts = samplesOut
            samplesOut += Int64(n)
            try encode(frame)
        }
    }
}
