/* AVX2 kern_linear_i8 / kern_linear_i8p, for CPUs without AVX512_VNNI:
 * y = dequant(quant_u8(x) · w^T) (+ bias), the same numbers as the
 * portable path (gemm_i8.c).
 *
 * vpmaddubsw would saturate (255·127·2 > 32767), so the sums are made
 * exact by widening both sides to 16 bits and using vpmaddwd into int32:
 *   each x row is quantized (bitwise kern_quant_u8_row) straight to int16
 *   v = u − z in [-255, 255] (zero past k), so acc = Σ v·w is the
 *   contract's Σ u·w − z·Σ w with no column sums; |acc| <= 255·128·k
 *   stays inside int32 for k <= KERN_I8_MAX_K, and so does every partial
 *   sum;
 *   the weights are read in place from the VNNI panels (byte
 *   (p·kq + q)·128 + 4c + b = w[32p + c, 4q + b]) and widened in register
 *   (vpmovsxbw of 16 bytes: 4 columns × 4 k values);
 *   register tile: MR = 6 rows × 8 columns, per k quad two widened weight
 *   vectors, MR broadcasts of the row's 4 int16 values (vpbroadcastq) and
 *   2·MR vpmaddwd + vpaddd (12 accumulators); one row takes a whole
 *   32-column quad per pass (the panel streams in order), two rows 16
 *   columns; each accumulator dword holds half a column's quad (a k pair),
 *   folded at the end with vphaddd;
 *   epilogue: (float)acc · (s_i · ws[j]) (+ bias[j]), the portable path's
 *   float steps in its order (no FMA: this file is compiled for AVX2
 *   without FMA, so nothing contracts);
 *   outlier features (kern_i8_outliers): each row split before it is
 *   quantized (kern_i8_split_row), and after each row tile's group of
 *   panels its fp32 outlier sums added to that y, in blocks of 2 rows ×
 *   32 columns (kern_i8_outliers_add_avx2, also the VNNI path's).
 *
 * kern_linear_i8 (w [n, k] row-major) first packs each group of panels
 * into the same layout in the thread's scratch (plain dword copies).
 *
 * Measured (Zen 4 capped at AVX2, 1 thread, e5-small shapes, weights
 * from DRAM, bench/linear_bench.c avx2): kern_linear_i8p 32-35 GFLOP/s at
 * 1 row, 110-115 at 16, 140-145 at 128 and 4096: 20x, 5x and 2.1-3.4x the
 * AVX2 fp32 kern_linear. The accumulate is inline asm: with the intrinsics
 * GCC copied every accumulator each iteration and spilled (1.5x slower).
 * Not tried: weights pre-widened to int16 in scratch (would save the two
 * vpmovsxbw of 26 vector ops per quad at 6 rows).
 *
 * The integer sums are exact and the float steps are those of the portable
 * path, so y is bitwise equal to it whatever the blocking. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX2 __attribute__((target("avx2")))
#define INLINE inline __attribute__((always_inline))
#define NR 32                            /* columns per panel */
#define MR 6                             /* rows per register tile */
#define GROUP_BYTES ((size_t)256 << 10)  /* int8 panels per group: inside L2 */
#define X_BYTES ((size_t)4 << 20)        /* quantized rows per chunk, at most (about) */
#define PF_DIST 2048                     /* software prefetch distance in the panels */
#ifndef TILE1_G
#define TILE1_G 4
#endif
#ifndef TILE2_G
#define TILE2_G 2
#endif

/* ------------------------------------------------------------ quantizer */

/* The range of a row: lo = min(0, min x), hi = max(0, max x), and whether
 * every value is finite (no exponent field 0xff). */
AVX2 static void row_range(size_t k, const float *x, float *lo_out, float *hi_out, int *finite)
{
    __m256 lo = _mm256_setzero_ps(), hi = lo, lo1 = lo, hi1 = lo;
    const __m256i em = _mm256_set1_epi32(0x7f800000);
    __m256i ex = _mm256_setzero_si256(), ex1 = ex;
    size_t i = 0;
    for (; i + 16 <= k; i += 16) {
        __m256 v = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
        ex = _mm256_max_epu32(ex, _mm256_and_si256(_mm256_castps_si256(v), em));
        lo1 = _mm256_min_ps(lo1, v1);
        hi1 = _mm256_max_ps(hi1, v1);
        ex1 = _mm256_max_epu32(ex1, _mm256_and_si256(_mm256_castps_si256(v1), em));
    }
    for (; i < k; i += 8) {
        __m256 v = _mm256_maskload_ps(x + i, kern_lanes8(k - i)); /* zeros: inside [lo, hi] */
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
        ex = _mm256_max_epu32(ex, _mm256_and_si256(_mm256_castps_si256(v), em));
    }
    lo = _mm256_min_ps(lo, lo1);
    hi = _mm256_max_ps(hi, hi1);
    ex = _mm256_max_epu32(ex, ex1);
    float l[8], h[8];
    uint32_t e[8];
    _mm256_storeu_ps(l, lo);
    _mm256_storeu_ps(h, hi);
    _mm256_storeu_si256((__m256i *)(void *)e, ex);
    float lr = l[0], hr = h[0];
    uint32_t er = e[0];
    for (int t = 1; t < 8; t++) {
        lr = l[t] < lr ? l[t] : lr;
        hr = h[t] > hr ? h[t] : hr;
        er = e[t] > er ? e[t] : er;
    }
    *lo_out = lr;
    *hi_out = hr;
    *finite = er != 0x7f800000u;
}

/* v = clamp(round(clamp(x / s, -512, 512)) + z, 0, 255) − z for 8 values,
 * as int32 (kern_quant_u8_row's byte, minus the zero point). */
AVX2 static INLINE __m256i quant8(__m256 v, __m256 vs, __m256i vz)
{
    __m256 q = _mm256_div_ps(v, vs);
    q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-512.0f)), _mm256_set1_ps(512.0f));
    __m256i u = _mm256_add_epi32(_mm256_cvtps_epi32(q), vz);
    u = _mm256_min_epi32(_mm256_max_epi32(u, _mm256_setzero_si256()), _mm256_set1_epi32(255));
    return _mm256_sub_epi32(u, vz);
}

/* Row i of x quantized to v + i·ldv (ldv int16, a multiple of 16 >= k;
 * zero from k on), with its scale. A row that quantizes to zeros (zero,
 * underflowing or non-finite range) gives v = 0. With outlier features
 * (out not NULL): each row split first, its outlier features to
 * xo + i·count, the rest quantized from xm (k floats). */
AVX2 static void quant_rows(size_t mc, size_t k, size_t ldv, const float *x, size_t ldx,
                            const kern_i8_outliers *out, float *xm, float *xo, int16_t *v,
                            float *scale)
{
    for (size_t i = 0; i < mc; i++) {
        const float *xi = x + i * ldx;
        int16_t *vi = v + i * ldv;
        if (out) {
            kern_i8_split_row(k, xi, out, xm, xo + i * out->count);
            xi = xm;
        }
        float lo, hi, s;
        int finite;
        int32_t z;
        row_range(k, xi, &lo, &hi, &finite);
        int any = kern_quant_u8_params(lo, hi, finite, &s, &z);
        scale[i] = s;
        if (!any) {
            memset(vi, 0, ldv * sizeof *vi);
            continue;
        }
        const __m256 vs = _mm256_set1_ps(s);
        const __m256i vz = _mm256_set1_epi32(z);
        for (size_t t = 0; t < ldv; t += 16) {
            __m256 a, b; /* past k: x = 0, so v = z − z = 0 */
            if (t + 16 <= k) {
                a = _mm256_loadu_ps(xi + t);
                b = _mm256_loadu_ps(xi + t + 8);
            } else {
                a = _mm256_maskload_ps(xi + t, kern_lanes8(k > t ? k - t : 0));
                b = _mm256_maskload_ps(xi + t + 8, kern_lanes8(k > t + 8 ? k - t - 8 : 0));
            }
            __m256i p = _mm256_packs_epi32(quant8(a, vs, vz), quant8(b, vs, vz));
            _mm256_storeu_si256((__m256i *)(void *)(vi + t), _mm256_permute4x64_epi64(p, 0xD8));
        }
    }
}

/* ------------------------------------------------------ outlier features */

/* Rows [0, R) of the outlier sums added to y, 32 columns at a time (2 rows
 * × 4 vectors of accumulators: each broadcast x serves 4 vectors, each
 * weight load 2 rows), then the last n % 32 columns 8 at a time (masked).
 * Per lane the portable path's operations: x0·w0, then + x_t·w_t for
 * t = 1, 2, … (mul, then add: nothing fused), then y + o. */
AVX2 static INLINE void outliers_rows(const size_t R, size_t n, size_t count, const float *xo,
                                      const float *w, size_t ldw, float *y, size_t ldy)
{
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 acc[2][4];
#pragma GCC unroll 2
        for (size_t r = 0; r < R; r++) {
            __m256 xb = _mm256_set1_ps(xo[r * count]);
#pragma GCC unroll 4
            for (size_t g = 0; g < 4; g++)
                acc[r][g] = _mm256_mul_ps(xb, _mm256_loadu_ps(w + j + 8 * g));
        }
        for (size_t t = 1; t < count; t++) {
            const float *wt = w + t * ldw + j;
            __m256 xb[2];
#pragma GCC unroll 2
            for (size_t r = 0; r < R; r++)
                xb[r] = _mm256_set1_ps(xo[r * count + t]);
#pragma GCC unroll 4
            for (size_t g = 0; g < 4; g++) {
                __m256 wv = _mm256_loadu_ps(wt + 8 * g);
#pragma GCC unroll 2
                for (size_t r = 0; r < R; r++)
                    acc[r][g] = _mm256_add_ps(acc[r][g], _mm256_mul_ps(xb[r], wv));
            }
        }
#pragma GCC unroll 2
        for (size_t r = 0; r < R; r++)
#pragma GCC unroll 4
            for (size_t g = 0; g < 4; g++) {
                float *yr = y + r * ldy + j + 8 * g;
                _mm256_storeu_ps(yr, _mm256_add_ps(_mm256_loadu_ps(yr), acc[r][g]));
            }
    }
    for (; j < n; j += 8) {
        __m256i mask = kern_lanes8(n - j);
        __m256 acc[2];
        __m256 wv = _mm256_maskload_ps(w + j, mask);
#pragma GCC unroll 2
        for (size_t r = 0; r < R; r++)
            acc[r] = _mm256_mul_ps(_mm256_set1_ps(xo[r * count]), wv);
        for (size_t t = 1; t < count; t++) {
            wv = _mm256_maskload_ps(w + t * ldw + j, mask);
#pragma GCC unroll 2
            for (size_t r = 0; r < R; r++)
                acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(_mm256_set1_ps(xo[r * count + t]), wv));
        }
#pragma GCC unroll 2
        for (size_t r = 0; r < R; r++) {
            float *yr = y + r * ldy + j;
            _mm256_maskstore_ps(yr, mask, _mm256_add_ps(_mm256_maskload_ps(yr, mask), acc[r]));
        }
    }
}

AVX2 void kern_i8_outliers_add_avx2(size_t m, size_t n, size_t count, const float *xo, const float *w,
                                    size_t ldw, float *y, size_t ldy)
{
    size_t i = 0;
    for (; i + 2 <= m; i += 2)
        outliers_rows(2, n, count, xo + i * count, w, ldw, y + i * ldy, ldy);
    if (i < m)
        outliers_rows(1, n, count, xo + i * count, w, ldw, y + i * ldy, ldy);
}

/* --------------------------------------------------------------- packing */

/* Rows [0, cols) of w (cols <= 32, row stride ldw bytes) as one panel of
 * kq quads (kern_pack_i8_panels' layout for these columns, zero past cols
 * and past k). */
static void pack_panel(const int8_t *w, size_t ldw, size_t cols, size_t k, uint8_t *dst)
{
    size_t kq = k / 4 + (k % 4 != 0), full = k / 4;
    for (size_t c = 0; c < NR; c++) {
        uint8_t *d = dst + 4 * c;
        if (c >= cols) {
            for (size_t q = 0; q < kq; q++)
                memset(d + q * 4 * NR, 0, 4);
            continue;
        }
        const int8_t *src = w + c * ldw;
        for (size_t q = 0; q < full; q++)
            memcpy(d + q * 4 * NR, src + 4 * q, 4);
        if (full < kq) {
            uint8_t tail[4] = {0, 0, 0, 0};
            memcpy(tail, src + 4 * full, k - 4 * full);
            memcpy(d + full * 4 * NR, tail, 4);
        }
    }
}

/* ------------------------------------------------------------------ tiles */

typedef struct i8_tile {
    size_t kq;        /* k quads */
    const int16_t *a; /* quantized row 0 of the tile (v = u − z) */
    size_t lda;       /* int16 between quantized rows */
    const uint8_t *b; /* the panel, any alignment */
    size_t cols;      /* valid columns of the panel (1..32) */
    const float *sc;  /* row scales */
    const float *ws;  /* the panel's column scales */
    const float *bias;
    float *y;         /* row 0, the panel's column 0 */
    size_t ldy;
    int prefetch;     /* prefetch the panel stream ahead (first row tile) */
} i8_tile;

/* acc += vpmaddwd(w, x), in place: with the intrinsics GCC copies the
 * accumulators (and spills some) every iteration. */
AVX2 static INLINE void madd_acc(__m256i *acc, __m256i w, __m256i x)
{
    __m256i t;
    __asm__("vpmaddwd %3, %2, %1\n\tvpaddd %1, %0, %0" : "+x"(*acc), "=&x"(t) : "x"(w), "x"(x));
}

/* The 4 int16 of a row's k quad in every 64-bit lane (vpbroadcastq). */
AVX2 static INLINE __m256i bcast_quad(const int16_t *v)
{
    long long xq;
    memcpy(&xq, v, sizeof xq);
    return _mm256_set1_epi64x(xq);
}

/* R rows × the panel's columns, 8·G at a time (G groups of 8), over all of
 * k: 2·R·G accumulators (at most 12 of the 16 ymm). G = 4 (one row) reads
 * each 128-byte quad of the panel whole, in order. */
AVX2 static INLINE void tile_i8(const size_t R, const size_t G, const i8_tile *t)
{
    const size_t lda = t->lda;
    for (size_t s = 0; s < NR / 8 && 8 * s < t->cols; s += G) {
        __m256i c[MR][8];
#pragma GCC unroll 6
        for (size_t r = 0; r < R; r++)
#pragma GCC unroll 8
            for (size_t h = 0; h < 2 * G; h++)
                c[r][h] = _mm256_setzero_si256();
        const uint8_t *b = t->b + 32 * s;
        const int16_t *a = t->a;
        int pf = t->prefetch && s == 0;
        for (size_t q = 0; q < t->kq; q++) {
            const uint8_t *bq = b + 4 * NR * q;
            if (pf) {
                _mm_prefetch((const char *)bq + PF_DIST, _MM_HINT_T0);
                _mm_prefetch((const char *)bq + PF_DIST + 64, _MM_HINT_T0);
            }
            if (G == 1) { /* two weight vectors, then row by row: 12 + 4 ymm at R = 6 */
                __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)bq));
                __m256i w1 = _mm256_cvtepi8_epi16(
                    _mm_loadu_si128((const __m128i *)(const void *)(bq + 16)));
#pragma GCC unroll 6
                for (size_t r = 0; r < R; r++) {
                    __m256i xb = bcast_quad(a + r * lda + 4 * q);
                    madd_acc(&c[r][0], w0, xb);
                    madd_acc(&c[r][1], w1, xb);
                }
            } else { /* the rows' broadcasts, then the weights one vector at a time */
                __m256i xb[MR];
#pragma GCC unroll 6
                for (size_t r = 0; r < R; r++)
                    xb[r] = bcast_quad(a + r * lda + 4 * q);
#pragma GCC unroll 8
                for (size_t h = 0; h < 2 * G; h++) {
                    __m256i wv = _mm256_cvtepi8_epi16(
                        _mm_loadu_si128((const __m128i *)(const void *)(bq + 16 * h)));
#pragma GCC unroll 6
                    for (size_t r = 0; r < R; r++)
                        madd_acc(&c[r][h], wv, xb[r]);
                }
            }
        }
#pragma GCC unroll 4
        for (size_t g = 0; g < G; g++) {
            size_t j0 = 8 * (s + g);
            if (j0 >= t->cols)
                break;
            __m256i mask = kern_lanes8(t->cols - j0);
            __m256 ws = _mm256_maskload_ps(t->ws + j0, mask);
            __m256 bias = t->bias ? _mm256_maskload_ps(t->bias + j0, mask) : _mm256_setzero_ps();
#pragma GCC unroll 6
            for (size_t r = 0; r < R; r++) {
                /* [c0 c1 c4 c5 | c2 c3 c6 c7] -> columns 0..7 in order */
                __m256i acc = _mm256_permute4x64_epi64(
                    _mm256_hadd_epi32(c[r][2 * g], c[r][2 * g + 1]), 0xD8);
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc),
                                         _mm256_mul_ps(_mm256_set1_ps(t->sc[r]), ws));
                if (t->bias)
                    f = _mm256_add_ps(f, bias);
                _mm256_maskstore_ps(t->y + r * t->ldy + j0, mask, f);
            }
        }
    }
}

AVX2 static void tile_any(size_t mr, const i8_tile *t)
{
    switch (mr) {
    case 1: tile_i8(1, TILE1_G, t); break;
    case 2: tile_i8(2, TILE2_G, t); break;
    case 3: tile_i8(3, 1, t); break;
    case 4: tile_i8(4, 1, t); break;
    case 5: tile_i8(5, 1, t); break;
    default: tile_i8(6, 1, t); break;
    }
}

/* ------------------------------------------------------------------ driver */

/* Both products: w [n, k] (row stride ldw) packed here group by group, or,
 * when `panels` is not NULL, its pre-packed panels read in place. */
AVX2 int kern_linear_i8_avx2(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                          const int8_t *w, size_t ldw, const uint8_t *panels, const float *ws,
                          const kern_i8_outliers *out, const float *bias, float *y, size_t ldy)
{
    size_t kq = k / 4 + (k % 4 != 0), ldv = (k + 15) / 16 * 16; /* k <= KERN_I8_MAX_K */
    size_t panel_bytes = kq * 4 * NR;
    size_t npanels = kern_pack_panels(n);
    size_t group = GROUP_BYTES / panel_bytes;
    if (group < 1)
        group = 1;
    if (group > npanels)
        group = npanels;
    size_t no = out ? out->count : 0; /* <= KERN_I8_MAX_OUTLIERS */
    size_t rows = X_BYTES / (2 * ldv + 8 + no * sizeof(float));
    if (rows < MR)
        rows = MR;
    if (rows > m)
        rows = m;
    /* each term bounded by a few MiB: no overflow */
    size_t pack_bytes = panels ? 0 : (group * panel_bytes + 63) / 64 * 64;
    size_t xbytes = rows * ldv * sizeof(int16_t);
    size_t obytes = no ? (k + rows * no) * sizeof(float) : 0; /* split row, outlier features */
    unsigned char *buf = kern_linear_scratch(pack_bytes + xbytes + obytes + rows * sizeof(float));
    if (!buf)
        return -1;
    uint8_t *wpack = buf;
    int16_t *xv = (int16_t *)(void *)(buf + pack_bytes);
    float *xm = (float *)(void *)(buf + pack_bytes + xbytes), *xo = xm + k;
    float *sc = (float *)(void *)(buf + pack_bytes + xbytes + obytes);
    for (size_t i0 = 0; i0 < m; i0 += rows) {
        size_t mc = m - i0 < rows ? m - i0 : rows;
        quant_rows(mc, k, ldv, x + i0 * ldx, ldx, out, xm, xo, xv, sc);
        for (size_t p0 = 0; p0 < npanels; p0 += group) {
            size_t gp = npanels - p0 < group ? npanels - p0 : group;
            const uint8_t *gb = panels ? panels + p0 * panel_bytes : wpack;
            for (size_t g = 0; g < gp && !panels; g++) {
                size_t j0 = (p0 + g) * NR;
                pack_panel(w + j0 * ldw, ldw, n - j0 < NR ? n - j0 : NR, k,
                           wpack + g * panel_bytes);
            }
            for (size_t r0 = 0; r0 < mc; r0 += MR) {
                size_t mr = mc - r0 < MR ? mc - r0 : MR;
                for (size_t g = 0; g < gp; g++) {
                    size_t j0 = (p0 + g) * NR;
                    i8_tile t;
                    t.kq = kq;
                    t.a = xv + r0 * ldv;
                    t.lda = ldv;
                    t.b = gb + g * panel_bytes;
                    t.cols = n - j0 < NR ? n - j0 : NR;
                    t.sc = sc + r0;
                    t.ws = ws + j0;
                    t.bias = bias ? bias + j0 : NULL;
                    t.y = y + (i0 + r0) * ldy + j0;
                    t.ldy = ldy;
                    t.prefetch = panels && r0 == 0;
                    tile_any(mr, &t);
                }
                if (no) { /* the row tile's outlier sums over the group, while its y is hot */
                    size_t j0 = p0 * NR, cols = n - j0 < gp * NR ? n - j0 : gp * NR;
                    kern_i8_outliers_add_avx2(mr, cols, no, xo + r0 * no, out->w + j0, out->ldw,
                                              y + (i0 + r0) * ldy + j0, ldy);
                }
            }
        }
    }
    return 0;
}

#endif
