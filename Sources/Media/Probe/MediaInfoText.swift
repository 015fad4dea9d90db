import Foundation

/// A readable summary, the way `reel probe FILE` prints a file:
///
///     clip.mp4: mov,mp4,m4a,3gp,3g2,mj2, 5.00 s, 1.2 MB, 2.0 Mb/s
///       #0 video: h264 832x480 16 fps yuv420p, 80 frames
///       #1 audio: aac 48000 Hz stereo fltp
///       AI-generated: model wan2.1-t2v-1.3b, plugin text-to-video 0.1.0, seed 42
///       prompt: a red fox runs through snow
extension MediaInfo: CustomStringConvertible {
    public var description: String {
        var head = "\(path): \(formatName)"
        if let duration { head += String(format: ", %.2f s", duration) }
        head += ", " + Self.bytes(fileSize)
        if let bitRate { head += String(format: ", %.1f Mb/s", Double(bitRate) / 1e6) }
        var lines = [head]
        for s in streams {
            var line = "  #\(s.index) \(s.kind.rawValue): \(s.codecName)"
            if s.kind == .video {
                if let w = s.width, let h = s.height { line += " \(w)x\(h)" }
                if let r = s.frameRate { line += String(format: " %.3g fps", r.value) }
                if let p = s.pixelFormat { line += " \(p)" }
                if let n = s.frameCount { line += ", \(n) frames" }
            } else if s.kind == .audio {
                if let r = s.sampleRate { line += " \(r) Hz" }
                if let l = s.channelLayout ?? s.channels.map({ "\($0) ch" }) { line += " \(l)" }
                if let f = s.sampleFormat { line += " \(f)" }
            }
            if !s.decodable { line += " (no decoder in this FFmpeg)" }
            lines.append(line)
        }
        if isCutShort, let indexedEnd {
            lines.append("  cut short: its header indexes \(indexedEnd) bytes, the file holds \(fileSize); "
                         + "what lies past its end is lost")
        }
        if let label {
            lines.append("  AI-generated: model \(label.model), plugin \(label.plugin) \(label.pluginVersion), seed \(label.seed)")
            lines.append("  prompt: \(label.prompt)")
        }
        return lines.joined(separator: "\n")
    }

    static func bytes(_ n: Int) -> String {
        if n >= 1 << 30 { return String(format: "%.1f GB", Double(n) / Double(1 << 30)) }
        if n >= 1 << 20 { return String(format: "%.1f MB", Double(n) / Double(1 << 20)) }
        if n >= 1 << 10 { return String(format: "%.1f KB", Double(n) / Double(1 << 10)) }
        return "\(n) bytes"
    }
}
