import CFFmpeg

/// An audio stream as coded: the codec and its parameters (sample rate, channels, the decoder's
/// set-up bytes) and the time base its packets count in. Made by `AudioPacketReader`.
public final class EncodedAudioFormat {
    /// The file the stream comes from.
    public let path: String
    /// FFmpeg's codec name ("aac", "opus", "mp3").
    public let codecName: String
    public let sampleRate: Int
    public let channels: Int
    let parameters: UnsafeMutablePointer<AVCodecParameters>
    let timeBase: AVRational

    init(path: String, parameters source: UnsafePointer<AVCodecParameters>, timeBase: AVRational) throws {
        guard let par = avcodec_parameters_alloc() else {
            throw MediaError(.decodeFailed, path: path, "out of memory copying the audio stream's parameters")
        }
        if avcodec_parameters_copy(par, source) < 0 {
            var p: UnsafeMutablePointer<AVCodecParameters>? = par
            avcodec_parameters_free(&p)
            throw MediaError(.decodeFailed, path: path, "out of memory copying the audio stream's parameters")
        }
        parameters = par
        self.path = path
        self.timeBase = timeBase
        codecName = String(cString: avcodec_get_name(par.pointee.codec_id))
        sampleRate = Int(par.pointee.sample_rate)
        channels = Int(par.pointee.ch_layout.nb_channels)
    }

    deinit {
        var p: UnsafeMutablePointer<AVCodecParameters>? = parameters
        avcodec_parameters_free(&p)
    }
}

/// One compressed packet as the file stores it, for a stream copy. Owns its bytes (reference-counted
/// by FFmpeg, so handing it to a writer copies nothing).
public final class EncodedPacket {
    let packet: UnsafeMutablePointer<AVPacket>
    let timeBase: AVRational

    init(moving source: UnsafeMutablePointer<AVPacket>, timeBase: AVRational) {
        packet = av_packet_alloc()
        av_packet_move_ref(packet, source)
        self.timeBase = timeBase
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// Presentation time, seconds from the file's time 0.
    public var time: Double { Double(packet.pointee.pts) * av_q2d(timeBase) }
    /// Seconds of audio the packet holds (0 when the container does not say).
    public var duration: Double { Double(max(packet.pointee.duration, 0)) * av_q2d(timeBase) }
    public var size: Int { Int(packet.pointee.size) }
    /// A copy of the coded bytes.
    public var bytes: [UInt8] {
        guard let data = packet.pointee.data, packet.pointee.size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(packet.pointee.size)))
    }
}
