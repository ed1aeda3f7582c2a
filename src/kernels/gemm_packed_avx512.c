/* AVX-512F GEMM on packed weights (layout: gemm_packed.c). Register tile
 * (kern_tile_f32, gemm_tile_avx512.h, shared with kern_linear):
 * MR rows × 32 columns (2 zmm per row, MR ≤ 12: 24 accumulators), per k one
 * load of the two weight vectors and MR broadcasts of x. x is copied into
 * [kc][MR] slivers per k block so the broadcasts read sequentially — unless
 * there are at most DIRECT_PANELS output panels (attention's p·v), where
 * the copy would cost as much as the FMAs and x is read in place. Per
 * element: one FMA chain over k in order (k blocks store and reload the fp32
 * accumulators, which leaves it unchanged), then + bias: the same numbers
 * whatever MR the row's tile had, so a row's result never depends on the
 * other rows. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "kernels/gemm_tile_avx512.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX512 __attribute__((target("avx512f")))
#define NR KERN_PACK_NR
#ifndef KC
#define KC 256 /* k block: a [KC][32] weight slice is 32 KiB */
#endif
#ifndef MC
#define MC 48 /* rows per packed x block: 4 slivers of 12 (48 KiB of stack) */
#endif

typedef kern_tile_args tile_args;

/* The same chains with x read in place (row r at a + r·lda): for products
 * with few output panels (attention's p·v), where copying x into slivers
 * would cost as much as the FMAs it feeds. */
#define tile_direct(mr, t) kern_tile_f32_at(mr, t, (t)->lda, 1)

AVX512 static void direct8(const tile_args *t) { tile_direct(8, t); }
AVX512 static void direct4(const tile_args *t) { tile_direct(4, t); }
AVX512 static void direct2(const tile_args *t) { tile_direct(2, t); }
AVX512 static void direct1(const tile_args *t) { tile_direct(1, t); }

/* Output panels up to which x is read in place instead of packed. */
#ifndef DIRECT_PANELS
#define DIRECT_PANELS 2
#endif

AVX512 static void tile12(const tile_args *t) { kern_tile_f32(12, t); }
AVX512 static void tile8(const tile_args *t) { kern_tile_f32(8, t); }
AVX512 static void tile4(const tile_args *t) { kern_tile_f32(4, t); }
AVX512 static void tile2(const tile_args *t) { kern_tile_f32(2, t); }
AVX512 static void tile1(const tile_args *t) { kern_tile_f32(1, t); }

/* Row slivers of a block of mb rows: 12s, then 8, 4, 2, 1 for the rest. */
static size_t sliver_plan(size_t mb, size_t sizes[16])
{
    size_t count = 0;
    while (mb >= 12)
        sizes[count++] = 12, mb -= 12;
    static const size_t parts[] = {8, 4, 2, 1};
    for (size_t i = 0; i < 4; i++)
        if (mb >= parts[i])
            sizes[count++] = parts[i], mb -= parts[i];
    return count;
}

AVX512 void kern_gemm_packed_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                                    const float *packed, size_t kp, const float *bias, float *y,
                                    size_t ldy)
{
    size_t panels = kern_pack_panels(n);
    if (k == 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                y[i * ldy + j] = bias ? 0.0f + bias[j] : 0.0f;
        return;
    }
    if (panels <= DIRECT_PANELS) {
        /* few panels: x in place, rows in tiles of 8/4/2/1 */
        for (size_t k0 = 0; k0 < k; k0 += KC) {
            size_t kc = k - k0 < KC ? k - k0 : KC;
            int last = k0 + kc == k;
            for (size_t p = 0; p < panels; p++) {
                size_t j0 = p * NR;
                size_t cols = n - j0 < NR ? n - j0 : NR;
                tile_args t;
                t.kc = kc;
                t.lda = ldx;
                t.b = packed + p * kp * NR + k0 * NR;
                t.ldy = ldy;
                t.m0 = (__mmask16)(cols >= 16 ? 0xFFFFu : (1u << cols) - 1u);
                t.m1 = (__mmask16)(cols > 16 ? (cols >= 32 ? 0xFFFFu : (1u << (cols - 16)) - 1u) : 0u);
                t.load_c = k0 > 0;
                t.bias = last && bias ? bias + j0 : NULL;
                for (size_t i0 = 0; i0 < m;) {
                    size_t rem = m - i0;
                    size_t mr = rem >= 8 ? 8 : rem >= 4 ? 4 : rem >= 2 ? 2 : 1;
                    t.a = x + i0 * ldx + k0;
                    t.y = y + i0 * ldy + j0;
                    switch (mr) {
                    case 8: direct8(&t); break;
                    case 4: direct4(&t); break;
                    case 2: direct2(&t); break;
                    default: direct1(&t); break;
                    }
                    i0 += mr;
                }
            }
        }
        return;
    }
    float apack[MC * KC];
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = k - k0 < KC ? k - k0 : KC;
        int last = k0 + kc == k;
        for (size_t i0 = 0; i0 < m; i0 += MC) {
            size_t mb = m - i0 < MC ? m - i0 : MC;
            size_t sizes[16], offs[16], rows[16];
            size_t ns = sliver_plan(mb, sizes);
            /* x[i0.., k0..k0+kc) -> slivers [kc][mr] */
            size_t off = 0, row = 0;
            for (size_t s = 0; s < ns; s++) {
                size_t mr = sizes[s];
                offs[s] = off, rows[s] = row;
                float *dst = apack + off;
                for (size_t r = 0; r < mr; r++) {
                    const float *src = x + (i0 + row + r) * ldx + k0;
                    for (size_t kk = 0; kk < kc; kk++)
                        dst[kk * mr + r] = src[kk];
                }
                off += mr * kc;
                row += mr;
            }
            for (size_t p = 0; p < panels; p++) {
                size_t j0 = p * NR;
                size_t cols = n - j0 < NR ? n - j0 : NR;
                tile_args t;
                t.kc = kc;
                t.lda = 0;
                t.b = packed + p * kp * NR + k0 * NR;
                t.ldy = ldy;
                t.m0 = (__mmask16)(cols >= 16 ? 0xFFFFu : (1u << cols) - 1u);
                t.m1 = (__mmask16)(cols > 16 ? (cols >= 32 ? 0xFFFFu : (1u << (cols - 16)) - 1u) : 0u);
                t.load_c = k0 > 0;
                t.bias = last && bias ? bias + j0 : NULL;
                for (size_t s = 0; s < ns; s++) {
                    t.a = apack + offs[s];
                    t.y = y + (i0 + rows[s]) * ldy + j0;
                    switch (sizes[s]) {
                    case 12: tile12(&t); break;
                    case 8: tile8(&t); break;
                    case 4: tile4(&t); break;
                    case 2: tile2(&t); break;
                    default: tile1(&t); break;
                    }
                }
            }
        }
    }
}

#else

void kern_gemm_packed_avx512(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                             const float *packed, size_t kp, const float *bias, float *y, size_t ldy)
{
    (void)m, (void)n, (void)k, (void)x, (void)ldx, (void)packed, (void)kp, (void)bias, (void)y,
        (void)ldy;
}

#endif
