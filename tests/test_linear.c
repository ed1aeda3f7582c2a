/* kern_linear tests: a Linear on weights read in place (f32, f16 or bf16,
 * packed block by block inside each call) gives bitwise the numbers of
 * packing the widened weight whole (kern_pack_nt + kern_gemm_packed_isa, or
 * kern_pack_bf16 + kern_gemm_bf16), on every ISA path, for odd shapes,
 * several k blocks, strides wider than k, with and without bias; column
 * ranges and single rows equal the same columns / rows of the whole product;
 * 16-bit weights widen exactly. The row counts reach each AVX-512 path
 * (1-2 rows: nothing packed; 3-7 and over 48: packed panel slices; 8-48:
 * row-lane tiles), and fp32 subnormals meet large values so that the bf16
 * rounding of x and of f32 weights must match kern_f32_to_bf16 exactly. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#define COUNT(a) (sizeof(a) / sizeof(a[0]))

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t urand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 32);
}

static float frand(void)
{
    return (float)((double)(urand() >> 8) / (double)(1u << 24)) * 2.0f - 1.0f;
}

static float *rand_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

/* A finite random value of type wt, as its stored bits: f16 over its whole
 * exponent range (subnormals included), bf16 over [2^-133, 2^13) (a few
 * subnormals included), f32 in [-1, 1). */
static void rand_weight(kern_wtype wt, unsigned char *dst)
{
    if (wt == KERN_W_F32) {
        float f = frand();
        memcpy(dst, &f, sizeof f);
        return;
    }
    uint32_t r = urand();
    uint16_t h;
    if (wt == KERN_W_F16) {
        uint32_t e = (r >> 10) % 31; /* 0 (subnormal / zero) .. 30 */
        h = (uint16_t)((r & 0x8000u) | e << 10 | (r & 0x3ffu));
    } else {
        uint32_t e = 127 - 13 + (r >> 8) % 27; /* 2^-13 .. 2^13 */
        if ((r >> 20) % 64 == 0)
            e = 0; /* subnormal */
        h = (uint16_t)((r & 0x8000u) | e << 7 | (r & 0x7fu));
    }
    memcpy(dst, &h, sizeof h);
}

/* [n rows, ldw stride] weights of type wt starting `offset` bytes into a
 * fresh buffer (*raw, to free); the padding past k is random too. */
static const void *make_weights(kern_wtype wt, size_t n, size_t ldw, size_t offset,
                                unsigned char **raw)
{
    size_t esz = kern_wtype_size(wt), bytes = n * ldw * esz;
    *raw = malloc(bytes + offset + 1);
    assert_non_null(*raw);
    for (size_t i = 0; i < n * ldw; i++)
        rand_weight(wt, *raw + offset + i * esz);
    return *raw + offset;
}

/* The weights widened to a dense fp32 [n, k]. */
static float *widen_all(const void *w, kern_wtype wt, size_t n, size_t k, size_t ldw)
{
    float *wf = malloc((n * k > 0 ? n * k : 1) * sizeof *wf);
    assert_non_null(wf);
    for (size_t j = 0; j < n; j++)
        kern_widen((const unsigned char *)w + j * ldw * kern_wtype_size(wt), wt, k, wf + j * k);
    return wf;
}

/* The old path: the widened weight packed whole, then the packed GEMM. */
static void linear_reference(kern_isa isa, int bf16, size_t m, size_t n, size_t k, const float *x,
                             size_t ldx, const float *wf, const float *bias, float *y, size_t ldy)
{
    if (bf16) {
        size_t size = kern_pack_bf16_size(n, k);
        uint16_t *packed = malloc((size ? size : 1) * sizeof *packed);
        assert_non_null(packed);
        kern_pack_bf16(n, k, wf, k, packed);
        kern_gemm_bf16(m, n, k, x, ldx, packed, bias, y, ldy);
        free(packed);
    } else {
        size_t size = kern_pack_nt_size(n, k);
        float *packed = aligned_alloc(64, ((size ? size : 1) * sizeof(float) + 63) / 64 * 64);
        assert_non_null(packed);
        kern_pack_nt(n, k, wf, k, packed);
        kern_gemm_packed_isa(isa, m, n, k, x, ldx, packed, k, bias, y, ldy);
        free(packed);
    }
}

static const char *wt_name(kern_wtype wt)
{
    return wt == KERN_W_F32 ? "f32" : wt == KERN_W_F16 ? "f16" : "bf16";
}

/* got and expected [rows, ldy] equal bitwise (the padding columns too, which
 * both hold the same sentinel); on failure print the first differing
 * element and fail. */
static void assert_bits_equal(const float *got, const float *expected, size_t rows, size_t ldy,
                              const char *what, kern_isa isa, kern_wtype wt, int bf16, size_t m,
                              size_t n, size_t k)
{
    for (size_t i = 0; i < rows * ldy; i++)
        if (memcmp(&got[i], &expected[i], sizeof *got) != 0) {
            uint32_t gb, eb;
            memcpy(&gb, &got[i], sizeof gb);
            memcpy(&eb, &expected[i], sizeof eb);
            print_error("%s: %s w=%s bf16=%d m=%zu n=%zu k=%zu: first difference at row %zu "
                        "column %zu: got %.9g (0x%08x) expected %.9g (0x%08x)\n",
                        what, kern_isa_name(isa), wt_name(wt), bf16, m, n, k, i / ldy, i % ldy,
                        (double)got[i], gb, (double)expected[i], eb);
            fail();
        }
}

/* y [m, ldy] with every element set to a sentinel NaN pattern (so columns
 * past n must survive untouched). */
static float *sentinel_buf(size_t m, size_t ldy)
{
    float *y = malloc((m * ldy > 0 ? m * ldy : 1) * sizeof *y);
    assert_non_null(y);
    uint32_t bits = 0x7fc0beefu;
    for (size_t i = 0; i < m * ldy; i++)
        memcpy(&y[i], &bits, sizeof bits);
    return y;
}

typedef struct shape {
    size_t n, k;
} shape;

/* Shapes: tiny, n around panel edges, odd k, k over several 256 blocks, and
 * one wide enough for several panel groups. */
static const shape shapes[] = {{1, 1},    {7, 3},     {32, 16},  {33, 17},   {64, 255},
                               {65, 257}, {100, 300}, {130, 513}, {31, 1000}, {700, 600}};
static const size_t rows_m[] = {1, 2, 5, 8, 16, 27, 40, 49, 130};

/* One configuration against the reference, plus column ranges and single
 * rows against the whole product; w's rows ldw elements apart (ldw >= k). */
static void check_case_ldw(kern_isa isa, kern_wtype wt, int bf16, size_t m, size_t n, size_t k,
                           size_t ldw, int with_bias, size_t w_offset)
{
    size_t ldx = k + 3, ldy = n + 2;
    float *x = rand_floats(m * ldx), *bias = rand_floats(n);
    const float *bs = with_bias ? bias : NULL;
    unsigned char *raw;
    const void *w = make_weights(wt, n, ldw, w_offset, &raw);
    float *wf = widen_all(w, wt, n, k, ldw);
    float *ref = sentinel_buf(m, ldy), *got = sentinel_buf(m, ldy);
    linear_reference(isa, bf16, m, n, k, x, ldx, wf, bs, ref, ldy);
    assert_int_equal(kern_linear_isa(isa, m, n, k, x, ldx, w, wt, ldw, bf16, bs, got, ldy), 0);
    assert_bits_equal(got, ref, m, ldy, "whole product", isa, wt, bf16, m, n, k);

    /* column ranges [j0, j0 + cols), j0 a multiple of 32 */
    size_t esz = kern_wtype_size(wt);
    for (size_t j0 = 0; j0 < n; j0 += KERN_PACK_NR * (1 + urand() % 3)) {
        size_t cols = 1 + urand() % (n - j0);
        float *part = sentinel_buf(m, ldy);
        assert_int_equal(kern_linear_isa(isa, m, cols, k, x, ldx,
                                         (const unsigned char *)w + j0 * ldw * esz, wt, ldw, bf16,
                                         bs ? bs + j0 : NULL, part + j0, ldy),
                         0);
        for (size_t i = 0; i < m; i++)
            for (size_t j = j0; j < j0 + cols; j++)
                if (memcmp(&part[i * ldy + j], &got[i * ldy + j], sizeof *got) != 0) {
                    print_error("columns [%zu, %zu): %s w=%s bf16=%d m=%zu n=%zu k=%zu: first "
                                "difference at row %zu column %zu: %.9g vs whole %.9g\n",
                                j0, j0 + cols, kern_isa_name(isa), wt_name(wt), bf16, m, n, k, i,
                                j, (double)part[i * ldy + j], (double)got[i * ldy + j]);
                    fail();
                }
        free(part);
    }

    /* rows alone */
    if (m > 1) {
        float *row = sentinel_buf(1, ldy);
        for (size_t i = 0; i < m; i += 1 + m / 4) {
            assert_int_equal(kern_linear_isa(isa, 1, n, k, x + i * ldx, ldx, w, wt, ldw, bf16, bs,
                                             row, ldy),
                             0);
            char what[64];
            snprintf(what, sizeof what, "row %zu alone", i);
            assert_bits_equal(row, got + i * ldy, 1, ldy, what, isa, wt, bf16, m, n, k);
        }
        free(row);
    }
    free(x), free(bias), free(raw), free(wf), free(ref), free(got);
}

static void check_case(kern_isa isa, kern_wtype wt, int bf16, size_t m, size_t n, size_t k,
                       int with_bias, size_t w_offset)
{
    check_case_ldw(isa, wt, bf16, m, n, k, k + 5, with_bias, w_offset);
}

static void test_linear_equals_packed(void **state)
{
    (void)state;
    static const kern_wtype wts[] = {KERN_W_F32, KERN_W_F16, KERN_W_BF16};
    size_t cases = 0;
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        for (size_t t = 0; t < COUNT(wts); t++)
            for (int bf16 = 0; bf16 <= 1; bf16++)
                for (size_t s = 0; s < COUNT(shapes); s++)
                    for (size_t a = 0; a < COUNT(rows_m); a++) {
                        size_t m = rows_m[a], n = shapes[s].n, k = shapes[s].k;
                        if (m * n * k > 12000000 && m != 16)
                            continue; /* the biggest shape: m = 16 only (time) */
                        check_case((kern_isa)isa, wts[t], bf16, m, n, k, (int)((s + a) % 2),
                                   0);
                        cases++;
                    }
    }
    assert_true(cases > 100);
}

/* Weights whose rows are exactly k apart (as in a model file), at the
 * strides of the models' widths, which have their own in-place instances
 * on the AVX-512 row-lane path (one, two and three row vectors: 9 to 45
 * rows; full tiles and a tail; multiples of 4 KiB as two half tiles), also
 * at unaligned addresses, in both compute types and every stored type. */
static void test_linear_model_strides(void **state)
{
    (void)state;
    static const size_t bytes[] = {768, 1536, 2048, 3072, 4096, 6144, 8192, 12288};
    static const kern_wtype wts[] = {KERN_W_F32, KERN_W_F16, KERN_W_BF16};
    static const size_t ms[] = {9, 16, 27, 45};
    size_t cases = 0;
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        for (size_t b = 0; b < COUNT(bytes); b++)
            for (size_t t = 0; t < COUNT(wts); t++)
                for (int bf16 = 0; bf16 <= 1; bf16++) {
                    size_t k = bytes[b] / kern_wtype_size(wts[t]);
                    /* in the compute type already: the in-place instances */
                    int direct = bf16 ? wts[t] == KERN_W_BF16 : wts[t] == KERN_W_F32;
                    if (k > 3072 && !direct)
                        continue; /* time: the widest only where an instance takes it */
                    for (size_t a = 0; a < COUNT(ms); a++) {
                        if (!direct && a != (b + t) % COUNT(ms))
                            continue;
                        size_t m = ms[a], n = 40 + 16 * ((a + b) % 2);
                        check_case_ldw((kern_isa)isa, wts[t], bf16, m, n, k, k,
                                       (int)((a + b) % 2), (a + b + (size_t)bf16) % 3 == 0 ? 2 : 0);
                        cases++;
                    }
                }
    }
    assert_true(cases >= 24);
}

/* Random shapes, and weights at addresses not aligned to their element
 * (a safetensors payload can start anywhere after its header). */
static void test_linear_random_shapes(void **state)
{
    (void)state;
    static const kern_wtype wts[] = {KERN_W_F32, KERN_W_F16, KERN_W_BF16};
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        for (int rep = 0; rep < 24; rep++) {
            size_t m = 1 + urand() % 70, n = 1 + urand() % 300, k = 1 + urand() % 700;
            kern_wtype wt = wts[rep % 3];
            int bf16 = (rep / 3) % 2;
            size_t offset = (rep / 6) % 2 ? 1 + urand() % 3 : 0;
            check_case((kern_isa)isa, wt, bf16, m, n, k, rep % 5 != 0, offset);
        }
    }
}

/* x and f32 weights holding fp32 subnormals, signed zeros, values that
 * round to bf16 subnormals or up to the smallest normal bf16 (0x007fffff),
 * against large values on the other side (so those products count): the
 * in-call conversions give the packed path's numbers in both modes, on
 * every row path (m = 1, 3, 16, 40, 60). */
static void test_linear_special_values(void **state)
{
    (void)state;
    float tiny[12] = {1e-40f, -1e-40f, 0.0f, -0.0f, 9.2e-41f, 1e-38f, 1e-45f, 2e-37f, -3e-36f};
    static const uint32_t tiny_bits[] = {0x007fffffu, 0x807f8000u, 0x007fc000u};
    for (size_t i = 0; i < COUNT(tiny_bits); i++)
        memcpy(&tiny[9 + i], &tiny_bits[i], sizeof(float));
    static const float big[] = {3e35f, -2.5e35f, 1e36f, -7e33f};
    static const size_t ms[] = {1, 3, 16, 40, 60};
    size_t n = 70, k = 301, ldx = k + 1, ldy = n;
    for (int side = 0; side <= 1; side++)
        for (size_t a = 0; a < COUNT(ms); a++) {
            size_t m = ms[a];
            float *x = rand_floats(m * ldx), *w = rand_floats(n * k), *bias = rand_floats(n);
            for (size_t kk = 0; kk < k; kk++) { /* every third k: tiny against big */
                if (kk % 3 != 1)
                    continue;
                for (size_t i = 0; i < m; i++)
                    x[i * ldx + kk] =
                        side ? big[urand() % COUNT(big)] : tiny[urand() % COUNT(tiny)];
                for (size_t j = 0; j < n; j++)
                    w[j * k + kk] = side ? tiny[urand() % COUNT(tiny)] : big[urand() % COUNT(big)];
            }
            for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
                if (!kern_isa_supported((kern_isa)isa))
                    continue;
                for (int bf16 = 0; bf16 <= 1; bf16++) {
                    float *ref = sentinel_buf(m, ldy), *got = sentinel_buf(m, ldy);
                    linear_reference((kern_isa)isa, bf16, m, n, k, x, ldx, w, bias, ref, ldy);
                    assert_int_equal(kern_linear_isa((kern_isa)isa, m, n, k, x, ldx, w,
                                                     KERN_W_F32, k, bf16, bias, got, ldy),
                                     0);
                    assert_bits_equal(got, ref, m, ldy, side ? "special weights" : "special x",
                                      (kern_isa)isa, KERN_W_F32, bf16, m, n, k);
                    free(ref), free(got);
                }
            }
            free(x), free(w), free(bias);
        }
}

/* k == 0 (fp32 path): y = 0 + bias as the packed kernels; m == 0 and
 * n == 0 touch nothing. */
static void test_linear_empty(void **state)
{
    (void)state;
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, bias[40], y[80], ref[80];
    uint16_t w16[40 * 4];
    for (size_t i = 0; i < 40; i++)
        bias[i] = (float)i - 3.5f;
    for (size_t i = 0; i < COUNT(w16); i++)
        w16[i] = 0x3c00;
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        for (int bf16 = 0; bf16 <= 1; bf16++) {
            float *s = sentinel_buf(2, 40);
            memcpy(y, s, 80 * sizeof *y);
            memcpy(ref, s, 80 * sizeof *ref);
            free(s);
            assert_int_equal(kern_linear_isa((kern_isa)isa, 0, 40, 4, x, 4, w16, KERN_W_F16, 4,
                                             bf16, bias, y, 40),
                             0);
            assert_int_equal(kern_linear_isa((kern_isa)isa, 2, 0, 4, x, 4, w16, KERN_W_BF16, 4,
                                             bf16, bias, y, 40),
                             0);
            assert_memory_equal(y, ref, sizeof y);
        }
        float wf[1] = {0};
        for (int with_bias = 0; with_bias <= 1; with_bias++) {
            const float *bs = with_bias ? bias : NULL;
            float *s = sentinel_buf(2, 40);
            memcpy(y, s, 80 * sizeof *y);
            memcpy(ref, s, 80 * sizeof *ref);
            free(s);
            linear_reference((kern_isa)isa, 0, 2, 37, 0, x, 4, wf, bs, ref, 40);
            assert_int_equal(kern_linear_isa((kern_isa)isa, 2, 37, 0, x, 4, w16, KERN_W_F16, 4, 0,
                                             bs, y, 40),
                             0);
            assert_bits_equal(y, ref, 2, 40, "k = 0", (kern_isa)isa, KERN_W_F16, 0, 2, 37, 0);
        }
    }
}

/* IEEE half -> float by arithmetic (the reference for kern_widen). */
static float f16_value(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v;
    if (exp == 0x1f)
        v = man ? NAN : INFINITY;
    else if (exp == 0)
        v = ldexp((double)man, -24);
    else
        v = ldexp((double)(man | 0x400), exp - 25);
    return (float)(sign ? -v : v);
}

/* Every f16 and bf16 bit pattern widens exactly (subnormals, infinities,
 * signed zeros; NaN stays NaN with its sign), from any byte alignment, and
 * kern_linear sees the same values (a one-hot x picks a weight column). */
static void test_widen(void **state)
{
    (void)state;
    unsigned char *src = malloc(65536 * 2 + 1);
    float *dst = malloc(65536 * sizeof *dst);
    assert_non_null(src);
    assert_non_null(dst);
    for (size_t offset = 0; offset <= 1; offset++) {
        for (uint32_t i = 0; i < 65536; i++) {
            uint16_t h = (uint16_t)i;
            memcpy(src + offset + 2 * i, &h, sizeof h);
        }
        kern_widen(src + offset, KERN_W_F16, 65536, dst);
        for (uint32_t i = 0; i < 65536; i++) {
            float want = f16_value((uint16_t)i);
            uint32_t gb, wb;
            memcpy(&gb, &dst[i], sizeof gb);
            memcpy(&wb, &want, sizeof wb);
            int ok = isnan(want) ? isnan(dst[i]) && (gb >> 31) == (i >> 15) : gb == wb;
            if (!ok) {
                print_error("f16 0x%04x widened to %.9g (0x%08x), expected %.9g (0x%08x)\n", i,
                            (double)dst[i], gb, (double)want, wb);
                fail();
            }
        }
        kern_widen(src + offset, KERN_W_BF16, 65536, dst);
        for (uint32_t i = 0; i < 65536; i++) {
            uint32_t gb;
            memcpy(&gb, &dst[i], sizeof gb);
            if (gb != i << 16) {
                print_error("bf16 0x%04x widened to 0x%08x\n", i, gb);
                fail();
            }
        }
    }
    /* fp32 Linear on f16 weights holding subnormals and the extremes: with
     * x = e_kk the product is exactly column kk of the widened weight */
    static const uint16_t special[] = {0x0001, 0x8001, 0x03ff, 0x0200, 0x0400, 0x7bff,
                                       0xfbff, 0x8000, 0x0000, 0x3555, 0x83ff, 0x0011};
    size_t n = 40, k = COUNT(special);
    uint16_t *w = malloc(n * k * sizeof *w);
    float *x = calloc(k * k, sizeof *x), *y = malloc(k * n * sizeof *y);
    assert_non_null(w);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t j = 0; j < n; j++)
        for (size_t kk = 0; kk < k; kk++)
            w[j * k + kk] = special[(j + kk) % k];
    for (size_t kk = 0; kk < k; kk++)
        x[kk * k + kk] = 1.0f;
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        assert_int_equal(kern_linear_isa((kern_isa)isa, k, n, k, x, k, w, KERN_W_F16, k, 0, NULL,
                                         y, n),
                         0);
        for (size_t kk = 0; kk < k; kk++)
            for (size_t j = 0; j < n; j++) {
                float want = f16_value(w[j * k + kk]) + 0.0f; /* -0 + 0 chain: +0 */
                float got = y[kk * n + j];
                if (memcmp(&got, &want, sizeof got) != 0 && !(got == 0.0f && want == 0.0f)) {
                    print_error("%s: f16 0x%04x through kern_linear: %.9g, expected %.9g\n",
                                kern_isa_name((kern_isa)isa), w[j * k + kk], (double)got,
                                (double)want);
                    fail();
                }
            }
    }
    free(src), free(dst), free(w), free(x), free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widen),
        cmocka_unit_test(test_linear_empty),
        cmocka_unit_test(test_linear_equals_packed),
        cmocka_unit_test(test_linear_random_shapes),
        cmocka_unit_test(test_linear_model_strides),
        cmocka_unit_test(test_linear_special_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
