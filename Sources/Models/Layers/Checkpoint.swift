import ReelEngine

/// A checkpoint read by PyTorch module path: `checkpoint["body"]["3"].tensor("weight", shape: [64])`
/// reads `body.3.weight`. Shapes are checked on read, and every key read is
/// recorded so that a model can insist, like `load_state_dict(strict=True)`,
/// that the file held nothing it did not use.
public final class Checkpoint: @unchecked Sendable {
    public let source: WeightSource
    public let path: String
    private var used = Set<String>()

    public init(source: WeightSource, path: String) {
        self.source = source
        self.path = path
    }

    public convenience init(path: String) throws {
        self.init(source: try SafetensorsFile(path: path), path: path)
    }

    public var root: ModulePath { ModulePath(checkpoint: self, prefix: "") }

    public subscript(_ name: String) -> ModulePath { root[name] }

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        used.insert(key)
        return try source.tensor(key, shape: shape)
    }

    /// Throws when the file holds tensors the model never read (outside `ignoring`
    /// prefixes, such as RIFE's training-only teacher block).
    public func requireAllUsed(ignoring prefixes: [String] = []) throws {
        let unused = source.names.filter { name in !used.contains(name) && !prefixes.contains { name.hasPrefix($0) } }
        if !unused.isEmpty {
            throw ModelError.unusedWeights(path: path, names: unused.sorted())
        }
    }
}

/// A dotted prefix inside a checkpoint, named like the PyTorch module it belongs to.
public struct ModulePath {
    let checkpoint: Checkpoint
    public let prefix: String

    public subscript(_ name: String) -> ModulePath {
        ModulePath(checkpoint: checkpoint, prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
    }

    public subscript(_ index: Int) -> ModulePath { self[String(index)] }

    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        try checkpoint.tensor(prefix.isEmpty ? name : "\(prefix).\(name)", shape: shape)
    }
}

public enum ModelError: Error, CustomStringConvertible {
    case unusedWeights(path: String, names: [String])
    case badInput(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .unusedWeights(let path, let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(path): \(names.count) tensors the model does not use (\(shown)\(names.count > 5 ? ", …" : "")): wrong file for this model?"
        case .badInput(let s): return "invalid input: \(s)"
        case .unsupported(let s): return "unsupported configuration: \(s)"
        }
    }
}
