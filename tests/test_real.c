/* The real trained checkpoints of models/real-models.json, as `make models`
 * leaves them (models/<name>/ and the converted models/<name>.h5,
 * models/<name>-int8.h5). Vector fidelity of a fresh conversion against
 * sentence-transformers is in test_golden.c; here:
 *  - the tokenizer (read from the folder, and from the converted file through
 *    the public API) gives the ids of the PyPI `tokenizers` package on the
 *    shared corpus and on tests/fixtures/real/texts.jsonl;
 *  - the files `make` wrote give the reference vectors (fp32 within 1e-4,
 *    int8 within cosine 0.999) and report the reference's non-embedding
 *    parameter count;
 *  - search works: on examples/beir-mini the real model puts a relevant
 *    document first for every judged query, and beats the demo model.
 * Without the folders the tests fail, saying how to fetch them, or are
 * skipped with EMB_OFFLINE=1 (tu_real_model_present). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_golden.h"

#define REAL_DIR "tests/fixtures/real"

/* The text a tokens.jsonl line refers to: {"set": "corpus", "key": <index
 * into the shared corpus>} or {"set": "real", "key": <name in texts.jsonl>}. */
static json_t *text_of(json_t *line, json_t *corpus, json_t *real)
{
    const char *set = json_string_value(json_object_get(line, "set"));
    json_t *key = json_object_get(line, "key");
    assert_non_null(set);
    if (!strcmp(set, "corpus"))
        return json_object_get(json_array_get(corpus, (size_t)json_integer_value(key)), "text");
    for (size_t i = 0; i < json_array_size(real); i++) {
        json_t *t = json_array_get(real, i);
        if (json_equal(json_object_get(t, "name"), key))
            return json_object_get(t, "text");
    }
    return NULL;
}

/* Every line of <name>.tokens.jsonl: the folder's tokenizer (tok_encode with
 * specials, no limit) and the converted file's (emb_tokenize, no truncation,
 * no prompt) both give the reference ids. */
static void check_tokens(const char *name)
{
    char dir[256], path[512], h5[512];
    snprintf(dir, sizeof dir, "models/%s", name);
    if (!tu_real_model_present(dir))
        return;
    snprintf(path, sizeof path, REAL_DIR "/%s.tokens.jsonl", name);
    snprintf(h5, sizeof h5, "models/%s.h5", name);
    json_t *lines = tu_read_jsonl(path);
    json_t *corpus = tu_read_jsonl(TG_TEXTS);
    json_t *real = tu_read_jsonl(REAL_DIR "/texts.jsonl");
    assert_int_equal(json_array_size(lines), json_array_size(corpus) + json_array_size(real));

    tok_tokenizer *t = tg_load(dir);
    emb_model *m = NULL;
    if (emb_model_open(h5, NULL, &m) != EMB_OK) {
        print_error("open %s: %s (run `make` to convert the fetched folder)\n", h5, emb_last_error());
        fail();
    }
    emb_tokenize_options to;
    emb_tokenize_options_init(&to);
    to.truncate = 0;
    size_t cap = 1 << 16;
    int32_t *ids = calloc(cap, sizeof *ids);
    assert_non_null(ids);
    tok_ids got = {0};
    int bad = 0;
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_t *line = json_array_get(lines, i);
        json_t *text = text_of(line, corpus, real);
        assert_non_null(text);
        char label[700];
        snprintf(label, sizeof label, "%s line %zu (%.40s)", path, i + 1, json_string_value(text));
        json_t *want = json_object_get(line, "ids");
        assert_int_equal(tok_encode(t, json_string_value(text), json_string_length(text), 1, 0, &got),
                         EMB_OK);
        bad += !tg_same(label, got.ids, got.n, want, NULL);
        size_t n = 0;
        assert_int_equal(emb_tokenize(m, json_string_value(text), json_string_length(text), &to, ids,
                                      cap, &n), EMB_OK);
        strcat(label, " via the .h5");
        bad += !tg_same(label, ids, n, want, NULL);
    }
    printf("# %s: %zu texts, tokenizer ids %s the tokenizers package's\n", name,
           json_array_size(lines), bad ? "DIFFER from" : "equal to");
    free(ids);
    free(got.ids);
    tok_free(t);
    emb_model_close(m);
    json_decref(lines);
    json_decref(corpus);
    json_decref(real);
    assert_int_equal(bad, 0);
}

/* emb_diag_model_params of a converted file (fp32 or int8) is the count
 * sentence-transformers gives (<name>.reference.json "parameters"):
 * transformers' num_parameters(exclude_embeddings=True) less the pooler,
 * which the model file's graph never binds. */
static void check_params(const char *name, const char *path, const emb_model *m)
{
    char ref[512];
    snprintf(ref, sizeof ref, REAL_DIR "/%s.reference.json", name);
    json_error_t err;
    json_t *j = json_load_file(ref, 0, &err);
    if (!j)
        fail_msg("%s: %s", ref, err.text);
    json_t *p = json_object_get(j, "parameters");
    json_int_t want = json_integer_value(json_object_get(p, "non_embedding"));
    assert_true(want > 0);
    uint64_t got = 0;
    assert_int_equal(emb_diag_model_params(m, &got), EMB_OK);
    if (got != (uint64_t)want)
        fail_msg("%s: emb_diag_model_params %llu, sentence-transformers %lld (of %lld in all, "
                 "pooler %lld)", path, (unsigned long long)got, (long long)want,
                 (long long)json_integer_value(json_object_get(p, "total")),
                 (long long)json_integer_value(json_object_get(p, "pooler")));
    json_decref(j);
}

/* models/<name><suffix>.h5 against <name>.cases.jsonl: max-abs within tol,
 * or (tol < 0) cosine >= -tol. */
static void check_file(const char *name, const char *suffix, double tol)
{
    char dir[256], path[512], golden[512];
    snprintf(dir, sizeof dir, "models/%s", name);
    if (!tu_real_model_present(dir))
        return;
    snprintf(path, sizeof path, "models/%s%s.h5", name, suffix);
    snprintf(golden, sizeof golden, REAL_DIR "/%s.cases.jsonl", name);
    emb_model *m = NULL;
    if (emb_model_open(path, NULL, &m) != EMB_OK) {
        print_error("open %s: %s (run `make` to convert the fetched folder)\n", path, emb_last_error());
        fail();
    }
    check_params(name, path, m);
    size_t dim = emb_model_dim(m);
    json_t *cases = tu_read_jsonl(golden);
    float *got = calloc(dim, sizeof *got), *want = calloc(dim, sizeof *want);
    assert_non_null(got && want);
    double worst = tol < 0 ? 1.0 : 0.0;
    size_t worst_i = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        json_t *text = json_object_get(c, "text");
        const char *kind = json_string_value(json_object_get(c, "kind"));
        emb_encode_options eo;
        emb_encode_options_init(&eo);
        eo.kind = tu_golden_kind(kind);
        emb_text t = { json_string_value(text), json_string_length(text) };
        assert_int_equal(emb_encode(m, &t, 1, &eo, got), EMB_OK);
        assert_int_equal(tu_json_floats(json_object_get(c, "vector"), want, dim), dim);
        char label[700];
        snprintf(label, sizeof label, "%s case %zu (%s)", path, i,
                 json_string_value(json_object_get(c, "name")));
        if (tol >= 0) {
            double d = tu_assert_close(got, want, dim, tol, label);
            if (d > worst)
                worst = d, worst_i = i;
            continue;
        }
        float cos = 0;
        assert_int_equal(emb_cosine(got, want, dim, &cos), EMB_OK);
        if ((double)cos < worst)
            worst = (double)cos, worst_i = i;
        if ((double)cos < -tol) {
            print_error("%s: cosine %.6f to the reference (need >= %.4f)\n", label, (double)cos, -tol);
            fail();
        }
    }
    printf("# %s: %zu cases, worst %s %.6g (case %zu)\n", path, json_array_size(cases),
           tol < 0 ? "cosine" : "max-abs diff", worst, worst_i);
    free(got);
    free(want);
    json_decref(cases);
    emb_model_close(m);
}

/* `emb eval --json` of one model file on examples/beir-mini: the parsed
 * object (caller json_decref's). */
static json_t *eval_beir_mini(const char *model)
{
    char *out = NULL;
    int rc = tu_run(&out, "%s eval -m %s --corpus examples/beir-mini/corpus.jsonl --queries "
                          "examples/beir-mini/queries.jsonl --qrels examples/beir-mini/qrels/test.tsv "
                          "--json 2>/dev/null", tu_emb_bin(), model);
    assert_int_equal(rc, 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (!j)
        print_error("emb eval output is not JSON (%s): %s\n", err.text, out);
    assert_non_null(j);
    free(out);
    return j;
}

static void check_search(const char *name)
{
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "models/%s", name);
    if (!tu_real_model_present(dir))
        return;
    snprintf(path, sizeof path, "models/%s.h5", name);
    json_t *real = eval_beir_mini(path);
    json_t *demo = eval_beir_mini("models/wordnet-mini.h5");
    double mrr = json_real_value(json_object_get(real, "mrr_at_10"));
    double ndcg = json_real_value(json_object_get(real, "ndcg_at_10"));
    double demo_ndcg = json_real_value(json_object_get(demo, "ndcg_at_10"));
    printf("# %s on beir-mini: MRR@10 %.4f, nDCG@10 %.4f (demo model: %.4f)\n", name, mrr, ndcg,
           demo_ndcg);
    assert_true(json_integer_value(json_object_get(real, "queries_evaluated")) >= 9);
    assert_true(mrr > 0.9999);     /* a relevant document first for every query */
    assert_true(ndcg > demo_ndcg); /* and a better ranking than the demo model */
    json_decref(real);
    json_decref(demo);
}

static void test_tokens(void **state)
{
    check_tokens(*state);
}

static void test_fp32_file(void **state)
{
    check_file(*state, "", 1e-4);
}

static void test_int8_file(void **state)
{
    check_file(*state, "-int8", -0.999);
}

static void test_search(void **state)
{
    check_search(*state);
}

#define REAL_TESTS(name)                                                  \
    { name " tokenizer", test_tokens, NULL, NULL, name },                 \
    { name " fp32 file", test_fp32_file, NULL, NULL, name },              \
    { name " int8 file", test_int8_file, NULL, NULL, name },              \
    { name " search", test_search, NULL, NULL, name }

int main(void)
{
    const struct CMUnitTest tests[] = {
        REAL_TESTS("all-MiniLM-L6-v2"),
    };
    return cmocka_run_group_tests_name("real checkpoints", tests, NULL, NULL);
}
