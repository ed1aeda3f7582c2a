/* kernels/ — the numeric building blocks of the forward passes: GEMM,
 * attention, LayerNorm, RMSNorm, RoPE, activations, softmax. fp32 in, fp32
 * out. This header is the folder's only door.
 *
 * Every fast kernel has a plain C reference (`*_ref`) kept beside it and a
 * test (tests/test_kernels.c) comparing the two on random shapes. The fast
 * path is chosen once at run time from rt_cpu_features(): AVX-512F when the
 * CPU has it, else AVX2+FMA, else the portable C path. EMB_CPU=generic (or
 * avx2) in the environment caps the choice (valgrind does not emulate
 * AVX-512; tests run every path explicitly through the *_isa variants).
 *
 * Determinism: no kernel starts threads, and every reduction runs in an order
 * fixed by the shapes alone (GEMM: each output element is one chain over k in
 * a fixed order, never split over k; edge tiles compute the same chain as
 * full tiles). So a result depends only on the inputs and on the ISA path. */
#ifndef EMB_KERNELS_H
#define EMB_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- dispatch */

typedef enum kern_isa {
    KERN_ISA_GENERIC = 0, /* portable C */
    KERN_ISA_AVX512 = 1,  /* AVX-512F (FMA, 16 lanes) */
    KERN_ISA_AVX2 = 2     /* AVX2 + FMA (8 lanes) */
} kern_isa;
#define KERN_ISA_COUNT 3

/* The ISA path used by the dispatching kernels: decided once per process from
 * the CPU features — AVX-512F, else AVX2+FMA, else portable — and EMB_CPU
 * ("generic" or "avx2" caps the choice at that path). */
kern_isa kern_isa_active(void);
/* Whether `isa` can run on this CPU (tests use this to pick variants). */
int kern_isa_supported(kern_isa isa);
const char *kern_isa_name(kern_isa isa);

/* --------------------------------------------------------- search scores */

/* One query against n stored rows (row i at rows + i * dim, or i * bytes),
 * for api/topk.c: out[i] = the float dot product q·row_i (one chain per
 * row); the int32 dot product of int8 codes (exact; dim <= 65536 keeps it
 * within int32); the Hamming distance of packed bits (popcount of q XOR
 * row_i, exact). _ref: the plain loops (the portable path); _isa: one path,
 * for tests; the plain names use kern_isa_active(). A row's score depends
 * only on q, that row and the path. */
void kern_dot_rows_f32(const float *q, const float *rows, size_t n, size_t dim, float *out);
void kern_dot_rows_f32_ref(const float *q, const float *rows, size_t n, size_t dim, float *out);
void kern_dot_rows_f32_isa(kern_isa isa, const float *q, const float *rows, size_t n, size_t dim,
                           float *out);
void kern_dot_rows_i8(const int8_t *q, const int8_t *rows, size_t n, size_t dim, int32_t *out);
void kern_dot_rows_i8_ref(const int8_t *q, const int8_t *rows, size_t n, size_t dim, int32_t *out);
void kern_dot_rows_i8_isa(kern_isa isa, const int8_t *q, const int8_t *rows, size_t n, size_t dim,
                          int32_t *out);
void kern_hamming_rows(const uint8_t *q, const uint8_t *rows, size_t n, size_t bytes,
                       uint32_t *out);
void kern_hamming_rows_ref(const uint8_t *q, const uint8_t *rows, size_t n, size_t bytes,
                           uint32_t *out);
void kern_hamming_rows_isa(kern_isa isa, const uint8_t *q, const uint8_t *rows, size_t n,
                           size_t bytes, uint32_t *out);

/* ----------------------------------------------------------------- GEMM */

/* y[m, n] = x[m, k] · w[n, k]^T (+ bias[n] if bias != NULL): the layout of a
 * torch Linear (w row-major [out, in]). Row strides ldx, ldw, ldy in floats.
 * The plain reference loops (each y element sum_k x[i,k]·w[j,k] accumulated
 * in k order, then + bias) the fast paths are tested against; the models
 * run kern_linear. */
void kern_gemm_nt_ref(size_t m, size_t n, size_t k, const float *x, size_t ldx, const float *w,
                      size_t ldw, const float *bias, float *y, size_t ldy);

/* y[m, n] = x[m, k] · b[k, n] (b row-major): the reference for attention's
 * p·v (the fast path packs b with kern_pack_nn and uses kern_gemm_packed). */
void kern_gemm_nn_ref(size_t m, size_t n, size_t k, const float *x, size_t ldx, const float *b,
                      size_t ldb, float *y, size_t ldy);

/* Packed weights: w [n, k] (torch Linear) rearranged once into panels of
 * KERN_PACK_NR output columns, each [k][KERN_PACK_NR] and zero-padded past n
 * (kern_pack_nt_size(n, k) floats, 0 on overflow; 64-byte alignment is
 * best); kern_pack_nn does the same from b [k, n] row-major (attention's V).
 * kern_gemm_packed computes y[m, n] = x[m, k] · w^T (+ bias) like
 * kern_gemm_nt_ref, reading the first k rows of panels packed with kp >= k rows
 * (kp = k for a whole weight); its portable path is bitwise equal to
 * kern_gemm_nt_ref. */
#define KERN_PACK_NR 32
size_t kern_pack_nt_size(size_t n, size_t k);
void kern_pack_nt(size_t n, size_t k, const float *w, size_t ldw, float *packed);
void kern_pack_nn(size_t k, size_t n, const float *b, size_t ldb, float *packed);
void kern_gemm_packed(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                      const float *packed, size_t kp, const float *bias, float *y, size_t ldy);
void kern_gemm_packed_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                          const float *packed, size_t kp, const float *bias, float *y, size_t ldy);

/* bf16 compute (gemm_bf16.c), the reduced-precision Linear path: w [n, k]
 * rounded to bf16 and packed once (kern_pack_bf16_size(n, k) uint16, 0 on
 * overflow; panels of KERN_PACK_NR columns × ceil(k/2) pairs, so the panel
 * of column j0 (a multiple of KERN_PACK_NR) starts at
 * j0 · 2·ceil(k/2)); kern_gemm_bf16 computes y = x · w^T (+ bias) with x
 * rounded to bf16 (nearest even) and fp32 accumulation, each element one
 * chain over k in a fixed order (AVX512_BF16 vdpbf16ps when
 * kern_bf16_supported(), else the portable kern_gemm_bf16_ref with the same
 * formula, for tests). */
int kern_bf16_supported(void);
uint16_t kern_f32_to_bf16(float f);
size_t kern_pack_bf16_size(size_t n, size_t k);
void kern_pack_bf16(size_t n, size_t k, const float *w, size_t ldw, uint16_t *packed);
void kern_gemm_bf16(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                    const uint16_t *packed, const float *bias, float *y, size_t ldy);
void kern_gemm_bf16_ref(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                        const uint16_t *packed, const float *bias, float *y, size_t ldy);

/* ------------------------------------------ Linear on weights in place */

/* Element type of a weight as the model file stores it. */
typedef enum kern_wtype {
    KERN_W_F32 = 0,
    KERN_W_F16 = 1, /* IEEE half */
    KERN_W_BF16 = 2, /* bfloat16 */
    KERN_W_I8 = 3,   /* int8 with a scale per row: only Linear weights, run by
                        kern_linear_i8 (kern_widen and kern_linear refuse it) */
    KERN_W_I32 = 4   /* int32: never a weight, only an int8 weight's outlier
                        column indices (kern_i8_outliers; kern_linear
                        refuses it) */
} kern_wtype;
/* Bytes per element of `wt` (4, 2 or 1). */
size_t kern_wtype_size(kern_wtype wt);

/* dst[i] = src[i] widened to fp32, exactly (f16 subnormals included; a NaN
 * stays a NaN), for i < n: embedding rows of a 16-bit model read in place.
 * KERN_W_I8 gives the raw integers (the row's scale is not applied),
 * KERN_W_I32 the integers rounded to float. */
void kern_widen(const void *src, kern_wtype wt, size_t n, float *dst);

/* y[m, n] = x[m, k] · w[n, k]^T (+ bias[n]) with w read IN PLACE in its
 * stored type (row-major [n, k] as torch Linear, row stride ldw elements,
 * typically a mapped file: never copied whole, nothing kept between calls).
 * On the AVX-512 path, by rows: above 48, each call packs k-blocks of w's
 * panels into per-thread scratch and runs the packed tiles on them; 8-48
 * rows run with x's rows as the vector lanes (w read in place when already
 * in the compute type at the models' row widths, else only widened); 1-2
 * rows read w's rows straight into the FMAs; 3-7 pack one panel slice at a
 * time.
 * AVX2 and portable: groups of panels packed, then kern_gemm_packed. The
 * per-thread scratch (at most ~1 MiB) is kept for the next call and freed
 * at thread exit.
 * bf16 = 0: fp32 math, f16/bf16 weights widened exactly; bitwise equal to
 * kern_gemm_packed_isa(isa, …) on kern_pack_nt of the widened weights.
 * bf16 = 1: x and w rounded to bf16 (nearest even), fp32 accumulation;
 * bitwise equal to kern_gemm_bf16 on kern_pack_bf16 of the widened weights
 * (portable reference when !kern_bf16_supported()).
 * A call on the columns [j0, j0+cols) with j0 a multiple of KERN_PACK_NR
 * (w, bias, y advanced by j0 rows / elements / columns) computes the same
 * numbers as those columns of the whole product, and no element depends on
 * m or on the other rows: the thread split and the batch never change a
 * result. y must not overlap x or w. Returns 0, or -1 when the thread's
 * scratch cannot be allocated or wt is KERN_W_I8 (kern_linear_i8 runs int8
 * weights) or KERN_W_I32 (y then holds no defined result). */
int kern_linear(size_t m, size_t n, size_t k, const float *x, size_t ldx, const void *w,
                kern_wtype wt, size_t ldw, int bf16, const float *bias, float *y, size_t ldy);
int kern_linear_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                    const void *w, kern_wtype wt, size_t ldw, int bf16, const float *bias,
                    float *y, size_t ldy);

/* ----------------------------------- int8 weights (AVX512_VNNI, AVX2) */

/* Linear over int8 weights with per-output-channel scales (a model file
 * written by `emb convert --dtype int8`): w [n, k] int8 in [-127, 127], row
 * stride ldw bytes, read in place; ws[n] >= 0 the scale of each row (the
 * real weight is ws[j] · w[j, :]).
 *
 * Each row i of x is quantized on the fly to u8 as ONNX Runtime's
 * DynamicQuantizeLinear does (kern_quant_u8_row):
 *   lo = min(0, min_k x[i,k]), hi = max(0, max_k x[i,k]),
 *   s_i = (hi - lo) / 255,  z_i = clamp(round(-lo / s_i), 0, 255),
 *   u[i,k] = clamp(round(x[i,k] / s_i) + z_i, 0, 255)
 * (float division, round half to even; a row of zeros, or one whose
 * (hi - lo) / 255 underflows to 0, gives s_i = 0, z_i = 0, u = 0; a row
 * holding a NaN or an infinity, or whose hi - lo overflows float, gives
 * s_i = NaN, z_i = 0, u = 0). Then
 *   acc[i,j] = Σ_k u[i,k]·w[j,k] − z_i·Σ_k w[j,k]    (exact, int32)
 *   y[i,j]   = (float)acc[i,j] · (s_i · ws[j])  (+ bias[j], a separate add)
 * Integer sums are exact, so every path (AVX512_VNNI vpdpbusd, AVX2
 * vpmaddwd on values widened to 16 bits, portable C)
 * gives bitwise the same y, whatever the blocking, the thread split over
 * columns, the batch or the row's position. k <= KERN_I8_MAX_K keeps every
 * sum inside int32 (even with -128 weights). A row of x holding a NaN or an
 * infinity gives NaN in that row of y (no undefined conversion). y must
 * not overlap x or w.
 * Returns 0, or -1 when the thread's scratch cannot be allocated or k is too
 * large (y then holds no defined result). */
#define KERN_I8_MAX_K ((size_t)1 << 16)
void kern_quant_u8_row(size_t k, const float *x, uint8_t *u, float *scale, int32_t *zero);
int kern_linear_i8(size_t m, size_t n, size_t k, const float *x, size_t ldx, const int8_t *w,
                   size_t ldw, const float *ws, const float *bias, float *y, size_t ldy);
/* The same on a given path: KERN_ISA_AVX512 runs the VNNI kernel when the
 * CPU has AVX512F, BW, VL and VNNI (kern_i8_vnni_supported()); KERN_ISA_AVX2,
 * or KERN_ISA_AVX512 without VNNI, runs the AVX2 kernel when the CPU has
 * AVX2; every other case the portable C loops. All bitwise equal. */
int kern_i8_vnni_supported(void);
int kern_linear_i8_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                       const int8_t *w, size_t ldw, const float *ws, const float *bias, float *y,
                       size_t ldy);
/* The converter's weight quantizer, symmetric per row: s = max|w| / 127,
 * q[k] = round(w[k] / s) (half to even, in [-127, 127]); a zero row, or one
 * whose max|w| / 127 underflows to 0, gives s = 0, q = 0. Returns -1 (q, s unset) when the row holds a NaN or an
 * infinity, else 0. */
int kern_quant_i8_row(size_t k, const float *w, int8_t *q, float *scale);

/* Pre-packed int8 weights: the layout the VNNI kernel packs w into on every
 * kern_linear_i8 call, computed once (by the converter) so the product can
 * read it in place. Panel p holds columns 32p..32p+31 of w [n, k] as
 * kq = ceil(k/4) groups of 32 dwords: byte
 *   p·kq·128 + q·128 + 4·c + b  =  w[32p + c, 4q + b]
 * (zero past n and past k); panel p starts at byte p·kq·128.
 * kern_i8_panels_size: the bytes for n, k (ceil(n/32)·32 · kq·4), 0 when
 * that overflows size_t (or n or k is 0). kern_pack_i8_panels: w (row
 * stride ldw bytes) to dst (kern_i8_panels_size(n, k) bytes, any
 * alignment; portable C, for the converter). */
size_t kern_i8_panels_size(size_t n, size_t k);
void kern_pack_i8_panels(size_t n, size_t k, const int8_t *w, size_t ldw, uint8_t *dst);
/* Outlier input features of an int8 Linear (format 1.2; LLM.int8()'s
 * decomposition, Dettmers et al. 2022): a few features of x — those whose
 * magnitude the converter saw largest on its calibration texts — would
 * stretch each row's u8 scale and drown the other features in rounding
 * noise, so they are taken out of the int8 product and multiplied in fp32
 * by their own weight columns:
 *   x'[i,:]  = x[i,:] with the features cols[0..count) set to 0 (a feature
 *              that is not finite stays, so that row gives NaN as any
 *              non-finite row does), quantized and multiplied as above
 *              (the int8 weights' columns cols[] are then never used: 0
 *              quantizes exactly to the zero point);
 *   o[i,j]   = x[i,c0]·w[0·ldw + j] + x[i,c1]·w[1·ldw + j] + … in the order
 *              of t (a product, then one rounded add per further t; no
 *              FMA), c_t = cols[t];
 *   y[i,j]   = (the int8 result of x', bias included) + o[i,j].
 * cols: count distinct indices in [0, k); w: [count, ldw] f32, row t the
 * weight column of feature cols[t] over the outputs (row-wise, so the
 * vector paths read it lane by lane over j; columns [j0, j0 + n) of a
 * larger product: w + j0, ldw unchanged). Every path performs these same
 * float operations per element, so they stay bitwise equal. */
#define KERN_I8_MAX_OUTLIERS 256
typedef struct kern_i8_outliers {
    size_t count;         /* features taken out (0: none) */
    const int32_t *cols;  /* [count] */
    const float *w;       /* [count, ldw] */
    size_t ldw;           /* >= the columns computed */
} kern_i8_outliers;

/* kern_linear_i8 on pre-packed weights: bitwise the y of kern_linear_i8 on
 * the w that `panels` was packed from (kern_pack_i8_panels(n', k, w, ...)
 * with n' >= n), read in place (any alignment; no copy), ws, bias, y as
 * there; panels holds at least ceil(n/32) panels (the AVX-512 path may
 * prefetch, never read, past them). out: NULL (or count 0) for none, else
 * the outlier features above. Columns [j0, j0 + n) of a larger
 * product, j0 a multiple of 32: panels + (j0/32)·ceil(k/4)·128, ws + j0,
 * bias + j0, out->w + j0, y + j0. Returns 0, or -1 when the thread's
 * scratch cannot be allocated, k > KERN_I8_MAX_K or out->count >
 * min(k, KERN_I8_MAX_OUTLIERS). _isa: on a given path, as
 * kern_linear_i8_isa. */
int kern_linear_i8p(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                    const uint8_t *panels, const float *ws, const kern_i8_outliers *out,
                    const float *bias, float *y, size_t ldy);
int kern_linear_i8p_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                        const uint8_t *panels, const float *ws, const kern_i8_outliers *out,
                        const float *bias, float *y, size_t ldy);

/* ------------------------------------------------------------ attention */

/* Rows of queries handled per block: the score scratch is
 * [KERN_ATTN_ROWS, n] floats, never [n, n]. */
#define KERN_ATTN_ROWS 64

/* Floats of scratch kern_attention_head needs for n tokens and head size hd
 * (0 on overflow). */
size_t kern_attention_scratch(size_t n, size_t hd);

/* One head of scaled dot-product attention over one sequence, as HF eager
 * attention: out = softmax(q·k^T · scale [+ causal mask]) · v, for the query
 * rows q0 .. q0+nq-1 against all n keys (a pooled model's last layer needs
 * only its pooled rows). q, k, v, out: [n, hd] with row strides ldq, ldk,
 * ldv, ldo (they may be columns of wider [n, heads·hd] buffers); q and out
 * point at row 0. causal: row i sees keys 0..i.
 * scratch: kern_attention_scratch(n, hd) floats. */
void kern_attention_head(size_t n, size_t q0, size_t nq, size_t hd, const float *q, size_t ldq,
                         const float *k, size_t ldk, const float *v, size_t ldv, float *out,
                         size_t ldo, float scale, int causal, float *scratch);
/* kern_attention_head (no causal mask) with an additive relative-position
 * bias, as MPNet: scores[i, j] = q_i·k_j · scale + rel[n - 1 + j - i] before
 * the softmax; rel [2n - 1] holds the head's bias for offsets j - i from
 * -(n - 1) to n - 1. Same scratch as kern_attention_head. */
void kern_attention_head_rel(size_t n, size_t q0, size_t nq, size_t hd, const float *q,
                             size_t ldq, const float *k, size_t ldk, const float *v, size_t ldv,
                             float *out, size_t ldo, float scale, const float *rel, float *scratch);
#define KERN_ATTN_NO_WINDOW ((size_t)-1)
/* kern_attention_head in two steps, so query heads sharing a key/value head
 * (GQA) pack it once: kern_attention_pack stores k and v [n, hd] in scratch,
 * kern_attention_rows runs query rows q0 .. q0+nq-1 against them. */
void kern_attention_pack(size_t n, size_t hd, const float *k, size_t ldk, const float *v,
                         size_t ldv, float *scratch);
void kern_attention_rows(size_t n, size_t q0, size_t nq, size_t hd, const float *q, size_t ldq,
                         float *out, size_t ldo, float scale, int causal, float *scratch);
/* kern_attention_rows within a sliding window: query i sees key j only when
 * |i - j| < reach (and j <= i when causal); reach 0: no window. As HF's
 * sliding-window masks (Gemma3: reach = sliding_window // 2 + 1 when
 * bidirectional, sliding_window when causal; ModernBERT's local layers:
 * reach = local_attention // 2 + 1). Query rows compute only the keys they
 * can see (linear in n). */
void kern_attention_rows_window(size_t n, size_t q0, size_t nq, size_t hd, const float *q,
                                size_t ldq, float *out, size_t ldo, float scale, int causal,
                                size_t reach, float *scratch);
/* The same with the reference kernels (one full [n, n] score matrix in
 * `scores`, n*n floats). */
void kern_attention_head_ref(size_t n, size_t hd, const float *q, size_t ldq, const float *k,
                             size_t ldk, const float *v, size_t ldv, float *out, size_t ldo,
                             float scale, int causal, float *scores);
void kern_attention_head_rel_ref(size_t n, size_t hd, const float *q, size_t ldq, const float *k,
                                 size_t ldk, const float *v, size_t ldv, float *out, size_t ldo,
                                 float scale, const float *rel, float *scores);
void kern_attention_head_window_ref(size_t n, size_t hd, const float *q, size_t ldq,
                                    const float *k, size_t ldk, const float *v, size_t ldv,
                                    float *out, size_t ldo, float scale, int causal, size_t reach,
                                    float *scores);

/* In place row softmax of x[n] (max-subtracted, as torch.softmax). */
void kern_softmax(float *x, size_t n);
/* In place softmax(x · scale) (attention's scaled scores). */
void kern_softmax_scaled(float *x, size_t n, float scale);
void kern_softmax_scaled_ref(float *x, size_t n, float scale);
void kern_softmax_scaled_isa(kern_isa isa, float *x, size_t n, float scale);

/* ---------------------------------------------------------------- norms */

/* y[d] = (x - mean) / sqrt(var + eps) * w + b per row, as torch LayerNorm
 * (biased variance); rows of x and y with strides ldx, ldy; y may equal x. */
void kern_layernorm(size_t rows, size_t d, const float *x, size_t ldx, const float *w,
                    const float *b, float eps, float *y, size_t ldy);

/* y = x · rsqrt(mean(x²) + eps) · w per row, as HF LlamaRMSNorm; y may equal x. */
void kern_rmsnorm(size_t rows, size_t d, const float *x, size_t ldx, const float *w, float eps,
                  float *y, size_t ldy);
/* The same on a given path; every path gives bitwise the same numbers
 * (statistics in 8 double lanes, same float formula). */
void kern_layernorm_isa(kern_isa isa, size_t rows, size_t d, const float *x, size_t ldx,
                        const float *w, const float *b, float eps, float *y, size_t ldy);
void kern_rmsnorm_isa(kern_isa isa, size_t rows, size_t d, const float *x, size_t ldx,
                      const float *w, float eps, float *y, size_t ldy);

/* ---------------------------------------------------------- activations */

/* x = gelu(x) = 0.5·x·(1 + erf(x/√2)) (exact, as torch.nn.functional.gelu). */
void kern_gelu(float *x, size_t n);
void kern_gelu_ref(float *x, size_t n);
void kern_gelu_isa(kern_isa isa, float *x, size_t n);
/* x = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (HF "gelu_new"). */
void kern_gelu_tanh(float *x, size_t n);
void kern_relu(float *x, size_t n);
/* gate = silu(gate) · up = gate / (1 + exp(-gate)) · up (SwiGLU). */
void kern_silu_mul(float *gate, const float *up, size_t n);
void kern_silu_mul_ref(float *gate, const float *up, size_t n);
void kern_silu_mul_isa(kern_isa isa, float *gate, const float *up, size_t n);

/* ----------------------------------------------------------------- RoPE */

/* cos/sin tables for positions pos0 .. pos0+n-1 and head size hd (even), as
 * HF default rotary embedding: inv_freq[i] = 1 / theta^(2i/hd) (float),
 * angle = pos · inv_freq[i] (float). cos, sin: [n, hd/2]. */
void kern_rope_table(size_t n, size_t hd, double theta, float *cos_t, float *sin_t);
/* The same from given inverse frequencies inv_freq[half], cos and sin times
 * `scale` (transformers' attention_scaling; 1 leaves them exact). */
void kern_rope_table_freqs(size_t n, size_t half, const float *inv_freq, float scale,
                           float *cos_t, float *sin_t);

/* kern_rope_table with Alibaba's fixed NTK scaling (NewModel's
 * NTKScalingRotaryEmbedding, rope_scaling type ntk): inv_freq[i] =
 * 1 / (theta·factor)^(2i/hd) / factor^(2/hd) (float; the last divisor
 * computed in double, as Python does, then rounded to float). */
void kern_rope_table_ntk(size_t n, size_t hd, double theta, double factor, float *cos_t,
                         float *sin_t);

/* Rotate `heads` heads of x in place (x: [n, heads·hd] row stride ldx, head
 * h at columns h·hd), HF rotate_half convention:
 * x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin (x1, x2 = the two halves). */
void kern_rope_apply(size_t n, size_t heads, size_t hd, float *x, size_t ldx,
                     const float *cos_t, const float *sin_t);

#endif
