import CFFmpeg

/// Reads the video of any file FFmpeg decodes (or a still image: PNG, JPEG, WebP, ...) as RGB float
/// frames (`VideoFrame`, planar, [0, 1]) at a requested size and frame rate, one frame per `next()`.
/// Memory stays bounded whatever the length: one decoded frame is held at a time.
///
///     let reader = try VideoReader(path: "in.mkv", size: PixelSize(640, 360), frameRate: FrameRate(24))
///     while let frame = try reader.next() { ... }
///
/// Size: frames are scaled (bicubic) to exactly the requested size, without keeping the aspect ratio;
/// nil keeps the stored size (cropped back to `reel_source_size` when reel padded an odd size).
/// Frame rate: nil gives every decoded frame with its own time; a rate resamples like FFmpeg's fps
/// filter (`-vf fps=RATE`, rounding to nearest) — frame k (time k/rate) shows the last source frame
/// whose time rounds to a slot <= k, dropping or repeating frames as needed, and the output ends
/// where the last source frame's display time ends. Colour: YUV is converted with the matrix and range the
/// stream is tagged with (BT.601 when untagged, as FFmpeg does).
/// Errors arrive as `MediaError`, also at the end of the stream when it proves truncated.
public final class VideoReader {
    public let path: String
    /// The size frames come out at.
    public let outputSize: PixelSize
    /// The size as stored in the stream.
    public let storedSize: PixelSize
    /// The stream's average frame rate, when the container says.
    public let sourceFrameRate: FrameRate?
    public let frameRate: FrameRate?
    /// Duration of the file in seconds, when known.
    public let duration: Double?

    private let decoder: StreamDecoder
    private let crop: PixelSize
    private var scaler: OpaquePointer? = nil
    private var lastColourKey: (UInt32, UInt32, Int32, Int, Int)? = nil
    private let rgb: UnsafeMutablePointer<AVFrame>

    // Frame-rate resampling state.
    private var held: (frame: VideoFrame, slot: Int, end: Double)? = nil
    private var incoming: (frame: VideoFrame, slot: Int, end: Double)? = nil
    private var nextSlot = 0
    private var endSlot = 0
    private var ended = false
    private var emitted = 0

    public init(path: String, size: PixelSize? = nil, frameRate: FrameRate? = nil, threads: Int = 0) throws {
        self.path = path
        if let frameRate, !frameRate.isValid {
            throw MediaError(.invalidArgument, path: path, "frame rate \(frameRate) is not in (0, \(MediaLimits.maxFrameRate)]")
        }
        if let size { try MediaLimits.check(size, path: path, what: "the requested size") }
        let input = try InputFile(path: path, streamInfo: .always)
        decoder = try StreamDecoder(input: input, type: AVMEDIA_TYPE_VIDEO, threads: threads)
        let par = decoder.stream.pointee.codecpar.pointee
        storedSize = PixelSize(Int(par.width), Int(par.height))

        // reel pads odd sizes to even by repeating the edge; the true size is in the tags.
        var crop = storedSize
        if let tagged = input.tags[GenerationLabel.Key.sourceSize].flatMap(Self.parseSize),
           tagged.width <= storedSize.width, tagged.height <= storedSize.height {
            crop = tagged
        }
        self.crop = crop
        outputSize = size ?? crop
        self.frameRate = frameRate
        let avg = decoder.stream.pointee.avg_frame_rate
        sourceFrameRate = avg.num > 0 && avg.den > 0 ? FrameRate(Int(avg.num), Int(avg.den)) : nil
        let d = input.context.pointee.duration
        duration = d > 0 ? Double(d) / Double(AV_TIME_BASE) : nil

        rgb = av_frame_alloc()
    }

    /// The planar RGB picture swscale writes into: 8 bits for 8-bit sources, 16 for deeper ones
    /// (10-bit HDR video keeps its precision on the way to float).
    private func rgbBuffer(deep: Bool) throws -> UnsafeMutablePointer<AVFrame> {
        let format = deep ? AV_PIX_FMT_GBRP16LE : AV_PIX_FMT_GBRP
        if rgb.pointee.format == format.rawValue && rgb.pointee.data.0 != nil { return rgb }
        av_frame_unref(rgb)
        rgb.pointee.format = format.rawValue
        rgb.pointee.width = Int32(outputSize.width)
        rgb.pointee.height = Int32(outputSize.height)
        if av_frame_get_buffer(rgb, 0) < 0 {
            throw MediaError(.decodeFailed, path: path, "out of memory for a \(outputSize) frame")
        }
        return rgb
    }

    deinit {
        sws_freeContext(scaler)
        var f: UnsafeMutablePointer<AVFrame>? = rgb
        av_frame_free(&f)
    }

    /// The next frame, or nil at the end.
    public func next() throws -> VideoFrame? {
        guard let frameRate else {
            guard try decoder.decodeNext() else { return nil }
            emitted += 1
            return try convertCurrent(time: decoder.frameTime() ?? Double(emitted - 1) / (sourceFrameRate?.value ?? 25))
        }
        let rate = frameRate.value
        while true {
            if let inc = incoming, let h = held {
                if inc.slot > nextSlot {
                    return emit(h.frame, slot: nextSlot, rate: rate)
                }
                held = inc
                incoming = nil
                continue
            }
            if ended {
                if let h = held, nextSlot < endSlot { return emit(h.frame, slot: nextSlot, rate: rate) }
                return nil
            }
            guard try decoder.decodeNext() else {
                ended = true
                if let h = held {
                    // Like the fps filter, stop at the end of the last frame's display time; a
                    // stream shorter than one output frame still gives one frame.
                    endSlot = Int((h.end * rate).rounded())
                    if emitted == 0 { endSlot = max(endSlot, nextSlot + 1) }
                }
                continue
            }
            let t = decoder.frameTime() ?? (held.map { $0.end } ?? 0)
            let slot = Int((t * rate).rounded())
            let end = t + frameDuration()
            let frame = try convertCurrent(time: t)
            if held == nil {
                held = (frame, slot, end)
                nextSlot = slot
            } else {
                incoming = (frame, slot, end)
            }
        }
    }

    /// Continues from the key frame at or before `seconds`: the next frames are those from that key
    /// frame on (their `time` tells where they are). Frame-rate resampling restarts there.
    public func seek(to seconds: Double) throws {
        try decoder.seek(to: seconds)
        held = nil
        incoming = nil
        ended = false
        emitted = 0
    }

    /// Reads every remaining frame (for short clips; use `next()` to keep memory bounded).
    public func readAll() throws -> [VideoFrame] {
        var frames: [VideoFrame] = []
        while let f = try next() { frames.append(f) }
        return frames
    }

    private func emit(_ frame: VideoFrame, slot: Int, rate: Double) -> VideoFrame {
        var out = frame
        out.time = Double(slot) / rate
        nextSlot = slot + 1
        emitted += 1
        return out
    }

    private func frameDuration() -> Double {
        let d = decoder.frame.pointee.pkt_duration
        if d > 0 { return Double(d) * av_q2d(decoder.timeBase) }
        if let sourceFrameRate { return 1 / sourceFrameRate.value }
        return 1.0 / 25
    }

    /// Scales and converts the decoder's current frame to RGB float.
    private func convertCurrent(time: Double) throws -> VideoFrame {
        let src = decoder.frame
        let srcW = min(Int(src.pointee.width), crop.width)
        let srcH = min(Int(src.pointee.height), crop.height)
        guard srcW > 0, srcH > 0 else {
            throw MediaError(.decodeFailed, path: path, "the decoder returned an empty picture")
        }
        let depth = av_pix_fmt_desc_get(AVPixelFormat(src.pointee.format))?.pointee.comp.0.depth ?? 8
        let deep = depth > 8
        let rgb = try rgbBuffer(deep: deep)
        scaler = sws_getCachedContext(scaler, Int32(srcW), Int32(srcH), AVPixelFormat(src.pointee.format),
                                      Int32(outputSize.width), Int32(outputSize.height), AVPixelFormat(rgb.pointee.format),
                                      SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
        guard let scaler else {
            throw MediaError(.decodeFailed, path: path,
                             "cannot convert \(Self.pixelFormatName(src.pointee.format)) pictures to RGB")
        }
        let colourKey = (src.pointee.colorspace.rawValue, src.pointee.color_range.rawValue, src.pointee.format, srcW, srcH)
        if lastColourKey.map({ $0 != colourKey }) ?? true {
            configureColour(scaler, src)
            lastColourKey = colourKey
        }
        // Reading only the top-left srcW x srcH of the picture crops away reel's padding.
        let srcData = withUnsafePointer(to: &src.pointee.data) { p in
            p.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { Array(UnsafeBufferPointer(start: $0, count: 8)) }
        }
        let srcStride = withUnsafePointer(to: &src.pointee.linesize) { p in
            p.withMemoryRebound(to: Int32.self, capacity: 8) { Array(UnsafeBufferPointer(start: $0, count: 8)) }
        }
        let dstData = withUnsafePointer(to: &rgb.pointee.data) { p in
            p.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { Array(UnsafeBufferPointer(start: $0, count: 8)) }
        }
        let dstStride = withUnsafePointer(to: &rgb.pointee.linesize) { p in
            p.withMemoryRebound(to: Int32.self, capacity: 8) { Array(UnsafeBufferPointer(start: $0, count: 8)) }
        }
        let rows = sws_scale(scaler, srcData, srcStride, 0, Int32(srcH), dstData, dstStride)
        guard rows > 0 else {
            throw MediaError(.decodeFailed, path: path, "converting a picture to RGB failed")
        }
        let w = outputSize.width, h = outputSize.height, plane = w * h
        // Every element is written below, so the array is not zero-filled first.
        let pixels = [Float](unsafeUninitializedCapacity: 3 * plane) { out, count in
            // GBRP stores G, B, R in planes 0, 1, 2.
            for (channel, planeIndex) in [(0, 2), (1, 0), (2, 1)] {
                let target = out.baseAddress! + channel * plane
                if deep {
                    PixelConversion.expand(UnsafeRawPointer(dstData[planeIndex]!).assumingMemoryBound(to: UInt16.self),
                                           srcStride: Int(dstStride[planeIndex]) / 2, width: w, height: h, into: target)
                } else {
                    PixelConversion.expand(UnsafePointer(dstData[planeIndex]!), srcStride: Int(dstStride[planeIndex]),
                                           width: w, height: h, into: target)
                }
            }
            count = 3 * plane
        }
        return VideoFrame(width: w, height: h, pixels: pixels, time: time)
    }

    /// Tells swscale the source's YUV matrix and range (RGB output is always full range).
    private func configureColour(_ scaler: OpaquePointer, _ src: UnsafeMutablePointer<AVFrame>) {
        let desc = av_pix_fmt_desc_get(AVPixelFormat(src.pointee.format))
        let isRGB = desc.map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) != 0 } ?? false
        if isRGB { return }
        let space: Int32
        switch src.pointee.colorspace {
        case AVCOL_SPC_BT709: space = SWS_CS_ITU709
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: space = SWS_CS_BT2020
        case AVCOL_SPC_SMPTE240M: space = SWS_CS_SMPTE240M
        case AVCOL_SPC_FCC: space = SWS_CS_FCC
        default: space = SWS_CS_DEFAULT
        }
        let fullRange: Int32 = src.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
        var invTable: UnsafeMutablePointer<Int32>? = nil
        var table: UnsafeMutablePointer<Int32>? = nil
        var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        guard sws_getColorspaceDetails(scaler, &invTable, &srcRange, &table, &dstRange,
                                       &brightness, &contrast, &saturation) >= 0 else { return }
        // J formats (yuvj420p) are full range by definition; swscale already knows.
        let range = srcRange == 1 ? 1 : fullRange
        sws_setColorspaceDetails(scaler, sws_getCoefficients(space), range, table, 1,
                                 brightness, contrast, saturation)
    }

    static func pixelFormatName(_ format: Int32) -> String {
        av_get_pix_fmt_name(AVPixelFormat(format)).map { String(cString: $0) } ?? "unknown"
    }

    static func parseSize(_ s: String) -> PixelSize? {
        let parts = s.split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
        return PixelSize(w, h)
    }
}

/// The frame shown at `seconds` into a video (the last frame starting at or before it; the last
/// frame if the video is shorter), e.g. for a thumbnail: `writePNG(try thumbnail(...), to: ...)`.
/// Seeks to the key frame before and decodes forward, so it costs at most one GOP of decoding.
public func thumbnail(path: String, at seconds: Double, size: PixelSize? = nil) throws -> VideoFrame {
    guard seconds.isFinite, seconds >= 0 else {
        throw MediaError(.invalidArgument, path: path, "time \(seconds) s is not a time in the file")
    }
    let reader = try VideoReader(path: path, size: size, threads: 1)
    if seconds > 0 { try reader.seek(to: seconds) }
    var shown: VideoFrame? = nil
    while let frame = try reader.next() {
        if frame.time > seconds + 1e-6, shown != nil { break }
        shown = frame
        if frame.time > seconds + 1e-6 { break }
    }
    guard let shown else {
        throw MediaError(.emptyStream, path: path, "no picture could be decoded")
    }
    return shown
}

/// Reads a still image (PNG, JPEG, WebP, BMP, TIFF, ...) — or the first frame of a video — as one frame.
public func readImage(path: String, size: PixelSize? = nil) throws -> VideoFrame {
    let reader = try VideoReader(path: path, size: size, threads: 1)
    guard let frame = try reader.next() else {
        throw MediaError(.emptyStream, path: path, "no picture could be decoded")
    }
    return frame
}
