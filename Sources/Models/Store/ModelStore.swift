import Foundation

/// Where imported models live: one directory per model holding
/// model.safetensors, manifest.json and the upstream LICENSE. The same rule as
/// tools/weights/import_models.py: $REEL_MODELS, else
/// $XDG_DATA_HOME/reel/models, else ~/.local/share/reel/models.
public struct ModelStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public static func defaultRoot(environment env: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = env["REEL_MODELS"], !dir.isEmpty { return URL(fileURLWithPath: dir, isDirectory: true) }
        let data: URL
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty {
            data = URL(fileURLWithPath: xdg, isDirectory: true)
        } else {
            let home = env["HOME"].map { URL(fileURLWithPath: $0, isDirectory: true) }
                ?? FileManager.default.homeDirectoryForCurrentUser
            data = home.appendingPathComponent(".local/share", isDirectory: true)
        }
        return data.appendingPathComponent("reel/models", isDirectory: true)
    }

    public static var `default`: ModelStore { ModelStore(root: defaultRoot()) }

    public enum Error: Swift.Error, CustomStringConvertible {
        case notImported(name: String, store: URL)
        case badManifest(path: String, reason: String)
        case wrongKind(name: String, expected: String, found: String)
        case sizeMismatch(path: String, expected: Int, found: Int)

        public var description: String {
            switch self {
            case .notImported(let name, let store):
                return "model \(name) is not in \(store.path); run `make models` (tools/weights/import_models.py)"
            case .badManifest(let path, let reason):
                return "\(path): \(reason)"
            case .wrongKind(let name, let expected, let found):
                return "model \(name) is a \(found), not a \(expected)"
            case .sizeMismatch(let path, let expected, let found):
                return "\(path) is \(found) bytes, the manifest says \(expected): re-run `make models`"
            }
        }
    }

    /// An imported model: its directory, manifest, and the raw JSON for the
    /// model-specific `config`.
    public struct Entry: Sendable {
        public let directory: URL
        public let manifest: ModelManifest
        let manifestTree: JSONTree

        public var weightsURL: URL { directory.appendingPathComponent("model.safetensors") }

        /// Decodes manifest["config"] as the model's configuration type.
        public func config<C: Decodable>(_ type: C.Type) throws -> C {
            guard case .object(let top) = manifestTree, let cfg = top["config"] else {
                throw Error.badManifest(path: directory.appendingPathComponent("manifest.json").path, reason: "no \"config\"")
            }
            do { return try cfg.decode(type) } catch {
                throw Error.badManifest(path: directory.appendingPathComponent("manifest.json").path,
                                        reason: "config does not fit \(C.self): \(error)")
            }
        }
    }

    /// Opens a model by name, checking the manifest's format, its kind and the
    /// files' sizes (the importer checks hashes; a size check catches truncation cheaply).
    public func open(_ name: String, kind: String? = nil) throws -> Entry {
        let dir = root.appendingPathComponent(name, isDirectory: true)
        let manifestPath = dir.appendingPathComponent("manifest.json").path
        guard FileManager.default.fileExists(atPath: manifestPath) else { throw Error.notImported(name: name, store: root) }
        let tree: JSONTree
        let manifest: ModelManifest
        do {
            tree = try JSONTree.load(path: manifestPath)
            manifest = try tree.decode(ModelManifest.self)
        } catch {
            throw Error.badManifest(path: manifestPath, reason: "\(error)")
        }
        guard manifest.format == ModelManifest.supportedFormat else {
            throw Error.badManifest(path: manifestPath, reason: "format \(manifest.format), expected \(ModelManifest.supportedFormat)")
        }
        if let kind, manifest.kind != kind { throw Error.wrongKind(name: name, expected: kind, found: manifest.kind) }
        for file in manifest.files {
            let path = dir.appendingPathComponent(file.path).path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            if size != file.bytes { throw Error.sizeMismatch(path: path, expected: file.bytes, found: size) }
        }
        return Entry(directory: dir, manifest: manifest, manifestTree: tree)
    }
}
