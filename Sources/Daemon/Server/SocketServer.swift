// swift-nio on a Unix stream socket: bind a path, or serve a listening socket
// handed over by systemd (socket activation) — `start(listeningFD:)`.
import Foundation
import Logging
import NIOCore
import NIOPosix

final class SocketServer: @unchecked Sendable {
    let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    private let dispatcher: Dispatcher
    private let events: EventBus
    private let maxMessageBytes: Int
    private let logger: Logger
    private(set) var path: String?

    init(dispatcher: Dispatcher, events: EventBus, maxMessageBytes: Int, threads: Int, logger: Logger) {
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.dispatcher = dispatcher
        self.events = events
        self.maxMessageBytes = maxMessageBytes
        self.logger = logger
    }

    private func bootstrap() -> ServerBootstrap {
        let max = maxMessageBytes
        return ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [dispatcher, events, logger] ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxBytes: max)))
                    try ch.pipeline.syncOperations.addHandler(RPCChannelHandler(dispatcher: dispatcher, events: events, logger: logger))
                }
            }
    }

    /// Binds `path` (creating its directory, replacing a stale socket file).
    func start(path: String, mode: mode_t = 0o666) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: nil)
        if FileManager.default.fileExists(atPath: path) {
            // Refuse to steal the socket of a daemon that is still alive.
            if SocketServer.isListening(path) {
                throw ConfigError(description: "another reeld is already listening on \(path)")
            }
            // Only a dead daemon's socket is removed, never a file that merely has its name.
            var st = stat()
            if lstat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFSOCK {
                throw ConfigError(description: "\(path) exists and is not a socket; refusing to remove it")
            }
            unlink(path)
        }
        channel = try bootstrap().bind(unixDomainSocketPath: path).wait()
        chmod(path, mode)
        self.path = path
        logger.info("listening on \(path)")
    }

    /// Serves an already bound and listening socket (systemd socket activation).
    func start(listeningFD fd: Int32) throws {
        channel = try bootstrap().withBoundSocket(fd).wait()
        logger.info("serving the listening socket fd \(fd)")
    }

    /// Stops accepting connections (existing ones keep being served).
    func stopAccepting() {
        try? channel?.close().wait()
        channel = nil
        if let path { unlink(path) }
    }

    func shutdown() {
        try? group.syncShutdownGracefully()
    }

    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return r == 0
    }
}
