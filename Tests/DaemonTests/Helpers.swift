import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

extension XCTestCase {
    /// A daemon with the fixture plugins and one 1 MiB fixture model "fix".
    func startDaemon(settings: [String: String] = [:], models: [String: Int] = ["fix": 1 << 20],
                     plugins: [String]? = nil) throws -> DaemonProcess {
        let d = try DaemonProcess(settings: settings, plugins: plugins)
        for (name, size) in models { try d.addModel(name, bytes: size) }
        try d.start()
        addTeardownBlock { d.destroy() }
        return d
    }

    func render(_ d: DaemonProcess, _ name: String, frames: Int = 4, delayMs: Int = 0, extra: JSONObject = [:]) -> JSON {
        var p: JSONObject = ["output": .string(d.outputDir + "/" + name), "frames": .int(Int64(frames)),
                             "width": 16, "height": 8, "step_delay_ms": .int(Int64(delayMs))]
        for (k, v) in extra.pairs { p[k] = v }
        return .object(p)
    }

    /// Submits fixture.render and returns the job id.
    func submit(_ c: RPCClient, _ params: JSON, model: String? = nil, keepAlive: JSON? = nil, subscribe: Bool = false) throws -> String {
        var o: JSONObject = ["method": "fixture.render", "params": params]
        if let model { o["model"] = .string(model) }
        if let keepAlive { o["keep_alive"] = keepAlive }
        if subscribe { o["subscribe"] = true }
        let job = try c.result("job.submit", .object(o))
        return try XCTUnwrap(job["id"]?.stringValue)
    }

    func state(_ c: RPCClient, _ id: String) throws -> String {
        try XCTUnwrap(c.result("job.get", ["id": .string(id)])["state"]?.stringValue)
    }
}
