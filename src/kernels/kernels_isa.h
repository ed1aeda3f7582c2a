/* Private to kernels/: the ISA-specific entry points behind the dispatchers.
 * Only call an AVX-512 / AVX2 function when kern_isa_supported() says so. */
#ifndef EMB_KERNELS_ISA_H
#define EMB_KERNELS_ISA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The masks of a row's tail, one per vector width: lanes [0, min(n, 8))
 * of an AVX2 8 x 32-bit lane mask (for maskload / maskstore), and lanes
 * [0, min(n, 16)) of an AVX-512 16-lane mask. */
__attribute__((target("avx2"), always_inline)) static inline __m256i kern_lanes8(size_t n)
{
    int c = n > 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline uint16_t kern_lanes16(size_t n)
{
    return (uint16_t)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}
#endif

/* Panels of KERN_PACK_NR columns covering n output columns (the last one
 * zero-padded past n), as kern_pack_nt / kern_pack_nn lay them out. */
static inline size_t kern_pack_panels(size_t n)
{
    return n / KERN_PACK_NR + (n % KERN_PACK_NR != 0);
}

void kern_gemm_packed_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const float *packed, size_t kp, const float *bias, float *y, size_t ldy);

void kern_gelu_avx512(float *x, size_t n);
void kern_silu_mul_avx512(float *gate, const float *up, size_t n);
void kern_softmax_scaled_avx512(float *x, size_t n, float scale);

/* kern_linear's AVX-512 path (gemm_mapped_avx512.c; bf16 != 0 needs
 * kern_bf16_supported()), and the calling thread's scratch of at least
 * `bytes` (64-byte aligned, kept for the thread's next call, freed at thread
 * exit; NULL when it cannot be allocated). */
int kern_linear_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx, const void *w,
                       kern_wtype wt, size_t ldw, int bf16, const float *bias, float *y, size_t ldy);
void *kern_linear_scratch(size_t bytes);
/* Its pieces (gemm_mapped_avx512.c, gemm_mapped_rows_avx512.c): rows
 * [0, rows) of w (row stride ldw_bytes), k values [k0, k0+kc), transposed
 * to dst[k][16·groups] (fp32) or dst[k pair][16·groups] (bf16 pair words),
 * k entries ldd apart, zero past `rows` and past k, prefetching the same
 * range of the next 16·groups rows (pf_rows of them); and the row-lane path
 * for a few rows: its scratch in 32-bit words (0: not for this m, k) and
 * the product itself. */
void kern_pack_cols_f32_avx512(const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                               size_t rows, size_t groups, size_t k0, size_t kc, float *dst,
                               size_t ldd, size_t pf_rows);
void kern_pack_cols_bf16_avx512(const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                size_t rows, size_t groups, size_t k0, size_t kc, uint32_t *dst,
                                size_t ldd, size_t pf_rows);
size_t kern_linear_rows_words(size_t m, size_t k, int bf16);
/* ... and the path for m < KERN_LINEAR_SMALL_M rows (gemm_mapped_small_avx512.c,
 * nothing packed): its scratch words, and the product. */
#define KERN_LINEAR_SMALL_M 3
size_t kern_linear_small_words(size_t m, size_t k, int bf16);
void kern_linear_small_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                              const void *w, kern_wtype wt, size_t ldw_bytes, int bf16,
                              const float *bias, float *y, size_t ldy, void *scratch);
void kern_linear_rows_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const void *w, kern_wtype wt, size_t ldw_bytes, int bf16,
                             const float *bias, float *y, size_t ldy, void *scratch);

/* kern_linear_i8's pieces (gemm_i8.c, gemm_i8_avx512.c): a row's scale and
 * zero point from its range [lo, hi] (finite: the row held no NaN or
 * infinity), returning 0 when the row quantizes to all zeros: zero range,
 * or one so small that (hi - lo) / 255 underflows to 0 (scale 0), or a
 * non-finite row or a range that overflows float (scale NaN). Inline, so
 * both paths compute the same bits with no call (rintf inlines on the
 * AVX-512 path); and the AVX512_VNNI product (needs
 * kern_i8_vnni_supported(), m, n >= 1, k <= KERN_I8_MAX_K; -1 when the
 * scratch cannot be allocated). */
static inline int kern_quant_u8_params(float lo, float hi, int finite, float *scale,
                                       int32_t *zero)
{
    *zero = 0;
    float s = finite ? (hi - lo) / 255.0f : NAN;
    if (!isfinite(s)) {
        *scale = NAN;
        return 0;
    }
    *scale = s;
    if (s == 0.0f)
        return 0;
    float zf = rintf(-lo / s); /* -lo in [0, hi - lo]: a finite value near [0, 255] */
    *zero = zf < 0.0f ? 0 : zf > 255.0f ? 255 : (int32_t)zf;
    return 1;
}
/* (kern_linear_i8 on w [n, k] with row stride ldw when panels is NULL,
 * else kern_linear_i8p on the panels; the same for the AVX2 product; out:
 * NULL or the outlier features, count >= 1, as kern_linear_i8p.) */
int kern_linear_i8_vnni(size_t m, size_t n, size_t k, const float *x, size_t ldx, const int8_t *w,
                        size_t ldw, const uint8_t *panels, const float *ws,
                        const kern_i8_outliers *out, const float *bias, float *y, size_t ldy);
/* kern_linear_i8 / kern_linear_i8p's AVX2 products (gemm_i8_avx2.c; need
 * kern_i8_avx2_supported(), m, n >= 1, k <= KERN_I8_MAX_K; -1 when the
 * scratch cannot be allocated): bitwise the portable path, for CPUs
 * without AVX512_VNNI. */
int kern_i8_avx2_supported(void);
int kern_linear_i8_avx2(size_t m, size_t n, size_t k, const float *x, size_t ldx, const int8_t *w,
                        size_t ldw, const uint8_t *panels, const float *ws,
                        const kern_i8_outliers *out, const float *bias, float *y, size_t ldy);
/* The outlier features' two steps (kern_i8_outliers), shared by every
 * path so that they are the same operations. kern_i8_split_row (gemm_i8.c,
 * portable): xo[t] = x[cols[t]] and xm (k floats) = x with those features
 * set to 0 (a non-finite one left in place), the row the quantizer then
 * reads. kern_i8_outliers_add: y[i, j] += o[i, j] for i < m, j < n, from
 * xo [m, count] (row stride count) and out->w (+ the first column's
 * offset); _ref the plain loops (gemm_i8.c), _avx2 the same operations 8
 * lanes over j (gemm_i8_avx2.c; needs kern_i8_avx2_supported(); the VNNI
 * path uses it too), bitwise equal. */
void kern_i8_split_row(size_t k, const float *x, const kern_i8_outliers *out, float *xm,
                       float *xo);
void kern_i8_outliers_add_ref(size_t m, size_t n, size_t count, const float *xo, const float *w,
                              size_t ldw, float *y, size_t ldy);
void kern_i8_outliers_add_avx2(size_t m, size_t n, size_t count, const float *xo, const float *w,
                               size_t ldw, float *y, size_t ldy);

void kern_gemm_packed_avx2(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                           const float *packed, size_t kp, const float *bias, float *y, size_t ldy);
void kern_gelu_avx2(float *x, size_t n);
void kern_silu_mul_avx2(float *gate, const float *up, size_t n);
void kern_softmax_scaled_avx2(float *x, size_t n, float scale);

void kern_layernorm_row_avx512(size_t d, const float *x, const float *w, const float *b,
                               float eps, float *y);
void kern_rmsnorm_row_avx512(size_t d, const float *x, const float *w, float eps, float *y);

/* The search scores' fast paths (score_avx2.c, score_avx512.c). */
void kern_dot_rows_f32_avx512(const float *q, const float *rows, size_t n, size_t dim, float *out);
void kern_dot_rows_f32_avx2(const float *q, const float *rows, size_t n, size_t dim, float *out);
void kern_dot_rows_i8_avx2(const int8_t *q, const int8_t *rows, size_t n, size_t dim, int32_t *out);
void kern_hamming_rows_avx2(const uint8_t *q, const uint8_t *rows, size_t n, size_t bytes,
                            uint32_t *out);

#endif
