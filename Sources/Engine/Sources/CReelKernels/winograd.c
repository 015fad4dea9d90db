// 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3)
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).
//
// A 4x4 output tile is computed from its 6x6 input patch d as
//     Y = Aᵀ [ Σ_cin (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// which costs 36 multiplies per channel pair where the direct form costs 144.
// The sum over input channels at each of the 36 positions is a small GEMM
// (tiles x cin) · (cin x cout), so the work splits into: input transform →
// 36 GEMMs → output transform, done per block of tiles so that everything a
// block touches stays in cache.
//
// Activations are NHWC with the channel count a multiple of 16, so one zmm
// holds 16 channels of one pixel and every transform is plain vector
// arithmetic. reel_conv_nd reaches this through an NCHW wrapper (two
// transposes); networks that chain 3x3 convs (Real-ESRGAN's SRVGG) keep their
// activations NHWC and call the NHWC entry directly, with bias and PReLU fused
// into the output transform.
//
// Points 0, ±1, ±2 keep the transform's constants small; fp32 error stays
// around 1e-6 relative, far inside every parity tolerance the models state.
#include "reel_kernels.h"
#include "internal.h"
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define WG_TB 24 // tiles per block (4 micro-tiles of 6)
#define WG_MR 6  // tiles per GEMM micro-tile (rows)

struct reel_winograd_weight {
    int64_t cin, cout; // rounded up to multiples of 16; the padding is zero
    int64_t kt;        // temporal taps (1 for conv2d, 3 for a 3x3x3 conv3d)
    float *u;          // [36][kt * cin][cout]: G g Gᵀ per position, tap-major along k
};

static int64_t round16(int64_t n) { return (n + 15) & ~(int64_t)15; }

reel_winograd_weight *reel_winograd_pack(int64_t cout, int64_t cin, int64_t kt, const float *w) {
    static const double G[6][3] = {
        {1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1},
    };
    reel_winograd_weight *p = malloc(sizeof(*p));
    if (!p) return NULL;
    p->cin = round16(cin);
    p->cout = round16(cout);
    p->kt = kt;
    size_t count = (size_t)(36 * kt * p->cin * p->cout);
    p->u = aligned_alloc(64, count * sizeof(float));
    if (!p->u) { free(p); return NULL; }
    memset(p->u, 0, count * sizeof(float));
    for (int64_t co = 0; co < cout; co++)
        for (int64_t ci = 0; ci < cin; ci++)
        for (int64_t kz = 0; kz < kt; kz++) {
            const float *g = w + ((co * cin + ci) * kt + kz) * 9;
            double t[6][3]; // G g
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 3; c++)
                    t[r][c] = G[r][0] * g[0 * 3 + c] + G[r][1] * g[1 * 3 + c] + G[r][2] * g[2 * 3 + c];
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 6; c++) {
                    double v = t[r][0] * G[c][0] + t[r][1] * G[c][1] + t[r][2] * G[c][2];
                    p->u[((r * 6 + c) * kt * p->cin + kz * p->cin + ci) * p->cout + co] = (float)v;
                }
        }
    return p;
}

void reel_winograd_free(reel_winograd_weight *w) {
    if (!w) return;
    free(w->u);
    free(w);
}

int64_t reel_winograd_cin(const reel_winograd_weight *w) { return w->cin; }
int64_t reel_winograd_cout(const reel_winograd_weight *w) { return w->cout; }

// On unless REEL_WINOGRAD=0 is set in the environment or reel_set_winograd(0)
// was called (benchmarks compare both paths in one run).
static int wg_enabled = -1;
int reel_winograd_enabled(void) {
    if (wg_enabled < 0) {
        const char *e = getenv("REEL_WINOGRAD");
        wg_enabled = !(e && e[0] == '0');
    }
    return wg_enabled;
}
void reel_set_winograd(int enabled) { wg_enabled = enabled != 0; }

int reel_winograd_available(void) {
#if defined(__x86_64__) && defined(__clang__)
    return reel_cpu_has_avx512();
#else
    return 0;
#endif
}

#if defined(__x86_64__) && defined(__clang__)
#define WG_TARGET __attribute__((target("avx512f,avx512vl,avx512dq")))
#define WG_INLINE static inline __attribute__((always_inline)) WG_TARGET

typedef struct {
    const reel_winograd_weight *u;
    int64_t tin, tout, h, w, pt, pl, oh, ow, th, tw, tb, nblk;
    const float *x, *bias, *slope;
    float *out;
} wg_job;

// Bᵀ·d over six vectors (one row or column of a patch).
WG_INLINE void wg_bt(const __m512 d[6], __m512 o[6]) {
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(-5.0f), two = _mm512_set1_ps(2.0f);
    const __m512 m4 = _mm512_set1_ps(-4.0f);
    o[0] = _mm512_fmadd_ps(four, d[0], _mm512_fmadd_ps(five, d[2], d[4]));
    o[1] = _mm512_fmadd_ps(m4, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
    o[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
    o[3] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[4], d[2]));
    o[4] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[1], d[3]), _mm512_sub_ps(d[4], d[2]));
    o[5] = _mm512_fmadd_ps(four, d[1], _mm512_fmadd_ps(five, d[3], d[5]));
}

// Aᵀ·m: six vectors in, four out.
WG_INLINE void wg_at(const __m512 m[6], __m512 y[4]) {
    __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
    y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m[5]);
}

// V[pos][i][c..c+16] for tile i of the block, one 16-channel slice.
WG_INLINE void wg_input_tile(const wg_job *j, const float *xb, int64_t y0, int64_t x0, int64_t c, float *V,
                             int64_t ldv) {
    int64_t cin = j->u->cin;
    int inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= j->h && x0 + 6 <= j->w;
    __m512 t[6][6];
    for (int r = 0; r < 6; r++) {
        __m512 d[6];
        int64_t y = y0 + r;
        for (int k = 0; k < 6; k++) {
            int64_t x = x0 + k;
            if (inside || (y >= 0 && y < j->h && x >= 0 && x < j->w))
                d[k] = _mm512_loadu_ps(xb + (y * j->w + x) * cin + c);
            else
                d[k] = _mm512_setzero_ps();
        }
        wg_bt(d, t[r]);
    }
    for (int k = 0; k < 6; k++) {
        __m512 col[6] = {t[0][k], t[1][k], t[2][k], t[3][k], t[4][k], t[5][k]}, o[6];
        wg_bt(col, o);
        for (int r = 0; r < 6; r++) _mm512_storeu_ps(V + (r * 6 + k) * ldv + c, o[r]);
    }
}

// C[6][16·NV] = A[6][K] · B[K][16·NV]; rows of A are tiles (broadcast), B is U.
WG_INLINE void wg_kernel(int nv, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                         int64_t ldc) {
    __m512 acc[WG_MR][4];
    for (int r = 0; r < WG_MR; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m512 b[4];
        for (int v = 0; v < nv; v++) b[v] = _mm512_loadu_ps(B + k * ldb + 16 * v);
        for (int r = 0; r < WG_MR; r++) {
            __m512 a = _mm512_set1_ps(A[r * lda + k]);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    for (int r = 0; r < WG_MR; r++)
        for (int v = 0; v < nv; v++) _mm512_storeu_ps(C + r * ldc + 16 * v, acc[r][v]);
}

WG_TARGET static void wg_kernel4(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    wg_kernel(4, K, A, lda, B, ldb, C, ldc);
}
WG_TARGET static void wg_kernel3(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    wg_kernel(3, K, A, lda, B, ldb, C, ldc);
}
WG_TARGET static void wg_kernel2(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    wg_kernel(2, K, A, lda, B, ldb, C, ldc);
}
WG_TARGET static void wg_kernel1(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    wg_kernel(1, K, A, lda, B, ldb, C, ldc);
}

// out[y0.., x0.., c..c+16] from M[pos][i][c..c+16], with bias and PReLU.
WG_INLINE void wg_output_tile(const wg_job *j, const float *M, int64_t ldm, int64_t c, float *ob, int64_t y0,
                              int64_t x0) {
    int64_t cout = j->u->cout;
    __m512 t[6][4];
    for (int r = 0; r < 6; r++) {
        __m512 m[6];
        for (int k = 0; k < 6; k++) m[k] = _mm512_loadu_ps(M + (r * 6 + k) * ldm + c);
        wg_at(m, t[r]);
    }
    __m512 bias = j->bias ? _mm512_loadu_ps(j->bias + c) : _mm512_setzero_ps();
    __m512 slope = j->slope ? _mm512_loadu_ps(j->slope + c) : _mm512_setzero_ps();
    for (int k = 0; k < 4; k++) {
        __m512 col[6] = {t[0][k], t[1][k], t[2][k], t[3][k], t[4][k], t[5][k]}, y[4];
        wg_at(col, y);
        int64_t x = x0 + k;
        if (x >= j->ow) continue;
        for (int r = 0; r < 4; r++) {
            int64_t yy = y0 + r;
            if (yy >= j->oh) continue;
            __m512 v = _mm512_add_ps(y[r], bias);
            if (j->slope) {
                __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
                v = _mm512_mask_mul_ps(v, neg, v, slope);
            }
            _mm512_storeu_ps(ob + (yy * j->ow + x) * cout + c, v);
        }
    }
}

WG_TARGET static void wg_task(void *vctx, int64_t t) {
    const wg_job *j = vctx;
    int64_t blk = t % j->nblk, ty = (t / j->nblk) % j->th, f = (t / (j->nblk * j->th)) % j->tout;
    int64_t b = t / (j->nblk * j->th * j->tout);
    int64_t tx0 = blk * j->tb, nt = reel_min64(j->tb, j->tw - tx0);
    int64_t rows = (nt + WG_MR - 1) / WG_MR * WG_MR;
    int64_t cin = j->u->cin, cout = j->u->cout, kt = j->u->kt, K = kt * cin;
    // V[36][rows][K] (K = the taps' input channels side by side), then M[36][rows][cout]
    float *V = reel_thread_scratch(3, 36 * j->tb * (K + cout));
    float *M = V + 36 * j->tb * K;
    int64_t plane = j->h * j->w * cin;
    const float *xf = j->x + (b * j->tin + f) * plane; // first input frame of this output frame
    int64_t ldv = rows * K, ldm = rows * cout;

    for (int64_t i = 0; i < rows; i++) {
        if (i < nt) {
            for (int64_t kz = 0; kz < kt; kz++)
                for (int64_t c = 0; c < cin; c += 16)
                    wg_input_tile(j, xf + kz * plane, 4 * ty - j->pt, 4 * (tx0 + i) - j->pl, c, V + i * K + kz * cin, ldv);
        } else { // rows past the last tile: zeros, so the GEMM reads defined values
            for (int p = 0; p < 36; p++) memset(V + p * ldv + i * K, 0, sizeof(float) * (size_t)K);
        }
    }
    for (int p = 0; p < 36; p++) {
        const float *A = V + p * ldv, *U = j->u->u + p * K * cout;
        float *C = M + p * ldm;
        for (int64_t co = 0; co < cout; co += 64) {
            int64_t nvv = reel_min64(4, (cout - co) / 16);
            for (int64_t r = 0; r < rows; r += WG_MR) {
                const float *a = A + r * K;
                float *c = C + r * cout + co;
                switch (nvv) {
                case 4: wg_kernel4(K, a, K, U + co, cout, c, cout); break;
                case 3: wg_kernel3(K, a, K, U + co, cout, c, cout); break;
                case 2: wg_kernel2(K, a, K, U + co, cout, c, cout); break;
                default: wg_kernel1(K, a, K, U + co, cout, c, cout); break;
                }
            }
        }
    }
    float *ob = j->out + (b * j->tout + f) * j->oh * j->ow * cout;
    for (int64_t i = 0; i < nt; i++)
        for (int64_t c = 0; c < cout; c += 16) wg_output_tile(j, M + i * cout, ldm, c, ob, 4 * ty, 4 * (tx0 + i));
}

void reel_conv3x3_nthwc(int64_t batch, int64_t frames, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left,
                        int64_t oh, int64_t ow, const float *x, const reel_winograd_weight *u, const float *bias,
                        const float *prelu_slope, float *out) {
    wg_job j = {u, frames, frames - u->kt + 1, h, w, pad_top, pad_left, oh, ow, (oh + 3) / 4, (ow + 3) / 4, 0, 0,
                x, bias, prelu_slope, out};
    if (j.tout <= 0) return;
    // Tiles per block: V (36 x tiles x K floats) within ~512 KB of L2, 6..24 tiles.
    int64_t tb = 131072 / (36 * u->kt * u->cin);
    tb = tb > WG_TB ? WG_TB : tb;
    tb = tb < WG_MR ? WG_MR : tb / WG_MR * WG_MR;
    j.tb = tb;
    j.nblk = (j.tw + tb - 1) / tb;
    reel_parallel_for(batch * j.tout * j.th * j.nblk, wg_task, &j);
}

void reel_conv3x3_nhwc(int64_t batch, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left, int64_t oh,
                       int64_t ow, const float *x, const reel_winograd_weight *u, const float *bias,
                       const float *prelu_slope, float *out) {
    if (u->kt != 1) abort(); // a conv3d weight: use reel_conv3x3_nthwc
    reel_conv3x3_nthwc(batch, 1, h, w, pad_top, pad_left, oh, ow, x, u, bias, prelu_slope, out);
}

#else
void reel_conv3x3_nthwc(int64_t batch, int64_t frames, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left,
                        int64_t oh, int64_t ow, const float *x, const reel_winograd_weight *u, const float *bias,
                        const float *prelu_slope, float *out) {
    abort(); // callers check reel_winograd_available() first
}
void reel_conv3x3_nhwc(int64_t batch, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left, int64_t oh,
                       int64_t ow, const float *x, const reel_winograd_weight *u, const float *bias,
                       const float *prelu_slope, float *out) {
    abort();
}
#endif

// MARK: NCHW entry (used by reel_conv_nd)

typedef struct {
    int64_t c, hw; // channels, pixels per plane
    const float *src;
    float *dst;
    int fast; // AVX-512 present
} transpose_job;

#if defined(__x86_64__) && defined(__clang__)
// 16x16 floats through registers: rows of src (stride ls) become columns of dst (stride ld).
__attribute__((target("avx512f"))) static void transpose16(const float *src, int64_t ls, float *dst, int64_t ld) {
    __m512 r[16], a[16], b[16], c[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ls);
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        b[4 * i + 0] = _mm512_shuffle_ps(a[4 * i], a[4 * i + 2], 0x44);
        b[4 * i + 1] = _mm512_shuffle_ps(a[4 * i], a[4 * i + 2], 0xEE);
        b[4 * i + 2] = _mm512_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0x44);
        b[4 * i + 3] = _mm512_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0xEE);
    }
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++) {
            c[8 * h + j] = _mm512_shuffle_f32x4(b[8 * h + j], b[8 * h + 4 + j], 0x88);
            c[8 * h + 4 + j] = _mm512_shuffle_f32x4(b[8 * h + j], b[8 * h + 4 + j], 0xDD);
        }
    for (int j = 0; j < 8; j++) {
        _mm512_storeu_ps(dst + j * ld, _mm512_shuffle_f32x4(c[j], c[8 + j], 0x88));
        _mm512_storeu_ps(dst + (8 + j) * ld, _mm512_shuffle_f32x4(c[j], c[8 + j], 0xDD));
    }
}
#define HAVE_TRANSPOSE16 1
#endif

// rows x cols block of src[r][c] (stride ls) into dst[c][r] (stride ld), 16x16 at a time.
static void transpose_block(const float *src, int64_t ls, float *dst, int64_t ld, int64_t rows, int64_t cols, int fast) {
    int64_t r0 = 0;
#ifdef HAVE_TRANSPOSE16
    if (fast)
        for (; r0 + 16 <= rows; r0 += 16) {
            int64_t c0 = 0;
            for (; c0 + 16 <= cols; c0 += 16) transpose16(src + r0 * ls + c0, ls, dst + c0 * ld + r0, ld);
            for (int64_t r = r0; r < r0 + 16; r++)
                for (int64_t c = c0; c < cols; c++) dst[c * ld + r] = src[r * ls + c];
        }
#endif
    (void)fast;
    for (int64_t r = r0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) dst[c * ld + r] = src[r * ls + c];
}

// [c][hw] -> [hw][c] for one image, ranges of pixels split across the pool.
static void to_nhwc_range(void *vctx, int64_t lo, int64_t hi) {
    const transpose_job *j = vctx;
    for (int64_t p0 = lo; p0 < hi; p0 += 64)
        transpose_block(j->src + p0, j->hw, j->dst + p0 * j->c, j->c, j->c, reel_min64(64, hi - p0), j->fast);
}

// [hw][c] -> [c][hw], ranges of pixels split across the pool.
static void to_nchw_range(void *vctx, int64_t lo, int64_t hi) {
    const transpose_job *j = vctx;
    for (int64_t p0 = lo; p0 < hi; p0 += 64)
        transpose_block(j->src + p0 * j->c, j->c, j->dst + p0, j->hw, reel_min64(64, hi - p0), j->c, j->fast);
}

void reel_nchw_to_nhwc(int64_t batch, int64_t c, int64_t hw, const float *x, float *out) {
    int fast = reel_cpu_has_avx512();
    for (int64_t b = 0; b < batch; b++) {
        transpose_job j = {c, hw, x + b * c * hw, out + b * c * hw, fast};
        reel_parallel_range(hw, 256, to_nhwc_range, &j);
    }
}

void reel_nhwc_to_nchw(int64_t batch, int64_t c, int64_t hw, const float *x, float *out) {
    int fast = reel_cpu_has_avx512();
    for (int64_t b = 0; b < batch; b++) {
        transpose_job j = {c, hw, x + b * c * hw, out + b * c * hw, fast};
        reel_parallel_range(hw, 256, to_nchw_range, &j);
    }
}

int reel_conv3x3_winograd_nchw(int64_t batch, int64_t cin, int64_t cout, int64_t tin, int64_t kt, int64_t ih,
                               int64_t iw, int64_t oh, int64_t ow, const float *x, const float *w, const float *bias,
                               float *out) {
    if (!reel_winograd_available() || cin % 16 || cout % 16 || tin < kt) return 0;
    int64_t tout = tin - kt + 1, nin = batch * cin * tin * ih * iw, nout = batch * cout * tout * oh * ow;
    reel_winograd_weight *u = reel_winograd_pack(cout, cin, kt, w);
    float *xt = reel_alloc_floats(nin);
    float *ot = reel_alloc_floats(nout);
    if (!u || !xt || !ot) {
        reel_winograd_free(u);
        if (xt) reel_free_floats(xt, nin);
        if (ot) reel_free_floats(ot, nout);
        return 0;
    }
    reel_nchw_to_nhwc(batch, cin, tin * ih * iw, x, xt);
    reel_conv3x3_nthwc(batch, tin, ih, iw, 0, 0, oh, ow, xt, u, bias, NULL, ot);
    reel_nhwc_to_nchw(batch, cout, tout * oh * ow, ot, out);
    reel_free_floats(xt, nin);
    reel_free_floats(ot, nout);
    reel_winograd_free(u);
    return 1;
}
