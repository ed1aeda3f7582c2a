/* GEMM on pre-packed weights: w [n, k] (torch Linear layout) is repacked
 * once, at model creation, into panels of KERN_PACK_NR output columns, each
 * panel [k][KERN_PACK_NR] contiguous and zero-padded past n. The AVX-512 path
 * (gemm_packed_avx512.c) then runs a broadcast-FMA register tile with no
 * horizontal reductions. The portable version here computes the same chains
 * as kern_gemm_nt_ref (bitwise equal), for tests and CPUs without AVX-512. */
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "runtime/runtime.h"

size_t kern_pack_nt_size(size_t n, size_t k)
{
    size_t panels = kern_pack_panels(n);
    size_t cols, total;
    if (rt_mul_overflow(panels, KERN_PACK_NR, &cols) || rt_mul_overflow(cols, k, &total))
        return 0;
    return total;
}

void kern_pack_nt(size_t n, size_t k, const float *w, size_t ldw, float *packed)
{
    size_t panels = kern_pack_panels(n);
    for (size_t p = 0; p < panels; p++) {
        float *dst = packed + p * k * KERN_PACK_NR;
        size_t j0 = p * KERN_PACK_NR;
        size_t cols = n - j0 < KERN_PACK_NR ? n - j0 : KERN_PACK_NR;
        if (cols < KERN_PACK_NR)
            memset(dst, 0, k * KERN_PACK_NR * sizeof *dst);
        /* dst[kk][j] = w[j0 + j][kk], in k blocks of 64 so the 8 KiB of dst
         * being filled stays in L1 while the 32 source rows pass */
        for (size_t kb = 0; kb < k; kb += 64) {
            size_t ke = k - kb < 64 ? k : kb + 64;
            for (size_t j = 0; j < cols; j++) {
                const float *src = w + (j0 + j) * ldw;
                for (size_t kk = kb; kk < ke; kk++)
                    dst[kk * KERN_PACK_NR + j] = src[kk];
            }
        }
    }
}

void kern_pack_nn(size_t k, size_t n, const float *b, size_t ldb, float *packed)
{
    size_t panels = kern_pack_panels(n);
    for (size_t p = 0; p < panels; p++) {
        float *dst = packed + p * k * KERN_PACK_NR;
        size_t j0 = p * KERN_PACK_NR;
        size_t cols = n - j0 < KERN_PACK_NR ? n - j0 : KERN_PACK_NR;
        for (size_t kk = 0; kk < k; kk++) {
            memcpy(dst + kk * KERN_PACK_NR, b + kk * ldb + j0, cols * sizeof *dst);
            for (size_t j = cols; j < KERN_PACK_NR; j++)
                dst[kk * KERN_PACK_NR + j] = 0.0f;
        }
    }
}

static void gemm_packed_generic(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                                const float *packed, size_t kp, const float *bias, float *y,
                                size_t ldy)
{
    size_t panels = kern_pack_panels(n);
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < panels; p++) {
            const float *b = packed + p * kp * KERN_PACK_NR;
            size_t j0 = p * KERN_PACK_NR;
            size_t cols = n - j0 < KERN_PACK_NR ? n - j0 : KERN_PACK_NR;
            float acc[KERN_PACK_NR] = {0.0f};
            for (size_t kk = 0; kk < k; kk++) {
                float a = x[i * ldx + kk];
                for (size_t j = 0; j < KERN_PACK_NR; j++)
                    acc[j] += a * b[kk * KERN_PACK_NR + j];
            }
            for (size_t j = 0; j < cols; j++)
                y[i * ldy + j0 + j] = bias ? acc[j] + bias[j0 + j] : acc[j];
        }
}

void kern_gemm_packed_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                          const float *packed, size_t kp, const float *bias, float *y, size_t ldy)
{
    if (m == 0 || n == 0)
        return;
    if (isa == KERN_ISA_AVX512)
        kern_gemm_packed_avx512(m, n, k, x, ldx, packed, kp, bias, y, ldy);
    else if (isa == KERN_ISA_AVX2)
        kern_gemm_packed_avx2(m, n, k, x, ldx, packed, kp, bias, y, ldy);
    else
        gemm_packed_generic(m, n, k, x, ldx, packed, kp, bias, y, ldy);
}

void kern_gemm_packed(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                      const float *packed, size_t kp, const float *bias, float *y, size_t ldy)
{
    kern_gemm_packed_isa(kern_isa_active(), m, n, k, x, ldx, packed, kp, bias, y, ldy);
}
