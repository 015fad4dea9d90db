// Stopping a long computation from another thread: a job's cancellation reaches into the kernels that can run
// for minutes on one call (attention over hundreds of thousands of tokens), not only the loops around them.

/// A flag another thread sets to stop the kernels started under `Engine.withInterrupt`. Those kernels return
/// early with incomplete output, and the op that ran them throws `EngineError.interrupted`.
public final class EngineInterrupt: @unchecked Sendable {
    let flag: UnsafeMutablePointer<Int32>

    public init() {
        flag = .allocate(capacity: 1)
        flag.initialize(to: 0)
    }

    deinit { flag.deallocate() }

    /// Safe from any thread; the kernels read the flag as it changes (a volatile read in C).
    public func trigger() { flag.pointee = 1 }

    public var isTriggered: Bool { flag.pointee != 0 }
}

extension Engine {
    /// The interrupt of the computation running on this thread, if any (`withInterrupt`).
    @TaskLocal public static var interrupt: EngineInterrupt?

    /// Runs `body` with `interrupt` as this thread's: the kernels it starts (attention) stop when it triggers,
    /// and their ops throw `EngineError.interrupted`.
    public static func withInterrupt<T>(_ interrupt: EngineInterrupt, _ body: () throws -> T) rethrows -> T {
        try $interrupt.withValue(interrupt, operation: body)
    }

    /// Throws `EngineError.interrupted` when this thread's interrupt has triggered.
    public static func checkInterrupt() throws {
        if interrupt?.isTriggered == true { throw EngineError.interrupted }
    }
}
