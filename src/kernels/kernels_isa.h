/* Private to kernels/: the ISA-specific entry points behind the dispatchers.
 * Only call an AVX-512 / AVX2 function when kern_isa_supported() says so. */
#ifndef EMB_KERNELS_ISA_H
#define EMB_KERNELS_ISA_H

#include <stddef.h>

#include "kernels/kernels.h"

/* Panels of KERN_PACK_NR columns covering n output columns (the last one
 * zero-padded past n), as kern_pack_nt / kern_pack_nn lay them out. */
static inline size_t kern_pack_panels(size_t n)
{
    return n / KERN_PACK_NR + (n % KERN_PACK_NR != 0);
}

void kern_gemm_nt_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                         const float *w, size_t ldw, const float *bias, float *y, size_t ldy);
void kern_gemm_packed_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const float *packed, size_t kp, const float *bias, float *y, size_t ldy);

void kern_gelu_avx512(float *x, size_t n);
void kern_silu_mul_avx512(float *gate, const float *up, size_t n);
void kern_softmax_scaled_avx512(float *x, size_t n, float scale);

/* kern_linear's AVX-512 path (gemm_mapped_avx512.c; bf16 != 0 needs
 * kern_bf16_supported()), and the calling thread's scratch of at least
 * `bytes` (64-byte aligned, kept for the thread's next call, freed at thread
 * exit; NULL when it cannot be allocated). */
int kern_linear_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx, const void *w,
                       kern_wtype wt, size_t ldw, int bf16, const float *bias, float *y, size_t ldy);
void *kern_linear_scratch(size_t bytes);

void kern_gemm_packed_avx2(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                           const float *packed, size_t kp, const float *bias, float *y, size_t ldy);
void kern_gelu_avx2(float *x, size_t n);
void kern_silu_mul_avx2(float *gate, const float *up, size_t n);
void kern_softmax_scaled_avx2(float *x, size_t n, float scale);

void kern_layernorm_row_avx512(size_t d, const float *x, const float *w, const float *b,
                               float eps, float *y);
void kern_rmsnorm_row_avx512(size_t d, const float *x, const float *w, float eps, float *y);

#endif
