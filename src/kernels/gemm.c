/* The reference GEMM loops the fast kernels are tested against (the models
 * run kern_linear, gemm_mapped*.c, and attention the packed kernels of
 * gemm_packed*.c): each output element one chain k = 0, 1, ... with separate
 * multiply and add. */
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
