/* AVX-512F version of the float search score (score.c): per row, four
 * 16-lane FMA chains (64 floats a step, then 16 at a time, a masked tail)
 * summed in a fixed order. The int8 and binary scores use the AVX2 code on
 * this path (score.c says why). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f")))

AVX512 void kern_dot_rows_f32_avx512(const float *q, const float *rows, size_t n, size_t dim,
                                     float *out)
{
    for (size_t i = 0; i < n; i++) {
        const float *r = rows + i * dim;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t j = 0;
        for (; j + 64 <= dim; j += 64) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(r + j), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 16), _mm512_loadu_ps(r + j + 16), a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 32), _mm512_loadu_ps(r + j + 32), a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 48), _mm512_loadu_ps(r + j + 48), a3);
        }
        for (; j + 16 <= dim; j += 16)
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(r + j), a0);
        if (j < dim) {
            __mmask16 m = kern_lanes16(dim - j);
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + j), _mm512_maskz_loadu_ps(m, r + j), a1);
        }
        out[i] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
}

#else

void kern_dot_rows_f32_avx512(const float *q, const float *rows, size_t n, size_t dim, float *out)
{
    kern_dot_rows_f32_ref(q, rows, n, dim, out);
}

#endif
