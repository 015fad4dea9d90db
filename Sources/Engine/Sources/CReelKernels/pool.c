// The process-wide thread pool, tracked memory, cpu features and the GEMM
// front end. This file is the one place that owns threads: OpenBLAS is pinned
// to one thread and large GEMMs are split across this pool instead.
#define _GNU_SOURCE
#include "reel_kernels.h"
#include "internal.h"
#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

extern void openblas_set_num_threads(int);

#define MAX_WORKERS 256
#define SPIN_ROUNDS 4000

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER; // one parallel region at a time
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;

static int workers_started = 0;              // threads created (excluding callers)
static _Atomic int participants = 1;         // threads that take part in a region, caller included
static _Atomic uint64_t generation = 0;      // bumped once per region
static _Atomic int64_t next_index = 0;
static _Atomic int pending = 0;              // workers still running the current region
static int64_t job_count = 0;
static reel_task_fn job_fn = NULL;
static void *job_ctx = NULL;
static __thread int in_region = 0;

int reel_cpu_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void run_tasks(void) {
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&next_index, 1, memory_order_relaxed);
        if (i >= job_count) break;
        job_fn(job_ctx, i);
    }
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg; // 1-based: the caller is participant 0
    uint64_t seen = 0;
    in_region = 1;
    for (;;) {
        // Spin briefly (back-to-back ops are common), then sleep.
        uint64_t g = atomic_load_explicit(&generation, memory_order_acquire);
        for (int s = 0; g == seen && s < SPIN_ROUNDS; s++) {
            CPU_RELAX();
            g = atomic_load_explicit(&generation, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&pool_mu);
            while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen)
                pthread_cond_wait(&pool_wake, &pool_mu);
            pthread_mutex_unlock(&pool_mu);
        }
        seen = g;
        if (id < atomic_load(&participants)) {
            run_tasks();
            if (atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel) == 1) {
                pthread_mutex_lock(&pool_mu);
                pthread_cond_signal(&pool_done);
                pthread_mutex_unlock(&pool_mu);
            }
        }
    }
    return NULL;
}

static void start_workers(int total) {
    // total = participants including the caller
    while (workers_started < total - 1 && workers_started < MAX_WORKERS) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 8 << 20);
        if (pthread_create(&t, &attr, worker_main, (void *)(intptr_t)(workers_started + 1)) != 0) {
            pthread_attr_destroy(&attr);
            break;
        }
        pthread_attr_destroy(&attr);
        pthread_detach(t);
        workers_started++;
    }
    atomic_store(&participants, workers_started + 1 < total ? workers_started + 1 : total);
}

static void pool_default_init(void) {
    openblas_set_num_threads(1);
    int n = reel_cpu_cores();
    const char *env = getenv("REEL_THREADS");
    if (env && atoi(env) > 0) n = atoi(env);
    pthread_mutex_lock(&region_lock);
    start_workers(n);
    pthread_mutex_unlock(&region_lock);
}

void reel_pool_init(int threads) {
    pthread_once(&pool_once, pool_default_init);
    if (in_region) return; // resizing from inside a parallel region would deadlock on region_lock
    if (threads <= 0) threads = reel_cpu_cores();
    pthread_mutex_lock(&region_lock);
    start_workers(threads);
    pthread_mutex_unlock(&region_lock);
}

int reel_pool_threads(void) {
    pthread_once(&pool_once, pool_default_init);
    return atomic_load(&participants);
}

int reel_in_parallel_region(void) { return in_region; }

void reel_parallel_for(int64_t n, reel_task_fn fn, void *ctx) {
    if (n <= 0) return;
    pthread_once(&pool_once, pool_default_init);
    int p = atomic_load(&participants);
    if (in_region || n == 1 || p <= 1) {
        int was = in_region;
        in_region = 1;
        for (int64_t i = 0; i < n; i++) fn(ctx, i);
        in_region = was;
        return;
    }
    pthread_mutex_lock(&region_lock);
    p = atomic_load(&participants);
    job_fn = fn;
    job_ctx = ctx;
    job_count = n;
    atomic_store_explicit(&next_index, 0, memory_order_relaxed);
    atomic_store_explicit(&pending, p - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool_mu);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_mu);

    in_region = 1;
    run_tasks();
    in_region = 0;

    for (int s = 0; atomic_load_explicit(&pending, memory_order_acquire) > 0 && s < SPIN_ROUNDS * 10; s++)
        CPU_RELAX();
    if (atomic_load_explicit(&pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&pool_mu);
        while (atomic_load_explicit(&pending, memory_order_acquire) > 0)
            pthread_cond_wait(&pool_done, &pool_mu);
        pthread_mutex_unlock(&pool_mu);
    }
    pthread_mutex_unlock(&region_lock);
}

// MARK: memory

static _Atomic int64_t live_bytes = 0;
static _Atomic int64_t peak_bytes = 0;

// Freed blocks of 1 MiB and more are kept (at most CACHE_SLOTS of them, CACHE_BYTES in all)
// and handed out again to a request of the same rounded size: their pages are already
// mapped, so the next tensor of that shape costs no page faults. Models allocate the same
// shapes over and over (a Wan block makes ~250 MB of fresh activations per forward, a
// network tile the same buffers per tile), and on a virtual machine every first touch of
// a page is a fault. reel_release_cached_memory() gives them back to the system.
#define CACHE_MIN ((size_t)1 << 20)
#define CACHE_GRAIN ((size_t)1 << 16)
#define CACHE_SLOTS 32
#define CACHE_BYTES ((size_t)384 << 20)
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { void *p; size_t bytes; } cache[CACHE_SLOTS]; // oldest first
static int cache_n = 0;
static size_t cache_total = 0;

static size_t block_bytes(int64_t count) {
    size_t bytes = (size_t)(count > 0 ? count : 1) * sizeof(float);
    if (bytes >= CACHE_MIN) return (bytes + CACHE_GRAIN - 1) & ~(CACHE_GRAIN - 1);
    return (bytes + 63) & ~(size_t)63;
}

static void *cache_take(size_t bytes) {
    void *p = NULL;
    pthread_mutex_lock(&cache_mu);
    for (int i = cache_n - 1; i >= 0; i--) // newest first: the likeliest to be warm
        if (cache[i].bytes == bytes) {
            p = cache[i].p;
            cache_total -= bytes;
            memmove(&cache[i], &cache[i + 1], sizeof(cache[0]) * (size_t)(cache_n - i - 1));
            cache_n--;
            break;
        }
    pthread_mutex_unlock(&cache_mu);
    return p;
}

static void cache_put(void *p, size_t bytes) {
    if (bytes > CACHE_BYTES) { free(p); return; }
    void *evicted[CACHE_SLOTS];
    int ne = 0;
    pthread_mutex_lock(&cache_mu);
    while (cache_n > 0 && (cache_n == CACHE_SLOTS || cache_total + bytes > CACHE_BYTES)) {
        evicted[ne++] = cache[0].p;
        cache_total -= cache[0].bytes;
        memmove(&cache[0], &cache[1], sizeof(cache[0]) * (size_t)(cache_n - 1));
        cache_n--;
    }
    cache[cache_n].p = p;
    cache[cache_n].bytes = bytes;
    cache_n++;
    cache_total += bytes;
    pthread_mutex_unlock(&cache_mu);
    for (int i = 0; i < ne; i++) free(evicted[i]);
}

void reel_release_cached_memory(void) {
    pthread_mutex_lock(&cache_mu);
    int n = cache_n;
    void *blocks[CACHE_SLOTS];
    for (int i = 0; i < n; i++) blocks[i] = cache[i].p;
    cache_n = 0;
    cache_total = 0;
    pthread_mutex_unlock(&cache_mu);
    for (int i = 0; i < n; i++) free(blocks[i]);
}

int64_t reel_cached_bytes(void) {
    pthread_mutex_lock(&cache_mu);
    size_t t = cache_total;
    pthread_mutex_unlock(&cache_mu);
    return (int64_t)t;
}

float *reel_alloc_floats(int64_t count) {
    size_t rounded = block_bytes(count);
    float *p = rounded >= CACHE_MIN ? cache_take(rounded) : NULL;
    if (!p) p = aligned_alloc(64, rounded);
    if (!p) {
        reel_release_cached_memory(); // memory is short: the cache goes first
        p = aligned_alloc(64, rounded);
        if (!p) return NULL;
    }
    int64_t bytes = (int64_t)(count > 0 ? count : 1) * (int64_t)sizeof(float);
    int64_t now = atomic_fetch_add(&live_bytes, bytes) + bytes;
    int64_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {}
    return p;
}

void reel_free_floats(float *p, int64_t count) {
    if (!p) return;
    atomic_fetch_sub(&live_bytes, (int64_t)(count > 0 ? count : 1) * (int64_t)sizeof(float));
    size_t rounded = block_bytes(count);
    if (rounded >= CACHE_MIN) cache_put(p, rounded);
    else free(p);
}

int64_t reel_live_bytes(void) { return atomic_load(&live_bytes); }
int64_t reel_peak_bytes(void) { return atomic_load(&peak_bytes); }
void reel_reset_peak_bytes(void) { atomic_store(&peak_bytes, atomic_load(&live_bytes)); }

// MARK: cpu features

int reel_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

int reel_cpu_has_avx512bf16(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return reel_cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

// MARK: GEMM

typedef struct {
    int ta, tb;
    int64_t m, n, k, lda, ldb, ldc, parts;
    int split_m;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_part(void *vctx, int64_t part) {
    const gemm_job *j = vctx;
    int64_t total = j->split_m ? j->m : j->n;
    // Split on multiples of 16 rows/columns so OpenBLAS keeps full micro-tiles.
    int64_t unit = (total + j->parts - 1) / j->parts;
    unit = (unit + 15) & ~(int64_t)15;
    int64_t lo = part * unit;
    if (lo >= total) return;
    int64_t hi = lo + unit < total ? lo + unit : total;
    enum CBLAS_TRANSPOSE ta = j->ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = j->tb ? CblasTrans : CblasNoTrans;
    if (j->split_m) {
        const float *A = j->ta ? j->A + lo : j->A + lo * j->lda;
        cblas_sgemm(CblasRowMajor, ta, tb, (int)(hi - lo), (int)j->n, (int)j->k, j->alpha, A, (int)j->lda,
                    j->B, (int)j->ldb, j->beta, j->C + lo * j->ldc, (int)j->ldc);
    } else {
        const float *B = j->tb ? j->B + lo * j->ldb : j->B + lo;
        cblas_sgemm(CblasRowMajor, ta, tb, (int)j->m, (int)(hi - lo), (int)j->k, j->alpha, j->A, (int)j->lda,
                    B, (int)j->ldb, j->beta, j->C + lo, (int)j->ldc);
    }
}

void reel_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb,
                float beta, float *C, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    pthread_once(&pool_once, pool_default_init);
    int p = reel_pool_threads();
    double flops = 2.0 * (double)m * (double)n * (double)k;
    gemm_job j = {transA, transB, m, n, k, lda, ldb, ldc, 1, m >= n, alpha, beta, A, B, C};
    if (in_region || p <= 1 || flops < 4.0e6 || (m < 32 && n < 32)) {
        gemm_part(&j, 0);
        return;
    }
    int64_t total = j.split_m ? m : n;
    int64_t parts = p;
    if (total / 16 < parts) parts = total / 16 > 0 ? total / 16 : 1;
    j.parts = parts;
    reel_parallel_for(parts, gemm_part, &j);
}

typedef struct {
    int ta, tb;
    int64_t m, n, k, lda, ldb, ldc, sa, sb, sc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_batch_job;

static void gemm_batch_item(void *vctx, int64_t i) {
    const gemm_batch_job *j = vctx;
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                (int)j->m, (int)j->n, (int)j->k, j->alpha, j->A + i * j->sa, (int)j->lda,
                j->B + i * j->sb, (int)j->ldb, j->beta, j->C + i * j->sc, (int)j->ldc);
}

void reel_sgemm_batched(int64_t batch, int transA, int transB, int64_t m, int64_t n, int64_t k,
                        float alpha, const float *A, int64_t lda, int64_t strideA,
                        const float *B, int64_t ldb, int64_t strideB,
                        float beta, float *C, int64_t ldc, int64_t strideC) {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    int p = reel_pool_threads();
    if (batch >= p && !in_region) {
        gemm_batch_job j = {transA, transB, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, alpha, beta, A, B, C};
        reel_parallel_for(batch, gemm_batch_item, &j);
        return;
    }
    for (int64_t i = 0; i < batch; i++)
        reel_sgemm(transA, transB, m, n, k, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta,
                   C + i * strideC, ldc);
}

// MARK: ranges

typedef struct {
    reel_range_fn fn;
    void *ctx;
    int64_t n, chunk;
} range_job;

static void range_part(void *vctx, int64_t i) {
    const range_job *j = vctx;
    int64_t lo = i * j->chunk;
    int64_t hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
    if (lo < hi) j->fn(j->ctx, lo, hi);
}

void reel_parallel_range(int64_t n, int64_t grain, reel_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int p = reel_pool_threads();
    if (in_region || p <= 1 || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    // A few chunks per thread balance the load when another process holds a core.
    int64_t chunks = (int64_t)p * 4;
    if (n / grain < chunks) chunks = n / grain;
    if (chunks < 1) chunks = 1;
    range_job j = {fn, ctx, n, (n + chunks - 1) / chunks};
    reel_parallel_for((n + j.chunk - 1) / j.chunk, range_part, &j);
}

// MARK: per-thread scratch

// Kernels keep a scratch buffer per thread between calls (no malloc/mmap per
// task); a key destructor frees them when a thread exits, so short-lived job
// threads in a long-running daemon do not leak.
#define SCRATCH_SLOTS 4
typedef struct { float *p[SCRATCH_SLOTS]; int64_t n[SCRATCH_SLOTS]; } scratch_set;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v) {
    scratch_set *s = v;
    for (int i = 0; i < SCRATCH_SLOTS; i++) free(s->p[i]);
    free(s);
}

static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

float *reel_thread_scratch(int slot, int64_t n) {
    pthread_once(&scratch_once, scratch_init);
    scratch_set *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s) return NULL;
        pthread_setspecific(scratch_key, s);
    }
    if (s->n[slot] < n) {
        free(s->p[slot]);
        s->p[slot] = aligned_alloc(64, (size_t)((n + 15) & ~15) * sizeof(float));
        s->n[slot] = s->p[slot] ? n : 0;
    }
    return s->p[slot];
}
