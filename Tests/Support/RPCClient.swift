// A blocking JSON-RPC client over a Unix socket, for tests: plain POSIX so it
// can also send broken bytes, half messages and oversized lines.
import Foundation
import ReelProtocol

public final class RPCClient {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var nextID: Int64 = 1
    /// Notifications read while waiting for a response, oldest first.
    public private(set) var notifications: [RPCNotification] = []

    public init(socket path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw HarnessError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("connect \(path): \(e)")
        }
    }

    deinit { close(fd) }

    // MARK: raw

    public func sendRaw(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HarnessError("send: \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    public func sendLine(_ text: String) throws { try sendRaw(Array(text.utf8) + [0x0A]) }

    /// Shuts down the sending side (the daemon sees EOF, answers what is pending).
    public func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next message (response, batch or notification), as JSON.
    public func readMessage(timeout: Double = 60) throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                return try JSON.parse(line)
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw HarnessError("no message from reeld within \(timeout) s") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(min(left, 1) * 1000))
            if r == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw HarnessError("reeld closed the connection") }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw HarnessError("recv: \(String(cString: strerror(errno)))")
            }
            buffer += chunk[0..<n]
        }
    }

    /// True if the daemon closed the connection (EOF) within `timeout`.
    public func isClosedByPeer(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 200) > 0 {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return true }
                buffer += chunk[0..<n]
            }
        }
        return false
    }

    // MARK: calls

    /// Sends a request and returns its response, keeping notifications aside.
    public func call(_ method: String, _ params: JSON? = nil, timeout: Double = 120) throws -> RPCResponse {
        let id = nextID
        nextID += 1
        try sendLine(RPCRequest(id: .int(id), method: method, params: params).json.serialized())
        return try response(id: .int(id), timeout: timeout)
    }

    public func response(id: RPCID, timeout: Double = 120) throws -> RPCResponse {
        while true {
            let m = try readMessage(timeout: timeout)
            switch RPCServerMessage.decode(m) {
            case .notification(let n)?: notifications.append(n)
            case .response(let r)? where r.id == id: return r
            default: throw HarnessError("unexpected message: \(m)")
            }
        }
    }

    /// The result of a call, or a thrown error describing the RPC error.
    public func result(_ method: String, _ params: JSON? = nil, timeout: Double = 120) throws -> JSON {
        let r = try call(method, params, timeout: timeout)
        switch r.outcome {
        case .success(let v): return v
        case .failure(let e): throw HarnessError("\(method) failed: \(e)")
        }
    }

    /// The error of a call that must fail.
    public func error(_ method: String, _ params: JSON? = nil, timeout: Double = 120) throws -> RPCError {
        let r = try call(method, params, timeout: timeout)
        switch r.outcome {
        case .success(let v): throw HarnessError("\(method) succeeded but should have failed: \(v)")
        case .failure(let e): return e
        }
    }

    public func sendNotification(_ method: String, _ params: JSON? = nil) throws {
        try sendLine(RPCRequest(id: nil, method: method, params: params).json.serialized())
    }

    /// Reads until a notification matching `where` arrives (already read ones first).
    public func waitForNotification(timeout: Double = 120, where match: (RPCNotification) -> Bool) throws -> RPCNotification {
        if let i = notifications.firstIndex(where: match) { return notifications.remove(at: i) }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let m = try readMessage(timeout: max(0.1, deadline.timeIntervalSinceNow))
            guard case .notification(let n)? = RPCServerMessage.decode(m) else { throw HarnessError("unexpected message: \(m)") }
            if match(n) { return n }
            notifications.append(n)
        }
    }

    public func drainNotifications() -> [RPCNotification] {
        defer { notifications = [] }
        return notifications
    }
}
