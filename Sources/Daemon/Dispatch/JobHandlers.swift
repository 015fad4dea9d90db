// job.submit (and the stage shortcuts), job.get, job.list, job.cancel,
// job.wait, job.subscribe, job.unsubscribe.
import Foundation
import NIOCore
import ReelProtocol

extension Daemon {
    func registerJobHandlers() {
        dispatcher.register("job.submit") { [unowned self] call, reply in
            let stageParams = call.params["params"]?.objectValue ?? JSONObject()
            submit(method: call.params["method"]!.stringValue!, stageParams: stageParams,
                   model: call.params["model"]?.stringValue, keepAlive: call.params["keep_alive"],
                   subscribe: call.params["subscribe"]?.boolValue ?? false, fieldPrefix: "/params",
                   connection: call.connection, reply: reply)
        }

        dispatcher.register("job.get") { [unowned self] call, reply in
            let id = call.params["id"]!.stringValue!
            guard let j = jobs.job(id, for: call.peer) else { reply(.failure(jobs.notFound(id))); return }
            reply(.success(jobs.json(j)))
        }

        dispatcher.register("job.list") { [unowned self] call, reply in
            let states = call.params["state"]?.arrayValue?.compactMap { $0.stringValue.flatMap(JobState.init(rawValue:)) }
            let limit = Int(call.params["limit"]?.intValue ?? 50)
            reply(jobs.list(states: states, method: call.params["method"]?.stringValue, limit: limit, for: call.peer)
                .map { ["jobs": .array($0)] })
        }

        dispatcher.register("job.cancel") { [unowned self] call, reply in
            reply(jobs.cancel(call.params["id"]!.stringValue!, by: call.peer))
        }

        dispatcher.register("job.wait") { [unowned self] call, reply in
            let id = call.params["id"]!.stringValue!
            let once = ReplyOnce(reply)
            let answer: (Job) -> Void = { [jobs] j in
                let json = jobs.json(j)
                switch j.state {
                case .failed: once.reply(.failure(RPCError(.pluginFailure, j.error?.message ?? "the job failed", data: json)))
                case .cancelled: once.reply(.failure(RPCError(.cancelled, "job \(id) was cancelled", data: json)))
                case .interrupted: once.reply(.failure(RPCError(.interrupted, "job \(id) was interrupted (reeld stopped while it ran)", data: json)))
                default: once.reply(.success(json))
                }
            }
            if case .failure(let e) = jobs.wait(id, for: call.peer, done: answer) { reply(.failure(e)); return }
            if let t = call.params["timeout"]?.doubleValue {
                call.connection.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(t * 1e9))) { [jobs] in
                    if let j = jobs.job(id, for: call.peer) { once.reply(.success(jobs.json(j))) }
                }
            }
        }

        dispatcher.register("job.subscribe") { [unowned self] call, reply in
            let ids = call.params["ids"]?.arrayValue?.compactMap(\.stringValue)
            var found: [Job] = []
            for id in ids ?? [] {
                guard let j = jobs.job(id, for: call.peer) else { reply(.failure(jobs.notFound(id))); return }
                found.append(j)
            }
            call.connection.subscribe(ids: ids)
            reply(.success(["ids": .array((ids ?? []).map { .string($0) }), "all": .bool(ids == nil)]))
            // Reattach: the current state of each job at once (after the response).
            for j in found { jobs.sendCurrent(j, to: call.connection) }
        }

        dispatcher.register("job.unsubscribe") { call, reply in
            let ids = call.params["ids"]?.arrayValue?.compactMap(\.stringValue)
            call.connection.unsubscribe(ids: ids)
            reply(.success(["ids": .array((ids ?? []).map { .string($0) }), "all": .bool(ids == nil)]))
        }
    }

    /// A stage called by name: its params plus the envelope members.
    func submitStage(method: String, params: JSONObject, connection: Connection, reply: @escaping Dispatcher.Reply) {
        var stageParams = params
        let envelope = Methods.stageEnvelopeParams.map(\.name)
        for name in envelope { stageParams[name] = nil }
        for p in Methods.stageEnvelopeParams {
            if let v = params[p.name], let viol = SchemaValidator.firstViolation(of: v, against: p.schema, at: "/" + p.name) {
                reply(.failure(.invalidParams(field: viol.field, reason: viol.reason))); return
            }
        }
        submit(method: method, stageParams: stageParams, model: params["model"]?.stringValue, keepAlive: params["keep_alive"],
               subscribe: params["subscribe"]?.boolValue ?? false, fieldPrefix: "", connection: connection, reply: reply)
    }

    func submit(method: String, stageParams: JSONObject, model modelName: String?, keepAlive rawKeepAlive: JSON?,
                subscribe: Bool, fieldPrefix: String, connection: Connection, reply: @escaping Dispatcher.Reply) {
        let peer = connection.peer
        guard let (plugin, stage) = plugins.stage(method) else {
            reply(.failure(RPCError(.methodNotFound, "no plugin serves the stage \(method)", data: ["method": .string(method)])))
            return
        }
        let params = JSON.object(stageParams)
        if let v = SchemaValidator.firstViolation(of: params, against: stage.paramsSchema, at: fieldPrefix) {
            reply(.failure(.invalidParams(field: v.field, reason: v.reason))); return
        }
        let keepAlive: Double?
        switch parseKeepAlive(rawKeepAlive, field: "/keep_alive") {
        case .failure(let e): reply(.failure(e)); return
        case .success(let k): keepAlive = k
        }
        var model: ModelRef? = nil
        if stage.needsModel {
            switch chooseModel(modelName, for: stage, peer: peer) {
            case .failure(let e): reply(.failure(e)); return
            case .success(let m): model = m
            }
            // Refuse at once what can never fit, rather than failing later.
            if case .success(let estimate) = plugin.estimate(dir: model!.path, kind: model!.kind, host: HostContext(logger: logger, peer: peer)),
               estimate > scheduler.budget {
                reply(.failure(RPCError(.modelTooLarge,
                    "model \(model!.name) needs about \(Units.formatBytes(estimate)), more than the whole memory budget of \(Units.formatBytes(scheduler.budget))",
                    data: ["model": .string(model!.name), "estimate_bytes": .int(Int64(estimate)), "budget_bytes": .int(Int64(scheduler.budget))])))
                return
            }
        }
        // Refusals name their field under the params; through job.submit that is under /params.
        let refuse = { (e: RPCError) in
            var e = e
            if let f = e.data?["field"]?.stringValue { e.data?["field"] = .string(fieldPrefix + f) }
            reply(.failure(e))
        }
        if let e = PathAccess.checkParams(params, schema: stage.paramsSchema, for: peer) { refuse(e); return }
        let enqueue = { [jobs] in
            reply(jobs.submit(method: method, plugin: plugin.name, model: model, params: params, keepAlive: keepAlive,
                              peer: peer, subscribe: subscribe ? connection : nil))
        }
        let media = MediaPreflight.inputs(params, schema: stage.paramsSchema)
        if media.isEmpty { enqueue(); return }
        // Opening files can block: off the event loop. The job takes its place in the queue when accepted.
        DispatchQueue.global().async {
            if let e = MediaPreflight.firstRefusal(media) { refuse(e) } else { enqueue() }
        }
    }

    private func chooseModel(_ name: String?, for stage: StageSpec, peer: Peer) -> Result<ModelRef, RPCError> {
        if let name {
            return resolveModel(name, peer: peer, field: "/model").flatMap { m in
                if !stage.modelKinds.isEmpty && !stage.modelKinds.contains(m.kind) {
                    return .failure(.invalidParams(field: "/model",
                        reason: "model \(m.name) is a \(m.kind); \(stage.method) runs on \(stage.modelKinds.joined(separator: ", "))"))
                }
                return .success(m)
            }
        }
        let candidates = ModelCatalog.scan(directories: config.modelDirs).filter { stage.modelKinds.contains($0.kind) }
        if candidates.count == 1 { return .success(candidates[0]) }
        if candidates.isEmpty {
            return .failure(RPCError(.modelNotFound, "no model of kind \(stage.modelKinds.joined(separator: ", ")) in \(config.modelDirs.joined(separator: ", "))"))
        }
        return .failure(.invalidParams(field: "/model",
            reason: "required: \(candidates.count) models can run \(stage.method): \(candidates.map(\.name).joined(separator: ", "))"))
    }
}

/// A reply that may be raced (job end vs. timeout): the first one wins.
final class ReplyOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var reply: Dispatcher.Reply?
    init(_ r: @escaping Dispatcher.Reply) { reply = r }
    func reply(_ r: Result<JSON, RPCError>) {
        lock.lock()
        let f = reply
        reply = nil
        lock.unlock()
        f?(r)
    }
}
