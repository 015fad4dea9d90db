// Writing a reel plugin in Swift: conform to `ReelPlugin`, return
// `PluginExport.descriptor(for:)` from an `@_cdecl("reel_plugin_entry")`
// function. reel_plugin.h is the contract; this file is its Swift face.
import CReelPlugin
import ReelProtocol

/// A stage (JSON-RPC method) a plugin serves.
public struct PluginStage {
    public var method: String
    public var summary: String
    public var paramsSchema: JSON
    /// Kinds of model this stage runs on; empty = every kind of the plugin.
    public var modelKinds: [String]
    public var needsModel: Bool

    public init(method: String, summary: String, paramsSchema: JSON, modelKinds: [String] = [], needsModel: Bool = true) {
        self.method = method
        self.summary = summary
        self.paramsSchema = paramsSchema
        self.modelKinds = modelKinds
        self.needsModel = needsModel
    }
}

/// A loaded model. `unload` is called once, never while a run uses it.
public protocol ReelModel: AnyObject {
    var residentBytes: UInt64 { get }
    func unload()
}

/// Why a plugin call did not succeed; maps onto reel_status.
public enum PluginError: Error, CustomStringConvertible {
    case cancelled
    case failed(String)
    case invalidParams(String)
    case accessDenied(String)
    case badModel(String)

    public var description: String {
        switch self {
        case .cancelled: return "cancelled"
        case .failed(let m), .invalidParams(let m), .accessDenied(let m), .badModel(let m): return m
        }
    }

    var status: reel_status {
        switch self {
        case .cancelled: return REEL_ERR_CANCELLED
        case .failed: return REEL_ERR_FAILED
        case .invalidParams: return REEL_ERR_INVALID_PARAMS
        case .accessDenied: return REEL_ERR_ACCESS
        case .badModel: return REEL_ERR_BAD_MODEL
        }
    }
}

/// A plugin. One instance per library; the host may call it from several threads
/// (never concurrently for one model).
public protocol ReelPlugin: AnyObject {
    var name: String { get }
    var version: String { get }
    var description: String { get }
    var modelKinds: [String] { get }
    var stages: [PluginStage] { get }

    /// Honest upper estimate of the bytes `load` will take.
    func estimate(modelDirectory: String, kind: String) throws -> UInt64
    func load(modelDirectory: String, kind: String, options: JSON, host: PluginHost) throws -> ReelModel
    /// Runs one request; returns the result object (it should name output files).
    func run(method: String, model: ReelModel?, params: JSON, host: PluginHost) throws -> JSON
}

extension ReelPlugin {
    public var description: String { "" }
    public var modelKinds: [String] { [] }
    public func estimate(modelDirectory: String, kind: String) throws -> UInt64 { 0 }
    public func load(modelDirectory: String, kind: String, options: JSON, host: PluginHost) throws -> ReelModel {
        throw PluginError.badModel("\(name) loads no models")
    }
}

/// The host's callbacks, as Swift methods.
public struct PluginHost {
    let raw: UnsafePointer<reel_host>

    public func progress(_ phase: String, step: Int, total: Int) {
        raw.pointee.progress(raw.pointee.ctx, phase, Int64(step), Int64(total))
    }

    public var isCancelled: Bool { raw.pointee.is_cancelled(raw.pointee.ctx) != 0 }

    /// Throws `PluginError.cancelled` if the job was cancelled: call at step boundaries.
    public func checkCancelled() throws {
        if isCancelled { throw PluginError.cancelled }
    }

    public enum LogLevel: Int32 { case error = 0, warning, info, debug }

    public func log(_ level: LogLevel, _ message: String) {
        raw.pointee.log(raw.pointee.ctx, level.rawValue, message)
    }

    /// Ask before writing `path`; throws `accessDenied` when the client may not.
    public func declareOutput(_ path: String, mediaType: String = "application/octet-stream") throws {
        if raw.pointee.declare_output(raw.pointee.ctx, path, mediaType) != REEL_OK.rawValue {
            throw PluginError.accessDenied("the client may not write \(path)")
        }
    }
}
