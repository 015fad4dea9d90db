// The reel_host a plugin sees during estimate, load and run: C callbacks that
// land in a Swift object holding the job's progress, cancellation flag,
// outputs, result and error.
import CReelPlugin
import Foundation
import Logging
import NIOConcurrencyHelpers
import ReelProtocol

final class HostContext: @unchecked Sendable {
    let logger: Logger
    let peer: Peer
    private let lock = NIOLock()
    private var _result: String?
    private var _error: String?
    private var _outputs: [JSON] = []
    /// Called for every progress report (phase, step, total).
    var onProgress: (String, Int64, Int64) -> Void = { _, _, _ in }
    /// Polled by the plugin at step boundaries.
    var isCancelled: () -> Bool = { false }

    init(logger: Logger, peer: Peer) {
        self.logger = logger
        self.peer = peer
    }

    var result: String? { lock.withLock { _result } }
    var error: String? { lock.withLock { _error } }
    var outputs: [JSON] { lock.withLock { _outputs } }

    func withHost<T>(_ body: (UnsafePointer<reel_host>) -> T) -> T {
        var host = reel_host(
            struct_size: UInt32(MemoryLayout<reel_host>.size),
            ctx: Unmanaged.passUnretained(self).toOpaque(),
            progress: hostProgress, is_cancelled: hostIsCancelled, log: hostLog,
            declare_output: hostDeclareOutput, set_result: hostSetResult, set_error: hostSetError)
        return withExtendedLifetime(self) { withUnsafePointer(to: &host) { body($0) } }
    }

    /// The RPC error for a failed call, with the plugin's own message.
    func failure(status: Int32, what: String) -> RPCError {
        let msg = error ?? "status \(status)"
        switch UInt32(status) {
        case REEL_ERR_CANCELLED.rawValue: return RPCError(.cancelled, "cancelled while \(what)")
        case REEL_ERR_ACCESS.rawValue: return RPCError(.accessDenied, "access denied while \(what): \(msg)")
        case REEL_ERR_INVALID_PARAMS.rawValue: return RPCError(.invalidParams, "invalid params: \(msg)", data: ["field": "", "reason": .string(msg)])
        default: return RPCError(.pluginFailure, "plugin failure while \(what): \(msg)")
        }
    }

    fileprivate func setResult(_ s: String) { lock.withLock { _result = s } }
    fileprivate func setError(_ s: String) { lock.withLock { _error = s } }
    fileprivate func declareOutput(_ path: String, _ type: String) -> Bool {
        if case .failure(let e) = PathAccess.check(path, .write, for: peer) {
            logger.warning("plugin refused an output: \(e.message)")
            setError(e.message)
            return false
        }
        lock.withLock { _outputs.append(["path": .string(path), "media_type": .string(type)]) }
        return true
    }
}

private func context(_ ctx: UnsafeMutableRawPointer?) -> HostContext {
    Unmanaged<HostContext>.fromOpaque(ctx!).takeUnretainedValue()
}

private func string(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

private let hostProgress: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int64, Int64) -> Void = { ctx, phase, step, total in
    context(ctx).onProgress(string(phase), step, total)
}

private let hostIsCancelled: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { ctx in
    context(ctx).isCancelled() ? 1 : 0
}

private let hostLog: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Void = { ctx, level, msg in
    let c = context(ctx)
    let m = Logger.Message(stringLiteral: string(msg))
    switch UInt32(level) {
    case REEL_LOG_ERROR.rawValue: c.logger.error(m)
    case REEL_LOG_WARNING.rawValue: c.logger.warning(m)
    case REEL_LOG_INFO.rawValue: c.logger.info(m)
    default: c.logger.debug(m)
    }
}

private let hostDeclareOutput: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32 = { ctx, path, type in
    context(ctx).declareOutput(string(path), type.map { String(cString: $0) } ?? "application/octet-stream")
        ? Int32(REEL_OK.rawValue) : Int32(REEL_ERR_ACCESS.rawValue)
}

private let hostSetResult: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void = { ctx, json in
    context(ctx).setResult(string(json))
}

private let hostSetError: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void = { ctx, msg in
    context(ctx).setError(string(msg))
}
