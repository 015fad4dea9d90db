/// A frame rate as a fraction (24/1, 30000/1001), as containers store it.
public struct FrameRate: Sendable, Equatable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int

    public init(_ numerator: Int, _ denominator: Int = 1) {
        self.numerator = numerator
        self.denominator = denominator
    }

    public var value: Double { Double(numerator) / Double(denominator) }
    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }
    var isValid: Bool { numerator > 0 && denominator > 0 && value <= Double(MediaLimits.maxFrameRate) }
}

/// A width and height in pixels.
public struct PixelSize: Sendable, Equatable, CustomStringConvertible {
    public let width: Int
    public let height: Int
    public init(_ width: Int, _ height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// Bounds on what the module accepts, so a corrupt header or a typo cannot ask for terabytes.
public enum MediaLimits {
    /// Largest width or height (FFmpeg's H.264 and VP9 encoders stop well below this anyway).
    public static let maxDimension = 16384
    /// Largest number of pixels in one frame (16384 x 16384 would need 3 GiB as float RGB).
    public static let maxPixels = 8192 * 8192
    public static let maxFrameRate = 1000
    public static let maxSampleRate = 768_000
    public static let maxChannels = 64

    static func check(_ size: PixelSize, path: String, what: String) throws {
        guard size.width > 0, size.height > 0,
              size.width <= maxDimension, size.height <= maxDimension,
              size.width * size.height <= maxPixels else {
            throw MediaError(.absurdDimensions, path: path,
                             "\(what) \(size) is outside 1x1 ... \(maxDimension)x\(maxDimension) " +
                             "(at most \(maxPixels) pixels)")
        }
    }
}
