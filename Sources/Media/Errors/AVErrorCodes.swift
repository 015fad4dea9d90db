import CFFmpeg
import Glibc

/// FFmpeg's error macros (AVERROR, FFERRTAG) are not imported into Swift; these are their values.
enum AVErrorCode {
    private static func tag(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> Int32 {
        -Int32(bitPattern: UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24)
    }
    static let eof = tag(0x45, 0x4F, 0x46, 0x20)                 // "EOF "
    static let invalidData = tag(0x49, 0x4E, 0x44, 0x41)         // "INDA"
    static let decoderNotFound = tag(0xF8, 0x44, 0x45, 0x43)     // 0xF8 "DEC"
    static let demuxerNotFound = tag(0xF8, 0x44, 0x45, 0x4D)     // 0xF8 "DEM"
    static let encoderNotFound = tag(0xF8, 0x45, 0x4E, 0x43)     // 0xF8 "ENC"
    static let patchWelcome = tag(0x50, 0x41, 0x57, 0x45)        // "PAWE"
    static let again = -EAGAIN

    /// FFmpeg's own text for an error code ("Invalid data found when processing input").
    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buffer, buffer.count) < 0 {
            return "error \(code)"
        }
        return String(cString: buffer)
    }
}
