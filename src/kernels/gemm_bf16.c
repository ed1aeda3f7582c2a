/* bf16 GEMM on packed weights (the reduced-precision Linear path, chosen at
 * open time): w [n, k] is rounded once to bf16 and packed into panels of
 * KERN_PACK_NR columns, each [ceil(k/2)][KERN_PACK_NR][2] (pairs of
 * consecutive k of one column, zero-padded past n and past an odd k), the
 * operand layout of AVX512_BF16's vdpbf16ps. x is rounded to bf16 (nearest
 * even) per call; products accumulate in fp32: per output element one chain
 * over the k pairs in order (acc = (acc + x[2p+1]·w[2p+1]) + x[2p]·w[2p],
 * each bf16 product exact in fp32), then + bias — so a row's numbers depend
 * on nothing but the row, whatever the tile or the thread split. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "kernels/gemm_tile_avx512.h"
#include "runtime/runtime.h"

#define NR KERN_PACK_NR

uint16_t kern_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet */
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

size_t kern_pack_bf16_size(size_t n, size_t k)
{
    size_t cols, total;
    size_t pairs = k / 2 + (k % 2);
    if (rt_mul_overflow(kern_pack_panels(n), NR, &cols) || rt_mul_overflow(cols, pairs, &total) ||
        rt_mul_overflow(total, 2, &total))
        return 0;
    return total;
}

void kern_pack_bf16(size_t n, size_t k, const float *w, size_t ldw, uint16_t *packed)
{
    size_t pairs = k / 2 + (k % 2), panels = kern_pack_panels(n);
    memset(packed, 0, panels * pairs * NR * 2 * sizeof *packed);
    for (size_t p = 0; p < panels; p++) {
        uint16_t *dst = packed + p * pairs * NR * 2;
        size_t j0 = p * NR, cols = n - j0 < NR ? n - j0 : NR;
        for (size_t j = 0; j < cols; j++) {
            const float *src = w + (j0 + j) * ldw;
            for (size_t kk = 0; kk < k; kk++)
                dst[(kk / 2) * NR * 2 + j * 2 + kk % 2] = kern_f32_to_bf16(src[kk]);
        }
    }
}

/* One product of two bf16 values, exact in fp32; denormal inputs are
 * flushed as vdpbf16ps does. */
static float bf16_mul(uint16_t a, uint16_t b)
{
    float fa = (a & 0x7f80u) ? bf16_to_f32(a) : 0.0f, fb = (b & 0x7f80u) ? bf16_to_f32(b) : 0.0f;
    return fa * fb;
}

void kern_gemm_bf16_ref(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                        const uint16_t *packed, const float *bias, float *y, size_t ldy)
{
    size_t pairs = k / 2 + (k % 2);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            const uint16_t *b = packed + (j / NR) * pairs * NR * 2 + (j % NR) * 2;
            float acc = 0.0f;
            for (size_t p = 0; p < pairs; p++) {
                uint16_t a0 = kern_f32_to_bf16(x[i * ldx + 2 * p]);
                uint16_t a1 = 2 * p + 1 < k ? kern_f32_to_bf16(x[i * ldx + 2 * p + 1]) : 0;
                acc = acc + bf16_mul(a1, b[p * NR * 2 + 1]);
                acc = acc + bf16_mul(a0, b[p * NR * 2]);
            }
            y[i * ldy + j] = bias ? acc + bias[j] : acc;
        }
}

#if defined(__x86_64__) || defined(__i386__)

#define BF16 __attribute__((target("avx512f,avx512bf16")))
#define MR KERN_TILE_MR
#define MC 48  /* rows per block: 4 slivers of 12 share each weight slice */
#define KC 256 /* k values per block (128 pairs): a panel's slice is 16 KiB */

/* Rows [i0, i0+mr) of x, k values [k0, k0+kc) (kc even except at the end),
 * as [kc/2][mr] bf16 pairs (zero past k). */
static void bf16_sliver(const float *x, size_t ldx, size_t mr, size_t k0, size_t kc, size_t k,
                        uint32_t *a)
{
    size_t pairs = kc / 2 + (kc % 2);
    for (size_t r = 0; r < mr; r++) {
        const float *xr = x + r * ldx + k0;
        for (size_t p = 0; p < pairs; p++) {
            uint16_t lo = kern_f32_to_bf16(xr[2 * p]);
            uint16_t hi = k0 + 2 * p + 1 < k ? kern_f32_to_bf16(xr[2 * p + 1]) : 0;
            a[p * mr + r] = (uint32_t)lo | (uint32_t)hi << 16;
        }
    }
}

BF16 static void bf16_tile_any(int mr, const kern_tile_args *t)
{
    switch (mr) {
#define CASE(R)                                                                                   \
    case R:                                                                                       \
        kern_tile_bf16(R, t);                                                                     \
        break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
        CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
#undef CASE
    default:
        break;
    }
}

static void gemm_bf16_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const uint16_t *packed, const float *bias, float *y, size_t ldy)
{
    size_t kpairs = k / 2 + (k % 2), panels = kern_pack_panels(n);
    uint32_t a[(KC / 2) * MC]; /* MC / MR slivers of [pairs][mr] */
    for (size_t i0 = 0; i0 < m; i0 += MC) {
        size_t mc = m - i0 < MC ? m - i0 : MC;
        for (size_t k0 = 0; k0 < k; k0 += KC) {
            size_t kc = k - k0 < KC ? k - k0 : KC;
            size_t pairs = kc / 2 + (kc % 2);
            int last = k0 + kc >= k;
            for (size_t r0 = 0; r0 < mc; r0 += MR)
                bf16_sliver(x + (i0 + r0) * ldx, ldx, mc - r0 < MR ? mc - r0 : MR, k0, kc, k,
                            a + r0 * (KC / 2));
            for (size_t p = 0; p < panels; p++) {
                size_t j0 = p * NR, cols = n - j0 < NR ? n - j0 : NR;
                __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
                __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xffffu
                                           : cols > 16 ? (1u << (cols - 16)) - 1u : 0u);
                const uint16_t *b = packed + p * kpairs * NR * 2 + (k0 / 2) * NR * 2;
                kern_tile_args t;
                t.kc = pairs;
                t.lda = 0;
                t.b = b;
                t.ldy = ldy;
                t.m0 = m0;
                t.m1 = m1;
                t.load_c = k0 > 0;
                t.bias = last && bias ? bias + j0 : NULL;
                for (size_t r0 = 0; r0 < mc; r0 += MR) {
                    size_t mr = mc - r0 < MR ? mc - r0 : MR;
                    t.a = a + r0 * (KC / 2);
                    t.y = y + (i0 + r0) * ldy + j0;
                    bf16_tile_any((int)mr, &t);
                }
            }
        }
    }
}

#endif

int kern_bf16_supported(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return rt_cpu_features()->avx512_bf16;
#else
    return 0;
#endif
}

void kern_gemm_bf16(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                    const uint16_t *packed, const float *bias, float *y, size_t ldy)
{
    if (m == 0 || n == 0)
        return;
#if defined(__x86_64__) || defined(__i386__)
    if (kern_bf16_supported()) {
        gemm_bf16_avx512(m, n, k, x, ldx, packed, bias, y, ldy);
        return;
    }
#endif
    kern_gemm_bf16_ref(m, n, k, x, ldx, packed, bias, y, ldy);
}
