// A bf16 GEMM for linear layers on CPUs with AVX512-BF16 (vdpbf16ps: 32
// multiply-adds per instruction against 16 for fp32 FMA). Weights are rounded to
// bf16 and packed once, when a model loads; activations are rounded per call;
// products accumulate in fp32. Used only when asked for (PackedLinear with
// .bf16), and only where the cpu has AVX512-BF16; otherwise callers use sgemm.
#include "reel_kernels.h"
#include "internal.h"
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MR 6      // rows per micro-tile
#define NR 64     // columns per micro-tile (4 zmm of 16 fp32 lanes)
#define KC 512    // k pairs per cache block: a 128 KB weight panel, kept in L2
#define MCHUNK 16 // micro-tiles per task

struct reel_bf16_weight {
    int64_t n, k, kp, nblocks;
    uint16_t *data; // [nblocks][kp][NR][2]
};

static inline uint16_t to_bf16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40u);
    return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

int reel_bf16_gemm_available(void) { return reel_cpu_has_avx512bf16(); }

reel_bf16_weight *reel_bf16_pack_weight(int64_t n, int64_t k, const float *w, int64_t ldw) {
    reel_bf16_weight *p = malloc(sizeof(*p));
    if (!p) return NULL;
    p->n = n;
    p->k = k;
    p->kp = (k + 1) / 2;
    p->nblocks = (n + NR - 1) / NR;
    size_t count = (size_t)p->nblocks * (size_t)p->kp * NR * 2;
    p->data = aligned_alloc(64, (count * sizeof(uint16_t) + 63) & ~(size_t)63);
    if (!p->data) { free(p); return NULL; }
    for (int64_t nb = 0; nb < p->nblocks; nb++)
        for (int64_t q = 0; q < p->kp; q++) {
            uint16_t *dst = p->data + ((nb * p->kp + q) * NR) * 2;
            for (int64_t c = 0; c < NR; c++) {
                int64_t col = nb * NR + c;
                for (int e = 0; e < 2; e++) {
                    int64_t kk = 2 * q + e;
                    dst[c * 2 + e] = (col < n && kk < k) ? to_bf16(w[col * ldw + kk]) : 0;
                }
            }
        }
    return p;
}

void reel_bf16_free_weight(reel_bf16_weight *w) {
    if (!w) return;
    free(w->data);
    free(w);
}

int64_t reel_bf16_weight_bytes(const reel_bf16_weight *w) {
    return w ? w->nblocks * w->kp * NR * 2 * 2 : 0;
}

#if defined(__x86_64__) && defined(__clang__)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// C[rows, cols] (+)= A_panel · B_panel over kp pairs. A: [kp][MR] pairs (u32),
// B: [kp][NR][2] bf16.
BF16_TARGET
static void kernel_6x64(int64_t kp, const uint32_t *A, const uint16_t *B, float *C, int64_t ldc,
                        int accumulate, int rows, int cols) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
    __m512 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    __m512 c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    __m512 c40 = c00, c41 = c00, c42 = c00, c43 = c00;
    __m512 c50 = c00, c51 = c00, c52 = c00, c53 = c00;
    for (int64_t q = 0; q < kp; q++) {
        const uint16_t *b = B + q * NR * 2;
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 32);
        __m512bh b2 = (__m512bh)_mm512_loadu_si512(b + 64);
        __m512bh b3 = (__m512bh)_mm512_loadu_si512(b + 96);
        const uint32_t *a = A + q * MR;
        __m512bh a0 = (__m512bh)_mm512_set1_epi32((int)a[0]);
        c00 = _mm512_dpbf16_ps(c00, a0, b0); c01 = _mm512_dpbf16_ps(c01, a0, b1);
        c02 = _mm512_dpbf16_ps(c02, a0, b2); c03 = _mm512_dpbf16_ps(c03, a0, b3);
        __m512bh a1 = (__m512bh)_mm512_set1_epi32((int)a[1]);
        c10 = _mm512_dpbf16_ps(c10, a1, b0); c11 = _mm512_dpbf16_ps(c11, a1, b1);
        c12 = _mm512_dpbf16_ps(c12, a1, b2); c13 = _mm512_dpbf16_ps(c13, a1, b3);
        __m512bh a2 = (__m512bh)_mm512_set1_epi32((int)a[2]);
        c20 = _mm512_dpbf16_ps(c20, a2, b0); c21 = _mm512_dpbf16_ps(c21, a2, b1);
        c22 = _mm512_dpbf16_ps(c22, a2, b2); c23 = _mm512_dpbf16_ps(c23, a2, b3);
        __m512bh a3 = (__m512bh)_mm512_set1_epi32((int)a[3]);
        c30 = _mm512_dpbf16_ps(c30, a3, b0); c31 = _mm512_dpbf16_ps(c31, a3, b1);
        c32 = _mm512_dpbf16_ps(c32, a3, b2); c33 = _mm512_dpbf16_ps(c33, a3, b3);
        __m512bh a4 = (__m512bh)_mm512_set1_epi32((int)a[4]);
        c40 = _mm512_dpbf16_ps(c40, a4, b0); c41 = _mm512_dpbf16_ps(c41, a4, b1);
        c42 = _mm512_dpbf16_ps(c42, a4, b2); c43 = _mm512_dpbf16_ps(c43, a4, b3);
        __m512bh a5 = (__m512bh)_mm512_set1_epi32((int)a[5]);
        c50 = _mm512_dpbf16_ps(c50, a5, b0); c51 = _mm512_dpbf16_ps(c51, a5, b1);
        c52 = _mm512_dpbf16_ps(c52, a5, b2); c53 = _mm512_dpbf16_ps(c53, a5, b3);
    }
    __m512 acc[MR][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                         {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
    for (int i = 0; i < rows; i++) {
        float *row = C + i * ldc;
        for (int j = 0; j < 4; j++) {
            int left = cols - 16 * j;
            if (left <= 0) break;
            __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __m512 v = acc[i][j];
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, row + 16 * j));
            _mm512_mask_storeu_ps(row + 16 * j, m, v);
        }
    }
}

typedef struct {
    int64_t m, k, kp;
    const float *x;
    int64_t ldx;
    uint32_t *packed; // [mtiles][kp][MR]
} pack_a_job;

BF16_TARGET
static void pack_a_range(void *vctx, int64_t lo, int64_t hi) {
    const pack_a_job *j = vctx;
    for (int64_t t = lo; t < hi; t++) { // one micro-tile of MR rows
        uint32_t *dst = j->packed + t * j->kp * MR;
        for (int i = 0; i < MR; i++) {
            int64_t r = t * MR + i;
            if (r >= j->m) {
                for (int64_t q = 0; q < j->kp; q++) dst[q * MR + i] = 0;
                continue;
            }
            const float *src = j->x + r * j->ldx;
            int64_t q = 0;
            for (; 2 * q + 32 <= j->k; q += 16) {
                __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 2 * q + 16), _mm512_loadu_ps(src + 2 * q));
                uint32_t pairs[16];
                _mm512_storeu_si512(pairs, (__m512i)v);
                for (int e = 0; e < 16; e++) dst[(q + e) * MR + i] = pairs[e];
            }
            for (; q < j->kp; q++) {
                uint16_t lo16 = to_bf16(src[2 * q]);
                uint16_t hi16 = 2 * q + 1 < j->k ? to_bf16(src[2 * q + 1]) : 0;
                dst[q * MR + i] = (uint32_t)lo16 | ((uint32_t)hi16 << 16);
            }
        }
    }
}

typedef struct {
    const reel_bf16_weight *w;
    const uint32_t *a;
    float *out;
    int64_t m, ldo, mtiles, mchunks;
} gemm_job;

static void gemm_task(void *vctx, int64_t task) {
    const gemm_job *j = vctx;
    int64_t nb = task % j->w->nblocks, mc = task / j->w->nblocks;
    int64_t t0 = mc * MCHUNK, t1 = reel_min64(t0 + MCHUNK, j->mtiles);
    int64_t kp = j->w->kp;
    int cols = (int)reel_min64(NR, j->w->n - nb * NR);
    for (int64_t q0 = 0; q0 < kp; q0 += KC) {
        int64_t qn = reel_min64(KC, kp - q0);
        const uint16_t *B = j->w->data + ((nb * kp + q0) * NR) * 2;
        for (int64_t t = t0; t < t1; t++) {
            int rows = (int)reel_min64(MR, j->m - t * MR);
            kernel_6x64(qn, j->a + (t * kp + q0) * MR, B, j->out + t * MR * j->ldo + nb * NR, j->ldo, q0 > 0, rows, cols);
        }
    }
}

void reel_bf16_linear(int64_t m, const float *x, int64_t ldx, const reel_bf16_weight *w, float *out, int64_t ldo) {
    if (m <= 0) return;
    int64_t mtiles = (m + MR - 1) / MR;
    int64_t count = mtiles * w->kp * MR;
    uint32_t *packed = (uint32_t *)reel_alloc_floats(count);
    pack_a_job pj = {m, w->k, w->kp, x, ldx, packed};
    reel_parallel_range(mtiles, 4, pack_a_range, &pj);
    gemm_job gj = {w, packed, out, m, ldo, mtiles, (mtiles + MCHUNK - 1) / MCHUNK};
    reel_parallel_for(gj.mchunks * w->nblocks, gemm_task, &gj);
    reel_free_floats((float *)packed, count);
}

// MARK: convolution on the bf16 kernel
//
// Here the weight is the broadcast operand (rows = output channels, packed
// once by reel_bf16_pack_conv_weight) and the im2col patches are the vector
// operand (columns = output positions), so results land directly in NCHW rows.

struct reel_bf16_conv_weight {
    int64_t cout, k, kp, mtiles;
    uint32_t *data; // [mtiles][kp][MR] pairs
};

reel_bf16_conv_weight *reel_bf16_pack_conv_weight(int64_t cout, int64_t k, const float *w) {
    reel_bf16_conv_weight *p = malloc(sizeof(*p));
    if (!p) return NULL;
    p->cout = cout;
    p->k = k;
    p->kp = (k + 1) / 2;
    p->mtiles = (cout + MR - 1) / MR;
    p->data = aligned_alloc(64, ((size_t)(p->mtiles * p->kp * MR) * 4 + 63) & ~(size_t)63);
    if (!p->data) { free(p); return NULL; }
    for (int64_t t = 0; t < p->mtiles; t++)
        for (int64_t q = 0; q < p->kp; q++)
            for (int i = 0; i < MR; i++) {
                int64_t r = t * MR + i;
                uint16_t lo = r < cout ? to_bf16(w[r * k + 2 * q]) : 0;
                uint16_t hi = r < cout && 2 * q + 1 < k ? to_bf16(w[r * k + 2 * q + 1]) : 0;
                p->data[(t * p->kp + q) * MR + i] = (uint32_t)lo | ((uint32_t)hi << 16);
            }
    return p;
}

void reel_bf16_free_conv_weight(reel_bf16_conv_weight *w) {
    if (!w) return;
    free(w->data);
    free(w);
}

typedef struct {
    conv_job c;
    reel_bf16_conv_weight *const *w; // one per group
} conv_bf16_job;

static float *conv_scratch(int64_t n) { return reel_thread_scratch(2, n); }

#define CONV_NP 128 // output positions per task (two column blocks)

BF16_TARGET
static void conv_bf16_task(void *vctx, int64_t t) {
    const conv_bf16_job *jb = vctx;
    const conv_job *j = &jb->c;
    int64_t chunk = t % j->nchunks;
    int64_t g = (t / j->nchunks) % j->groups;
    int64_t b = t / (j->nchunks * j->groups);
    int64_t p0 = chunk * j->chunk;
    int64_t np = reel_min64(j->chunk, j->P - p0);
    const reel_bf16_conv_weight *w = jb->w[g];
    int64_t kdim = j->cin_g * j->K, kp = w->kp;
    int64_t nblocks = (np + NR - 1) / NR, npad = nblocks * NR;
    int64_t colN = 2 * kp * npad, packN = nblocks * kp * NR; // packN in floats: NR*2 bf16 = NR floats
    float *col = conv_scratch(colN + packN);
    uint16_t *packed = (uint16_t *)(col + colN);

    int64_t inplane = j->in[0] * j->in[1] * j->in[2];
    reel_im2col_chunk(j, j->x + (b * j->cin + g * j->cin_g) * inplane, p0, np, col);
    // col is [kdim][np]; pad each row to npad and k to 2*kp with zeros, then
    // interleave row pairs into [nb][q][NR][2] bf16.
    if (npad != np || 2 * kp != kdim) {
        for (int64_t r = kdim - 1; r >= 0; r--) {
            memmove(col + r * npad, col + r * np, sizeof(float) * (size_t)np);
            for (int64_t p = np; p < npad; p++) col[r * npad + p] = 0;
        }
        for (int64_t r = kdim; r < 2 * kp; r++)
            for (int64_t p = 0; p < npad; p++) col[r * npad + p] = 0;
    }
    const __m512i inter = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int64_t nb = 0; nb < nblocks; nb++)
        for (int64_t q = 0; q < kp; q++) {
            const float *r0 = col + (2 * q) * npad + nb * NR, *r1 = r0 + npad;
            uint16_t *dst = packed + ((nb * kp + q) * NR) * 2;
            for (int v = 0; v < NR / 16; v++) {
                __m512bh both = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(r1 + 16 * v), _mm512_loadu_ps(r0 + 16 * v));
                _mm512_storeu_si512(dst + 32 * v, _mm512_permutexvar_epi16(inter, (__m512i)both));
            }
        }
    float *og = j->out + (b * j->cout + g * j->cout_g) * j->P + p0;
    for (int64_t nb = 0; nb < nblocks; nb++) {
        int cols = (int)reel_min64(NR, np - nb * NR);
        for (int64_t q0 = 0; q0 < kp; q0 += KC) {
            int64_t qn = reel_min64(KC, kp - q0);
            const uint16_t *B = packed + ((nb * kp + q0) * NR) * 2;
            for (int64_t mt = 0; mt < w->mtiles; mt++) {
                int rows = (int)reel_min64(MR, j->cout_g - mt * MR);
                kernel_6x64(qn, w->data + (mt * kp + q0) * MR, B, og + mt * MR * j->P + nb * NR, j->P, q0 > 0, rows, cols);
            }
        }
    }
    if (j->bias)
        for (int64_t co = 0; co < j->cout_g; co++) {
            float bv = j->bias[g * j->cout_g + co];
            float *row = og + co * j->P;
            for (int64_t p = 0; p < np; p++) row[p] += bv;
        }
}

void reel_conv_nd_bf16(int sd, int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                       const int64_t *in, const int64_t *k, const int64_t *stride, const int64_t *dilation,
                       const int64_t *outsz, const float *x, reel_bf16_conv_weight *const *w, const float *bias, float *out) {
    conv_bf16_job jb;
    memset(&jb, 0, sizeof(jb));
    conv_job *j = &jb.c;
    j->batch = batch; j->cin = cin; j->cout = cout; j->groups = groups;
    j->cin_g = cin / groups; j->cout_g = cout / groups;
    for (int d = 0; d < 3; d++) { j->in[d] = 1; j->k[d] = 1; j->s[d] = 1; j->d[d] = 1; j->o[d] = 1; }
    for (int d = 0; d < sd; d++) {
        int e = 3 - sd + d;
        j->in[e] = in[d]; j->k[e] = k[d]; j->s[e] = stride[d]; j->d[e] = dilation[d]; j->o[e] = outsz[d];
    }
    j->P = j->o[0] * j->o[1] * j->o[2];
    j->K = j->k[0] * j->k[1] * j->k[2];
    j->x = x; j->bias = bias; j->out = out;
    jb.w = w;
    j->chunk = CONV_NP < j->P ? CONV_NP : j->P;
    j->nchunks = (j->P + j->chunk - 1) / j->chunk;
    reel_parallel_for(batch * groups * j->nchunks, conv_bf16_task, &jb);
}

#else
void reel_conv_nd_bf16(int sd, int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                       const int64_t *in, const int64_t *k, const int64_t *stride, const int64_t *dilation,
                       const int64_t *outsz, const float *x, reel_bf16_conv_weight *const *w, const float *bias, float *out) {
    abort();
}
reel_bf16_conv_weight *reel_bf16_pack_conv_weight(int64_t cout, int64_t k, const float *w) { return NULL; }
void reel_bf16_free_conv_weight(reel_bf16_conv_weight *w) {}
void reel_bf16_linear(int64_t m, const float *x, int64_t ldx, const reel_bf16_weight *w, float *out, int64_t ldo) {
    (void)m; (void)x; (void)ldx; (void)w; (void)out; (void)ldo;
    abort(); // callers check reel_bf16_gemm_available() first
}
#endif
