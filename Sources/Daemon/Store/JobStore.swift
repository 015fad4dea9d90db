// Job records in SQLite (GRDB), in the state directory: the history survives
// restarts; jobs that were running when reeld stopped become `interrupted`.
import Foundation
import GRDB
import ReelProtocol

final class JobStore: @unchecked Sendable {
    /// Finished jobs older than this many submissions are pruned at start-up.
    static let historyLimit = 10_000
    let path: String
    private let db: DatabaseQueue

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        path = directory + "/reel.db"
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        db = try DatabaseQueue(path: path, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "job") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("id", .text).notNull().unique()
                t.column("method", .text).notNull()
                t.column("plugin", .text).notNull()
                t.column("model_name", .text)
                t.column("model_path", .text)
                t.column("model_kind", .text)
                t.column("params", .text).notNull()
                t.column("keep_alive", .double)
                t.column("state", .text).notNull().indexed()
                t.column("phase", .text).notNull()
                t.column("step", .integer).notNull()
                t.column("total", .integer).notNull()
                t.column("created_at", .double).notNull()
                t.column("started_at", .double)
                t.column("finished_at", .double)
                t.column("result", .text)
                t.column("outputs", .text)
                t.column("error", .text)
                t.column("pid", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("groups", .text).notNull()
            }
        }
        try migrator.migrate(db)
    }

    func insert(_ j: Job) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO job (id, method, plugin, model_name, model_path, model_kind, params, keep_alive, state, phase,
                                 step, total, created_at, pid, uid, gid, groups)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [j.id, j.method, j.plugin, j.model?.name, j.model?.path, j.model?.kind,
                                 j.params.serialized(), j.keepAlive, j.state.rawValue, j.phase, j.step, j.total,
                                 j.createdAt, Int(j.peer.pid), Int(j.peer.uid), Int(j.peer.gid),
                                 JSON.array(j.peer.groups.map { .int(Int64($0)) }).serialized()])
        }
    }

    /// Saves the mutable part of a job (state, progress, result, error).
    func update(_ j: Job) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE job SET state = ?, phase = ?, step = ?, total = ?, started_at = ?, finished_at = ?,
                               result = ?, outputs = ?, error = ? WHERE id = ?
                """, arguments: [j.state.rawValue, j.phase, j.step, j.total, j.startedAt, j.finishedAt,
                                 j.result?.serialized(), JSON.array(j.outputs).serialized(), j.error?.json.serialized(), j.id])
        }
    }

    func fetch(id: String) throws -> Job? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(Self.job) }
    }

    /// Newest first.
    func list(states: [JobState]?, method: String?, uid: UInt32?, limit: Int) throws -> [Job] {
        var sql = "SELECT * FROM job WHERE 1"
        var args: [DatabaseValueConvertible?] = []
        if let states, !states.isEmpty {
            sql += " AND state IN (\(states.map { _ in "?" }.joined(separator: ",")))"
            args += states.map { $0.rawValue }
        }
        if let method { sql += " AND method = ?"; args.append(method) }
        if let uid { sql += " AND uid = ?"; args.append(Int(uid)) }
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        return try db.read { db in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)!).map(Self.job) }
    }

    /// At startup: jobs that were loading or running are interrupted; the
    /// queued ones are returned (oldest first) to be queued again.
    func recover() throws -> (interrupted: Int, queued: [Job]) {
        try db.write { db in
            let err = RPCError(.interrupted, "interrupted: reeld stopped while the job was running").json.serialized()
            try db.execute(sql: """
                UPDATE job SET state = 'interrupted', finished_at = ?, error = ?
                WHERE state IN ('loading', 'running')
                """, arguments: [now(), err])
            let n = db.changesCount
            // History is kept for the newest `JobStore.historyLimit` finished jobs.
            try db.execute(sql: """
                DELETE FROM job WHERE state IN ('done', 'failed', 'cancelled', 'interrupted')
                AND seq <= (SELECT MAX(seq) FROM job) - ?
                """, arguments: [JobStore.historyLimit])
            let queued = try Row.fetchAll(db, sql: "SELECT * FROM job WHERE state = 'queued' ORDER BY seq").map(Self.job)
            return (n, queued)
        }
    }

    private static func job(_ r: Row) -> Job {
        let groups = (try? JSON.parse(r["groups"] as String))?.arrayValue?.compactMap { $0.intValue.map { UInt32($0) } } ?? []
        let peer = Peer(pid: Int32(r["pid"] as Int), uid: UInt32(r["uid"] as Int), gid: UInt32(r["gid"] as Int), groups: groups)
        let model: ModelRef? = (r["model_name"] as String?).map {
            ModelRef(name: $0, path: r["model_path"] ?? "", kind: r["model_kind"] ?? "")
        }
        let j = Job(id: r["id"], method: r["method"], plugin: r["plugin"], model: model,
                    params: (try? JSON.parse(r["params"] as String)) ?? [:], keepAlive: r["keep_alive"],
                    peer: peer, createdAt: r["created_at"])
        j.state = JobState(rawValue: r["state"]) ?? .failed
        j.phase = r["phase"]
        j.step = r["step"]
        j.total = r["total"]
        j.startedAt = r["started_at"]
        j.finishedAt = r["finished_at"]
        j.result = (r["result"] as String?).flatMap { try? JSON.parse($0) }
        j.outputs = (r["outputs"] as String?).flatMap { try? JSON.parse($0) }?.arrayValue ?? []
        j.error = (r["error"] as String?).flatMap { try? JSON.parse($0) }.flatMap { RPCError(json: $0) }
        return j
    }
}
