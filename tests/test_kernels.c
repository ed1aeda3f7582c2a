/* Kernel tests: every fast path against its plain C reference on random
 * shapes (odd sizes included), plus the numeric contracts the models rely on
 * (row independence of GEMM tiles, attention row blocks, norms, RoPE). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "runtime/runtime.h"

#include <pthread.h>
#include <time.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float frand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

static float *rand_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

static const size_t dims_m[] = {1, 3, 4, 5, 7, 17, 33};
static const size_t dims_n[] = {1, 3, 6, 7, 16, 17, 65, 130};
#define COUNT(a) (sizeof(a) / sizeof(a[0]))

/* |got - ref| within a bound on float rounding of a k-term dot product */
static void check_close_dot(const float *got, const float *ref, const float *bound, size_t n,
                            const char *what, size_t m, size_t nn, size_t k)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= bound[i])) {
            print_error("%s m=%zu n=%zu k=%zu: element %zu got %.9g ref %.9g (bound %.3g)\n",
                        what, m, nn, k, i, (double)got[i], (double)ref[i], (double)bound[i]);
            fail();
        }
    }
}

/* Packed weights: every path against the reference on the unpacked
 * weights (portable: bitwise), k spanning several k blocks, rows spanning
 * several row blocks and every sliver size. */
static void test_gemm_packed(void **state)
{
    (void)state;
    static const size_t pm[] = {1, 2, 3, 7, 11, 12, 13, 25, 73, 150};
    static const size_t pn[] = {1, 3, 16, 17, 31, 32, 33, 65, 130};
    static const size_t pk[] = {1, 3, 17, 255, 256, 257, 600};
    for (size_t a = 0; a < COUNT(pm); a++)
        for (size_t b = 0; b < COUNT(pn); b++)
            for (size_t c = 0; c < COUNT(pk); c++) {
                size_t m = pm[a], n = pn[b], k = pk[c];
                if (m * n * k > 4000000)
                    continue;
                size_t ldx = k + 2, ldw = k + 1, ldy = n + 3;
                float *x = rand_buf(m * ldx), *w = rand_buf(n * ldw), *bias = rand_buf(n);
                size_t psize = kern_pack_nt_size(n, k);
                assert_int_equal(psize, ((n + KERN_PACK_NR - 1) / KERN_PACK_NR) * KERN_PACK_NR * k);
                float *packed = aligned_alloc(64, ((psize * sizeof(float) + 63) / 64) * 64);
                kern_pack_nt(n, k, w, ldw, packed);
                float *ref = rand_buf(m * ldy), *got = malloc(m * ldy * sizeof *got);
                float *bound = malloc(m * ldy * sizeof *bound);
                kern_gemm_nt_ref(m, n, k, x, ldx, w, ldw, c % 2 ? bias : NULL, ref, ldy);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < ldy; j++) {
                        double s = 0;
                        for (size_t kk = 0; j < n && kk < k; kk++)
                            s += fabs((double)x[i * ldx + kk] * w[j * ldw + kk]);
                        bound[i * ldy + j] = (float)(2.0 * (double)(k + 1) * 6e-8 * (s + 1.0));
                    }
                for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
                    if (!kern_isa_supported((kern_isa)isa))
                        continue;
                    memcpy(got, ref, m * ldy * sizeof *got);
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++)
                            got[i * ldy + j] = NAN;
                    kern_gemm_packed_isa((kern_isa)isa, m, n, k, x, ldx, packed, k,
                                         c % 2 ? bias : NULL, got, ldy);
                    if (isa == KERN_ISA_GENERIC)
                        assert_memory_equal(got, ref, m * ldy * sizeof *got);
                    else
                        check_close_dot(got, ref, bound, m * ldy, kern_isa_name((kern_isa)isa), m, n, k);
                    float *row = malloc(n * sizeof *row);
                    for (size_t i = 0; i < m; i += 1 + m / 5) {
                        kern_gemm_packed_isa((kern_isa)isa, 1, n, k, x + i * ldx, ldx, packed, k,
                                             c % 2 ? bias : NULL, row, n);
                        assert_memory_equal(row, got + i * ldy, n * sizeof *row);
                    }
                    free(row);
                }
                free(x), free(w), free(bias), free(packed), free(ref), free(got), free(bound);
            }
}

/* bf16 GEMM: the AVX512_BF16 path equals the portable formula bitwise
 * (when the CPU has it), stays within bf16 rounding of the fp32 product,
 * and a column range computed alone (a thread's share) equals the same
 * columns of the whole product bitwise. */
static void test_gemm_bf16(void **state)
{
    (void)state;
    static const size_t pm[] = {1, 5, 12, 13, 40, 100};
    static const size_t pn[] = {1, 17, 32, 33, 100};
    static const size_t pk[] = {1, 2, 7, 256, 257, 600};
    assert_int_equal(kern_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(kern_f32_to_bf16(1.00390625f), 0x3f80);  /* tie: to even */
    assert_int_equal(kern_f32_to_bf16(1.01171875f), 0x3f82);  /* tie: to even (up) */
    assert_int_equal(kern_f32_to_bf16(-2.0f), 0xc000);
    for (size_t a = 0; a < COUNT(pm); a++)
        for (size_t b = 0; b < COUNT(pn); b++)
            for (size_t c = 0; c < COUNT(pk); c++) {
                size_t m = pm[a], n = pn[b], k = pk[c], ldx = k + 3, ldw = k + 1, ldy = n + 2;
                float *x = rand_buf(m * ldx), *w = rand_buf(n * ldw), *bias = rand_buf(n);
                size_t psize = kern_pack_bf16_size(n, k);
                assert_int_equal(psize, ((n + 31) / 32) * 32 * ((k + 1) / 2) * 2);
                uint16_t *packed = malloc(psize * sizeof *packed);
                kern_pack_bf16(n, k, w, ldw, packed);
                float *ref = calloc(m * ldy, sizeof *ref), *got = calloc(m * ldy, sizeof *got);
                float *f32 = calloc(m * ldy, sizeof *f32), *part = calloc(m * ldy, sizeof *part);
                const float *bs = c % 2 ? bias : NULL;
                kern_gemm_bf16_ref(m, n, k, x, ldx, packed, bs, ref, ldy);
                kern_gemm_bf16(m, n, k, x, ldx, packed, bs, got, ldy);
                kern_gemm_nt_ref(m, n, k, x, ldx, w, ldw, bs, f32, ldy);
                if (kern_bf16_supported())
                    for (size_t i = 0; i < m * ldy; i++)
                        if (memcmp(&got[i], &ref[i], sizeof *got) != 0) {
                            print_error("bf16 %zux%zux%zu: element %zu %.9g vs ref %.9g\n", m, n,
                                        k, i, (double)got[i], (double)ref[i]);
                            fail();
                        }
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        double s = 0;
                        for (size_t kk = 0; kk < k; kk++)
                            s += fabs((double)x[i * ldx + kk] * w[j * ldw + kk]);
                        double err = fabs((double)got[i * ldy + j] - f32[i * ldy + j]);
                        if (err > 1.6e-2 * s + 1e-6) {
                            print_error("bf16 %zux%zux%zu: (%zu,%zu) %.9g vs fp32 %.9g\n", m, n,
                                        k, i, j, (double)got[i * ldy + j], (double)f32[i * ldy + j]);
                            fail();
                        }
                    }
                if (n > 32) { /* columns 32.. alone, from their panels */
                    size_t pairs = (k + 1) / 2;
                    kern_gemm_bf16(m, n - 32, k, x, ldx, packed + 32 * pairs * 2, bs ? bs + 32 : NULL,
                                   part + 32, ldy);
                    for (size_t i = 0; i < m; i++)
                        assert_memory_equal(part + i * ldy + 32, got + i * ldy + 32,
                                            (n - 32) * sizeof *got);
                }
                free(x), free(w), free(bias), free(packed), free(ref), free(got), free(f32), free(part);
            }
}

static void test_gemm_nn(void **state)
{
    (void)state;
    static const size_t big_k[] = {1, 3, 17, 65, 255, 256, 257, 600};
    for (size_t a = 0; a < COUNT(dims_m); a++)
        for (size_t b = 0; b < COUNT(dims_n); b++)
            for (size_t c = 0; c < COUNT(big_k); c++) {
                size_t m = dims_m[a], n = dims_n[b], k = big_k[c];
                size_t ldx = k + 1, ldb = n + 5, ldy = n + 3;
                float *x = rand_buf(m * ldx), *bm = rand_buf(k * ldb);
                float *ref = rand_buf(m * ldy), *got = malloc(m * ldy * sizeof *got);
                float *bound = malloc(m * ldy * sizeof *bound);
                kern_gemm_nn_ref(m, n, k, x, ldx, bm, ldb, ref, ldy);
                /* b packed with kern_pack_nn through the portable packed GEMM:
                 * the same chains, bitwise; and through every path within bound */
                float *pb = malloc(kern_pack_nt_size(n, k) * sizeof *pb);
                kern_pack_nn(k, n, bm, ldb, pb);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < ldy; j++) {
                        double s = 0;
                        for (size_t kk = 0; j < n && kk < k; kk++)
                            s += fabs((double)x[i * ldx + kk] * bm[kk * ldb + j]);
                        bound[i * ldy + j] = (float)(2.0 * (double)(k + 1) * 6e-8 * (s + 1.0));
                    }
                for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
                    if (!kern_isa_supported((kern_isa)isa))
                        continue;
                    memcpy(got, ref, m * ldy * sizeof *got);
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++)
                            got[i * ldy + j] = NAN;
                    kern_gemm_packed_isa((kern_isa)isa, m, n, k, x, ldx, pb, k, NULL, got, ldy);
                    if (isa == KERN_ISA_GENERIC)
                        assert_memory_equal(got, ref, m * ldy * sizeof *got);
                    else
                        check_close_dot(got, ref, bound, m * ldy, "packed nn", m, n, k);
                    float *row = malloc(n * sizeof *row);
                    for (size_t i = 0; i < m; i++) {
                        kern_gemm_packed_isa((kern_isa)isa, 1, n, k, x + i * ldx, ldx, pb, k, NULL,
                                             row, n);
                        assert_memory_equal(row, got + i * ldy, n * sizeof *row);
                    }
                    free(row);
                }
                free(x), free(bm), free(ref), free(got), free(bound), free(pb);
            }
}

/* The sliding-window kernel (Gemma3's local layers) against its [n, n]
 * reference, bidirectional and causal, odd sizes, windows narrower and wider
 * than a row block; reach 1 sees only itself, and a reach past n is no
 * window at all (bitwise kern_attention_head). */
static void test_attention_window(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 5, 67, 130};
    static const size_t reaches[] = {1, 2, 5, 64, 200};
    size_t hd = 12, ld = 2 * hd + 1;
    for (size_t a = 0; a < COUNT(ns); a++)
        for (size_t r = 0; r < COUNT(reaches); r++)
            for (int causal = 0; causal <= 1; causal++) {
                size_t n = ns[a], reach = reaches[r];
                float *q = rand_buf(n * ld), *k = rand_buf(n * ld), *v = rand_buf(n * ld);
                float *ref = calloc(n * ld, sizeof *ref), *got = calloc(n * ld, sizeof *got);
                float *plain = calloc(n * ld, sizeof *plain);
                float *scores = malloc(n * n * sizeof *scores);
                float *scratch = malloc(kern_attention_scratch(n, hd) * sizeof *scratch);
                float scale = 1.0f / sqrtf((float)hd);
                kern_attention_head_window_ref(n, hd, q, ld, k, ld, v, ld, ref, ld, scale, causal,
                                               reach, scores);
                kern_attention_pack(n, hd, k, ld, v, ld, scratch);
                kern_attention_rows_window(n, 0, n, hd, q, ld, got, ld, scale, causal, reach,
                                           scratch);
                char label[80];
                snprintf(label, sizeof label, "window attention n=%zu reach=%zu causal=%d", n,
                         reach, causal);
                tu_assert_close(got, ref, n * ld, 2e-6, label);
                for (size_t i = 0; reach == 1 && i < n; i++) /* each row sees only itself */
                    tu_assert_close(got + i * ld, v + i * ld, hd, 1e-6, "reach 1");
                if (reach >= n) {
                    kern_attention_head(n, 0, n, hd, q, ld, k, ld, v, ld, plain, ld, scale,
                                        causal, scratch);
                    for (size_t i = 0; i < n; i++)
                        assert_memory_equal(plain + i * ld, got + i * ld, hd * sizeof *got);
                }
                free(q), free(k), free(v), free(ref), free(got), free(plain), free(scores),
                    free(scratch);
            }
}

static void test_attention(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 3, 17, 64, 65, 130};
    static const size_t hds[] = {8, 17, 32, 64, 80};
    for (size_t a = 0; a < COUNT(ns); a++)
        for (size_t b = 0; b < COUNT(hds); b++)
            for (int causal = 0; causal <= 1; causal++) {
                size_t n = ns[a], hd = hds[b], ld = 2 * hd + 1; /* head inside a wider row */
                float *q = rand_buf(n * ld), *k = rand_buf(n * ld), *v = rand_buf(n * ld);
                for (size_t i = 0; i < n * ld; i++)
                    q[i] *= 3.0f; /* peakier softmax */
                float *ref = calloc(n * ld, sizeof *ref), *got = calloc(n * ld, sizeof *got);
                float *part = calloc(n * ld, sizeof *part);
                float *scores = malloc(n * n * sizeof *scores);
                size_t sn = kern_attention_scratch(n, hd);
                assert_true(sn > 0);
                assert_true(sn <= 2 * (n + 32) * (hd + 32) + (size_t)KERN_ATTN_ROWS * n); /* linear in n */
                float *scratch = malloc(sn * sizeof *scratch);
                float scale = 1.0f / sqrtf((float)hd);
                kern_attention_head_ref(n, hd, q, ld, k, ld, v, ld, ref, ld, scale, causal, scores);
                kern_attention_head(n, 0, n, hd, q, ld, k, ld, v, ld, got, ld, scale, causal, scratch);
                char label[64];
                snprintf(label, sizeof label, "attention n=%zu hd=%zu causal=%d", n, hd, causal);
                tu_assert_close(got, ref, n * ld, 2e-6, label);
                /* a sub-range of query rows (the pooled rows) gives the same numbers */
                size_t q0 = n > 2 ? n / 2 : 0, nq = n - q0;
                kern_attention_head(n, q0, nq, hd, q, ld, k, ld, v, ld, part, ld, scale, causal, scratch);
                for (size_t i = q0; i < n; i++)
                    assert_memory_equal(part + i * ld, got + i * ld, hd * sizeof *got);
                if (causal) /* row 0 sees only key 0: its output is v[0] */
                    tu_assert_close(got, v, hd, 1e-6, "causal row 0");
                free(q), free(k), free(v), free(ref), free(got), free(part), free(scores), free(scratch);
            }
}

/* Attention with a relative-position bias (MPNet): fast == reference; a
 * sub-range of rows is bitwise the same; a zero bias is plain attention; a
 * large bias on offset 0 makes each row its own value row. */
static void test_attention_rel(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 2, 17, 64, 65, 130};
    static const size_t hds[] = {8, 17, 64};
    for (size_t a = 0; a < COUNT(ns); a++)
        for (size_t b = 0; b < COUNT(hds); b++) {
            size_t n = ns[a], hd = hds[b], ld = 2 * hd + 1, w = 2 * n - 1;
            float *q = rand_buf(n * ld), *k = rand_buf(n * ld), *v = rand_buf(n * ld);
            float *rel = rand_buf(w), *zero = calloc(w, sizeof *zero);
            float *ref = calloc(n * ld, sizeof *ref), *got = calloc(n * ld, sizeof *got);
            float *part = calloc(n * ld, sizeof *part), *plain = calloc(n * ld, sizeof *plain);
            float *scores = malloc(n * n * sizeof *scores);
            float *scratch = malloc(kern_attention_scratch(n, hd) * sizeof *scratch);
            for (size_t i = 0; i < w; i++)
                rel[i] *= 4.0f;
            float scale = 1.0f / sqrtf((float)hd);
            kern_attention_head_rel_ref(n, hd, q, ld, k, ld, v, ld, ref, ld, scale, rel, scores);
            kern_attention_head_rel(n, 0, n, hd, q, ld, k, ld, v, ld, got, ld, scale, rel, scratch);
            char label[64];
            snprintf(label, sizeof label, "relative attention n=%zu hd=%zu", n, hd);
            tu_assert_close(got, ref, n * ld, 2e-6, label);
            size_t q0 = n > 2 ? n / 2 : 0;
            kern_attention_head_rel(n, q0, n - q0, hd, q, ld, k, ld, v, ld, part, ld, scale, rel,
                                    scratch);
            for (size_t i = q0; i < n; i++)
                assert_memory_equal(part + i * ld, got + i * ld, hd * sizeof *got);
            kern_attention_head_rel(n, 0, n, hd, q, ld, k, ld, v, ld, got, ld, scale, zero, scratch);
            kern_attention_head(n, 0, n, hd, q, ld, k, ld, v, ld, plain, ld, scale, 0, scratch);
            tu_assert_close(got, plain, n * ld, 2e-6, "relative attention, zero bias");
            zero[n - 1] = 1e4f; /* offset 0: every row attends to itself only */
            kern_attention_head_rel(n, 0, n, hd, q, ld, k, ld, v, ld, got, ld, scale, zero, scratch);
            for (size_t i = 0; i < n; i++)
                tu_assert_close(got + i * ld, v + i * ld, hd, 1e-6, "relative attention diagonal");
            free(q), free(k), free(v), free(rel), free(zero), free(ref), free(got), free(part);
            free(plain), free(scores), free(scratch);
        }
}

/* Bidirectional sliding-window attention (ModernBERT's local layers): fast
 * == reference; a sub-range of rows is bitwise the same; a window covering
 * every key is plain attention bitwise; window 0 makes each row its own
 * value row; against a direct computation over the keys |j - i| <= w. */
static void test_attention_local(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 2, 9, 64, 65, 130};
    static const size_t wins[] = {0, 1, 4, 63, 64, 200};
    size_t hd = 8, ld = 3 * hd;
    for (size_t a = 0; a < COUNT(ns); a++)
        for (size_t b = 0; b < COUNT(wins); b++) {
            size_t n = ns[a], win = wins[b];
            float *q = rand_buf(n * ld), *k = rand_buf(n * ld), *v = rand_buf(n * ld);
            float *ref = calloc(n * ld, sizeof *ref), *got = calloc(n * ld, sizeof *got);
            float *part = calloc(n * ld, sizeof *part), *plain = calloc(n * ld, sizeof *plain);
            float *scores = malloc(n * n * sizeof *scores), *e = malloc(n * sizeof *e);
            float *scratch = malloc(kern_attention_scratch(n, hd) * sizeof *scratch);
            float scale = 1.0f / sqrtf((float)hd);
            char label[64];
            snprintf(label, sizeof label, "window attention n=%zu w=%zu", n, win);
            kern_attention_head_window_ref(n, hd, q, ld, k, ld, v, ld, ref, ld, scale, 0, win + 1,
                                           scores);
            kern_attention_pack(n, hd, k, ld, v, ld, scratch);
            kern_attention_rows_window(n, 0, n, hd, q, ld, got, ld, scale, 0, win + 1, scratch);
            tu_assert_close(got, ref, n * ld, 2e-6, label);
            for (size_t i = 0; i < n; i++) { /* softmax over |j - i| <= win, in double */
                double mx = -INFINITY, sum = 0.0;
                for (size_t j = 0; j < n; j++) {
                    double d = 0.0;
                    for (size_t c = 0; c < hd; c++)
                        d += (double)q[i * ld + c] * k[j * ld + c];
                    e[j] = (float)(d * scale);
                    if ((j > i ? j - i : i - j) <= win && e[j] > mx)
                        mx = e[j];
                }
                for (size_t j = 0; j < n; j++) {
                    int in = (j > i ? j - i : i - j) <= win;
                    e[j] = in ? (float)exp(e[j] - mx) : 0.0f;
                    sum += e[j];
                }
                for (size_t c = 0; c < hd; c++) {
                    double o = 0.0;
                    for (size_t j = 0; j < n; j++)
                        o += e[j] / sum * v[j * ld + c];
                    if (fabs(o - got[i * ld + c]) > 1e-5)
                        fail_msg("%s: row %zu col %zu got %g expected %g", label, i, c,
                                 (double)got[i * ld + c], o);
                }
            }
            size_t q0 = n > 2 ? n / 2 : 0;
            kern_attention_rows_window(n, q0, n - q0, hd, q, ld, part, ld, scale, 0, win + 1,
                                       scratch);
            for (size_t i = q0; i < n; i++)
                assert_memory_equal(part + i * ld, got + i * ld, hd * sizeof *got);
            if (win >= n - 1) {
                kern_attention_head(n, 0, n, hd, q, ld, k, ld, v, ld, plain, ld, scale, 0, scratch);
                assert_memory_equal(plain, got, n * ld * sizeof *got);
            }
            if (win == 0)
                for (size_t i = 0; i < n; i++)
                    tu_assert_close(got + i * ld, v + i * ld, hd, 1e-6, "window 0: own value");
            free(q), free(k), free(v), free(ref), free(got), free(part), free(plain);
            free(scores), free(e), free(scratch);
        }
}

static void test_norms(void **state)
{
    (void)state;
    static const size_t ds[] = {1, 3, 7, 8, 9, 17, 32, 33, 384, 768, 1001};
    for (size_t a = 0; a < COUNT(ds); a++) {
        size_t d = ds[a], rows = 3;
        float *x = rand_buf(rows * d), *w = rand_buf(d), *b = rand_buf(d);
        float *y = malloc(rows * d * sizeof *y), *e = malloc(rows * d * sizeof *e);
        kern_layernorm(rows, d, x, d, w, b, 1e-5f, y, d);
        for (size_t r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (size_t i = 0; i < d; i++)
                mean += x[r * d + i];
            mean /= (double)d;
            for (size_t i = 0; i < d; i++)
                var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
            var /= (double)d;
            for (size_t i = 0; i < d; i++)
                e[r * d + i] = (float)((x[r * d + i] - mean) / sqrt(var + 1e-5) * w[i] + b[i]);
        }
        tu_assert_close(y, e, rows * d, 2e-5, "layernorm");
        kern_rmsnorm(rows, d, x, d, w, 1e-6f, y, d);
        for (size_t r = 0; r < rows; r++) {
            double sq = 0;
            for (size_t i = 0; i < d; i++)
                sq += (double)x[r * d + i] * x[r * d + i];
            double rs = 1.0 / sqrt(sq / (double)d + 1e-6);
            for (size_t i = 0; i < d; i++)
                e[r * d + i] = (float)(x[r * d + i] * rs * w[i]);
        }
        tu_assert_close(y, e, rows * d, 2e-5, "rmsnorm");
        /* every path gives bitwise the portable numbers */
        for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
            if (!kern_isa_supported((kern_isa)isa))
                continue;
            kern_rmsnorm_isa((kern_isa)isa, rows, d, x, d, w, 1e-6f, e, d);
            kern_rmsnorm_isa(KERN_ISA_GENERIC, rows, d, x, d, w, 1e-6f, y, d);
            assert_memory_equal(e, y, rows * d * sizeof *e);
            kern_layernorm_isa((kern_isa)isa, rows, d, x, d, w, b, 1e-5f, e, d);
            kern_layernorm_isa(KERN_ISA_GENERIC, rows, d, x, d, w, b, 1e-5f, y, d);
            assert_memory_equal(e, y, rows * d * sizeof *e);
        }
        /* in place gives the same */
        kern_rmsnorm(rows, d, x, d, w, 1e-6f, y, d);
        kern_rmsnorm(rows, d, x, d, w, 1e-6f, x, d);
        assert_memory_equal(x, y, rows * d * sizeof *x);
        free(x), free(w), free(b), free(y), free(e);
    }
}

static void test_activations(void **state)
{
    (void)state;
    float g[4] = {1.0f, -1.0f, 0.0f, 3.0f};
    kern_gelu(g, 4);
    float ge[4] = {0.841344746f, -0.158655254f, 0.0f, 2.99595031f};
    tu_assert_close(g, ge, 4, 1e-6, "gelu");
    float t[2] = {1.0f, -1.0f};
    kern_gelu_tanh(t, 2);
    float te[2] = {0.841191990f, -0.158808010f};
    tu_assert_close(t, te, 2, 1e-6, "gelu_tanh");
    float s[3] = {1.0f, -2.0f, 0.5f}, u[3] = {2.0f, 1.0f, -1.0f};
    kern_silu_mul(s, u, 3);
    float se[3] = {0.731058579f * 2.0f, -0.238405844f, -0.311229217f};
    tu_assert_close(s, se, 3, 1e-6, "silu_mul");
    float p[5] = {1.0f, 2.0f, 3.0f, -1000.0f, 3.0f};
    kern_softmax(p, 5);
    double sum = 0;
    for (int i = 0; i < 5; i++)
        sum += p[i];
    assert_true(fabs(sum - 1.0) < 1e-6);
    assert_true(p[3] == 0.0f);
    assert_true(p[2] == p[4] && p[2] > p[1] && p[1] > p[0]);
}

/* The fast activations against the libm-based references over a grid that
 * covers the tails (relative error, with a small absolute floor). */
static void check_rel(const float *got, const float *ref, size_t n, double rel, double abs_floor,
                      const char *what, const float *in)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= rel * fabs((double)ref[i]) + abs_floor)) {
            print_error("%s: input %.9g got %.9g ref %.9g\n", what, in ? (double)in[i] : (double)i,
                        (double)got[i], (double)ref[i]);
            fail();
        }
    }
}

static void test_activation_paths(void **state)
{
    (void)state;
    size_t n = 4001; /* odd: masked tails */
    float *in = malloc(n * sizeof *in), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    float *up = rand_buf(n);
    for (size_t i = 0; i < n; i++)
        in[i] = -20.0f + 40.0f * (float)i / (float)(n - 1);
    in[n / 2] = 0.0f;
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        memcpy(a, in, n * sizeof *a), memcpy(b, in, n * sizeof *b);
        kern_gelu_isa((kern_isa)isa, a, n);
        kern_gelu_ref(b, n);
        check_rel(a, b, n, 2e-6, 2e-7, "gelu", in); /* torch's 1+erf cancels below -3 */
        memcpy(a, in, n * sizeof *a), memcpy(b, in, n * sizeof *b);
        kern_silu_mul_isa((kern_isa)isa, a, up, n);
        kern_silu_mul_ref(b, up, n);
        check_rel(a, b, n, 1e-6, 1e-30, "silu_mul", in);
        static const size_t lens[] = {1, 2, 15, 16, 17, 100, 4001};
        for (size_t l = 0; l < COUNT(lens); l++) {
            float *s = rand_buf(lens[l]);
            for (size_t i = 0; i < lens[l]; i++)
                s[i] *= 30.0f;
            memcpy(a, s, lens[l] * sizeof *a), memcpy(b, s, lens[l] * sizeof *b);
            kern_softmax_scaled_isa((kern_isa)isa, a, lens[l], 0.125f);
            kern_softmax_scaled_ref(b, lens[l], 0.125f);
            check_rel(a, b, lens[l], 2e-6, 1e-12, "softmax", s);
            free(s);
        }
    }
    free(in), free(a), free(b), free(up);
}

static void test_rope(void **state)
{
    (void)state;
    size_t n = 40, hd = 10, heads = 3, half = hd / 2, ld = heads * hd + 2;
    float *cs = malloc(n * half * sizeof *cs), *sn = malloc(n * half * sizeof *sn);
    kern_rope_table(n, hd, 10000.0, cs, sn);
    float *x = rand_buf(n * ld), *orig = malloc(n * ld * sizeof *orig);
    memcpy(orig, x, n * ld * sizeof *x);
    kern_rope_apply(n, heads, hd, x, ld, cs, sn);
    for (size_t p = 0; p < n; p++)
        for (size_t h = 0; h < heads; h++)
            for (size_t i = 0; i < half; i++) {
                double ang = (double)p / pow(10000.0, (double)(2 * i) / (double)hd);
                double x1 = orig[p * ld + h * hd + i], x2 = orig[p * ld + h * hd + i + half];
                double e1 = x1 * cos(ang) - x2 * sin(ang), e2 = x2 * cos(ang) + x1 * sin(ang);
                assert_true(fabs(x[p * ld + h * hd + i] - e1) < 2e-5);
                assert_true(fabs(x[p * ld + h * hd + i + half] - e2) < 2e-5);
            }
    /* position 0 is the identity; the two padding columns are untouched */
    assert_memory_equal(x, orig, heads * hd * sizeof *x);
    for (size_t p = 0; p < n; p++)
        assert_memory_equal(x + p * ld + heads * hd, orig + p * ld + heads * hd, 2 * sizeof *x);
    free(cs), free(sn), free(x), free(orig);
}

/* NewModel's fixed NTK table: angle p / (theta·f)^(2i/hd) / f^(2/hd) (in
 * double within float rounding); factor 1 is kern_rope_table bitwise. */
static void test_rope_ntk(void **state)
{
    (void)state;
    size_t n = 300, hd = 8, half = hd / 2;
    float *cs = malloc(4 * n * half * sizeof *cs), *sn = cs + n * half;
    float *c1 = sn + n * half, *s1 = c1 + n * half;
    kern_rope_table_ntk(n, hd, 500000.0, 2.0, cs, sn);
    for (size_t p = 0; p < n; p++)
        for (size_t i = 0; i < half; i++) {
            double inv = 1.0 / pow(1e6, (double)(2 * i) / (double)hd) / pow(2.0, 2.0 / (double)hd);
            double ang = (double)p * inv;
            assert_true(fabs(cs[p * half + i] - cos(ang)) < 1e-4);
            assert_true(fabs(sn[p * half + i] - sin(ang)) < 1e-4);
        }
    kern_rope_table_ntk(n, hd, 10000.0, 1.0, cs, sn);
    kern_rope_table(n, hd, 10000.0, c1, s1);
    assert_memory_equal(cs, c1, n * half * sizeof *cs);
    assert_memory_equal(sn, s1, n * half * sizeof *sn);
    free(cs);
}

static void test_dispatch(void **state)
{
    (void)state;
    kern_isa isa = kern_isa_active();
    assert_true(kern_isa_supported(isa));
    assert_true(kern_isa_supported(KERN_ISA_GENERIC));
    const char *env = getenv("EMB_CPU");
    if (env && !strcmp(env, "generic"))
        assert_int_equal(isa, KERN_ISA_GENERIC);
    else if (env && !strcmp(env, "avx2"))
        assert_int_equal(isa, kern_isa_supported(KERN_ISA_AVX2) ? KERN_ISA_AVX2 : KERN_ISA_GENERIC);
    else if (kern_isa_supported(KERN_ISA_AVX512))
        assert_int_equal(isa, KERN_ISA_AVX512);
    else if (kern_isa_supported(KERN_ISA_AVX2))
        assert_int_equal(isa, KERN_ISA_AVX2);
    print_message("kernel path: %s\n", kern_isa_name(isa));
    assert_string_equal(kern_isa_name(KERN_ISA_GENERIC), "generic");
}

/* rt_parallel_run (the pool the forward passes split GEMMs on): every index
 * runs exactly once, a pooled worker really runs beside the caller, and
 * concurrent callers sharing the pool each get all their indices done. */
typedef struct pr_count {
    int hits[1000];
    pthread_mutex_t lock;
    int started;    /* tasks of the meeting job that have begun */
    int met;        /* 1: both tasks of the meeting job ran at the same time */
} pr_count;

static void pr_hit(void *arg, size_t i)
{
    pr_count *c = arg;
    pthread_mutex_lock(&c->lock);
    c->hits[i]++;
    pthread_mutex_unlock(&c->lock);
}

/* Each of the 2 tasks waits (up to 2 s) for the other to start. */
static void pr_meet(void *arg, size_t i)
{
    (void)i;
    pr_count *c = arg;
    pthread_mutex_lock(&c->lock);
    c->started++;
    pthread_mutex_unlock(&c->lock);
    for (int t = 0; t < 2000; t++) {
        pthread_mutex_lock(&c->lock);
        int both = c->started == 2;
        pthread_mutex_unlock(&c->lock);
        if (both) {
            pthread_mutex_lock(&c->lock);
            c->met = 1;
            pthread_mutex_unlock(&c->lock);
            return;
        }
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
}

static void pr_nested(void *arg, size_t i)
{
    pr_count *c = (pr_count *)arg + i;
    rt_parallel_run(2, 1000, pr_hit, c);
}

static void test_parallel_run(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        pr_count c = { .lock = PTHREAD_MUTEX_INITIALIZER };
        rt_parallel_run(threads, 1000, pr_hit, &c);
        for (size_t i = 0; i < 1000; i++)
            if (c.hits[i] != 1) {
                print_error("%d threads: index %zu ran %d times\n", threads, i, c.hits[i]);
                fail();
            }
    }
    pr_count m = { .lock = PTHREAD_MUTEX_INITIALIZER };
    rt_parallel_run(2, 2, pr_meet, &m);
    assert_int_equal(m.started, 2);
    assert_int_equal(m.met, 1);
    pr_count two[3];
    memset(two, 0, sizeof two);
    for (int k = 0; k < 3; k++)
        pthread_mutex_init(&two[k].lock, NULL);
    assert_int_equal(rt_parallel_for(3, 3, pr_nested, two), 0);
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < 1000; i++)
            assert_int_equal(two[k].hits[i], 1);
    rt_parallel_run(2, 0, pr_hit, &m); /* nothing to do */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_parallel_run),
        cmocka_unit_test(test_gemm_packed),
        cmocka_unit_test(test_gemm_bf16),
        cmocka_unit_test(test_gemm_nn),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_attention_window),
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_activation_paths),
        cmocka_unit_test(test_rope),
        cmocka_unit_test(test_rope_ntk),
        cmocka_unit_test(test_attention_rel), /* last: the others' random inputs unchanged */
        cmocka_unit_test(test_attention_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
