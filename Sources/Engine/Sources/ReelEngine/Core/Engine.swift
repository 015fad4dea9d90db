import CReelKernels

/// Process-wide engine state: the one thread pool and the memory counters.
/// Every plugin in a process links the same libReelEngine.so, so they all share
/// this pool; OpenBLAS is pinned to one thread and large GEMMs are split across
/// the pool, so the cores are never oversubscribed.
public enum Engine {
    /// Threads taking part in parallel ops (the calling thread included).
    /// Defaults to the cores this process may run on, or $REEL_THREADS.
    public static var threads: Int { Int(reel_pool_threads()) }

    /// Sets the number of threads the pool uses (<= 0: one per core).
    public static func setThreads(_ n: Int) { reel_pool_init(Int32(n)) }

    /// Cores available to this process (its CPU affinity mask).
    public static var cores: Int { Int(reel_cpu_cores()) }

    /// Bytes held by engine-allocated tensors right now (mmap'd weights excluded).
    public static var liveBytes: Int { Int(reel_live_bytes()) }
    /// The most `liveBytes` has been since start or `resetPeakBytes()`.
    public static var peakBytes: Int { Int(reel_peak_bytes()) }
    public static func resetPeakBytes() { reel_reset_peak_bytes() }
    /// Freed buffers (1 MiB and more, at most 384 MiB) kept for reuse, so tensors of a
    /// shape seen before cost no page faults; not counted in `liveBytes`.
    public static var cachedBytes: Int { Int(reel_cached_bytes()) }
    /// Returns the kept buffers to the system (after a job, when a model unloads).
    public static func releaseCachedMemory() { reel_release_cached_memory() }

    /// Whether the AVX-512 kernels are in use (chosen at load time from cpuid).
    public static var hasAVX512: Bool { reel_cpu_has_avx512() != 0 }
    public static var hasAVX512BF16: Bool { reel_cpu_has_avx512bf16() != 0 }
    /// OpenBLAS's kernel table ("Cooperlake", "SkylakeX", "Haswell", ...): OpenBLAS picks
    /// it from cpuid at load time unless OPENBLAS_CORETYPE names one (`blasCoreForced`).
    public static var blasCore: String { String(cString: reel_blas_core()) }
    /// The table $OPENBLAS_CORETYPE forces, if the environment sets one.
    public static var blasCoreForced: String? { reel_blas_core_from_environment().map { String(cString: $0) } }
    /// A line for reports when the environment holds GEMMs below what the CPU can do:
    /// an AVX2 table forced on an AVX-512 CPU. Nil when nothing is amiss.
    public static var blasCoreWarning: String? {
        guard let forced = blasCoreForced, hasAVX512, reel_blas_core_is_avx512() == 0 else { return nil }
        return "OPENBLAS_CORETYPE=\(forced) in the environment keeps OpenBLAS on its \(blasCore) (AVX2) kernels on " +
               "this AVX-512 cpu; unset it to let OpenBLAS choose (GEMMs run about 1.6x faster)"
    }
    /// Whether conv2d runs 3x3 stride-1 convolutions (channels in 16s) by Winograd
    /// F(4x4, 3x3) rather than im2col + GEMM. On by default where AVX-512 exists;
    /// REEL_WINOGRAD=0 in the environment turns it off. Process-wide.
    public static var useWinograd: Bool {
        get { reel_winograd_enabled() != 0 && reel_winograd_available() != 0 }
        set { reel_set_winograd(newValue ? 1 : 0) }
    }

    /// Runs body(i) for i in 0..<n on the pool. Nested calls run serially.
    public static func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var box = body
            withUnsafeMutablePointer(to: &box) { ptr in
                reel_parallel_for(Int64(n), { ctx, i in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
                }, ptr)
            }
        }
    }
}
