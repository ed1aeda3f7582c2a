/* Element-wise activations and the row softmax. The reference versions use
 * the formulas torch uses for float32 with libm (erff, expf); the AVX-512
 * versions (activation_avx512.c) agree with them to about 1e-6 relative. */
#include <math.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

void kern_gelu_ref(float *x, size_t n)
{
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] * 0.5f * (1.0f + erff(x[i] * inv_sqrt2));
}

void kern_gelu_isa(kern_isa isa, float *x, size_t n)
{
    if (isa == KERN_ISA_AVX512)
        kern_gelu_avx512(x, n);
    else if (isa == KERN_ISA_AVX2)
        kern_gelu_avx2(x, n);
    else
        kern_gelu_ref(x, n);
}

void kern_gelu(float *x, size_t n)
{
    kern_gelu_isa(kern_isa_active(), x, n);
}

void kern_gelu_tanh(float *x, size_t n)
{
    const float k = 0.79788456080286535588f; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

void kern_relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void kern_silu_mul_ref(float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void kern_silu_mul_isa(kern_isa isa, float *gate, const float *up, size_t n)
{
    if (isa == KERN_ISA_AVX512)
        kern_silu_mul_avx512(gate, up, n);
    else if (isa == KERN_ISA_AVX2)
        kern_silu_mul_avx2(gate, up, n);
    else
        kern_silu_mul_ref(gate, up, n);
}

void kern_silu_mul(float *gate, const float *up, size_t n)
{
    kern_silu_mul_isa(kern_isa_active(), gate, up, n);
}

void kern_softmax_scaled_ref(float *x, size_t n, float scale)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] *= scale;
    float mx = x[0];
    for (size_t i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum; /* as torch's vectorized softmax */
    for (size_t i = 0; i < n; i++)
        x[i] *= inv;
}

void kern_softmax_scaled_isa(kern_isa isa, float *x, size_t n, float scale)
{
    if (isa == KERN_ISA_AVX512)
        kern_softmax_scaled_avx512(x, n, scale);
    else if (isa == KERN_ISA_AVX2)
        kern_softmax_scaled_avx2(x, n, scale);
    else
        kern_softmax_scaled_ref(x, n, scale);
}

void kern_softmax_scaled(float *x, size_t n, float scale)
{
    kern_softmax_scaled_isa(kern_isa_active(), x, n, scale);
}

void kern_softmax(float *x, size_t n)
{
    kern_softmax_scaled(x, n, 1.0f);
}
