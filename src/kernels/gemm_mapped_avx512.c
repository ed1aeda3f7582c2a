/* AVX-512 kern_linear: y = x · w^T (+ bias) with w [n, k] read in place in
 * its stored type (f32, f16, bf16). Blocked like the packed kernels
 * (gemm_packed_avx512.c, gemm_bf16.c), but the weight blocks are packed
 * inside the call:
 *
 *   for each k block (KC values):
 *     for each group of panels (NC columns; one panel when m <= MC):
 *       for each row block (MC rows): x block -> [kc][mr] slivers
 *         for each 32-column panel of the group:
 *           first row block: w rows -> the panel's [kc][32] slice (16×16
 *           32-bit transposes; bf16 pairs are 32-bit words already)
 *           register tiles of mr rows × 32 columns on the slice
 *
 * The tiles compute each element as the packed kernels do: one chain over k
 * in order (fp32: one FMA per k; bf16: one vdpbf16ps per k pair), the k
 * blocks storing and reloading the fp32 accumulators (which changes no
 * bit), bias added after the last block. So the numbers are bitwise those
 * of kern_gemm_packed_isa(AVX512) on kern_pack_nt of the widened weights,
 * and of kern_gemm_bf16 on kern_pack_bf16 of them, whatever m, the row
 * blocks or the column range.
 *
 * With one row block (m <= MC) each panel slice is used once, right after
 * packing it, while the next panel's rows are prefetched; below FEW_M rows
 * the slices cover all of k. Two other paths take some m: 1 or 2 rows
 * (gemm_mapped_small_avx512.c: transposed weights feed the FMAs from
 * registers, nothing packed) and 8 to 48 rows unless k is huge
 * (gemm_mapped_rows_avx512.c: row-lane tiles, no weight transposes). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "kernels/gemm_tile_avx512.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f")))
#define BF16 __attribute__((target("avx512f,avx512bf16")))
#define INLINE inline __attribute__((always_inline))
#define NR KERN_PACK_NR
#define KC 256  /* fp32: k per block, a panel slice [KC][32] is 32 KiB */
#define KCP 256 /* bf16: k pairs per block, a panel slice [KCP][32] pairs is 32 KiB */
#define MC 48   /* rows per x block: 4 slivers of 12 */
#define MR KERN_TILE_MR
#define NC 512  /* columns per group when several row blocks reuse it: 512 KiB */
#define FEW_M 8 /* fewer rows: whole-k panel slices (up to 16 blocks), read row by row */

/* k values (fp32) or pairs (bf16) per block: `kc`, or all of k for a few
 * rows, whose panel slices are then read from memory whole-row at a time
 * (the hardware prefetcher follows each row) and stay in L2. */
static size_t block_k(size_t m, size_t kk, size_t kc)
{
    return m < FEW_M && kk <= 16 * kc ? kk : kc;
}

/* ------------------------------------------------------------ packing */

/* Rows [0, rows) of w (row stride ldw_bytes), k values [k0, k0+kc),
 * transposed to dst[kk][16·groups] (row r at lane r; zero for rows past
 * `rows`), k entries ldd floats apart: a kern_pack_nt panel slice with
 * groups = 2, ldd = 32 (w's rows are the panel's columns). The same
 * k range of the next 16·groups rows, `pf_rows` of them, is prefetched on
 * the way: the slice packed next (small m) comes from memory meanwhile. */
AVX512 static INLINE void pack_cols_f32_wt(const unsigned char *w, const kern_wtype wt,
                                           size_t ldw_bytes, size_t rows, size_t groups,
                                           size_t k0, size_t kc, float *dst, size_t ldd,
                                           size_t pf_rows)
{
    size_t pf_step = 16 * groups * ldw_bytes;
    size_t esz = kern_wtype_size(wt);
    for (size_t h = 0; h < groups; h++) {
        size_t nr = rows > 16 * h ? rows - 16 * h : 0;
        if (nr > 16)
            nr = 16;
        const unsigned char *src = w + 16 * h * ldw_bytes + k0 * esz;
        for (size_t kb = 0; kb < kc; kb += 16) {
            size_t nv = kc - kb < 16 ? kc - kb : 16;
            __m512 r[16];
#pragma GCC unroll 16
            for (size_t j = 0; j < 16; j++) {
                const unsigned char *p = src + j * ldw_bytes + kb * esz;
                if (16 * h + j < pf_rows)
                    _mm_prefetch((const char *)(p + pf_step), _MM_HINT_T1);
                r[j] = j < nr ? kern_load_f32(p, wt, nv) : _mm512_setzero_ps();
            }
            kern_transpose16(r);
            if (nv == 16) {
#pragma GCC unroll 16
                for (size_t t = 0; t < 16; t++)
                    _mm512_storeu_ps(dst + (kb + t) * ldd + 16 * h, r[t]);
            } else {
                for (size_t t = 0; t < nv; t++)
                    _mm512_storeu_ps(dst + (kb + t) * ldd + 16 * h, r[t]);
            }
        }
    }
}

AVX512 void kern_pack_cols_f32_avx512(const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                      size_t rows, size_t groups, size_t k0, size_t kc,
                                      float *dst, size_t ldd, size_t pf_rows)
{
    if (wt == KERN_W_F32)
        pack_cols_f32_wt(w, KERN_W_F32, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
    else if (wt == KERN_W_F16)
        pack_cols_f32_wt(w, KERN_W_F16, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
    else
        pack_cols_f32_wt(w, KERN_W_BF16, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
}

/* ------------------------------------------------------- fp32 tiles */

AVX512 static void f32_tile_any(size_t mr, const kern_tile_args *t)
{
    switch (mr) {
#define CASE(R)                                                                                   \
    case R:                                                                                       \
        kern_tile_f32(R, t);                                                                      \
        break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
        CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
#undef CASE
    default:
        break;
    }
}

/* Rows [0, mb) of x (row stride ldx), k values [k0, k0+kc), as slivers of
 * MR rows [kc][mr] one after the other (the last one mb % MR rows). */
AVX512 static void pack_x_f32(const float *x, size_t ldx, size_t mb, size_t k0, size_t kc,
                              float *a)
{
    for (size_t r0 = 0; r0 < mb; r0 += MR) {
        size_t mr = mb - r0 < MR ? mb - r0 : MR;
        __mmask16 lanes = (__mmask16)((1u << mr) - 1u);
        float *dst = a + r0 * kc;
        const unsigned char *src = (const unsigned char *)(x + r0 * ldx + k0);
        for (size_t kb = 0; kb < kc; kb += 16) {
            size_t nv = kc - kb < 16 ? kc - kb : 16;
            __m512 r[16];
#pragma GCC unroll 16
            for (size_t j = 0; j < 16; j++)
                r[j] = j < mr ? kern_load_f32(src + (j * ldx + kb) * sizeof *x, KERN_W_F32, nv)
                              : _mm512_setzero_ps();
            kern_transpose16(r);
#pragma GCC unroll 16
            for (size_t t = 0; t < 16; t++)
                if (t < nv)
                    _mm512_mask_storeu_ps(dst + (kb + t) * mr, lanes, r[t]);
        }
    }
}

/* Scratch floats for the fp32 path. */
static size_t f32_scratch(size_t m, size_t k)
{
    size_t kb = block_k(m, k, KC);
    return (m > MC ? NC : NR) * kb + (m < MC ? m : MC) * kb;
}

AVX512 static void linear_f32(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                              const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                              const float *bias, float *y, size_t ldy, float *scratch)
{
    size_t nc = m > MC ? NC : NR; /* one row block: no reuse, one panel slice at a time */
    size_t kb = block_k(m, k, KC);
    float *bpack = scratch, *apack = scratch + nc * kb;
    for (size_t k0 = 0; k0 < k; k0 += kb) {
        size_t kc = k - k0 < kb ? k - k0 : kb;
        int last = k0 + kc == k;
        if (m <= MC)
            pack_x_f32(x, ldx, m, k0, kc, apack);
        for (size_t jg = 0; jg < n; jg += nc) {
            size_t gcols = n - jg < nc ? n - jg : nc;
            for (size_t i0 = 0; i0 < m; i0 += MC) {
                size_t mb = m - i0 < MC ? m - i0 : MC;
                if (m > MC)
                    pack_x_f32(x + i0 * ldx, ldx, mb, k0, kc, apack);
                for (size_t j0 = 0; j0 < gcols; j0 += NR) {
                    size_t cols = gcols - j0 < NR ? gcols - j0 : NR;
                    float *b = bpack + j0 * kc;
                    if (i0 == 0)
                        kern_pack_cols_f32_avx512(w + (jg + j0) * ldw_bytes, wt, ldw_bytes, cols,
                                                  2, k0, kc, b, NR, n - jg - j0 - cols);
                    kern_tile_args t;
                    t.kc = kc;
                    t.lda = 0;
                    t.b = b;
                    t.ldy = ldy;
                    t.m0 = kern_mask_lo(cols);
                    t.m1 = kern_mask_hi(cols);
                    t.load_c = k0 > 0;
                    t.bias = last && bias ? bias + jg + j0 : NULL;
                    for (size_t r0 = 0; r0 < mb; r0 += MR) {
                        size_t mr = mb - r0 < MR ? mb - r0 : MR;
                        t.a = apack + r0 * kc;
                        t.y = y + (i0 + r0) * ldy + jg + j0;
                        f32_tile_any(mr, &t);
                    }
                }
            }
        }
    }
}

/* ------------------------------------------------------- bf16 path */

/* Rows [0, rows) of w, k values [k0, k0+kc) (k0 even) rounded to bf16
 * pairs, transposed to dst[pair][16·groups] (k entries ldd words apart;
 * zero past `rows` and past k): a kern_pack_bf16 panel slice with
 * groups = 2, ldd = 32; prefetching as kern_pack_cols_f32_avx512. */
BF16 static INLINE void pack_cols_bf16_wt(const unsigned char *w, const kern_wtype wt,
                                          size_t ldw_bytes, size_t rows, size_t groups,
                                          size_t k0, size_t kc, uint32_t *dst, size_t ldd,
                                          size_t pf_rows)
{
    size_t pf_step = 16 * groups * ldw_bytes;
    size_t esz = kern_wtype_size(wt), pairs = kc / 2 + kc % 2;
    for (size_t h = 0; h < groups; h++) {
        size_t nr = rows > 16 * h ? rows - 16 * h : 0;
        if (nr > 16)
            nr = 16;
        const unsigned char *src = w + 16 * h * ldw_bytes + k0 * esz;
        for (size_t pb = 0; pb < pairs; pb += 16) {
            size_t nv = kc - 2 * pb < 32 ? kc - 2 * pb : 32;
            size_t np = pairs - pb < 16 ? pairs - pb : 16;
            __m512 r[16];
#pragma GCC unroll 16
            for (size_t j = 0; j < 16; j++) {
                const unsigned char *p = src + j * ldw_bytes + 2 * pb * esz;
                if (16 * h + j < pf_rows) {
                    _mm_prefetch((const char *)(p + pf_step), _MM_HINT_T1);
                    if (esz == 4)
                        _mm_prefetch((const char *)(p + pf_step + 64), _MM_HINT_T1);
                }
                r[j] = j < nr ? kern_load_bf16_pairs(p, wt, nv) : _mm512_setzero_ps();
            }
            kern_transpose16(r);
            if (np == 16) {
#pragma GCC unroll 16
                for (size_t t = 0; t < 16; t++)
                    _mm512_storeu_ps(dst + (pb + t) * ldd + 16 * h, r[t]);
            } else {
                for (size_t t = 0; t < np; t++)
                    _mm512_storeu_ps(dst + (pb + t) * ldd + 16 * h, r[t]);
            }
        }
    }
}

BF16 void kern_pack_cols_bf16_avx512(const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                     size_t rows, size_t groups, size_t k0, size_t kc,
                                     uint32_t *dst, size_t ldd, size_t pf_rows)
{
    if (wt == KERN_W_F32)
        pack_cols_bf16_wt(w, KERN_W_F32, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
    else if (wt == KERN_W_F16)
        pack_cols_bf16_wt(w, KERN_W_F16, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
    else
        pack_cols_bf16_wt(w, KERN_W_BF16, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
}

/* Rows [0, mb) of x, k values [k0, k0+kc) rounded to bf16 as
 * kern_f32_to_bf16, as slivers of MR rows [pairs][mr] (zero past k). */
BF16 static void pack_x_bf16(const float *x, size_t ldx, size_t mb, size_t kc, uint32_t *a)
{
    size_t pairs = kc / 2 + kc % 2;
    for (size_t r0 = 0; r0 < mb; r0 += MR) {
        size_t mr = mb - r0 < MR ? mb - r0 : MR;
        __mmask16 lanes = (__mmask16)((1u << mr) - 1u);
        uint32_t *dst = a + r0 * pairs;
        const unsigned char *src = (const unsigned char *)(x + r0 * ldx);
        for (size_t pb = 0; pb < pairs; pb += 16) {
            size_t nv = kc - 2 * pb < 32 ? kc - 2 * pb : 32;
            size_t np = pairs - pb < 16 ? pairs - pb : 16;
            __m512 r[16];
#pragma GCC unroll 16
            for (size_t j = 0; j < 16; j++)
                r[j] = j < mr ? kern_load_bf16_pairs(src + (j * ldx + 2 * pb) * sizeof *x,
                                                     KERN_W_F32, nv)
                              : _mm512_setzero_ps();
            kern_transpose16(r);
#pragma GCC unroll 16
            for (size_t t = 0; t < 16; t++)
                if (t < np)
                    _mm512_mask_storeu_ps(dst + (pb + t) * mr, lanes, r[t]);
        }
    }
}

BF16 static void bf16_tile_any(size_t mr, const kern_tile_args *t)
{
    switch (mr) {
#define CASE(R)                                                                                   \
    case R:                                                                                       \
        kern_tile_bf16(R, t);                                                                     \
        break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
        CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
#undef CASE
    default:
        break;
    }
}

/* Scratch 32-bit words for the bf16 path. */
static size_t bf16_scratch(size_t m, size_t k)
{
    size_t kb = block_k(m, k / 2 + k % 2, KCP);
    return (m > MC ? NC : NR) * kb + (m < MC ? m : MC) * kb;
}

BF16 static void linear_bf16(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                             const float *bias, float *y, size_t ldy, uint32_t *scratch)
{
    size_t nc = m > MC ? NC : NR;
    size_t kb = 2 * block_k(m, k / 2 + k % 2, KCP); /* k values, even */
    uint32_t *bpack = scratch, *apack = scratch + nc * (kb / 2);
    for (size_t k0 = 0; k0 < k; k0 += kb) {
        size_t kc = k - k0 < kb ? k - k0 : kb;
        size_t pairs = kc / 2 + kc % 2;
        int last = k0 + kc == k;
        if (m <= MC)
            pack_x_bf16(x + k0, ldx, m, kc, apack);
        for (size_t jg = 0; jg < n; jg += nc) {
            size_t gcols = n - jg < nc ? n - jg : nc;
            for (size_t i0 = 0; i0 < m; i0 += MC) {
                size_t mb = m - i0 < MC ? m - i0 : MC;
                if (m > MC)
                    pack_x_bf16(x + i0 * ldx + k0, ldx, mb, kc, apack);
                for (size_t j0 = 0; j0 < gcols; j0 += NR) {
                    size_t cols = gcols - j0 < NR ? gcols - j0 : NR;
                    uint32_t *b = bpack + j0 * pairs;
                    if (i0 == 0)
                        kern_pack_cols_bf16_avx512(w + (jg + j0) * ldw_bytes, wt, ldw_bytes, cols,
                                                   2, k0, kc, b, NR, n - jg - j0 - cols);
                    kern_tile_args t;
                    t.kc = pairs;
                    t.lda = 0;
                    t.b = b;
                    t.ldy = ldy;
                    t.m0 = kern_mask_lo(cols);
                    t.m1 = kern_mask_hi(cols);
                    t.load_c = k0 > 0;
                    t.bias = last && bias ? bias + jg + j0 : NULL;
                    for (size_t r0 = 0; r0 < mb; r0 += MR) {
                        size_t mr = mb - r0 < MR ? mb - r0 : MR;
                        t.a = apack + r0 * pairs;
                        t.y = y + (i0 + r0) * ldy + jg + j0;
                        bf16_tile_any(mr, &t);
                    }
                }
            }
        }
    }
}

int kern_linear_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx, const void *w,
                       kern_wtype wt, size_t ldw, int bf16, const float *bias, float *y, size_t ldy)
{
    if (k == 0) { /* as the packed kernels: 0 + bias */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                y[i * ldy + j] = bias ? 0.0f + bias[j] : 0.0f;
        return 0;
    }
    size_t ldw_bytes = ldw * kern_wtype_size(wt);
    int small = m < KERN_LINEAR_SMALL_M;
    size_t rows_words = small ? 0 : kern_linear_rows_words(m, k, bf16);
    size_t words = small        ? kern_linear_small_words(m, k, bf16)
                   : rows_words ? rows_words
                   : bf16       ? bf16_scratch(m, k)
                                : f32_scratch(m, k);
    void *scratch = kern_linear_scratch(words * 4 + 64);
    if (!scratch)
        return -1;
    if (small)
        kern_linear_small_avx512(m, n, k, x, ldx, w, wt, ldw_bytes, bf16, bias, y, ldy, scratch);
    else if (rows_words)
        kern_linear_rows_avx512(m, n, k, x, ldx, w, wt, ldw_bytes, bf16, bias, y, ldy, scratch);
    else if (bf16)
        linear_bf16(m, n, k, x, ldx, w, wt, ldw_bytes, bias, y, ldy, scratch);
    else
        linear_f32(m, n, k, x, ldx, w, wt, ldw_bytes, bias, y, ldy, scratch);
    return 0;
}

#else

int kern_linear_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx, const void *w,
                       kern_wtype wt, size_t ldw, int bf16, const float *bias, float *y, size_t ldy)
{
    (void)m, (void)n, (void)k, (void)x, (void)ldx, (void)w, (void)wt, (void)ldw, (void)bf16,
        (void)bias, (void)y, (void)ldy;
    return -1;
}

#endif
