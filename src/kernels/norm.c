/* LayerNorm and RMSNorm over the last dimension, one row at a time. Row
 * statistics are accumulated in double (deterministic: 8 interleaved partial
 * sums over i mod 8, combined in a fixed tree — independent chains, so the
 * loop is not latency-bound — and at least as accurate as torch's float
 * kernels); the per-element formula is the torch / HF one in float. The
 * AVX-512 rows (norm_avx512.c) give bitwise the same numbers. */
#include <math.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

/* sum of f(x[i]) for i < d, f = identity (sq = 0) or square (sq = 1) */
static double row_sum(const float *x, size_t d, double center, int sq)
{
    double acc[8] = {0.0};
    size_t i = 0;
    for (; i + 8 <= d; i += 8)
        for (size_t l = 0; l < 8; l++) {
            double c = (double)x[i + l] - center;
            acc[l] += sq ? c * c : c;
        }
    for (size_t l = 0; i < d; i++, l++) {
        double c = (double)x[i] - center;
        acc[l] += sq ? c * c : c;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void kern_layernorm_isa(kern_isa isa, size_t rows, size_t d, const float *x, size_t ldx,
                        const float *w, const float *b, float eps, float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        if (isa == KERN_ISA_AVX512) {
            kern_layernorm_row_avx512(d, xr, w, b, eps, yr);
            continue;
        }
        double mean = row_sum(xr, d, 0.0, 0) / (double)d;
        double var = row_sum(xr, d, mean, 1) / (double)d; /* biased, as torch */
        float rstd = (float)(1.0 / sqrt(var + (double)eps));
        float meanf = (float)mean;
        for (size_t i = 0; i < d; i++)
            yr[i] = (xr[i] - meanf) * rstd * w[i] + b[i];
    }
}

void kern_layernorm(size_t rows, size_t d, const float *x, size_t ldx, const float *w,
                    const float *b, float eps, float *y, size_t ldy)
{
    kern_layernorm_isa(kern_isa_active(), rows, d, x, ldx, w, b, eps, y, ldy);
}

void kern_rmsnorm_isa(kern_isa isa, size_t rows, size_t d, const float *x, size_t ldx,
                      const float *w, float eps, float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        if (isa == KERN_ISA_AVX512) {
            kern_rmsnorm_row_avx512(d, xr, w, eps, yr);
            continue;
        }
        double ms = row_sum(xr, d, 0.0, 1) / (double)d;
        float rstd = (float)(1.0 / sqrt(ms + (double)eps));
        for (size_t i = 0; i < d; i++)
            yr[i] = w[i] * (xr[i] * rstd);
    }
}

void kern_rmsnorm(size_t rows, size_t d, const float *x, size_t ldx, const float *w, float eps,
                  float *y, size_t ldy)
{
    kern_rmsnorm_isa(kern_isa_active(), rows, d, x, ldx, w, eps, y, ldy);
}
