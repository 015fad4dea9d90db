import Dispatch
import Foundation
import ReelEngine
import XCTest

/// A job's cancellation reaches into attention: its tiles stop, and the op throws `.interrupted`.
final class InterruptTests: XCTestCase {
    func testATriggeredInterruptStopsAttention() throws {
        let q = randn([1, 2, 512, 16], seed: 1), k = randn([1, 2, 512, 16], seed: 2), v = randn([1, 2, 512, 16], seed: 3)
        let interrupt = EngineInterrupt()
        // Untriggered, the result is attention's own.
        let plain = try scaledDotProductAttention(q, k, v)
        let watched = try Engine.withInterrupt(interrupt) { try scaledDotProductAttention(q, k, v) }
        XCTAssertEqual(watched.contiguous().toArray(), plain.contiguous().toArray())
        interrupt.trigger()
        XCTAssertThrowsError(try Engine.withInterrupt(interrupt) { try scaledDotProductAttention(q, k, v) }) {
            XCTAssertEqual($0 as? EngineError, .interrupted)
        }
        // Outside `withInterrupt` nothing is watched.
        XCTAssertNil(Engine.interrupt)
        XCTAssertNoThrow(try scaledDotProductAttention(q, k, v))
    }

    /// Triggered from another thread while one long call runs (16 384 queries and keys): the call throws
    /// instead of finishing. The trigger waits until the call has begun, so it always lands inside it.
    func testAnInterruptFromAnotherThreadStopsALongCall() throws {
        let n = 16_384
        let q = randn([1, 4, n, 64], seed: 1), k = randn([1, 4, n, 64], seed: 2), v = randn([1, 4, n, 64], seed: 3)
        let interrupt = EngineInterrupt()
        let started = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            started.wait()
            interrupt.trigger()
        }
        XCTAssertThrowsError(try Engine.withInterrupt(interrupt) { () -> Tensor in
            started.signal()
            return try scaledDotProductAttention(q, k, v)
        }) { XCTAssertEqual($0 as? EngineError, .interrupted) }
    }
}
