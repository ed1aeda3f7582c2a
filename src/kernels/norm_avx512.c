/* AVX-512F LayerNorm / RMSNorm rows, bitwise equal to the portable ones in
 * norm.c: the 8 double partial sums are the 8 lanes of one zmm (lane l takes
 * i ≡ l mod 8, tail included), combined in the same tree, and the
 * per-element float formula uses the same operations in the same order
 * (no fused multiply-add). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <string.h>

#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f")))

AVX512 static double row_sum16(const float *x, size_t d, double center, int sq)
{
    __m512d acc = _mm512_setzero_pd(), ctr = _mm512_set1_pd(center);
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        __m512d c = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), ctr);
        acc = _mm512_add_pd(acc, sq ? _mm512_mul_pd(c, c) : c);
    }
    if (i < d) {
        float tail[8] = {0};
        memcpy(tail, x + i, (d - i) * sizeof *tail);
        __mmask8 m = (__mmask8)((1u << (d - i)) - 1u);
        __m512d c = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(tail)), ctr);
        acc = _mm512_mask_add_pd(acc, m, acc, sq ? _mm512_mul_pd(c, c) : c);
    }
    double a[8];
    _mm512_storeu_pd(a, acc);
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static inline __mmask16 tail16(size_t rem)
{
    return (__mmask16)(rem >= 16 ? 0xFFFFu : (1u << rem) - 1u);
}

AVX512 void kern_layernorm_row_avx512(size_t d, const float *x, const float *w, const float *b,
                                      float eps, float *y)
{
    double mean = row_sum16(x, d, 0.0, 0) / (double)d;
    double var = row_sum16(x, d, mean, 1) / (double)d;
    __m512 rstd = _mm512_set1_ps((float)(1.0 / __builtin_sqrt(var + (double)eps)));
    __m512 mu = _mm512_set1_ps((float)mean);
    for (size_t i = 0; i < d; i += 16) {
        __mmask16 m = tail16(d - i);
        __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mu);
        v = _mm512_mul_ps(_mm512_mul_ps(v, rstd), _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + i)));
    }
}

AVX512 void kern_rmsnorm_row_avx512(size_t d, const float *x, const float *w, float eps, float *y)
{
    double ms = row_sum16(x, d, 0.0, 1) / (double)d;
    __m512 rstd = _mm512_set1_ps((float)(1.0 / __builtin_sqrt(ms + (double)eps)));
    for (size_t i = 0; i < d; i += 16) {
        __mmask16 m = tail16(d - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), rstd);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, w + i), v));
    }
}

#else

void kern_layernorm_row_avx512(size_t d, const float *x, const float *w, const float *b,
                               float eps, float *y)
{
    (void)d, (void)x, (void)w, (void)b, (void)eps, (void)y;
}
void kern_rmsnorm_row_avx512(size_t d, const float *x, const float *w, float eps, float *y)
{
    (void)d, (void)x, (void)w, (void)eps, (void)y;
}

#endif
