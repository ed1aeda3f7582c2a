/* AVX-512F GEMM on weights in place (compiled for AVX-512 via target
 * attributes, called only when the CPU has it): used for models too big to
 * keep a packed copy of (the packed path is gemm_packed_avx512.c).
 *
 * y = x·w^T (torch Linear): 4 x-rows × 6 w-rows register tile of 16-lane FMA
 * accumulators running along k (both operands stream contiguously), reduced
 * horizontally at the end. Per element: 16 lane chains over k (tail lanes
 * zero-masked), then _mm512_reduce_add_ps — the same for every tile
 * position (edge tiles repeat a valid row and drop it). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f")))

#define NT_ROWS 4
#define NT_COLS 6

#define NT_FMA_COL(c, wv)                                                                         \
    do {                                                                                          \
        c##0 = _mm512_fmadd_ps(x0, wv, c##0);                                                     \
        c##1 = _mm512_fmadd_ps(x1, wv, c##1);                                                     \
        c##2 = _mm512_fmadd_ps(x2, wv, c##2);                                                     \
        c##3 = _mm512_fmadd_ps(x3, wv, c##3);                                                     \
    } while (0)

/* acc a*: column 0, b*: column 1, ... f*: column 5; digit = x row. */
AVX512 static void nt_tile(size_t k, const float *const xr[NT_ROWS], const float *const wr[NT_COLS],
                           float out[NT_ROWS][NT_COLS])
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    __m512 d0 = a0, d1 = a0, d2 = a0, d3 = a0;
    __m512 e0 = a0, e1 = a0, e2 = a0, e3 = a0;
    __m512 f0 = a0, f1 = a0, f2 = a0, f3 = a0;
    size_t kk = 0;
    for (; kk + 16 <= k; kk += 16) {
        __m512 x0 = _mm512_loadu_ps(xr[0] + kk);
        __m512 x1 = _mm512_loadu_ps(xr[1] + kk);
        __m512 x2 = _mm512_loadu_ps(xr[2] + kk);
        __m512 x3 = _mm512_loadu_ps(xr[3] + kk);
        __m512 wv = _mm512_loadu_ps(wr[0] + kk);
        NT_FMA_COL(a, wv);
        wv = _mm512_loadu_ps(wr[1] + kk);
        NT_FMA_COL(b, wv);
        wv = _mm512_loadu_ps(wr[2] + kk);
        NT_FMA_COL(c, wv);
        wv = _mm512_loadu_ps(wr[3] + kk);
        NT_FMA_COL(d, wv);
        wv = _mm512_loadu_ps(wr[4] + kk);
        NT_FMA_COL(e, wv);
        wv = _mm512_loadu_ps(wr[5] + kk);
        NT_FMA_COL(f, wv);
    }
    if (kk < k) {
        __mmask16 mk = (__mmask16)((1u << (k - kk)) - 1u);
        __m512 x0 = _mm512_maskz_loadu_ps(mk, xr[0] + kk);
        __m512 x1 = _mm512_maskz_loadu_ps(mk, xr[1] + kk);
        __m512 x2 = _mm512_maskz_loadu_ps(mk, xr[2] + kk);
        __m512 x3 = _mm512_maskz_loadu_ps(mk, xr[3] + kk);
        __m512 wv = _mm512_maskz_loadu_ps(mk, wr[0] + kk);
        NT_FMA_COL(a, wv);
        wv = _mm512_maskz_loadu_ps(mk, wr[1] + kk);
        NT_FMA_COL(b, wv);
        wv = _mm512_maskz_loadu_ps(mk, wr[2] + kk);
        NT_FMA_COL(c, wv);
        wv = _mm512_maskz_loadu_ps(mk, wr[3] + kk);
        NT_FMA_COL(d, wv);
        wv = _mm512_maskz_loadu_ps(mk, wr[4] + kk);
        NT_FMA_COL(e, wv);
        wv = _mm512_maskz_loadu_ps(mk, wr[5] + kk);
        NT_FMA_COL(f, wv);
    }
#define NT_OUT(r)                                                                                 \
    do {                                                                                          \
        out[r][0] = _mm512_reduce_add_ps(a##r);                                                   \
        out[r][1] = _mm512_reduce_add_ps(b##r);                                                   \
        out[r][2] = _mm512_reduce_add_ps(c##r);                                                   \
        out[r][3] = _mm512_reduce_add_ps(d##r);                                                   \
        out[r][4] = _mm512_reduce_add_ps(e##r);                                                   \
        out[r][5] = _mm512_reduce_add_ps(f##r);                                                   \
    } while (0)
    NT_OUT(0);
    NT_OUT(1);
    NT_OUT(2);
    NT_OUT(3);
#undef NT_OUT
}

AVX512 void kern_gemm_nt_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                                const float *w, size_t ldw, const float *bias, float *y,
                                size_t ldy)
{
    /* a block of w rows that stays in L2 (~256 KiB) while all x rows pass */
    size_t nb = (65536 / (k ? k : 1)) / NT_COLS * NT_COLS;
    if (nb < NT_COLS)
        nb = NT_COLS;
    for (size_t jb = 0; jb < n; jb += nb) {
        size_t je = n - jb < nb ? n : jb + nb;
        for (size_t i0 = 0; i0 < m; i0 += NT_ROWS) {
            size_t ir = m - i0 < NT_ROWS ? m - i0 : NT_ROWS;
            const float *xr[NT_ROWS];
            for (size_t r = 0; r < NT_ROWS; r++)
                xr[r] = x + (i0 + (r < ir ? r : 0)) * ldx;
            for (size_t j0 = jb; j0 < je; j0 += NT_COLS) {
                size_t jr = je - j0 < NT_COLS ? je - j0 : NT_COLS;
                const float *wr[NT_COLS];
                for (size_t c = 0; c < NT_COLS; c++)
                    wr[c] = w + (j0 + (c < jr ? c : 0)) * ldw;
                float out[NT_ROWS][NT_COLS];
                nt_tile(k, xr, wr, out);
                for (size_t r = 0; r < ir; r++) {
                    float *yr = y + (i0 + r) * ldy + j0;
                    for (size_t c = 0; c < jr; c++)
                        yr[c] = bias ? out[r][c] + bias[j0 + c] : out[r][c];
                }
            }
        }
    }
}

#else /* not x86: never called (kern_isa_supported says no) */

void kern_gemm_nt_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                         const float *w, size_t ldw, const float *bias, float *y, size_t ldy)
{
    (void)m, (void)n, (void)k, (void)x, (void)ldx, (void)w, (void)ldw, (void)bias, (void)y, (void)ldy;
}

#endif
