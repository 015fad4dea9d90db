// Model residency: keep-alive expiry, pinning, unload after the job, the
// memory budget, least-recently-used eviction that spares models in use.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class ResidencyTests: XCTestCase {
    let mib = 1 << 20

    func resident(_ c: RPCClient) throws -> [String] {
        try c.result("model.ps")["models"]!.arrayValue!.compactMap { $0["name"]?.stringValue }.sorted()
    }

    func testModelStaysForItsKeepAliveThenExpires() throws {
        let d = try startDaemon(settings: ["keep_alive": "\"5m\""])
        let c = try d.client()
        let id = try submit(c, render(d, "a.raw"), keepAlive: "1s")
        _ = try c.result("job.wait", ["id": .string(id)])
        let ps = try c.result("model.ps")["models"]!.arrayValue!
        XCTAssertEqual(ps.first?["name"], "fix")
        XCTAssertEqual(ps.first?["in_use"], 0)
        XCTAssertEqual(ps.first?["keep_alive_seconds"], 1.0)
        XCTAssertEqual(ps.first?["bytes"]?.intValue, Int64(mib))
        XCTAssertNotEqual(ps.first?["expires_at"], .null)
        try d.eventually("the keep-alive of 1 s runs out") { try resident(c).isEmpty }
        XCTAssertTrue(d.log_().contains("keep-alive of 1s expired"))
    }

    func testDefaultKeepAliveKeepsTheModelAndReusesIt() throws {
        let d = try startDaemon()
        let c = try d.client()
        _ = try c.result("job.wait", ["id": .string(try submit(c, render(d, "a.raw")))])
        let loadedAt = try c.result("model.ps")["models"]!.arrayValue!.first?["loaded_at"]
        _ = try c.result("job.wait", ["id": .string(try submit(c, render(d, "b.raw")))])
        let ps = try c.result("model.ps")["models"]!.arrayValue!
        XCTAssertEqual(ps.first?["loaded_at"], loadedAt, "the second job reused the resident model")
        XCTAssertEqual(ps.first?["keep_alive_seconds"], 300.0)
    }

    func testKeepAliveZeroUnloadsAfterTheJob() throws {
        let d = try startDaemon()
        let c = try d.client()
        _ = try c.result("job.wait", ["id": .string(try submit(c, render(d, "a.raw"), keepAlive: 0))])
        XCTAssertEqual(try resident(c), [])
    }

    func testPinnedModelDoesNotExpireAndIsNotEvicted() throws {
        let d = try startDaemon(settings: ["memory_budget": "\"3MiB\""], models: ["a": 2 * mib, "b": 2 * mib])
        let c = try d.client()
        let pinned = try c.result("model.load", ["model": "a", "keep_alive": -1])
        XCTAssertEqual(pinned["expires_at"], .null)
        XCTAssertEqual(pinned["keep_alive_seconds"], -1.0)
        // b fits only if a goes; a is pinned, so b is refused.
        let e = try c.error("model.load", ["model": "b"])
        XCTAssertEqual(e.code, .memoryBusy)
        XCTAssertEqual(try resident(c), ["a"])
        XCTAssertEqual(try c.result("model.unload", ["model": "a"])["unloaded"], true)
        XCTAssertEqual(try c.result("model.unload", ["model": "a"])["unloaded"], false)
        XCTAssertNotNil(try c.result("model.load", ["model": "b"]))
        XCTAssertEqual(try resident(c), ["b"])
    }

    func testModelLargerThanTheBudgetIsRefused() throws {
        let d = try startDaemon(settings: ["memory_budget": "\"1MiB\""], models: ["big": 2 * mib])
        let c = try d.client()
        var e = try c.error("model.load", ["model": "big"])
        XCTAssertEqual(e.code, .modelTooLarge)
        XCTAssertEqual(e.data?["estimate_bytes"]?.intValue, Int64(2 * mib))
        XCTAssertEqual(e.data?["budget_bytes"]?.intValue, Int64(mib))
        e = try c.error("fixture.render", render(d, "x.raw"))
        XCTAssertEqual(e.code, .modelTooLarge)
        XCTAssertEqual(try c.result("reel.info")["queue"]?["depth"], 0, "nothing was queued")
    }

    func testLeastRecentlyUsedIdleModelIsEvictedFirst() throws {
        let d = try startDaemon(settings: ["memory_budget": "\"5MiB\""], models: ["a": 2 * mib, "b": 2 * mib, "c": 2 * mib])
        let c = try d.client()
        _ = try c.result("model.load", ["model": "a"])
        _ = try c.result("model.load", ["model": "b"])
        _ = try c.result("job.wait", ["id": .string(try submit(c, render(d, "a.raw"), model: "a"))]) // a is now the most recent
        _ = try c.result("model.load", ["model": "c"])
        XCTAssertEqual(try resident(c), ["a", "c"], "b was the least recently used")
        XCTAssertTrue(d.log_().contains("evicting b"))
    }

    func testModelInUseIsNeverEvictedNorUnloaded() throws {
        let d = try startDaemon(settings: ["memory_budget": "\"5MiB\""], models: ["a": 2 * mib, "b": 2 * mib, "c": 2 * mib])
        let c = try d.client()
        let busy = try submit(c, render(d, "busy.raw", frames: 100_000, delayMs: 10), model: "a", subscribe: true)
        _ = try c.waitForNotification { $0.method == "job.state" && $0.params["state"] == "running" }
        XCTAssertEqual(try c.result("model.ps")["models"]!.arrayValue!.first { $0["name"] == "a" }?["in_use"], 1)
        _ = try c.result("model.load", ["model": "b"])
        _ = try c.result("model.load", ["model": "c"]) // must evict b, not a (in use, and older)
        XCTAssertEqual(try resident(c), ["a", "c"])
        let e = try c.error("model.unload", ["model": "a"])
        XCTAssertEqual(e.code, .modelBusy)
        _ = try c.result("job.cancel", ["id": .string(busy)])
        _ = try? c.call("job.wait", ["id": .string(busy)])
        XCTAssertEqual(try c.result("model.unload", ["model": "a"])["unloaded"], true)
    }

    func testLoadIsReportedAsAPhase() throws {
        let d = try DaemonProcess()
        try d.addModel("slow", bytes: mib, loadDelayMs: 20)
        try d.start()
        addTeardownBlock { d.destroy() }
        let c = try d.client()
        _ = try submit(c, render(d, "x.raw"), subscribe: true)
        let load = try c.waitForNotification { $0.method == "job.progress" && $0.params["phase"] == "load" }
        XCTAssertEqual(load.params["state"], "loading")
        XCTAssertEqual(load.params["total"], 16)
    }
}
