// The end of the pipeline: frames in, dispatcher, responses out. Reads the
// peer's credentials when the connection opens (SO_PEERCRED).
import Foundation
import Logging
import NIOCore
import NIOPosix
import ReelProtocol

final class RPCChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Frame

    private let dispatcher: Dispatcher
    private let events: EventBus
    private let logger: Logger
    private var connection: Connection?

    init(dispatcher: Dispatcher, events: EventBus, logger: Logger) {
        self.dispatcher = dispatcher
        self.events = events
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        guard let provider = channel as? SocketOptionProvider else {
            logger.error("connection without socket options; closing")
            context.close(promise: nil)
            return
        }
        let cred: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        cred.whenComplete { [self] r in
            switch r {
            case .success(let c):
                let peer = Peer.of(ucred: c)
                if let refusal = dispatcher.admit(peer) {
                    logger.notice("refusing connection from pid \(peer.pid) uid \(peer.uid): \(refusal.message)")
                    let conn = Connection(channel: channel, peer: peer)
                    conn.send(RPCResponse(id: .null, error: refusal).json)
                    // Half-close: the client reads the refusal, then EOF; closing outright could
                    // reset the connection under a request it already sent and lose the reason.
                    conn.closeAfterPendingWrites(mode: .output)
                    return
                }
                let conn = Connection(channel: channel, peer: peer)
                connection = conn
                events.register(conn)
                logger.debug("connection from pid \(peer.pid) uid \(peer.uid)")
            case .failure(let e):
                logger.error("cannot read peer credentials: \(e); closing")
                channel.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let c = connection { events.unregister(c); dispatcher.disconnected(c) }
        connection = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let conn = connection else { return }
        switch unwrapInboundIn(data) {
        case .oversized(let limit):
            conn.send(RPCResponse(id: .null, error: RPCError(.messageTooLarge,
                "message too large: the limit is \(limit) bytes per line; the line was discarded",
                data: ["limit": .int(Int64(limit))])).json)
        case .line(let buf):
            buf.withUnsafeReadableBytes { bytes in
                dispatcher.handle(bytes, from: conn)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed {
            if let c = connection { c.clientFinishedSending() } else { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }
}
