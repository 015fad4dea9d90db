import Foundation

/// The built `reel` client run once against a daemon's socket, as a user's script runs it.
public enum ClientProcess {
    /// Runs `reel args…` with REEL_SOCKET set (in `cwd` when given) and returns its exit status and output.
    public static func run(_ args: [String], socket: String, cwd: String? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try BuildProducts.path("reel"))
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["REEL_SOCKET"] = socket
        p.environment = env
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
