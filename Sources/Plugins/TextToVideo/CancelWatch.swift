import Dispatch
import ReelEngine
import ReelPluginKit

/// Carries a job's cancellation into the engine while `body` runs: a timer polls the host every 100 ms and
/// triggers an `EngineInterrupt`, which the transformer checks before each block and attention between its
/// tiles (one call over hundreds of thousands of tokens takes minutes).
enum CancelWatch {
    static func run<T>(_ host: PluginHost, _ body: () throws -> T) throws -> T {
        let interrupt = EngineInterrupt()
        let queue = DispatchQueue(label: "reel.text-to-video.cancel-watch")
        var stopped = false              // read and written on `queue` only
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100))
        timer.setEventHandler { if !stopped && host.isCancelled { interrupt.trigger() } }
        timer.resume()
        defer {
            // After this, no handler touches the host (valid only while the job runs).
            queue.sync { stopped = true }
            timer.cancel()
        }
        do {
            return try Engine.withInterrupt(interrupt, body)
        } catch EngineError.interrupted {
            throw PluginError.cancelled
        }
    }
}
