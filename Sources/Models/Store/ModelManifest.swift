/// The manifest.json that tools/weights/import_models.py writes beside each
/// imported model (format "reel-model-manifest/1"; tools/weights/README.md).
public struct ModelManifest: Decodable, Sendable {
    public static let supportedFormat = "reel-model-manifest/1"

    public struct SourceFile: Decodable, Sendable {
        public let path: String
        public let bytes: Int
        public let sha256: String
    }

    public struct Source: Decodable, Sendable {
        public let package: String
        public let version: String
        public let wheel: String
        public let wheelSHA256: String
        public let files: [SourceFile]

        enum CodingKeys: String, CodingKey {
            case package, version, wheel, files
            case wheelSHA256 = "wheel_sha256"
        }
    }

    public let format: String
    public let name: String
    /// "realesrgan-srvgg", "realesrgan-rrdb" or "rife-hdv3": which Swift model reads it.
    public let kind: String
    public let architecture: String
    public let parameters: Int
    public let tensors: Int
    public let dtype: String
    public let license: String
    public let upstream: String
    public let source: Source
    /// model.safetensors and LICENSE, with their sizes and hashes.
    public let files: [SourceFile]
}
