/* Private to kernels/: AVX-512 building blocks shared by the GEMM files —
 * the register tiles of the packed GEMMs (gemm_packed_avx512.c,
 * gemm_bf16.c), which kern_linear (gemm_mapped_avx512.c,
 * gemm_mapped_rows_avx512.c) runs on blocks it packs itself, and the 16×16
 * transposes and widening / bf16-rounding loads that pack them. Every
 * function is inlined into its caller, which must be compiled for the same
 * target (avx512f, plus avx512bf16 for the bf16 ones). x86 only. */
#ifndef EMB_GEMM_TILE_AVX512_H
#define EMB_GEMM_TILE_AVX512_H

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define KERN_TILE_AVX512 __attribute__((always_inline, target("avx512f")))
#define KERN_TILE_BF16 __attribute__((always_inline, target("avx512f,avx512bf16")))

/* Rows per register tile, at most (2 zmm accumulators per row). */
#define KERN_TILE_MR 12

/* One register tile: rows [0, mr) × the 32 columns of a panel slice. */
typedef struct kern_tile_args {
    size_t kc;         /* k values (fp32 tile) or k pairs (bf16 tile) */
    const void *a;     /* x sliver [kc][mr] (floats or bf16 pair words); direct
                        * tiles (gemm_packed_avx512.c): x row 0 at column k0 */
    size_t lda;        /* direct tiles: x row stride */
    const void *b;     /* panel slice [kc][32] (floats or bf16 pair words) */
    float *y;          /* row 0 of the tile */
    size_t ldy;
    __mmask16 m0, m1;  /* valid columns of the two 16-lane halves */
    int load_c;        /* continue the chains stored in y (a later k block) */
    const float *bias; /* last k block only (NULL otherwise / none) */
} kern_tile_args;

/* Column masks of a panel with `cols` valid columns: lanes 0..15, 16..31. */
static inline __mmask16 kern_mask_lo(size_t cols)
{
    return (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
}

static inline __mmask16 kern_mask_hi(size_t cols)
{
    return (__mmask16)(cols >= 32 ? 0xffffu : cols > 16 ? (1u << (cols - 16)) - 1u : 0u);
}

/* A tile's accumulators: the chains stored in y (a later k block) or zero. */
static inline KERN_TILE_AVX512 void kern_tile_start(const int mr, const kern_tile_args *t,
                                                    __m512 *c0, __m512 *c1)
{
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
}

/* + bias (last k block), then the valid columns of each row back to y. */
static inline KERN_TILE_AVX512 void kern_tile_finish(const int mr, const kern_tile_args *t,
                                                     __m512 *c0, __m512 *c1)
{
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

/* fp32 tile: per element c = fma(x, w, c) for each k in order (from 0, or
 * from the value stored in y), then + bias: the same chain whatever mr. The
 * x value of row r at step k is a[k·ks + r·rs]: a sliver [kc][mr] (rs 1,
 * ks mr: kern_tile_f32) or x in place (rs = lda, ks 1). */
static inline KERN_TILE_AVX512 void kern_tile_f32_at(const int mr, const kern_tile_args *t,
                                                     size_t rs, size_t ks)
{
    __m512 c0[KERN_TILE_MR], c1[KERN_TILE_MR];
    kern_tile_start(mr, t, c0, c1);
    const float *a = t->a, *b = t->b;
    for (size_t k = 0; k < t->kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b);
        __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[(size_t)r * rs]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
        a += ks;
        b += KERN_PACK_NR;
    }
    kern_tile_finish(mr, t, c0, c1);
}

static inline KERN_TILE_AVX512 void kern_tile_f32(const int mr, const kern_tile_args *t)
{
    kern_tile_f32_at(mr, t, 1, (size_t)mr);
}

/* bf16 tile: per element one vdpbf16ps per k pair in order (x pair as the
 * first operand), then + bias. */
static inline KERN_TILE_BF16 void kern_tile_bf16(const int mr, const kern_tile_args *t)
{
    __m512 c0[KERN_TILE_MR], c1[KERN_TILE_MR];
    kern_tile_start(mr, t, c0, c1);
    const uint32_t *a = t->a, *b = t->b;
    for (size_t p = 0; p < t->kc; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r]);
            c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
        }
        a += mr;
        b += KERN_PACK_NR;
    }
    kern_tile_finish(mr, t, c0, c1);
}

/* 16 vectors r[i] (rows) -> r[c] = column c: a 16×16 32-bit transpose. */
static inline KERN_TILE_AVX512 void kern_transpose16(__m512 r[16])
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

/* 16 consecutive values of type wt at p (any alignment) widened to fp32
 * exactly (nv < 16: the first nv, then zeros; nothing past them is read). */
static inline KERN_TILE_AVX512 __m512 kern_load_f32(const unsigned char *p, kern_wtype wt,
                                                    size_t nv)
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

/* kern_f32_to_bf16 of 16 floats (round to nearest even, NaN kept quiet,
 * fp32 subnormals rounded like any value), in the low half of each 32-bit
 * lane. */
static inline KERN_TILE_AVX512 __m512i kern_bf16_bits(__m512 f)
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

/* 32 floats (k 0..15 in lo, 16..31 in hi) as 16 bf16 pairs rounded as
 * kern_f32_to_bf16: word p holds k = 2p in its low half, 2p+1 in its high
 * half. */
static inline KERN_TILE_AVX512 __m512 kern_bf16_pairs(__m512 lo, __m512 hi)
{
    __m512i a = kern_bf16_bits(lo), b = kern_bf16_bits(hi);
    /* per 64-bit lane e0 | e1 << 32 -> low 32 bits e0 | e1 << 16 */
    __m256i pa = _mm512_cvtepi64_epi32(_mm512_or_si512(a, _mm512_srli_epi64(a, 16)));
    __m256i pb = _mm512_cvtepi64_epi32(_mm512_or_si512(b, _mm512_srli_epi64(b, 16)));
    return _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(pa), pb, 1));
}

/* 32 consecutive values of type wt at p (nv < 32: the first nv, then zeros)
 * rounded to bf16 as kern_f32_to_bf16 (of the widened value), as 16 pairs
 * (32-bit words, low half the even k): bf16 values are pairs already. */
static inline KERN_TILE_BF16 __m512 kern_load_bf16_pairs(const unsigned char *p, kern_wtype wt,
                                                         size_t nv)
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
            return kern_bf16_pairs(lo, hi);
    }
    return (__m512)_mm512_cvtne2ps_pbh(hi, lo);
}

#endif

#endif
