// Resampling with PyTorch's coordinate conventions (F.interpolate and
// F.grid_sample), so outputs match torch to rounding.
#include "reel_kernels.h"
#include "internal.h"
#include <stdlib.h>

typedef struct {
    int mode, align;
    int64_t h, w, oh, ow;
    float sh, sw;
    float *out;
    const float *x;
    int64_t *xi; // per output column: 4 source columns
    float *xw;   // and their weights
} resize_job;

static float source_coord(int64_t dst, int64_t in, int64_t out, float scale, int align, int cubic) {
    if (align) return out > 1 ? (float)dst * (float)(in - 1) / (float)(out - 1) : 0.0f;
    float s = ((float)dst + 0.5f) * scale - 0.5f;
    return (!cubic && s < 0) ? 0.0f : s;
}

static float cubic1(float x, float A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static float cubic2(float x, float A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

static inline int64_t clampi(int64_t v, int64_t n) { return v < 0 ? 0 : (v >= n ? n - 1 : v); }

// Fills 4 taps (index, weight) for one output coordinate.
static void taps(int mode, int align, int64_t dst, int64_t in, int64_t out, float scale, int64_t *idx, float *wt) {
    for (int t = 0; t < 4; t++) { idx[t] = 0; wt[t] = 0; }
    if (mode == REEL_RESAMPLE_NEAREST || mode == REEL_RESAMPLE_NEAREST_EXACT) {
        float off = mode == REEL_RESAMPLE_NEAREST_EXACT ? 0.5f : 0.0f;
        int64_t s = (int64_t)floorf(((float)dst + off) * scale);
        idx[0] = s < in ? s : in - 1;
        wt[0] = 1;
    } else if (mode == REEL_RESAMPLE_BILINEAR) {
        float s = source_coord(dst, in, out, scale, align, 0);
        int64_t i0 = (int64_t)s;
        if (i0 > in - 1) i0 = in - 1;
        int64_t i1 = i0 + 1 < in ? i0 + 1 : in - 1;
        float l = s - (float)i0;
        idx[0] = i0; wt[0] = 1 - l;
        idx[1] = i1; wt[1] = l;
    } else {
        float s = source_coord(dst, in, out, scale, align, 1);
        int64_t i = (int64_t)floorf(s);
        float t = s - (float)i;
        const float A = -0.75f;
        float w4[4] = {cubic2(t + 1, A), cubic1(t, A), cubic1(1 - t, A), cubic2(2 - t, A)};
        for (int k = 0; k < 4; k++) { idx[k] = clampi(i - 1 + k, in); wt[k] = w4[k]; }
    }
}

static void resize_range(void *vctx, int64_t lo, int64_t hi) {
    const resize_job *j = vctx;
    int ntaps = j->mode == REEL_RESAMPLE_BICUBIC ? 4 : (j->mode == REEL_RESAMPLE_BILINEAR ? 2 : 1);
    for (int64_t r = lo; r < hi; r++) { // r = plane * oh + y
        int64_t y = r % j->oh, plane = r / j->oh;
        int64_t yi[4];
        float yw[4];
        taps(j->mode, j->align, y, j->h, j->oh, j->sh, yi, yw);
        const float *src = j->x + plane * j->h * j->w;
        float *dst = j->out + r * j->ow;
        for (int64_t x = 0; x < j->ow; x++) {
            const int64_t *xi = j->xi + 4 * x;
            const float *xw = j->xw + 4 * x;
            float acc = 0;
            for (int a = 0; a < ntaps; a++) {
                const float *srow = src + yi[a] * j->w;
                float v = 0;
                for (int b = 0; b < ntaps; b++) v += srow[xi[b]] * xw[b];
                acc += v * yw[a];
            }
            dst[x] = acc;
        }
    }
}

void reel_resize2d(int mode, int align_corners, int64_t planes, int64_t h, int64_t w,
                   int64_t oh, int64_t ow, float scale_h, float scale_w, float *out, const float *x) {
    int64_t *xi = malloc(sizeof(int64_t) * 4 * (size_t)ow);
    float *xw = malloc(sizeof(float) * 4 * (size_t)ow);
    for (int64_t c = 0; c < ow; c++) taps(mode, align_corners, c, w, ow, scale_w, xi + 4 * c, xw + 4 * c);
    resize_job j = {mode, align_corners, h, w, oh, ow, scale_h, scale_w, out, x, xi, xw};
    reel_parallel_range(planes * oh, reel_max64(1, 4096 / reel_max64(ow, 1)), resize_range, &j);
    free(xi);
    free(xw);
}

// MARK: grid_sample

typedef struct {
    int64_t c, h, w, oh, ow;
    float *out;
    const float *x, *grid;
    int align, padding;
} grid_job;

static float unnormalize(float g, int64_t size, int align) {
    return align ? (g + 1) * 0.5f * (float)(size - 1) : ((g + 1) * (float)size - 1) * 0.5f;
}

static void grid_range(void *vctx, int64_t lo, int64_t hi) {
    const grid_job *j = vctx;
    for (int64_t r = lo; r < hi; r++) { // r = n * oh + y
        int64_t n = r / j->oh;
        for (int64_t xo = 0; xo < j->ow; xo++) {
            const float *g = j->grid + (r * j->ow + xo) * 2;
            float ix = unnormalize(g[0], j->w, j->align), iy = unnormalize(g[1], j->h, j->align);
            if (j->padding == 1) {
                ix = ix < 0 ? 0 : (ix > (float)(j->w - 1) ? (float)(j->w - 1) : ix);
                iy = iy < 0 ? 0 : (iy > (float)(j->h - 1) ? (float)(j->h - 1) : iy);
            }
            float fx = floorf(ix), fy = floorf(iy);
            int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
            float tx = ix - fx, ty = iy - fy;
            float wts[4] = {(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty};
            int64_t xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
            for (int64_t c = 0; c < j->c; c++) {
                const float *plane = j->x + (n * j->c + c) * j->h * j->w;
                float acc = 0;
                for (int t = 0; t < 4; t++)
                    if (xs[t] >= 0 && xs[t] < j->w && ys[t] >= 0 && ys[t] < j->h)
                        acc += plane[ys[t] * j->w + xs[t]] * wts[t];
                j->out[((n * j->c + c) * j->oh + (r % j->oh)) * j->ow + xo] = acc;
            }
        }
    }
}

void reel_grid_sample2d(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                        float *out, const float *x, const float *grid, int align_corners, int padding) {
    grid_job j = {c, h, w, oh, ow, out, x, grid, align_corners, padding};
    reel_parallel_range(n * oh, 1, grid_range, &j);
}
