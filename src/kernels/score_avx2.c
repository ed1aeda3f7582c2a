/* AVX2 versions of the search scores (score.c): per row, float dot products
 * in four 8-lane FMA chains (32 floats a step, a masked tail) summed in a
 * fixed tree; int8 dot products widened to int16 and summed exactly with
 * vpmaddwd (the query widened once per call); Hamming distances with the
 * nibble-table popcount (vpshufb, then vpsadbw) over 32 bytes at a time,
 * then popcnt over 8 bytes, then one byte at a time. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <string.h>

#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 void kern_dot_rows_f32_avx2(const float *q, const float *rows, size_t n, size_t dim, float *out)
{
    for (size_t i = 0; i < n; i++) {
        const float *r = rows + i * dim;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t j = 0;
        for (; j + 32 <= dim; j += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(r + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), _mm256_loadu_ps(r + j + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 16), _mm256_loadu_ps(r + j + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 24), _mm256_loadu_ps(r + j + 24), a3);
        }
        for (; j + 8 <= dim; j += 8)
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(r + j), a0);
        if (j < dim) {
            __m256i m = kern_lanes8(dim - j);
            a1 = _mm256_fmadd_ps(_mm256_maskload_ps(q + j, m), _mm256_maskload_ps(r + j, m), a1);
        }
        out[i] = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
}

AVX2 static inline int32_t hsum8_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* The query widened to int16 once per call when it fits on the stack
 * (dim <= I8_Q16_MAX), so that each step widens only the row's codes. */
#define I8_Q16_MAX 2048

AVX2 void kern_dot_rows_i8_avx2(const int8_t *q, const int8_t *rows, size_t n, size_t dim,
                                int32_t *out)
{
    int16_t q16[I8_Q16_MAX];
    int wide = dim <= I8_Q16_MAX;
    for (size_t j = 0; wide && j < dim; j++)
        q16[j] = q[j];
    size_t d16 = dim / 16 * 16;
    for (size_t i = 0; i < n; i++) {
        const int8_t *r = rows + i * dim;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        size_t j = 0;
        if (wide) {
            for (; j + 32 <= d16; j += 32) {
                __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + j)));
                __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + j + 16)));
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(q16 + j)), b0));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(q16 + j + 16)), b1));
            }
        }
        for (; j < d16; j += 16) {
            __m256i a = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(q + j)));
            __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + j)));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(a, b));
        }
        int32_t s = hsum8_epi32(_mm256_add_epi32(a0, a1));
        for (; j < dim; j++)
            s += (int32_t)q[j] * (int32_t)r[j];
        out[i] = s;
    }
}

/* popcnt: every AVX2 CPU has it (rt_cpu's avx2 implies it in practice;
 * the x86-64-v3 level includes both). */
__attribute__((target("avx2,popcnt"))) void kern_hamming_rows_avx2(const uint8_t *q, const uint8_t *rows, size_t n, size_t bytes,
                                 uint32_t *out)
{
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                           2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *r = rows + i * bytes;
        __m256i acc = _mm256_setzero_si256();
        size_t j = 0;
        for (; j + 32 <= bytes; j += 32) {
            __m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(q + j)),
                                         _mm256_loadu_si256((const __m256i *)(const void *)(r + j)));
            __m256i c = _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(x, low)),
                                        _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), low)));
            acc = _mm256_add_epi64(acc, _mm256_sad_epu8(c, _mm256_setzero_si256()));
        }
        uint64_t d = (uint64_t)_mm256_extract_epi64(acc, 0) + (uint64_t)_mm256_extract_epi64(acc, 1) +
                     (uint64_t)_mm256_extract_epi64(acc, 2) + (uint64_t)_mm256_extract_epi64(acc, 3);
        for (; j + 8 <= bytes; j += 8) {
            uint64_t x, y;
            memcpy(&x, q + j, 8);
            memcpy(&y, r + j, 8);
            d += (uint64_t)_mm_popcnt_u64(x ^ y);
        }
        for (; j < bytes; j++)
            d += (uint64_t)_mm_popcnt_u32((unsigned)(q[j] ^ r[j]));
        out[i] = (uint32_t)d;
    }
}

#else /* not x86: never called (kern_isa_supported is false) */

void kern_dot_rows_f32_avx2(const float *q, const float *rows, size_t n, size_t dim, float *out)
{
    kern_dot_rows_f32_ref(q, rows, n, dim, out);
}
void kern_dot_rows_i8_avx2(const int8_t *q, const int8_t *rows, size_t n, size_t dim, int32_t *out)
{
    kern_dot_rows_i8_ref(q, rows, n, dim, out);
}
void kern_hamming_rows_avx2(const uint8_t *q, const uint8_t *rows, size_t n, size_t bytes,
                            uint32_t *out)
{
    kern_hamming_rows_ref(q, rows, n, bytes, out);
}

#endif
