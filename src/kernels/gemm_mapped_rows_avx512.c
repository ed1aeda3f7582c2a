/* kern_linear for a few rows (AVX-512, gemm_mapped_avx512.c chooses it):
 * for ROWS_MIN_M <= m <= ROWS_MAX_M rows the lanes of a vector hold 16 rows of x
 * instead of 32 columns of w: x is transposed once (xt [k][16·R]), w's rows
 * are only widened (or rounded to bf16 pairs) chunk by chunk into wc
 * [J][KCR], and each broadcast weight meets the R row vectors. No weight
 * transpose, and each output element is still one chain over k in order
 * (fma(x, w, c) = fma(w, x, c); vdpbf16ps with x as the first operand as
 * in the packed kernel), then + bias, so the numbers are those of the
 * column-lane tiles. The accumulators stay in registers over the whole k;
 * a 16×16 transpose per row vector stores them. When w is in the compute
 * type already (f32 for fp32, bf16 for bf16) and its row stride is one of
 * the models' widths, the broadcasts read w's rows in place (direct_*: no
 * copy to wc, the stride a compile-time displacement). */
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
    __mmask16 cm = kern_mask_lo(cols);
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
        kern_transpose16(v);
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
                                 kern_load_f32(src + kb * esz, wt, kc - kb < 16 ? kc - kb : 16));
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
            for (size_t kb = 0; kb < kc; kb += 32) {
                size_t nv = kc - kb < 32 ? kc - kb : 32;
                __m512 v = kern_load_bf16_pairs(src + kb * esz, wt, nv);
                _mm512_storeu_ps(wc + j * KCR + kb / 2, v);
            }
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

/* Weights already in the compute type (f32 for fp32, bf16 with k even for
 * bf16) and a full tile of J rows: the broadcasts read w's rows in place,
 * LDWB (the row stride in bytes) a constant so each is one
 * embedded-broadcast operand at a fixed displacement. The same chains as
 * rows_f32 / rows_bf16 (fma(x, w, c) per k; vdpbf16ps(c, x pair, w pair)
 * per pair), without copying the rows to wc. The next tile's rows are
 * prefetched along the way. */
AVX512 static INLINE void direct_f32(const int R, const int J, const size_t LDWB, size_t k,
                                     const float *xt, size_t rows, const unsigned char *w,
                                     size_t next_rows, const float *bias, float *y, size_t ldy)
{
    __m512 acc[3][16];
    for (int r = 0; r < R; r++)
#pragma GCC unroll 16
        for (int j = 0; j < J; j++)
            acc[r][j] = _mm512_setzero_ps();
    prefetcher pf = prefetch_next(w, LDWB, 4, k, 0, k, (size_t)J, (size_t)J, next_rows);
    const unsigned char *wp = w;
    const float *xp = xt;
    for (size_t kk = 0; kk < k; kk++) {
        prefetch_step(&pf);
        __m512 xv[3];
        for (int r = 0; r < R; r++)
            xv[r] = _mm512_loadu_ps(xp + 16 * r);
#pragma GCC unroll 16
        for (int j = 0; j < J; j++) {
            float wv;
            memcpy(&wv, wp + (size_t)j * LDWB, sizeof wv);
            __m512 wb = _mm512_set1_ps(wv);
            for (int r = 0; r < R; r++)
                acc[r][j] = _mm512_fmadd_ps(xv[r], wb, acc[r][j]);
        }
        wp += 4;
        xp += 16 * R;
    }
    rows_store(R, J, acc, rows, (size_t)J, bias, y, ldy);
}

BF16 static INLINE void direct_bf16(const int R, const int J, const size_t LDWB, size_t k,
                                    const uint32_t *xt, size_t rows, const unsigned char *w,
                                    size_t next_rows, const float *bias, float *y, size_t ldy)
{
    __m512 acc[3][16];
    for (int r = 0; r < R; r++)
#pragma GCC unroll 16
        for (int j = 0; j < J; j++)
            acc[r][j] = _mm512_setzero_ps();
    prefetcher pf = prefetch_next(w, LDWB, 2, k, 0, k, (size_t)J, (size_t)J, next_rows);
    const unsigned char *wp = w;
    const uint32_t *xp = xt;
    size_t pairs = k / 2;
    for (size_t p = 0; p < pairs; p++) {
        prefetch_step(&pf);
        __m512bh xv[3];
        for (int r = 0; r < R; r++)
            xv[r] = (__m512bh)_mm512_loadu_si512(xp + 16 * r);
#pragma GCC unroll 16
        for (int j = 0; j < J; j++) {
            int wv;
            memcpy(&wv, wp + (size_t)j * LDWB, sizeof wv);
            __m512bh wb = (__m512bh)_mm512_set1_epi32(wv);
            for (int r = 0; r < R; r++)
                acc[r][j] = _mm512_dpbf16_ps(acc[r][j], xv[r], wb);
        }
        wp += 4;
        xp += 16 * R;
    }
    rows_store(R, J, acc, rows, (size_t)J, bias, y, ldy);
}

/* The row strides (bytes) with a direct instance: the Linear widths of the
 * supported models (k = 384 ... 3072) in bf16 and f32. At multiples of
 * 4 KiB the rows' lines all fall in one L1 set (8 ways): a whole tile at a
 * time would run from L2 at half the speed, so those tiles go as two
 * halves (R·J/2 chains, still enough to cover the FMA latency). */
#define DIRECT_STRIDES(F, R)                                                                      \
    F(R, 768) F(R, 1536) F(R, 2048) F(R, 3072) F(R, 4096) F(R, 6144) F(R, 8192) F(R, 12288)
#define DIRECT_HALVES(B) ((B) % 4096 == 0)
#define DIRECT_J(R) ((R) == 1 ? 16 : (R) == 2 ? 12 : 8) /* rows_j */

#define DIRECT_FNS(R, B)                                                                          \
    AVX512 static void direct_f32_##R##_##B(size_t k, const float *xt, size_t rows,               \
                                            const unsigned char *w, size_t next_rows,             \
                                            const float *bias, float *y, size_t ldy)              \
    {                                                                                             \
        const int J = DIRECT_J(R), H = J / 2;                                                     \
        if (!DIRECT_HALVES(B)) {                                                                  \
            direct_f32(R, J, B, k, xt, rows, w, next_rows, bias, y, ldy);                         \
            return;                                                                               \
        }                                                                                         \
        direct_f32(R, H, B, k, xt, rows, w, (size_t)H, bias, y, ldy);                             \
        direct_f32(R, H, B, k, xt, rows, w + (size_t)H * (B),                                     \
                   next_rows < (size_t)H ? next_rows : (size_t)H, bias ? bias + H : NULL, y + H,  \
                   ldy);                                                                          \
    }                                                                                             \
    BF16 static void direct_bf16_##R##_##B(size_t k, const uint32_t *xt, size_t rows,             \
                                           const unsigned char *w, size_t next_rows,              \
                                           const float *bias, float *y, size_t ldy)               \
    {                                                                                             \
        const int J = DIRECT_J(R), H = J / 2;                                                     \
        if (!DIRECT_HALVES(B)) {                                                                  \
            direct_bf16(R, J, B, k, xt, rows, w, next_rows, bias, y, ldy);                        \
            return;                                                                               \
        }                                                                                         \
        direct_bf16(R, H, B, k, xt, rows, w, (size_t)H, bias, y, ldy);                            \
        direct_bf16(R, H, B, k, xt, rows, w + (size_t)H * (B),                                    \
                    next_rows < (size_t)H ? next_rows : (size_t)H, bias ? bias + H : NULL, y + H, \
                    ldy);                                                                         \
    }
DIRECT_STRIDES(DIRECT_FNS, 1)
DIRECT_STRIDES(DIRECT_FNS, 2)
DIRECT_STRIDES(DIRECT_FNS, 3)

typedef void (*direct_f32_fn)(size_t, const float *, size_t, const unsigned char *, size_t,
                              const float *, float *, size_t);
typedef void (*direct_bf16_fn)(size_t, const uint32_t *, size_t, const unsigned char *, size_t,
                               const float *, float *, size_t);

/* The direct instance for R row vectors and a row stride of ldw_bytes, or
 * NULL. */
static direct_f32_fn direct_f32_for(size_t R, size_t ldw_bytes)
{
    switch (ldw_bytes) {
#define CASE(R_, B)                                                                               \
    case B:                                                                                       \
        return R == 1 ? direct_f32_1_##B : R == 2 ? direct_f32_2_##B : direct_f32_3_##B;
        DIRECT_STRIDES(CASE, 0)
#undef CASE
    default:
        return NULL;
    }
}

static direct_bf16_fn direct_bf16_for(size_t R, size_t ldw_bytes)
{
    switch (ldw_bytes) {
#define CASE(R_, B)                                                                               \
    case B:                                                                                       \
        return R == 1 ? direct_bf16_1_##B : R == 2 ? direct_bf16_2_##B : direct_bf16_3_##B;
        DIRECT_STRIDES(CASE, 0)
#undef CASE
    default:
        return NULL;
    }
}

/* The start of the first tile's rows (up to PF_FIRST bytes of each), to L2
 * before x is transposed: the weights come from memory meanwhile (the
 * tiles after it are prefetched by the tile before). */
#define PF_FIRST 2048
static void prefetch_first(const unsigned char *w, size_t ldw_bytes, size_t rows, size_t bytes)
{
    if (bytes > PF_FIRST)
        bytes = PF_FIRST;
    for (size_t j = 0; j < rows; j++)
        for (size_t off = 0; off < bytes; off += 64)
            _mm_prefetch((const char *)(w + j * ldw_bytes + off), _MM_HINT_T1);
}

/* Row vectors R for m rows, and the columns J per tile that go with it. */
static size_t rows_r(size_t m) { return (m + 15) / 16; }
static size_t rows_j(size_t r) { return r == 1 ? 16 : r == 2 ? 12 : 8; }

AVX512 static void linear_rows_f32(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                                   const unsigned char *w, kern_wtype wt, size_t ldw_bytes,
                                   const float *bias, float *y, size_t ldy, float *scratch)
{
    size_t R = rows_r(m), J = rows_j(R);
    float *xt = scratch, *wc = scratch + (k + 32) * 16 * R;
    direct_f32_fn direct = wt == KERN_W_F32 ? direct_f32_for(R, ldw_bytes) : NULL;
    prefetch_first(w, ldw_bytes, n < J ? n : J, k * kern_wtype_size(wt));
    kern_pack_cols_f32_avx512((const unsigned char *)x, KERN_W_F32, ldx * sizeof *x, m, R, 0, k,
                              xt, 16 * R, 0);
    for (size_t j0 = 0; j0 < n; j0 += J) {
        size_t cols = n - j0 < J ? n - j0 : J;
        size_t next = n - j0 - cols < J ? n - j0 - cols : J;
        const unsigned char *wj = w + j0 * ldw_bytes;
        const float *bj = bias ? bias + j0 : NULL;
        if (direct && cols == J)
            direct(k, xt, m, wj, next, bj, y + j0, ldy);
        else if (R == 1)
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
    direct_bf16_fn direct = wt == KERN_W_BF16 && k % 2 == 0 ? direct_bf16_for(R, ldw_bytes) : NULL;
    prefetch_first(w, ldw_bytes, n < J ? n : J, k * kern_wtype_size(wt));
    kern_pack_cols_bf16_avx512((const unsigned char *)x, KERN_W_F32, ldx * sizeof *x, m, R, 0, k,
                               xt, 16 * R, 0);
    for (size_t j0 = 0; j0 < n; j0 += J) {
        size_t cols = n - j0 < J ? n - j0 : J;
        size_t next = n - j0 - cols < J ? n - j0 - cols : J;
        const unsigned char *wj = w + j0 * ldw_bytes;
        const float *bj = bias ? bias + j0 : NULL;
        if (direct && cols == J)
            direct(k, xt, m, wj, next, bj, y + j0, ldy);
        else if (R == 1)
            rows_bf16_r1(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
        else if (R == 2)
            rows_bf16_r2(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
        else
            rows_bf16_r3(k, xt, m, wj, wt, ldw_bytes, cols, next, bj, y + j0, ldy, wc);
    }
}

/* Scratch: xt, then wc; 0 when the row-lane path does not apply. */
size_t kern_linear_rows_words(size_t m, size_t k, int bf16)
{
    if (m < ROWS_MIN_M || m > ROWS_MAX_M)
        return 0;
    size_t kk = bf16 ? k / 2 + k % 2 : k;
    if (kk > ROWS_XT_MAX)
        return 0;
    size_t xt = (kk + 32) * 16 * rows_r(m);
    if (xt * 4 > ROWS_XT_MAX)
        return 0;
    return xt + 16 * KCR;
}

void kern_linear_rows_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const void *w, kern_wtype wt, size_t ldw_bytes, int bf16,
                             const float *bias, float *y, size_t ldy, void *scratch)
{
    if (bf16)
        linear_rows_bf16(m, n, k, x, ldx, w, wt, ldw_bytes, bias, y, ldy, scratch);
    else
        linear_rows_f32(m, n, k, x, ldx, w, wt, ldw_bytes, bias, y, ldy, scratch);
}

#else

size_t kern_linear_rows_words(size_t m, size_t k, int bf16)
{
    (void)m, (void)k, (void)bf16;
    return 0;
}

void kern_linear_rows_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const void *w, kern_wtype wt, size_t ldw_bytes, int bf16,
                             const float *bias, float *y, size_t ldy, void *scratch)
{
    (void)m, (void)n, (void)k, (void)x, (void)ldx, (void)w, (void)wt, (void)ldw_bytes, (void)bf16,
        (void)bias, (void)y, (void)ldy, (void)scratch;
}

#endif
