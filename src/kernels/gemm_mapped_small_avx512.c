/* kern_linear for fewer than KERN_LINEAR_SMALL_M rows (AVX-512,
 * gemm_mapped_avx512.c chooses it; with 3 rows or more packing the slices
 * measured faster): the weights are the whole traffic, so nothing is
 * packed. 16 weight rows at a time are read 16 k values wide
 * (widened, or 32 k values rounded to bf16 pairs), turned by one 16×16
 * transpose into 16 vectors of the 16 columns, and each vector meets the
 * rows' broadcast x right away: c = fma(x, w, c) per k in order (vdpbf16ps
 * per k pair, x pair first) — the packed tiles' chain, with the
 * accumulators in registers over the whole k, then + bias. The next 16 rows
 * are prefetched to L2 at the same k while these are read. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "kernels/gemm_tile_avx512.h"

#if defined(__x86_64__) || defined(__i386__)

#define TARGET_AVX512 __attribute__((target("avx512f")))
#define TARGET_BF16 __attribute__((target("avx512f,avx512bf16")))
#define INLINE inline __attribute__((always_inline))
#define SMALL_M KERN_LINEAR_SMALL_M

/* Prefetch (to L2) the line at p + ahead when this is one of the next
 * rows that exist. */
static INLINE void prefetch_row(const unsigned char *p, size_t ahead, int exists)
{
    if (exists)
        _mm_prefetch((const char *)(p + ahead), _MM_HINT_T1);
}

/* y rows [0, M), columns [0, cols) (cols <= 16) from the accumulators. */
TARGET_AVX512 static INLINE void small_store(const int M, const __m512 *acc, size_t cols,
                                             const float *bias, float *y, size_t ldy)
{
    __mmask16 cm = kern_mask_lo(cols);
    __m512 b = bias ? _mm512_maskz_loadu_ps(cm, bias) : _mm512_setzero_ps();
    for (int i = 0; i < M; i++)
        _mm512_mask_storeu_ps(y + (size_t)i * ldy, cm, bias ? _mm512_add_ps(acc[i], b) : acc[i]);
}

/* fp32: y[0..M, 0..cols) from w rows [0, cols) (row stride ldw_bytes) and
 * x rows [0, M); next_rows of the following 16 rows are prefetched. */
TARGET_AVX512 static INLINE void small_f32(const int M, size_t k, const float *x, size_t ldx,
                                           const unsigned char *w, const kern_wtype wt,
                                           size_t ldw_bytes, size_t cols, size_t next_rows,
                                           const float *bias, float *y, size_t ldy)
{
    const size_t esz = wt == KERN_W_F32 ? 4 : 2, ahead = 16 * ldw_bytes;
    __m512 acc[SMALL_M];
    for (int i = 0; i < M; i++)
        acc[i] = _mm512_setzero_ps();
    for (size_t kb = 0; kb < k; kb += 16) {
        size_t nv = k - kb < 16 ? k - kb : 16;
        __m512 r[16];
#pragma GCC unroll 16
        for (size_t j = 0; j < 16; j++) {
            const unsigned char *p = w + j * ldw_bytes + kb * esz;
            prefetch_row(p, ahead, j < next_rows);
            r[j] = j < cols ? kern_load_f32(p, wt, nv) : _mm512_setzero_ps();
        }
        kern_transpose16(r);
        const float *xk = x + kb;
        if (nv == 16) {
#pragma GCC unroll 16
            for (int t = 0; t < 16; t++)
                for (int i = 0; i < M; i++)
                    acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(xk[(size_t)i * ldx + (size_t)t]), r[t],
                                             acc[i]);
        } else {
            for (size_t t = 0; t < nv; t++)
                for (int i = 0; i < M; i++)
                    acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(xk[(size_t)i * ldx + t]), r[t], acc[i]);
        }
    }
    small_store(M, acc, cols, bias, y, ldy);
}

/* bf16: the same with x as bf16 pair words xp [M][pairs] and w rounded to
 * pairs 32 k values at a time. */
TARGET_BF16 static INLINE void small_bf16(const int M, size_t k, const uint32_t *xp, size_t pairs,
                                          const unsigned char *w, const kern_wtype wt,
                                          size_t ldw_bytes, size_t cols, size_t next_rows,
                                          const float *bias, float *y, size_t ldy)
{
    const size_t esz = wt == KERN_W_F32 ? 4 : 2, ahead = 16 * ldw_bytes;
    __m512 acc[SMALL_M];
    for (int i = 0; i < M; i++)
        acc[i] = _mm512_setzero_ps();
    for (size_t pb = 0; pb < pairs; pb += 16) {
        size_t nv = k - 2 * pb < 32 ? k - 2 * pb : 32, np = pairs - pb < 16 ? pairs - pb : 16;
        __m512 r[16];
#pragma GCC unroll 16
        for (size_t j = 0; j < 16; j++) {
            const unsigned char *p = w + j * ldw_bytes + 2 * pb * esz;
            prefetch_row(p, ahead, j < next_rows);
            if (esz == 4)
                prefetch_row(p + 64, ahead, j < next_rows);
            r[j] = j < cols ? kern_load_bf16_pairs(p, wt, nv) : _mm512_setzero_ps();
        }
        kern_transpose16(r);
        const uint32_t *xk = xp + pb;
        if (np == 16) {
#pragma GCC unroll 16
            for (size_t t = 0; t < 16; t++)
                for (int i = 0; i < M; i++) {
                    __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xk[(size_t)i * pairs + t]);
                    acc[i] = _mm512_dpbf16_ps(acc[i], xv, (__m512bh)r[t]);
                }
        } else {
            for (size_t t = 0; t < np; t++)
                for (int i = 0; i < M; i++) {
                    __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xk[(size_t)i * pairs + t]);
                    acc[i] = _mm512_dpbf16_ps(acc[i], xv, (__m512bh)r[t]);
                }
        }
    }
    small_store(M, acc, cols, bias, y, ldy);
}

/* One instance per (rows, weight type): the loops above unroll on both. */
#define SMALL_F32(M, WT)                                                                          \
    TARGET_AVX512 static void small_f32_##M##_##WT(                                               \
        size_t k, const float *x, size_t ldx, const unsigned char *w, size_t ldw_bytes,           \
        size_t cols, size_t next_rows, const float *bias, float *y, size_t ldy)                   \
    {                                                                                             \
        small_f32(M, k, x, ldx, w, KERN_W_##WT, ldw_bytes, cols, next_rows, bias, y, ldy);        \
    }
#define SMALL_BF16(M, WT)                                                                         \
    TARGET_BF16 static void small_bf16_##M##_##WT(                                                \
        size_t k, const uint32_t *xp, size_t pairs, const unsigned char *w, size_t ldw_bytes,     \
        size_t cols, size_t next_rows, const float *bias, float *y, size_t ldy)                   \
    {                                                                                             \
        small_bf16(M, k, xp, pairs, w, KERN_W_##WT, ldw_bytes, cols, next_rows, bias, y, ldy);    \
    }
#define ALL_M(F, WT) F(1, WT) F(2, WT)
ALL_M(SMALL_F32, F32) ALL_M(SMALL_F32, F16) ALL_M(SMALL_F32, BF16)
ALL_M(SMALL_BF16, F32) ALL_M(SMALL_BF16, F16) ALL_M(SMALL_BF16, BF16)

typedef void (*small_f32_fn)(size_t, const float *, size_t, const unsigned char *, size_t, size_t,
                             size_t, const float *, float *, size_t);
typedef void (*small_bf16_fn)(size_t, const uint32_t *, size_t, const unsigned char *, size_t,
                              size_t, size_t, const float *, float *, size_t);

#define ROW_F32(WT) {small_f32_1_##WT, small_f32_2_##WT}
#define ROW_BF16(WT) {small_bf16_1_##WT, small_bf16_2_##WT}
/* [weight type][m - 1] */
static const small_f32_fn small_f32_fns[3][SMALL_M - 1] = {ROW_F32(F32), ROW_F32(F16),
                                                           ROW_F32(BF16)};
static const small_bf16_fn small_bf16_fns[3][SMALL_M - 1] = {ROW_BF16(F32), ROW_BF16(F16),
                                                             ROW_BF16(BF16)};

/* x rows [0, m) rounded to bf16 pair words xp [m][pairs] (zero past k). */
TARGET_BF16 static void small_x_pairs(size_t m, size_t k, const float *x, size_t ldx, uint32_t *xp)
{
    size_t pairs = k / 2 + k % 2;
    for (size_t i = 0; i < m; i++)
        for (size_t pb = 0; pb < pairs; pb += 16) {
            size_t nv = k - 2 * pb < 32 ? k - 2 * pb : 32, np = pairs - pb < 16 ? pairs - pb : 16;
            __m512 v = kern_load_bf16_pairs((const unsigned char *)(x + i * ldx + 2 * pb),
                                            KERN_W_F32, nv);
            _mm512_mask_storeu_ps(xp + i * pairs + pb, kern_mask_lo(np), v);
        }
}

size_t kern_linear_small_words(size_t m, size_t k, int bf16)
{
    return bf16 ? m * (k / 2 + k % 2) : 0;
}

void kern_linear_small_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                              const void *w, kern_wtype wt, size_t ldw_bytes, int bf16,
                              const float *bias, float *y, size_t ldy, void *scratch)
{
    const unsigned char *wb = w;
    size_t pairs = k / 2 + k % 2;
    if (bf16)
        small_x_pairs(m, k, x, ldx, scratch);
    for (size_t j0 = 0; j0 < n; j0 += 16) {
        size_t cols = n - j0 < 16 ? n - j0 : 16;
        size_t next = n - j0 - cols < 16 ? n - j0 - cols : 16;
        const float *bj = bias ? bias + j0 : NULL;
        if (bf16)
            small_bf16_fns[wt][m - 1](k, scratch, pairs, wb + j0 * ldw_bytes, ldw_bytes, cols,
                                      next, bj, y + j0, ldy);
        else
            small_f32_fns[wt][m - 1](k, x, ldx, wb + j0 * ldw_bytes, ldw_bytes, cols, next, bj,
                                     y + j0, ldy);
    }
}

#else

size_t kern_linear_small_words(size_t m, size_t k, int bf16)
{
    (void)m, (void)k, (void)bf16;
    return 0;
}

void kern_linear_small_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                              const void *w, kern_wtype wt, size_t ldw_bytes, int bf16,
                              const float *bias, float *y, size_t ldy, void *scratch)
{
    (void)m, (void)n, (void)k, (void)x, (void)ldx, (void)w, (void)wt, (void)ldw_bytes, (void)bf16,
        (void)bias, (void)y, (void)ldy, (void)scratch;
}

#endif
