/* Search: the score kernels (kernels/score.c) on every ISA path this CPU
 * runs against their plain references, and emb_topk_f32 / _i8 / _binary
 * (api/topk.c) against a brute-force sort: ties, k edge cases, NaN,
 * thread-count independence, cosine with and without precomputed norms,
 * NULLs and bad arguments. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint32_t urand(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

static float frand(void)
{
    return (float)urand() / (float)(1u << 31) * 2.0f - 1.0f;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

static float *rand_f32(size_t n)
{
    float *p = xmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

static void *rand_bytes(size_t n)
{
    uint8_t *p = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)urand();
    return p;
}

static const size_t dims[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 384, 385, 1000};
#define COUNT(a) (sizeof(a) / sizeof(a[0]))

/* Every path's float dot products within the rounding bound of a dim-term
 * sum (vs a double sum); int8 dots and Hamming distances exactly equal. */
static void test_score_paths(void **state)
{
    (void)state;
    const size_t n = 37;
    for (size_t d = 0; d < COUNT(dims); d++) {
        size_t dim = dims[d], bytes = dims[d];
        float *q = rand_f32(dim), *rows = rand_f32(n * dim);
        int8_t *qi = rand_bytes(dim), *ri = rand_bytes(n * dim);
        uint8_t *qb = rand_bytes(bytes), *rb = rand_bytes(n * bytes);
        float *got = xmalloc(n * sizeof *got);
        int32_t *gi = xmalloc(n * sizeof *gi), *refi = xmalloc(n * sizeof *refi);
        uint32_t *gb = xmalloc(n * sizeof *gb), *refb = xmalloc(n * sizeof *refb);
        kern_dot_rows_i8_ref(qi, ri, n, dim, refi);
        kern_hamming_rows_ref(qb, rb, n, bytes, refb);
        for (size_t i = 0; i < n; i++) { /* the references themselves, one row */
            int32_t s = 0;
            uint32_t h = 0;
            for (size_t j = 0; j < dim; j++) {
                s += qi[j] * ri[i * dim + j];
                for (int b = 0; b < 8; b++)
                    h += ((unsigned)(qb[j] ^ rb[i * bytes + j]) >> b) & 1u;
            }
            assert_int_equal(refi[i], s);
            assert_int_equal(refb[i], h);
        }
        for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
            if (!kern_isa_supported((kern_isa)isa))
                continue;
            kern_dot_rows_f32_isa((kern_isa)isa, q, rows, n, dim, got);
            for (size_t i = 0; i < n; i++) {
                double s = 0, a = 0;
                for (size_t j = 0; j < dim; j++) {
                    s += (double)q[j] * rows[i * dim + j];
                    a += fabs((double)q[j] * rows[i * dim + j]);
                }
                double bound = 2.0 * (double)dim * 6e-8 * a + 1e-30;
                if (!(fabs(got[i] - s) <= bound)) {
                    print_error("f32 %s dim=%zu row %zu: got %.9g, exact %.9g (bound %.3g)\n",
                                kern_isa_name((kern_isa)isa), dim, i, (double)got[i], s, bound);
                    fail();
                }
            }
            kern_dot_rows_i8_isa((kern_isa)isa, qi, ri, n, dim, gi);
            kern_hamming_rows_isa((kern_isa)isa, qb, rb, n, bytes, gb);
            for (size_t i = 0; i < n; i++) {
                if (gi[i] != refi[i] || gb[i] != refb[i]) {
                    print_error("%s dim=%zu row %zu: i8 %d (ref %d), hamming %u (ref %u)\n",
                                kern_isa_name((kern_isa)isa), dim, i, gi[i], refi[i], gb[i],
                                refb[i]);
                    fail();
                }
            }
        }
        free(q), free(rows), free(qi), free(ri), free(qb), free(rb), free(got);
        free(gi), free(refi), free(gb), free(refb);
    }
}

/* The int8 extremes: every code -128 gives dim * 16384, exactly. */
static void test_score_i8_extremes(void **state)
{
    (void)state;
    const size_t dim = 4099, n = 2;
    int8_t *q = xmalloc(dim), *r = xmalloc(n * dim);
    memset(q, 0x80, dim);
    memset(r, 0x80, dim);
    memset(r + dim, 0x7F, dim);
    int32_t s[2];
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        kern_dot_rows_i8_isa((kern_isa)isa, q, r, n, dim, s);
        assert_int_equal(s[0], (int32_t)(dim * 16384));
        assert_int_equal(s[1], -(int32_t)(dim * 128 * 127));
    }
    free(q), free(r);
}

/* Brute force: rank by (score desc, index asc), NaN last. */
static const double *sort_keys;
static int by_key(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double kx = isnan(sort_keys[x]) ? -INFINITY : sort_keys[x];
    double ky = isnan(sort_keys[y]) ? -INFINITY : sort_keys[y];
    if (kx != ky)
        return kx > ky ? -1 : 1;
    return x < y ? -1 : x > y;
}

static size_t *brute_order(const double *keys, size_t n)
{
    size_t *o = xmalloc(n * sizeof *o);
    for (size_t i = 0; i < n; i++)
        o[i] = i;
    sort_keys = keys;
    qsort(o, n, sizeof *o, by_key);
    return o;
}

static void check_order(const char *what, const size_t *got, const size_t *want, size_t k,
                        int threads)
{
    for (size_t i = 0; i < k; i++) {
        if (got[i] != want[i]) {
            print_error("%s threads=%d: rank %zu is row %zu, brute force says %zu\n", what,
                        threads, i, got[i], want[i]);
            fail();
        }
    }
}

/* Rows with many equal scores (values drawn from a few levels, duplicated
 * rows), n spanning several blocks: every thread count and k gives the
 * brute-force order, and the scores are those of the kernel. */
static void test_topk_vs_brute(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 5, 255, 256, 257, 3001};
    static const size_t ks[] = {1, 2, 10, 256, 5000};
    static const int threads[] = {1, 2, 3, 7};
    const size_t dim = 24, bytes = 5;
    for (size_t a = 0; a < COUNT(ns); a++) {
        size_t n = ns[a];
        float *q = rand_f32(dim), *rows = xmalloc(n * dim * sizeof *rows);
        int8_t *qi = rand_bytes(dim), *ri = xmalloc(n * dim);
        uint8_t *qb = rand_bytes(bytes), *rb = xmalloc(n * bytes);
        for (size_t i = 0; i < n; i++) {
            size_t src = (i % 3 == 2) ? i / 2 : i; /* duplicates: exact ties */
            for (size_t j = 0; j < dim; j++) {
                rows[i * dim + j] = src == i ? (float)(urand() % 5) - 2.0f : rows[src * dim + j];
                ri[i * dim + j] = src == i ? (int8_t)(urand() % 7) - 3 : ri[src * dim + j];
            }
            for (size_t j = 0; j < bytes; j++)
                rb[i * bytes + j] = src == i ? (uint8_t)(urand() & 0x11) : rb[src * bytes + j];
        }
        double *kf = xmalloc(n * sizeof *kf), *ki = xmalloc(n * sizeof *ki),
               *kb = xmalloc(n * sizeof *kb);
        float *sf = xmalloc(n * sizeof *sf);
        int32_t *si = xmalloc(n * sizeof *si);
        uint32_t *sb = xmalloc(n * sizeof *sb);
        kern_dot_rows_f32(q, rows, n, dim, sf);
        kern_dot_rows_i8_ref(qi, ri, n, dim, si);
        kern_hamming_rows_ref(qb, rb, n, bytes, sb);
        for (size_t i = 0; i < n; i++)
            kf[i] = sf[i], ki[i] = si[i], kb[i] = -(double)sb[i];
        size_t *of = brute_order(kf, n), *oi = brute_order(ki, n), *ob = brute_order(kb, n);
        for (size_t b = 0; b < COUNT(ks); b++) {
            size_t k = ks[b], m = k < n ? k : n;
            size_t *idx = xmalloc((k + 1) * sizeof *idx);
            float *score = xmalloc(k * sizeof *score);
            int32_t *iscore = xmalloc(k * sizeof *iscore);
            uint32_t *dist = xmalloc(k * sizeof *dist);
            for (size_t t = 0; t < COUNT(threads); t++) {
                emb_topk_options o;
                emb_topk_options_init(&o);
                o.n_threads = threads[t];
                idx[m] = (size_t)-7; /* past min(k, n): untouched */
                tu_expect_status(emb_topk_f32(q, rows, n, dim, k, &o, idx, score), EMB_OK);
                check_order("f32", idx, of, m, threads[t]);
                for (size_t i = 0; i < m; i++)
                    assert_true(score[i] == sf[idx[i]]);
                if (k > n)
                    assert_int_equal(idx[m], (size_t)-7);
                tu_expect_status(emb_topk_i8(qi, ri, n, dim, k, &o, idx, iscore), EMB_OK);
                check_order("i8", idx, oi, m, threads[t]);
                for (size_t i = 0; i < m; i++)
                    assert_int_equal(iscore[i], si[idx[i]]);
                tu_expect_status(emb_topk_binary(qb, rb, n, bytes, k, &o, idx, dist), EMB_OK);
                check_order("binary", idx, ob, m, threads[t]);
                for (size_t i = 0; i < m; i++)
                    assert_int_equal(dist[i], sb[idx[i]]);
                /* scores are optional */
                tu_expect_status(emb_topk_binary(qb, rb, n, bytes, k, &o, idx, NULL), EMB_OK);
                check_order("binary (no distances)", idx, ob, m, threads[t]);
            }
            free(idx), free(score), free(iscore), free(dist);
        }
        free(q), free(rows), free(qi), free(ri), free(qb), free(rb);
        free(kf), free(ki), free(kb), free(sf), free(si), free(sb), free(of), free(oi), free(ob);
    }
}

/* Cosine: the order of q·r / (|q||r|), on the fly or from given norms
 * (the same numbers); a zero row scores 0; NaN rows rank last. */
static void test_topk_cosine_nan(void **state)
{
    (void)state;
    const size_t n = 700, dim = 19, k = n;
    float *q = rand_f32(dim), *rows = rand_f32(n * dim), *norms = xmalloc(n * sizeof *norms);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            rows[i * dim + j] *= (float)(1 + i % 13); /* lengths differ: cosine != dot */
    memset(rows + 5 * dim, 0, dim * sizeof *rows);
    rows[9 * dim + 3] = NAN;
    for (size_t i = 0; i < n; i++) {
        kern_dot_rows_f32(rows + i * dim, rows + i * dim, 1, dim, &norms[i]);
        norms[i] = sqrtf(norms[i]);
    }
    size_t *idx = xmalloc(k * sizeof *idx), *idx2 = xmalloc(k * sizeof *idx2);
    float *s = xmalloc(k * sizeof *s), *s2 = xmalloc(k * sizeof *s2);
    emb_topk_options o;
    emb_topk_options_init(&o);
    o.cosine = 1;
    o.n_threads = 1;
    tu_expect_status(emb_topk_f32(q, rows, n, dim, k, &o, idx, s), EMB_OK);
    double *want = xmalloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) {
        double d = 0, qq = 0, rr = 0;
        for (size_t j = 0; j < dim; j++) {
            d += (double)q[j] * rows[i * dim + j];
            qq += (double)q[j] * q[j];
            rr += (double)rows[i * dim + j] * rows[i * dim + j];
        }
        want[i] = rr > 0 ? d / sqrt(qq * rr) : 0;
    }
    assert_int_equal(idx[n - 1], 9); /* NaN last */
    assert_true(isnan(s[n - 1]));
    for (size_t i = 0; i + 1 < n; i++) {
        assert_true(fabs(s[i] - want[idx[i]]) < 1e-5);
        assert_true(i + 2 == n || s[i] >= s[i + 1]);
        if (idx[i] == 5)
            assert_true(s[i] == 0.0f);
    }
    o.row_norms = norms;
    o.n_threads = 3;
    tu_expect_status(emb_topk_f32(q, rows, n, dim, k, &o, idx2, s2), EMB_OK);
    check_order("cosine with norms", idx2, idx, k, 3);
    for (size_t i = 0; i + 1 < n; i++)
        assert_true(s2[i] == s[i]);
    free(q), free(rows), free(norms), free(idx), free(idx2), free(s), free(s2), free(want);
}

static void test_topk_arguments(void **state)
{
    (void)state;
    float q[4] = {1, 2, 3, 4}, rows[8] = {0};
    int8_t qi[4] = {0}, ri[8] = {0};
    uint8_t qb[4] = {0}, rb[8] = {0};
    size_t idx[4] = {99, 99, 99, 99};
    float s[4];
    emb_topk_options o;
    emb_topk_options_init(&o);
    /* nothing to do: OK, nothing written, NULLs allowed */
    tu_expect_status(emb_topk_f32(q, rows, 2, 4, 0, NULL, NULL, NULL), EMB_OK);
    tu_expect_status(emb_topk_f32(q, NULL, 0, 4, 3, NULL, idx, s), EMB_OK);
    assert_int_equal(idx[0], 99);
    /* ties everywhere: lower rows first; k > n writes n */
    tu_expect_status(emb_topk_f32(q, rows, 2, 4, 4, NULL, idx, s), EMB_OK);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 99);
    tu_expect_status(emb_topk_f32(NULL, rows, 2, 4, 1, NULL, idx, s), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_f32(q, NULL, 2, 4, 1, NULL, idx, s), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_f32(q, rows, 2, 4, 1, NULL, NULL, s), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_f32(q, rows, 2, 0, 1, NULL, idx, s), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_f32(q, rows, SIZE_MAX / 2, 4, 1, NULL, idx, s),
                  EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_i8(qi, ri, 1, 65537, 1, NULL, idx, NULL), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_i8(NULL, ri, 2, 4, 1, NULL, idx, NULL), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_binary(qb, rb, 2, 0, 1, NULL, idx, NULL), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_topk_binary(qb, NULL, 2, 4, 1, NULL, idx, NULL), EMB_ERR_INVALID_ARGUMENT);
    o.n_threads = -1;
    tu_expect_status(emb_topk_f32(q, rows, 2, 4, 1, &o, idx, s), EMB_ERR_INVALID_ARGUMENT);
    o.n_threads = 1025;
    tu_expect_status(emb_topk_i8(qi, ri, 2, 4, 1, &o, idx, NULL), EMB_ERR_INVALID_ARGUMENT);
    emb_topk_options bad;
    memset(&bad, 0, sizeof bad); /* never initialized */
    tu_expect_status(emb_topk_binary(qb, rb, 2, 4, 1, &bad, idx, NULL), EMB_ERR_INVALID_ARGUMENT);
    /* n_threads 0: the default count */
    o.n_threads = 0;
    tu_expect_status(emb_topk_binary(qb, rb, 2, 4, 1, &o, idx, NULL), EMB_OK);
    assert_int_equal(idx[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_paths),
        cmocka_unit_test(test_score_i8_extremes),
        cmocka_unit_test(test_topk_vs_brute),
        cmocka_unit_test(test_topk_cosine_nan),
        cmocka_unit_test(test_topk_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
