/* Header-only helpers shared by the model golden tests (test_bert.c,
 * test_decoder.c, test_xlmr.c, test_<family>.c): load an HF fixture folder straight into
 * model/ (cv_read_config + safetensors up-converted to f32, names without the
 * "bert." / "roberta." / "distilbert." / "model." prefix), run golden/cases.jsonl, and check
 * determinism. Static functions: each test program includes it once. */
#ifndef EMB_MODEL_GOLDEN_H
#define EMB_MODEL_GOLDEN_H

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "model/model.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"
#include "testutil.h"

typedef struct mg_model {
    mdl_config cfg;
    fmt_policy pol;
    cv_weights cw;
    mdl_tensor *t;
    mdl_weights w;
    mdl_model *m;
    size_t dim;
} mg_model;

/* Load tests/fixtures/models/<name>; pooling >= 0 and normalize >= 0
 * override the folder's (raw LM folders). */
static void mg_load(mg_model *g, const char *name, int pooling, int normalize)
{
    char dir[512];
    snprintf(dir, sizeof dir, "tests/fixtures/models/%s", name);
    memset(g, 0, sizeof *g);
    emb_status st = cv_read_config(dir, &g->cfg, &g->pol);
    if (st != EMB_OK) {
        print_error("cv_read_config(%s): %s\n", dir, rt_last_error());
        fail();
    }
    if (pooling >= 0)
        g->cfg.pooling = (mdl_pooling)pooling;
    if (normalize >= 0)
        g->cfg.normalize = normalize;
    st = cv_weights_open_dir(&g->cw, dir);
    if (st == EMB_OK) /* the sentence-transformers Dense modules' tensors, if any */
        st = cv_read_dense_weights(dir, &g->cw);
    if (st != EMB_OK) {
        print_error("cv_weights_open_dir(%s): %s\n", dir, rt_last_error());
        fail();
    }
    g->t = calloc(g->cw.n, sizeof *g->t);
    assert_non_null(g->t);
    for (size_t i = 0; i < g->cw.n; i++) {
        const cv_tensor *c = &g->cw.t[i];
        mdl_tensor *t = &g->t[i];
        t->name = fmt_strip_prefix(c->name); /* as the converter */
        t->ndim = c->ndim;
        size_t count = 1;
        for (int d = 0; d < c->ndim && d < 4; d++) {
            t->shape[d] = c->shape[d];
            count *= (size_t)c->shape[d];
        }
        if (!c->is_weight)
            continue;
        float *data = malloc((count ? count : 1) * sizeof *data);
        assert_non_null(data);
        assert_int_equal(cv_tensor_to_f32(c, data), EMB_OK);
        t->data = data;
    }
    g->w.n = g->cw.n;
    g->w.t = g->t;
    /* the converter's use: shapes only */
    mdl_tensor *shapes = calloc(g->cw.n, sizeof *shapes);
    assert_non_null(shapes);
    for (size_t i = 0; i < g->cw.n; i++) {
        shapes[i] = g->t[i];
        shapes[i].data = NULL;
    }
    mdl_weights sw = {g->cw.n, shapes};
    st = mdl_check_weights(&g->cfg, &sw);
    if (st != EMB_OK) {
        print_error("mdl_check_weights(%s): %s\n", name, rt_last_error());
        fail();
    }
    free(shapes);
    st = mdl_create(&g->cfg, &g->w, &g->m);
    if (st != EMB_OK) {
        print_error("mdl_create(%s): %s\n", name, rt_last_error());
        fail();
    }
    g->dim = mdl_output_dim(&g->cfg);
}

/* Recreate g->m with the 2-D f16/bf16 tensors read in their stored type
 * (as the model file reader leaves them: widened by the kernels as they go)
 * instead of f32 copies; a no-op change for an f32 checkpoint. */
static void mg_recreate_stored(mg_model *g)
{
    mdl_free(g->m);
    g->m = NULL;
    for (size_t i = 0; i < g->cw.n; i++) {
        const cv_tensor *c = &g->cw.t[i];
        mdl_tensor *t = &g->t[i];
        if (c->ndim != 2 || (c->dtype != KERN_W_F16 && c->dtype != KERN_W_BF16) ||
            t->dtype != KERN_W_F32)
            continue;
        free((void *)t->data);
        t->data = c->data;
        t->dtype = c->dtype;
    }
    emb_status st = mdl_create(&g->cfg, &g->w, &g->m);
    if (st != EMB_OK) {
        print_error("mdl_create(stored types): %s\n", rt_last_error());
        fail();
    }
}

static void mg_free(mg_model *g)
{
    mdl_free(g->m);
    for (size_t i = 0; i < g->w.n; i++)
        if (g->t[i].dtype == KERN_W_F32) /* the others point into the checkpoint */
            free((void *)g->t[i].data);
    free(g->t);
    cv_weights_close(&g->cw);
    fmt_policy_free(&g->pol);
}

/* Encode every case of golden/cases.jsonl and compare within tol; prints the
 * worst element over all cases. Returns the worst difference. */
static double mg_run_cases(mg_model *g, const char *name, double tol)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/models/%s/golden/cases.jsonl", name);
    json_t *cases = tu_read_jsonl(path);
    size_t nc = json_array_size(cases);
    assert_true(nc > 0);
    float *got = malloc(g->dim * sizeof *got), *want = malloc(g->dim * sizeof *want);
    double worst = 0.0;
    size_t worst_case = 0;
    for (size_t c = 0; c < nc; c++) {
        json_t *obj = json_array_get(cases, c);
        json_t *jids = json_object_get(obj, "ids");
        size_t n = json_array_size(jids);
        int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        tu_json_ints(jids, ids, n);
        assert_int_equal(tu_json_floats(json_object_get(obj, "vector"), want, g->dim), g->dim);
        emb_status st = mdl_encode(g->m, ids, n, got);
        if (st != EMB_OK) {
            print_error("%s case %zu: mdl_encode: %s\n", name, c, rt_last_error());
            fail();
        }
        char label[256];
        snprintf(label, sizeof label, "%s case %zu (%zu tokens, \"%.60s\")", name, c, n,
                 json_string_value(json_object_get(obj, "text")));
        double d = tu_assert_close(got, want, g->dim, tol, label);
        if (d > worst)
            worst = d, worst_case = c;
        free(ids);
    }
    print_message("%s: %zu cases, worst max-abs diff %.3g (case %zu)\n", name, nc, worst, worst_case);
    free(got), free(want);
    json_decref(cases);
    return worst;
}

/* A sequence's vector is bitwise the same encoded alone, twice, and after
 * other (longer and shorter) sequences. */
static void mg_check_deterministic(mg_model *g, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/models/%s/golden/cases.jsonl", name);
    json_t *cases = tu_read_jsonl(path);
    size_t nc = json_array_size(cases);
    float *first = malloc(nc * g->dim * sizeof *first), *again = malloc(g->dim * sizeof *again);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < nc; i++) {
            size_t c = pass == 0 ? i : nc - 1 - i; /* second pass in reverse order */
            json_t *jids = json_object_get(json_array_get(cases, c), "ids");
            size_t n = json_array_size(jids);
            int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
            tu_json_ints(jids, ids, n);
            float *dst = pass == 0 ? first + c * g->dim : again;
            assert_int_equal(mdl_encode(g->m, ids, n, dst), EMB_OK);
            if (pass == 1 && memcmp(again, first + c * g->dim, g->dim * sizeof *again) != 0) {
                size_t j = 0;
                while (j < g->dim && again[j] == first[c * g->dim + j])
                    j++;
                print_error("%s case %zu: not bitwise reproducible, first difference at %zu: %.9g vs %.9g\n",
                            name, c, j, (double)again[j], (double)first[c * g->dim + j]);
                fail();
            }
            free(ids);
        }
    free(first), free(again);
    json_decref(cases);
}

/* Several threads encoding different sequences of one shared model at once
 * give bitwise the vectors of a sequential run (the model is read-only during
 * mdl_encode, and nothing depends on the thread). */
typedef struct mg_job {
    const mdl_model *m;
    json_t *cases;
    size_t dim;
    float *out;
    int failed;
} mg_job;

static void mg_job_run(void *arg, size_t c)
{
    mg_job *job = arg;
    json_t *jids = json_object_get(json_array_get(job->cases, c), "ids");
    size_t n = json_array_size(jids);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(jids, i));
    if (mdl_encode(job->m, ids, n, job->out + c * job->dim) != EMB_OK)
        job->failed = 1;
    free(ids);
}

static void mg_check_threads(mg_model *g, const char *name, int threads)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/models/%s/golden/cases.jsonl", name);
    mg_job seq = {g->m, tu_read_jsonl(path), g->dim, NULL, 0};
    size_t nc = json_array_size(seq.cases);
    seq.out = malloc(nc * g->dim * sizeof *seq.out);
    mg_job par = seq;
    par.out = malloc(nc * g->dim * sizeof *par.out);
    for (size_t c = 0; c < nc; c++)
        mg_job_run(&seq, c);
    assert_int_equal(rt_parallel_for(threads, nc, mg_job_run, &par), 0);
    assert_false(seq.failed || par.failed);
    for (size_t c = 0; c < nc; c++)
        if (memcmp(seq.out + c * g->dim, par.out + c * g->dim, g->dim * sizeof *seq.out) != 0) {
            print_error("%s case %zu: differs when encoded on %d threads\n", name, c, threads);
            fail();
        }
    free(seq.out), free(par.out);
    json_decref(seq.cases);
}

/* One sequence's forward pass split over 2, 3 and 4 threads, and over budgets
 * at and past RT_MAX_THREADS up to INT_MAX (mdl_encode_threads: GEMMs over
 * output panels, attention over heads) gives bitwise the single-thread vector, also with two such passes running at once
 * (they share the runtime's pool). */
typedef struct mg_inner_job {
    const mdl_model *m;
    const int32_t *ids;
    size_t n, dim;
    float *out;
    int failed;
} mg_inner_job;

static void mg_inner_run(void *arg, size_t i)
{
    mg_inner_job *job = arg;
    if (mdl_encode_threads(job->m, job->ids, job->n, 2, job->out + i * job->dim) != EMB_OK)
        job->failed = 1;
}

static void mg_inner_same(const char *name, size_t c, const char *how, const float *a,
                          const float *b, size_t dim)
{
    if (memcmp(a, b, dim * sizeof *a) == 0)
        return;
    size_t j = 0;
    while (j < dim && a[j] == b[j])
        j++;
    print_error("%s case %zu: %s differs from one thread, first at %zu: %.9g vs %.9g\n", name, c,
                how, j, (double)b[j], (double)a[j]);
    fail();
}

static void mg_check_inner_threads(mg_model *g, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/models/%s/golden/cases.jsonl", name);
    json_t *cases = tu_read_jsonl(path);
    size_t nc = json_array_size(cases);
    assert_true(nc > 0);
    float *one = malloc(g->dim * sizeof *one), *many = malloc(2 * g->dim * sizeof *many);
    for (size_t c = 0; c < nc; c++) {
        json_t *jids = json_object_get(json_array_get(cases, c), "ids");
        size_t n = json_array_size(jids);
        int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        tu_json_ints(jids, ids, n);
        assert_int_equal(mdl_encode_threads(g->m, ids, n, 1, one), EMB_OK);
        /* and any budget past the one cap (RT_MAX_THREADS) is that cap:
         * the same vector, nothing sized by the asked count */
        static const int budgets[] = { 2, 3, 4, RT_MAX_THREADS, RT_MAX_THREADS + 1, INT_MAX };
        for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
            char how[32];
            snprintf(how, sizeof how, "%d threads", budgets[b]);
            assert_int_equal(mdl_encode_threads(g->m, ids, n, budgets[b], many), EMB_OK);
            mg_inner_same(name, c, how, one, many, g->dim);
        }
        mg_inner_job job = { g->m, ids, n, g->dim, many, 0 };
        assert_int_equal(rt_parallel_for(2, 2, mg_inner_run, &job), 0);
        assert_false(job.failed);
        mg_inner_same(name, c, "2 passes of 2 threads at once (first)", one, many, g->dim);
        mg_inner_same(name, c, "2 passes of 2 threads at once (second)", one, many + g->dim, g->dim);
        free(ids);
    }
    free(one), free(many);
    json_decref(cases);
}

/* bf16 compute (mdl_create_compute): every case within cosine 0.999 of the
 * fp32 vector of g->m, and bitwise the same with 1 and 2 threads per pass
 * and when encoded again; without AVX512_BF16, the documented
 * EMB_ERR_UNSUPPORTED. */
static void mg_check_bf16(mg_model *g, const char *name)
{
    mdl_model *b = NULL;
    emb_status st = mdl_create_compute(&g->cfg, &g->w, MDL_COMPUTE_BF16, &b);
    if (!rt_cpu_features()->avx512_bf16) {
        assert_int_equal(st, EMB_ERR_UNSUPPORTED);
        assert_null(b);
        return;
    }
    if (st != EMB_OK) {
        print_error("%s: mdl_create_compute(bf16): %s\n", name, rt_last_error());
        fail();
    }
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/models/%s/golden/cases.jsonl", name);
    json_t *cases = tu_read_jsonl(path);
    size_t nc = json_array_size(cases);
    assert_true(nc > 0);
    float *f = malloc(g->dim * sizeof *f), *v = malloc(g->dim * sizeof *v);
    float *v2 = malloc(g->dim * sizeof *v2);
    double worst = 1.0;
    size_t worst_c = 0, differ = 0;
    for (size_t c = 0; c < nc; c++) {
        json_t *jids = json_object_get(json_array_get(cases, c), "ids");
        size_t n = json_array_size(jids);
        int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        tu_json_ints(jids, ids, n);
        assert_int_equal(mdl_encode(g->m, ids, n, f), EMB_OK);
        assert_int_equal(mdl_encode(b, ids, n, v), EMB_OK);
        double dot = 0, nf = 0, nv = 0;
        for (size_t i = 0; i < g->dim; i++) {
            dot += (double)f[i] * v[i];
            nf += (double)f[i] * f[i];
            nv += (double)v[i] * v[i];
        }
        double cosv = dot / (sqrt(nf * nv) + 1e-30);
        differ += memcmp(f, v, g->dim * sizeof *f) != 0;
        if (cosv < worst)
            worst = cosv, worst_c = c;
        assert_int_equal(mdl_encode_threads(b, ids, n, 2, v2), EMB_OK);
        mg_inner_same(name, c, "bf16 with 2 threads", v, v2, g->dim);
        assert_int_equal(mdl_encode(b, ids, n, v2), EMB_OK);
        mg_inner_same(name, c, "bf16 encoded again", v, v2, g->dim);
        free(ids);
    }
    if (worst < 0.999) {
        print_error("%s: bf16 compute, case %zu has cosine %.6f to fp32 (need >= 0.999)\n", name,
                    worst_c, worst);
        fail();
    }
    assert_true(differ > 0); /* the bf16 path really ran */
    if (getenv("EMB_TEST_VERBOSE"))
        fprintf(stderr, "%s: bf16 worst cosine %.6f (case %zu)\n", name, worst, worst_c);
    free(f), free(v), free(v2);
    json_decref(cases);
    mdl_free(b);
}

/* The whole golden check of a loaded fixture: its cases within 1e-4,
 * determinism, 3 threads, threads within a pass and bf16 compute, then the
 * cases again with the 16-bit tensors read as stored, within a pass
 * threaded, and bf16 compute. */
static void mg_check_all(mg_model *g, const char *name)
{
    mg_run_cases(g, name, 1e-4);
    mg_check_deterministic(g, name);
    mg_check_threads(g, name, 3);
    mg_check_inner_threads(g, name);
    mg_check_bf16(g, name);
    mg_recreate_stored(g); /* 16-bit weights read as stored */
    mg_run_cases(g, name, 1e-4);
    mg_check_inner_threads(g, name);
    mg_check_bf16(g, name);
}

/* One fixture's golden test as a row of a test table (the cmocka state of
 * mg_fixture_test; MG_FIXTURE makes the row): the fixture, the
 * architecture its config must read as, and the test's own asserts on the
 * loaded config and policy (NULL: none). */
typedef struct mg_fixture {
    const char *name;                  /* tests/fixtures/models/<name> */
    const char *arch;                  /* cfg.arch */
    void (*expect)(const mg_model *g); /* further asserts, or NULL */
} mg_fixture;

/* Load the fixture, check its architecture and expect(), then the whole
 * golden check (mg_check_all). (inline: not every test program has a
 * table) */
static inline void mg_fixture_test(void **state)
{
    const mg_fixture *f = *state;
    mg_model g;
    mg_load(&g, f->name, -1, -1);
    assert_string_equal(g.cfg.arch, f->arch);
    if (f->expect)
        f->expect(&g);
    mg_check_all(&g, f->name);
    mg_free(&g);
}

/* The config's sizes as the fixture's config.json gives them (DistilBERT's
 * and the rotary encoders' own key names read right). (inline: only some
 * test programs call it) */
static inline void mg_expect_sizes(const mg_model *g, int64_t hidden, int64_t layers,
                                   int64_t intermediate, int64_t vocab_size,
                                   int64_t type_vocab_size)
{
    assert_int_equal(g->cfg.hidden, hidden);
    assert_int_equal(g->cfg.layers, layers);
    assert_int_equal(g->cfg.intermediate, intermediate);
    assert_int_equal(g->cfg.vocab_size, vocab_size);
    assert_int_equal(g->cfg.type_vocab_size, type_vocab_size);
}

/* The cmocka test of fixture `name` (a string literal): mg_fixture_test
 * with its row as the state. */
#define MG_FIXTURE(name, arch, expect)                                                     \
    { name, mg_fixture_test, NULL, NULL, &(mg_fixture){ name, arch, expect } }

/* A copy of g's tensor list in *w (free w->t), and the copy of tensor
 * `name` in it, to alter without touching g. (inline: not every test
 * program calls it) */
static inline mdl_tensor *mg_tensor_copy(mg_model *g, const char *name, mdl_weights *w)
{
    mdl_tensor *copy = malloc(g->w.n * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, g->t, g->w.n * sizeof *copy);
    w->n = g->w.n;
    w->t = copy;
    mdl_tensor *t = NULL;
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(copy[i].name, name))
            t = &copy[i];
    assert_non_null(t);
    return t;
}

/* The graph reads tensor `name`: encoding ids with it zeroed gives another
 * vector (a model created from a copy of g's tensors). (inline: not every
 * test program calls it) */
static inline void mg_check_tensor_used(mg_model *g, const char *name, const int32_t *ids, size_t n)
{
    mdl_weights w;
    mdl_tensor *t = mg_tensor_copy(g, name, &w);
    mdl_tensor *copy = (mdl_tensor *)w.t;
    size_t count = 1;
    for (int d = 0; d < t->ndim; d++)
        count *= (size_t)t->shape[d];
    float *zeros = calloc(count, sizeof *zeros);
    float *want = malloc(2 * g->dim * sizeof *want);
    assert_non_null(zeros && want);
    float *got = want + g->dim;
    assert_int_equal(mdl_encode(g->m, ids, n, want), EMB_OK);
    t->data = zeros;
    mdl_model *m = NULL;
    assert_int_equal(mdl_create(&g->cfg, &w, &m), EMB_OK);
    assert_int_equal(mdl_encode(m, ids, n, got), EMB_OK);
    if (!memcmp(want, got, g->dim * sizeof *got))
        fail_msg("%s: zeroing %s leaves the vector unchanged", g->cfg.arch, name);
    mdl_free(m);
    free(want);
    free(zeros);
    free(copy);
}

/* The model's token limit is max_tokens: that many ids (word, word + 1,
 * ... word + 6 repeated) are taken and one more is refused. (inline: only
 * some test programs call it) */
static inline void mg_check_token_limit(mg_model *g, size_t max_tokens, int32_t word)
{
    float *out = malloc(g->dim * sizeof *out);
    int32_t *ids = malloc((max_tokens + 1) * sizeof *ids);
    assert_non_null(out && ids);
    for (size_t i = 0; i <= max_tokens; i++)
        ids[i] = word + (int32_t)(i % 7);
    assert_int_equal(mdl_max_tokens(&g->cfg), max_tokens);
    assert_int_equal(mdl_encode(g->m, ids, max_tokens, out), EMB_OK);
    assert_int_equal(mdl_encode(g->m, ids, max_tokens + 1, out), EMB_ERR_INVALID_ARGUMENT);
    free(ids);
    free(out);
}

/* RoBERTa-style positions (XLM-R, MPNet; padding_idx 1): the token limit
 * (mg_check_token_limit), and a literal pad id 1 takes position padding_idx
 * and does not advance the count, so [0, 1, word, 2] differs from [0, 7,
 * word, 2]. (inline: the other families' test programs do not call it) */
static inline void mg_check_pad_positions(mg_model *g, size_t max_tokens, int32_t word)
{
    float *out = malloc(2 * g->dim * sizeof *out);
    assert_non_null(out);
    mg_check_token_limit(g, max_tokens, word);
    int32_t with_pad[4] = {0, 1, word, 2}, shifted[4] = {0, 7, word, 2};
    assert_int_equal(mdl_encode(g->m, with_pad, 4, out), EMB_OK);
    assert_int_equal(mdl_encode(g->m, shifted, 4, out + g->dim), EMB_OK);
    assert_memory_not_equal(out, out + g->dim, g->dim * sizeof *out);
    free(out);
}

/* A rotary encoder's checks: ids a and b (n each) that differ only in
 * order give different vectors (positions matter without a position
 * table), and a model made from config c over g's weights gives ids a
 * another vector than g's (the setting c changes is read). (inline: only
 * some test programs call them) */
static inline void mg_check_rotary(mg_model *g, const int32_t *a, const int32_t *b, size_t n,
                                   const mdl_config *c)
{
    float *out = malloc(3 * g->dim * sizeof *out);
    assert_non_null(out);
    assert_int_equal(mdl_encode(g->m, a, n, out), EMB_OK);
    assert_int_equal(mdl_encode(g->m, b, n, out + g->dim), EMB_OK);
    assert_memory_not_equal(out, out + g->dim, g->dim * sizeof *out);
    mdl_model *m = NULL;
    assert_int_equal(mdl_config_check(c), EMB_OK);
    assert_int_equal(mdl_create(c, &g->w, &m), EMB_OK);
    assert_int_equal(mdl_encode(m, a, n, out + 2 * g->dim), EMB_OK);
    assert_memory_not_equal(out, out + 2 * g->dim, g->dim * sizeof *out);
    mdl_free(m);
    free(out);
}

/* mg_check_tensor_used, and the tensor is checked by name: shape
 * [d0 + 1, ...] is refused naming it and "expected [<want_shape>]";
 * renamed, it is refused as missing. (inline: only some test programs call
 * it) */
static inline void mg_check_tensor_named(mg_model *g, const char *name, const int32_t *ids,
                                         size_t n, const char *want_shape)
{
    mg_check_tensor_used(g, name, ids, n);
    mdl_weights w;
    mdl_tensor *t = mg_tensor_copy(g, name, &w);
    mdl_tensor *copy = (mdl_tensor *)w.t;
    char msg[256];
    t->shape[0]++;
    assert_int_equal(mdl_check_weights(&g->cfg, &w), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), name));
    snprintf(msg, sizeof msg, "expected [%s]", want_shape);
    assert_non_null(strstr(rt_last_error(), msg));
    t->shape[0]--;
    t->name = "no.such.tensor";
    assert_int_equal(mdl_check_weights(&g->cfg, &w), EMB_ERR_FORMAT);
    snprintf(msg, sizeof msg, "%s is missing", name);
    assert_non_null(strstr(rt_last_error(), msg));
    free(copy);
}

#endif
