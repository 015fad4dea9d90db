import CFFmpeg
import Glibc

/// FFmpeg reports the *why* of a failure ("moov atom not found") only through av_log. reel installs
/// a log callback that keeps the last error-level message of each thread, so a `MediaError` can quote
/// it, and prints nothing unless `FFmpegLog.echoLevel` asks for it (the daemon logs our errors instead).
public enum FFmpegLog {
    /// Messages at or above this severity (AV_LOG_* values; lower is more severe) also go to stderr.
    /// Default AV_LOG_QUIET: nothing printed. Set to AV_LOG_WARNING (24) to debug.
    nonisolated(unsafe) public static var echoLevel: Int32 = AV_LOG_QUIET

    private static let bufferSize = 512
    nonisolated(unsafe) private static var key: pthread_key_t = 0

    private static let installed: Bool = {
        pthread_key_create(&key) { free($0) }
        av_log_set_callback { _, level, format, args in
            guard let format, let args else { return }
            let echo = level <= FFmpegLog.echoLevel
            guard echo || level <= AV_LOG_ERROR else { return }
            // A va_list may be consumed once: format into a line, then echo and/or keep it.
            var line = [CChar](repeating: 0, count: FFmpegLog.bufferSize)
            vsnprintf(&line, line.count, format, args)
            if echo { fputs(line, stderr) }
            if level <= AV_LOG_ERROR, let buffer = FFmpegLog.threadBuffer() {
                strncpy(buffer, line, FFmpegLog.bufferSize - 1)
            }
        }
        return true
    }()

    /// Installs the callback (idempotent; every entry point of the module calls it).
    static func install() { _ = installed }

    private static func threadBuffer() -> UnsafeMutablePointer<CChar>? {
        if let p = pthread_getspecific(key) { return p.assumingMemoryBound(to: CChar.self) }
        guard let p = calloc(bufferSize, 1) else { return nil }
        pthread_setspecific(key, p)
        return p.assumingMemoryBound(to: CChar.self)
    }

    /// Clears this thread's last message (call before an operation whose failure you will report).
    static func clear() {
        threadBuffer()?.pointee = 0
    }

    /// This thread's last error message since `clear()`, trimmed; empty when there was none.
    static func lastMessage() -> String {
        guard let p = threadBuffer() else { return "" }
        var s = String(cString: p)
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }

    /// "FFmpeg text for code (last log line)" — what error details quote.
    static func describe(_ code: Int32) -> String {
        let message = AVErrorCode.message(code)
        let logged = lastMessage()
        if logged.isEmpty || logged == message { return message }
        return "\(message) (\(logged))"
    }
}
