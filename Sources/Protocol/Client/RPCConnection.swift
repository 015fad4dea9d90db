// A blocking JSON-RPC connection to reeld over its Unix socket: what the
// `reel` client and `reel-bench rpc` use. One message per line.
#if canImport(Glibc)
import Glibc
#endif

public enum RPCConnectionError: Error, CustomStringConvertible {
    case cannotConnect(path: String, errno: Int32)
    case closed
    case timedOut
    case io(String)
    case badMessage(String)

    public var description: String {
        switch self {
        case .cannotConnect(let p, let e): return "cannot connect to \(p): \(String(cString: strerror(e)))"
        case .closed: return "reeld closed the connection"
        case .timedOut: return "no answer from reeld in time"
        case .io(let m): return m
        case .badMessage(let m): return "reeld sent something that is not JSON-RPC: \(m)"
        }
    }
}

public final class RPCConnection {
    public let fd: Int32
    public let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var nextID: Int64 = 1
    public var onNotification: (RPCNotification) -> Void = { _ in }

    public init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RPCConnectionError.io("socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw RPCConnectionError.io("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else {
            let e = errno
            close(fd)
            throw RPCConnectionError.cannotConnect(path: path, errno: e)
        }
    }

    deinit { close(fd) }

    public func send(_ message: JSON) throws {
        var bytes = message.serializedBytes()
        bytes.append(0x0A)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw RPCConnectionError.io("send: \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    /// The next message, or nil when `timeoutMs` passes first (-1 = wait forever).
    public func read(timeoutMs: Int32 = -1) throws -> JSON? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let line = buffer[start..<nl]
                start = nl + 1
                if start > 65536 { buffer.removeSubrange(..<start); start = 0 }
                do { return try line.withUnsafeBytes { try JSON.parse($0) } } catch {
                    throw RPCConnectionError.badMessage("\(error)")
                }
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, timeoutMs)
            if r == 0 { return nil }
            if r < 0 { if errno == EINTR { return nil }; throw RPCConnectionError.io("poll: \(String(cString: strerror(errno)))") }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw RPCConnectionError.closed }
            if n < 0 { if errno == EINTR { continue }; throw RPCConnectionError.io("recv: \(String(cString: strerror(errno)))") }
            buffer += chunk[0..<n]
        }
    }

    /// Sends a request; returns its id.
    @discardableResult
    public func request(_ method: String, _ params: JSON? = nil) throws -> RPCID {
        let id = RPCID.int(nextID)
        nextID += 1
        try send(RPCRequest(id: id, method: method, params: params).json)
        return id
    }

    /// Waits for the response to `id`, passing notifications to `onNotification`.
    /// `poll` runs every `tickMs` while waiting (Ctrl-C checks); nil from it = keep waiting.
    public func response(to id: RPCID, tickMs: Int32 = -1, tick: () throws -> Void = {}) throws -> RPCResponse {
        while true {
            guard let m = try read(timeoutMs: tickMs) else { try tick(); continue }
            switch RPCServerMessage.decode(m) {
            case .notification(let n)?: onNotification(n)
            case .response(let r)? where r.id == id: return r
            case .response?: continue
            default: throw RPCConnectionError.badMessage(m.serialized())
            }
        }
    }

    /// A call: the result, or the error object thrown.
    public func call(_ method: String, _ params: JSON? = nil) throws -> JSON {
        let id = try request(method, params)
        switch try response(to: id).outcome {
        case .success(let v): return v
        case .failure(let e): throw e
        }
    }
}
