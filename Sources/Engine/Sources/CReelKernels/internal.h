// Helpers shared by the kernel files; not part of the public header.
#ifndef REEL_INTERNAL_H
#define REEL_INTERNAL_H
#include <stdint.h>
#include <string.h>
#include <math.h>

// Compile a loop three times (AVX-512, AVX2+FMA, baseline) and pick one at load
// time from cpuid, so the library runs on any x86-64 and uses the wide units
// where they exist.
#if defined(__x86_64__) && defined(__clang__)
#define REEL_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define REEL_MULTIVERSION
#endif

typedef void (*reel_range_fn)(void *ctx, int64_t lo, int64_t hi);
/// Splits [0, n) into chunks of at least `grain` and runs them on the pool.
void reel_parallel_range(int64_t n, int64_t grain, reel_range_fn fn, void *ctx);

/// A per-thread buffer of at least n floats for `slot` (0: attention, 1: conv,
/// 2: bf16 conv), kept between calls and freed when the thread exits.
float *reel_thread_scratch(int slot, int64_t n);

static inline int64_t reel_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t reel_max64(int64_t a, int64_t b) { return a > b ? a : b; }

// exp on [-87, 88] to about 1 ulp (Cephes' polynomial); written so the
// compiler vectorises loops that call it.
static inline float reel_expf(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    float n = __builtin_rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, 4);
    return y * s;
}

// exp that returns exactly 0 for -inf (masked scores).
static inline float reel_expf_masked(float x) {
    float e = reel_expf(x);
    return x < -87.3f ? 0.0f : e;
}

static inline float reel_tanhf(float x) {
    float ax = x < 0 ? -x : x;
    float e = reel_expf(-2.0f * ax);
    float t = (1.0f - e) / (1.0f + e);
    float x2 = x * x;
    float small = x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
    float r = x < 0 ? -t : t;
    return ax < 0.125f ? small : r;
}

// erf to ~1e-7 absolute: Abramowitz & Stegun 7.1.26 is too coarse (1.5e-7 rel
// near 0 is fine, but its 1e-6 absolute tail is not), so this uses the
// W. J. Cody-style split: a series below 0.5, exp-based tail above.
static inline float reel_erff(float x) {
    float ax = x < 0 ? -x : x;
    // |x| < 0.5: Taylor series, accurate to fp32.
    float x2 = ax * ax;
    float s = ax * (1.1283791671f + x2 * (-0.3761263890f + x2 * (0.1128379167f + x2 * (-0.0268661706f + x2 * (0.0052239776f + x2 * -0.0008548327f)))));
    // |x| >= 0.5: erfc(x) = t * exp(-x^2 + P(t)), Numerical Recipes' erfcc (1.2e-7 relative).
    float t = 1.0f / (1.0f + 0.5f * ax);
    float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
    float erfc = t * reel_expf(-x2 + poly);
    float big = 1.0f - erfc;
    float r = ax < 0.5f ? s : big;
    return x < 0 ? -r : r;
}

static inline float reel_sigmoidf(float x) { return 1.0f / (1.0f + reel_expf(-x)); }
static inline float reel_gelu_erf(float x) { return 0.5f * x * (1.0f + reel_erff(x * 0.70710678118654752f)); }
static inline float reel_gelu_tanh(float x) {
    return 0.5f * x * (1.0f + reel_tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}

/// Applies a REEL_UNARY_* activation in place to n contiguous floats.
void reel_activate(int op, int64_t n, float *x);

// An N-d convolution over an already padded input, spatial dims right-aligned
// into 3 (missing ones are 1).
typedef struct {
    int64_t batch, cin, cout, groups, cin_g, cout_g;
    int64_t in[3], k[3], s[3], d[3], o[3];
    int64_t P, K, chunk, nchunks;
    const float *x, *w, *bias;
    float *out;
} conv_job;
/// Writes col[(c * K + kk) * np + i] for output positions p0 .. p0 + np.
void reel_im2col_chunk(const conv_job *j, const float *xg, int64_t p0, int64_t np, float *col);

#endif
