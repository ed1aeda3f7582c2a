/* Rotary position embedding, HF default ("rotate_half") convention, with
 * the table computed the way transformers computes it in float32. */
#include <math.h>

#include "kernels/kernels.h"

/* Column i of the cos/sin tables: angle p·inv for positions 0 .. n-1. */
static void rope_column(size_t n, size_t half, size_t i, float inv, float scale, float *cos_t,
                        float *sin_t)
{
    for (size_t p = 0; p < n; p++) {
        float ang = (float)p * inv;
        cos_t[p * half + i] = cosf(ang) * scale;
        sin_t[p * half + i] = sinf(ang) * scale;
    }
}

void kern_rope_table(size_t n, size_t hd, double theta, float *cos_t, float *sin_t)
{
    size_t half = hd / 2;
    for (size_t i = 0; i < half; i++) {
        /* inv_freq = 1.0 / (base ** (arange(0, dim, 2).float() / dim)) */
        float e = (float)(2 * i) / (float)hd;
        rope_column(n, half, i, 1.0f / powf((float)theta, e), 1.0f, cos_t, sin_t);
    }
}

void kern_rope_table_freqs(size_t n, size_t half, const float *inv_freq, float scale,
                           float *cos_t, float *sin_t)
{
    for (size_t i = 0; i < half; i++)
        rope_column(n, half, i, inv_freq[i], scale, cos_t, sin_t);
}

void kern_rope_table_ntk(size_t n, size_t hd, double theta, double factor, float *cos_t,
                         float *sin_t)
{
    size_t half = hd / 2;
    float div = (float)pow(factor, 2.0 / (double)hd);
    for (size_t i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)hd;
        rope_column(n, half, i, 1.0f / powf((float)(theta * factor), e) / div, 1.0f, cos_t,
                    sin_t);
    }
}

void kern_rope_apply(size_t n, size_t heads, size_t hd, float *x, size_t ldx,
                     const float *cos_t, const float *sin_t)
{
    size_t half = hd / 2;
    for (size_t p = 0; p < n; p++) {
        const float *c = cos_t + p * half;
        const float *s = sin_t + p * half;
        for (size_t h = 0; h < heads; h++) {
            float *v = x + p * ldx + h * hd;
            for (size_t i = 0; i < half; i++) {
                float x1 = v[i], x2 = v[i + half];
                v[i] = x1 * c[i] + (-x2) * s[i];
                v[i + half] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}
