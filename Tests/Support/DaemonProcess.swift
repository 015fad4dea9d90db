// Starts the real built reeld on a temporary socket and state directory, with
// the fixture plugins and fixture models, and stops (or kills) it.
import Foundation
import ReelProtocol

public final class DaemonProcess {
    public let root: String
    public var socket: String { root + "/reel.sock" }
    public var stateDir: String { root + "/state" }
    public var pluginDir: String { root + "/plugins" }
    public var modelDir: String { root + "/models" }
    public var outputDir: String { root + "/out" }
    public var configFile: String { root + "/reeld.toml" }
    public var logFile: String { root + "/reeld.log" }
    public private(set) var process: Process?
    public var settings: [String: String]

    /// `settings` are reeld.toml lines (`key: TOML value`) over the test defaults.
    public init(settings: [String: String] = [:], plugins: [String]? = nil) throws {
        // Short path: a Unix socket path must fit in 108 bytes.
        var template = Array("/tmp/reel-test-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw HarnessError("mkdtemp failed") }
        root = String(cString: p)
        chmod(root, 0o755) // other users (the access tests) must reach the socket
        self.settings = settings
        for d in [stateDir, pluginDir, modelDir, outputDir] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        chmod(outputDir, 0o755)
        for src in try plugins ?? [BuildProducts.fixturePlugin, BuildProducts.echoPlugin] {
            try FileManager.default.copyItem(atPath: src, toPath: pluginDir + "/" + (src as NSString).lastPathComponent)
        }
    }

    /// A fixture model: manifest.json plus a weights file of `bytes` bytes.
    @discardableResult
    public func addModel(_ name: String, bytes: Int, loadDelayMs: Int = 0) throws -> String {
        let dir = modelDir + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let manifest: JSON = ["kind": "reel-fixture", "weights": "weights.bin", "load_delay_ms": .int(Int64(loadDelayMs))]
        try manifest.serialized().write(toFile: dir + "/manifest.json", atomically: true, encoding: .utf8)
        var data = Data(count: bytes)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            for i in stride(from: 0, to: bytes, by: 4096) { raw[i] = UInt8(truncatingIfNeeded: i / 4096 &* 31 &+ 7) }
        }
        try data.write(to: URL(fileURLWithPath: dir + "/weights.bin"))
        return dir
    }

    public func writeConfig() throws {
        var s: [String: String] = [
            "socket": "\"\(socket)\"",
            "state_dir": "\"\(stateDir)\"",
            "plugin_dirs": "[\"\(pluginDir)\"]",
            "model_dirs": "[\"\(modelDir)\"]",
            "log_level": "\"debug\"",
        ]
        for (k, v) in settings { s[k] = v }
        let text = s.keys.sorted().map { "\($0) = \(s[$0]!)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: configFile, atomically: true, encoding: .utf8)
    }

    /// Starts reeld and waits until its socket answers.
    public func start(extraArguments: [String] = []) throws {
        try writeConfig()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try BuildProducts.reeld)
        p.arguments = ["--config", configFile] + extraArguments
        var env = ProcessInfo.processInfo.environment
        env["REEL_SOCKET"] = nil
        p.environment = env
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = FileHandle(forWritingAtPath: logFile)!
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        // Wait for the socket (a guard against hanging forever, not a speed check).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !p.isRunning { throw HarnessError("reeld exited with \(p.terminationStatus) at start:\n\(log_())") }
            if let c = try? RPCClient(socket: socket), (try? c.result("reel.info")) != nil { return }
            usleep(20_000)
        }
        throw HarnessError("reeld did not start within 60 s:\n\(log_())")
    }

    public func client() throws -> RPCClient { try RPCClient(socket: socket) }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        guard let p = process, p.isRunning else { return process?.terminationStatus ?? 0 }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// SIGKILL: no drain, no cleanup (a crash or power cut).
    public func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    public func signal(_ s: Int32) {
        if let p = process, p.isRunning { kill(p.processIdentifier, s) }
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    public func log_() -> String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Polls `condition` until it holds (a hang guard, not a timing assertion).
    public func eventually(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        throw HarnessError("never happened: \(what)")
    }

    /// Kills the daemon and removes its directory (sockets, state, outputs).
    public func destroy() {
        kill9()
        try? FileManager.default.removeItem(atPath: root)
    }

    deinit { destroy() }
}
