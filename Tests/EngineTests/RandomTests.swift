import ReelEngine
import XCTest

final class RandomTests: XCTestCase {
    /// Known-answer vectors from Random123 (kat_vectors, philox4x32 with 10 rounds).
    func testPhiloxKnownAnswers() {
        XCTAssertEqual(philox4x32(counter: [0, 0, 0, 0], key: [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8])
        XCTAssertEqual(philox4x32(counter: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], key: [0xffffffff, 0xffffffff]),
                       [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd])
        XCTAssertEqual(philox4x32(counter: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], key: [0xa4093822, 0x299f31d0]),
                       [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1])
    }

    func testNoiseIsDeterministicSeekableAndNormal() throws {
        let a = randn([100_003], seed: 42)
        let b = randn([100_003], seed: 42)
        XCTAssertEqual(a.toArray(), b.toArray())
        XCTAssertNotEqual(randn([8], seed: 43).toArray(), a.toArray().prefix(8).map { $0 })
        // offset counts blocks of 4 samples: the stream can be produced piecewise
        let tail = randn([12], seed: 42, offset: 5)
        XCTAssertEqual(tail.toArray(), Array(a.toArray()[20..<32]))
        let m = try mean(a).item()
        let v = try mean(square(a - m)).item()
        XCTAssertEqual(m, 0, accuracy: 0.02)
        XCTAssertEqual(v, 1, accuracy: 0.02)
        let u = rand([10_000], seed: 1).toArray()
        XCTAssert(u.allSatisfy { $0 >= 0 && $0 < 1 })
    }
}
