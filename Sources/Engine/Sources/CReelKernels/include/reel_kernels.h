// reel's compute kernels: the loops the Swift engine (ReelEngine) hands its
// heavy work to. Everything here works on fp32 buffers laid out as described
// per function; shapes and strides are counted in elements, not bytes.
//
// Threads: one process-wide pool (pool.c). OpenBLAS is kept single-threaded and
// every large GEMM is split across the pool instead, so exactly one set of
// worker threads exists per process and nothing oversubscribes the cores.
#ifndef REEL_KERNELS_H
#define REEL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: threads -------------------------------------------------------------

typedef void (*reel_task_fn)(void *ctx, int64_t index);

/// Starts the pool with `threads` workers in all (the calling thread counts as
/// one). `threads <= 0` means one per core. Later calls resize the pool.
void reel_pool_init(int threads);
int reel_pool_threads(void);
/// Runs fn(ctx, i) for every i in [0, n), spread over the pool; returns when all
/// are done. Called from inside a task it runs the loop on the calling thread.
void reel_parallel_for(int64_t n, reel_task_fn fn, void *ctx);
int reel_in_parallel_region(void);
int reel_cpu_cores(void);

// MARK: memory --------------------------------------------------------------

/// 64-byte aligned, counted in reel_live_bytes / reel_peak_bytes.
float *reel_alloc_floats(int64_t count);
void reel_free_floats(float *p, int64_t count);
int64_t reel_live_bytes(void);
int64_t reel_peak_bytes(void);
void reel_reset_peak_bytes(void);
/// Freed buffers of 1 MiB and more are kept for reuse (at most 384 MiB): bytes held now,
/// and a call that returns them all to the system (when a job or model goes away).
int64_t reel_cached_bytes(void);
void reel_release_cached_memory(void);

// MARK: cpu features --------------------------------------------------------

int reel_cpu_has_avx512(void);
int reel_cpu_has_avx512bf16(void);

// MARK: OpenBLAS kernels (blas.c) --------------------------------------------

/// OpenBLAS's kernel table in use ("Cooperlake", "SkylakeX", "Haswell", ...).
const char *reel_blas_core(void);
/// $OPENBLAS_CORETYPE when the environment forces a table, else NULL.
const char *reel_blas_core_from_environment(void);
/// 1 when that table uses AVX-512.
int reel_blas_core_is_avx512(void);

// MARK: dtype conversion ----------------------------------------------------

void reel_bf16_to_f32(int64_t n, float *out, const uint16_t *in);
void reel_f16_to_f32(int64_t n, float *out, const uint16_t *in);
void reel_f32_to_bf16(int64_t n, uint16_t *out, const float *in);
void reel_f32_to_f16(int64_t n, uint16_t *out, const float *in);

// MARK: GEMM (row-major, over OpenBLAS, split across the pool) ---------------

void reel_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb,
                float beta, float *C, int64_t ldc);
void reel_sgemm_batched(int64_t batch, int transA, int transB, int64_t m, int64_t n, int64_t k,
                        float alpha, const float *A, int64_t lda, int64_t strideA,
                        const float *B, int64_t ldb, int64_t strideB,
                        float beta, float *C, int64_t ldc, int64_t strideC);
/// Adds bias[n] to every row of C[m, n] (row stride ldc), then optionally applies an
/// activation (REEL_UNARY_* or -1 for none).
void reel_add_bias_rows(int64_t m, int64_t n, float *C, int64_t ldc, const float *bias, int activation);

// MARK: bf16 GEMM (AVX512-BF16) -----------------------------------------------

/// Weights [n, k] rounded to bf16 and packed for the bf16 kernel (opaque).
typedef struct reel_bf16_weight reel_bf16_weight;
/// True when the cpu has AVX512-BF16 (reel_bf16_linear may be called).
int reel_bf16_gemm_available(void);
reel_bf16_weight *reel_bf16_pack_weight(int64_t n, int64_t k, const float *w, int64_t ldw);
void reel_bf16_free_weight(reel_bf16_weight *w);
int64_t reel_bf16_weight_bytes(const reel_bf16_weight *w);
/// out[m, n] = bf16(x[m, k]) · bf16(w)ᵀ, accumulated in fp32.
void reel_bf16_linear(int64_t m, const float *x, int64_t ldx, const reel_bf16_weight *w, float *out, int64_t ldo);
/// A convolution weight [cout, k = cin/groups * kernel] rounded and packed for the bf16 kernel (opaque).
typedef struct reel_bf16_conv_weight reel_bf16_conv_weight;
reel_bf16_conv_weight *reel_bf16_pack_conv_weight(int64_t cout, int64_t k, const float *w);
void reel_bf16_free_conv_weight(reel_bf16_conv_weight *w);
/// reel_conv_nd on the bf16 kernel; w[g] is group g's packed weight.
void reel_conv_nd_bf16(int sd, int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                       const int64_t *in, const int64_t *k, const int64_t *stride, const int64_t *dilation,
                       const int64_t *outsz, const float *x, reel_bf16_conv_weight *const *w, const float *bias, float *out);

// MARK: copies --------------------------------------------------------------

/// out (contiguous, `ndim` dims of `shape`) = x read through `strides`.
void reel_copy_strided(int ndim, const int64_t *shape, float *out, const float *x, const int64_t *strides);
void reel_fill(int64_t n, float *out, float value);

// MARK: elementwise ---------------------------------------------------------

enum {
    REEL_BIN_ADD = 0, REEL_BIN_SUB, REEL_BIN_MUL, REEL_BIN_DIV, REEL_BIN_MAX, REEL_BIN_MIN, REEL_BIN_POW,
};
/// out (contiguous) = a op b, with a and b read through strides (0 = broadcast).
void reel_binary(int op, int ndim, const int64_t *shape, float *out,
                 const float *a, const int64_t *astrides, const float *b, const int64_t *bstrides);

enum {
    REEL_UNARY_NEG = 0, REEL_UNARY_EXP, REEL_UNARY_LOG, REEL_UNARY_SQRT, REEL_UNARY_RSQRT, REEL_UNARY_ABS,
    REEL_UNARY_TANH, REEL_UNARY_SIGMOID, REEL_UNARY_SILU, REEL_UNARY_GELU_ERF, REEL_UNARY_GELU_TANH,
    REEL_UNARY_RELU, REEL_UNARY_SIN, REEL_UNARY_COS, REEL_UNARY_SQUARE, REEL_UNARY_RECIPROCAL,
};
void reel_unary(int op, int64_t n, float *out, const float *x);
/// out = x * scale + shift (scalars).
void reel_affine(int64_t n, float *out, const float *x, float scale, float shift);
void reel_clamp(int64_t n, float *out, const float *x, float lo, float hi);
/// out = x >= 0 ? x : x * slope
void reel_leaky_relu(int64_t n, float *out, const float *x, float slope);
/// x is [outer, channels, inner]; alpha has `nalpha` entries (1 or channels).
void reel_prelu(int64_t outer, int64_t channels, int64_t inner, float *out, const float *x,
                const float *alpha, int64_t nalpha);

// MARK: reductions ----------------------------------------------------------

enum { REEL_RED_SUM = 0, REEL_RED_MEAN, REEL_RED_MAX, REEL_RED_MIN };
/// x is [outer, len, inner] contiguous; out is [outer, inner].
void reel_reduce(int op, int64_t outer, int64_t len, int64_t inner, float *out, const float *x);
/// Softmax over the last dimension of x[rows, n].
void reel_softmax_rows(int64_t rows, int64_t n, float *out, const float *x);
void reel_log_softmax_rows(int64_t rows, int64_t n, float *out, const float *x);

// MARK: normalisation -------------------------------------------------------

/// Over the last dimension of x[rows, n]. gamma/beta may be NULL.
void reel_layer_norm(int64_t rows, int64_t n, float *out, const float *x,
                     const float *gamma, const float *beta, float eps);
/// LayerNorm without affine, then out = norm * (1 + scale) + shift where scale and
/// shift are [groups, n] and row r uses group r / rowsPerGroup (AdaLN modulation).
void reel_layer_norm_modulate(int64_t rows, int64_t n, float *out, const float *x,
                              const float *scale, const float *shift, int64_t rowsPerGroup, float eps);
void reel_rms_norm(int64_t rows, int64_t n, float *out, const float *x, const float *gamma, float eps);
/// x is [batch, channels, spatial]; gamma/beta are [channels] or NULL.
void reel_group_norm(int64_t batch, int64_t channels, int64_t spatial, int64_t groups,
                     float *out, const float *x, const float *gamma, const float *beta, float eps);

// MARK: attention -----------------------------------------------------------

typedef struct {
    int64_t batch, heads, lq, lk, d, dv;
    /// Strides (elements) for batch, head and row; the last dimension is contiguous.
    const float *q; int64_t q_sb, q_sh, q_sl;
    const float *k; int64_t k_sb, k_sh, k_sl;
    const float *v; int64_t v_sb, v_sh, v_sl;
    float *o;       int64_t o_sb, o_sh, o_sl;
    /// Additive mask [.., lq, lk] read through strides (0 broadcasts); last dim contiguous. May be NULL.
    const float *mask; int64_t m_sb, m_sh, m_sl;
    float scale;
    int causal;
    /// When non-NULL and nonzero (set from another thread), tasks not yet started return at once and the
    /// output is incomplete: the caller must discard it (a job's cancellation, `EngineInterrupt`).
    const volatile int *interrupt;
} reel_attention_args;
/// softmax(q k^T * scale + mask) v, tiled with an online softmax: the full
/// [lq, lk] score matrix never exists. Rows whose keys are all masked give 0.
void reel_attention(const reel_attention_args *args);

/// Rotary embedding on x[batch, seq, heads, d] (strides given, last dim contiguous),
/// cos/sin are [seq, d]. interleaved: pairs (2i, 2i+1) rotate (Wan, GPT-J);
/// otherwise halves (i, i + d/2) rotate (GPT-NeoX, Llama).
void reel_rope(int64_t batch, int64_t seq, int64_t heads, int64_t d,
               float *out, const float *x, int64_t sb, int64_t ss, int64_t sh,
               const float *cos, const float *sin, int interleaved);

// MARK: convolution ---------------------------------------------------------

enum { REEL_PAD_ZERO = 0, REEL_PAD_REPLICATE, REEL_PAD_REFLECT };
/// Pads the trailing `sd` (1...3) spatial dims of x[outer, in...] by lo/hi per dim.
void reel_pad(int64_t outer, int sd, const int64_t *in, const int64_t *lo, const int64_t *hi,
              int mode, float *out, const float *x);

/// N-d convolution (sd = 1...3 spatial dims) of an already padded input
/// x[batch, cin, in...] with w[cout, cin/groups, k...] into out[batch, cout, out...].
void reel_conv_nd(int sd, int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                  const int64_t *in, const int64_t *k, const int64_t *stride, const int64_t *dilation,
                  const int64_t *outsz, const float *x, const float *w, const float *bias, float *out);

/// 3x3 stride-1 convolution by Winograd F(4x4, 3x3) (winograd.c), for CPUs with
/// AVX-512 (reel_winograd_available). Weights w[cout][cin][3][3] (PyTorch) are
/// transformed once; channel counts round up to multiples of 16 (zero padding).
typedef struct reel_winograd_weight reel_winograd_weight;
int reel_winograd_available(void);
/// Whether reel_conv_nd uses it for NCHW 3x3 convolutions (default on; the
/// environment variable REEL_WINOGRAD=0 turns it off, as does reel_set_winograd(0)).
int reel_winograd_enabled(void);
void reel_set_winograd(int enabled);
/// w[cout][cin][kt][3][3]: kt = 1 for conv2d, the temporal taps for a (kt, 3, 3) conv3d.
reel_winograd_weight *reel_winograd_pack(int64_t cout, int64_t cin, int64_t kt, const float *w);
void reel_winograd_free(reel_winograd_weight *w);
/// The rounded channel counts: the NHWC input must have exactly reel_winograd_cin
/// channels, the output gets reel_winograd_cout.
int64_t reel_winograd_cin(const reel_winograd_weight *w);
int64_t reel_winograd_cout(const reel_winograd_weight *w);
/// x[batch][h][w][cin] (NHWC) with implicit zero padding pad_top/pad_left (and
/// whatever the output size needs at the bottom/right) into out[batch][oh][ow][cout];
/// bias[cout] and a per-channel PReLU slope are fused (either may be NULL).
void reel_conv3x3_nhwc(int64_t batch, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left, int64_t oh,
                       int64_t ow, const float *x, const reel_winograd_weight *u, const float *bias,
                       const float *prelu_slope, float *out);
/// x[batch][frames][h][w][cin] → out[batch][frames - kt + 1][oh][ow][cout]: a (kt, 3, 3)
/// conv3d, stride 1, over frames already padded in time (Wan's causal convs).
void reel_conv3x3_nthwc(int64_t batch, int64_t frames, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left,
                        int64_t oh, int64_t ow, const float *x, const reel_winograd_weight *u, const float *bias,
                        const float *prelu_slope, float *out);
/// Both over NCHW / NCTHW tensors (an already padded input, as reel_conv_nd takes
/// it; tin input frames and kt taps, 1 and 1 for conv2d).
/// Returns 0 without doing anything when it does not apply (no AVX-512, channels
/// not multiples of 16, out of memory); reel_conv_nd then lowers to GEMM.
int reel_conv3x3_winograd_nchw(int64_t batch, int64_t cin, int64_t cout, int64_t tin, int64_t kt, int64_t ih,
                               int64_t iw, int64_t oh, int64_t ow, const float *x, const float *w, const float *bias,
                               float *out);
/// Layout changes, per batch item: [b][c][hw] <-> [b][hw][c].
void reel_nchw_to_nhwc(int64_t batch, int64_t c, int64_t hw, const float *x, float *out);
void reel_nhwc_to_nchw(int64_t batch, int64_t c, int64_t hw, const float *x, float *out);

/// Transposed 2-d convolution: x[batch, cin, h, w], w[cin, cout/groups, kh, kw]
/// (PyTorch's layout), out[batch, cout, oh, ow] with oh = (h-1)*s - 2p + d*(k-1) + outpad + 1.
void reel_conv_transpose2d(int64_t batch, int64_t cin, int64_t cout, int64_t groups,
                           int64_t h, int64_t w, int64_t kh, int64_t kw,
                           int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                           int64_t oh, int64_t ow, const float *x, const float *weight,
                           const float *bias, float *out);

// MARK: resampling ----------------------------------------------------------

enum { REEL_RESAMPLE_NEAREST = 0, REEL_RESAMPLE_NEAREST_EXACT, REEL_RESAMPLE_BILINEAR, REEL_RESAMPLE_BICUBIC };
/// x[planes, h, w] -> out[planes, oh, ow]. scale_h/scale_w: input pixels per output
/// pixel as PyTorch computes them (used when !align_corners).
void reel_resize2d(int mode, int align_corners, int64_t planes, int64_t h, int64_t w,
                   int64_t oh, int64_t ow, float scale_h, float scale_w, float *out, const float *x);
/// Bilinear grid_sample: x[n, c, h, w], grid[n, oh, ow, 2] (x, y in [-1, 1]),
/// padding 0 = zeros, 1 = border.
void reel_grid_sample2d(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                        float *out, const float *x, const float *grid, int align_corners, int padding);

// MARK: random --------------------------------------------------------------

/// Standard normal samples: Philox4x32-10 keyed by `seed`, counter starting at
/// `offset` (in blocks of four outputs), mapped through Box-Muller.
void reel_philox_normal(uint64_t seed, uint64_t offset, int64_t n, float *out);
void reel_philox_uniform(uint64_t seed, uint64_t offset, int64_t n, float *out);
/// One raw Philox4x32-10 block (for known-answer tests).
void reel_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#ifdef __cplusplus
}
#endif
#endif
