// Reductions, softmax and the normalisation layers.
#include "reel_kernels.h"
#include "internal.h"

// Sums n floats with 16 independent partial sums (vectorisable without
// -ffast-math) and finishes in double, so long rows keep their precision.
REEL_MULTIVERSION
static double sum_row(int64_t n, const float *x) {
    double total = 0;
    for (int64_t base = 0; base < n; base += 4096) {
        int64_t len = reel_min64(4096, n - base);
        float acc[16] = {0};
        int64_t i = 0;
        for (; i + 16 <= len; i += 16)
            for (int l = 0; l < 16; l++) acc[l] += x[base + i + l];
        float s = 0;
        for (int l = 0; l < 16; l++) s += acc[l];
        for (; i < len; i++) s += x[base + i];
        total += s;
    }
    return total;
}

// Sum of squared deviations from `mean`.
REEL_MULTIVERSION
static double sq_dev_row(int64_t n, const float *x, float mean) {
    double total = 0;
    for (int64_t base = 0; base < n; base += 4096) {
        int64_t len = reel_min64(4096, n - base);
        float acc[16] = {0};
        int64_t i = 0;
        for (; i + 16 <= len; i += 16)
            for (int l = 0; l < 16; l++) { float d = x[base + i + l] - mean; acc[l] += d * d; }
        float s = 0;
        for (int l = 0; l < 16; l++) s += acc[l];
        for (; i < len; i++) { float d = x[base + i] - mean; s += d * d; }
        total += s;
    }
    return total;
}

REEL_MULTIVERSION
static float max_row(int64_t n, const float *x) {
    float acc[16];
    for (int l = 0; l < 16; l++) acc[l] = -INFINITY;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
    float m = -INFINITY;
    for (int l = 0; l < 16; l++) m = acc[l] > m ? acc[l] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

// MARK: reduce

typedef struct { int op; int64_t len, inner; float *out; const float *x; } reduce_job;

REEL_MULTIVERSION
static void reduce_range(void *vctx, int64_t lo, int64_t hi) {
    const reduce_job *j = vctx;
    int64_t len = j->len, inner = j->inner;
    for (int64_t o = lo; o < hi; o++) {
        const float *x = j->x + o * len * inner;
        float *out = j->out + o * inner;
        if (inner == 1) {
            float v;
            switch (j->op) {
            case REEL_RED_SUM: v = (float)sum_row(len, x); break;
            case REEL_RED_MEAN: v = (float)(sum_row(len, x) / (double)len); break;
            case REEL_RED_MAX: v = max_row(len, x); break;
            default: { v = INFINITY; for (int64_t i = 0; i < len; i++) v = x[i] < v ? x[i] : v; }
            }
            out[0] = v;
            continue;
        }
        for (int64_t i = 0; i < inner; i++) out[i] = x[i];
        for (int64_t r = 1; r < len; r++) {
            const float *row = x + r * inner;
            switch (j->op) {
            case REEL_RED_SUM: case REEL_RED_MEAN: for (int64_t i = 0; i < inner; i++) out[i] += row[i]; break;
            case REEL_RED_MAX: for (int64_t i = 0; i < inner; i++) out[i] = row[i] > out[i] ? row[i] : out[i]; break;
            default: for (int64_t i = 0; i < inner; i++) out[i] = row[i] < out[i] ? row[i] : out[i]; break;
            }
        }
        if (j->op == REEL_RED_MEAN) {
            float s = 1.0f / (float)len;
            for (int64_t i = 0; i < inner; i++) out[i] *= s;
        }
    }
}

void reel_reduce(int op, int64_t outer, int64_t len, int64_t inner, float *out, const float *x) {
    reduce_job j = {op, len, inner, out, x};
    reel_parallel_range(outer, reel_max64(1, (1 << 15) / reel_max64(len * inner, 1)), reduce_range, &j);
}

// MARK: softmax

typedef struct { int64_t n; float *out; const float *x; int log; } softmax_job;

REEL_MULTIVERSION
static void softmax_range(void *vctx, int64_t lo, int64_t hi) {
    const softmax_job *j = vctx;
    int64_t n = j->n;
    for (int64_t r = lo; r < hi; r++) {
        const float *x = j->x + r * n;
        float *o = j->out + r * n;
        float m = max_row(n, x);
        if (m == -INFINITY) { for (int64_t i = 0; i < n; i++) o[i] = j->log ? -INFINITY : 0.0f; continue; }
        for (int64_t i = 0; i < n; i++) o[i] = reel_expf_masked(x[i] - m);
        float s = (float)sum_row(n, o);
        if (j->log) {
            float ls = logf(s) + m;
            for (int64_t i = 0; i < n; i++) o[i] = x[i] - ls;
        } else {
            float inv = 1.0f / s;
            for (int64_t i = 0; i < n; i++) o[i] *= inv;
        }
    }
}

void reel_softmax_rows(int64_t rows, int64_t n, float *out, const float *x) {
    softmax_job j = {n, out, x, 0};
    reel_parallel_range(rows, reel_max64(1, (1 << 14) / reel_max64(n, 1)), softmax_range, &j);
}

void reel_log_softmax_rows(int64_t rows, int64_t n, float *out, const float *x) {
    softmax_job j = {n, out, x, 1};
    reel_parallel_range(rows, reel_max64(1, (1 << 14) / reel_max64(n, 1)), softmax_range, &j);
}

// MARK: layer norm, RMS norm

typedef struct {
    int64_t n, rows_per_group;
    float *out;
    const float *x, *gamma, *beta, *scale, *shift;
    float eps;
} norm_job;

REEL_MULTIVERSION
static void layer_norm_range(void *vctx, int64_t lo, int64_t hi) {
    const norm_job *j = vctx;
    int64_t n = j->n;
    for (int64_t r = lo; r < hi; r++) {
        const float *x = j->x + r * n;
        float *o = j->out + r * n;
        float mean = (float)(sum_row(n, x) / (double)n);
        float var = (float)(sq_dev_row(n, x, mean) / (double)n);
        float rstd = 1.0f / sqrtf(var + j->eps);
        if (j->scale) {
            int64_t g = r / j->rows_per_group;
            const float *sc = j->scale + g * n, *sh = j->shift + g * n;
            for (int64_t i = 0; i < n; i++) o[i] = (x[i] - mean) * rstd * (1.0f + sc[i]) + sh[i];
        } else if (j->gamma && j->beta) {
            for (int64_t i = 0; i < n; i++) o[i] = (x[i] - mean) * rstd * j->gamma[i] + j->beta[i];
        } else if (j->gamma) {
            for (int64_t i = 0; i < n; i++) o[i] = (x[i] - mean) * rstd * j->gamma[i];
        } else {
            for (int64_t i = 0; i < n; i++) o[i] = (x[i] - mean) * rstd;
        }
    }
}

void reel_layer_norm(int64_t rows, int64_t n, float *out, const float *x,
                     const float *gamma, const float *beta, float eps) {
    norm_job j = {n, 1, out, x, gamma, beta, NULL, NULL, eps};
    reel_parallel_range(rows, reel_max64(1, (1 << 13) / reel_max64(n, 1)), layer_norm_range, &j);
}

void reel_layer_norm_modulate(int64_t rows, int64_t n, float *out, const float *x,
                              const float *scale, const float *shift, int64_t rowsPerGroup, float eps) {
    norm_job j = {n, rowsPerGroup > 0 ? rowsPerGroup : rows, out, x, NULL, NULL, scale, shift, eps};
    reel_parallel_range(rows, reel_max64(1, (1 << 13) / reel_max64(n, 1)), layer_norm_range, &j);
}

REEL_MULTIVERSION
static void rms_norm_range(void *vctx, int64_t lo, int64_t hi) {
    const norm_job *j = vctx;
    int64_t n = j->n;
    for (int64_t r = lo; r < hi; r++) {
        const float *x = j->x + r * n;
        float *o = j->out + r * n;
        float ms = (float)(sq_dev_row(n, x, 0.0f) / (double)n);
        float rs = 1.0f / sqrtf(ms + j->eps);
        if (j->gamma) for (int64_t i = 0; i < n; i++) o[i] = x[i] * rs * j->gamma[i];
        else for (int64_t i = 0; i < n; i++) o[i] = x[i] * rs;
    }
}

void reel_rms_norm(int64_t rows, int64_t n, float *out, const float *x, const float *gamma, float eps) {
    norm_job j = {n, 1, out, x, gamma, NULL, NULL, NULL, eps};
    reel_parallel_range(rows, reel_max64(1, (1 << 13) / reel_max64(n, 1)), rms_norm_range, &j);
}

// MARK: group norm

typedef struct {
    int64_t channels, spatial, groups;
    float *out;
    const float *x, *gamma, *beta;
    float eps;
} group_norm_job;

REEL_MULTIVERSION
static void group_norm_range(void *vctx, int64_t lo, int64_t hi) {
    const group_norm_job *j = vctx;
    int64_t cpg = j->channels / j->groups;
    for (int64_t bg = lo; bg < hi; bg++) { // bg = batch * groups + group
        int64_t g = bg % j->groups;
        int64_t n = cpg * j->spatial;
        const float *x = j->x + bg * n;
        float *o = j->out + bg * n;
        float mean = (float)(sum_row(n, x) / (double)n);
        float var = (float)(sq_dev_row(n, x, mean) / (double)n);
        float rstd = 1.0f / sqrtf(var + j->eps);
        for (int64_t c = 0; c < cpg; c++) {
            int64_t ch = g * cpg + c;
            float a = rstd * (j->gamma ? j->gamma[ch] : 1.0f);
            float b = (j->beta ? j->beta[ch] : 0.0f) - mean * a;
            const float *xc = x + c * j->spatial;
            float *oc = o + c * j->spatial;
            for (int64_t i = 0; i < j->spatial; i++) oc[i] = xc[i] * a + b;
        }
    }
}

void reel_group_norm(int64_t batch, int64_t channels, int64_t spatial, int64_t groups,
                     float *out, const float *x, const float *gamma, const float *beta, float eps) {
    group_norm_job j = {channels, spatial, groups, out, x, gamma, beta, eps};
    reel_parallel_range(batch * groups, 1, group_norm_range, &j);
}
