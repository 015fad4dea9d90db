// Lines in, JSON-RPC out: decoding, batches, notifications, params validation
// against the method table, and routing to the handlers. Every method of
// `Methods.all` has exactly one handler (checked at start-up); names not in the
// table are looked up among the plugins' stages.
import Foundation
import Logging
import NIOConcurrencyHelpers
import ReelProtocol

final class Dispatcher: @unchecked Sendable {
    typealias Reply = (Result<JSON, RPCError>) -> Void

    struct Call {
        let method: String
        let params: JSONObject
        let connection: Connection
        var peer: Peer { connection.peer }
    }

    typealias Handler = (Call, @escaping Reply) -> Void

    private var handlers: [String: Handler] = [:]
    private let logger: Logger
    /// Where stage shortcuts go (job submission needs the whole daemon).
    var stageHandler: (String, JSONObject, Connection, @escaping Reply) -> Void = { m, _, _, reply in reply(.failure(.methodNotFound(m))) }
    var stageExists: (String) -> Bool = { _ in false }
    /// The per-connection peer check: nil admits, an error refuses (closes).
    var admission: (Peer) -> RPCError? = { _ in nil }
    var onDisconnect: (Connection) -> Void = { _ in }

    init(logger: Logger) { self.logger = logger }

    func register(_ name: String, _ h: @escaping Handler) {
        precondition(Methods.byName[name] != nil, "\(name) is not in the method table")
        handlers[name] = h
    }

    /// Every method in the table must have a handler.
    func checkComplete() {
        let missing = Methods.all.map(\.name).filter { handlers[$0] == nil }
        precondition(missing.isEmpty, "methods without a handler: \(missing)")
    }

    func admit(_ peer: Peer) -> RPCError? { admission(peer) }
    func disconnected(_ c: Connection) { onDisconnect(c) }

    // MARK: messages

    func handle(_ bytes: UnsafeRawBufferPointer, from conn: Connection) {
        conn.beginMessage()
        switch RPCIncoming.decode(bytes) {
        case .unparsable(let e):
            conn.send(RPCResponse(id: .null, error: e).json)
            conn.endMessage()
        case .single(let r):
            handleOne(r, conn) { resp in
                if let resp { conn.send(resp.json) }
                conn.endMessage()
            }
        case .batch(let items):
            let batch = BatchCollector(count: items.count) { responses in
                if !responses.isEmpty { conn.send(.array(responses.map(\.json))) }
                conn.endMessage()
            }
            for (i, item) in items.enumerated() {
                handleOne(item, conn) { batch.set(i, $0) }
            }
        }
    }

    private func handleOne(_ r: Result<RPCRequest, RPCRequestError>, _ conn: Connection, done: @escaping (RPCResponse?) -> Void) {
        let req: RPCRequest
        switch r {
        case .failure(let e):
            done(RPCResponse(id: e.id, error: e.error))
            return
        case .success(let q): req = q
        }
        let reply: Reply = { result in
            guard let id = req.id else { done(nil); return } // a notification: no answer, even on error
            switch result {
            case .success(let v): done(RPCResponse(id: id, result: v))
            case .failure(let e): done(RPCResponse(id: id, error: e))
            }
        }
        if let spec = Methods.byName[req.method], let h = handlers[req.method] {
            switch spec.validate(req.params) {
            case .failure(let e): reply(.failure(e))
            case .success(let params): h(Call(method: req.method, params: params, connection: conn), reply)
            }
            return
        }
        guard stageExists(req.method) else {
            reply(.failure(.methodNotFound(req.method)))
            return
        }
        switch req.params {
        case .object(let o)?: stageHandler(req.method, o, conn, reply)
        case nil, .null?: stageHandler(req.method, JSONObject(), conn, reply)
        default: reply(.failure(.invalidParams(field: "", reason: "stage methods take params by name (an object)")))
        }
    }
}

/// Gathers the answers of a batch (some may come later) and sends them once.
final class BatchCollector: @unchecked Sendable {
    private let lock = NIOLock()
    private var slots: [RPCResponse?]
    private var pending: Int
    private let complete: ([RPCResponse]) -> Void

    init(count: Int, complete: @escaping ([RPCResponse]) -> Void) {
        slots = Array(repeating: nil, count: count)
        pending = count
        self.complete = complete
    }

    func set(_ i: Int, _ r: RPCResponse?) {
        let finished: [RPCResponse]? = lock.withLock {
            slots[i] = r
            pending -= 1
            return pending == 0 ? slots.compactMap { $0 } : nil
        }
        if let finished { complete(finished) }
    }
}
