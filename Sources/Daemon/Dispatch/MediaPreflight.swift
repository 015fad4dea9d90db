// Inputs a stage's schema marks `"x-reel-media": "video"` (or "audio", or "any") are opened at job.submit,
// headers only (`ReelMedia.probe`, milliseconds): a file that is not media, was cut short after its header,
// or holds no stream of that kind FFmpeg can decode is refused with -32014 and `data.field` before a model
// loads or a job is made, instead of failing after a load that can take seconds and gigabytes.
// Damage past the header is still found only while decoding, by the plugin.
import Foundation
import ReelMedia
import ReelProtocol

enum MediaPreflight {
    /// A media input named in params: its field (a JSON pointer under the params), path, and required kind.
    struct Input: Equatable {
        var field: String
        var path: String
        var kind: String
    }

    /// The params' paths whose schema property carries `x-reel-media` (a string or an array of strings).
    static func inputs(_ params: JSON, schema: JSON) -> [Input] {
        guard let props = schema["properties"]?.objectValue else { return [] }
        var found: [Input] = []
        for (name, prop) in props.pairs {
            guard let kind = prop["x-reel-media"]?.stringValue else { continue }
            switch params[name] {
            case .string(let s)?: found.append(Input(field: "/" + name, path: s, kind: kind))
            case .array(let a)?:
                for (i, v) in a.enumerated() {
                    if let s = v.stringValue { found.append(Input(field: "/\(name)/\(i)", path: s, kind: kind)) }
                }
            default: break
            }
        }
        return found
    }

    /// The first input that cannot be used, as the error to answer; nil when all open. Opens files, so it
    /// runs off the event loop (a slow disk or a network mount must not stall other clients).
    static func firstRefusal(_ inputs: [Input]) -> RPCError? {
        for input in inputs {
            if let e = refusal(input) {
                var rpc = RPCError.badMedia(e)
                rpc.data?["field"] = .string(input.field)
                return rpc
            }
        }
        return nil
    }

    static func refusal(_ input: Input) -> MediaError? {
        let info: MediaInfo
        do { info = try ReelMedia.probe(input.path) } catch let e as MediaError { return e } catch {
            return MediaError(.unreadable, path: input.path, "\(error)")
        }
        if info.isCutShort, let end = info.indexedEnd {
            return MediaError(.truncated, path: input.path,
                              "its header indexes \(end) bytes and the file holds \(info.fileSize): a copy or download stopped early")
        }
        // "video" and "audio" name a stream kind; "any" asks only that the file be media.
        guard let kind = StreamInfo.Kind(rawValue: input.kind), kind == .video || kind == .audio else { return nil }
        let streams = info.streams.filter { $0.kind == kind }
        guard let first = streams.first else {
            return MediaError(.noStream, path: input.path, "the \(info.formatName) file holds no \(input.kind) stream")
        }
        if !streams.contains(where: \.decodable) {
            return MediaError(.unsupportedCodec, path: input.path,
                              "its \(input.kind) is \(first.codecName), which this FFmpeg cannot decode")
        }
        return nil
    }
}

extension RPCError {
    /// -32014 for a file reel cannot read as media; `data` has path, reason (snake_case) and detail.
    static func badMedia(_ e: MediaError) -> RPCError {
        RPCError(.badMedia, e.description,
                 data: ["path": .string(e.path), "reason": .string(MediaInfoJSON.snakeCase(e.reason.rawValue)),
                        "detail": .string(e.detail)])
    }
}
