// Where the built reeld and plugins are: beside the test bundle.
import Foundation

public enum BuildProducts {
    /// The directory holding the test executable (.build/<config>).
    public static var directory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (exe as NSString).deletingLastPathComponent
        // `swift test` runs .build/<config>/<name>PackageTests.xctest
        if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
        return dir
    }

    public static func path(_ name: String) throws -> String {
        let p = directory + "/" + name
        guard FileManager.default.fileExists(atPath: p) else {
            throw HarnessError("\(p) is missing: run `swift build` (it builds reeld and the fixture plugins) before the tests")
        }
        return p
    }

    public static var reeld: String { get throws { try path("reeld") } }
    public static var fixturePlugin: String { get throws { try path("libReelFixturePlugin.so") } }
    public static var echoPlugin: String { get throws { try path("libReelFixtureEchoC.so") } }
    public static var wrongABIPlugin: String { get throws { try path("libReelFixtureWrongABI.so") } }
}

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
