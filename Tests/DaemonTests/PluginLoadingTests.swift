// Plugins that fail to open, lack the entry symbol or speak another ABI are
// logged and skipped; the others are served. SIGHUP rescans.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class PluginLoadingTests: XCTestCase {
    func testBrokenPluginsAreSkippedWithReasons() throws {
        let d = try DaemonProcess(plugins: [try BuildProducts.fixturePlugin, try BuildProducts.wrongABIPlugin])
        try "this is not an ELF file".write(toFile: d.pluginDir + "/libnotalibrary.so", atomically: true, encoding: .utf8)
        // A real shared library without reel_plugin_entry.
        let libjansson = ["/lib/x86_64-linux-gnu/libjansson.so.4", "/usr/lib/x86_64-linux-gnu/libjansson.so.4", "/lib/aarch64-linux-gnu/libjansson.so.4"]
            .first(where: FileManager.default.fileExists)!
        try FileManager.default.copyItem(atPath: URL(fileURLWithPath: libjansson).resolvingSymlinksInPath().path, toPath: d.pluginDir + "/libnosymbol.so")
        try d.addModel("fix", bytes: 4096)
        try d.start()
        addTeardownBlock { d.destroy() }
        let c = try d.client()
        let list = try c.result("plugin.list")
        XCTAssertEqual(list["plugins"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["fixture"])
        var reasons: [String: String] = [:]
        for s in list["skipped"]?.arrayValue ?? [] {
            reasons[(s["path"]!.stringValue! as NSString).lastPathComponent] = s["reason"]?.stringValue
        }
        XCTAssertTrue(reasons["libReelFixtureWrongABI.so"]?.contains("ABI version 99") ?? false, "\(reasons)")
        XCTAssertTrue(reasons["libnosymbol.so"]?.contains("no reel_plugin_entry") ?? false, "\(reasons)")
        XCTAssertTrue(reasons["libnotalibrary.so"]?.contains("dlopen failed") ?? false, "\(reasons)")
        XCTAssertTrue(d.log_().contains("skipping plugin"))
        // The good plugin works.
        let id = try submit(c, render(d, "ok.raw"))
        XCTAssertEqual(try c.result("job.wait", ["id": .string(id)])["state"], "done")
        // Its descriptor is exposed.
        let fixture = list["plugins"]!.arrayValue![0]
        XCTAssertEqual(fixture["model_kinds"], ["reel-fixture"])
        XCTAssertEqual(fixture["stages"]?.arrayValue?.first?["params_schema"]?["required"], ["output"])
    }

    func testSIGHUPRescansPluginsAndKeepsResidentModels() throws {
        let d = try DaemonProcess(plugins: [try BuildProducts.fixturePlugin])
        try d.addModel("fix", bytes: 1 << 20)
        try d.start()
        addTeardownBlock { d.destroy() }
        let c = try d.client()
        _ = try c.result("model.load", ["model": "fix"])
        XCTAssertEqual(try c.error("echo.run", ["message": "x"]).code, .methodNotFound)

        try FileManager.default.copyItem(atPath: try BuildProducts.echoPlugin, toPath: d.pluginDir + "/libReelFixtureEchoC.so")
        d.settings["queue_size"] = "7"
        try d.writeConfig()
        d.signal(SIGHUP)
        try d.eventually("the echo plugin is served") {
            (try c.result("plugin.list"))["plugins"]?.arrayValue?.count == 2
        }
        XCTAssertEqual(try c.result("reel.info")["queue"]?["capacity"], 7)
        XCTAssertEqual(try c.result("model.ps")["models"]?.arrayValue?.first?["name"], "fix", "resident models survive a reload")
        let id = try XCTUnwrap(c.result("echo.run", ["message": "after reload"])["id"]?.stringValue)
        XCTAssertEqual(try c.result("job.wait", ["id": .string(id)])["result"]?["echo"]?["message"], "after reload")
    }

    func testModelListShowsKindsPluginsAndEstimates() throws {
        let d = try startDaemon(models: ["fix": 12_345])
        // A diffusers-layout directory of a kind no plugin serves.
        try FileManager.default.createDirectory(atPath: d.modelDir + "/wan", withIntermediateDirectories: true)
        try #"{"_class_name": "WanPipeline", "_diffusers_version": "0.33.0"}"#.write(toFile: d.modelDir + "/wan/model_index.json", atomically: true, encoding: .utf8)
        let c = try d.client()
        let models = try c.result("model.list")["models"]!.arrayValue!
        let fix = try XCTUnwrap(models.first { $0["name"] == "fix" })
        XCTAssertEqual(fix["kind"], "reel-fixture")
        XCTAssertEqual(fix["plugin"], "fixture")
        XCTAssertEqual(fix["estimate_bytes"], 12_345)
        let wan = try XCTUnwrap(models.first { $0["name"] == "wan" })
        XCTAssertEqual(wan["kind"], "WanPipeline")
        XCTAssertEqual(wan["plugin"], .null)
        XCTAssertEqual(try c.error("model.load", ["model": "wan"]).code, .modelNotFound)
    }
}
