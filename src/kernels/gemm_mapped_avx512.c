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
 * blocks or the column range. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f")))
#define BF16 __attribute__((target("avx512f,avx512bf16")))
#define INLINE inline __attribute__((always_inline))
#define NR KERN_PACK_NR
#define KC 256  /* fp32: k per block, a panel slice [KC][32] is 32 KiB */
#define KCP 256 /* bf16: k pairs per block, a panel slice [KCP][32] pairs is 32 KiB */
#define MC 48   /* rows per x block: 4 slivers of 12 */
#define MR 12
#define NC 512  /* columns per group when several row blocks reuse it: 512 KiB */
#define SMALL_M 8 /* fewer rows: whole-k panel slices (up to 16 blocks), read row by row */

/* k values (fp32) or pairs (bf16) per block: `kc`, or all of k for a few
 * rows, whose panel slices are then read from memory whole-row at a time
 * (the hardware prefetcher follows each row) and stay in L2. */
static size_t block_k(size_t m, size_t kk, size_t kc)
{
    return m < SMALL_M && kk <= 16 * kc ? kk : kc;
}

/* ------------------------------------------------------------ packing */

/* 16 vectors r[i] (rows) -> r[c] = column c: a 16×16 32-bit transpose. */
AVX512 static INLINE void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* r[4g+q] lane l: column 4l+q of rows 4g..4g+3 */
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        t[q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);
        t[4 + q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xdd);
        t[8 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
        t[12 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xdd);
    }
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) {
        r[q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0xdd);
    }
}

/* 16 consecutive weights at p widened to fp32 (nv < 16: the first nv, then
 * zeros). */
AVX512 static INLINE __m512 load_f32(const unsigned char *p, kern_wtype wt, size_t nv)
{
    unsigned char tmp[64];
    size_t esz = wt == KERN_W_F32 ? 4 : 2;
    if (nv < 16) {
        memset(tmp, 0, sizeof tmp);
        memcpy(tmp, p, nv * esz);
        p = tmp;
    }
    if (wt == KERN_W_F32)
        return _mm512_loadu_ps(p);
    __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)p);
    if (wt == KERN_W_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

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
                r[j] = j < nr ? load_f32(p, wt, nv) : _mm512_setzero_ps();
            }
            transpose16(r);
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

AVX512 static void pack_cols_f32(const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                 size_t rows, size_t groups, size_t k0, size_t kc, float *dst,
                                 size_t ldd, size_t pf_rows)
{
    if (wt == KERN_W_F32)
        pack_cols_f32_wt(w, KERN_W_F32, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
    else if (wt == KERN_W_F16)
        pack_cols_f32_wt(w, KERN_W_F16, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
    else
        pack_cols_f32_wt(w, KERN_W_BF16, ldw_bytes, rows, groups, k0, kc, dst, ldd, pf_rows);
}

/* ------------------------------------------------------- fp32 tiles */

typedef struct f32_tile_args {
    size_t kc;
    const float *a;    /* [kc][mr] */
    const float *b;    /* [kc][32] */
    float *y;          /* row 0 of the tile */
    size_t ldy;
    __mmask16 m0, m1;  /* valid columns */
    int load_c;        /* continue the chains stored in y */
    const float *bias; /* last k block only (NULL otherwise / none) */
} f32_tile_args;

/* As gemm_packed_avx512.c's tile: c = fma(x, w, c) per k in order. */
AVX512 static INLINE void f32_tile(const int mr, const f32_tile_args *t)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        if (t->load_c) {
            c0[r] = _mm512_maskz_loadu_ps(t->m0, t->y + (size_t)r * t->ldy);
            c1[r] = _mm512_maskz_loadu_ps(t->m1, t->y + (size_t)r * t->ldy + 16);
        } else {
            c0[r] = _mm512_setzero_ps();
            c1[r] = _mm512_setzero_ps();
        }
    }
    const float *a = t->a, *b = t->b;
    for (size_t k = 0; k < t->kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b);
        __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
        a += mr;
        b += NR;
    }
    if (t->bias) {
        __m512 bb0 = _mm512_maskz_loadu_ps(t->m0, t->bias);
        __m512 bb1 = _mm512_maskz_loadu_ps(t->m1, t->bias + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            c0[r] = _mm512_add_ps(c0[r], bb0);
            c1[r] = _mm512_add_ps(c1[r], bb1);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(t->y + (size_t)r * t->ldy, t->m0, c0[r]);
        _mm512_mask_storeu_ps(t->y + (size_t)r * t->ldy + 16, t->m1, c1[r]);
    }
}

AVX512 static void f32_tile_any(size_t mr, const f32_tile_args *t)
{
    switch (mr) {
#define CASE(R)                                                                                   \
    case R:                                                                                       \
        f32_tile(R, t);                                                                           \
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
                r[j] = j < mr ? load_f32(src + (j * ldx + kb) * sizeof *x, KERN_W_F32, nv)
                              : _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (size_t t = 0; t < 16; t++)
                if (t < nv)
                    _mm512_mask_storeu_ps(dst + (kb + t) * mr, lanes, r[t]);
        }
    }
}

static __mmask16 mask_lo(size_t cols)
{
    return (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
}

static __mmask16 mask_hi(size_t cols)
{
    return (__mmask16)(cols >= 32 ? 0xffffu : cols > 16 ? (1u << (cols - 16)) - 1u : 0u);
}

/* Scratch floats for the fp32 path. */
static size_t f32_scratch(size_t m, size_t k)
{
    size_t kb = block_k(m, k, KC);
    return (m > MC ? NC : NR) * kb + MC * kb;
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
                        pack_cols_f32(w + (jg + j0) * ldw_bytes, wt, ldw_bytes, cols, 2, k0, kc, b, NR,
                                      n - jg - j0 - cols);
                    f32_tile_args t;
                    t.kc = kc;
                    t.b = b;
                    t.ldy = ldy;
                    t.m0 = mask_lo(cols);
                    t.m1 = mask_hi(cols);
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

/* kern_f32_to_bf16 of 16 floats (round to nearest even, NaN kept quiet,
 * fp32 subnormals rounded like any value — vcvtneps2bf16 would flush them
 * first, and 0x007fffff rounds up to a normal bf16), in the low half of
 * each 32-bit lane. */
AVX512 static INLINE __m512i bf16_bits(__m512 f)
{
    __m512i u = _mm512_castps_si512(f);
    __m512i mag = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    __mmask16 nan = _mm512_cmpgt_epu32_mask(mag, _mm512_set1_epi32(0x7f800000));
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i bias = _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
    __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    return _mm512_mask_blend_epi32(nan, rounded, quiet);
}

/* 32 floats (k 0..15 in lo, 16..31 in hi) as 16 bf16 pairs: word p holds
 * k = 2p in its low half, 2p+1 in its high half. */
AVX512 static INLINE __m512 bf16_pairs(__m512 lo, __m512 hi)
{
    __m512i a = bf16_bits(lo), b = bf16_bits(hi);
    /* per 64-bit lane e0 | e1 << 32 -> low 32 bits e0 | e1 << 16 */
    __m256i pa = _mm512_cvtepi64_epi32(_mm512_or_si512(a, _mm512_srli_epi64(a, 16)));
    __m256i pb = _mm512_cvtepi64_epi32(_mm512_or_si512(b, _mm512_srli_epi64(b, 16)));
    return _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(pa), pb, 1));
}

/* 32 consecutive weights at p (nv < 32: the first nv, then zeros) rounded
 * to bf16 as kern_f32_to_bf16, as 16 pairs (32-bit words, low half the
 * even k). */
BF16 static INLINE __m512 load_pairs(const unsigned char *p, kern_wtype wt, size_t nv)
{
    unsigned char tmp[128];
    size_t esz = wt == KERN_W_F32 ? 4 : 2;
    if (nv < 32) {
        memset(tmp, 0, sizeof tmp);
        memcpy(tmp, p, nv * esz);
        p = tmp;
    }
    if (wt == KERN_W_BF16)
        return _mm512_loadu_ps(p);
    __m512 lo, hi;
    if (wt == KERN_W_F32) {
        lo = _mm512_loadu_ps(p);
        hi = _mm512_loadu_ps(p + 64);
    } else {
        lo = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
        hi = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p + 32)));
    }
    /* vcvtne2ps2bf16 rounds as kern_f32_to_bf16 except that it flushes
     * fp32 subnormals first: that only matters (vdpbf16ps flushes bf16
     * subnormals itself) for |f| in [0x007f8000, 0x007fffff], which rounds
     * up to the smallest normal bf16. f16 values are never fp32 subnormal. */
    if (wt == KERN_W_F32) {
        __m512i mag_mask = _mm512_set1_epi32(0x7fffffff), lo_end = _mm512_set1_epi32(0x007f8000);
        __m512i dl = _mm512_sub_epi32(_mm512_and_si512(_mm512_castps_si512(lo), mag_mask), lo_end);
        __m512i dh = _mm512_sub_epi32(_mm512_and_si512(_mm512_castps_si512(hi), mag_mask), lo_end);
        __m512i span = _mm512_set1_epi32(0x8000);
        if (_mm512_kor(_mm512_cmplt_epu32_mask(dl, span), _mm512_cmplt_epu32_mask(dh, span)))
            return bf16_pairs(lo, hi);
    }
    return (__m512)_mm512_cvtne2ps_pbh(hi, lo);
}

/* Rows [0, rows) of w, k values [k0, k0+kc) (k0 even) rounded to bf16
 * pairs, transposed to dst[pair][16·groups] (k entries ldd words apart;
 * zero past `rows` and past k): a kern_pack_bf16 panel slice with
 * groups = 2, ldd = 32; prefetching as pack_cols_f32. */
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
                r[j] = j < nr ? load_pairs(p, wt, nv) : _mm512_setzero_ps();
            }
            transpose16(r);
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

BF16 static void pack_cols_bf16(const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                size_t rows, size_t groups, size_t k0, size_t kc, uint32_t *dst,
                                size_t ldd, size_t pf_rows)
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
                r[j] = j < mr ? load_pairs(src + (j * ldx + 2 * pb) * sizeof *x, KERN_W_F32, nv)
                              : _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (size_t t = 0; t < 16; t++)
                if (t < np)
                    _mm512_mask_storeu_ps(dst + (pb + t) * mr, lanes, r[t]);
        }
    }
}

typedef struct bf16_tile_args {
    size_t pairs;
    const uint32_t *a; /* [pairs][mr] */
    const uint32_t *b; /* [pairs][32] */
    float *y;
    size_t ldy;
    __mmask16 m0, m1;
    int load_c;
    const float *bias;
} bf16_tile_args;

/* As gemm_bf16.c's tile: one vdpbf16ps per k pair in order. */
BF16 static INLINE void bf16_tile(const int mr, const bf16_tile_args *t)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        if (t->load_c) {
            c0[r] = _mm512_maskz_loadu_ps(t->m0, t->y + (size_t)r * t->ldy);
            c1[r] = _mm512_maskz_loadu_ps(t->m1, t->y + (size_t)r * t->ldy + 16);
        } else {
            c0[r] = _mm512_setzero_ps();
            c1[r] = _mm512_setzero_ps();
        }
    }
    const uint32_t *a = t->a, *b = t->b;
    for (size_t p = 0; p < t->pairs; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r]);
            c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
        }
        a += mr;
        b += NR;
    }
    if (t->bias) {
        __m512 bb0 = _mm512_maskz_loadu_ps(t->m0, t->bias);
        __m512 bb1 = _mm512_maskz_loadu_ps(t->m1, t->bias + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            c0[r] = _mm512_add_ps(c0[r], bb0);
            c1[r] = _mm512_add_ps(c1[r], bb1);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(t->y + (size_t)r * t->ldy, t->m0, c0[r]);
        _mm512_mask_storeu_ps(t->y + (size_t)r * t->ldy + 16, t->m1, c1[r]);
    }
}

BF16 static void bf16_tile_any(size_t mr, const bf16_tile_args *t)
{
    switch (mr) {
#define CASE(R)                                                                                   \
    case R:                                                                                       \
        bf16_tile(R, t);                                                                          \
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
    return (m > MC ? NC : NR) * kb + MC * kb;
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
                        pack_cols_bf16(w + (jg + j0) * ldw_bytes, wt, ldw_bytes, cols, 2, k0, kc, b, NR,
                                       n - jg - j0 - cols);
                    bf16_tile_args t;
                    t.pairs = pairs;
                    t.b = b;
                    t.ldy = ldy;
                    t.m0 = mask_lo(cols);
                    t.m1 = mask_hi(cols);
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

/* ---------------------------------------- row-lane tiles (few rows) */

/* For ROWS_MIN_M <= m <= 48 rows the lanes of a vector hold 16 rows of x
 * instead of 32 columns of w: x is transposed once (xt [k][16·R]), w's rows
 * are only widened (or rounded to bf16 pairs) chunk by chunk into wc
 * [J][KCR], and each broadcast weight meets the R row vectors. No weight
 * transpose, and each output element is still one chain over k in order
 * (fma(x, w, c) = fma(w, x, c); vdpbf16ps with x as the first operand as
 * in the packed kernel), then + bias, so the numbers are those of the
 * column-lane tiles. The accumulators stay in registers over the whole k;
 * a 16×16 transpose per row vector stores them. */
#define ROWS_MIN_M 8
#define ROWS_MAX_M 48
#define KCR 256 /* k values (fp32) or k pairs (bf16) per weight chunk, at most */
#define ROWS_XT_MAX ((size_t)1 << 20) /* bytes of xt above which the column path is used */

/* Chunk length for kk values: the fewest chunks of at most KCR, of equal
 * length (a multiple of 16), so each chunk's compute covers the prefetch of
 * the next. */
static size_t rows_chunk(size_t kk)
{
    size_t chunks = (kk + KCR - 1) / KCR, len = (kk + chunks - 1) / chunks;
    return (len + 15) / 16 * 16;
}

/* A walk over the cache lines of the weight chunk after the current one
 * (the next k chunk of the same rows, else the first chunk of the next
 * `next_rows` rows), one line per step of the compute loop, so the loads
 * from memory spread over the chunk's FMAs instead of stalling the next
 * chunk's widening. */
typedef struct prefetcher {
    const unsigned char *row;
    size_t ldw_bytes, rows, bytes, off;
} prefetcher;

static prefetcher prefetch_next(const unsigned char *w, size_t ldw_bytes, size_t esz, size_t k,
                                size_t k0, size_t step, size_t rows, size_t J, size_t next_rows)
{
    prefetcher pf = {w, ldw_bytes, 0, 0, 0};
    if (k0 + step < k) {
        pf.row = w + (k0 + step) * esz;
        pf.rows = rows;
        pf.bytes = (k - (k0 + step) < step ? k - (k0 + step) : step) * esz;
    } else if (next_rows) {
        pf.row = w + J * ldw_bytes;
        pf.rows = next_rows;
        pf.bytes = (k < step ? k : step) * esz;
    }
    return pf;
}

static INLINE void prefetch_step(prefetcher *pf)
{
    if (pf->rows) {
        _mm_prefetch((const char *)(pf->row + pf->off), _MM_HINT_T1);
        pf->off += 64;
        if (pf->off >= pf->bytes) {
            pf->off = 0;
            pf->row += pf->ldw_bytes;
            pf->rows--;
        }
    }
}

/* y rows [16r, 16r+16) ∩ [0, rows), columns [0, cols) from the R×J
 * accumulators acc[r][j] (lane i = row 16r+i of column j), + bias. */
AVX512 static INLINE void rows_store(const int R, const int J, __m512 acc[3][16], size_t rows,
                                     size_t cols, const float *bias, float *y, size_t ldy)
{
    __mmask16 cm = mask_lo(cols);
    for (int r = 0; r < R; r++) {
        __m512 v[16];
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++) {
            if (j < J)
                v[j] = bias && (size_t)j < cols ? _mm512_add_ps(acc[r][j], _mm512_set1_ps(bias[j]))
                                                : acc[r][j];
            else
                v[j] = _mm512_setzero_ps();
        }
        transpose16(v);
        for (size_t i = 0; i < 16 && 16 * (size_t)r + i < rows; i++)
            _mm512_mask_storeu_ps(y + (16 * (size_t)r + i) * ldy, cm, v[i]);
    }
}

/* fp32: rows [0, rows) (<= 16R) of y, columns [0, cols) (<= J) from xt
 * [k][16R] and w's rows [0, cols). */
AVX512 static INLINE void rows_f32(const int R, const int J, size_t k, const float *xt,
                                   size_t rows, const unsigned char *w, kern_wtype wt,
                                   size_t ldw_bytes, size_t cols, size_t next_rows,
                                   const float *bias, float *y, size_t ldy, float *wc)
{
    size_t esz = kern_wtype_size(wt);
    __m512 acc[3][16];
    for (int r = 0; r < R; r++)
#pragma GCC unroll 16
        for (int j = 0; j < J; j++)
            acc[r][j] = _mm512_setzero_ps();
    for (size_t j = cols; j < (size_t)J; j++)
        memset(wc + j * KCR, 0, KCR * sizeof *wc);
    size_t step = rows_chunk(k);
    for (size_t k0 = 0; k0 < k; k0 += step) {
        size_t kc = k - k0 < step ? k - k0 : step;
        for (size_t j = 0; j < cols; j++) {
            const unsigned char *src = w + j * ldw_bytes + k0 * esz;
            for (size_t kb = 0; kb < kc; kb += 16)
                _mm512_storeu_ps(wc + j * KCR + kb,
                                 load_f32(src + kb * esz, wt, kc - kb < 16 ? kc - kb : 16));
        }
        prefetcher pf = prefetch_next(w, ldw_bytes, esz, k, k0, step, cols, (size_t)J, next_rows);
        const float *xp = xt + k0 * 16 * (size_t)R;
        for (size_t kk = 0; kk < kc; kk++) {
            prefetch_step(&pf);
            __m512 xv[3];
            for (int r = 0; r < R; r++)
                xv[r] = _mm512_loadu_ps(xp + 16 * r);
#pragma GCC unroll 16
            for (int j = 0; j < J; j++) {
                __m512 wb = _mm512_set1_ps(wc[(size_t)j * KCR + kk]);
                for (int r = 0; r < R; r++)
                    acc[r][j] = _mm512_fmadd_ps(xv[r], wb, acc[r][j]);
            }
            xp += 16 * R;
        }
    }
    rows_store(R, J, acc, rows, cols, bias, y, ldy);
}

AVX512 static void rows_f32_r1(size_t k, const float *xt, size_t rows, const unsigned char *w,
                               kern_wtype wt, size_t ldw_bytes, size_t cols, size_t next_rows,
                               const float *bias, float *y, size_t ldy, float *wc)
{
    rows_f32(1, 16, k, xt, rows, w, wt, ldw_bytes, cols, next_rows, bias, y, ldy, wc);
}

AVX512 static void rows_f32_r2(size_t k, const float *xt, size_t rows, const unsigned char *w,
                               kern_wtype wt, size_t ldw_bytes, size_t cols, size_t next_rows,
                               const float *bias, float *y, size_t ldy, float *wc)
{
    rows_f32(2, 12, k, xt, rows, w, wt, ldw_bytes, cols, next_rows, bias, y, ldy, wc);
}

AVX512 static void rows_f32_r3(size_t k, const float *xt, size_t rows, const unsigned char *w,
                               kern_wtype wt, size_t ldw_bytes, size_t cols, size_t next_rows,
                               const float *bias, float *y, size_t ldy, float *wc)
{
    rows_f32(3, 8, k, xt, rows, w, wt, ldw_bytes, cols, next_rows, bias, y, ldy, wc);
}

/* bf16: the same with k pairs (xt [pairs][16R] words, wc [J][KCR] words). */
BF16 static INLINE void rows_bf16(const int R, const int J, size_t k, const uint32_t *xt,
                                  size_t rows, const unsigned char *w, kern_wtype wt,
                                  size_t ldw_bytes, size_t cols, size_t next_rows,
                                  const float *bias, float *y, size_t ldy, uint32_t *wc)
{
    size_t esz = kern_wtype_size(wt);
    __m512 acc[3][16];
    for (int r = 0; r < R; r++)
#pragma GCC unroll 16
        for (int j = 0; j < J; j++)
            acc[r][j] = _mm512_setzero_ps();
    for (size_t j = cols; j < (size_t)J; j++)
        memset(wc + j * KCR, 0, KCR * sizeof *wc);
    size_t step = 2 * rows_chunk(k / 2 + k % 2); /* k values, a multiple of 32 */
    for (size_t k0 = 0; k0 < k; k0 += step) {
        size_t kc = k - k0 < step ? k - k0 : step;
        size_t pairs = kc / 2 + kc % 2;
        for (size_t j = 0; j < cols; j++) {
            const unsigned char *src = w + j * ldw_bytes + k0 * esz;
            for (size_t kb = 0; kb < kc; kb += 32)
                _mm512_storeu_ps(wc + j * KCR + kb / 2,
                                 load_pairs(src + kb * esz, wt, kc - kb < 32 ? kc - kb : 32));
        }
        prefetcher pf =
            prefetch_next(w, ldw_bytes, esz, k, k0, step, cols, (size_t)J, next_rows);
        const uint32_t *xp = xt + (k0 / 2) * 16 * (size_t)R;
        for (size_t p = 0; p < pairs; p++) {
            prefetch_step(&pf);
            prefetch_step(&pf);
            __m512bh xv[3];
            for (int r = 0; r < R; r++)
                xv[r] = (__m512bh)_mm512_loadu_si512(xp + 16 * r);
#pragma GCC unroll 16
            for (int j = 0; j < J; j++) {
                __m512bh wb = (__m512bh)_mm512_set1_epi32((int)wc[(size_t)j * KCR + p]);
                for (int r = 0; r < R; r++)
                    acc[r][j] = _mm512_dpbf16_ps(acc[r][j], xv[r], wb);
            }
            xp += 16 * R;
        }
    }
    rows_store(R, J, acc, rows, cols, bias, y, ldy);
}

BF16 static void rows_bf16_r1(size_t k, const uint32_t *xt, size_t rows, const unsigned char *w,
                              kern_wtype wt, size_t ldw_bytes, size_t cols, size_t next_rows,
                              const float *bias, float *y, size_t ldy, uint32_t *wc)
{
    rows_bf16(1, 16, k, xt, rows, w, wt, ldw_bytes, cols, next_rows, bias, y, ldy, wc);
}

BF16 static void rows_bf16_r2(size_t k, const uint32_t *xt, size_t rows, const unsigned char *w,
                              kern_wtype wt, size_t ldw_bytes, size_t cols, size_t next_rows,
                              const float *bias, float *y, size_t ldy, uint32_t *wc)
{
    rows_bf16(2, 12, k, xt, rows, w, wt, ldw_bytes, cols, next_rows, bias, y, ldy, wc);
}

BF16 static void rows_bf16_r3(size_t k, const uint32_t *xt, size_t rows, const unsigned char *w,
                              kern_wtype wt, size_t ldw_bytes, size_t cols, size_t next_rows,
                              const float *bias, float *y, size_t ldy, uint32_t *wc)
{
    rows_bf16(3, 8, k, xt, rows, w, wt, ldw_bytes, cols, next_rows, bias, y, ldy, wc);
}

/* Row vectors R for m rows, and the columns J per tile that go with it. */
static size_t rows_r(size_t m) { return (m + 15) / 16; }
static size_t rows_j(size_t r) { return r == 1 ? 16 : r == 2 ? 12 : 8; }

/* Scratch words (4 bytes) of the row-lane path: xt, then wc; 0 when the
 * row-lane path does not apply. */
static size_t rows_scratch(size_t m, size_t k, int bf16)
{
    if (m < ROWS_MIN_M || m > ROWS_MAX_M)
        return 0;
    size_t kk = bf16 ? k / 2 + k % 2 : k;
    size_t xt = (kk + 32) * 16 * rows_r(m);
    if (xt * 4 > ROWS_XT_MAX)
        return 0;
    return xt + 16 * KCR;
}

AVX512 static void linear_rows_f32(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                                   const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                   const float *bias, float *y, size_t ldy, float *scratch)
{
    size_t R = rows_r(m), J = rows_j(R);
    float *xt = scratch, *wc = scratch + (k + 32) * 16 * R;
    pack_cols_f32((const unsigned char *)x, KERN_W_F32, ldx * sizeof *x, m, R, 0, k, xt, 16 * R,
                  0);
    for (size_t j0 = 0; j0 < n; j0 += J) {
        size_t cols = n - j0 < J ? n - j0 : J;
        size_t next = n - j0 - cols < J ? n - j0 - cols : J;
        const unsigned char *wj = w + j0 * ldw_bytes;
        const float *bj = bias ? bias + j0 : NULL;
        if (R == 1)
            rows_f32_r1(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
        else if (R == 2)
            rows_f32_r2(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
        else
            rows_f32_r3(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
    }
}

BF16 static void linear_rows_bf16(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                                  const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                  const float *bias, float *y, size_t ldy, uint32_t *scratch)
{
    size_t R = rows_r(m), J = rows_j(R), pairs = k / 2 + k % 2;
    uint32_t *xt = scratch, *wc = scratch + (pairs + 32) * 16 * R;
    pack_cols_bf16((const unsigned char *)x, KERN_W_F32, ldx * sizeof *x, m, R, 0, k, xt,
                   16 * R, 0);
    for (size_t j0 = 0; j0 < n; j0 += J) {
        size_t cols = n - j0 < J ? n - j0 : J;
        size_t next = n - j0 - cols < J ? n - j0 - cols : J;
        const unsigned char *wj = w + j0 * ldw_bytes;
        const float *bj = bias ? bias + j0 : NULL;
        if (R == 1)
            rows_bf16_r1(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
        else if (R == 2)
            rows_bf16_r2(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
        else
            rows_bf16_r3(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
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
    size_t rows_words = rows_scratch(m, k, bf16);
    size_t words = rows_words ? rows_words : bf16 ? bf16_scratch(m, k) : f32_scratch(m, k);
    void *scratch = kern_linear_scratch(words * 4);
    if (!scratch)
        return -1;
    if (rows_words && bf16)
        linear_rows_bf16(m, n, k, x, ldx, w, wt, ldw_bytes, bias, y, ldy, scratch);
    else if (rows_words)
        linear_rows_f32(m, n, k, x, ldx, w, wt, ldw_bytes, bias, y, ldy, scratch);
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
