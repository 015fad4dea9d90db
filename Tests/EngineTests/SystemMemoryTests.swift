import Foundation
@testable import ReelEngine
import XCTest

/// What a job may still allocate: /proc/meminfo's MemAvailable, capped by every cgroup level's headroom.
final class SystemMemoryTests: XCTestCase {
    func testMeminfoField() {
        let meminfo = "MemTotal:       24683776 kB\nMemFree:        20000000 kB\nMemAvailable:   21000000 kB\n"
        XCTAssertEqual(SystemMemory.field("MemAvailable", in: meminfo), 21_000_000 * 1024)
        XCTAssertEqual(SystemMemory.field("MemTotal", in: meminfo), 24_683_776 * 1024)
        XCTAssertNil(SystemMemory.field("SwapTotal", in: meminfo))
    }

    /// A fake cgroup v2 tree: the unit's MemoryMax and its slice's limit both count; "max" sets none.
    func testCgroupHeadroomIsTheTightestLevel() throws {
        let root = NSTemporaryDirectory() + "reel-cgroup-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func level(_ path: String, max: String, current: Int) throws {
            try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
            try max.write(toFile: root + path + "/memory.max", atomically: true, encoding: .utf8)
            try "\(current)\n".write(toFile: root + path + "/memory.current", atomically: true, encoding: .utf8)
        }
        try level("/system.slice", max: "8000\n", current: 5000)
        try level("/system.slice/reeld.service", max: "max\n", current: 1000)
        XCTAssertEqual(SystemMemory.cgroupHeadroom("0::/system.slice/reeld.service\n", root: root), 3000)
        try level("/system.slice/reeld.service", max: "1500\n", current: 1000)
        XCTAssertEqual(SystemMemory.cgroupHeadroom("0::/system.slice/reeld.service\n", root: root), 500)
        try level("/system.slice/reeld.service", max: "900\n", current: 1000)   // over its limit: nothing left
        XCTAssertEqual(SystemMemory.cgroupHeadroom("0::/system.slice/reeld.service\n", root: root), 0)
        XCTAssertNil(SystemMemory.cgroupHeadroom("0::/user.slice\n", root: root), "no level sets a limit")
        XCTAssertNil(SystemMemory.cgroupHeadroom("1:name=systemd:/x\n", root: root), "cgroup v1 only")
    }

    func testThisProcessHasSomeMemory() throws {
        let available = try XCTUnwrap(Engine.availableBytes)
        XCTAssertGreaterThan(available, 0)
    }
}
