/* End-to-end golden tests through the public API: convert each fixture
 * folder, then for every golden case check the token ids (exact) and the
 * vector (max abs 1e-4), one text at a time and all texts in one call; the
 * batched vectors must equal the single ones bitwise, with 1 and 2 threads.
 * bf16 compute and int8 model files: cosine >= 0.999 to the fp32 vectors,
 * still bitwise the same in any batch and with any thread count. The same
 * holds for the real checkpoints that `make models` fetches, against
 * sentence-transformers' vectors (scripts/make_real_goldens.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "testutil.h"

typedef struct golden_model {
    const char *dir;
    const char *pooling;   /* convert overrides, NULL = from the folder */
    const char *template_;
    int normalize;
    const char *golden;    /* cases file; NULL = <dir>/golden/cases.jsonl */
    int real;              /* a real checkpoint fetched by `make models` */
    int strip;             /* emb_convert_options.strip: 1 for goldens whose inputs
                              were str.strip()-ed (as sentence-transformers up to 5.3) */
} golden_model;

static emb_model *open_with_threads(const char *path, int threads)
{
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = threads;
    emb_model *m = NULL;
    emb_status st = emb_model_open(path, &oo, &m);
    if (st != EMB_OK) {
        print_error("open %s: %s\n", path, emb_last_error());
        fail();
    }
    return m;
}

/* All texts of each kind in one emb_encode call on m: each vector bitwise
 * equal to its one-at-a-time vector in single[n, dim] (label names the
 * comparison in a failure). */
static void check_batched(emb_model *m, const emb_text *texts, const emb_kind *kinds,
                          const float *single, size_t n, size_t dim, const char *label)
{
    float *batch = calloc(n * dim, sizeof *batch);
    emb_text *group = calloc(n, sizeof *group);
    size_t *where = calloc(n, sizeof *where);
    assert_non_null(batch && group && where);
    for (int k = 0; k < 3; k++) {
        size_t ng = 0;
        for (size_t i = 0; i < n; i++)
            if ((int)kinds[i] == k) {
                group[ng] = texts[i];
                where[ng++] = i;
            }
        if (!ng)
            continue;
        emb_encode_options eo;
        emb_encode_options_init(&eo);
        eo.kind = (emb_kind)k;
        assert_int_equal(emb_encode(m, group, ng, &eo, batch), EMB_OK);
        for (size_t j = 0; j < ng; j++)
            if (memcmp(batch + j * dim, single + where[j] * dim, dim * sizeof *batch) != 0) {
                char what[200];
                snprintf(what, sizeof what, "%s, case %zu", label, where[j]);
                tu_assert_close(batch + j * dim, single + where[j] * dim, dim, 0.0, what);
            }
    }
    free(batch), free(group), free(where);
}

/* The n texts encoded one at a time on m: [n, dim] vectors (free them). */
static float *encode_each(emb_model *m, const emb_text *texts, const emb_kind *kinds, size_t n,
                          size_t dim)
{
    float *one = calloc(n * dim, sizeof *one);
    assert_non_null(one);
    for (size_t i = 0; i < n; i++) {
        emb_encode_options eo;
        emb_encode_options_init(&eo);
        eo.kind = kinds[i];
        assert_int_equal(emb_encode(m, &texts[i], 1, &eo, one + i * dim), EMB_OK);
    }
    return one;
}

/* Cosine of each of the n vectors in got[n, dim] to its fp32 one in
 * single[n, dim]: fails below 0.999, returns the worst. */
static double check_cosines(const char *dir, const char *what, const float *got,
                            const float *single, size_t n, size_t dim)
{
    double worst = 1.0;
    for (size_t i = 0; i < n; i++) {
        float c = 0;
        assert_int_equal(emb_cosine(got + i * dim, single + i * dim, dim, &c), EMB_OK);
        if ((double)c < worst)
            worst = (double)c;
        if (c < 0.999f) {
            print_error("%s case %zu: %s vector has cosine %.6f to fp32 (need >= 0.999)\n", dir,
                        i, what, (double)c);
            fail();
        }
    }
    return worst;
}

/* EMB_COMPUTE_BF16: every golden text's vector within cosine 0.999 of the
 * fp32 one (`single`), one text at a time on 2 threads (one pass split over
 * both) and bitwise equal to the same texts in one call (a pass per thread);
 * on a CPU without AVX512_BF16 the open fails with EMB_ERR_UNSUPPORTED. */
static void check_bf16(const char *dir, const char *path, const emb_text *texts,
                       const emb_kind *kinds, const float *single, size_t n, size_t dim)
{
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = 2;
    oo.compute = EMB_COMPUTE_BF16;
    emb_model *m = NULL;
    oo.compute = (emb_compute)7; /* unknown: refused whatever the CPU */
    assert_int_equal(emb_model_open(path, &oo, &m), EMB_ERR_INVALID_ARGUMENT);
    assert_null(m);
    oo.compute = EMB_COMPUTE_BF16;
    emb_status st = emb_model_open(path, &oo, &m);
    if (!rt_cpu_features()->avx512_bf16) {
        assert_int_equal(st, EMB_ERR_UNSUPPORTED);
        assert_null(m);
        return;
    }
    if (st != EMB_OK) {
        print_error("open %s with bf16 compute: %s\n", path, emb_last_error());
        fail();
    }
    float *one = encode_each(m, texts, kinds, n, dim);
    double worst = check_cosines(dir, "bf16", one, single, n, dim);
    char label[160];
    snprintf(label, sizeof label, "%s bf16 batch vs single", dir);
    check_batched(m, texts, kinds, one, n, dim, label);
    printf("# %s: bf16 compute, worst cosine to fp32 %.6f\n", dir, worst);
    free(one);
    emb_model_close(m);
}

/* The folder converted with EMB_DTYPE_INT8 (Linear weights int8, format
 * 1.2): every golden text's vector within cosine 0.999 of the fp32 one,
 * one text at a time on 2 threads, bitwise equal to the same texts in one
 * call and to a 1-thread model's. Decoders (last-token vectors at cosine
 * 0.9984-0.9989) are refused with EMB_ERR_UNSUPPORTED, leaving no file. */
static void check_int8(const golden_model *g, const char *tmp, const emb_model *fp32,
                       const emb_text *texts,
                       const emb_kind *kinds, const float *single, size_t n, size_t dim)
{
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.pooling = g->pooling;
    co.template_ = g->template_;
    co.normalize = g->normalize;
    co.strip = g->strip;
    co.dtype = EMB_DTYPE_INT8;
    const char *arch = emb_model_meta(fp32, "architecture");
    if (!strcmp(arch, "llama") || !strcmp(arch, "mistral") || !strcmp(arch, "qwen2") ||
        !strcmp(arch, "qwen3") || !strcmp(arch, "gemma3_text")) { /* the decoder graph's;
                                                                    every encoder takes int8 */
        char out[1024];
        snprintf(out, sizeof out, "%s/refused-int8.h5", tmp);
        assert_int_equal(emb_convert(g->dir, out, &co), EMB_ERR_UNSUPPORTED);
        assert_non_null(strstr(emb_last_error(), "--dtype int8 is for encoders"));
        assert_int_equal(access(out, F_OK), -1);
        return;
    }
    char *path = tu_convert(g->dir, tmp, "model-int8.h5", &co);
    emb_model *m = open_with_threads(path, 2);
    assert_string_equal(emb_model_meta(m, "weights_dtype"), "int8");
    /* the fp32 file's version when the model has what a 1.2 reader would get
     * wrong (1.3: Dense, new or several pooling modes, include_prompt false;
     * 1.5: ModernBERT's local layers), else 1.2 (int8 with outliers) */
    const char *fp32_version = emb_model_meta(fp32, "format_version");
    assert_string_equal(emb_model_meta(m, "format_version"),
                        strcmp(fp32_version, "1.2") > 0 ? fp32_version : "1.2");
    float *one = encode_each(m, texts, kinds, n, dim);
    double worst = check_cosines(g->dir, "int8", one, single, n, dim);
    char label[160];
    snprintf(label, sizeof label, "%s int8 batch vs single", g->dir);
    check_batched(m, texts, kinds, one, n, dim, label);
    emb_model *m1 = open_with_threads(path, 1);
    snprintf(label, sizeof label, "%s int8 1 thread vs 2", g->dir);
    check_batched(m1, texts, kinds, one, n, dim, label);
    printf("# %s: int8 weights, worst cosine to fp32 %.6f\n", g->dir, worst);
    emb_model_close(m1);
    emb_model_close(m);
    free(one);
    free(path);
}

static void check_model(const golden_model *g)
{
    if (g->real && !tu_real_model_present(g->dir))
        return; /* skipped (EMB_OFFLINE=1) or failed, with a message */
    char *tmp = tu_tmpdir();
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.pooling = g->pooling;
    co.template_ = g->template_;
    co.normalize = g->normalize;
    co.strip = g->strip;
    char *path = tu_convert(g->dir, tmp, "model.h5", &co);
    emb_model *m = open_with_threads(path, 1);
    size_t dim = emb_model_dim(m);
    assert_true(dim > 0);
    /* the converter's default follows sentence-transformers 5.4+: no strip */
    assert_string_equal(emb_model_meta(m, "strip"), g->strip == 1 ? "true" : "false");

    char golden[512];
    if (g->golden)
        snprintf(golden, sizeof golden, "%s", g->golden);
    else
        snprintf(golden, sizeof golden, "%s/golden/cases.jsonl", g->dir);
    json_t *cases = tu_read_jsonl(golden);
    size_t n = json_array_size(cases);
    assert_true(n > 0);

    emb_text *texts = calloc(n, sizeof *texts);
    emb_kind *kinds = calloc(n, sizeof *kinds);
    float *single = calloc(n * dim, sizeof *single);
    float *expected = calloc(dim, sizeof *expected);
    int32_t *ids = calloc(4096, sizeof *ids);
    int32_t *want_ids = calloc(4096, sizeof *want_ids);
    assert_non_null(texts && kinds && single && expected && ids && want_ids);

    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cases, i);
        json_t *text = json_object_get(c, "text");
        texts[i].data = json_string_value(text);
        texts[i].len = json_string_length(text);
        kinds[i] = tu_golden_kind(json_string_value(json_object_get(c, "kind")));
        char label[160];
        snprintf(label, sizeof label, "%s case %zu (%.40s)", g->dir, i, texts[i].data);

        /* ids of the model's input string, as emb_encode builds it */
        emb_tokenize_options to;
        emb_tokenize_options_init(&to);
        to.apply_prompt = 1;
        to.kind = kinds[i];
        to.truncate = 1;
        size_t n_ids = 0;
        emb_status st = emb_tokenize(m, texts[i].data, texts[i].len, &to, ids, 4096, &n_ids);
        assert_int_equal(st, EMB_OK);
        size_t n_want = tu_json_ints(json_object_get(c, "ids"), want_ids, 4096);
        if (n_ids != n_want || memcmp(ids, want_ids, n_ids * sizeof *ids) != 0) {
            size_t k = 0;
            while (k < n_ids && k < n_want && ids[k] == want_ids[k])
                k++;
            print_error("%s: ids differ at index %zu (got %zu ids, expected %zu)\n", label, k,
                        n_ids, n_want);
            fail();
        }

        emb_encode_options eo;
        emb_encode_options_init(&eo);
        eo.kind = kinds[i];
        st = emb_encode(m, &texts[i], 1, &eo, single + i * dim);
        if (st != EMB_OK) {
            print_error("%s: %s\n", label, emb_last_error());
            fail();
        }
        size_t nd = tu_json_floats(json_object_get(c, "vector"), expected, dim);
        assert_int_equal(nd, dim);
        double d = tu_assert_close(single + i * dim, expected, dim, 1e-4, label);
        if (d > worst)
            worst = d;
    }
    printf("# %s: %zu cases, worst max-abs diff %.3g\n", g->dir, n, worst);

    /* all texts of one kind in one call, with 1 and 2 threads: bitwise equal */
    for (int threads = 1; threads <= 2; threads++) {
        emb_model *mt = threads == 1 ? m : open_with_threads(path, threads);
        char label[160];
        snprintf(label, sizeof label, "%s batch vs single, %d threads", g->dir, threads);
        check_batched(mt, texts, kinds, single, n, dim, label);
        if (mt != m)
            emb_model_close(mt);
    }
    check_bf16(g->dir, path, texts, kinds, single, n, dim);
    check_int8(g, tmp, m, texts, kinds, single, n, dim);

    free(texts);
    free(kinds);
    free(single);
    free(expected);
    free(ids);
    free(want_ids);
    json_decref(cases);
    emb_model_close(m);
    free(path);
    tu_rmtree(tmp);
    free(tmp);
}

/* One cmocka test per fixture family; the table's entry is the test state. */
static void test_model(void **state)
{
    check_model(*state);
}

#define GOLDEN(name, dir, pooling, template_, normalize, strip)                           \
    {                                                                                       \
        name, test_model, NULL, NULL,                                                       \
            &(golden_model){ dir, pooling, template_, normalize, NULL, 0, strip }           \
    }
/* the fixtures' goldens encode (prompt + text).strip() (their README.md):
 * converted with strip 1, as sentence-transformers up to 5.3 */
#define FIXTURE(name) GOLDEN(name, "tests/fixtures/models/" name, NULL, NULL, -1, 1)
/* roberta-st's texts with surrounding whitespace (byte-level BPE: the spaces
 * are tokens), as sentence-transformers 6.3 encodes them (the converter's
 * default strip -1), and str.strip()-ed as up to 5.3 (strip 1) */
#define WHITESPACE(name, file, strip)                                                      \
    {                                                                                       \
        name, test_model, NULL, NULL,                                                       \
            &(golden_model){ "tests/fixtures/models/roberta-st", NULL, NULL, -1,            \
                             "tests/fixtures/models/roberta-st/golden/" file, 0, strip }   \
    }
/* a real checkpoint (models/real-models.json), against the reference vectors
 * of scripts/make_real_goldens.py */
#define REAL(name)                                                                        \
    {                                                                                     \
        "real " name, test_model, NULL, NULL,                                             \
            &(golden_model){ "models/" name, NULL, NULL, -1,                              \
                             "tests/fixtures/real/" name ".cases.jsonl", 1, -1 }          \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE("bert-e5"),
        FIXTURE("bert-e5-f16"),
        FIXTURE("bge-cls"),
        /* sentence-transformers modules: max pooling and two Dense modules;
         * four pooling modes concatenated with include_prompt false */
        FIXTURE("bert-dense"),
        FIXTURE("bert-noprompt"),
        GOLDEN("wordnet-mini", "models/wordnet-mini", NULL, NULL, -1, -1),
        FIXTURE("xlmr-me5"),
        FIXTURE("mpnet-st"),
        FIXTURE("roberta-st"),
        WHITESPACE("roberta-st whitespace as is (default)", "whitespace.jsonl", -1),
        WHITESPACE("roberta-st whitespace stripped (strip 1)", "whitespace-strip.jsonl", 1),
        FIXTURE("camembert-st"),
        FIXTURE("distilbert-st"),
        FIXTURE("nomic-st"),
        FIXTURE("gte-new"),
        FIXTURE("gte-en"),
        FIXTURE("gemma-st"),
        FIXTURE("modernbert-st"),
        FIXTURE("mistral-e5"),
        FIXTURE("qwen2-gte"),
        FIXTURE("qwen3-emb"),
        FIXTURE("qwen3-emb-bf16"),
        /* a raw causal LM used as an embedder: the recipe lives in the overrides */
        GOLDEN("mistral-lm", "tests/fixtures/models/mistral-lm", "lasttoken-logits",
               "[INST] {text} [/INST]", 0, -1),
        REAL("all-MiniLM-L6-v2"),
        REAL("all-mpnet-base-v2"),
    };
    return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
