import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Shared plumbing for the systemd tests: temporary directories, the probe program,
/// Unix sockets the test itself reads, and child processes.
enum Harness {
    /// The repository root (…/Tests/SystemdTests/Harness.swift → …).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The build directory holding this test bundle, the probe and reeld.
    static var buildDir: URL {
        let bundle = Bundle.main.bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for dir in candidates where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("reel-systemd-probe").path) {
            return dir
        }
        return repoRoot.appendingPathComponent(".build/release")
    }

    static var probe: String { buildDir.appendingPathComponent("reel-systemd-probe").path }

    /// A fresh directory under /tmp, world-traversable so `nobody` can reach sockets in it.
    static func tempDir(_ name: String = "reel-systemd") throws -> URL {
        let path = "/tmp/\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        return URL(fileURLWithPath: path)
    }

    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return dirs.map { "\($0)/\(tool)" }.first { access($0, X_OK) == 0 }
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program to completion and captures its output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    currentDirectory: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let currentDirectory { p.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain both pipes while the child runs so neither can fill and block it.
        let errReader = Background { err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errData = errReader.wait()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    // MARK: - Sockets

    static func sockaddr(path: String) -> (sockaddr_un, socklen_t) {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b == UInt8(ascii: "@") && i == 0 ? 0 : b }
        }
        let len = path.hasPrefix("@")
            ? MemoryLayout.offset(of: \sockaddr_un.sun_path)! + bytes.count
            : MemoryLayout<sockaddr_un>.size
        return (addr, socklen_t(len))
    }

    /// A bound Unix socket of `type` at `path` ("@name" for the abstract namespace).
    static func bind(_ path: String, type: Int32) throws -> Int32 {
        let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw posix("socket") }
        var (addr, len) = sockaddr(path: path)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) } }
        guard r == 0 else { close(fd); throw posix("bind \(path)") }
        return fd
    }

    static func listen(_ path: String) throws -> Int32 {
        let fd = try bind(path, type: Int32(SOCK_STREAM.rawValue))
        guard Glibc.listen(fd, 16) == 0 else { throw posix("listen") }
        return fd
    }

    static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var (addr, len) = sockaddr(path: path)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, len) } }
        guard r == 0 else { close(fd); throw posix("connect \(path)") }
        return fd
    }

    /// Connects, retrying while the listener is still being created by another process.
    static func connectWhenListening(_ path: String, attempts: Int = 2000) throws -> Int32 {
        for _ in 0..<attempts {
            if let fd = try? connect(path) { return fd }
            usleep(5_000)
        }
        return try connect(path)
    }

    /// One datagram, waiting for it; nil when `wait` is false and none is queued.
    static func receive(_ fd: Int32, wait: Bool = true) -> String? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, wait ? 0 : Int32(MSG_DONTWAIT)) }
        guard n >= 0 else { return nil }
        return String(decoding: buffer.prefix(n), as: UTF8.self)
    }

    static func readLine(_ fd: Int32) -> String {
        var out: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { out.append(byte) }
        return String(decoding: out, as: UTF8.self)
    }

    static func writeLine(_ fd: Int32, _ s: String) {
        let bytes = Array((s + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    static func posix(_ what: String) -> NSError {
        NSError(domain: "posix", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(errno)))"])
    }

    /// Sets environment variables for the duration of `body`, restoring them afterwards.
    static func withEnvironment<T>(_ values: [String: String?], _ body: () throws -> T) rethrows -> T {
        var saved: [String: String?] = [:]
        for (k, v) in values {
            saved[k] = getenv(k).map { String(cString: $0) }
            if let v { setenv(k, v, 1) } else { unsetenv(k) }
        }
        defer {
            for (k, v) in saved { if let v { setenv(k, v, 1) } else { unsetenv(k) } }
        }
        return try body()
    }
}

/// Runs `body` on its own thread (a blocking accept, a child process) while the test
/// drives the other side; `wait()` returns its value.
final class Background<T>: @unchecked Sendable {
    private var value: T?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () -> T) {
        let thread = Thread { [self] in
            value = body()
            done.signal()
        }
        thread.start()
    }

    func wait() -> T {
        done.wait()
        done.signal()
        return value!
    }
}

/// Drains a datagram socket on its own thread as fast as datagrams arrive, as PID 1 and
/// journald do: a sender never blocks on a full queue (Unix datagram queues hold ~10)
/// while the test is busy elsewhere.
final class DatagramCollector: @unchecked Sendable {
    private let fd: Int32
    private let condition = NSCondition()
    private var items: [(at: Double, text: String)] = []
    private var taken = 0
    private var stopped = false
    private var thread: Thread?

    init(fd: Int32) {
        self.fd = fd
        let t = Thread { [self] in run() }
        thread = t
        t.start()
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            condition.lock()
            let stop = stopped
            condition.unlock()
            if stop { return }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n >= 0 else { continue }
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let text = String(decoding: buffer.prefix(n), as: UTF8.self)
            condition.lock()
            items.append((Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9, text))
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next datagram not yet taken, waiting up to `timeout` seconds (a hang guard).
    func next(timeout: Double = 60) -> (at: Double, text: String)? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while taken >= items.count {
            if !condition.wait(until: deadline) { return nil }
        }
        taken += 1
        return items[taken - 1]
    }

    /// Everything received so far.
    var all: [String] {
        condition.lock()
        defer { condition.unlock() }
        return items.map(\.text)
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }
}
