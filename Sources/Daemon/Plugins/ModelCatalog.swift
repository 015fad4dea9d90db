// Discovers models in the configured model directories. A model is a
// directory holding either model_index.json (diffusers layout; its kind is
// `_class_name`, e.g. WanPipeline) or manifest.json (reel's imported models;
// its kind is `kind`, e.g. realesrgan-srvgg). The name is the directory's name.
import Foundation
import ReelProtocol

struct ModelRef: Hashable, Sendable {
    var name: String
    var path: String
    var kind: String
}

enum ModelCatalog {
    static func scan(directories: [String]) -> [ModelRef] {
        var out: [ModelRef] = []
        var seen: Set<String> = []
        for dir in directories {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for e in entries.sorted() where !e.hasPrefix(".") {
                let path = dir + "/" + e
                guard let kind = kind(of: path), !seen.contains(e) else { continue }
                seen.insert(e)
                out.append(ModelRef(name: e, path: path, kind: kind))
            }
        }
        return out
    }

    /// The kind of a model directory, or nil if it is not one.
    static func kind(of dir: String) -> String? {
        if let j = readJSON(dir + "/model_index.json"), let k = j["_class_name"]?.stringValue { return k }
        if let j = readJSON(dir + "/manifest.json"), let k = j["kind"]?.stringValue { return k }
        return nil
    }

    private static func readJSON(_ path: String) -> JSON? {
        guard let data = FileManager.default.contents(atPath: path), data.count < 16 << 20 else { return nil }
        return try? JSON.parse([UInt8](data))
    }
}
