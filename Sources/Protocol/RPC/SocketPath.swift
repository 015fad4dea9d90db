// Where the daemon listens: one rule for daemon and client.

public enum SocketPath {
    /// `$REEL_SOCKET`, else `$XDG_RUNTIME_DIR/reel/reel.sock`, else `/run/reel/reel.sock`.
    public static func resolve(environment: [String: String]) -> String {
        if let s = environment["REEL_SOCKET"], !s.isEmpty { return s }
        if let r = environment["XDG_RUNTIME_DIR"], !r.isEmpty { return r + "/reel/reel.sock" }
        return "/run/reel/reel.sock"
    }
}
