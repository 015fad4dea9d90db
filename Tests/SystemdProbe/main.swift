// reel-systemd-probe: a small program the SystemdTests run under real tools
// (systemd-socket-activate, setpriv, a private mount namespace) to exercise
// ReelSystemd from another process, as reeld would use it.
import Logging
import ReelSystemd
#if canImport(Glibc)
import Glibc
#endif

setvbuf(stdout, nil, _IOLBF, 0)

func fail(_ message: String) -> Never {
    fputs("reel-systemd-probe: \(message)\n", stderr)
    exit(2)
}

func writeLine(_ fd: Int32, _ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

func readLine(_ fd: Int32) -> String {
    var out: [UInt8] = []
    var byte: UInt8 = 0
    while read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { out.append(byte) }
    return String(decoding: out, as: UTF8.self)
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "listen":
    // Report what socket activation handed us, then serve one connection on the first fd.
    let fds = SocketActivation.listenFDs()
    print("fds=\(fds.map(String.init).joined(separator: ","))")
    print("rejected=\(SocketActivation.rejectedFDs().map { "\($0.fd):\($0.reason)" }.joined(separator: ";"))")
    guard let listener = fds.first else { exit(0) }
    let conn = accept(listener, nil, nil)
    guard conn >= 0 else { fail("accept: \(String(cString: strerror(errno)))") }
    do {
        let peer = try PeerCredentials.of(fd: conn)
        writeLine(conn, "served-by=\(getpid()) peer-uid=\(peer.uid) peer-pid=\(peer.pid)")
    } catch {
        writeLine(conn, "error=\(error)")
    }
    close(conn)

case "log":
    // Log through the handler ReelLogging picks for this process's stderr.
    let level = args.count > 1 ? Logger.Level(rawValue: args[1]) ?? .info : .info
    ReelLogging.bootstrap(level: level, identifier: "reel-probe")
    print("destination=\(ReelLogging.detectDestination().rawValue)")
    var logger = Logger(label: "reel.probe")
    logger[metadataKey: "component"] = "probe"
    logger.debug("debug detail", metadata: ["step": "1"])
    logger.info("job started", metadata: ["job_id": "j-42", "plugin": "fixture", "model": "tiny wan"])
    logger.warning("model evicted", metadata: ["modelName": "wan-1.3b"])
    logger.error("two\nlines")

case "connect":
    // Connect to a Unix socket, send one line, print the reply.
    guard args.count > 1 else { fail("connect PATH") }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let path = Array(args[1].utf8)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in path.enumerated() where i < raw.count - 1 { raw[i] = b }
    }
    let r = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard r == 0 else { fail("connect \(args[1]): \(String(cString: strerror(errno)))") }
    writeLine(fd, "hello from \(getuid())")
    print(readLine(fd))

default:
    fail("usage: reel-systemd-probe listen | log [LEVEL] | connect PATH")
}
