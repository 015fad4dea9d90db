// Convolution lowered to GEMM. The input is padded once (any padding mode:
// zero, replicate, reflect, causal = asymmetric zero) so the lowering never
// tests bounds; output positions are then taken in chunks whose im2col buffer
// stays in L2, and each chunk is one single-threaded sgemm on the pool.
#include "reel_kernels.h"
#include "internal.h"
#include <cblas.h>
#include <stdlib.h>

static float *col_buffer(int64_t n) { return reel_thread_scratch(1, n); }

// MARK: padding

typedef struct {
    int64_t in[3], lo[3], hi[3], out[3];
    int mode;
    float *dst;
    const float *src;
} pad_job;

static inline int64_t pad_source(int64_t i, int64_t n, int mode) {
    if (i >= 0 && i < n) return i;
    if (mode == REEL_PAD_ZERO) return -1;
    if (mode == REEL_PAD_REPLICATE) return i < 0 ? 0 : n - 1;
    // reflect (without repeating the edge), folded until it lands inside
    if (n == 1) return 0;
    int64_t period = 2 * (n - 1);
    int64_t m = i % period;
    if (m < 0) m += period;
    return m < n ? m : period - m;
}

static void pad_range(void *vctx, int64_t lo, int64_t hi) {
    const pad_job *j = vctx;
    int64_t oz = j->out[0], oy = j->out[1], ox = j->out[2];
    for (int64_t row = lo; row < hi; row++) { // row = (plane * oz + z) * oy + y
        int64_t y = row % oy, z = (row / oy) % oz, plane = row / (oy * oz);
        float *dst = j->dst + row * ox;
        int64_t sz = pad_source(z - j->lo[0], j->in[0], j->mode);
        int64_t sy = pad_source(y - j->lo[1], j->in[1], j->mode);
        if (sz < 0 || sy < 0) { memset(dst, 0, sizeof(float) * (size_t)ox); continue; }
        const float *src = j->src + ((plane * j->in[0] + sz) * j->in[1] + sy) * j->in[2];
        int64_t w = j->in[2], l = j->lo[2];
        for (int64_t x = 0; x < l; x++) {
            int64_t sx = pad_source(x - l, w, j->mode);
            dst[x] = sx < 0 ? 0.0f : src[sx];
        }
        memcpy(dst + l, src, sizeof(float) * (size_t)w);
        for (int64_t x = l + w; x < ox; x++) {
            int64_t sx = pad_source(x - l, w, j->mode);
            dst[x] = sx < 0 ? 0.0f : src[sx];
        }
    }
}

void reel_pad(int64_t outer, int sd, const int64_t *in, const int64_t *lo, const int64_t *hi,
              int mode, float *out, const float *x) {
    pad_job j;
    for (int d = 0; d < 3; d++) { j.in[d] = 1; j.lo[d] = 0; j.hi[d] = 0; }
    for (int d = 0; d < sd; d++) {
        j.in[3 - sd + d] = in[d];
        j.lo[3 - sd + d] = lo[d];
        j.hi[3 - sd + d] = hi[d];
    }
    for (int d = 0; d < 3; d++) j.out[d] = j.in[d] + j.lo[d] + j.hi[d];
    j.mode = mode;
    j.dst = out;
    j.src = x;
    reel_parallel_range(outer * j.out[0] * j.out[1], reel_max64(1, 4096 / j.out[2]), pad_range, &j);
}

// MARK: convolution


void reel_im2col_chunk(const conv_job *j, const float *xg, int64_t p0, int64_t np, float *col) {
    int64_t in12 = j->in[1] * j->in[2];
    for (int64_t c = 0; c < j->cin_g; c++) {
        const float *xc = xg + c * j->in[0] * in12;
        for (int64_t kz = 0; kz < j->k[0]; kz++)
        for (int64_t ky = 0; ky < j->k[1]; ky++)
        for (int64_t kx = 0; kx < j->k[2]; kx++) {
            int64_t kk = (kz * j->k[1] + ky) * j->k[2] + kx;
            float *dst = col + (c * j->K + kk) * np;
            int64_t p = p0, end = p0 + np;
            while (p < end) {
                int64_t ox = p % j->o[2], oy = (p / j->o[2]) % j->o[1], oz = p / (j->o[2] * j->o[1]);
                int64_t run = reel_min64(j->o[2] - ox, end - p);
                const float *src = xc + (oz * j->s[0] + kz * j->d[0]) * in12 + (oy * j->s[1] + ky * j->d[1]) * j->in[2]
                                   + ox * j->s[2] + kx * j->d[2];
                if (j->s[2] == 1) memcpy(dst, src, sizeof(float) * (size_t)run);
                else for (int64_t i = 0; i < run; i++) dst[i] = src[i * j->s[2]];
                dst += run;
                p += run;
            }
        }
    }
}

static void conv_task(void *vctx, int64_t t) {
    const conv_job *j = vctx;
    int64_t chunk = t % j->nchunks;
    int64_t g = (t / j->nchunks) % j->groups;
    int64_t b = t / (j->nchunks * j->groups);
    int64_t p0 = chunk * j->chunk;
    int64_t np = reel_min64(j->chunk, j->P - p0);
    int64_t inplane = j->in[0] * j->in[1] * j->in[2];
    const float *xg = j->x + (b * j->cin + g * j->cin_g) * inplane;
    const float *wg = j->w + g * j->cout_g * j->cin_g * j->K;
    float *og = j->out + (b * j->cout + g * j->cout_g) * j->P + p0;
    int64_t kdim = j->cin_g * j->K;
    float *col = col_buffer(kdim * np);
    reel_im2col_chunk(j, xg, p0, np, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->cout_g, (int)np, (int)kdim, 1.0f,
                wg, (int)kdim, col, (int)np, 0.0f, og, (int)j->P);
    if (j->bias) {
        for (int64_t co = 0; co < j->cout_g; co++) {
            float bv = j->bias[g * j->cout_g + co];
            float *row = og + co * j->P;
            for (int64_t i = 0; i < np; i++) row[i] += bv;
        }
    }
}

void reel_conv_nd(int sd, int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                  const int64_t *in, const int64_t *k, const int64_t *stride, const int64_t *dilation,
                  const int64_t *outsz, const float *x, const float *w, const float *bias, float *out) {
    conv_job j;
    memset(&j, 0, sizeof(j));
    j.batch = batch; j.cin = cin; j.cout = cout; j.groups = groups;
    j.cin_g = cin / groups; j.cout_g = cout / groups;
    for (int d = 0; d < 3; d++) { j.in[d] = 1; j.k[d] = 1; j.s[d] = 1; j.d[d] = 1; j.o[d] = 1; }
    for (int d = 0; d < sd; d++) {
        int e = 3 - sd + d;
        j.in[e] = in[d]; j.k[e] = k[d]; j.s[e] = stride[d]; j.d[e] = dilation[d]; j.o[e] = outsz[d];
    }
    j.P = j.o[0] * j.o[1] * j.o[2];
    j.K = j.k[0] * j.k[1] * j.k[2];
    j.x = x; j.w = w; j.bias = bias; j.out = out;

    // 3x3 (or kt x 3 x 3), stride 1, no dilation, one group, channels in 16s: Winograd (winograd.c).
    int winograd = sd >= 2 && j.k[1] == 3 && j.k[2] == 3 && j.s[0] == 1 && j.s[1] == 1 && j.s[2] == 1 && j.d[0] == 1
                   && j.d[1] == 1 && j.d[2] == 1 && groups == 1 && j.o[1] * j.o[2] >= 256 && reel_winograd_enabled();
    if (winograd && reel_conv3x3_winograd_nchw(batch, cin, cout, j.in[0], j.k[0], j.in[1], j.in[2], j.o[1], j.o[2], x, w,
                                               bias, out))
        return;
    int pointwise = j.K == 1 && j.s[0] == 1 && j.s[1] == 1 && j.s[2] == 1 && j.P == j.in[0] * j.in[1] * j.in[2];
    if (pointwise) {
        // 1x1 convolution: the input already is the im2col matrix.
        for (int64_t b = 0; b < batch; b++)
            for (int64_t g = 0; g < groups; g++) {
                float *og = out + (b * cout + g * j.cout_g) * j.P;
                reel_sgemm(0, 0, j.cout_g, j.P, j.cin_g, 1.0f, w + g * j.cout_g * j.cin_g, j.cin_g,
                           x + (b * cin + g * j.cin_g) * j.P, j.P, 0.0f, og, j.P);
                if (bias)
                    for (int64_t co = 0; co < j.cout_g; co++) {
                        float bv = bias[g * j.cout_g + co];
                        float *row = og + co * j.P;
                        for (int64_t i = 0; i < j.P; i++) row[i] += bv;
                    }
            }
        return;
    }
    // About 512 KB of im2col per chunk, in multiples of 16 positions.
    int64_t kdim = j.cin_g * j.K;
    int64_t chunk = (128 * 1024) / (kdim > 0 ? kdim : 1);
    chunk = chunk < 16 ? 16 : (chunk & ~(int64_t)15);
    if (chunk > j.P) chunk = j.P;
    // Keep every thread busy on small outputs.
    int threads = reel_pool_threads();
    while (chunk > 64 && batch * groups * ((j.P + chunk - 1) / chunk) < 2 * threads) chunk = (chunk / 2 + 15) & ~(int64_t)15;
    j.chunk = chunk;
    j.nchunks = (j.P + chunk - 1) / chunk;
    reel_parallel_for(batch * groups * j.nchunks, conv_task, &j);
}

// MARK: transposed convolution

typedef struct {
    int64_t cout_g, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
    const float *cols, *bias;
    float *out;
    int64_t cobase;
} col2im_job;

static void col2im_range(void *vctx, int64_t lo, int64_t hi) {
    const col2im_job *j = vctx;
    int64_t K = j->kh * j->kw, HW = j->h * j->w;
    for (int64_t co = lo; co < hi; co++) {
        float *o = j->out + co * j->oh * j->ow;
        float bv = j->bias ? j->bias[j->cobase + co] : 0.0f;
        for (int64_t i = 0; i < j->oh * j->ow; i++) o[i] = bv;
        for (int64_t ky = 0; ky < j->kh; ky++)
        for (int64_t kx = 0; kx < j->kw; kx++) {
            const float *c = j->cols + (co * K + ky * j->kw + kx) * HW;
            for (int64_t iy = 0; iy < j->h; iy++) {
                int64_t oy = iy * j->sh - j->ph + ky * j->dh;
                if (oy < 0 || oy >= j->oh) continue;
                float *orow = o + oy * j->ow;
                const float *crow = c + iy * j->w;
                for (int64_t ix = 0; ix < j->w; ix++) {
                    int64_t ox = ix * j->sw - j->pw + kx * j->dw;
                    if (ox >= 0 && ox < j->ow) orow[ox] += crow[ix];
                }
            }
        }
    }
}

void reel_conv_transpose2d(int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                           int64_t h, int64_t w, int64_t kh, int64_t kw,
                           int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                           int64_t oh, int64_t ow, const float *x, const float *weight,
                           const float *bias, float *out) {
    int64_t cin_g = cin / groups, cout_g = cout / groups, K = kh * kw, HW = h * w;
    float *cols = reel_alloc_floats(cout_g * K * HW);
    for (int64_t b = 0; b < batch; b++)
        for (int64_t g = 0; g < groups; g++) {
            // cols[cout_g*K, HW] = W_g^T [cout_g*K, cin_g] x X_g [cin_g, HW]
            reel_sgemm(1, 0, cout_g * K, HW, cin_g, 1.0f, weight + g * cin_g * cout_g * K, cout_g * K,
                       x + (b * cin + g * cin_g) * HW, HW, 0.0f, cols, HW);
            col2im_job j = {cout_g, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols, bias,
                            out + (b * cout + g * cout_g) * oh * ow, g * cout_g};
            reel_parallel_range(cout_g, 1, col2im_range, &j);
        }
    reel_free_floats(cols, cout_g * K * HW);
}
