import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The units, configuration and man pages as `make install` lays them out, checked with
/// systemd's own tools: `systemd-analyze verify` (which also resolves ExecStart= and the
/// Documentation= man pages) and `systemd-analyze security`.
final class UnitFileTests: XCTestCase {
    /// The exposure docs/operations.md reports; hardening must not regress past it.
    static let documentedExposure = 0.4

    var prefix: URL!

    override func setUpWithError() throws {
        prefix = try Harness.tempDir("reel-install")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: prefix)
    }

    func make(_ targets: [String], _ variables: [String: String]) throws -> Harness.Result {
        let makeTool = try XCTUnwrap(Harness.which("make"))
        let vars = variables.merging(["BUILD_DIR": Harness.buildDir.path, "LDCONFIG": "true"]) { a, _ in a }
        return try Harness.run(makeTool, ["-s", "-C", Harness.repoRoot.path] + targets + vars.map { "\($0)=\($1)" })
    }

    /// Installs into a private prefix (no DESTDIR) so the units name real, existing paths.
    func installIntoPrefix() throws -> [String: String] {
        let vars = ["PREFIX": prefix.path, "SYSCONFDIR": prefix.appendingPathComponent("etc").path]
        let r = try make(["install"], vars)
        XCTAssertEqual(r.status, 0, r.stderr)
        return vars
    }

    func path(_ relative: String) -> String { prefix.appendingPathComponent(relative).path }

    func testInstalledLayout() throws {
        _ = try installIntoPrefix()
        for bin in ["bin/reeld", "bin/reel"] {
            XCTAssertEqual(access(path(bin), X_OK), 0, bin)
        }
        for file in ["lib/systemd/system/reeld.service", "lib/systemd/system/reeld.socket",
                     "lib/systemd/user/reeld.service", "lib/systemd/user/reeld.socket",
                     "lib/sysusers.d/reel.conf", "etc/reel/reeld.toml",
                     "share/man/man1/reel.1", "share/man/man8/reeld.8", "share/man/man5/reeld.toml.5"] {
            XCTAssert(FileManager.default.fileExists(atPath: path(file)), file)
        }
        let plugins = (try? FileManager.default.contentsOfDirectory(atPath: path("lib/reel/plugins"))) ?? []
        XCTAssertFalse(plugins.contains { $0.hasPrefix("libReelFixture") }, "test fixtures are not installed: \(plugins)")
        XCTAssertFalse(plugins.contains("libReelEngine.so"), "the engine is a library, not a plugin")
        let service = try String(contentsOfFile: path("lib/systemd/system/reeld.service"), encoding: .utf8)
        XCTAssert(service.contains("ExecStart=\(path("bin/reeld")) --system --config \(path("etc/reel/reeld.toml"))"), service)
        let config = try String(contentsOfFile: path("etc/reel/reeld.toml"), encoding: .utf8)
        XCTAssertFalse(config.contains("@"), "every template variable is substituted")
        XCTAssert(config.contains("plugin_dirs = [\"\(path("lib/reel/plugins"))\"]"), config)
        // The socket units listen where reel looks by default.
        let socket = try String(contentsOfFile: path("lib/systemd/system/reeld.socket"), encoding: .utf8)
        XCTAssert(socket.contains("ListenStream=/run/reel/reel.sock\n"))
        XCTAssert(socket.contains("SocketMode=0660\n") && socket.contains("SocketGroup=reel\n"))
        let userSocket = try String(contentsOfFile: path("lib/systemd/user/reeld.socket"), encoding: .utf8)
        XCTAssert(userSocket.contains("ListenStream=%t/reel/reel.sock\n"))
    }

    func testSystemUnitsVerify() throws {
        let analyze = try XCTUnwrap(Harness.which("systemd-analyze"), "systemd-analyze (package systemd) is required")
        _ = try installIntoPrefix()
        var env = ProcessInfo.processInfo.environment
        env["MANPATH"] = path("share/man")   // Documentation=man:… must resolve to the installed pages
        let r = try Harness.run(analyze, ["verify", path("lib/systemd/system/reeld.service"), path("lib/systemd/system/reeld.socket")],
                                environment: env)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.stderr, "", "no warnings")
    }

    func testUserUnitsVerify() throws {
        let analyze = try XCTUnwrap(Harness.which("systemd-analyze"))
        _ = try installIntoPrefix()
        let runtime = prefix.appendingPathComponent("xdg-runtime")
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var env = ProcessInfo.processInfo.environment
        env["MANPATH"] = path("share/man")
        env["XDG_RUNTIME_DIR"] = runtime.path   // a user manager needs one; there is no login session here
        let r = try Harness.run(analyze, ["--user", "verify", path("lib/systemd/user/reeld.service"), path("lib/systemd/user/reeld.socket")],
                                environment: env)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.stderr, "", "no warnings")
    }

    func testSystemServiceExposure() throws {
        let analyze = try XCTUnwrap(Harness.which("systemd-analyze"))
        _ = try installIntoPrefix()
        let r = try Harness.run(analyze, ["security", "--offline=true", "--no-pager", path("lib/systemd/system/reeld.service")])
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.contains("Overall exposure level for reeld.service") },
                                 r.stdout + r.stderr)
        let score = try XCTUnwrap(line.split(separator: " ").compactMap { Double($0) }.first, String(line))
        XCTAssertLessThanOrEqual(score, Self.documentedExposure, "systemd-analyze security: \(line)")
    }

    func testEditedConfigSurvivesReinstallAndUninstall() throws {
        let vars = try installIntoPrefix()
        let config = path("etc/reel/reeld.toml")
        let edited = try String(contentsOfFile: config, encoding: .utf8) + "\nqueue_size = 8\n"
        try edited.write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try make(["install"], vars).status, 0)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), edited, "an edited configuration is never overwritten")
        XCTAssert(FileManager.default.fileExists(atPath: config + ".default"))

        let r = try make(["uninstall"], vars)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), edited, "nor removed")
        XCTAssertEqual(try remainingFiles(), [config])
    }

    func testUninstallRemovesEverythingInstalled() throws {
        let vars = try installIntoPrefix()
        let r = try make(["uninstall"], vars)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try remainingFiles(), [])
        XCTAssertNotEqual(try make(["uninstall"], vars).status, 0, "a second uninstall has nothing recorded and says so")
    }

    func testStagedInstallWithDestdir() throws {
        let stage = prefix.appendingPathComponent("stage").path
        let vars = ["DESTDIR": stage, "PREFIX": "/usr"]
        XCTAssertEqual(try make(["install"], vars).status, 0)
        XCTAssertEqual(access(stage + "/usr/bin/reeld", X_OK), 0)
        XCTAssert(FileManager.default.fileExists(atPath: stage + "/etc/reel/reeld.toml"), "PREFIX=/usr puts the config in /etc")
        let service = try String(contentsOfFile: stage + "/usr/lib/systemd/system/reeld.service", encoding: .utf8)
        XCTAssert(service.contains("ExecStart=/usr/bin/reeld --system --config /etc/reel/reeld.toml"), "units name the final paths, not the stage")
        let manifest = try String(contentsOfFile: stage + "/usr/share/reel/installed-files", encoding: .utf8)
        XCTAssertFalse(manifest.contains(stage))
        // Completions where bash-completion, zsh and fish look for a vendor's, generated from the built client.
        let bash = try String(contentsOfFile: stage + "/usr/share/bash-completion/completions/reel", encoding: .utf8)
        XCTAssert(bash.contains("complete -o filenames -F _reel reel") && bash.contains("generate"), "the bash completion")
        XCTAssert(try String(contentsOfFile: stage + "/usr/share/zsh/vendor-completions/_reel", encoding: .utf8).hasPrefix("#compdef reel"))
        XCTAssert(try String(contentsOfFile: stage + "/usr/share/fish/vendor_completions.d/reel.fish", encoding: .utf8).contains("complete -c 'reel'"))
        XCTAssertEqual(try make(["uninstall"], vars).status, 0)
        XCTAssertEqual(try remainingFiles(), [])
    }

    func remainingFiles() throws -> [String] {
        let e = FileManager.default.enumerator(atPath: prefix.path)
        var files: [String] = []
        while let f = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            let full = prefix.appendingPathComponent(f).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { files.append(full) }
        }
        return files
    }
}
