/* AVX2+FMA versions of the activations and the row softmax (see
 * activation_avx512.c for the formulas). exp: Cephes range reduction and
 * polynomial, 2^n built in the exponent bits; inputs are clamped to
 * [-88, 88.3]: results that would be denormal (x < ~-87.7) come out as 0,
 * and exp never overflows to inf. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-88.0f)); /* n >= -127: 2^-127 is built as 0 */
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 static inline __m256 erfc8(__m256 z)
{
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(0.17087277f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
    return _mm256_mul_ps(t, exp8(_mm256_fnmadd_ps(z, z, p)));
}

AVX2 void kern_gelu_avx2(float *x, size_t n)
{
    const __m256 inv_sqrt2 = _mm256_set1_ps(0.70710678118654752440f);
    const __m256 half = _mm256_set1_ps(0.5f), two = _mm256_set1_ps(2.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (size_t i = 0; i < n; i += 8) {
        __m256i m = kern_lanes8(n - i);
        __m256 v = _mm256_maskload_ps(x + i, m);
        __m256 e = erfc8(_mm256_mul_ps(_mm256_andnot_ps(sign, v), inv_sqrt2));
        __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        __m256 f = _mm256_blendv_ps(_mm256_sub_ps(two, e), e, neg);
        _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_mul_ps(v, half), f));
    }
}

AVX2 void kern_silu_mul_avx2(float *gate, const float *up, size_t n)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 8) {
        __m256i m = kern_lanes8(n - i);
        __m256 g = _mm256_maskload_ps(gate + i, m);
        __m256 u = _mm256_maskload_ps(up + i, m);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 s = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_maskstore_ps(gate + i, m, _mm256_mul_ps(s, u));
    }
}

AVX2 void kern_softmax_scaled_avx2(float *x, size_t n, float scale)
{
    if (n == 0)
        return;
    const __m256 sc = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-__builtin_inff());
    __m256 mx = ninf;
    for (size_t i = 0; i < n; i += 8) {
        __m256i m = kern_lanes8(n - i);
        __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), sc);
        mx = _mm256_max_ps(mx, _mm256_blendv_ps(ninf, v, _mm256_castsi256_ps(m)));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, mx);
    float best = lanes[0];
    for (int l = 1; l < 8; l++)
        best = lanes[l] > best ? lanes[l] : best;
    __m256 vmax = _mm256_set1_ps(best), sum = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) {
        __m256i m = kern_lanes8(n - i);
        __m256 e = exp8(_mm256_fmsub_ps(_mm256_maskload_ps(x + i, m), sc, vmax));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(x + i, m, e);
        sum = _mm256_add_ps(sum, e);
    }
    _mm256_storeu_ps(lanes, sum);
    float total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
                  ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    __m256 inv = _mm256_set1_ps(1.0f / total);
    for (size_t i = 0; i < n; i += 8) {
        __m256i m = kern_lanes8(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv));
    }
}

#else

void kern_gelu_avx2(float *x, size_t n)
{
    (void)x, (void)n;
}
void kern_silu_mul_avx2(float *gate, const float *up, size_t n)
{
    (void)gate, (void)up, (void)n;
}
void kern_softmax_scaled_avx2(float *x, size_t n, float scale)
{
    (void)x, (void)n, (void)scale;
}

#endif
