// Seeded Gaussian noise: Philox4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC'11) as a counter-based generator, so any slice of the
// stream can be produced independently and in parallel, then Box-Muller.
// Documented in docs/engine.md; the same stream on every machine.
#include "reel_kernels.h"
#include "internal.h"

void reel_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

// Counter = (block index low, high, 0, 0), key = (seed low, seed high).
static void philox_block(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    reel_philox4x32_10(ctr, key, out);
}

// (0, 1]: never 0, so log() below is finite.
static inline double unit_open(uint32_t x) { return ((double)(x >> 8) + 1.0) * (1.0 / 16777216.0); }

typedef struct { uint64_t seed, offset; float *out; int64_t n; int normal; } rng_job;

static void rng_range(void *vctx, int64_t lo, int64_t hi) { // lo, hi in blocks of 4 outputs
    const rng_job *j = vctx;
    for (int64_t b = lo; b < hi; b++) {
        uint32_t r[4];
        philox_block(j->seed, j->offset + (uint64_t)b, r);
        float v[4];
        if (j->normal) {
            for (int pair = 0; pair < 2; pair++) {
                double u1 = unit_open(r[2 * pair]), u2 = unit_open(r[2 * pair + 1]);
                double radius = sqrt(-2.0 * log(u1)), theta = 6.283185307179586 * u2;
                v[2 * pair] = (float)(radius * cos(theta));
                v[2 * pair + 1] = (float)(radius * sin(theta));
            }
        } else {
            for (int k = 0; k < 4; k++) v[k] = (float)((double)(r[k] >> 8) * (1.0 / 16777216.0));
        }
        for (int k = 0; k < 4; k++) {
            int64_t i = b * 4 + k;
            if (i < j->n) j->out[i] = v[k];
        }
    }
}

void reel_philox_normal(uint64_t seed, uint64_t offset, int64_t n, float *out) {
    rng_job j = {seed, offset, out, n, 1};
    reel_parallel_range((n + 3) / 4, 4096, rng_range, &j);
}

void reel_philox_uniform(uint64_t seed, uint64_t offset, int64_t n, float *out) {
    rng_job j = {seed, offset, out, n, 0};
    reel_parallel_range((n + 3) / 4, 4096, rng_range, &j);
}
