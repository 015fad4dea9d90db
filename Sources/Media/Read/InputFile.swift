import CFFmpeg
import Glibc

/// An opened input: the AVFormatContext and the checks that turn FFmpeg's failures into `MediaError`s
/// that say which file and why. Owned by one reader or one probe, closed in deinit.
/// FFmpeg's AV_NOPTS_VALUE ("no time stamp"), a macro Swift cannot import.
let noTimestamp = Int64(bitPattern: 0x8000_0000_0000_0000)

final class InputFile {
    let path: String
    let context: UnsafeMutablePointer<AVFormatContext>

    /// - Parameter streamInfo: `.always` runs avformat_find_stream_info (which decodes a few packets);
    ///   `.whenHeadersLack` runs it only if a stream's header leaves its codec parameters unknown.
    enum StreamInfo { case always, whenHeadersLack }

    init(path: String, streamInfo: StreamInfo) throws {
        FFmpegLog.install()
        self.path = path
        try Self.checkReadable(path)

        FFmpegLog.clear()
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let opened = avformat_open_input(&ctx, path, nil, nil)
        guard opened >= 0, let ctx else {
            throw Self.classifyOpenFailure(path: path, code: opened)
        }

        let needsInfo: Bool
        switch streamInfo {
        case .always: needsInfo = true
        case .whenHeadersLack: needsInfo = Self.headersLackParameters(ctx)
        }
        if needsInfo {
            FFmpegLog.clear()
            let found = avformat_find_stream_info(ctx, nil)
            if found < 0 {
                let detail = FFmpegLog.describe(found)
                var owned: UnsafeMutablePointer<AVFormatContext>? = ctx
                avformat_close_input(&owned)
                throw MediaError(.truncated, path: path, "cannot read stream parameters: \(detail)")
            }
        }
        context = ctx
    }

    deinit {
        var owned: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&owned)
    }

    var streams: [UnsafeMutablePointer<AVStream>] {
        (0 ..< Int(context.pointee.nb_streams)).compactMap { context.pointee.streams[$0] }
    }

    /// Container tags (format-level metadata).
    var tags: [String: String] { Self.dictionary(context.pointee.metadata) }

    /// Seconds from the start of the file that presentation time 0 corresponds to.
    var origin: Double {
        let start = context.pointee.start_time
        return start == noTimestamp ? 0 : Double(start) / Double(AV_TIME_BASE)
    }

    static func dictionary(_ dict: OpaquePointer?) -> [String: String] {
        var out: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let e = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX) {
            out[String(cString: e.pointee.key)] = String(cString: e.pointee.value)
            entry = e
        }
        return out
    }

    // MARK: - Failure classification

    /// Existence, type and permission, checked before FFmpeg so the error says exactly that.
    static func checkReadable(_ path: String) throws {
        var st = stat()
        if stat(path, &st) != 0 {
            throw MediaError(.unreadable, path: path, String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw MediaError(.unreadable, path: path, "is a directory")
        }
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            throw MediaError(.unreadable, path: path, String(cString: strerror(errno)))
        }
        close(fd)
        if (st.st_mode & S_IFMT) == S_IFREG && st.st_size == 0 {
            throw MediaError(.notMedia, path: path, "the file is empty (0 bytes)")
        }
    }

    /// avformat_open_input failed: did FFmpeg recognise the format (then the file is damaged or cut
    /// short) or not (then it is not media at all)?
    static func classifyOpenFailure(path: String, code: Int32) -> MediaError {
        let detail = FFmpegLog.describe(code)
        if code == -EACCES || code == -ENOENT || code == -EISDIR {
            return MediaError(.unreadable, path: path, detail)
        }
        // FFmpeg's own size check (av_image_check_size) says so only in its log line.
        if FFmpegLog.lastMessage().hasPrefix("Picture size") {
            return MediaError(.absurdDimensions, path: path, FFmpegLog.lastMessage())
        }
        if let format = recognisedFormat(path) {
            return MediaError(.truncated, path: path, "looks like \(format) but cannot be opened: \(detail)")
        }
        return MediaError(.notMedia, path: path, "FFmpeg recognises no media format in it (\(detail))")
    }

    /// The name of the format FFmpeg's probe assigns to the file's first bytes, if it is confident.
    static func recognisedFormat(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        let probeSize = 1 << 16
        let padding = Int(AVPROBE_PADDING_SIZE)
        var buffer = [UInt8](repeating: 0, count: probeSize + padding)
        let n = fread(&buffer, 1, probeSize, file)
        guard n > 0 else { return nil }
        return buffer.withUnsafeMutableBufferPointer { buf -> String? in
            path.withCString { filename -> String? in
                var pd = AVProbeData()
                pd.filename = filename
                pd.buf = buf.baseAddress
                pd.buf_size = Int32(n)
                var score: Int32 = 0
                // Not trusting the extension alone: AVPROBE_SCORE_EXTENSION is 50, require more.
                guard let fmt = av_probe_input_format3(&pd, 1, &score), score > 50 else { return nil }
                return String(cString: fmt.pointee.name)
            }
        }
    }

    /// True when some stream's header did not give its essential parameters.
    static func headersLackParameters(_ ctx: UnsafeMutablePointer<AVFormatContext>) -> Bool {
        if ctx.pointee.nb_streams == 0 { return true }
        for i in 0 ..< Int(ctx.pointee.nb_streams) {
            guard let par = ctx.pointee.streams[i]?.pointee.codecpar?.pointee else { return true }
            switch par.codec_type {
            case AVMEDIA_TYPE_VIDEO:
                if par.width <= 0 || par.height <= 0 || par.format < 0 { return true }
            case AVMEDIA_TYPE_AUDIO:
                if par.sample_rate <= 0 || par.ch_layout.nb_channels <= 0 || par.format < 0 { return true }
            default: break
            }
        }
        return ctx.pointee.duration == noTimestamp
    }
}

extension InputFile {
    /// The error for a file without a stream of `kind` ("video", "audio"), naming the streams it has.
    func missingStreamError(_ kind: String) -> MediaError {
        let present = streams.map { s -> String in
            av_get_media_type_string(s.pointee.codecpar.pointee.codec_type).map { String(cString: $0) } ?? "data"
        }
        return MediaError(.noStream, path: path,
                          "the file has no \(kind) stream (it has: \(present.isEmpty ? "no streams" : present.joined(separator: ", ")))")
    }
}
