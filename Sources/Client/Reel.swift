// reel: the thin client of reeld. One subcommand per method.
import ArgumentParser
import Foundation
import ReelProtocol

@main
struct Reel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reel",
        abstract: "Talk to reeld, the reel daemon: run stages, watch jobs, manage resident models.",
        discussion: """
            The daemon's socket is --socket, else $REEL_SOCKET, else $XDG_RUNTIME_DIR/reel/reel.sock, \
            else /run/reel/reel.sock.

            Exit codes:
              0  success
              1  the daemon answered with an error, or the job failed
              2  usage error
              3  reeld is not running (cannot connect to its socket)
              4  the job was cancelled
              5  the job was interrupted (reeld stopped while it ran)
              130  interrupted by Ctrl-C (the job was cancelled unless --detach)
            """,
        subcommands: [Info.self, Run.self, Generate.self, Upsample.self, Probe.self, Jobs.self, JobCommand.self, Wait.self, Cancel.self, PS.self, Models.self,
                      Load.self, Unload.self, Plugins.self, Discover.self, SocketPathCommand.self, Call.self])
}

extension Reel {
    /// ArgumentParser ends usage errors with EX_USAGE (64); reel documents 2 for them,
    /// so scripts can tell a mistyped command from a failed job.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The daemon's socket.") var socket: String?
    @Flag(help: "Print machine-readable JSON.") var json = false

    var socketPath: String { socket ?? SocketPath.resolve(environment: ProcessInfo.processInfo.environment) }

    func connect() throws -> RPCConnection {
        do { return try RPCConnection(path: socketPath) } catch RPCConnectionError.cannotConnect(let p, let e) {
            let why = e == ENOENT ? "no socket at \(p)" : e == ECONNREFUSED ? "nothing listens on \(p)" : "\(String(cString: strerror(e))) (\(p))"
            throw ClientFailure(code: .daemonNotRunning, message: """
                reeld is not running: \(why).
                Start it with `systemctl --user start reeld` (or `sudo systemctl start reeld` for the system daemon), \
                or run `reeld` in a terminal; use --socket or $REEL_SOCKET for another socket.
                """)
        }
    }

    func call(_ method: String, _ params: JSON? = nil) throws -> JSON {
        let c = try connect()
        do { return try c.call(method, params) } catch let e as RPCError { throw ClientFailure(rpc: e) }
    }
}

enum ExitStatus: Int32 {
    case failure = 1, usage = 2, daemonNotRunning = 3, cancelled = 4, interrupted = 5, sigint = 130
}

struct ClientFailure: Error, CustomStringConvertible {
    var code: ExitStatus
    var message: String
    var description: String { message }

    init(code: ExitStatus, message: String) {
        self.code = code
        self.message = message
    }

    init(rpc e: RPCError) {
        code = e.code == .cancelled ? .cancelled : e.code == .interrupted ? .interrupted : .failure
        var m = "reel: \(e.message)"
        if let f = e.data?["field"]?.stringValue, !f.isEmpty, !e.message.contains(f) { m += " (\(f))" }
        message = m
    }
}

extension ParsableCommand {
    /// Runs `body`, printing failures and exiting with the documented codes.
    func guarded(_ body: () throws -> Void) throws {
        do { try body() } catch let f as ClientFailure {
            FileHandle.standardError.write((f.message + "\n").data(using: .utf8)!)
            throw ExitCode(f.code.rawValue)
        } catch let e as RPCConnectionError {
            FileHandle.standardError.write(("reel: \(e)\n").data(using: .utf8)!)
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}
