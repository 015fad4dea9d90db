// What stays resident between jobs. The daemon loads one model per job: here
// the spatial network. RIFE is not a second daemon model but a part of the
// spatial model's handle, attached the first time a job changes the frame rate:
// it then lives (and is evicted, and is counted in resident_bytes) with that
// handle, under the daemon's keep-alive and memory budget, with no change to
// the ABI. A RIFE loaded on its own (`reel load rife-hdv3`) is the same
// instance: loaded RIFEs are shared by path, so no job loads a second copy.
import Foundation
import ReelModels
import ReelPluginKit
import ReelProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A loaded Real-ESRGAN network and, once a job needed it, its RIFE.
final class SpatialModel: ReelModel {
    let name: String
    let kind: String
    let directory: String
    let network: SpatialUpscaler
    let weightBytes: UInt64
    private(set) var interpolator: SharedRIFE?

    init(directory: String, kind: String, host: PluginHost) throws {
        self.directory = directory
        self.kind = kind
        name = splitPath(directory).name
        host.progress("load", step: 0, total: 1)
        let entry = try ResidentModels.open(directory: directory, kind: kind)
        do {
            switch kind {
            case SRVGGNetCompact.kind: network = try SRVGGNetCompact(entry: entry)
            case RRDBNet.kind: network = try RRDBNet(entry: entry)
            default: throw PluginError.badModel("\(directory): kind \(kind) is not a spatial model")
            }
        } catch let e as PluginError { throw e } catch {
            throw PluginError.badModel("cannot load \(directory): \(error)")
        }
        weightBytes = fileSize(entry.weightsURL.path) ?? 0
        host.progress("load", step: 1, total: 1)
    }

    /// Overlap that makes tiles exact for the compact net (its receptive radius, 18);
    /// RRDBNet sees ~350 px, so any practical overlap is an approximation: 32 keeps seams invisible.
    var defaultOverlap: Int { kind == SRVGGNetCompact.kind ? network.receptiveRadius : 32 }

    var residentBytes: UInt64 { weightBytes + (interpolator?.bytes ?? 0) }

    func unload() { interpolator = nil }

    /// The RIFE beside this model (same model directory), loading it on first use.
    func attachInterpolator(host: PluginHost) throws -> SharedRIFE {
        if let r = interpolator { return r }
        let r = try ResidentModels.sharedRIFE(near: directory, host: host)
        interpolator = r
        return r
    }
}

/// A RIFE loaded on its own (model.load of a rife-hdv3 directory).
final class InterpolatorModel: ReelModel {
    let shared: SharedRIFE
    init(_ shared: SharedRIFE) { self.shared = shared }
    var residentBytes: UInt64 { shared.bytes }
    func unload() {}
}

/// One loaded RIFE, shared by every handle that uses it.
final class SharedRIFE {
    let directory: String
    let name: String
    let network: RIFE
    let bytes: UInt64

    init(directory: String, network: RIFE, bytes: UInt64) {
        self.directory = directory
        name = splitPath(directory).name
        self.network = network
        self.bytes = bytes
    }
}

enum ResidentModels {
    private struct Weak { weak var value: SharedRIFE? }
    private static let lock = PthreadMutex()
    nonisolated(unsafe) private static var rifes: [String: Weak] = [:]

    static func load(directory: String, kind: String, host: PluginHost) throws -> ReelModel {
        switch kind {
        case SRVGGNetCompact.kind, RRDBNet.kind: return try SpatialModel(directory: directory, kind: kind, host: host)
        case RIFE.kind: return InterpolatorModel(try sharedRIFE(at: directory, host: host))
        default: throw PluginError.badModel("the upsample plugin does not load \(kind) models (\(directory))")
        }
    }

    /// Opens a model directory through the store rules (manifest format, kind, file sizes).
    static func open(directory: String, kind: String) throws -> ModelStore.Entry {
        let (parent, name) = splitPath(directory)
        do {
            return try ModelStore(root: URL(fileURLWithPath: parent, isDirectory: true)).open(name, kind: kind)
        } catch {
            throw PluginError.badModel("\(directory): \(error)")
        }
    }

    /// The RIFE at `directory`, loaded once per process while anyone holds it.
    static func sharedRIFE(at directory: String, host: PluginHost) throws -> SharedRIFE {
        let key = realPath(directory) ?? directory
        if let r = lock.locked({ rifes[key]?.value }) { return r }
        host.progress("load", step: 0, total: 1)
        let entry = try open(directory: directory, kind: RIFE.kind)
        let net: RIFE
        do { net = try RIFE(entry: entry) } catch { throw PluginError.badModel("cannot load \(directory): \(error)") }
        let loaded = SharedRIFE(directory: directory, network: net, bytes: fileSize(entry.weightsURL.path) ?? 0)
        host.progress("load", step: 1, total: 1)
        return lock.locked {
            // Another thread may have loaded it meanwhile: keep one.
            if let r = rifes[key]?.value { return r }
            rifes[key] = Weak(value: loaded)
            return loaded
        }
    }

    /// RIFE for a spatial model: a rife-hdv3 directory in the same model directory
    /// (the name rife-hdv3 first, then any other of that kind), else the default store.
    static func sharedRIFE(near spatialDirectory: String, host: PluginHost) throws -> SharedRIFE {
        if let dir = findRIFE(near: spatialDirectory) { return try sharedRIFE(at: dir, host: host) }
        let parent = splitPath(spatialDirectory).directory
        throw PluginError.failed(
            "changing the frame rate needs a \(RIFE.kind) model beside \(splitPath(spatialDirectory).name) in \(parent) " +
            "(or in \(ModelStore.defaultRoot().path)); run `make models` to import rife-hdv3")
    }

    static func findRIFE(near spatialDirectory: String) -> String? {
        let siblings = siblingDirectories(of: spatialDirectory)
        let preferred = siblings.filter { splitPath($0).name == "rife-hdv3" } + siblings.filter { splitPath($0).name != "rife-hdv3" }
        for dir in preferred where ModelCatalogKind.of(dir) == RIFE.kind { return dir }
        let fallback = ModelStore.defaultRoot().appendingPathComponent("rife-hdv3").path
        return ModelCatalogKind.of(fallback) == RIFE.kind ? fallback : nil
    }
}

/// The kind of a model directory, read as the daemon does (manifest.json's `kind`).
enum ModelCatalogKind {
    static func of(_ directory: String) -> String? {
        let path = directory + "/manifest.json"
        guard let size = fileSize(path), size < 1 << 20, let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        guard fread(&bytes, 1, bytes.count, f) == bytes.count, let json = try? JSON.parse(bytes) else { return nil }
        return json["kind"]?.stringValue
    }
}

/// Honest upper bounds for the daemon's memory budget: the weights plus the
/// working memory of a job at the default tile (engine activations and im2col
/// buffers of one tile, a 4K output frame and its 8-bit copies, the encoder's
/// lookahead) and, for the spatial models, the RIFE a job may attach.
enum ModelFootprint {
    static let mib: UInt64 = 1 << 20

    static func estimate(directory: String, kind: String) throws -> UInt64 {
        guard let weights = fileSize(directory + "/model.safetensors") else {
            throw PluginError.badModel("\(directory) has no model.safetensors; run `make models`")
        }
        switch kind {
        case SRVGGNetCompact.kind: return weights + 1536 * mib + rifeShare(near: directory)
        case RRDBNet.kind: return weights + 2048 * mib + rifeShare(near: directory)
        case RIFE.kind: return weights + 512 * mib
        default: throw PluginError.badModel("the upsample plugin does not load \(kind) models")
        }
    }

    private static func rifeShare(near directory: String) -> UInt64 {
        guard let dir = ResidentModels.findRIFE(near: directory) else { return 0 }
        return (fileSize(dir + "/model.safetensors") ?? 0) + 512 * mib
    }
}
