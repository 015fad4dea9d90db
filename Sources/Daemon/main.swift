// reeld: the reel daemon. Reads reeld.toml (see docs/protocol.md and
// docs/plugins.md), serves JSON-RPC 2.0 on a Unix socket, runs stage plugins.
import Foundation
import Logging
import ReelProtocol
import ReelSystemd

blockHandledSignals()   // before any thread starts; see SystemdIntegration.swift

let usage = """
    usage: reeld [options]

    Serve reel's JSON-RPC 2.0 protocol on a Unix socket, run stage plugins, keep models resident.

    options:
      --config PATH           settings file (default: $XDG_CONFIG_HOME/reel/reeld.toml for a user,
                              /etc/reel/reeld.toml with --system)
      --system                system daemon defaults (/run/reel, /var/lib/reel, /etc/reel)
      --user                  per-user defaults ($XDG_RUNTIME_DIR/reel, ~/.local/state/reel, ~/.config/reel)
      --socket PATH           listen here (default: $REEL_SOCKET, $XDG_RUNTIME_DIR/reel/reel.sock, /run/reel/reel.sock)
      --listen-fd N           serve an already listening socket instead of binding one
      --state-dir DIR         job database directory (default: $XDG_STATE_HOME/reel or /var/lib/reel)
      --plugin-dir DIR        look for plugins here (repeatable; replaces the configured list)
      --model-dir DIR         look for models here (repeatable; replaces the configured list)
      --memory-budget SIZE    e.g. 16GiB (default: 75% of RAM)
      --keep-alive DURATION   e.g. 5m; 0 unloads after each job, -1 keeps models forever
      --queue-size N          jobs waiting at most (default 64)
      --max-message-bytes N   longest accepted line (default 16MiB)
      --exit-on-idle DURATION exit after this long with no client, job or model
      --log-level LEVEL       trace, debug, info, notice, warning, error
      --print-protocol-doc    print the generated part of docs/protocol.md and exit
      --print-openrpc         print the OpenRPC document of the built-in methods and exit
      --version               print the version and exit

    signals: SIGTERM/SIGINT drain and exit (the running job is interrupted at its next cancellation check),
             SIGHUP reloads reeld.toml and rescans the plugin directories.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("reeld: " + message + "\n").data(using: .utf8)!)
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
func value(_ flag: String) -> String {
    guard !args.isEmpty else { fail("\(flag) needs a value") }
    return args.removeFirst()
}

let env = ProcessInfo.processInfo.environment
var system = getuid() == 0 && env["XDG_RUNTIME_DIR"] == nil
var configPath: String?
var overrides: [(inout Config) -> Void] = []
var listenFD: Int32?

while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "-h", "--help": print(usage); exit(0)
    case "--version": print("reeld \(Daemon.version) (protocol \(Methods.protocolVersion))"); exit(0)
    case "--print-protocol-doc": print(ProtocolReference.markdown()); exit(0)
    case "--print-openrpc": print(OpenRPC.document(version: Daemon.version).serialized()); exit(0)
    case "--system": system = true
    case "--user": system = false
    case "--config": configPath = value(a)
    case "--socket": let v = value(a); overrides.append { $0.socket = v }
    case "--listen-fd": guard let fd = Int32(value(a)) else { fail("--listen-fd needs a number") }; listenFD = fd
    case "--state-dir": let v = value(a); overrides.append { $0.stateDir = v }
    case "--plugin-dir":
        let v = value(a)
        overrides.append { c in if !c.pluginDirsFromFlags { c.pluginDirs = []; c.pluginDirsFromFlags = true }; c.pluginDirs.append(v) }
    case "--model-dir":
        let v = value(a)
        overrides.append { c in if !c.modelDirsFromFlags { c.modelDirs = []; c.modelDirsFromFlags = true }; c.modelDirs.append(v) }
    case "--memory-budget":
        guard let b = Units.bytes(value(a)) else { fail("--memory-budget: not a size") }
        overrides.append { $0.memoryBudget = b }
    case "--keep-alive":
        guard let s = Units.seconds(value(a)) else { fail("--keep-alive: not a duration") }
        overrides.append { $0.keepAlive = s < 0 ? -1 : s }
    case "--queue-size":
        guard let n = Int(value(a)), n > 0 else { fail("--queue-size: not a positive number") }
        overrides.append { $0.queueSize = n }
    case "--max-message-bytes":
        guard let n = Units.bytes(value(a)), n >= 1024 else { fail("--max-message-bytes: at least 1024") }
        overrides.append { $0.maxMessageBytes = Int(n) }
    case "--exit-on-idle":
        guard let s = Units.seconds(value(a)) else { fail("--exit-on-idle: not a duration") }
        overrides.append { $0.exitOnIdle = s }
    case "--log-level":
        guard let l = ConfigLoader.parseLevel(value(a)) else { fail("--log-level: unknown level") }
        overrides.append { $0.logLevel = l }
    default: fail("unknown option \(a) (see reeld --help)")
    }
}

let defaults = Config.defaults(environment: env, system: system)
let file = configPath ?? Config.defaultFile(environment: env, system: system)
var config: Config
do { config = try ConfigLoader.load(path: file, explicit: configPath != nil, over: defaults) } catch { fail("\(error)") }
for o in overrides { o(&config) }

// Logging: structured journal entries when stderr is the journal, plain lines otherwise.
ReelLogging.bootstrap(level: config.logLevel, identifier: "reeld")
let logger = Logger(label: "reeld")

// Many clients: raise the open-file limit to the hard limit.
var limit = rlimit()
if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
signal(SIGPIPE, SIG_IGN)

do {
    let daemon = try Daemon(config: config, configSource: (file, configPath != nil, defaults), hooks: SystemdHooks(explicitFD: listenFD), logger: logger)
    daemon.installSystemdIntegration()
    try daemon.run()
    exit(0)
} catch {
    logger.critical("\(error)")
    fail("\(error)")
}
