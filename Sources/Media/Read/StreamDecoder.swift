import CFFmpeg
import Foundation
import Glibc

/// Demuxes one stream of an `InputFile` and decodes it, one AVFrame at a time (bounded memory: one
/// packet and the decoder's own queue). Notices the ways a file can be short or damaged so that the
/// readers can say so instead of quietly returning less.
final class StreamDecoder {
    let input: InputFile
    let stream: UnsafeMutablePointer<AVStream>
    let codecContext: UnsafeMutablePointer<AVCodecContext>
    private let packet: UnsafeMutablePointer<AVPacket>
    let frame: UnsafeMutablePointer<AVFrame>

    private(set) var packetsRead = 0
    private(set) var framesDecoded = 0
    private var flushing = false
    private var finished = false
    /// First sign of damage (read error, corrupt packet, undecodable packet), reported at the end.
    private var damage: String?
    private var consecutiveErrors = 0

    var path: String { input.path }
    var timeBase: AVRational { stream.pointee.time_base }

    init(input: InputFile, type: AVMediaType, threads: Int) throws {
        self.input = input
        let path = input.path
        let kind = type == AVMEDIA_TYPE_VIDEO ? "video" : "audio"

        var decoder: UnsafePointer<AVCodec>? = nil
        let index = av_find_best_stream(input.context, type, -1, -1, &decoder, 0)
        if index == AVErrorCode.decoderNotFound || (index >= 0 && decoder == nil) {
            // There is such a stream, but no decoder for it.
            let i = index >= 0 ? Int(index) : Self.firstStream(of: type, in: input)
            let name = i.map { Self.codecName(input.context.pointee.streams[$0]!.pointee.codecpar) } ?? "unknown"
            throw MediaError(.unsupportedCodec, path: path,
                             "this FFmpeg has no decoder for the \(kind) codec '\(name)'")
        }
        guard index >= 0, let decoder, let stream = input.context.pointee.streams[Int(index)] else {
            throw input.missingStreamError(kind)
        }
        self.stream = stream

        let par = stream.pointee.codecpar!
        if type == AVMEDIA_TYPE_VIDEO {
            if par.pointee.width <= 0 || par.pointee.height <= 0 {
                // Not even the stream-info pass could decode a picture to learn its size.
                throw MediaError(.truncated, path: path, "no picture in the stream could be decoded to learn its size")
            }
            try MediaLimits.check(PixelSize(Int(par.pointee.width), Int(par.pointee.height)),
                                  path: path, what: "the video stream's size")
        } else {
            let rate = Int(par.pointee.sample_rate), channels = Int(par.pointee.ch_layout.nb_channels)
            guard rate > 0, rate <= MediaLimits.maxSampleRate, channels > 0, channels <= MediaLimits.maxChannels else {
                throw MediaError(.decodeFailed, path: path,
                                 "the audio stream claims \(rate) Hz and \(channels) channels")
            }
        }

        guard let ctx = avcodec_alloc_context3(decoder) else {
            throw MediaError(.decodeFailed, path: path, "out of memory allocating a decoder")
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = ctx
        FFmpegLog.clear()
        var ret = avcodec_parameters_to_context(ctx, par)
        if ret >= 0 {
            ctx.pointee.pkt_timebase = stream.pointee.time_base
            ctx.pointee.thread_count = Int32(threads)
            ret = avcodec_open2(ctx, decoder, nil)
        }
        if ret < 0 {
            let detail = FFmpegLog.describe(ret)
            avcodec_free_context(&owned)
            throw MediaError(ret == AVErrorCode.patchWelcome ? .unsupportedCodec : .decodeFailed, path: path,
                             "cannot open the \(String(cString: decoder.pointee.name)) decoder: \(detail)")
        }
        codecContext = ctx
        packet = av_packet_alloc()
        frame = av_frame_alloc()

        // Only this stream is read; telling the demuxer lets it skip the others' data.
        for s in input.streams where s != stream { s.pointee.discard = AVDISCARD_ALL }
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var c: UnsafeMutablePointer<AVCodecContext>? = codecContext
        avcodec_free_context(&c)
    }

    /// Decodes the next frame into `frame` (valid until the next call) or returns false at the end.
    /// At the end, throws if the stream held nothing or proved short or damaged.
    func decodeNext() throws -> Bool {
        if finished { return false }
        av_frame_unref(frame)
        while true {
            let received = avcodec_receive_frame(codecContext, frame)
            if received >= 0 {
                consecutiveErrors = 0
                framesDecoded += 1
                noteCoverage()
                return true
            }
            if received == AVErrorCode.eof {
                finished = true
                try checkCompleteness()
                return false
            }
            if received != AVErrorCode.again {
                // A broken frame: note it, keep going as FFmpeg's CLI does, report at the end —
                // unless the decoder does nothing but fail.
                noteDamage("a frame could not be decoded: \(FFmpegLog.describe(received))")
                consecutiveErrors += 1
                if consecutiveErrors > 256 {
                    throw MediaError(.decodeFailed, path: path, "the decoder keeps failing: \(FFmpegLog.describe(received))")
                }
                if flushing { finished = true; try checkCompleteness(); return false }
                continue
            }
            if flushing {
                // The decoder wants input after a flush: it has nothing more.
                finished = true
                try checkCompleteness()
                return false
            }
            try feedOnePacket()
        }
    }

    private func feedOnePacket() throws {
        while true {
            FFmpegLog.clear()
            let read = av_read_frame(input.context, packet)
            if read == AVErrorCode.eof || (read < 0 && input.context.pointee.pb?.pointee.eof_reached != 0) {
                if read != AVErrorCode.eof { noteDamage("reading stopped early: \(FFmpegLog.describe(read))") }
                flushing = true
                avcodec_send_packet(codecContext, nil)
                return
            }
            if read < 0 {
                noteDamage("reading stopped: \(FFmpegLog.describe(read))")
                flushing = true
                avcodec_send_packet(codecContext, nil)
                return
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == stream.pointee.index else { continue }
            packetsRead += 1
            if packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
                noteDamage("packet \(packetsRead) is cut short")
            }
            FFmpegLog.clear()
            let sent = avcodec_send_packet(codecContext, packet)
            if sent < 0 && sent != AVErrorCode.again {
                noteDamage("packet \(packetsRead) could not be decoded: \(FFmpegLog.describe(sent))")
                continue
            }
            return
        }
    }

    /// How far into the stream (seconds from its start) decoded frames reach.
    private var coveredUntil: Double = 0

    private func noteCoverage() {
        let ts = frame.pointee.best_effort_timestamp
        guard ts != noTimestamp else { return }
        let start = stream.pointee.start_time == noTimestamp ? 0 : stream.pointee.start_time
        var end = Double(ts - start) * av_q2d(timeBase)
        if frame.pointee.nb_samples > 0 && frame.pointee.sample_rate > 0 {
            end += Double(frame.pointee.nb_samples) / Double(frame.pointee.sample_rate)
        } else if frame.pointee.pkt_duration > 0 {
            end += Double(frame.pointee.pkt_duration) * av_q2d(timeBase)
        }
        coveredUntil = max(coveredUntil, end)
    }

    /// The stream's duration as its header states it (Matroska keeps it in a DURATION tag).
    var statedDuration: Double? {
        if stream.pointee.duration > 0 { return Double(stream.pointee.duration) * av_q2d(timeBase) }
        guard let tag = InputFile.dictionary(stream.pointee.metadata).first(where: { $0.key.uppercased() == "DURATION" })?.value
        else { return nil }
        // HH:MM:SS.fraction
        let parts = tag.split(separator: ":")
        guard parts.count == 3, let h = Double(parts[0]), let m = Double(parts[1]), let sec = Double(parts[2]) else { return nil }
        return h * 3600 + m * 60 + sec
    }

    private func noteDamage(_ what: String) {
        if damage == nil { damage = what }
    }

    /// Packets the container's index promises (0 when it does not say).
    var expectedPackets: Int { Int(stream.pointee.nb_frames) }

    /// After a seek, counts and coverage no longer start at the beginning: only damage is checked.
    private var seeked = false

    /// Moves to the last key frame at or before `seconds` (from the file's origin) and resets the
    /// decoder; the caller decodes forward to the exact time.
    func seek(to seconds: Double) throws {
        let target = Int64(((seconds + input.origin) / av_q2d(timeBase)).rounded(.down))
        FFmpegLog.clear()
        let ret = av_seek_frame(input.context, stream.pointee.index, target, AVSEEK_FLAG_BACKWARD)
        if ret < 0 {
            throw MediaError(.decodeFailed, path: path, "cannot seek to \(seconds) s: \(FFmpegLog.describe(ret))")
        }
        avcodec_flush_buffers(codecContext)
        av_frame_unref(frame)
        flushing = false
        finished = false
        seeked = true
    }

    private func checkCompleteness() throws {
        let kind = stream.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO ? "video" : "audio"
        if seeked {
            if let damage { throw MediaError(.truncated, path: path, damage) }
            return
        }
        let expected = expectedPackets
        if expected > 0 && packetsRead < expected {
            throw MediaError(.truncated, path: path,
                             "the \(kind) stream ends after \(packetsRead) of \(expected) packets" +
                             (damage.map { "; \($0)" } ?? ""))
        }
        if let damage {
            throw MediaError(.truncated, path: path, damage)
        }
        // Containers without a packet count (Matroska, Ogg) still state a duration: a stream that
        // stops well short of it was cut.
        if framesDecoded > 0, let stated = statedDuration, stated > 0.2, coveredUntil < stated * 0.9 - 0.05 {
            throw MediaError(.truncated, path: path,
                             String(format: "the \(kind) stream ends at %.2f s of the %.2f s its header states", coveredUntil, stated))
        }
        if framesDecoded == 0 {
            throw MediaError(.emptyStream, path: path, "the \(kind) stream holds no \(kind == "video" ? "frames" : "samples")")
        }
    }

    static func firstStream(of type: AVMediaType, in input: InputFile) -> Int? {
        input.streams.firstIndex { $0.pointee.codecpar.pointee.codec_type == type }
    }

    static func codecName(_ par: UnsafeMutablePointer<AVCodecParameters>) -> String {
        let id = par.pointee.codec_id
        if id != AV_CODEC_ID_NONE { return String(cString: avcodec_get_name(id)) }
        // Unknown to FFmpeg altogether: show the container's four-character tag.
        let tag = par.pointee.codec_tag
        let chars = (0 ..< 4).map { UInt8((tag >> (8 * UInt32($0))) & 0xFF) }
        if tag > 0xFFFF, chars.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return String(decoding: chars, as: UTF8.self)
        }
        return tag == 0 ? "unknown" : "unknown, tag 0x" + String(tag, radix: 16)
    }

    /// Seconds from the file's origin of the current frame.
    func frameTime() -> Double? {
        let ts = frame.pointee.best_effort_timestamp
        guard ts != noTimestamp else { return nil }
        return Double(ts) * av_q2d(timeBase) - input.origin
    }
}
