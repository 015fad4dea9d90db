// Elementwise loops, strided copies, broadcasting binary ops, dtype conversion.
#include "reel_kernels.h"
#include "internal.h"
#include <stdlib.h>

#define MAXD 16

// MARK: strided iteration

typedef struct {
    int ndim;
    int64_t shape[MAXD];
    int64_t as[MAXD], bs[MAXD];
    int64_t inner;
} strided_plan;

/// Merges dims that are contiguous with respect to both operands so the inner
/// loop is as long as possible. The output is always contiguous.
static void plan_strides(strided_plan *p, int ndim, const int64_t *shape, const int64_t *as, const int64_t *bs) {
    int n = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 1) continue;
        if (n > 0 && p->as[n - 1] == as[i] * shape[i] && (!bs || p->bs[n - 1] == bs[i] * shape[i])) {
            p->shape[n - 1] *= shape[i];
            p->as[n - 1] = as[i];
            if (bs) p->bs[n - 1] = bs[i];
        } else {
            p->shape[n] = shape[i];
            p->as[n] = as[i];
            p->bs[n] = bs ? bs[i] : 0;
            n++;
        }
    }
    if (n == 0) { p->shape[0] = 1; p->as[0] = 0; p->bs[0] = 0; n = 1; }
    p->ndim = n;
    p->inner = p->shape[n - 1];
}

static inline void row_offsets(const strided_plan *p, int64_t row, int64_t *ao, int64_t *bo) {
    int64_t a = 0, b = 0;
    for (int d = p->ndim - 2; d >= 0; d--) {
        int64_t i = row % p->shape[d];
        row /= p->shape[d];
        a += i * p->as[d];
        b += i * p->bs[d];
    }
    *ao = a;
    *bo = b;
}

// MARK: copies

typedef struct { strided_plan p; float *out; const float *x; } copy_job;

static void copy_range(void *vctx, int64_t lo, int64_t hi) {
    const copy_job *j = vctx;
    int64_t inner = j->p.inner, s = j->p.as[j->p.ndim - 1];
    int64_t idx = lo;
    while (idx < hi) {
        int64_t row = idx / inner, col = idx % inner;
        int64_t len = reel_min64(inner - col, hi - idx);
        int64_t ao, bo;
        row_offsets(&j->p, row, &ao, &bo);
        const float *src = j->x + ao + col * s;
        float *dst = j->out + idx;
        if (s == 1) memcpy(dst, src, (size_t)len * sizeof(float));
        else if (s == 0) for (int64_t i = 0; i < len; i++) dst[i] = src[0];
        else for (int64_t i = 0; i < len; i++) dst[i] = src[i * s];
        idx += len;
    }
}

void reel_copy_strided(int ndim, const int64_t *shape, float *out, const float *x, const int64_t *strides) {
    copy_job j;
    plan_strides(&j.p, ndim, shape, strides, NULL);
    j.out = out;
    j.x = x;
    int64_t total = 1;
    for (int i = 0; i < ndim; i++) total *= shape[i];
    reel_parallel_range(total, 1 << 15, copy_range, &j);
}

typedef struct { float *out; float v; } fill_job;
static void fill_range(void *vctx, int64_t lo, int64_t hi) {
    const fill_job *j = vctx;
    for (int64_t i = lo; i < hi; i++) j->out[i] = j->v;
}
void reel_fill(int64_t n, float *out, float value) {
    fill_job j = {out, value};
    reel_parallel_range(n, 1 << 16, fill_range, &j);
}

// MARK: binary

typedef struct { strided_plan p; int op; float *out; const float *a, *b; } binary_job;

REEL_MULTIVERSION
static void binary_inner(int op, int64_t len, float *o, const float *a, int64_t as, const float *b, int64_t bs) {
#define BIN_LOOPS(EXPR)                                                                     \
    if (as == 1 && bs == 1) { for (int64_t i = 0; i < len; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } } \
    else if (as == 1 && bs == 0) { float y = b[0]; for (int64_t i = 0; i < len; i++) { float x = a[i]; o[i] = (EXPR); } } \
    else if (as == 0 && bs == 1) { float x = a[0]; for (int64_t i = 0; i < len; i++) { float y = b[i]; o[i] = (EXPR); } } \
    else { for (int64_t i = 0; i < len; i++) { float x = a[i * as], y = b[i * bs]; o[i] = (EXPR); } }
    switch (op) {
    case REEL_BIN_ADD: BIN_LOOPS(x + y) break;
    case REEL_BIN_SUB: BIN_LOOPS(x - y) break;
    case REEL_BIN_MUL: BIN_LOOPS(x * y) break;
    case REEL_BIN_DIV: BIN_LOOPS(x / y) break;
    case REEL_BIN_MAX: BIN_LOOPS(x > y || x != x ? x : y) break;
    case REEL_BIN_MIN: BIN_LOOPS(x < y || x != x ? x : y) break;
    case REEL_BIN_POW: BIN_LOOPS(powf(x, y)) break;
    }
#undef BIN_LOOPS
}

static void binary_range(void *vctx, int64_t lo, int64_t hi) {
    const binary_job *j = vctx;
    int64_t inner = j->p.inner;
    int64_t as = j->p.as[j->p.ndim - 1], bs = j->p.bs[j->p.ndim - 1];
    int64_t idx = lo;
    while (idx < hi) {
        int64_t row = idx / inner, col = idx % inner;
        int64_t len = reel_min64(inner - col, hi - idx);
        int64_t ao, bo;
        row_offsets(&j->p, row, &ao, &bo);
        binary_inner(j->op, len, j->out + idx, j->a + ao + col * as, as, j->b + bo + col * bs, bs);
        idx += len;
    }
}

void reel_binary(int op, int ndim, const int64_t *shape, float *out,
                 const float *a, const int64_t *astrides, const float *b, const int64_t *bstrides) {
    binary_job j;
    plan_strides(&j.p, ndim, shape, astrides, bstrides);
    j.op = op;
    j.out = out;
    j.a = a;
    j.b = b;
    int64_t total = 1;
    for (int i = 0; i < ndim; i++) total *= shape[i];
    reel_parallel_range(total, 1 << 15, binary_range, &j);
}

// MARK: unary

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define AVX512_TARGET __attribute__((target("avx512f,avx512dq")))

// exp(z) for z in [-87.3, 88.3] (callers clamp): Cephes' polynomial as reel_expf,
// 2^n applied with vscalefps.
AVX512_TARGET static inline __m512 exp512(__m512 z) {
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(z, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), z);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, n);
}

// x / (1 + exp(k1·x + k3·x³)): GELU (tanh form, 0.5·x·(1 + tanh(u)) = x·sigmoid(2u)) with
// k1 = -2·√(2/π), k3 = k1·0.044715, and SiLU (x·sigmoid(x)) with k1 = -1, k3 = 0. The
// scalar loops below do not vectorise (their tanh/erf helpers branch), and the GELU after
// a DiT's FFN projection is the largest elementwise pass of a block.
AVX512_TARGET static void sigmoid_gate_avx512(int64_t n, float *o, const float *x, const float *bias, float k1, float k3) {
    const __m512 vk1 = _mm512_set1_ps(k1), vk3 = _mm512_set1_ps(k3), one = _mm512_set1_ps(1.0f);
    const __m512 lo = _mm512_set1_ps(-87.3f), hi = _mm512_set1_ps(88.3f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + i));
        __m512 z = _mm512_mul_ps(v, _mm512_fmadd_ps(vk3, _mm512_mul_ps(v, v), vk1));
        z = _mm512_min_ps(_mm512_max_ps(z, lo), hi);
        _mm512_mask_storeu_ps(o + i, m, _mm512_div_ps(v, _mm512_add_ps(one, exp512(z))));
    }
}
#endif

static int has_avx512 = -1;

/// Fused bias + GELU(tanh) / SiLU on AVX-512; false when the cpu or op does not fit.
static int gate_fast(int op, int64_t n, float *o, const float *x, const float *bias) {
#if defined(__x86_64__) && defined(__clang__)
    if (has_avx512 < 0) has_avx512 = reel_cpu_has_avx512();
    if (!has_avx512) return 0;
    if (op == REEL_UNARY_GELU_TANH) {
        sigmoid_gate_avx512(n, o, x, bias, -1.5957691216057308f, -1.5957691216057308f * 0.044715f);
        return 1;
    }
    if (op == REEL_UNARY_SILU) {
        sigmoid_gate_avx512(n, o, x, bias, -1.0f, 0.0f);
        return 1;
    }
#endif
    (void)op; (void)n; (void)o; (void)x; (void)bias;
    return 0;
}

REEL_MULTIVERSION
static void unary_loop(int op, int64_t n, float *o, const float *x) {
    if (gate_fast(op, n, o, x, NULL)) return;
    switch (op) {
    case REEL_UNARY_NEG: for (int64_t i = 0; i < n; i++) o[i] = -x[i]; break;
    case REEL_UNARY_EXP: for (int64_t i = 0; i < n; i++) o[i] = x[i] < -87.3f ? expf(x[i]) : (x[i] > 88.3f ? INFINITY : reel_expf(x[i])); break;
    case REEL_UNARY_LOG: for (int64_t i = 0; i < n; i++) o[i] = logf(x[i]); break;
    case REEL_UNARY_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrtf(x[i]); break;
    case REEL_UNARY_RSQRT: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / sqrtf(x[i]); break;
    case REEL_UNARY_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabsf(x[i]); break;
    case REEL_UNARY_TANH: for (int64_t i = 0; i < n; i++) o[i] = reel_tanhf(x[i]); break;
    case REEL_UNARY_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = reel_sigmoidf(x[i]); break;
    case REEL_UNARY_SILU: for (int64_t i = 0; i < n; i++) o[i] = x[i] * reel_sigmoidf(x[i]); break;
    case REEL_UNARY_GELU_ERF: for (int64_t i = 0; i < n; i++) o[i] = reel_gelu_erf(x[i]); break;
    case REEL_UNARY_GELU_TANH: for (int64_t i = 0; i < n; i++) o[i] = reel_gelu_tanh(x[i]); break;
    case REEL_UNARY_RELU: for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0 ? x[i] : 0.0f; break;
    case REEL_UNARY_SIN: for (int64_t i = 0; i < n; i++) o[i] = sinf(x[i]); break;
    case REEL_UNARY_COS: for (int64_t i = 0; i < n; i++) o[i] = cosf(x[i]); break;
    case REEL_UNARY_SQUARE: for (int64_t i = 0; i < n; i++) o[i] = x[i] * x[i]; break;
    case REEL_UNARY_RECIPROCAL: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / x[i]; break;
    }
}

void reel_activate(int op, int64_t n, float *x) { unary_loop(op, n, x, x); }

typedef struct { int op; float *out; const float *x; float s0, s1; const float *alpha; int64_t channels, inner, nalpha; } unary_job;

static void unary_range(void *vctx, int64_t lo, int64_t hi) {
    const unary_job *j = vctx;
    unary_loop(j->op, hi - lo, j->out + lo, j->x + lo);
}

void reel_unary(int op, int64_t n, float *out, const float *x) {
    unary_job j = {op, out, x, 0, 0, NULL, 0, 0, 0};
    reel_parallel_range(n, 1 << 14, unary_range, &j);
}

REEL_MULTIVERSION
static void affine_range(void *vctx, int64_t lo, int64_t hi) {
    const unary_job *j = vctx;
    float a = j->s0, b = j->s1;
    for (int64_t i = lo; i < hi; i++) j->out[i] = j->x[i] * a + b;
}
void reel_affine(int64_t n, float *out, const float *x, float scale, float shift) {
    unary_job j = {0, out, x, scale, shift, NULL, 0, 0, 0};
    reel_parallel_range(n, 1 << 15, affine_range, &j);
}

REEL_MULTIVERSION
static void clamp_range(void *vctx, int64_t lo, int64_t hi) {
    const unary_job *j = vctx;
    float a = j->s0, b = j->s1;
    for (int64_t i = lo; i < hi; i++) {
        float v = j->x[i];
        v = v < a ? a : v;
        j->out[i] = v > b ? b : v;
    }
}
void reel_clamp(int64_t n, float *out, const float *x, float lo, float hi) {
    unary_job j = {0, out, x, lo, hi, NULL, 0, 0, 0};
    reel_parallel_range(n, 1 << 15, clamp_range, &j);
}

REEL_MULTIVERSION
static void leaky_range(void *vctx, int64_t lo, int64_t hi) {
    const unary_job *j = vctx;
    float s = j->s0;
    for (int64_t i = lo; i < hi; i++) j->out[i] = j->x[i] >= 0 ? j->x[i] : j->x[i] * s;
}
void reel_leaky_relu(int64_t n, float *out, const float *x, float slope) {
    unary_job j = {0, out, x, slope, 0, NULL, 0, 0, 0};
    reel_parallel_range(n, 1 << 15, leaky_range, &j);
}

REEL_MULTIVERSION
static void prelu_range(void *vctx, int64_t lo, int64_t hi) {
    const unary_job *j = vctx;
    for (int64_t r = lo; r < hi; r++) { // r indexes (outer, channel) planes
        int64_t c = r % j->channels;
        float s = j->alpha[j->nalpha == 1 ? 0 : c];
        const float *x = j->x + r * j->inner;
        float *o = j->out + r * j->inner;
        for (int64_t i = 0; i < j->inner; i++) o[i] = x[i] >= 0 ? x[i] : x[i] * s;
    }
}
void reel_prelu(int64_t outer, int64_t channels, int64_t inner, float *out, const float *x,
                const float *alpha, int64_t nalpha) {
    unary_job j = {0, out, x, 0, 0, alpha, channels, inner, nalpha};
    reel_parallel_range(outer * channels, reel_max64(1, (1 << 14) / reel_max64(inner, 1)), prelu_range, &j);
}

// MARK: dtype conversion

typedef struct { float *f; uint16_t *h; const float *cf; const uint16_t *ch; } dtype_job;

REEL_MULTIVERSION
static void bf16_to_f32_range(void *vctx, int64_t lo, int64_t hi) {
    const dtype_job *j = vctx;
    for (int64_t i = lo; i < hi; i++) {
        uint32_t b = (uint32_t)j->ch[i] << 16;
        memcpy(&j->f[i], &b, 4);
    }
}
void reel_bf16_to_f32(int64_t n, float *out, const uint16_t *in) {
    dtype_job j = {out, NULL, NULL, in};
    reel_parallel_range(n, 1 << 16, bf16_to_f32_range, &j);
}

REEL_MULTIVERSION
static void f16_to_f32_range(void *vctx, int64_t lo, int64_t hi) {
    const dtype_job *j = vctx;
    for (int64_t i = lo; i < hi; i++) {
        _Float16 h;
        memcpy(&h, &j->ch[i], 2);
        j->f[i] = (float)h;
    }
}
void reel_f16_to_f32(int64_t n, float *out, const uint16_t *in) {
    dtype_job j = {out, NULL, NULL, in};
    reel_parallel_range(n, 1 << 16, f16_to_f32_range, &j);
}

REEL_MULTIVERSION
static void f32_to_bf16_range(void *vctx, int64_t lo, int64_t hi) {
    const dtype_job *j = vctx;
    for (int64_t i = lo; i < hi; i++) {
        uint32_t b;
        memcpy(&b, &j->cf[i], 4);
        uint32_t rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16; // round to nearest even
        int nan = (b & 0x7fffffffu) > 0x7f800000u;
        j->h[i] = nan ? (uint16_t)((b >> 16) | 0x40u) : (uint16_t)rounded;
    }
}
void reel_f32_to_bf16(int64_t n, uint16_t *out, const float *in) {
    dtype_job j = {NULL, out, in, NULL};
    reel_parallel_range(n, 1 << 16, f32_to_bf16_range, &j);
}

REEL_MULTIVERSION
static void f32_to_f16_range(void *vctx, int64_t lo, int64_t hi) {
    const dtype_job *j = vctx;
    for (int64_t i = lo; i < hi; i++) {
        _Float16 h = (_Float16)j->cf[i];
        memcpy(&j->h[i], &h, 2);
    }
}
void reel_f32_to_f16(int64_t n, uint16_t *out, const float *in) {
    dtype_job j = {NULL, out, in, NULL};
    reel_parallel_range(n, 1 << 16, f32_to_f16_range, &j);
}

// MARK: bias + activation epilogue

typedef struct { int64_t n, ldc; float *C; const float *bias; int act; } bias_job;

REEL_MULTIVERSION
static void bias_range(void *vctx, int64_t lo, int64_t hi) {
    const bias_job *j = vctx;
    for (int64_t r = lo; r < hi; r++) {
        float *row = j->C + r * j->ldc;
        if (j->act >= 0 && gate_fast(j->act, j->n, row, row, j->bias)) continue;
        if (j->bias) for (int64_t i = 0; i < j->n; i++) row[i] += j->bias[i];
        if (j->act >= 0) unary_loop(j->act, j->n, row, row);
    }
}

void reel_add_bias_rows(int64_t m, int64_t n, float *C, int64_t ldc, const float *bias, int activation) {
    if (!bias && activation < 0) return;
    bias_job j = {n, ldc, C, bias, activation};
    reel_parallel_range(m, reel_max64(1, (1 << 14) / reel_max64(n, 1)), bias_range, &j);
}
