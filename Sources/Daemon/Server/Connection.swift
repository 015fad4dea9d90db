// One client connection: its peer, its subscriptions, and a way to send lines.
import NIOConcurrencyHelpers
import NIOCore
import ReelProtocol

final class Connection: @unchecked Sendable {
    let channel: Channel
    let peer: Peer
    private let lock = NIOLock()
    private var subscribedAll = false
    private var subscribedIDs: Set<String> = []
    private var outstanding = 0      // messages whose answer is not sent yet
    private var inputClosed = false  // the client shut down its sending side


    init(channel: Channel, peer: Peer) {
        self.channel = channel
        self.peer = peer
    }

    var isWritable: Bool { channel.isWritable }

    func send(_ json: JSON) { sendLine(json.serializedBytes()) }

    /// Writes one message and its newline. Safe from any thread. Always queued
    /// on the event loop, even from it, so messages leave in the order they were
    /// sent from any thread (a job's last event before the answer to job.wait).
    func sendLine(_ bytes: [UInt8]) {
        let ch = channel
        ch.eventLoop.execute {
            var buf = ch.allocator.buffer(capacity: bytes.count + 1)
            buf.writeBytes(bytes)
            buf.writeInteger(UInt8(ascii: "\n"))
            ch.writeAndFlush(buf, promise: nil)
        }
    }

    // A client may send its requests and shut down its side (`printf … | socat`):
    // the connection then stays open until every answer is written.

    func beginMessage() { lock.withLock { outstanding += 1 } }

    func endMessage() {
        let close = lock.withLock { () -> Bool in
            outstanding -= 1
            return outstanding == 0 && inputClosed
        }
        if close { closeAfterPendingWrites() }
    }

    func clientFinishedSending() {
        let close = lock.withLock { () -> Bool in
            inputClosed = true
            return outstanding == 0
        }
        if close { closeAfterPendingWrites() }
    }

    /// Queued like the writes, so it happens after them (`.output`: a half-close).
    func closeAfterPendingWrites(mode: CloseMode = .all) {
        let ch = channel
        ch.eventLoop.execute { ch.close(mode: mode, promise: nil) }
    }

    func subscribe(ids: [String]?) {
        lock.withLock {
            if let ids { subscribedIDs.formUnion(ids) } else { subscribedAll = true }
        }
    }

    func unsubscribe(ids: [String]?) {
        lock.withLock {
            if let ids { subscribedIDs.subtract(ids) } else { subscribedAll = false; subscribedIDs = [] }
        }
    }

    func isSubscribed(to id: String) -> Bool { lock.withLock { subscribedAll || subscribedIDs.contains(id) } }
}
