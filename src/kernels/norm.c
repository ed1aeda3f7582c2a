/* LayerNorm and RMSNorm over the last dimension, one row at a time. Row
 * statistics are accumulated in double in index order (deterministic, and at
 * least as accurate as torch's float kernels); the per-element formula is the
 * torch / HF one in float. */
#include <math.h>

#include "kernels/kernels.h"

void kern_layernorm(size_t rows, size_t d, const float *x, size_t ldx, const float *w,
                    const float *b, float eps, float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        double sum = 0.0;
        for (size_t i = 0; i < d; i++)
            sum += (double)xr[i];
        double mean = sum / (double)d;
        double sq = 0.0;
        for (size_t i = 0; i < d; i++) {
            double c = (double)xr[i] - mean;
            sq += c * c;
        }
        float rstd = (float)(1.0 / sqrt(sq / (double)d + (double)eps));
        float meanf = (float)mean;
        for (size_t i = 0; i < d; i++)
            yr[i] = (xr[i] - meanf) * rstd * w[i] + b[i];
    }
}

void kern_rmsnorm(size_t rows, size_t d, const float *x, size_t ldx, const float *w, float eps,
                  float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        double sq = 0.0;
        for (size_t i = 0; i < d; i++)
            sq += (double)xr[i] * (double)xr[i];
        float rstd = (float)(1.0 / sqrt(sq / (double)d + (double)eps));
        for (size_t i = 0; i < d; i++)
            yr[i] = w[i] * (xr[i] * rstd);
    }
}
