/* kern_linear_i8 tests: the u8 row quantizer (kern_quant_u8_row) against a
 * double-precision restatement of its formula, on random rows and on the
 * edge rows (zeros, one sign only, one huge value, exact half-way values,
 * NaN / infinity); the converter's int8 quantizer (kern_quant_i8_row); the
 * portable product against the formula in double and against the fp32
 * product of the dequantized weights (error within the quantization bound);
 * the AVX512_VNNI and AVX2 paths bitwise equal to the portable one on many shapes
 * (k not a multiple of 4 or 64, n not a multiple of 16 or 32, m tails,
 * strides wider than needed, with and without bias, column sub-ranges, row
 * chunks); sums at k = KERN_I8_MAX_K stay exact; k above it is refused.
 * Pre-packed weights: the panel layout (kern_pack_i8_panels) byte by byte
 * against its index formula, kern_linear_i8p on every path bitwise equal
 * to kern_linear_i8 on the same shapes and column sub-ranges. Outlier
 * features (kern_i8_outliers, format 1.2): the portable path bitwise equal
 * to its restatement (the int8 product of x with the features zeroed, then
 * the fp32 sums in the order of t, in plain loops) and within the
 * quantization bound of the zeroed rows' scales; every path bitwise the
 * portable one on the same shapes and column sub-ranges; non-finite
 * outlier features give NaN rows; counts above k or the limit refused. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h" /* kern_i8_avx2_supported */

#define COUNT(a) (sizeof(a) / sizeof(a[0]))

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t urand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 32);
}

/* uniform in [-1, 1) */
static float frand(void)
{
    return (float)((double)(urand() >> 8) / (double)(1u << 24)) * 2.0f - 1.0f;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

/* ------------------------------------------------------ the u8 quantizer */

/* The formula in double, the float roundings where the contract has them
 * (float results of +, -, / computed in double and rounded once are the
 * correctly rounded float results). */
static void quant_u8_expected(size_t k, const float *x, uint8_t *u, float *scale, int32_t *zero)
{
    double lo = 0, hi = 0;
    for (size_t i = 0; i < k; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    float range = (float)(hi - lo);
    float s = (float)((double)range / 255.0);
    *scale = s;
    *zero = 0;
    if (s == 0.0f) {
        memset(u, 0, k);
        return;
    }
    double zr = nearbyint((double)(float)(-lo / (double)s));
    int32_t z = zr < 0 ? 0 : zr > 255 ? 255 : (int32_t)zr;
    *zero = z;
    for (size_t i = 0; i < k; i++) {
        double q = nearbyint((double)(float)((double)x[i] / (double)s)) + z;
        u[i] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
    }
}

static void check_quant_u8(size_t k, const float *x, const char *what)
{
    uint8_t *u = xmalloc(k), *ue = xmalloc(k);
    float s, se;
    int32_t z, ze;
    kern_quant_u8_row(k, x, u, &s, &z);
    quant_u8_expected(k, x, ue, &se, &ze);
    if (memcmp(&s, &se, sizeof s) != 0 || z != ze) {
        print_error("%s (k=%zu): scale %.9g zero %d, expected %.9g %d\n", what, k, (double)s,
                    (int)z, (double)se, (int)ze);
        fail();
    }
    for (size_t i = 0; i < k; i++)
        if (u[i] != ue[i]) {
            print_error("%s (k=%zu): first differing byte u[%zu] = %u (x = %.9g), expected %u\n",
                        what, k, i, u[i], (double)x[i], ue[i]);
            fail();
        }
    free(u), free(ue);
}

static void test_quant_u8(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 2, 3, 15, 16, 17, 64, 100, 384, 1000};
    for (size_t a = 0; a < COUNT(ks); a++) {
        size_t k = ks[a];
        float *x = xmalloc(k * sizeof *x);
        for (int rep = 0; rep < 20; rep++) {
            float mag = ldexpf(1.0f, (int)(urand() % 40) - 20);
            for (size_t i = 0; i < k; i++)
                x[i] = frand() * mag;
            check_quant_u8(k, x, "random row");
            for (size_t i = 0; i < k; i++)
                x[i] = fabsf(x[i]);
            check_quant_u8(k, x, "all-positive row");
            for (size_t i = 0; i < k; i++)
                x[i] = -x[i];
            check_quant_u8(k, x, "all-negative row");
        }
        memset(x, 0, k * sizeof *x);
        check_quant_u8(k, x, "zero row");
        /* subnormal scales (v / s rounded from an inexact s), and a range
         * whose scale underflows to 0 */
        for (size_t i = 0; i < k; i++)
            x[i] = frand() * 1e-40f;
        check_quant_u8(k, x, "subnormal scale");
        for (size_t i = 0; i < k; i++)
            x[i] = (float)(urand() % 3) * 1e-45f;
        check_quant_u8(k, x, "tiny range");
        /* one huge value among small ones */
        for (size_t i = 0; i < k; i++)
            x[i] = frand();
        x[k / 2] = -3e37f;
        check_quant_u8(k, x, "one huge value");
        free(x);
    }

    /* explicit values: all-zero, one sign only, half-way rounding */
    uint8_t u[8];
    float s;
    int32_t z;
    const float zeros[3] = {0.0f, -0.0f, 0.0f};
    kern_quant_u8_row(3, zeros, u, &s, &z);
    assert_true(s == 0.0f && z == 0 && u[0] == 0 && u[1] == 0 && u[2] == 0);
    /* lo = 0, hi = 255: s = 1, z = 0; x.5 rounds to even */
    const float pos[6] = {255.0f, 0.5f, 1.5f, 2.5f, 253.5f, 254.5f};
    kern_quant_u8_row(6, pos, u, &s, &z);
    assert_true(s == 1.0f);
    assert_int_equal(z, 0);
    const uint8_t upos[6] = {255, 0, 2, 2, 254, 254};
    assert_memory_equal(u, upos, 6);
    /* hi = 0, lo = -255: s = 1, z = 255 */
    const float neg[4] = {-255.0f, -0.5f, -1.5f, -254.5f};
    kern_quant_u8_row(4, neg, u, &s, &z);
    assert_true(s == 1.0f);
    assert_int_equal(z, 255);
    const uint8_t uneg[4] = {0, 255, 253, 1};
    assert_memory_equal(u, uneg, 4);
    /* lo = -127.5, hi = 127.5: s = 1, z = round(127.5) = 128 */
    const float mid[5] = {-127.5f, 127.5f, -0.5f, 0.5f, 1.5f};
    kern_quant_u8_row(5, mid, u, &s, &z);
    assert_true(s == 1.0f);
    assert_int_equal(z, 128);
    const uint8_t umid[5] = {0, 255, 128, 128, 130};
    assert_memory_equal(u, umid, 5);

    /* non-finite rows: NaN scale, no bytes beyond 0 */
    const float bad[3][3] = {{1.0f, NAN, 2.0f}, {INFINITY, 0.0f, 1.0f}, {-1.0f, 0.0f, -INFINITY}};
    for (int b = 0; b < 3; b++) {
        kern_quant_u8_row(3, bad[b], u, &s, &z);
        assert_true(isnan(s));
        assert_int_equal(z, 0);
    }
}

/* ------------------------------------------------------ the i8 quantizer */

static void test_quant_i8(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 3, 16, 100, 384, 1537};
    for (size_t a = 0; a < COUNT(ks); a++) {
        size_t k = ks[a];
        float *w = xmalloc(k * sizeof *w);
        int8_t *q = xmalloc(k);
        for (int rep = 0; rep < 10; rep++) {
            float mag = ldexpf(1.0f, (int)(urand() % 60) - 30);
            for (size_t i = 0; i < k; i++)
                w[i] = frand() * mag;
            float s;
            assert_int_equal(kern_quant_i8_row(k, w, q, &s), 0);
            double amax = 0;
            for (size_t i = 0; i < k; i++)
                amax = fabs(w[i]) > amax ? fabs(w[i]) : amax;
            float se = (float)(amax / 127.0);
            assert_true(s == se);
            int hit = 0;
            for (size_t i = 0; i < k; i++) {
                double e = nearbyint((double)(float)((double)w[i] / (double)s));
                e = e < -127 ? -127 : e > 127 ? 127 : e;
                if (q[i] != (int8_t)e || q[i] < -127) {
                    print_error("quant_i8 k=%zu: q[%zu] = %d (w = %.9g), expected %d\n", k, i,
                                (int)q[i], (double)w[i], (int)e);
                    fail();
                }
                hit |= q[i] == 127 || q[i] == -127;
            }
            assert_true(hit); /* the largest |w| maps to ±127 */
        }
        float s = -1.0f;
        memset(w, 0, k * sizeof *w);
        memset(q, 7, k);
        assert_int_equal(kern_quant_i8_row(k, w, q, &s), 0);
        assert_true(s == 0.0f);
        for (size_t i = 0; i < k; i++)
            assert_int_equal(q[i], 0);
        /* NaN / infinity refused, q and s untouched */
        for (int b = 0; b < 2; b++) {
            for (size_t i = 0; i < k; i++)
                w[i] = frand();
            w[k - 1] = b ? NAN : -INFINITY;
            memset(q, 7, k);
            s = -1.0f;
            assert_int_equal(kern_quant_i8_row(k, w, q, &s), -1);
            assert_true(s == -1.0f);
            for (size_t i = 0; i < k; i++)
                assert_int_equal(q[i], 7);
        }
        free(w), free(q);
    }
}

/* ------------------------------------------------------------ products */

typedef struct prob {
    size_t m, n, k, ldx, ldw, ldy;
    float *x, *ws, *bias, *wf; /* wf: dequantized weights [n, k] */
    int8_t *w;
} prob;

/* Random problem: x rows at varied magnitudes (padding past k NaN, so a
 * read past k shows), w in [-127, 127] (padding junk), ws > 0. */
static prob make_prob(size_t m, size_t n, size_t k, size_t xpad, size_t wpad, size_t ypad,
                      int with_bias)
{
    prob p;
    p.m = m, p.n = n, p.k = k;
    p.ldx = k + xpad, p.ldw = k + wpad, p.ldy = n + ypad;
    p.x = xmalloc(m * p.ldx * sizeof *p.x);
    for (size_t i = 0; i < m; i++) {
        float mag = ldexpf(1.0f, (int)(urand() % 8) - 3);
        float shift = (urand() % 4 == 0) ? mag * 0.7f : 0.0f; /* some rows one-signed */
        for (size_t t = 0; t < p.ldx; t++)
            p.x[i * p.ldx + t] = t < k ? frand() * mag + shift : NAN;
    }
    p.w = xmalloc(n * p.ldw);
    p.ws = xmalloc(n * sizeof *p.ws);
    p.wf = xmalloc(n * k * sizeof *p.wf);
    for (size_t j = 0; j < n; j++) {
        p.ws[j] = (0.5f + 0.5f * fabsf(frand())) / 127.0f;
        for (size_t t = 0; t < p.ldw; t++)
            p.w[j * p.ldw + t] = t < k ? (int8_t)((int)(urand() % 255) - 127) : (int8_t)0x55;
        for (size_t t = 0; t < k; t++)
            p.wf[j * k + t] = p.ws[j] * (float)p.w[j * p.ldw + t];
    }
    p.bias = NULL;
    if (with_bias) {
        p.bias = xmalloc(n * sizeof *p.bias);
        for (size_t j = 0; j < n; j++)
            p.bias[j] = frand();
    }
    return p;
}

static void free_prob(prob *p)
{
    free(p->x), free(p->w), free(p->ws), free(p->wf), free(p->bias);
}

#define SENTINEL 12345.0f

static float *new_y(const prob *p)
{
    float *y = xmalloc(p->m * p->ldy * sizeof *y);
    for (size_t i = 0; i < p->m * p->ldy; i++)
        y[i] = SENTINEL;
    return y;
}

static void run(kern_isa isa, const prob *p, float *y)
{
    assert_int_equal(kern_linear_i8_isa(isa, p->m, p->n, p->k, p->x, p->ldx, p->w, p->ldw, p->ws,
                                        p->bias, y, p->ldy),
                     0);
}

/* got and expected [m, ldy] equal bitwise, padding columns included */
static void assert_bitwise(const prob *p, const float *got, const float *expected,
                           const char *what)
{
    for (size_t i = 0; i < p->m * p->ldy; i++)
        if (memcmp(&got[i], &expected[i], sizeof *got) != 0) {
            print_error("%s m=%zu n=%zu k=%zu ldx=%zu ldw=%zu ldy=%zu bias=%d: first difference "
                        "at row %zu col %zu: %.9g, expected %.9g\n",
                        what, p->m, p->n, p->k, p->ldx, p->ldw, p->ldy, p->bias != NULL,
                        i / p->ldy, i % p->ldy, (double)got[i], (double)expected[i]);
            fail();
        }
}

/* The portable path against the formula in double (tight) and against the
 * fp32 product of the dequantized weights (within the quantization error
 * bound s_i·ws[j]·Σ_k |w[j,k]|, a bound that forgetting the zero point or a
 * scale would break by far). */
static void check_portable(const prob *p)
{
    float *y = new_y(p);
    run(KERN_ISA_GENERIC, p, y);
    uint8_t *u = xmalloc(p->k);
    double worst_f = 0, worst_q = 0;
    size_t wi_f = 0, wi_q = 0;
    for (size_t i = 0; i < p->m; i++) {
        const float *xi = p->x + i * p->ldx;
        float s;
        int32_t z;
        quant_u8_expected(p->k, xi, u, &s, &z);
        for (size_t j = 0; j < p->n; j++) {
            const int8_t *wj = p->w + j * p->ldw;
            double acc = 0, wabs = 0, exact = p->bias ? p->bias[j] : 0.0;
            for (size_t t = 0; t < p->k; t++) {
                acc += ((double)u[t] - z) * wj[t];
                wabs += fabs((double)wj[t]);
                exact += (double)xi[t] * (double)p->wf[j * p->k + t];
            }
            double sw = (double)s * p->ws[j];
            double want = acc * sw + (p->bias ? p->bias[j] : 0.0);
            double got = y[i * p->ldy + j];
            double tol = 3.0 * 0x1p-24 * (fabs(acc * sw) * 2 + fabs(want)) + 1e-30;
            double e = fabs(got - want) / tol;
            if (e > worst_f)
                worst_f = e, wi_f = i * p->ldy + j;
            double qtol = sw * wabs + 1e-5 * fabs(exact) + 1e-30;
            e = fabs(got - exact) / qtol;
            if (e > worst_q)
                worst_q = e, wi_q = i * p->ldy + j;
        }
        for (size_t j = p->n; j < p->ldy; j++)
            assert_true(y[i * p->ldy + j] == SENTINEL);
    }
    if (worst_f > 1.0) {
        print_error("portable m=%zu n=%zu k=%zu: worst element (row %zu col %zu) off the formula "
                    "by %.3g of its tolerance\n",
                    p->m, p->n, p->k, wi_f / p->ldy, wi_f % p->ldy, worst_f);
        fail();
    }
    if (worst_q > 1.0) {
        print_error("portable m=%zu n=%zu k=%zu: worst element (row %zu col %zu) off the fp32 "
                    "product by %.3g of the quantization bound\n",
                    p->m, p->n, p->k, wi_q / p->ldy, wi_q % p->ldy, worst_q);
        fail();
    }
    free(u), free(y);
}

static void test_portable_formula(void **state)
{
    (void)state;
    static const size_t shapes[][3] = {{1, 1, 1},   {3, 5, 7},    {7, 33, 64},
                                       {16, 40, 384}, {5, 17, 1000}, {2, 9, 3072}};
    for (size_t a = 0; a < COUNT(shapes); a++)
        for (int b = 0; b < 2; b++) {
            prob p = make_prob(shapes[a][0], shapes[a][1], shapes[a][2], a % 3, a % 2 * 5,
                               (size_t)b * 3, b);
            check_portable(&p);
            free_prob(&p);
        }
}

/* The paths this CPU runs: paths[0] the portable one, then AVX512_VNNI
 * and AVX2 when present. Returns how many. */
static int cpu_paths(kern_isa paths[3])
{
    int count = 0;
    paths[count++] = KERN_ISA_GENERIC;
    if (kern_i8_vnni_supported() && kern_isa_supported(KERN_ISA_AVX512))
        paths[count++] = KERN_ISA_AVX512;
    else
        print_message("note: no AVX512_VNNI on this CPU, its path is not tested\n");
    if (kern_i8_avx2_supported() && kern_isa_supported(KERN_ISA_AVX2))
        paths[count++] = KERN_ISA_AVX2;
    else
        print_message("note: no AVX2 on this CPU, its path is not tested\n");
    return count;
}

/* The name of a path in failure messages. */
static const char *path_name(kern_isa isa)
{
    return isa == KERN_ISA_AVX512 ? "vnni" : isa == KERN_ISA_AVX2 ? "avx2" : "portable";
}

/* part (columns [j0, j0 + cols) computed alone, SENTINEL elsewhere) against
 * those columns of the whole product ref, bitwise; the first difference is
 * reported. */
static void check_columns(const prob *p, const float *part, const float *ref, size_t j0,
                          size_t cols, const char *what, kern_isa which)
{
    for (size_t i = 0; i < p->m; i++)
        for (size_t j = 0; j < p->ldy; j++) {
            float want = j >= j0 && j < j0 + cols ? ref[i * p->ldy + j] : SENTINEL;
            float g = part[i * p->ldy + j];
            if (memcmp(&g, &want, sizeof g) != 0) {
                print_error("%s%s columns [%zu, %zu) of m=%zu n=%zu k=%zu: row %zu col %zu = %.9g, "
                            "expected %.9g\n",
                            what, kern_isa_name(which), j0, j0 + cols, p->m, p->n, p->k, i, j,
                            (double)g, (double)want);
                fail();
            }
        }
}

/* VNNI vs portable, bitwise; and columns [j0, n) (j0 a multiple of 32)
 * computed alone equal the same columns of the whole product. */
static void compare_paths(const prob *p, const kern_isa *paths, int npaths)
{
    float *ref = new_y(p);
    run(KERN_ISA_GENERIC, p, ref);
    for (int a = 1; a < npaths; a++) {
        float *got = new_y(p);
        run(paths[a], p, got);
        assert_bitwise(p, got, ref, paths[a] == KERN_ISA_AVX2 ? "avx2 vs portable"
                                                               : "vnni vs portable");
        free(got);
    }
    for (size_t j0 = 32; j0 < p->n; j0 += 64) {
        for (int a = 0; a < npaths; a++) {
            kern_isa which = paths[a];
            float *part = new_y(p);
            size_t cols = p->n - j0 > 40 ? 40 : p->n - j0;
            assert_int_equal(kern_linear_i8_isa(which, p->m, cols, p->k, p->x, p->ldx,
                                                p->w + j0 * p->ldw, p->ldw, p->ws + j0,
                                                p->bias ? p->bias + j0 : NULL, part + j0, p->ldy),
                             0);
            check_columns(p, part, ref, j0, cols, "", which);
            free(part);
        }
    }
    free(ref);
}

/* cmp on the shapes both products are checked on: every m below with a
 * few k and n each (n picked with stride `nstep`), with and without padded
 * strides and bias; rows in several quantized chunks and panels in several
 * groups; and many panels of a short k. */
typedef void (*compare_fn)(const prob *p, const kern_isa *paths, int npaths);
static void for_shapes(compare_fn cmp, size_t nstep)
{
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    static const size_t ms[] = {1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 48, 49, 64, 100, 257};
    static const size_t ns[] = {1, 15, 16, 17, 31, 32, 33, 47, 64, 65, 100, 130, 384};
    static const size_t ks[] = {1, 3, 5, 63, 64, 65, 384, 1000, 1536, 3072};
    size_t c = 0;
    for (size_t a = 0; a < COUNT(ks); a++)
        for (size_t b = 0; b < COUNT(ms); b++, c++) {
            size_t n = ns[(a * nstep + b) % COUNT(ns)];
            prob p = make_prob(ms[b], n, ks[a], c % 3 ? 0 : 3, c % 4 ? 0 : 61, c % 5 ? 0 : 2,
                               (int)(c % 2));
            cmp(&p, paths, npaths);
            free_prob(&p);
        }
    prob p = make_prob(257, 70, 20001, 1, 3, 1, 1);
    cmp(&p, paths, npaths);
    free_prob(&p);
    p = make_prob(40, 1200, 384, 0, 0, 0, 1);
    cmp(&p, paths, npaths);
    free_prob(&p);
}

static void test_paths_equal(void **state)
{
    (void)state;
    for_shapes(compare_paths, 7);
}

/* A NaN or infinity in a row of x: NaN in that row of y on both paths, the
 * other rows as without it. */
static void test_nonfinite_rows(void **state)
{
    (void)state;
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    prob p = make_prob(20, 50, 100, 0, 0, 0, 1);
    float *clean = new_y(&p);
    run(KERN_ISA_GENERIC, &p, clean);
    p.x[3 * p.ldx + 7] = NAN;
    p.x[9 * p.ldx + 99] = INFINITY;
    p.x[19 * p.ldx + 0] = -INFINITY;
    for (int a = 0; a < npaths; a++) {
        float *y = new_y(&p);
        run(paths[a], &p, y);
        for (size_t i = 0; i < p.m; i++) {
            int bad = i == 3 || i == 9 || i == 19;
            for (size_t j = 0; j < p.n; j++) {
                float g = y[i * p.ldy + j];
                if (bad ? !isnan(g) : memcmp(&g, &clean[i * p.ldy + j], sizeof g) != 0) {
                    print_error("%s: row %zu col %zu = %.9g\n", path_name(paths[a]), i, j,
                                (double)g);
                    fail();
                }
            }
        }
        free(y);
    }
    free(clean);
    free_prob(&p);
}

/* Rows at the edges of float: subnormal scales, a scale underflowing to
 * 0, a range overflowing float (NaN row), all-zero rows: both paths
 * agree bitwise. */
static void test_edge_rows(void **state)
{
    (void)state;
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    prob p = make_prob(24, 40, 200, 0, 0, 0, 1);
    for (size_t t = 0; t < p.k; t++) {
        p.x[0 * p.ldx + t] = frand() * 1e-40f;
        p.x[1 * p.ldx + t] = (float)(urand() % 3) * 1e-45f;
        p.x[2 * p.ldx + t] = (t % 2 ? 3e38f : -3e38f) * frand();
        p.x[3 * p.ldx + t] = 0.0f;
        p.x[4 * p.ldx + t] = frand() * 1e-38f;
    }
    p.x[2 * p.ldx] = 3e38f, p.x[2 * p.ldx + 1] = -3e38f;
    float *ref = new_y(&p), *got = new_y(&p);
    run(KERN_ISA_GENERIC, &p, ref);
    for (size_t j = 0; j < p.n; j++) {
        assert_true(isnan(ref[2 * p.ldy + j]));      /* range overflows float */
        assert_true(ref[3 * p.ldy + j] == p.bias[j]); /* zero row: bias */
    }
    for (int a = 1; a < npaths; a++) {
        run(paths[a], &p, got);
        assert_bitwise(&p, got, ref, paths[a] == KERN_ISA_AVX2 ? "edge rows: avx2 vs portable"
                                                               : "edge rows: vnni vs portable");
    }
    free(ref), free(got);
    free_prob(&p);
}

/* k = KERN_I8_MAX_K with every product at its extreme stays exact; one more
 * is refused; nothing to compute is fine. */
static void test_k_limit(void **state)
{
    (void)state;
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    size_t k = KERN_I8_MAX_K;
    float *x = xmalloc(2 * (k + 1) * sizeof *x);
    int8_t *w = xmalloc(3 * (k + 1));
    float ws[3] = {1.0f, 1.0f, 1.0f}, y[6];
    for (size_t t = 0; t < k + 1; t++) {
        x[t] = 255.0f;                 /* row 0: s = 1, z = 0, u = 255 */
        x[k + 1 + t] = -255.0f;        /* row 1: s = 1, z = 255, u = 0 */
        w[t] = 127;
        w[k + 1 + t] = -127;
        w[2 * (k + 1) + t] = -128; /* outside the converter's range, still exact */
    }
    const float want = 255.0f * 127.0f * 65536.0f; /* 2122383360: exact in float */
    const float want8 = 255.0f * 128.0f * 65536.0f; /* 2139095040 */
    for (int a = 0; a < npaths; a++) {
        kern_isa which = paths[a];
        assert_int_equal(kern_linear_i8_isa(which, 2, 3, k, x, k + 1, w, k + 1, ws, NULL, y, 3), 0);
        assert_true(y[0] == want && y[1] == -want && y[2] == -want8);
        assert_true(y[3] == -want && y[4] == want && y[5] == want8);
        assert_int_equal(
            kern_linear_i8_isa(which, 2, 2, k + 1, x, k + 1, w, k + 1, ws, NULL, y, 2), -1);
        assert_int_equal(kern_linear_i8_isa(which, 0, 2, 5, x, 5, w, 5, ws, NULL, y, 2), 0);
        assert_int_equal(kern_linear_i8_isa(which, 2, 0, 5, x, 5, w, 5, ws, NULL, y, 2), 0);
    }
    assert_int_equal(kern_linear_i8(1, 1, k + 1, x, k + 1, w, k + 1, ws, NULL, y, 1), -1);
    free(x), free(w);
}

/* ------------------------------------------------ pre-packed panels */

/* The panel size, and the layout byte by byte against its index formula:
 * byte p·kq·128 + q·128 + 4c + b is w[32p + c, 4q + b], zero past n, k. */
static void test_pack_panels(void **state)
{
    (void)state;
    assert_int_equal(kern_i8_panels_size(1, 1), 32 * 4);
    assert_int_equal(kern_i8_panels_size(32, 4), 32 * 4);
    assert_int_equal(kern_i8_panels_size(33, 5), 64 * 8);
    assert_int_equal(kern_i8_panels_size(384, 1536), 384 * 1536);
    assert_int_equal(kern_i8_panels_size(0, 5), 0);
    assert_int_equal(kern_i8_panels_size(5, 0), 0);
    assert_int_equal(kern_i8_panels_size(SIZE_MAX, 4), 0);
    assert_int_equal(kern_i8_panels_size(32, SIZE_MAX), 0);
    assert_int_equal(kern_i8_panels_size((size_t)1 << 40, (size_t)1 << 30), 0);
    static const size_t shapes[][2] = {{1, 1}, {5, 3}, {31, 4}, {32, 5}, {33, 64}, {70, 67}, {96, 384}};
    for (size_t a = 0; a < COUNT(shapes); a++) {
        size_t n = shapes[a][0], k = shapes[a][1], ldw = k + a;
        int8_t *w = xmalloc(n * ldw);
        for (size_t i = 0; i < n * ldw; i++)
            w[i] = (int8_t)((int)(urand() % 255) - 127);
        size_t kq = (k + 3) / 4, bytes = kern_i8_panels_size(n, k);
        assert_int_equal(bytes, (n + 31) / 32 * 32 * kq * 4);
        uint8_t *dst = xmalloc(bytes);
        memset(dst, 0xA5, bytes);
        kern_pack_i8_panels(n, k, w, ldw, dst);
        for (size_t i = 0; i < bytes; i++) {
            size_t p = i / (kq * 128), q = i % (kq * 128) / 128, c = i % 128 / 4, b = i % 4;
            size_t j = 32 * p + c, t = 4 * q + b;
            int8_t want = j < n && t < k ? w[j * ldw + t] : 0;
            if ((int8_t)dst[i] != want) {
                print_error("n=%zu k=%zu: byte %zu (panel %zu quad %zu col %zu byte %zu) = %d, "
                            "expected %d\n",
                            n, k, i, p, q, c, b, (int8_t)dst[i], want);
                fail();
            }
        }
        free(w), free(dst);
    }
}

/* kern_linear_i8p on the panels of p->w (at an odd address: any
 * alignment), on both paths, bitwise the portable kern_linear_i8; and
 * columns [j0, j0 + cols) alone (j0 a multiple of 32) from the panels at
 * j0/32. */
static void compare_packed(const prob *p, const kern_isa *paths, int npaths)
{
    float *ref = new_y(p);
    run(KERN_ISA_GENERIC, p, ref);
    size_t bytes = kern_i8_panels_size(p->n, p->k), pbytes = (p->k + 3) / 4 * 128;
    uint8_t *mem = xmalloc(bytes + 1), *panels = mem + 1;
    kern_pack_i8_panels(p->n, p->k, p->w, p->ldw, panels);
    for (int a = 0; a < npaths; a++) {
        kern_isa which = paths[a];
        const char *what = which == KERN_ISA_AVX512 ? "i8p vnni vs i8 portable"
                           : which == KERN_ISA_AVX2 ? "i8p avx2 vs i8 portable"
                                                    : "i8p portable vs i8 portable";
        float *got = new_y(p);
        assert_int_equal(kern_linear_i8p_isa(which, p->m, p->n, p->k, p->x, p->ldx, panels, p->ws,
                                             NULL, p->bias, got, p->ldy),
                         0);
        assert_bitwise(p, got, ref, what);
        free(got);
        for (size_t j0 = 32; j0 < p->n; j0 += 64) {
            size_t cols = p->n - j0 > 40 ? 40 : p->n - j0;
            float *part = new_y(p);
            assert_int_equal(kern_linear_i8p_isa(which, p->m, cols, p->k, p->x, p->ldx,
                                                 panels + j0 / 32 * pbytes, p->ws + j0, NULL,
                                                 p->bias ? p->bias + j0 : NULL, part + j0, p->ldy),
                             0);
            check_columns(p, part, ref, j0, cols, "i8p ", which);
            free(part);
        }
    }
    free(mem), free(ref);
}

static void test_packed_equal(void **state)
{
    (void)state;
    for_shapes(compare_packed, 5);
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    /* a NaN row and a zero row */
    prob p = make_prob(20, 50, 100, 0, 0, 0, 1);
    p.x[3 * p.ldx + 7] = NAN;
    memset(p.x + 5 * p.ldx, 0, p.k * sizeof *p.x);
    compare_packed(&p, paths, npaths);
    free_prob(&p);
}

/* kern_linear_i8p refuses k above KERN_I8_MAX_K; nothing to compute is fine. */
static void test_packed_limits(void **state)
{
    (void)state;
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    float x[8] = {0}, ws[2] = {1.0f, 1.0f}, y[4] = {0};
    uint8_t panels[256] = {0};
    for (int a = 0; a < npaths; a++) {
        kern_isa which = paths[a];
        assert_int_equal(kern_linear_i8p_isa(which, 1, 1, KERN_I8_MAX_K + 1, x, 1, panels, ws,
                                             NULL, NULL, y, 1),
                         -1);
        assert_int_equal(kern_linear_i8p_isa(which, 0, 2, 5, x, 5, panels, ws, NULL, NULL, y, 2),
                         0);
        assert_int_equal(kern_linear_i8p_isa(which, 2, 0, 5, x, 5, panels, ws, NULL, NULL, y, 2),
                         0);
    }
    assert_int_equal(kern_linear_i8p(1, 1, KERN_I8_MAX_K + 1, x, 1, panels, ws, NULL, NULL, y, 1),
                     -1);
}

/* ------------------------------------------------------ outlier features */

/* count distinct random features of p (count <= k) as outliers: x's values
 * there made 40x larger (the activations the decomposition is for), and
 * their fp32 weight columns [count, n + wpad] (padding NaN: a read past n
 * shows). */
typedef struct outl {
    kern_i8_outliers o;
    int32_t *cols;
    float *w;
} outl;

static outl make_outliers(prob *p, size_t count, size_t wpad)
{
    outl r;
    r.cols = xmalloc(count * sizeof *r.cols);
    size_t ldw = p->n + wpad;
    r.w = xmalloc(count * ldw * sizeof *r.w);
    for (size_t t = 0; t < count; t++) {
        int32_t c;
        int again;
        do { /* distinct */
            c = (int32_t)(urand() % p->k);
            again = 0;
            for (size_t u = 0; u < t; u++)
                again |= r.cols[u] == c;
        } while (again);
        r.cols[t] = c;
        for (size_t i = 0; i < p->m; i++)
            p->x[i * p->ldx + (size_t)c] *= 40.0f;
        for (size_t j = 0; j < ldw; j++)
            r.w[t * ldw + j] = j < p->n ? frand() * 0.05f : NAN;
    }
    r.o.count = count;
    r.o.cols = r.cols;
    r.o.w = r.w;
    r.o.ldw = ldw;
    return r;
}

static void free_outliers(outl *r)
{
    free(r->cols), free(r->w);
}

/* y (as from kern_linear_i8p with r->o) on one path; the panels of p->w. */
static void run_outliers(kern_isa isa, const prob *p, const uint8_t *panels, const outl *r,
                         float *y)
{
    assert_int_equal(kern_linear_i8p_isa(isa, p->m, p->n, p->k, p->x, p->ldx, panels, p->ws, &r->o,
                                         p->bias, y, p->ldy),
                     0);
}

/* The portable path restated: the int8 product of x with the outlier
 * features zeroed (kern_linear_i8, no outliers), plus in plain loops
 * o = x_c0·w0 + x_c1·w1 + … in the order of t, bitwise; and against the
 * fp32 product of the dequantized weights plus the exact outlier products,
 * within the quantization bound of the ZEROED rows' scales (a bound that
 * quantizing the outliers with the rest would break by far). */
static void check_outliers_portable(const prob *p, const uint8_t *panels, const outl *r)
{
    float *got = new_y(p), *want = new_y(p);
    run_outliers(KERN_ISA_GENERIC, p, panels, r, got);
    prob z = *p;
    z.x = xmalloc(p->m * p->ldx * sizeof *z.x);
    memcpy(z.x, p->x, p->m * p->ldx * sizeof *z.x);
    for (size_t i = 0; i < p->m; i++)
        for (size_t t = 0; t < r->o.count; t++)
            z.x[i * p->ldx + (size_t)r->cols[t]] = 0.0f;
    run(KERN_ISA_GENERIC, &z, want);
    uint8_t *u = xmalloc(p->k);
    double worst = 0;
    size_t worst_at = 0;
    for (size_t i = 0; i < p->m; i++) {
        float s;
        int32_t zp;
        quant_u8_expected(p->k, z.x + i * p->ldx, u, &s, &zp);
        for (size_t j = 0; j < p->n; j++) {
            const float *xi = p->x + i * p->ldx;
            float o = xi[r->cols[0]] * r->w[j];
            double exact = p->bias ? p->bias[j] : 0.0, wabs = 0, mag = fabs(exact);
            for (size_t t = 1; t < r->o.count; t++)
                o = o + xi[r->cols[t]] * r->w[t * r->o.ldw + j];
            want[i * p->ldy + j] = want[i * p->ldy + j] + o;
            for (size_t t = 0; t < r->o.count; t++) {
                double term = (double)xi[r->cols[t]] * (double)r->w[t * r->o.ldw + j];
                exact += term;
                mag += fabs(term);
            }
            for (size_t t = 0; t < p->k; t++) {
                double term = (double)z.x[i * p->ldx + t] * (double)p->wf[j * p->k + t];
                exact += term;
                mag += fabs(term);
                wabs += fabs((double)p->w[j * p->ldw + t]);
            }
            /* the quantization error, plus float rounding of the sums */
            double bound = (double)s * p->ws[j] * wabs + 1e-5 * mag + 1e-30;
            double e = fabs((double)got[i * p->ldy + j] - exact) / bound;
            if (e > worst)
                worst = e, worst_at = i * p->ldy + j;
        }
    }
    assert_bitwise(p, got, want, "outliers: portable vs its restatement");
    if (worst > 1.0) {
        print_error("outliers m=%zu n=%zu k=%zu count=%zu: element (row %zu col %zu) off the fp32 "
                    "product by %.3g of the zeroed rows' quantization bound\n",
                    p->m, p->n, p->k, r->o.count, worst_at / p->ldy, worst_at % p->ldy, worst);
        fail();
    }
    free(u), free(z.x), free(got), free(want);
}

/* Every path bitwise the portable one with outliers, and columns
 * [j0, j0 + cols) alone (j0 a multiple of 32: panels, ws, bias and the
 * outlier weights advanced by j0) equal to the whole product's. */
static void compare_outliers(const prob *pc, const kern_isa *paths, int npaths)
{
    prob *p = (prob *)(uintptr_t)pc; /* make_outliers scales x's outlier features */
    size_t count = 1 + (p->m * 7 + p->n) % 20;
    if (count > p->k)
        count = p->k;
    outl r = make_outliers(p, count, p->m % 3 ? 0 : 5);
    size_t bytes = kern_i8_panels_size(p->n, p->k), pbytes = (p->k + 3) / 4 * 128;
    uint8_t *panels = xmalloc(bytes);
    kern_pack_i8_panels(p->n, p->k, p->w, p->ldw, panels);
    if (p->k <= 3072)
        check_outliers_portable(p, panels, &r);
    float *ref = new_y(p);
    run_outliers(KERN_ISA_GENERIC, p, panels, &r, ref);
    for (int a = 0; a < npaths; a++) {
        kern_isa which = paths[a];
        if (a > 0) {
            float *got = new_y(p);
            run_outliers(which, p, panels, &r, got);
            assert_bitwise(p, got, ref, which == KERN_ISA_AVX2 ? "outliers: avx2 vs portable"
                                                               : "outliers: vnni vs portable");
            free(got);
        }
        for (size_t j0 = 32; j0 < p->n; j0 += 64) {
            size_t cols = p->n - j0 > 40 ? 40 : p->n - j0;
            kern_i8_outliers o = r.o;
            o.w += j0;
            float *part = new_y(p);
            assert_int_equal(kern_linear_i8p_isa(which, p->m, cols, p->k, p->x, p->ldx,
                                                 panels + j0 / 32 * pbytes, p->ws + j0, &o,
                                                 p->bias ? p->bias + j0 : NULL, part + j0, p->ldy),
                             0);
            check_columns(p, part, ref, j0, cols, "outliers ", which);
            free(part);
        }
    }
    free(ref), free(panels);
    free_outliers(&r);
}

static void test_outliers_paths_equal(void **state)
{
    (void)state;
    for_shapes(compare_outliers, 3);
}

/* A NaN or an infinity at an outlier feature: NaN in that row of y on
 * every path (the row is not quantized without it), the other rows as
 * without it; outliers with count 0 are no outliers at all. */
static void test_outliers_nonfinite(void **state)
{
    (void)state;
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    prob p = make_prob(20, 50, 100, 0, 0, 0, 1);
    outl r = make_outliers(&p, 6, 0);
    uint8_t *panels = xmalloc(kern_i8_panels_size(p.n, p.k));
    kern_pack_i8_panels(p.n, p.k, p.w, p.ldw, panels);
    float *clean = new_y(&p);
    run_outliers(KERN_ISA_GENERIC, &p, panels, &r, clean);
    p.x[3 * p.ldx + (size_t)r.cols[0]] = NAN;
    p.x[9 * p.ldx + (size_t)r.cols[5]] = INFINITY;
    p.x[19 * p.ldx + (size_t)r.cols[2]] = -INFINITY;
    for (int a = 0; a < npaths; a++) {
        float *y = new_y(&p);
        run_outliers(paths[a], &p, panels, &r, y);
        for (size_t i = 0; i < p.m; i++) {
            int bad = i == 3 || i == 9 || i == 19;
            for (size_t j = 0; j < p.n; j++) {
                float g = y[i * p.ldy + j];
                if (bad ? !isnan(g) : memcmp(&g, &clean[i * p.ldy + j], sizeof g) != 0) {
                    print_error("outliers %s: row %zu col %zu = %.9g\n", path_name(paths[a]), i,
                                j, (double)g);
                    fail();
                }
            }
        }
        /* count 0: the product without outliers, bitwise */
        kern_i8_outliers none = r.o;
        none.count = 0;
        float *y0 = new_y(&p), *y1 = new_y(&p);
        assert_int_equal(kern_linear_i8p_isa(paths[a], p.m, p.n, p.k, p.x, p.ldx, panels, p.ws,
                                             &none, p.bias, y0, p.ldy),
                         0);
        assert_int_equal(kern_linear_i8p_isa(paths[a], p.m, p.n, p.k, p.x, p.ldx, panels, p.ws,
                                             NULL, p.bias, y1, p.ldy),
                         0);
        assert_bitwise(&p, y0, y1, "outliers: count 0 vs none");
        free(y), free(y0), free(y1);
    }
    free(clean), free(panels);
    free_outliers(&r);
    free_prob(&p);
}

/* More outlier features than inputs, or than KERN_I8_MAX_OUTLIERS: -1. */
static void test_outliers_limits(void **state)
{
    (void)state;
    kern_isa paths[3];
    int npaths = cpu_paths(paths);
    size_t k = KERN_I8_MAX_OUTLIERS + 8;
    float *x = xmalloc(k * sizeof *x), *w = xmalloc(k * sizeof *w), ws[1] = {1.0f}, y[1];
    int32_t *cols = xmalloc(k * sizeof *cols);
    uint8_t *panels = xmalloc(kern_i8_panels_size(1, k));
    memset(panels, 0, kern_i8_panels_size(1, k));
    for (size_t t = 0; t < k; t++)
        x[t] = 1.0f, w[t] = 1.0f, cols[t] = (int32_t)t;
    for (int a = 0; a < npaths; a++) {
        kern_i8_outliers o = {6, cols, w, 1};
        assert_int_equal(kern_linear_i8p_isa(paths[a], 1, 1, 5, x, 5, panels, ws, &o, NULL, y, 1),
                         -1);
        o.count = KERN_I8_MAX_OUTLIERS + 1;
        assert_int_equal(kern_linear_i8p_isa(paths[a], 1, 1, k, x, k, panels, ws, &o, NULL, y, 1),
                         -1);
        o.count = KERN_I8_MAX_OUTLIERS; /* every feature of these a sum of ones */
        assert_int_equal(kern_linear_i8p_isa(paths[a], 1, 1, k, x, k, panels, ws, &o, NULL, y, 1),
                         0);
        assert_true(y[0] == (float)KERN_I8_MAX_OUTLIERS);
    }
    free(x), free(w), free(cols), free(panels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quant_u8),         cmocka_unit_test(test_quant_i8),
        cmocka_unit_test(test_portable_formula), cmocka_unit_test(test_paths_equal),
        cmocka_unit_test(test_nonfinite_rows),   cmocka_unit_test(test_edge_rows),
        cmocka_unit_test(test_k_limit),          cmocka_unit_test(test_pack_panels),
        cmocka_unit_test(test_packed_equal),     cmocka_unit_test(test_packed_limits),
        cmocka_unit_test(test_outliers_paths_equal), cmocka_unit_test(test_outliers_nonfinite),
        cmocka_unit_test(test_outliers_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
