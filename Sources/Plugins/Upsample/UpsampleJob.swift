// One video.upsample job: probe, open the reader(s) and the writer, then for
// each output frame pick or interpolate its low-resolution picture, upscale it
// and encode it, interleaving the input's audio as the video advances (its
// packets copied as they are when the output container takes the codec,
// else decoded and re-encoded). Only
// two source frames, the pair's in-between frames and one output frame are in
// memory at a time, whatever the length. Interpolation runs before upscaling:
// RIFE at the input's size costs a sixteenth of RIFE at the output's, and each
// in-between frame then gets the same spatial pass as the real ones.
import ReelEngine
import ReelMedia
import ReelModels
import ReelPluginKit
import ReelProtocol
#if canImport(Glibc)
import Glibc
#endif

final class UpsampleJob {
    let request: UpsampleParams
    let model: SpatialModel
    let host: PluginHost

    init(request: UpsampleParams, model: SpatialModel, host: PluginHost) {
        self.request = request
        self.model = model
        self.host = host
    }

    func run() throws -> JSON {
        defer { Engine.releaseCachedMemory() } // an idle daemon holds only its models
        let started = monotonicSeconds()
        let info: MediaInfo
        do { info = try probe(request.input) } catch { throw PluginError.failed("cannot read the input: \(error)") }
        guard let video = info.video else {
            throw PluginError.failed("cannot upsample \(request.input): it has no video stream")
        }
        guard video.decodable else {
            throw PluginError.failed("cannot upsample \(request.input): this FFmpeg cannot decode its \(video.codecName) video")
        }
        let sourceRate = video.frameRate ?? FrameRate(25)
        if video.frameRate == nil { host.log(.warning, "\(request.input) does not state its frame rate; assuming 25 fps") }

        let reader: VideoReader
        do { reader = try VideoReader(path: request.input, frameRate: sourceRate) } catch {
            throw PluginError.failed("cannot read the input: \(error)")
        }
        let (w, h) = (reader.outputSize.width, reader.outputSize.height)
        let (ow, oh) = (w * request.scale, h * request.scale)
        guard ow <= MediaLimits.maxDimension, oh <= MediaLimits.maxDimension, ow * oh <= MediaLimits.maxPixels else {
            throw PluginError.invalidParams("x\(request.scale) of \(w)x\(h) is \(ow)x\(oh), more than the largest video reel writes " +
                                            "(\(MediaLimits.maxDimension) per side, \(MediaLimits.maxPixels) pixels)")
        }

        let outputRate: FrameRate
        switch request.timing {
        case .keep: outputRate = sourceRate
        case .factor(let k): outputRate = Self.reduced(sourceRate.numerator * k, sourceRate.denominator)
        case .target(let r): outputRate = r
        }
        let timeline = FrameTimeline(source: sourceRate, output: outputRate)
        var interpolator: PairInterpolator? = nil
        if timeline.interpolates {
            let rife = try model.attachInterpolator(host: host)
            interpolator = PairInterpolator(rife: rife.network, height: h, width: w, sceneThreshold: request.sceneThreshold)
        }

        let audio = try openAudio(info)

        let modelName = model.name + (interpolator != nil ? " + " + (model.interpolator?.name ?? RIFE.kind) : "")
        var metadata = ["reel_params": request.labelParams.serialized(),
                        "reel_source": splitPath(request.input).name,
                        "reel_source_format": "\(w)x\(h) @ \(sourceRate) fps"]
        if let i = model.interpolator, interpolator != nil { metadata["reel_interpolation_model"] = i.name }
        let label = GenerationLabel(model: modelName, plugin: UpsamplePlugin.pluginName, pluginVersion: UpsamplePlugin.pluginVersion,
                                    prompt: info.label?.prompt ?? "", seed: info.label?.seed ?? 0)

        try host.declareOutput(request.output, mediaType: request.container.mediaType)
        let settings = request.encoderSettings(width: ow, height: oh)
        let writer: MediaWriter
        do {
            writer = try MediaWriter(path: request.output, container: request.container,
                                     video: VideoFormat(width: ow, height: oh, frameRate: outputRate),
                                     audio: audio?.encoding.map { AudioFormat(sampleRate: $0.sampleRate, channels: $0.channels) },
                                     copyingAudio: audio?.copying?.format,
                                     label: label, metadata: metadata,
                                     settings: settings)
        } catch { throw PluginError.failed("cannot write the output: \(error)") }

        // The expected count for progress; the stream decides the real one.
        let expectedSource = video.frameCount ?? info.duration.map { Int(($0 * sourceRate.value).rounded()) } ?? 0
        let expected = timeline.outputCount(sourceFrames: expectedSource)
        var stats = Stats()
        do {
            try stream(reader: reader, timeline: timeline, interpolator: interpolator, writer: writer,
                       audio: audio, outputRate: outputRate, expected: expected, stats: &stats)
            try writer.finish()
        } catch {
            writer.cancel()
            if let e = error as? PluginError { throw e }
            if host.isCancelled { throw PluginError.cancelled }
            throw PluginError.failed("\(error)")
        }
        let seconds = monotonicSeconds() - started
        host.log(.info, "upsampled \(stats.sourceFrames) frames of \(w)x\(h) to \(stats.outputFrames) of \(ow)x\(oh) in \(String(format: "%.1f", seconds)) s")
        var result: JSONObject = [
            "output": .string(request.output),
            "width": .int(Int64(ow)), "height": .int(Int64(oh)),
            "frames": .int(Int64(stats.outputFrames)), "fps": .string(outputRate.description),
            "fps_value": .double(outputRate.value),
            "source": ["width": .int(Int64(w)), "height": .int(Int64(h)), "frames": .int(Int64(stats.sourceFrames)),
                       "fps": .string(sourceRate.description)],
            "model": .string(model.name), "scale": .int(Int64(request.scale)),
            "tile": .int(Int64(request.tiling.tile)), "overlap": .int(Int64(request.tiling.overlap)),
            "audio": .bool(audio != nil),
            "seconds": .double(seconds),
            "seconds_per_frame": .double(stats.outputFrames > 0 ? seconds / Double(stats.outputFrames) : 0),
        ]
        if request.container == .mp4, let lookahead = settings.lookahead ?? EncoderSettings.x264PresetLookahead(settings.preset) {
            result["lookahead"] = .int(Int64(lookahead))
        }
        if let audio {
            result["audio_mode"] = .string(audio.copying != nil ? "copy" : "encode")
            result["audio_codec"] = .string(audio.codecName)
            if let why = audio.whyEncoded { result["audio_note"] = .string(why) }
        }
        if let interpolator, let rife = model.interpolator {
            result["interpolation_model"] = .string(rife.name)
            result["interpolated_frames"] = .int(Int64(stats.interpolatedFrames))
            result["scene_cuts"] = .int(Int64(interpolator.sceneCuts))
            result["rife_calls"] = .int(Int64(interpolator.networkCalls))
        }
        return .object(result)
    }

    /// The input's audio on its way to the output: its packets copied as they are when the output's
    /// container takes the codec (lossless, like `ffmpeg -c:a copy`), else decoded and re-encoded
    /// into the container's own codec (AAC or Opus).
    struct Audio {
        var copying: AudioPacketReader? = nil
        var encoding: AudioReader? = nil
        var codecName: String
        /// Why the audio was not copied.
        var whyEncoded: String? = nil
    }

    private func openAudio(_ info: MediaInfo) throws -> Audio? {
        guard let a = info.audio else { return nil }
        let refusal: String
        do {
            let packets = try AudioPacketReader(path: request.input)
            try MediaWriter.checkCopy(packets.format, into: request.container)
            host.log(.info, "\(request.input): its \(packets.format.codecName) audio is copied as it is")
            return Audio(copying: packets, codecName: packets.format.codecName)
        } catch let e as MediaError {
            refusal = e.detail
        }
        guard a.decodable, let rate = a.sampleRate, let channels = a.channels, rate > 0, channels > 0 else {
            host.log(.warning, "\(request.input): its \(a.codecName) audio can be neither copied (\(refusal)) nor decoded here; the output has no audio")
            return nil
        }
        let reader: AudioReader
        do { reader = try AudioReader(path: request.input, sampleRate: rate, channels: channels) } catch {
            throw PluginError.failed("cannot read the input's audio: \(error)")
        }
        let codec = request.container == .mp4 ? "aac" : "opus"
        host.log(.info, "\(request.input): its \(a.codecName) audio is re-encoded to \(codec): \(refusal)")
        return Audio(encoding: reader, codecName: codec, whyEncoded: refusal)
    }

    struct Stats {
        var sourceFrames = 0
        var outputFrames = 0
        var interpolatedFrames = 0
    }

    private func stream(reader: VideoReader, timeline: FrameTimeline, interpolator: PairInterpolator?,
                        writer: MediaWriter, audio: Audio?, outputRate: FrameRate, expected: Int,
                        stats: inout Stats) throws {
        let spatial = SpatialPass(network: model.network, tiling: request.tiling, scale: request.scale)
        // A window onto the source: frames[k] is source frame base + k.
        var window: [Tensor] = []
        var base = 0
        var ended = false
        var pendingAudio: PCMAudio? = nil
        var pendingPacket: EncodedPacket? = nil
        var audioEnded = audio == nil

        /// Reads until source frame `i` is in the window (or the input ends).
        func have(_ i: Int) throws -> Bool {
            while !ended && base + window.count <= i {
                try host.checkCancelled()
                if let f = try reader.next() {
                    window.append(try f.tensor())
                    stats.sourceFrames += 1
                } else {
                    ended = true
                }
            }
            return i < base + window.count
        }

        /// Appends the input's audio up to `time` seconds. Copied packets keep their times, which
        /// count from the same time 0 as the video's frames, so a new frame rate leaves them in sync.
        func feedAudio(until time: Double) throws {
            if let packets = audio?.copying {
                while !audioEnded {
                    if pendingPacket == nil { pendingPacket = try packets.next() }
                    guard let packet = pendingPacket else { audioEnded = true; return }
                    if packet.time >= time { return }
                    try writer.append(audioPacket: packet)
                    pendingPacket = nil
                }
            } else if let pcm = audio?.encoding {
                while !audioEnded {
                    if pendingAudio == nil { pendingAudio = try pcm.next() }
                    guard let chunk = pendingAudio else { audioEnded = true; return }
                    if chunk.time >= time { return }
                    try writer.append(audio: chunk)
                    pendingAudio = nil
                }
            }
        }

        host.progress("upsample", step: 0, total: expected)
        var j = 0
        while true {
            try host.checkCancelled()
            var (i, e) = timeline.position(j)
            if !(try have(i)) {
                // The input ended before frame i: hold its last frame until the output covers its duration.
                guard stats.sourceFrames > 0 else { throw PluginError.failed("\(request.input): no video frame could be decoded") }
                if j >= timeline.outputCount(sourceFrames: stats.sourceFrames) { break }
                (i, e) = (stats.sourceFrames - 1, 0)
            }
            if e > 0, !(try have(i + 1)) { e = 0 }  // the last frame has no successor: hold it
            // Drop source frames no later output frame needs.
            if i > base {
                window.removeFirst(Swift.min(i - base, window.count))
                base = i
            }
            let low: Tensor
            if e == 0 {
                low = window[i - base]
            } else {
                low = try interpolator!.frame(index: i, eighths: e, first: window[i - base], second: window[i + 1 - base])
                stats.interpolatedFrames += 1
            }
            let time = Double(j) * Double(outputRate.denominator) / Double(outputRate.numerator)
            let frame = try spatial(low, time: time) { [host] in try host.checkCancelled() }
            try writer.append(frame: frame)
            stats.outputFrames += 1
            j += 1
            try feedAudio(until: Double(j) * Double(outputRate.denominator) / Double(outputRate.numerator))
            host.progress("upsample", step: j, total: Swift.max(expected, j))
            if ended && j >= timeline.outputCount(sourceFrames: stats.sourceFrames) { break }
        }
        try feedAudio(until: .infinity)
    }

    static func reduced(_ n: Int, _ d: Int) -> FrameRate {
        let g = UpsampleParams.gcd(n, d)
        return FrameRate(n / g, d / g)
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
