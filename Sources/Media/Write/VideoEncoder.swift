import CFFmpeg

/// RGB float frames -> yuv420p -> H.264 or VP9 packets. Frames are converted and encoded as they
/// arrive; nothing but the encoder's own lookahead is kept.
///
/// Odd sizes: 4:2:0 H.264 needs an even width and height, so the picture is padded by one column or
/// row that repeats the edge pixels; the stream is coded at the even size and the true size is written
/// as the `reel_source_size` tag, which `VideoReader` uses to crop it back. VP9 codes odd sizes as they
/// are. Colour: BT.709 matrix, limited range, tagged so in the stream.
final class VideoEncoder: Encoder {
    let format: VideoFormat
    let codedSize: PixelSize
    private let buffers: ConversionBuffers
    private var rgb: UnsafeMutablePointer<AVFrame> { buffers.rgb }
    private var yuv: UnsafeMutablePointer<AVFrame> { buffers.yuv }
    private var scaler: OpaquePointer { buffers.scaler }
    private(set) var framesWritten = 0

    init(path: String, muxer: UnsafeMutablePointer<AVFormatContext>, container: MediaContainer,
         format: VideoFormat, settings: EncoderSettings) throws {
        self.format = format
        let padToEven = container == .mp4
        let coded = PixelSize(padToEven ? (format.width + 1) & ~1 : format.width,
                              padToEven ? (format.height + 1) & ~1 : format.height)
        codedSize = coded
        let codecName: String
        var options: [String: String] = [:]
        switch container {
        case .mp4:
            codecName = "libx264"
            options["preset"] = settings.preset
            options["crf"] = String(settings.crf ?? 18)
            if let n = settings.lookahead { options["rc-lookahead"] = String(n) }
            var x264Params: [String] = []
            if let n = settings.syncLookahead { x264Params.append("sync-lookahead=\(n)") }
            if let kernels = VideoEncoder.x264Kernels { x264Params.append("asm=\(kernels)") }
            if !x264Params.isEmpty { options["x264-params"] = x264Params.joined(separator: ":") }
        default:
            codecName = "libvpx-vp9"
            options["crf"] = String(settings.crf ?? 31)
            options["b"] = "0"                // constant quality, no bit-rate target
            options["deadline"] = "good"
            options["cpu-used"] = String(settings.vp9Speed)
            options["row-mt"] = "1"
        }
        let rate = format.frameRate
        buffers = try ConversionBuffers(path: path, size: coded)
        try super.init(path: path, muxer: muxer, codecName: codecName, options: options) { ctx in
            ctx.pointee.width = Int32(coded.width)
            ctx.pointee.height = Int32(coded.height)
            ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            ctx.pointee.time_base = AVRational(num: Int32(rate.denominator), den: Int32(rate.numerator))
            ctx.pointee.framerate = AVRational(num: Int32(rate.numerator), den: Int32(rate.denominator))
            ctx.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
            ctx.pointee.thread_count = Int32(settings.threads)
            ctx.pointee.color_primaries = AVCOL_PRI_BT709
            ctx.pointee.color_trc = AVCOL_TRC_BT709
            ctx.pointee.colorspace = AVCOL_SPC_BT709
            ctx.pointee.color_range = AVCOL_RANGE_MPEG
        }
        stream.pointee.avg_frame_rate = context.pointee.framerate
        stream.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
    }

    /// The instruction sets x264 may use, or nil for all it detects. Debian 12's x264 (core 164) reads
    /// heap memory it never wrote in its AVX-512 kernels when macroblock-tree rate control meets
    /// B-frames, so on an AVX-512 CPU the same frames encoded to different streams from one run (or
    /// one job of a long-lived reeld) to the next: visibly different pixels for one seed. Its AVX2
    /// kernels are repeatable and as fast here (docs/media.md); every AVX-512 CPU has what "AVX2"
    /// names (AVX, FMA3, BMI1/2, LZCNT), so the list never asks for an instruction the CPU lacks.
    static let x264Kernels: String? = av_get_cpu_flags() & AV_CPU_FLAG_AVX512 != 0 ? "SSE2Fast,AVX2" : nil

    /// The GBRP and yuv420p frames and the swscale context, owned together so that a failure part
    /// way through set-up frees what was made.
    final class ConversionBuffers {
        let rgb: UnsafeMutablePointer<AVFrame>
        let yuv: UnsafeMutablePointer<AVFrame>
        let scaler: OpaquePointer

        init(path: String, size: PixelSize) throws {
            rgb = av_frame_alloc()
            yuv = av_frame_alloc()
            for (frame, pixelFormat) in [(rgb, AV_PIX_FMT_GBRP), (yuv, AV_PIX_FMT_YUV420P)] {
                frame.pointee.format = pixelFormat.rawValue
                frame.pointee.width = Int32(size.width)
                frame.pointee.height = Int32(size.height)
            }
            yuv.pointee.color_primaries = AVCOL_PRI_BT709
            yuv.pointee.color_trc = AVCOL_TRC_BT709
            yuv.pointee.colorspace = AVCOL_SPC_BT709
            yuv.pointee.color_range = AVCOL_RANGE_MPEG
            guard av_frame_get_buffer(rgb, 0) >= 0, av_frame_get_buffer(yuv, 0) >= 0,
                  let scaler = sws_getContext(Int32(size.width), Int32(size.height), AV_PIX_FMT_GBRP,
                                              Int32(size.width), Int32(size.height), AV_PIX_FMT_YUV420P,
                                              SWS_BICUBIC, nil, nil, nil) else {
                var r: UnsafeMutablePointer<AVFrame>? = rgb, y: UnsafeMutablePointer<AVFrame>? = yuv
                av_frame_free(&r)
                av_frame_free(&y)
                throw MediaError(.writeFailed, path: path, "cannot set up RGB to YUV conversion at \(size)")
            }
            self.scaler = scaler
            // Full-range RGB in, BT.709 limited-range YUV out.
            let bt709 = sws_getCoefficients(SWS_CS_ITU709)
            sws_setColorspaceDetails(scaler, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16)
        }

        deinit {
            sws_freeContext(scaler)
            var r: UnsafeMutablePointer<AVFrame>? = rgb, y: UnsafeMutablePointer<AVFrame>? = yuv
            av_frame_free(&r)
            av_frame_free(&y)
        }
    }

    func validate(_ frame: VideoFrame) throws {
        guard frame.width == format.width, frame.height == format.height else {
            throw MediaError(.invalidArgument, path: path,
                             "frame is \(frame.width)x\(frame.height) but the writer was opened for \(format.width)x\(format.height)")
        }
        guard frame.pixels.count == 3 * frame.width * frame.height else {
            throw MediaError(.invalidArgument, path: path,
                             "frame holds \(frame.pixels.count) floats, not 3 x \(frame.width) x \(frame.height)")
        }
    }

    func append(_ frame: VideoFrame) throws {
        try validate(frame)
        guard av_frame_make_writable(rgb) >= 0, av_frame_make_writable(yuv) >= 0 else {
            throw MediaError(.writeFailed, path: path, "out of memory for a frame")
        }
        let plane = frame.width * frame.height
        frame.pixels.withUnsafeBufferPointer { px in
            // GBRP holds G, B, R in planes 0, 1, 2.
            for (channel, planeIndex) in [(0, 2), (1, 0), (2, 1)] {
                PixelConversion.quantize(px.baseAddress! + channel * plane, srcWidth: frame.width, srcHeight: frame.height,
                                         into: planePointer(rgb, planeIndex), dstStride: Int(lineSize(rgb, planeIndex)),
                                         dstWidth: codedSize.width, dstHeight: codedSize.height)
            }
        }
        let converted = withPlanes(rgb) { srcData, srcStride in
            withPlanes(yuv) { dstData, dstStride in
                sws_scale(scaler, srcData.map { UnsafePointer($0) }, srcStride, 0, Int32(codedSize.height), dstData, dstStride)
            }
        }
        guard converted > 0 else {
            throw MediaError(.writeFailed, path: path, "RGB to YUV conversion failed")
        }
        yuv.pointee.pts = Int64(framesWritten)
        framesWritten += 1
        try encode(yuv)
    }
}

func planePointer(_ frame: UnsafeMutablePointer<AVFrame>, _ i: Int) -> UnsafeMutablePointer<UInt8> {
    withUnsafePointer(to: &frame.pointee.data) { p in
        p.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { $0[i]! }
    }
}

func lineSize(_ frame: UnsafeMutablePointer<AVFrame>, _ i: Int) -> Int32 {
    withUnsafePointer(to: &frame.pointee.linesize) { p in
        p.withMemoryRebound(to: Int32.self, capacity: 8) { $0[i] }
    }
}

func withPlanes<R>(_ frame: UnsafeMutablePointer<AVFrame>,
                   _ body: ([UnsafeMutablePointer<UInt8>?], [Int32]) -> R) -> R {
    let data = withUnsafePointer(to: &frame.pointee.data) { p in
        p.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { Array(UnsafeBufferPointer(start: $0, count: 8)) }
    }
    let stride = withUnsafePointer(to: &frame.pointee.linesize) { p in
        p.withMemoryRebound(to: Int32.self, capacity: 8) { Array(UnsafeBufferPointer(start: $0, count: 8)) }
    }
    return body(data, stride)
}
