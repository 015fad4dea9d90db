import CFFmpeg
import Glibc

/// Writes one frame as an 8-bit RGB PNG (stills, thumbnails), with the label and any extra tags as
/// PNG text chunks (tEXt for ASCII values, iTXt for UTF-8). Any size is fine: PNG has no even-size
/// rule. Written to a temporary name and renamed, like `MediaWriter`.
public func writePNG(_ frame: VideoFrame, to path: String, label: GenerationLabel? = nil,
                     metadata: [String: String] = [:]) throws {
    FFmpegLog.install()
    try MediaLimits.check(PixelSize(frame.width, frame.height), path: path, what: "the image size")
    guard frame.pixels.count == 3 * frame.width * frame.height else {
        throw MediaError(.invalidArgument, path: path,
                         "frame holds \(frame.pixels.count) floats, not 3 x \(frame.width) x \(frame.height)")
    }
    guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
        throw MediaError(.unsupportedCodec, path: path, "this FFmpeg has no PNG encoder")
    }
    guard let ctxAlloc = avcodec_alloc_context3(codec) else {
        throw MediaError(.writeFailed, path: path, "out of memory")
    }
    var ctx: UnsafeMutablePointer<AVCodecContext>? = ctxAlloc
    var picture: UnsafeMutablePointer<AVFrame>? = av_frame_alloc()
    var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
    defer {
        avcodec_free_context(&ctx)
        av_frame_free(&picture)
        av_packet_free(&packet)
    }
    guard let picture, let packet else { throw MediaError(.writeFailed, path: path, "out of memory") }
    ctxAlloc.pointee.width = Int32(frame.width)
    ctxAlloc.pointee.height = Int32(frame.height)
    ctxAlloc.pointee.pix_fmt = AV_PIX_FMT_RGB24
    ctxAlloc.pointee.time_base = AVRational(num: 1, den: 1)
    FFmpegLog.clear()
    var ret = avcodec_open2(ctxAlloc, codec, nil)
    guard ret >= 0 else {
        throw MediaError(.writeFailed, path: path, "cannot open the PNG encoder: \(FFmpegLog.describe(ret))")
    }
    picture.pointee.format = AV_PIX_FMT_RGB24.rawValue
    picture.pointee.width = Int32(frame.width)
    picture.pointee.height = Int32(frame.height)
    guard av_frame_get_buffer(picture, 0) >= 0 else { throw MediaError(.writeFailed, path: path, "out of memory") }

    // Quantise each plane into one row of scratch, then interleave into the RGB24 picture.
    let w = frame.width, plane = frame.width * frame.height
    let stride = Int(lineSize(picture, 0))
    let base = planePointer(picture, 0)
    var row = [UInt8](repeating: 0, count: 3 * w)
    frame.pixels.withUnsafeBufferPointer { px in
        row.withUnsafeMutableBufferPointer { scratch in
            for y in 0 ..< frame.height {
                for c in 0 ..< 3 {
                    PixelConversion.quantizeRow(px.baseAddress! + c * plane + y * w, scratch.baseAddress! + c * w, w)
                }
                let out = base + y * stride
                for x in 0 ..< w {
                    out[3 * x] = scratch[x]
                    out[3 * x + 1] = scratch[w + x]
                    out[3 * x + 2] = scratch[2 * w + x]
                }
            }
        }
    }

    ret = avcodec_send_frame(ctxAlloc, picture)
    if ret >= 0 { ret = avcodec_send_frame(ctxAlloc, nil) }
    if ret >= 0 { ret = avcodec_receive_packet(ctxAlloc, packet) }
    guard ret >= 0, let data = packet.pointee.data else {
        throw MediaError(.writeFailed, path: path, "PNG encoding failed: \(FFmpegLog.describe(ret))")
    }
    var png = Array(UnsafeBufferPointer(start: data, count: Int(packet.pointee.size)))
    var tags = metadata.map { (key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
    if let label { tags += label.tags }
    if !tags.isEmpty {
        guard let labelled = PNGTextChunks.inserting(tags, into: png) else {
            throw MediaError(.writeFailed, path: path, "the PNG encoder produced an unexpected stream")
        }
        png = labelled
    }
    try writeAtomically(png, to: path)
}

/// Writes bytes to a temporary name beside `path`, then renames.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    let temporary = "\(directory).\(name).partial-\(getpid())"
    guard let file = fopen(temporary, "wb") else {
        throw MediaError(.writeFailed, path: path, String(cString: strerror(errno)))
    }
    let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
    let writeErrno = errno
    if fclose(file) != 0 || written != bytes.count {
        let reason = String(cString: strerror(written != bytes.count ? writeErrno : errno))
        unlink(temporary)
        throw MediaError(.writeFailed, path: path, reason)
    }
    if rename(temporary, path) != 0 {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw MediaError(.writeFailed, path: path, reason)
    }
}
