/* AVX2+FMA GEMM on packed weights (layout: gemm_packed.c), for CPUs without
 * AVX-512. Register tile: MR rows × 16 columns (half a 32-column panel,
 * 2 ymm per row, MR ≤ 6: 12 accumulators), per k two weight loads and MR
 * broadcasts of x from [kc][MR] slivers. Per element: one FMA chain over k in
 * order, then + bias, whatever the row's sliver size — the same contract as
 * the AVX-512 path (whose numbers it matches up to the FMA chain being the
 * same: both are exact chains of fused multiply-adds in k order). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

#if defined(__x86_64__) || defined(__i386__)

#define AVX2 __attribute__((target("avx2,fma")))
#define NR KERN_PACK_NR
#define KC 256
#define MC 48 /* 8 slivers of 6 (48 KiB of stack) */

typedef struct tile_args {
    size_t kc;
    const float *a;    /* [kc][mr] */
    const float *b;    /* [kc][32] panel, offset to the tile's half */
    float *y;
    size_t ldy;
    __m256i m0, m1;    /* valid columns of the two 8-wide halves */
    int load_c;
    const float *bias; /* last k block only */
} tile_args;

AVX2 static inline __attribute__((always_inline)) void tile(const int mr, const tile_args *t)
{
    __m256 c0[6], c1[6];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        if (t->load_c) {
            c0[r] = _mm256_maskload_ps(t->y + (size_t)r * t->ldy, t->m0);
            c1[r] = _mm256_maskload_ps(t->y + (size_t)r * t->ldy + 8, t->m1);
        } else {
            c0[r] = _mm256_setzero_ps();
            c1[r] = _mm256_setzero_ps();
        }
    }
    const float *a = t->a, *b = t->b;
    for (size_t k = 0; k < t->kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b);
        __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
        a += mr;
        b += NR;
    }
    if (t->bias) {
        __m256 bb0 = _mm256_maskload_ps(t->bias, t->m0);
        __m256 bb1 = _mm256_maskload_ps(t->bias + 8, t->m1);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            c0[r] = _mm256_add_ps(c0[r], bb0);
            c1[r] = _mm256_add_ps(c1[r], bb1);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        _mm256_maskstore_ps(t->y + (size_t)r * t->ldy, t->m0, c0[r]);
        _mm256_maskstore_ps(t->y + (size_t)r * t->ldy + 8, t->m1, c1[r]);
    }
}

AVX2 static void tile6(const tile_args *t) { tile(6, t); }
AVX2 static void tile4(const tile_args *t) { tile(4, t); }
AVX2 static void tile2(const tile_args *t) { tile(2, t); }
AVX2 static void tile1(const tile_args *t) { tile(1, t); }

/* lanes [0, min(cnt, 8)) of an 8-lane mask */
AVX2 static __m256i lanes(size_t cnt)
{
    int c = cnt > 8 ? 8 : (int)cnt;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static size_t sliver_plan(size_t mb, size_t sizes[12])
{
    size_t count = 0;
    while (mb >= 6)
        sizes[count++] = 6, mb -= 6;
    static const size_t parts[] = {4, 2, 1};
    for (size_t i = 0; i < 3; i++)
        if (mb >= parts[i])
            sizes[count++] = parts[i], mb -= parts[i];
    return count;
}

AVX2 void kern_gemm_packed_avx2(size_t m, size_t n, size_t k, const float *x, size_t ldx,
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
    float apack[MC * KC];
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = k - k0 < KC ? k - k0 : KC;
        int last = k0 + kc == k;
        for (size_t i0 = 0; i0 < m; i0 += MC) {
            size_t mb = m - i0 < MC ? m - i0 : MC;
            size_t sizes[12], offs[12], rows[12];
            size_t ns = sliver_plan(mb, sizes);
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
            for (size_t p = 0; p < panels; p++)
                for (size_t half = 0; half < 2; half++) {
                    size_t j0 = p * NR + half * 16;
                    if (j0 >= n)
                        break;
                    size_t cols = n - j0 < 16 ? n - j0 : 16;
                    tile_args t;
                    t.kc = kc;
                    t.b = packed + p * kp * NR + k0 * NR + half * 16;
                    t.ldy = ldy;
                    t.m0 = lanes(cols);
                    t.m1 = lanes(cols > 8 ? cols - 8 : 0);
                    t.load_c = k0 > 0;
                    t.bias = last && bias ? bias + j0 : NULL;
                    for (size_t s = 0; s < ns; s++) {
                        t.a = apack + offs[s];
                        t.y = y + (i0 + rows[s]) * ldy + j0;
                        switch (sizes[s]) {
                        case 6: tile6(&t); break;
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

void kern_gemm_packed_avx2(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                           const float *packed, size_t kp, const float *bias, float *y, size_t ldy)
{
    (void)m, (void)n, (void)k, (void)x, (void)ldx, (void)packed, (void)kp, (void)bias, (void)y,
        (void)ldy;
}

#endif
