#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex for plugin code: a plugin must not depend on Foundation or NIO, and its hot paths
/// want no Foundation locks.
public final class PthreadMutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    public init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    public func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}
