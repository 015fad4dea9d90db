/// A run of audio: float32 **interleaved** PCM (L R L R ... for stereo), nominally in [-1, 1], at a
/// given sample rate and channel count. Channel order is FFmpeg's default layout for the count
/// (1: mono, 2: FL FR, 6: 5.1 as FL FR FC LFE BL BR).
public struct PCMAudio: Sendable, Equatable {
    public var samples: [Float]
    public let sampleRate: Int
    public let channels: Int
    /// Time of the first sample in seconds from the start of the file (0 for audio made in memory).
    public var time: Double

    public init(samples: [Float], sampleRate: Int, channels: Int, time: Double = 0) {
        precondition(sampleRate > 0 && channels > 0, "PCMAudio needs a positive rate and channel count")
        precondition(samples.count % channels == 0, "PCMAudio: sample count is not a multiple of channels")
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
        self.time = time
    }

    /// Samples per channel.
    public var frameCount: Int { samples.count / channels }
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// Appends another buffer of the same rate and channel count.
    public mutating func append(_ other: PCMAudio) {
        precondition(other.sampleRate == sampleRate && other.channels == channels,
                     "PCMAudio.append: rate or channel count differs")
        samples.append(contentsOf: other.samples)
    }

    /// One channel, de-interleaved.
    public func channel(_ c: Int) -> [Float] {
        precondition(c >= 0 && c < channels)
        return stride(from: c, to: samples.count, by: channels).map { samples[$0] }
    }
}
