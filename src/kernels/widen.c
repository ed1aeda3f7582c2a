/* Widening stored 16-bit weights to fp32 (exact): embedding rows of a model
 * whose tensors stay mapped in their file type. */
#include <string.h>

#include "kernels/kernels.h"

size_t kern_wtype_size(kern_wtype wt)
{
    return wt == KERN_W_F32 || wt == KERN_W_I32 ? 4 : wt == KERN_W_I8 ? 1 : 2;
}

/* IEEE half bits -> float bits, exact (subnormals normalized, NaN kept). */
static uint32_t f16_bits_to_f32_bits(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) /* inf / NaN */
        return sign | 0x7f800000u | (man << 13);
    if (exp != 0)
        return sign | ((exp + 112u) << 23) | (man << 13);
    if (man == 0)
        return sign;
    exp = 113; /* subnormal: shift the leading 1 into the implicit bit */
    while (!(man & 0x400u)) {
        man <<= 1;
        exp--;
    }
    return sign | (exp << 23) | ((man & 0x3ffu) << 13);
}

void kern_widen(const void *src, kern_wtype wt, size_t n, float *dst)
{
    if (wt == KERN_W_F32) {
        memcpy(dst, src, n * sizeof *dst);
        return;
    }
    const unsigned char *p = src; /* any alignment (a safetensors payload, say) */
    if (wt == KERN_W_I8) {
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)(int8_t)p[i];
        return;
    }
    if (wt == KERN_W_I32) {
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, sizeof v);
            dst[i] = (float)v;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, sizeof h); /* little-endian host, as the format */
        uint32_t bits = wt == KERN_W_BF16 ? (uint32_t)h << 16 : f16_bits_to_f32_bits(h);
        memcpy(&dst[i], &bits, sizeof bits);
    }
}
