// run (any stage), jobs, job, wait, cancel.
import ArgumentParser
import Foundation
import ReelProtocol

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a stage (see `reel plugins`) and follow its progress.",
        discussion: """
            Params are key=value; a value that parses as JSON is taken as JSON (numbers, true, [..]), otherwise as \
            a string. Relative paths in path params are made absolute. Ctrl-C cancels the job unless --detach.
            Example: reel run video.generate prompt="a red fox" frames=17 output=fox.mp4
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The stage, e.g. video.generate.") var stage: String
    @Argument(help: "Params as key=value.") var params: [String] = []
    @Option(help: "Model name or directory.") var model: String?
    @Option(name: .customLong("keep-alive"), help: "Keep the model this long after the job: 5m, 0, -1.") var keepAlive: String?
    @Flag(help: "Print the job id and return at once; the job goes on.") var detach = false

    func run() throws {
        try guarded {
            let conn = try global.connect()
            // Which params are paths (from the stage's schema), to absolutize them.
            let plugins = try? conn.call("plugin.list")
            let schema = plugins?["plugins"]?.arrayValue?.flatMap { $0["stages"]?.arrayValue ?? [] }
                .first { $0["method"]?.stringValue == stage }?["params_schema"]
            var p = JSONObject()
            for kv in params {
                guard let eq = kv.firstIndex(of: "=") else {
                    throw ClientFailure(code: .usage, message: "reel: params are key=value, got \"\(kv)\"")
                }
                let key = String(kv[..<eq]), raw = String(kv[kv.index(after: eq)...])
                var value = (try? JSON.parse(raw)) ?? .string(raw)
                if schema?["properties"]?[key]?["x-reel-access"] != nil, case .string(let s) = value, !s.hasPrefix("/") {
                    value = .string(FileManager.default.currentDirectoryPath + "/" + s)
                }
                p[key] = value
            }
            try submitAndFollow(conn, method: stage, params: p, model: model.map(absoluteIfPath), keepAlive: keepAlive,
                                detach: detach, json: global.json)
        }
    }
}

/// job.submit, then (unless detached) follow the job to its end: what `run`, `generate` and `upsample` share.
/// With detach, prints the job id (or the job, with --json) and returns while the job goes on.
func submitAndFollow(_ conn: RPCConnection, method: String, params: JSONObject, model: String?, keepAlive: String?,
                     detach: Bool, json: Bool) throws {
    var submit: JSONObject = ["method": .string(method), "params": .object(params), "subscribe": .bool(!detach)]
    if let model { submit["model"] = .string(model) }
    if let keepAlive { submit["keep_alive"] = keepAliveJSON(keepAlive) }
    // Events can arrive before the answer to job.submit: keep them for the follower.
    var early: [RPCNotification] = []
    conn.onNotification = { early.append($0) }
    let job: JSON
    do { job = try conn.call("job.submit", .object(submit)) } catch let e as RPCError { throw ClientFailure(rpc: e) }
    let id = job["id"]?.stringValue ?? ""
    if detach {
        if json { Printer.json(job) } else { print(id) }
        return
    }
    try JobFollower(connection: conn, id: id, json: json, cancelOnInterrupt: true).follow(early: early)
}

struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Follow a job until it ends (job.subscribe + job.wait); Ctrl-C stops waiting.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The job id.") var id: String
    @Flag(help: "Cancel the job on Ctrl-C (default: only stop waiting).") var cancel = false

    func run() throws {
        try guarded {
            let conn = try global.connect()
            do { _ = try conn.call("job.subscribe", ["ids": [.string(id)]]) } catch let e as RPCError { throw ClientFailure(rpc: e) }
            try JobFollower(connection: conn, id: id, json: global.json, cancelOnInterrupt: cancel).follow()
        }
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a queued or running job (job.cancel).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Job ids.") var ids: [String]

    func run() throws {
        try guarded {
            for id in ids {
                let j = try global.call("job.cancel", ["id": .string(id)])
                if global.json { Printer.json(j) } else { print("\(id): \(j["state"]?.stringValue ?? "")\(j["state"] == "running" ? " (stopping)" : "")") }
            }
        }
    }
}

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Recent jobs, newest first (job.list).")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only jobs in this state (repeatable): queued, loading, running, done, failed, cancelled, interrupted.") var state: [String] = []
    @Option(help: "Only jobs of this stage.") var stage: String?
    @Option(help: "At most this many.") var limit = 20

    func run() throws {
        try guarded {
            var p: JSONObject = ["limit": .int(Int64(limit))]
            if !state.isEmpty { p["state"] = .array(state.map { .string($0) }) }
            if let stage { p["method"] = .string(stage) }
            let r = try global.call("job.list", .object(p))
            if global.json { return Printer.json(r) }
            Printer.table(["ID", "STATE", "STAGE", "MODEL", "PROGRESS", "CREATED"], (r["jobs"]?.arrayValue ?? []).map(Printer.jobLine))
        }
    }
}

struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "job", abstract: "One job in full: params, progress, result or error (job.get).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The job id.") var id: String

    func run() throws {
        try guarded {
            let j = try global.call("job.get", ["id": .string(id)])
            if global.json { return Printer.json(j) }
            print("job \(id): \(j["state"]?.stringValue ?? "") — \(j["method"]?.stringValue ?? "")\(j["model"]?.stringValue.map { " on " + $0 } ?? "")")
            print("params: \(j["params"]?.serialized() ?? "{}")")
            let p = j["progress"]
            print("progress: \(p?["phase"]?.stringValue ?? "") \(p?["step"]?.intValue ?? 0)/\(p?["total"]?.intValue ?? 0)")
            print("created \(Printer.ago(j["created_at"]))\(j["finished_at"].flatMap { $0.isNull ? nil : ", finished " + Printer.ago($0) } ?? "")")
            for o in j["outputs"]?.arrayValue ?? [] { print("output: \(o["path"]?.stringValue ?? "")") }
            if let r = j["result"], !r.isNull { print("result: \(r.serialized())") }
            if let e = j["error"], !e.isNull { print("error: \(e["message"]?.stringValue ?? "") (\(e["code"]?.intValue ?? 0))") }
        }
    }
}

// MARK: following a job

nonisolated(unsafe) private var interrupted: sig_atomic_t = 0

/// Shows a subscribed job's events until it ends; maps the end to an exit code.
struct JobFollower {
    let connection: RPCConnection
    let id: String
    let json: Bool
    let cancelOnInterrupt: Bool

    func follow(early: [RPCNotification] = []) throws {
        let view = ProgressView()
        signal(SIGINT) { _ in interrupted = 1 }
        defer { signal(SIGINT, SIG_DFL) }
        var cancelSent = false
        connection.onNotification = { n in
            guard n.params["id"]?.stringValue == id else { return }
            if json { Printer.json(n.json); return }
            switch n.method {
            case "job.progress":
                view.update(state: n.params["state"]?.stringValue ?? "", phase: n.params["phase"]?.stringValue ?? "",
                            step: n.params["step"]?.intValue ?? 0, total: n.params["total"]?.intValue ?? 0,
                            eta: n.params["eta_seconds"]?.doubleValue)
            case "job.queue":
                view.message("queued, position \(n.params["position"]?.intValue ?? 0)")
            case "job.state":
                let s = n.params["state"]?.stringValue ?? ""
                if !(JobState(rawValue: s)?.isFinal ?? true) { view.message(s) }
            default: break
            }
        }
        for n in early { connection.onNotification(n) }
        let waitID = try connection.request("job.wait", ["id": .string(id)])
        let response = try connection.response(to: waitID, tickMs: 100) {
            if interrupted != 0 && !cancelSent {
                cancelSent = true
                if cancelOnInterrupt {
                    view.message("cancelling \(id)…")
                    try connection.send(RPCRequest(id: nil, method: "job.cancel", params: ["id": .string(id)]).json)
                } else {
                    view.finishLine()
                    throw ClientFailure(code: .sigint, message: "stopped waiting; the job goes on: reel wait \(id)")
                }
            }
        }
        view.finishLine()
        switch response.outcome {
        case .success(let job):
            if json { Printer.json(job); return }
            for o in job["outputs"]?.arrayValue ?? [] { print(o["path"]?.stringValue ?? "") }
            if job["outputs"]?.arrayValue?.isEmpty ?? true { print(job["result"]?.serialized() ?? "{}") }
        case .failure(let e):
            if json, let d = e.data { Printer.json(d) }
            var f = ClientFailure(rpc: e)
            if cancelSent && e.code == .cancelled { f.code = .sigint }
            throw f
        }
    }
}
