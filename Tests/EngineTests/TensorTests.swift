import ReelEngine
import XCTest

final class TensorTests: XCTestCase {
    func grid(_ shape: [Int]) -> Tensor {
        try! Tensor((0..<shape.reduce(1, *)).map(Float.init), shape: shape)
    }

    func testReshapeIsAViewAndInfersMinusOne() throws {
        let t = grid([2, 3, 4])
        let r = try t.reshape([4, -1])
        XCTAssertEqual(r.shape, [4, 6])
        XCTAssert(r.storage === t.storage)
        XCTAssertEqual(r[3, 5], 23)
        XCTAssertThrowsError(try t.reshape([5, -1]))
        XCTAssertThrowsError(try t.reshape([-1, -1]))
    }

    func testPermuteSliceAndContiguous() throws {
        let t = grid([2, 3, 4])
        let p = try t.permute([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        XCTAssertFalse(p.isContiguous)
        XCTAssertEqual(p[3, 1, 2], t[1, 2, 3])
        let c = p.contiguous()
        XCTAssert(c.isContiguous)
        XCTAssertEqual(c.toArray()[0..<6], [0, 4, 8, 12, 16, 20])
        let s = try t.slice(2, 1, 4, step: 2)
        XCTAssertEqual(s.shape, [2, 3, 2])
        XCTAssertEqual(s.toArray(), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23])
        XCTAssertEqual(try t.slice(1, -1).toArray(), [8, 9, 10, 11, 20, 21, 22, 23])
        XCTAssertEqual(try t.select(0, 1)[0, 0], 12)
        // reshape of a non-contiguous view copies
        let r = try p.reshape([8, 3])
        XCTAssertEqual(r.toArray(), c.toArray())
        XCTAssertThrowsError(try t.permute([0, 0, 1]))
    }

    func testConcatSplitChunkStack() throws {
        let a = grid([2, 3]), b = try grid([2, 2]) + Tensor(scalar: 100)
        let c = try concatenate([a, b], dim: 1)
        XCTAssertEqual(c.shape, [2, 5])
        XCTAssertEqual(c.toArray(), [0, 1, 2, 100, 101, 3, 4, 5, 102, 103])
        let parts = try c.split([3, 2], dim: 1)
        XCTAssertEqual(parts[0].toArray(), a.toArray())
        XCTAssertEqual(parts[1].toArray(), b.toArray())
        let rows = try concatenate([a, a], dim: 0)
        XCTAssertEqual(rows.shape, [4, 3])
        XCTAssertEqual(try rows.chunk(2, dim: 0)[1].toArray(), a.toArray())
        XCTAssertEqual(try stack([a, a], dim: 1).shape, [2, 2, 3])
        XCTAssertThrowsError(try concatenate([a, grid([3, 3])], dim: 1))
        XCTAssertThrowsError(try c.split([1, 1], dim: 1))
    }

    func testBroadcastingArithmetic() throws {
        let a = grid([2, 1, 3]), b = grid([4, 1])
        let s = try a + b
        XCTAssertEqual(s.shape, [2, 4, 3])
        XCTAssertEqual(s[1, 2, 1], a[1, 0, 1] + b[2, 0])
        XCTAssertEqual(try (a * b)[1, 3, 2], a[1, 0, 2] * b[3, 0])
        // strided (transposed) operands
        let t = try grid([3, 4]).transposed(0, 1)
        XCTAssertEqual(try (t - t.contiguous()).toArray(), [Float](repeating: 0, count: 12))
        XCTAssertThrowsError(try grid([2, 3]) + grid([3, 2]))
        let x = grid([2, 3]).clone()
        try x.add_(Tensor([10, 20, 30], shape: [3]))
        XCTAssertEqual(x.toArray(), [10, 21, 32, 13, 24, 35])
        XCTAssertEqual((x * 2).toArray()[0], 20)
    }

    func testUnsqueezeSqueezeFlattenExpand() throws {
        let t = grid([2, 3])
        XCTAssertEqual(try t.unsqueeze(0).shape, [1, 2, 3])
        XCTAssertEqual(try t.unsqueeze(-1).shape, [2, 3, 1])
        XCTAssertEqual(try t.unsqueeze(1).squeeze().shape, [2, 3])
        XCTAssertEqual(try grid([2, 3, 4]).flatten(1).shape, [2, 12])
        XCTAssertEqual(try grid([2, 12]).unflatten(1, [3, -1]).shape, [2, 3, 4])
        let e = try Tensor([1, 2, 3], shape: [3]).expand(to: [2, 3])
        XCTAssertEqual(e.strides, [0, 1])
        XCTAssertEqual(e.toArray(), [1, 2, 3, 1, 2, 3])
        XCTAssertThrowsError(try t.expand(to: [4, 3]))
    }

    func testMemoryIsCountedAndReleased() {
        let before = Engine.liveBytes
        do {
            let t = Tensor(zeros: [1024, 1024])
            XCTAssertGreaterThanOrEqual(Engine.liveBytes - before, 4 << 20)
            XCTAssertEqual(t[1023, 1023], 0)
        }
        XCTAssertLessThan(Engine.liveBytes - before, 4 << 20)
    }

    func testPoolRunsEveryIndexOnce() {
        XCTAssertGreaterThanOrEqual(Engine.threads, 1)
        let n = 10_000
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        hits.initialize(repeating: 0, count: n)
        defer { hits.deallocate() }
        Engine.parallelFor(n) { i in hits[i] += 1 }
        XCTAssert((0..<n).allSatisfy { hits[$0] == 1 })
    }
}
