/* Search scores of one query against many stored rows (api/topk.c picks the
 * top k from them): float dot products, int32 dot products of int8 codes,
 * and Hamming distances of packed bits. The reference loops below are also
 * the portable path; each row's score is one chain in a fixed order, so a
 * row's score never depends on which block or thread computed it. */
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

void kern_dot_rows_f32_ref(const float *q, const float *rows, size_t n, size_t dim, float *out)
{
    for (size_t i = 0; i < n; i++) {
        const float *r = rows + i * dim;
        float s = 0.0f;
        for (size_t j = 0; j < dim; j++)
            s += q[j] * r[j];
        out[i] = s;
    }
}

void kern_dot_rows_i8_ref(const int8_t *q, const int8_t *rows, size_t n, size_t dim, int32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const int8_t *r = rows + i * dim;
        int32_t s = 0;
        for (size_t j = 0; j < dim; j++)
            s += (int32_t)q[j] * (int32_t)r[j];
        out[i] = s;
    }
}

void kern_hamming_rows_ref(const uint8_t *q, const uint8_t *rows, size_t n, size_t bytes,
                           uint32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *r = rows + i * bytes;
        uint32_t d = 0;
        for (size_t j = 0; j < bytes; j++)
            for (unsigned x = (unsigned)(q[j] ^ r[j]); x; x &= x - 1)
                d++;
        out[i] = d;
    }
}

void kern_dot_rows_f32_isa(kern_isa isa, const float *q, const float *rows, size_t n, size_t dim,
                           float *out)
{
    if (isa == KERN_ISA_AVX512)
        kern_dot_rows_f32_avx512(q, rows, n, dim, out);
    else if (isa == KERN_ISA_AVX2)
        kern_dot_rows_f32_avx2(q, rows, n, dim, out);
    else
        kern_dot_rows_f32_ref(q, rows, n, dim, out);
}

/* int8 and binary have no AVX-512 version: the AVX2 one (which every
 * AVX-512F CPU runs) serves both paths; these scans are bound by memory
 * reads, not by the vector width (docs/performance.md, "Search"). */
void kern_dot_rows_i8_isa(kern_isa isa, const int8_t *q, const int8_t *rows, size_t n, size_t dim,
                          int32_t *out)
{
    if (isa == KERN_ISA_AVX512 || isa == KERN_ISA_AVX2)
        kern_dot_rows_i8_avx2(q, rows, n, dim, out);
    else
        kern_dot_rows_i8_ref(q, rows, n, dim, out);
}

void kern_hamming_rows_isa(kern_isa isa, const uint8_t *q, const uint8_t *rows, size_t n,
                           size_t bytes, uint32_t *out)
{
    if (isa == KERN_ISA_AVX512 || isa == KERN_ISA_AVX2)
        kern_hamming_rows_avx2(q, rows, n, bytes, out);
    else
        kern_hamming_rows_ref(q, rows, n, bytes, out);
}

void kern_dot_rows_f32(const float *q, const float *rows, size_t n, size_t dim, float *out)
{
    kern_dot_rows_f32_isa(kern_isa_active(), q, rows, n, dim, out);
}

void kern_dot_rows_i8(const int8_t *q, const int8_t *rows, size_t n, size_t dim, int32_t *out)
{
    kern_dot_rows_i8_isa(kern_isa_active(), q, rows, n, dim, out);
}

void kern_hamming_rows(const uint8_t *q, const uint8_t *rows, size_t n, size_t bytes,
                       uint32_t *out)
{
    kern_hamming_rows_isa(kern_isa_active(), q, rows, n, bytes, out);
}
