/* AVX-512F versions of the element-wise activations and the row softmax.
 * exp: Cephes-style range reduction (x = n·ln2 + r, Cody–Waite split) and a
 * degree-6 polynomial, scaled with vscalefps (~1 ulp; inputs below -104
 * give 0). GELU uses erfc from Numerical Recipes' Chebyshev fit (relative
 * error < 1.2e-7): gelu(x) = x/2 · erfc(|x|/√2) for x < 0 and
 * x/2 · (2 − erfc(x/√2)) otherwise, so small negative outputs keep their
 * relative accuracy. Sums (softmax) use 16 lanes then a fixed tree. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f")))

AVX512 static inline __m512 exp16(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* erfc(z) for z >= 0 (Numerical Recipes erfcc). */
AVX512 static inline __m512 erfc16(__m512 z)
{
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(0.17087277f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
    __m512 arg = _mm512_fnmadd_ps(z, z, p); /* -z² + poly */
    return _mm512_mul_ps(t, exp16(arg));
}

AVX512 void kern_gelu_avx512(float *x, size_t n)
{
    const __m512 inv_sqrt2 = _mm512_set1_ps(0.70710678118654752440f);
    const __m512 half = _mm512_set1_ps(0.5f), two = _mm512_set1_ps(2.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = kern_lanes16(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 z = _mm512_mul_ps(_mm512_abs_ps(v), inv_sqrt2); /* |x|/√2 */
        __m512 e = erfc16(z);
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        __m512 f = _mm512_mask_blend_ps(neg, _mm512_sub_ps(two, e), e);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_mul_ps(v, half), f));
    }
}

AVX512 void kern_silu_mul_avx512(float *gate, const float *up, size_t n)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = kern_lanes16(n - i);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 u = _mm512_maskz_loadu_ps(m, up + i);
        __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        __m512 s = _mm512_div_ps(g, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(s, u));
    }
}

/* softmax(x·scale): max of x·scale (read only), e = exp(x·scale − max) with
 * the product fused into the subtraction, then × 1/sum (as torch's
 * vectorized softmax). */
AVX512 void kern_softmax_scaled_avx512(float *x, size_t n, float scale)
{
    if (n == 0)
        return;
    const __m512 sc = _mm512_set1_ps(scale);
    __m512 mx = _mm512_set1_ps(-__builtin_inff());
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = kern_lanes16(n - i);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sc));
    }
    __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = kern_lanes16(n - i);
        __m512 e = exp16(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, x + i), sc, vmax));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(x + i, m, e);
        sum = _mm512_add_ps(sum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = kern_lanes16(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
    }
}

#else

void kern_gelu_avx512(float *x, size_t n)
{
    (void)x, (void)n;
}
void kern_silu_mul_avx512(float *gate, const float *up, size_t n)
{
    (void)gate, (void)up, (void)n;
}
void kern_softmax_scaled_avx512(float *x, size_t n, float scale)
{
    (void)x, (void)n, (void)scale;
}

#endif
