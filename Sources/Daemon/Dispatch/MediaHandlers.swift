// media.probe: what a media file holds, and reel's AI-generated label if it has one.
import Foundation
import ReelMedia
import ReelProtocol

extension Daemon {
    func registerMediaHandlers() {
        dispatcher.register("media.probe") { call, reply in
            let path = call.params["path"]!.stringValue!
            if case .failure(let e) = PathAccess.check(path, .read, for: call.peer) { reply(.failure(e)); return }
            // Opening a file can block (a slow disk, a network mount): off the event loop.
            DispatchQueue.global().async {
                do {
                    reply(.success(MediaInfoJSON.encode(try ReelMedia.probe(path))))
                } catch let e as MediaError {
                    reply(.failure(.badMedia(e)))
                } catch {
                    reply(.failure(RPCError(.badMedia, "\(path): \(error)", data: ["path": .string(path)])))
                }
            }
        }
    }
}

/// MediaInfo as the JSON that Schemas.mediaInfo describes.
enum MediaInfoJSON {
    static func encode(_ info: MediaInfo) -> JSON {
        [
            "path": .string(info.path), "format": .string(info.formatName), "format_long_name": .string(info.formatLongName),
            "duration_seconds": info.duration.map { .double($0) } ?? .null,
            "bit_rate": info.bitRate.map { .int(Int64($0)) } ?? .null,
            "file_size": .int(Int64(info.fileSize)),
            "indexed_end": info.indexedEnd.map { .int(Int64($0)) } ?? .null,
            "cut_short": .bool(info.isCutShort),
            "streams": .array(info.streams.map(stream)),
            "tags": tags(info.tags),
            "label": info.label.map { l in
                ["ai_generated": true, "generator": .string(l.generator), "model": .string(l.model), "plugin": .string(l.plugin),
                 "plugin_version": .string(l.pluginVersion), "prompt": .string(l.prompt), "seed": .int(Int64(bitPattern: l.seed))]
            } ?? .null,
            "summary": .string(info.description),
        ]
    }

    static func stream(_ s: StreamInfo) -> JSON {
        func int(_ v: Int?) -> JSON { v.map { .int(Int64($0)) } ?? .null }
        func str(_ v: String?) -> JSON { v.map { .string($0) } ?? .null }
        return [
            "index": .int(Int64(s.index)), "kind": .string(s.kind.rawValue), "codec": .string(s.codecName),
            "codec_long_name": .string(s.codecLongName), "decodable": .bool(s.decodable),
            "duration_seconds": s.duration.map { .double($0) } ?? .null, "frames": int(s.frameCount),
            "width": int(s.width), "height": int(s.height),
            "fps": s.frameRate.map { .double(Double($0.numerator) / Double($0.denominator)) } ?? .null,
            "pixel_format": str(s.pixelFormat), "sample_rate": int(s.sampleRate), "channels": int(s.channels),
            "channel_layout": str(s.channelLayout), "tags": tags(s.tags),
        ]
    }

    static func tags(_ t: [String: String]) -> JSON {
        .object(JSONObject(t.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))
    }

    /// "notMedia" → "not_media": error reasons on the wire are snake_case like every other key.
    static func snakeCase(_ s: String) -> String {
        s.reduce(into: "") { out, c in
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
    }
}
