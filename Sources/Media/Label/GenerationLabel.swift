/// The "made by AI" label reel writes into every file it produces, and reads back from any file.
///
/// It is written twice: as separate container tags (`reel_ai_generated`, `reel_model`, ... — see
/// `GenerationLabel.Key`) where the container keeps arbitrary tags (MP4 with `use_metadata_tags`,
/// WebM/Matroska tags, FLAC Vorbis comments, PNG tEXt chunks), and as one human-readable `comment`
/// tag that every container keeps (WAV's INFO/ICMT holds only a fixed set of tags). Reading prefers
/// the separate tags and falls back to parsing the comment. docs/media.md lists the keys.
public struct GenerationLabel: Sendable, Equatable {
    /// The tag names, exactly as written into the container.
    public enum Key {
        public static let aiGenerated = "reel_ai_generated"   // always "true"
        public static let generator = "reel_generator"        // "reel <version>"
        public static let model = "reel_model"
        public static let plugin = "reel_plugin"
        public static let pluginVersion = "reel_plugin_version"
        public static let prompt = "reel_prompt"
        public static let seed = "reel_seed"
        /// Size of the frames given to the writer when the stream had to be padded (odd sizes).
        public static let sourceSize = "reel_source_size"
        /// The human-readable summary every container keeps.
        public static let comment = "comment"
        static let all = [aiGenerated, generator, model, plugin, pluginVersion, prompt, seed]
    }

    /// First line of the comment tag; also how a label is recognised in a comment.
    public static let commentHeadline = "AI-generated content made with reel"

    public var model: String
    public var plugin: String
    public var pluginVersion: String
    public var prompt: String
    public var seed: UInt64
    /// What wrote the file, e.g. "reel 0.1.0".
    public var generator: String

    public init(model: String, plugin: String, pluginVersion: String, prompt: String, seed: UInt64,
                generator: String = "reel") {
        self.model = model
        self.plugin = plugin
        self.pluginVersion = pluginVersion
        self.prompt = prompt
        self.seed = seed
        self.generator = generator
    }

    /// The tags to write: the separate keys plus the comment.
    public var tags: [(key: String, value: String)] {
        [
            (Key.aiGenerated, "true"),
            (Key.generator, generator),
            (Key.model, model),
            (Key.plugin, plugin),
            (Key.pluginVersion, pluginVersion),
            (Key.seed, String(seed)),
            (Key.prompt, prompt),
            (Key.comment, comment),
        ]
    }

    /// One tag holding everything; the prompt comes last so it may contain any character, newlines too.
    public var comment: String {
        """
        \(Self.commentHeadline)
        generator: \(generator)
        model: \(model)
        plugin: \(plugin)
        plugin version: \(pluginVersion)
        seed: \(seed)
        prompt: \(prompt)
        """
    }

    /// Reads a label from container tags (names compared case-insensitively: Matroska and Vorbis
    /// comments may change case). Returns nil when the file carries no reel label.
    public init?(tags: [String: String]) {
        var lower: [String: String] = [:]
        for (k, v) in tags { lower[k.lowercased()] = v }
        if lower[Key.aiGenerated]?.lowercased() == "true", let model = lower[Key.model] {
            self.init(model: model,
                      plugin: lower[Key.plugin] ?? "",
                      pluginVersion: lower[Key.pluginVersion] ?? "",
                      prompt: lower[Key.prompt] ?? "",
                      seed: UInt64(lower[Key.seed] ?? "") ?? 0,
                      generator: lower[Key.generator] ?? "reel")
            return
        }
        guard let comment = lower[Key.comment] ?? lower["icmt"] else { return nil }
        self.init(comment: comment)
    }

    /// Parses the comment form written by `comment`.
    public init?(comment: String) {
        guard comment.hasPrefix(Self.commentHeadline) else { return nil }
        var fields: [String: String] = [:]
        var rest = Substring(comment.dropFirst(Self.commentHeadline.count))
        while let newline = rest.firstIndex(of: "\n") {
            rest = rest[rest.index(after: newline)...]
            guard let colon = rest.range(of: ": ") else { break }
            let key = String(rest[..<colon.lowerBound])
            if key == "prompt" {
                fields[key] = String(rest[colon.upperBound...])
                break
            }
            let end = rest[colon.upperBound...].firstIndex(of: "\n") ?? rest.endIndex
            fields[key] = String(rest[colon.upperBound ..< end])
            rest = rest[end...]
        }
        guard let model = fields["model"] else { return nil }
        self.init(model: model,
                  plugin: fields["plugin"] ?? "",
                  pluginVersion: fields["plugin version"] ?? "",
                  prompt: fields["prompt"] ?? "",
                  seed: UInt64(fields["seed"] ?? "") ?? 0,
                  generator: fields["generator"] ?? "reel")
    }
}
