// Sharded checkpoints (model.safetensors.index.json) and the entry point that
// opens whatever a model directory holds.
import CEngineJansson
import Glibc

/// A checkpoint split over several files, described by an index
/// {"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}.
public final class ShardedSafetensors: WeightSource, @unchecked Sendable {
    public let indexPath: String
    public let shards: [String: SafetensorsFile]
    let weightMap: [String: String]

    public init(indexPath: String) throws {
        self.indexPath = indexPath
        var error = json_error_t()
        guard let root = json_load_file(indexPath, 0, &error) else {
            let text = withUnsafeBytes(of: error.text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            throw SafetensorsError.badIndex(path: indexPath, reason: text)
        }
        defer { json_decref(root) }
        guard root.pointee.type == JSON_OBJECT, let map = json_object_get(root, "weight_map"), map.pointee.type == JSON_OBJECT else {
            throw SafetensorsError.badIndex(path: indexPath, reason: "no weight_map object")
        }
        var wm: [String: String] = [:]
        var iter = json_object_iter(map)
        while let it = iter {
            let v = json_object_iter_value(it)!
            guard v.pointee.type == JSON_STRING else { throw SafetensorsError.badIndex(path: indexPath, reason: "weight_map values must be file names") }
            let file = String(cString: json_string_value(v))
            guard !file.contains("/") else { throw SafetensorsError.badIndex(path: indexPath, reason: "shard '\(file)' is not in the index's directory") }
            wm[String(cString: json_object_iter_key(it))] = file
            iter = json_object_iter_next(map, it)
        }
        weightMap = wm
        let dir = indexPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        var opened: [String: SafetensorsFile] = [:]
        for file in Set(wm.values).sorted() {
            opened[file] = try SafetensorsFile(path: dir.isEmpty ? file : dir + "/" + file)
        }
        shards = opened
        // Every tensor the index promises must be in its shard.
        for (name, file) in wm.sorted(by: { $0.key < $1.key }) where opened[file]?.entries[name] == nil {
            throw SafetensorsError.badIndex(path: indexPath, reason: "tensor '\(name)' is mapped to \(file), which does not contain it")
        }
    }

    public var names: [String] { weightMap.keys.sorted() }

    func shard(_ name: String) throws -> SafetensorsFile {
        guard let file = weightMap[name], let s = shards[file] else { throw SafetensorsError.missingTensor(path: indexPath, name: name) }
        return s
    }

    public func info(_ name: String) throws -> TensorInfo { try shard(name).info(name) }
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor { try shard(name).tensor(name, shape: shape) }
}

public enum Safetensors {
    /// Opens a .safetensors file, a .index.json, or a directory holding
    /// model.safetensors or model.safetensors.index.json (or one *.safetensors).
    public static func open(_ path: String) throws -> WeightSource {
        if path.hasSuffix(".json") { return try ShardedSafetensors(indexPath: path) }
        var st = stat()
        guard stat(path, &st) == 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) != S_IFDIR { return try SafetensorsFile(path: path) }
        for candidate in ["model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.json"] where exists(path + "/" + candidate) {
            return try ShardedSafetensors(indexPath: path + "/" + candidate)
        }
        for candidate in ["model.safetensors", "diffusion_pytorch_model.safetensors"] where exists(path + "/" + candidate) {
            return try SafetensorsFile(path: path + "/" + candidate)
        }
        let files = listDirectory(path).filter { $0.hasSuffix(".safetensors") }
        if files.count == 1 { return try SafetensorsFile(path: path + "/" + files[0]) }
        throw SafetensorsError.cannotOpen(path: path, reason: files.isEmpty ? "no .safetensors file in this directory"
                                          : "several .safetensors files and no index.json")
    }

    static func exists(_ p: String) -> Bool { access(p, F_OK) == 0 }

    static func listDirectory(_ p: String) -> [String] {
        guard let d = opendir(p) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out.sorted()
    }
}
