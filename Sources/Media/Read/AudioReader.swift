import CFFmpeg

/// Reads the audio of any file FFmpeg decodes as float interleaved PCM at a requested sample rate and
/// channel count (FFmpeg's default layout for that count; swresample mixes up or down), a chunk per
/// `next()`. Memory stays bounded: one decoded frame and the resampler's small delay line.
///
/// Time: the first sample returned is at time 0 of the file (its start time, shared with the video),
/// so audio and video read from one file line up. If the audio stream starts later, silence fills
/// the gap; if it starts earlier, the samples before 0 are dropped.
public final class AudioReader {
    public let path: String
    public let sampleRate: Int
    public let channels: Int
    /// The stream as stored.
    public let sourceSampleRate: Int
    public let sourceChannels: Int
    public let duration: Double?

    private let decoder: StreamDecoder
    private var resampler: OpaquePointer? = nil
    private var resamplerInput: (layout: AVChannelLayout, format: Int32, rate: Int32)? = nil
    private var outputLayout = AVChannelLayout()
    private var started = false
    private var flushed = false
    private var framesOut = 0

    /// - Parameters:
    ///   - channels: output channel count, in FFmpeg's default layout for that count.
    ///   - layout: an FFmpeg channel layout name instead ("mono", "stereo", "5.1", "FL+FR+LFE", ...);
    ///     the output is interleaved in that layout's order and `channels` is its count.
    public init(path: String, sampleRate: Int = 48_000, channels: Int = 2, layout: String? = nil,
                threads: Int = 0) throws {
        self.path = path
        var requested = AVChannelLayout()
        if let layout {
            guard av_channel_layout_from_string(&requested, layout) == 0, requested.nb_channels > 0 else {
                av_channel_layout_uninit(&requested)
                throw MediaError(.invalidArgument, path: path, "'\(layout)' is not a channel layout FFmpeg knows")
            }
        } else {
            av_channel_layout_default(&requested, Int32(channels))
        }
        let channels = Int(requested.nb_channels)
        outputLayout = requested
        guard sampleRate > 0, sampleRate <= MediaLimits.maxSampleRate else {
            throw MediaError(.invalidArgument, path: path, "sample rate \(sampleRate) Hz is not in 1 ... \(MediaLimits.maxSampleRate)")
        }
        guard channels > 0, channels <= MediaLimits.maxChannels else {
            throw MediaError(.invalidArgument, path: path, "channel count \(channels) is not in 1 ... \(MediaLimits.maxChannels)")
        }
        self.sampleRate = sampleRate
        self.channels = channels
        let input = try InputFile(path: path, streamInfo: .always)
        decoder = try StreamDecoder(input: input, type: AVMEDIA_TYPE_AUDIO, threads: threads)
        let par = decoder.stream.pointee.codecpar.pointee
        sourceSampleRate = Int(par.sample_rate)
        sourceChannels = Int(par.ch_layout.nb_channels)
        let d = input.context.pointee.duration
        duration = d > 0 ? Double(d) / Double(AV_TIME_BASE) : nil
    }

    deinit {
        swr_free(&resampler)
        if var input = resamplerInput?.layout { av_channel_layout_uninit(&input) }
        av_channel_layout_uninit(&outputLayout)
    }

    /// The next chunk (a decoded frame's worth, resampled), or nil at the end.
    public func next() throws -> PCMAudio? {
        while true {
            if flushed { return nil }
            guard try decoder.decodeNext() else {
                flushed = true
                guard resampler != nil else { return nil }
                let tail = try convert(nil, count: 0)
                return tail.isEmpty ? nil : chunk(tail)
            }
            let frame = decoder.frame
            try prepareResampler(for: frame)
            var out: [Float] = []
            if !started {
                started = true
                // Line the first sample up with time 0 of the file.
                let t = decoder.frameTime() ?? 0
                if t > 0.0005 {
                    out = [Float](repeating: 0, count: Int((min(t, 3600) * Double(sampleRate)).rounded()) * channels)
                } else if t < -0.0005 {
                    let drop = Int((min(-t, 3600) * Double(sampleRate)).rounded())
                    swr_drop_output(resampler, Int32(drop))
                }
            }
            guard let planes = frame.pointee.extended_data else {
                throw MediaError(.decodeFailed, path: path, "the decoder returned a frame without samples")
            }
            let converted = try planes.withMemoryRebound(to: UnsafePointer<UInt8>?.self,
                                                         capacity: Int(frame.pointee.ch_layout.nb_channels)) {
                try convert($0, count: Int(frame.pointee.nb_samples))
            }
            out += converted
            if !out.isEmpty { return chunk(out) }
        }
    }

    /// Reads all remaining audio into one buffer (for clips; use `next()` to keep memory bounded).
    public func readAll() throws -> PCMAudio {
        var all = PCMAudio(samples: [], sampleRate: sampleRate, channels: channels, time: Double(framesOut) / Double(sampleRate))
        while let c = try next() { all.append(c) }
        return all
    }

    private func chunk(_ samples: [Float]) -> PCMAudio {
        let time = Double(framesOut) / Double(sampleRate)
        framesOut += samples.count / channels
        return PCMAudio(samples: samples, sampleRate: sampleRate, channels: channels, time: time)
    }

    private func prepareResampler(for frame: UnsafeMutablePointer<AVFrame>) throws {
        var layout = AVChannelLayout()
        if frame.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || frame.pointee.ch_layout.nb_channels == 0 {
            let n = frame.pointee.ch_layout.nb_channels > 0 ? frame.pointee.ch_layout.nb_channels
                                                            : decoder.stream.pointee.codecpar.pointee.ch_layout.nb_channels
            av_channel_layout_default(&layout, n)
        } else {
            av_channel_layout_copy(&layout, &frame.pointee.ch_layout)
        }
        if var current = resamplerInput {
            if current.format == frame.pointee.format && current.rate == frame.pointee.sample_rate &&
                av_channel_layout_compare(&current.layout, &layout) == 0 {
                av_channel_layout_uninit(&layout)
                return
            }
            // The stream changed mid-way: a new resampler (what is buffered in the old one is lost).
            av_channel_layout_uninit(&current.layout)
            resamplerInput = nil
            swr_free(&resampler)
        }
        FFmpegLog.clear()
        var ret = swr_alloc_set_opts2(&resampler, &outputLayout, AV_SAMPLE_FMT_FLT, Int32(sampleRate),
                                      &layout, AVSampleFormat(frame.pointee.format), frame.pointee.sample_rate, 0, nil)
        if ret >= 0 { ret = swr_init(resampler) }
        if ret < 0 {
            av_channel_layout_uninit(&layout)
            swr_free(&resampler)
            throw MediaError(.decodeFailed, path: path,
                             "cannot resample \(frame.pointee.sample_rate) Hz audio to \(sampleRate) Hz: \(FFmpegLog.describe(ret))")
        }
        resamplerInput = (layout, frame.pointee.format, frame.pointee.sample_rate)
    }

    private func convert(_ input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int) throws -> [Float] {
        let capacity = Int(swr_get_out_samples(resampler, Int32(count))) + 32
        var out = [Float](repeating: 0, count: capacity * channels)
        let produced = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            var plane: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
            return withUnsafeMutablePointer(to: &plane) { planes in
                swr_convert(resampler, planes, Int32(capacity), input, Int32(count))
            }
        }
        if produced < 0 {
            throw MediaError(.decodeFailed, path: path, "resampling failed: \(FFmpegLog.describe(produced))")
        }
        out.removeLast(out.count - Int(produced) * channels)
        return out
    }
}
