// Job events to subscribed connections: job.progress, job.state, job.queue.
import NIOConcurrencyHelpers
import ReelProtocol

final class EventBus: @unchecked Sendable {
    private let lock = NIOLock()
    private var connections: [ObjectIdentifier: Connection] = [:]

    func register(_ c: Connection) { lock.withLock { connections[ObjectIdentifier(c)] = c } }
    func unregister(_ c: Connection) { lock.withLock { connections[ObjectIdentifier(c)] = nil } }
    var connectionCount: Int { lock.withLock { connections.count } }

    /// Sends to every connection subscribed to the job whose peer may see it.
    /// `droppable` events (progress) are skipped for connections whose socket
    /// buffer is full, so a slow reader never makes the daemon hoard memory.
    func publish(_ job: Job, _ n: RPCNotification, droppable: Bool = false) {
        let targets = lock.withLock { Array(connections.values) }
        var line: [UInt8]? = nil
        for c in targets where c.isSubscribed(to: job.id) && job.visible(to: c.peer) {
            if droppable && !c.isWritable { continue }
            if line == nil { line = n.json.serializedBytes() }
            c.sendLine(line!)
        }
    }
}
