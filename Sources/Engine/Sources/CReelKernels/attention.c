// Scaled-dot-product attention, flash-attention style: queries are taken in
// blocks of BQ rows, keys in blocks of BK; each block of scores is computed with
// one small GEMM, folded into a running (max, sum, output) per row with an
// online softmax, and dropped. Memory is O(BQ * BK) per thread, whatever the
// sequence length. Work is split over (batch, head, query block) on the pool;
// the GEMMs inside run single-threaded.
#include "reel_kernels.h"
#include "internal.h"
#include <cblas.h>
#include <stdlib.h>

#define BQ 256
#define BK 256

// Per-thread scratch, kept between calls so no task pays for mmap'd malloc.
static float *thread_scratch(int64_t n) { return reel_thread_scratch(0, n); }

// Adds the mask, applies causality, and turns one block of scores into
// probabilities relative to the running max, rescaling the running output.
REEL_MULTIVERSION
static void softmax_block(int64_t bq, int64_t bk, float *S, const reel_attention_args *a, const float *mask_rows,
                          int64_t q0, int64_t k0, float *m, float *l, float *O, int64_t dv) {
    for (int64_t r = 0; r < bq; r++) {
        float *s = S + r * BK;
        if (mask_rows) {
            const float *mr = mask_rows + r * a->m_sl + k0;
            for (int64_t c = 0; c < bk; c++) s[c] += mr[c];
        }
        if (a->causal) {
            int64_t limit = q0 + r - k0; // keys c <= limit are visible
            for (int64_t c = limit + 1 < 0 ? 0 : limit + 1; c < bk; c++) s[c] = -INFINITY;
        }
        // Lane-wise max and sum so the loops vectorise (no -ffast-math here).
        float lanes[16];
        for (int k = 0; k < 16; k++) lanes[k] = -INFINITY;
        int64_t c = 0;
        for (; c + 16 <= bk; c += 16)
            for (int k = 0; k < 16; k++) lanes[k] = s[c + k] > lanes[k] ? s[c + k] : lanes[k];
        float mx = -INFINITY;
        for (int k = 0; k < 16; k++) mx = lanes[k] > mx ? lanes[k] : mx;
        for (; c < bk; c++) mx = s[c] > mx ? s[c] : mx;
        float mnew = mx > m[r] ? mx : m[r];
        if (mnew == -INFINITY) { // every key so far masked
            for (c = 0; c < bk; c++) s[c] = 0.0f;
            continue;
        }
        float corr = m[r] == -INFINITY ? 0.0f : reel_expf(m[r] - mnew);
        for (c = 0; c < bk; c++) s[c] = reel_expf_masked(s[c] - mnew);
        for (int k = 0; k < 16; k++) lanes[k] = 0;
        for (c = 0; c + 16 <= bk; c += 16)
            for (int k = 0; k < 16; k++) lanes[k] += s[c + k];
        float sum = 0;
        for (int k = 0; k < 16; k++) sum += lanes[k];
        for (; c < bk; c++) sum += s[c];
        l[r] = l[r] * corr + sum;
        m[r] = mnew;
        if (corr != 1.0f) {
            float *o = O + r * dv;
            for (int64_t c = 0; c < dv; c++) o[c] *= corr;
        }
    }
}

REEL_MULTIVERSION
static void finish_rows(int64_t bq, int64_t dv, const float *O, const float *l, float *out, int64_t o_sl) {
    for (int64_t r = 0; r < bq; r++) {
        float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;
        const float *o = O + r * dv;
        float *dst = out + r * o_sl;
        for (int64_t c = 0; c < dv; c++) dst[c] = o[c] * inv;
    }
}

static void attention_task(void *vctx, int64_t task) {
    const reel_attention_args *a = vctx;
    if (a->interrupt && *a->interrupt) return; // the caller throws the output away
    int64_t qblocks = (a->lq + BQ - 1) / BQ;
    int64_t qb = task % qblocks;
    int64_t bh = task / qblocks;
    int64_t b = bh / a->heads, h = bh % a->heads;
    int64_t q0 = qb * BQ;
    int64_t bq = reel_min64(BQ, a->lq - q0);
    int64_t dv = a->dv;

    float *S = thread_scratch((int64_t)BQ * BK + (int64_t)BQ * dv + 2 * BQ);
    float *O = S + (int64_t)BQ * BK;
    float *m = O + (int64_t)BQ * dv;
    float *l = m + BQ;
    for (int64_t r = 0; r < bq; r++) { m[r] = -INFINITY; l[r] = 0; }
    memset(O, 0, sizeof(float) * (size_t)(bq * dv));

    const float *Q = a->q + b * a->q_sb + h * a->q_sh + q0 * a->q_sl;
    const float *K = a->k + b * a->k_sb + h * a->k_sh;
    const float *V = a->v + b * a->v_sb + h * a->v_sh;
    const float *mask_rows = a->mask ? a->mask + b * a->m_sb + h * a->m_sh + q0 * a->m_sl : NULL;

    int64_t kend = a->lk;
    if (a->causal) kend = reel_min64(a->lk, q0 + bq); // later keys are invisible to every row here
    for (int64_t k0 = 0; k0 < kend; k0 += BK) {
        if (a->interrupt && *a->interrupt) return;
        int64_t bk = reel_min64(BK, kend - k0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, (int)a->d, a->scale,
                    Q, (int)a->q_sl, K + k0 * a->k_sl, (int)a->k_sl, 0.0f, S, BK);
        softmax_block(bq, bk, S, a, mask_rows, q0, k0, m, l, O, dv);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, (int)dv, (int)bk, 1.0f,
                    S, BK, V + k0 * a->v_sl, (int)a->v_sl, 1.0f, O, (int)dv);
    }
    finish_rows(bq, dv, O, l, a->o + b * a->o_sb + h * a->o_sh + q0 * a->o_sl, a->o_sl);
}

void reel_attention(const reel_attention_args *args) {
    int64_t qblocks = (args->lq + BQ - 1) / BQ;
    int64_t tasks = args->batch * args->heads * qblocks;
    reel_parallel_for(tasks, attention_task, (void *)args);
}

// MARK: rotary embeddings

typedef struct {
    int64_t seq, heads, d, sb, ss, sh;
    float *out;
    const float *x, *cos, *sin;
    int interleaved;
} rope_job;

REEL_MULTIVERSION
static void rope_range(void *vctx, int64_t lo, int64_t hi) {
    const rope_job *j = vctx;
    int64_t d = j->d, half = d / 2;
    for (int64_t row = lo; row < hi; row++) { // row = (b * seq + s) * heads + h
        int64_t h = row % j->heads;
        int64_t s = (row / j->heads) % j->seq;
        int64_t b = row / (j->heads * j->seq);
        const float *x = j->x + b * j->sb + s * j->ss + h * j->sh;
        float *o = j->out + row * d;
        const float *c = j->cos + s * d, *sn = j->sin + s * d;
        if (j->interleaved) {
            for (int64_t i = 0; i < half; i++) {
                float x1 = x[2 * i], x2 = x[2 * i + 1];
                o[2 * i] = x1 * c[2 * i] - x2 * sn[2 * i];
                o[2 * i + 1] = x1 * sn[2 * i + 1] + x2 * c[2 * i + 1];
            }
        } else {
            for (int64_t i = 0; i < half; i++) {
                float x1 = x[i], x2 = x[i + half];
                o[i] = x1 * c[i] - x2 * sn[i];
                o[i + half] = x2 * c[i + half] + x1 * sn[i + half];
            }
        }
    }
}

void reel_rope(int64_t batch, int64_t seq, int64_t heads, int64_t d,
               float *out, const float *x, int64_t sb, int64_t ss, int64_t sh,
               const float *cos, const float *sin, int interleaved) {
    rope_job j = {seq, heads, d, sb, ss, sh, out, x, cos, sin, interleaved};
    reel_parallel_range(batch * seq * heads, 64, rope_range, &j);
}
