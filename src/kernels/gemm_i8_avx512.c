/* AVX512_VNNI kern_linear_i8: y = dequant(quant_u8(x) · w^T) (+ bias) with
 * w [n, k] int8 read in place.
 *
 *   for each chunk of rows (all of them unless m·k is large):
 *     quantize the rows to u8 [rows][kp] (kp = k rounded up to 4), with
 *     their scales and zero points (bitwise kern_quant_u8_row)
 *     for each group of 32-column panels (sized to stay in L2; one panel
 *     for a few rows):
 *       pack each panel: [kq][32] dwords, dword (q, j) = w[j, 4q..4q+3]
 *       (16×16 dword transposes, zero past n and past k), and per column
 *       wsum[j] = Σ_k w[j, k] (vpdpbusd against ones)
 *       register tiles of MR rows × 32 columns over all of k: int32
 *       accumulators, vpdpbusd of each row's broadcast u8 quad with the
 *       panel's two zmm of weights
 *       epilogue: (acc − z_i·wsum[j]) → float, × (s_i · ws[j]), + bias[j]
 *       outlier features (kern_i8_outliers): each row split before it is
 *       quantized, and after each tile its fp32 outlier sums added to the
 *       tile's y (kern_i8_outliers_add_avx2: the AVX2 path's code, since
 *       every VNNI CPU has AVX2, so the numbers are the same by
 *       construction)
 *
 * Packing a panel prefetches the next panel's rows, so with few rows (one
 * panel per group, packed then used at once) the weights stream from
 * memory while the tiles run. Measured alternatives that lost (Zen 4,
 * e5-small shapes): a row-lane path for up to 16 rows (x's rows as the
 * vector lanes, weight quads broadcast from w in place, nothing packed):
 * slower at 1, 5 and 16 rows; quantizing each row block between the tiles
 * rather than all rows first: slower at 4096 rows; 12-row tiles: no gain.
 *
 * kern_linear_i8p runs the same driver and tiles on weights already in the
 * panel layout (kern_pack_i8_panels, at convert time), read in place: no
 * packing; the first row tile of each group computes the column sums
 * (vpdpbusd against ones) and prefetches the panels ahead. Measured (Zen 4,
 * 1 thread, weights from DRAM): 1.2-1.4x kern_linear_i8 at 1 row, 1.3-1.5x
 * at 16, 1.02-1.10x at 128, equal at 4096 (bench/linear_bench.c i8p).
 *
 * The integer sums are exact and the float steps are those of the portable
 * path (gemm_i8.c) in the same order, so the numbers are bitwise equal to
 * it, whatever the blocking. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <float.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "kernels/gemm_tile_avx512.h"

#if defined(__x86_64__) || defined(__i386__)

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INLINE inline __attribute__((always_inline))
#define NR 32                          /* columns per panel */
#define MR 8                           /* rows per register tile (2 zmm each) */
#define FEW_M (2 * MR)                 /* up to this many rows: one panel per group */
#define GROUP_BYTES ((size_t)512 << 10) /* packed panels per group: inside L2 */
#define X_BYTES ((size_t)4 << 20)      /* quantized rows per chunk, at most (about) */

/* ------------------------------------------------------------ quantizer */

/* The mask of the first n of 16 lanes (all of them when n >= 16). */
static __mmask16 lanes16(size_t n)
{
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

/* u8 of 16 values: clamp(round(v / s) + z, 0, 255) as 16 int32 before the
 * final clamp (done by the saturating packs), v / s first clamped to
 * [-512, 512] as kern_quant_u8_row does when `clamp`. */
VNNI static INLINE __m512i quant16(__m512 v, __m512 vs, __m512i vz, int clamp)
{
    __m512 q = _mm512_div_ps(v, vs);
    if (clamp)
        q = _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(-512.0f)), _mm512_set1_ps(512.0f));
    return _mm512_add_epi32(_mm512_cvtps_epi32(q), vz);
}

/* The range of a row: lo = min(0, min x), hi = max(0, max x), and whether
 * every value is finite (the largest exponent field is not 0xff). */
VNNI static INLINE void row_range(size_t k, const float *x, float *lo_out, float *hi_out,
                                  int *finite)
{
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    const __m512i em = _mm512_set1_epi32(0x7f800000);
    __m512i ex = _mm512_setzero_si512();
    __m512 lo1 = lo, hi1 = hi;
    __m512i ex1 = ex;
    size_t i = 0;
    for (; i + 32 <= k; i += 32) { /* two chains of each */
        __m512 v = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
        ex = _mm512_max_epu32(ex, _mm512_and_si512(_mm512_castps_si512(v), em));
        lo1 = _mm512_min_ps(lo1, v1);
        hi1 = _mm512_max_ps(hi1, v1);
        ex1 = _mm512_max_epu32(ex1, _mm512_and_si512(_mm512_castps_si512(v1), em));
    }
    for (; i < k; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(lanes16(k - i), x + i); /* zeros: inside [lo, hi] */
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
        ex = _mm512_max_epu32(ex, _mm512_and_si512(_mm512_castps_si512(v), em));
    }
    *lo_out = _mm512_reduce_min_ps(_mm512_min_ps(lo, lo1));
    *hi_out = _mm512_reduce_max_ps(_mm512_max_ps(hi, hi1));
    *finite = _mm512_reduce_max_epu32(_mm512_max_epu32(ex, ex1)) != 0x7f800000u;
}

/* The bytes of a row with scale s > 0 and zero point z: kp bytes (from k
 * on, the bytes of zeros, which meet zero weights). |v| <= hi - lo, so
 * |v / s| <= 256 for a normal s and below 383 for a subnormal (inexact)
 * one: the clamp to [-512, 512] changes nothing; `clamp` keeps it as a
 * guard for subnormal scales only. */
VNNI static INLINE void row_bytes(size_t k, size_t kp, const float *x, float s, int32_t z,
                                  int clamp, uint8_t *u)
{
    const __m512 vs = _mm512_set1_ps(s);
    const __m512i vz = _mm512_set1_epi32(z);
    /* packs then packus leave dword (4 bytes) 4l + r of lane l of input r:
     * back to input order */
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    for (size_t i = 0; i < kp; i += 64) {
        __m512i q[4];
#pragma GCC unroll 4
        for (size_t t = 0; t < 4; t++) {
            size_t at = i + 16 * t;
            q[t] = quant16(_mm512_maskz_loadu_ps(lanes16(k > at ? k - at : 0), x + at), vs, vz,
                           clamp);
        }
        __m512i b = _mm512_packus_epi16(_mm512_packs_epi32(q[0], q[1]),
                                        _mm512_packs_epi32(q[2], q[3]));
        b = _mm512_permutexvar_epi32(order, b);
        size_t nb = kp - i;
        __mmask64 bm = nb >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << nb) - 1;
        _mm512_mask_storeu_epi8(u + i, bm, b);
    }
}

/* kern_quant_u8_row on rows [0, mc) of x with the same float operations,
 * 16 lanes at a time: row i to u + i·kp (kp bytes). Blocks of rows take
 * the ranges first, then the parameters, then the bytes, so that the
 * latency of one row's reductions overlaps the next row's work. With
 * outlier features (out not NULL): each row of a block split first into
 * xm + i·k (QB rows of k floats), its outlier features to xo + row·count,
 * and quantized from there. */
#define QB 8
VNNI static void quant_rows(size_t mc, size_t k, size_t kp, const float *x, size_t ldx,
                            const kern_i8_outliers *out, float *xm, float *xo, uint8_t *u,
                            float *scale, int32_t *zero)
{
    for (size_t i0 = 0; i0 < mc; i0 += QB) {
        size_t nb = mc - i0 < QB ? mc - i0 : QB;
        float lo[QB], hi[QB];
        int finite[QB], any[QB];
        const float *xr[QB];
        for (size_t i = 0; i < nb; i++) {
            xr[i] = x + (i0 + i) * ldx;
            if (out) {
                kern_i8_split_row(k, xr[i], out, xm + i * k, xo + (i0 + i) * out->count);
                xr[i] = xm + i * k;
            }
        }
        for (size_t i = 0; i < nb; i++)
            row_range(k, xr[i], &lo[i], &hi[i], &finite[i]);
        for (size_t i = 0; i < nb; i++)
            any[i] = kern_quant_u8_params(lo[i], hi[i], finite[i], &scale[i0 + i], &zero[i0 + i]);
        for (size_t i = 0; i < nb; i++) {
            uint8_t *ui = u + (i0 + i) * kp;
            if (!any[i])
                memset(ui, 0, kp);
            else if (scale[i0 + i] >= FLT_MIN)
                row_bytes(k, kp, xr[i], scale[i0 + i], zero[i0 + i], 0, ui);
            else
                row_bytes(k, kp, xr[i], scale[i0 + i], zero[i0 + i], 1, ui);
        }
    }
}

/* --------------------------------------------------------------- packing */

/* Rows [0, cols) of w (cols <= 32, row stride ldw bytes) as a panel
 * dst[kq][32] of dwords (the 4 bytes of k values 4q..4q+3 of column j at
 * dst[32q + j], zero past cols and past k) and wsum[32] their sums. The
 * next panel's rows (pf_rows of them, up to 32) are prefetched on the way:
 * with few x rows the packing would otherwise wait on memory. */
VNNI static void pack_panel(const int8_t *w, size_t ldw, size_t cols, size_t k, int32_t *dst,
                            int32_t *wsum, size_t pf_rows)
{
    const size_t pf_step = NR * ldw;
    const __m512i ones = _mm512_set1_epi8(1);
    for (size_t h = 0; h < 2; h++) {
        size_t nr = cols > 16 * h ? cols - 16 * h : 0;
        if (nr > 16)
            nr = 16;
        __m512i sum = _mm512_setzero_si512();
        const int8_t *src = w + 16 * h * ldw;
        for (size_t kb = 0; kb < k; kb += 64) {
            size_t nb = k - kb < 64 ? k - kb : 64;
            __mmask64 bm = nb == 64 ? ~(__mmask64)0 : ((__mmask64)1 << nb) - 1;
            __m512 r[16];
#pragma GCC unroll 16
            for (size_t j = 0; j < 16; j++) {
                if (16 * h + j < pf_rows)
                    _mm_prefetch((const char *)(src + j * ldw + kb + pf_step), _MM_HINT_T1);
                r[j] = j < nr ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi8(bm, src + j * ldw + kb))
                              : _mm512_setzero_ps();
            }
            kern_transpose16(r);
            size_t nq = (nb + 3) / 4;
            int32_t *d = dst + (kb / 4) * NR + 16 * h;
#pragma GCC unroll 16
            for (size_t t = 0; t < 16; t++)
                if (t < nq) {
                    __m512i v = _mm512_castps_si512(r[t]);
                    _mm512_storeu_si512(d + t * NR, v);
                    sum = _mm512_dpbusd_epi32(sum, ones, v);
                }
        }
        _mm512_storeu_si512(wsum + 16 * h, sum);
    }
}

/* ------------------------------------------------------------------ tiles */

typedef struct i8_tile {
    size_t kq;          /* k quads */
    const uint8_t *a;   /* quantized row 0 of the tile */
    size_t lda;         /* bytes between quantized rows (kp) */
    const uint8_t *b;   /* first panel [kq][32] dwords, any alignment; the next kq·128 bytes on */
    int32_t *wsum;      /* the panels' column sums [panels][32]: read, or written when computed */
    size_t panels;
    size_t cols;        /* columns from the first panel's on (> 32·(panels − 1)) */
    const float *sc;    /* row scales */
    const int32_t *zp;  /* row zero points */
    const float *ws;    /* column scales of the first panel's columns on */
    const float *bias;  /* the same, NULL: none */
    float *y;           /* row 0, the first panel's column 0 */
    size_t ldy;
} i8_tile;

/* acc += the u8 × s8 quad products of a and b, in place: with the
 * intrinsic GCC copies every accumulator of the tile each iteration. */
VNNI static INLINE void dpbusd(__m512i *acc, __m512i a, __m512i b)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(*acc) : "v"(a), "v"(b));
}

/* R rows × the panels' columns over all of k. S (pre-packed panels, the
 * first row tile of a group): also the column sums (vpdpbusd of the
 * weights against ones, into t->wsum) and prefetches into L1 PF_L1 bytes
 * ahead and into L2 PF_L2 bytes ahead in the panels, which lie one after
 * the other in memory (measured, 16 rows from DRAM: ~1.2x the rate of an L1
 * prefetch alone at 2 KiB; distances 1-4 KiB / 8-32 KiB about equal). */
#define PF_L1 4096
#define PF_L2 16384
VNNI static INLINE void tile_i8(const size_t R, const int S, const i8_tile *t)
{
    const size_t pbytes = t->kq * NR * sizeof(int32_t);
    const __m512i ones = _mm512_set1_epi8(1);
    for (size_t g = 0; g < t->panels; g++) {
        size_t cols = t->cols - g * NR;
        __mmask16 m0 = kern_mask_lo(cols), m1 = kern_mask_hi(cols);
        const uint8_t *b = t->b + g * pbytes;
        int32_t *wsum = t->wsum + g * NR;
        const float *ws = t->ws + g * NR, *bias = t->bias ? t->bias + g * NR : NULL;
        float *y = t->y + g * NR;
        __m512i c0[MR], c1[MR], s0 = _mm512_setzero_si512(), s1 = s0;
#pragma GCC unroll 16
        for (size_t r = 0; r < R; r++)
            c0[r] = c1[r] = _mm512_setzero_si512();
        const uint8_t *a = t->a;
        size_t lda = t->lda;
        for (size_t q = 0; q < t->kq; q++) {
            const uint8_t *bq = b + 4 * NR * q;
            __m512i w0 = _mm512_loadu_si512(bq);
            __m512i w1 = _mm512_loadu_si512(bq + 64);
            if (S) {
                _mm_prefetch((const char *)bq + PF_L1, _MM_HINT_T0);
                _mm_prefetch((const char *)bq + PF_L1 + 64, _MM_HINT_T0);
                _mm_prefetch((const char *)bq + PF_L2, _MM_HINT_T1);
                _mm_prefetch((const char *)bq + PF_L2 + 64, _MM_HINT_T1);
                dpbusd(&s0, ones, w0);
                dpbusd(&s1, ones, w1);
            }
#pragma GCC unroll 16
            for (size_t r = 0; r < R; r++) {
                __m512i xv = _mm512_broadcastd_epi32(_mm_loadu_si32(a + r * lda + 4 * q));
                dpbusd(&c0[r], xv, w0);
                dpbusd(&c1[r], xv, w1);
            }
        }
        if (S) {
            _mm512_storeu_si512(wsum, s0);
            _mm512_storeu_si512(wsum + 16, s1);
        } else {
            s0 = _mm512_loadu_si512(wsum);
            s1 = _mm512_loadu_si512(wsum + 16);
        }
        __m512 ws0 = _mm512_maskz_loadu_ps(m0, ws);
        __m512 ws1 = _mm512_maskz_loadu_ps(m1, ws + 16);
        __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
        if (bias) {
            b0 = _mm512_maskz_loadu_ps(m0, bias);
            b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
        }
#pragma GCC unroll 16
        for (size_t r = 0; r < R; r++) {
            __m512i vz = _mm512_set1_epi32(t->zp[r]);
            __m512 vs = _mm512_set1_ps(t->sc[r]);
            __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c0[r], _mm512_mullo_epi32(vz, s0)));
            __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c1[r], _mm512_mullo_epi32(vz, s1)));
            f0 = _mm512_mul_ps(f0, _mm512_mul_ps(vs, ws0));
            f1 = _mm512_mul_ps(f1, _mm512_mul_ps(vs, ws1));
            if (bias) {
                f0 = _mm512_add_ps(f0, b0);
                f1 = _mm512_add_ps(f1, b1);
            }
            _mm512_mask_storeu_ps(y + r * t->ldy, m0, f0);
            _mm512_mask_storeu_ps(y + r * t->ldy + 16, m1, f1);
        }
    }
}

VNNI static void tile_any(size_t mr, int sums, const i8_tile *t)
{
    switch (mr + (sums ? MR : 0)) {
#define CASE(R)                                                                                   \
    case R:                                                                                       \
        tile_i8(R, 0, t);                                                                         \
        break;                                                                                    \
    case R + MR:                                                                                  \
        tile_i8(R, 1, t);                                                                         \
        break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8)
#undef CASE
    default:
        break;
    }
}

/* ------------------------------------------------------------------ driver */

/* Both products: w [n, k] (row stride ldw) packed here group by group, or,
 * when `panels` is not NULL, its pre-packed panels read in place (the
 * column sums computed by each group's first row tile). */
VNNI int kern_linear_i8_vnni(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                          const int8_t *w, size_t ldw, const uint8_t *panels, const float *ws,
                          const kern_i8_outliers *out, const float *bias, float *y, size_t ldy)
{
    size_t kq = k / 4 + (k % 4 != 0), kp = 4 * kq; /* k <= KERN_I8_MAX_K: no overflow */
    size_t panel_bytes = kq * NR * sizeof(int32_t);
    size_t npanels = kern_pack_panels(n);
    size_t group = m <= FEW_M ? 1 : GROUP_BYTES / panel_bytes;
    if (group < 1)
        group = 1;
    if (group > npanels)
        group = npanels;
    size_t no = out ? out->count : 0; /* <= KERN_I8_MAX_OUTLIERS */
    size_t rows = X_BYTES / (kp + 8 + no * sizeof(float));
    if (rows < MR)
        rows = MR;
    if (rows > m)
        rows = m;
    /* each term bounded by a few MiB: no overflow */
    size_t xbytes = (rows * kp + 63) / 64 * 64, pack_bytes = panels ? 0 : group * panel_bytes;
    size_t sum_bytes = group * NR * sizeof(int32_t);
    size_t obytes = no ? (QB * k + rows * no) * sizeof(float) : 0; /* split rows, features */
    size_t bytes = pack_bytes + sum_bytes + xbytes + obytes +
                   rows * (sizeof(float) + sizeof(int32_t));
    unsigned char *buf = kern_linear_scratch(bytes);
    if (!buf)
        return -1;
    uint8_t *wpack = buf;
    int32_t *wsum = (int32_t *)(void *)(buf + pack_bytes);
    uint8_t *xq = buf + pack_bytes + sum_bytes;
    float *xm = (float *)(void *)(xq + xbytes), *xo = xm + QB * k;
    float *sc = (float *)(void *)(xq + xbytes + obytes);
    int32_t *zp = (int32_t *)(void *)(sc + rows);
    for (size_t i0 = 0; i0 < m; i0 += rows) {
        size_t mc = m - i0 < rows ? m - i0 : rows;
        quant_rows(mc, k, kp, x + i0 * ldx, ldx, out, xm, xo, xq, sc, zp);
        for (size_t p0 = 0; p0 < npanels; p0 += group) {
            size_t gp = npanels - p0 < group ? npanels - p0 : group;
            for (size_t g = 0; g < gp && !panels; g++) {
                size_t j0 = (p0 + g) * NR;
                size_t cols = n - j0 < NR ? n - j0 : NR;
                size_t next = n - j0 - cols;
                pack_panel(w + j0 * ldw, ldw, cols, k, (int32_t *)(void *)(wpack + g * panel_bytes),
                           wsum + g * NR, next < NR ? next : NR);
            }
            for (size_t r0 = 0; r0 < mc; r0 += MR) {
                size_t mr = mc - r0 < MR ? mc - r0 : MR;
                i8_tile t;
                t.kq = kq;
                t.a = xq + r0 * kp;
                t.lda = kp;
                t.b = panels ? panels + p0 * panel_bytes : wpack;
                t.wsum = wsum;
                t.panels = gp;
                t.cols = n - p0 * NR;
                t.sc = sc + r0;
                t.zp = zp + r0;
                t.ws = ws + p0 * NR;
                t.bias = bias ? bias + p0 * NR : NULL;
                t.y = y + (i0 + r0) * ldy + p0 * NR;
                t.ldy = ldy;
                tile_any(mr, panels && r0 == 0, &t);
                if (no) /* the tile's outlier sums, while its y is in L1 */
                    kern_i8_outliers_add_avx2(mr, t.cols < gp * NR ? t.cols : gp * NR, no,
                                              xo + r0 * no, out->w + p0 * NR, out->ldw, t.y,
                                              ldy);
            }
        }
    }
    return 0;
}

#endif
