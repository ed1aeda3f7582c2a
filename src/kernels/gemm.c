/* GEMM on weights in place: the reference loops, the portable C path, and
 * the dispatcher (the AVX-512 path is in gemm_avx512.c; the packed-weight
 * GEMM the models normally use is gemm_packed*.c). Every path accumulates
 * each output element as one chain over k in a fixed order (the reference
 * and portable paths: plain k = 0, 1, ... with separate multiply and add, so
 * they agree bitwise; AVX-512: 16 FMA lanes, then a fixed reduction tree). */
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

void kern_gemm_nt_ref(size_t m, size_t n, size_t k, const float *x, size_t ldx, const float *w,
                      size_t ldw, const float *bias, float *y, size_t ldy)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (size_t kk = 0; kk < k; kk++)
                s += x[i * ldx + kk] * w[j * ldw + kk];
            y[i * ldy + j] = bias ? s + bias[j] : s;
        }
}

void kern_gemm_nn_ref(size_t m, size_t n, size_t k, const float *x, size_t ldx, const float *b,
                      size_t ldb, float *y, size_t ldy)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (size_t kk = 0; kk < k; kk++)
                s += x[i * ldx + kk] * b[kk * ldb + j];
            y[i * ldy + j] = s;
        }
}

/* Portable NT: 4 x-rows × 4 w-rows register tiles (16 independent chains),
 * edge tiles reuse a valid row pointer and drop its results. */
static void gemm_nt_generic(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                            const float *w, size_t ldw, const float *bias, float *y, size_t ldy)
{
    for (size_t i0 = 0; i0 < m; i0 += 4) {
        size_t ir = m - i0 < 4 ? m - i0 : 4;
        const float *xr[4];
        for (size_t r = 0; r < 4; r++)
            xr[r] = x + (i0 + (r < ir ? r : 0)) * ldx;
        for (size_t j0 = 0; j0 < n; j0 += 4) {
            size_t jr = n - j0 < 4 ? n - j0 : 4;
            const float *wr[4];
            for (size_t c = 0; c < 4; c++)
                wr[c] = w + (j0 + (c < jr ? c : 0)) * ldw;
            float acc[4][4] = {{0.0f}};
            for (size_t kk = 0; kk < k; kk++) {
                float a0 = xr[0][kk], a1 = xr[1][kk], a2 = xr[2][kk], a3 = xr[3][kk];
                for (size_t c = 0; c < 4; c++) {
                    float bv = wr[c][kk];
                    acc[0][c] += a0 * bv;
                    acc[1][c] += a1 * bv;
                    acc[2][c] += a2 * bv;
                    acc[3][c] += a3 * bv;
                }
            }
            for (size_t r = 0; r < ir; r++)
                for (size_t c = 0; c < jr; c++)
                    y[(i0 + r) * ldy + j0 + c] = bias ? acc[r][c] + bias[j0 + c] : acc[r][c];
        }
    }
}

void kern_gemm_nt_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                      const float *w, size_t ldw, const float *bias, float *y, size_t ldy)
{
    if (m == 0 || n == 0)
        return;
    if (isa == KERN_ISA_AVX512)
        kern_gemm_nt_avx512(m, n, k, x, ldx, w, ldw, bias, y, ldy);
    else /* AVX2 models always run packed; in place it is the portable loop */
        gemm_nt_generic(m, n, k, x, ldx, w, ldw, bias, y, ldy);
}

void kern_gemm_nt(size_t m, size_t n, size_t k, const float *x, size_t ldx, const float *w,
                  size_t ldw, const float *bias, float *y, size_t ldy)
{
    kern_gemm_nt_isa(kern_isa_active(), m, n, k, x, ldx, w, ldw, bias, y, ldy);
}
