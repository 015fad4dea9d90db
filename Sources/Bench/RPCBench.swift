// reel-bench rpc: round-trip latency (p50/p99) of a cheap method and
// requests/s with 1, 16 and 256 concurrent clients, against a reeld this
// command starts. Reference, measured in the same run with the same client
// code: a bare Unix-socket line echo in this process (the kernel's floor).
import ArgumentParser
import Foundation
import ReelProtocol

struct RPCBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "JSON-RPC latency and throughput of reeld over its Unix socket, beside a bare socket echo.")

    @Option(help: "The reeld executable (default: beside reel-bench).") var reeld: String?
    @Option(help: "The method to call (cheap: model.ps).") var method = "model.ps"
    @Option(help: "Round trips for the latency figures.") var requests = 20000
    @Option(help: "Seconds per throughput run.") var seconds = 2.0
    @Option(parsing: .upToNextOption, help: "Concurrent clients for the throughput runs.") var clients: [Int] = [1, 16, 256]
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        let exe = reeld ?? (URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path + "/reeld")
        guard FileManager.default.isExecutableFile(atPath: exe) else { throw ValidationError("reeld not found at \(exe); pass --reeld") }
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // The reference: a line echo on a Unix socket, served by a thread of this process.
        let echoPath = dir + "/echo.sock"
        let echo = try EchoServer(path: echoPath)
        let line = Array(RPCRequest(id: .int(1), method: method).json.serialized().utf8) + [0x0A]

        let daemon = try startDaemon(exe, dir: dir)
        defer { kill(daemon.processIdentifier, SIGTERM); daemon.waitUntilExit() }
        let sock = dir + "/reel.sock"

        // Check the method answers with a result, then warm up.
        let check = try RPCConnection(path: sock)
        _ = try check.call(method)
        _ = try LoadDriver.latencies(path: sock, line: line, count: 2000)

        let reeldLat = try LoadDriver.latencies(path: sock, line: line, count: requests)
        let echoLat = try LoadDriver.latencies(path: echoPath, line: line, count: requests)
        var rows: [(Int, Double, Double)] = []
        for c in clients {
            let r = try LoadDriver.throughput(path: sock, line: line, clients: c, seconds: seconds)
            let e = try LoadDriver.throughput(path: echoPath, line: line, clients: c, seconds: seconds)
            rows.append((c, r, e))
        }
        echo.stop()

        let p = { (a: [Double], q: Double) in a[min(a.count - 1, Int(Double(a.count) * q))] }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if json {
            var o: JSONObject = [
                "bench": "rpc", "method": .string(method), "requests": .int(Int64(requests)), "cores": .int(Int64(cores)),
                "latency_us": ["reeld": ["p50": .double(p(reeldLat, 0.5)), "p99": .double(p(reeldLat, 0.99))],
                               "echo": ["p50": .double(p(echoLat, 0.5)), "p99": .double(p(echoLat, 0.99))]],
            ]
            o["throughput_rps"] = .array(rows.map { ["clients": .int(Int64($0.0)), "reeld": .double($0.1), "echo": .double($0.2)] })
            print(JSON.object(o).serialized())
            return
        }
        print("reel-bench rpc — \(method), \(requests) sequential round trips, \(cores) cores, client and daemon on the same machine")
        print("")
        print(pad("", 22) + pad("reeld", 14) + "reference: socket echo")
        print(pad("latency p50", 22) + pad(String(format: "%.1f µs", p(reeldLat, 0.5)), 14) + String(format: "%.1f µs", p(echoLat, 0.5)))
        print(pad("latency p99", 22) + pad(String(format: "%.1f µs", p(reeldLat, 0.99)), 14) + String(format: "%.1f µs", p(echoLat, 0.99)))
        for (c, r, e) in rows {
            print(pad("req/s, \(c) client\(c == 1 ? "" : "s")", 22) + pad(String(format: "%.0f", r), 14) + String(format: "%.0f", e))
        }
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

    func makeTempDir() throws -> String {
        var t = Array("/tmp/reel-bench-XXXXXX".utf8CString)
        guard let p = mkdtemp(&t) else { throw ValidationError("mkdtemp failed") }
        return String(cString: p)
    }

    func startDaemon(_ exe: String, dir: String) throws -> Process {
        for d in ["state", "plugins", "models"] { try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true) }
        try "".write(toFile: dir + "/reeld.toml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--config", dir + "/reeld.toml", "--socket", dir + "/reel.sock", "--state-dir", dir + "/state",
                       "--plugin-dir", dir + "/plugins", "--model-dir", dir + "/models", "--log-level", "warning"]
        try p.run()
        for _ in 0..<600 {
            if (try? RPCConnection(path: dir + "/reel.sock")) != nil { return p }
            usleep(10_000)
        }
        p.terminate()
        throw ValidationError("reeld did not start")
    }
}

/// Closed-loop load from one thread: each connection has one request in flight.
enum LoadDriver {
    static func connect(_ path: String, _ n: Int) throws -> [RPCConnection] { try (0..<n).map { _ in try RPCConnection(path: path) } }


    /// Sequential round trips on one connection, in µs, sorted.
    static func latencies(path: String, line: [UInt8], count: Int) throws -> [Double] {
        let c = try RPCConnection(path: path)
        var buf = [UInt8](repeating: 0, count: 65536)
        var out: [Double] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let t0 = BenchClock.wall()
            try writeAll(c.fd, line)
            try readLines(c.fd, &buf, count: 1)
            out.append((BenchClock.wall() - t0) * 1e6)
        }
        return out.sorted()
    }

    static func throughput(path: String, line: [UInt8], clients: Int, seconds: Double) throws -> Double {
        let conns = try connect(path, clients)
        var fds = conns.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var buf = [UInt8](repeating: 0, count: 65536)
        for c in conns { try writeAll(c.fd, line) }
        var done = 0
        let start = BenchClock.wall()
        var end = start
        while end - start < seconds {
            let r = poll(&fds, nfds_t(fds.count), 1000)
            if r < 0 && errno != EINTR { throw ValidationError("poll: \(String(cString: strerror(errno)))") }
            for i in fds.indices where fds[i].revents & Int16(POLLIN) != 0 {
                let n = try readAvailableLines(fds[i].fd, &buf)
                done += n
                for _ in 0..<n { try writeAll(fds[i].fd, line) }
            }
            end = BenchClock.wall()
        }
        // Drain what is in flight so the next run starts clean.
        for i in fds.indices { _ = try? readAvailableLines(fds[i].fd, &buf, block: false) }
        withExtendedLifetime(conns) {} // the connections (and their fds) live until here
        return Double(done) / (end - start)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ValidationError("send: \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    /// Reads until `count` newlines arrived (responses are whole lines).
    static func readLines(_ fd: Int32, _ buf: inout [UInt8], count: Int) throws {
        var seen = 0
        while seen < count {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ValidationError("the server closed the connection") }
            for i in 0..<n where buf[i] == 0x0A { seen += 1 }
        }
    }

    static func readAvailableLines(_ fd: Int32, _ buf: inout [UInt8], block: Bool = true) throws -> Int {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, block ? 0 : Int32(MSG_DONTWAIT)) }
        if n <= 0 { return 0 }
        var lines = 0
        for i in 0..<n where buf[i] == 0x0A { lines += 1 }
        return lines
    }
}

/// The reference: echoes every byte back on each connection (one thread, poll).
final class EchoServer: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true

    init(path: String) throws {
        let l = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in Array(path.utf8).enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(l, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0, listen(l, 1024) == 0 else { throw ValidationError("echo server: \(String(cString: strerror(errno)))") }
        let t = Thread { [self] in serve(l) }
        t.start()
    }

    private var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }

    func stop() { lock.lock(); running = false; lock.unlock() }

    private func serve(_ l: Int32) {
        var fds = [pollfd(fd: l, events: Int16(POLLIN), revents: 0)]
        var buf = [UInt8](repeating: 0, count: 65536)
        while isRunning {
            if poll(&fds, nfds_t(fds.count), 100) <= 0 { continue }
            var add: [Int32] = []
            var remove: Set<Int32> = []
            for p in fds where p.revents != 0 {
                if p.fd == l {
                    let c = accept(l, nil, nil)
                    if c >= 0 { add.append(c) }
                } else {
                    let n = buf.withUnsafeMutableBytes { recv(p.fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { close(p.fd); remove.insert(p.fd); continue }
                    _ = buf.withUnsafeBytes { send(p.fd, $0.baseAddress, n, Int32(MSG_NOSIGNAL)) }
                }
            }
            fds.removeAll { remove.contains($0.fd) }
            fds += add.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        }
        for p in fds { close(p.fd) }
    }
}
