// reel.info, rpc.discover, plugin.list.
import CReelPlugin
import Foundation
import ReelProtocol

extension Daemon {
    func registerHandlers() {
        dispatcher.register("reel.info") { [unowned self] call, reply in reply(.success(info(peer: call.peer))) }
        dispatcher.register("rpc.discover") { [unowned self] _, reply in
            reply(.success(OpenRPC.document(version: Daemon.version, stages: plugins.stages)))
        }
        dispatcher.register("plugin.list") { [unowned self] _, reply in reply(.success(pluginList())) }
        registerModelHandlers()
        registerJobHandlers()
        registerMediaHandlers()
    }

    func info(peer: Peer) -> JSON {
        let resident = scheduler.snapshot()
        return [
            "version": .string(Daemon.version),
            "protocol_version": .string(Methods.protocolVersion),
            "abi_version": .int(Int64(REEL_PLUGIN_ABI_VERSION)),
            "pid": .int(Int64(getpid())),
            "uptime_seconds": .double(now() - startedAt),
            "socket": .string(server.path ?? config.socket),
            "state_dir": .string(config.stateDir),
            "plugins": .array(plugins.plugins.map {
                ["name": .string($0.name), "version": .string($0.version), "stages": .array($0.stages.map { .string($0.method) })]
            }),
            "resident": .array(resident.map(\.json)),
            "memory_budget_bytes": .int(Int64(scheduler.budget)),
            "memory_resident_bytes": .int(Int64(scheduler.usedBytes)),
            "queue": ["depth": .int(Int64(jobs.queueDepth)), "capacity": .int(Int64(jobs.capacity)),
                      "running": jobs.runningJob.map { .string($0.id) } ?? .null],
            "peer": ["pid": .int(Int64(peer.pid)), "uid": .int(Int64(peer.uid)), "gid": .int(Int64(peer.gid))],
        ]
    }

    func pluginList() -> JSON {
        [
            "plugins": .array(plugins.plugins.map { p in
                [
                    "name": .string(p.name), "version": .string(p.version), "path": .string(p.path),
                    "description": .string(p.summary),
                    "abi_version": .int(Int64(p.descriptor.pointee.abi_version)),
                    "model_kinds": .array(p.modelKinds.map { .string($0) }),
                    "stages": .array(p.stages.map { s in
                        ["method": .string(s.method), "summary": .string(s.summary),
                         "model_kinds": .array(s.modelKinds.map { .string($0) }),
                         "needs_model": .bool(s.needsModel), "params_schema": s.paramsSchema]
                    }),
                ]
            }),
            "skipped": .array(plugins.skipped.map { ["path": .string($0.path), "reason": .string($0.reason)] }),
        ]
    }
}
