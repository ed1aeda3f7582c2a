/* `emb compare`: the pair metrics on hand-made cosine matrices (ties
 * included), the program end to end on examples/pairs.tsv against the same
 * numbers computed here through the public API, and clean errors with line
 * numbers for malformed pairs files. The CLI sources are compiled in so
 * that their internal functions can be called directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "cli/common.c"
#include "cli/measure.c"
#include "cli/metrics.c"
#include "cli/compare.c"

static char *tmp;
static const char *emb_bin;
static char *cls_model; /* the built-in model converted with CLS pooling */

static int setup(void **state)
{
    (void)state;
    emb_bin = tu_emb_bin();
    tmp = tu_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    free(cls_model);
    return 0;
}


static void write_file(const char *path, const char *text)
{
    tu_write_file(path, text, strlen(text));
}

/* |got - want| <= tol, else fail printing both (doubles, unlike cmocka's
 * float-only assert_float_equal) */
#define assert_near(got, want, tol) near_((got), (want), (tol), #got, __FILE__, __LINE__)
static void near_(double got, double want, double tol, const char *what, const char *file, int line)
{
    if (!(got - want <= tol && want - got <= tol))
        fail_msg("%s:%d: %s = %.9g, expected %.9g (tolerance %g)", file, line, what, got, want, tol);
}

/* ---------------------------------------------------------- metrics */

static void test_metrics_by_hand(void **state)
{
    (void)state;
    /* row 0: own 0.9 beats 0.2, 0.1                     -> rank 1
     * row 1: own 0.4, two answers score 0.5             -> rank 3
     * row 2: own 0.3 ties with both others (0.3, 0.3)   -> rank 3 (ties against) */
    const float s[9] = { 0.9f, 0.2f, 0.1f,
                         0.5f, 0.4f, 0.5f,
                         0.3f, 0.3f, 0.3f };
    cli_pair_metrics m;
    cli_pair_metrics_compute(s, 3, &m);
    assert_near(m.mean_relevant, (0.9 + 0.4 + 0.3) / 3, 1e-6);            /* 0.533333 */
    assert_near(m.mean_irrelevant, (0.2 + 0.1 + 0.5 + 0.5 + 0.3 + 0.3) / 6, 1e-6); /* 0.316667 */
    assert_near(m.margin, 1.6 / 3 - 1.9 / 6, 1e-6);                       /* 0.216667 */
    assert_near(m.accuracy_at_1, 1.0 / 3, 1e-12);
    assert_near(m.mrr, (1.0 + 1.0 / 3 + 1.0 / 3) / 3, 1e-12);              /* 0.555556 */

    /* one exact tie for first place counts as a miss: rank 2 */
    const float t[4] = { 0.5f, 0.5f,
                         0.1f, 0.9f };
    cli_pair_metrics_compute(t, 2, &m);
    assert_near(m.accuracy_at_1, 0.5, 1e-12);
    assert_near(m.mrr, (0.5 + 1.0) / 2, 1e-12);
    assert_near(m.mean_irrelevant, (0.5 + 0.1) / 2, 1e-6);

    /* a perfect diagonal */
    const float u[4] = { 1.0f, -0.2f,
                         0.3f, 0.8f };
    cli_pair_metrics_compute(u, 2, &m);
    assert_near(m.accuracy_at_1, 1.0, 1e-12);
    assert_near(m.mrr, 1.0, 1e-12);
    assert_near(m.margin, 0.9 - 0.05, 1e-6);
}

/* ------------------------------------------------------- end to end */

static json_t *model_entry(json_t *doc, size_t i)
{
    json_t *models = json_object_get(doc, "models");
    assert_true(json_is_array(models));
    json_t *m = json_array_get(models, i);
    assert_non_null(m);
    return m;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("missing number \"%s\"", key);
    return json_number_value(v);
}

/* The metrics and token count emb compare should print, computed here from
 * the public API over examples/pairs.tsv. */
static void expected_for(const char *model_path, cli_pair_metrics *m, size_t *tokens, size_t *n_out)
{
    size_t len;
    char *text = tu_read_file("examples/pairs.tsv", &len);
    assert_non_null(text);
    emb_text q[64], a[64];
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        assert_true(n < 64);
        q[n] = (emb_text){ line, (size_t)(tab - line) };
        a[n] = (emb_text){ tab + 1, strlen(tab + 1) };
        n++;
    }
    emb_model *model = NULL;
    assert_int_equal(emb_model_open(model_path, NULL, &model), EMB_OK);
    size_t dim = emb_model_dim(model);
    float *qv = malloc(n * dim * sizeof *qv), *av = malloc(n * dim * sizeof *av);
    float *sim = malloc(n * n * sizeof *sim);
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = EMB_KIND_QUERY;
    assert_int_equal(emb_encode(model, q, n, &o, qv), EMB_OK);
    o.kind = EMB_KIND_PASSAGE;
    assert_int_equal(emb_encode(model, a, n, &o, av), EMB_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            assert_int_equal(emb_cosine(qv + i * dim, av + j * dim, dim, &sim[i * n + j]), EMB_OK);
    cli_pair_metrics_compute(sim, n, m);
    /* tokens: prompt + specials + truncation, as emb_encode runs them */
    emb_tokenize_options to;
    emb_tokenize_options_init(&to);
    to.apply_prompt = 1;
    to.truncate = 1;
    int32_t ids[512];
    *tokens = 0;
    for (size_t i = 0; i < 2 * n; i++) {
        size_t got = 0;
        to.kind = i < n ? EMB_KIND_QUERY : EMB_KIND_PASSAGE;
        const emb_text *t = i < n ? &q[i] : &a[i - n];
        assert_int_equal(emb_tokenize(model, t->data, t->len, &to, ids, 512, &got), EMB_OK);
        *tokens += got;
    }
    *n_out = n;
    emb_model_close(model);
    free(qv);
    free(av);
    free(sim);
    free(text);
}

static void check_entry(json_t *e, const char *path)
{
    cli_pair_metrics m;
    size_t tokens, n;
    expected_for(path, &m, &tokens, &n);
    assert_string_equal(json_string_value(json_object_get(e, "model")), path);
    assert_near(num(e, "mean_cos_relevant"), m.mean_relevant, 2e-6);
    assert_near(num(e, "mean_cos_irrelevant"), m.mean_irrelevant, 2e-6);
    assert_near(num(e, "margin"), m.margin, 2e-6);
    assert_near(num(e, "accuracy_at_1"), m.accuracy_at_1, 2e-6);
    assert_near(num(e, "mrr"), m.mrr, 2e-6);
    assert_int_equal((size_t)num(e, "tokens"), tokens);
    assert_int_equal((size_t)num(e, "texts"), 2 * n);
    assert_int_equal((size_t)num(e, "dim"), 256);
    assert_int_equal((size_t)num(e, "bytes_per_vector"), 256 * 4);
    assert_true(num(e, "encode_seconds") > 0);
    assert_true(num(e, "texts_per_second") > 0);
    assert_true(num(e, "tokens_per_second") > num(e, "texts_per_second"));
    assert_true(num(e, "mean_cos_relevant") >= -1.0 && num(e, "mean_cos_relevant") <= 1.0);
    assert_true(num(e, "mean_cos_irrelevant") >= -1.0 && num(e, "mean_cos_irrelevant") <= 1.0);
    assert_true(num(e, "accuracy_at_1") >= 0 && num(e, "accuracy_at_1") <= 1);
    assert_true(num(e, "mrr") >= num(e, "accuracy_at_1") && num(e, "mrr") <= 1);
}

static void test_two_models_json(void **state)
{
    (void)state;
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.pooling = "cls";
    cls_model = tu_convert("models/wordnet-mini", tmp, "wm-cls.h5", &co);
    char *out = NULL;
    assert_int_equal(tu_run(&out, "%s compare -m models/wordnet-mini.h5 -m %s --pairs "
                               "examples/pairs.tsv --json",
                         emb_bin, cls_model),
                     0);
    json_error_t err;
    json_t *doc = json_loads(out, 0, &err);
    if (!doc)
        fail_msg("output is not one JSON object: %s\n%s", err.text, out);
    assert_int_equal(json_integer_value(json_object_get(doc, "pairs")), 30);
    assert_int_equal(json_array_size(json_object_get(doc, "models")), 2);
    json_t *mean = model_entry(doc, 0), *cls = model_entry(doc, 1);
    check_entry(mean, "models/wordnet-mini.h5");
    check_entry(cls, cls_model);
    /* the model was trained for mean pooling: its CLS vectors separate the
     * pairs far worse */
    assert_true(num(mean, "margin") > num(cls, "margin") + 0.1);
    assert_true(num(mean, "mrr") > num(cls, "mrr"));
    json_decref(doc);
    free(out);
}

static void test_table_no_progress_when_not_a_tty(void **state)
{
    (void)state;
    char *out = NULL;
    /* stderr is a pipe here: no progress bar may appear in it */
    assert_int_equal(tu_run(&out, "%s compare -m models/wordnet-mini.h5 --pairs examples/pairs.tsv 2>&1",
                         emb_bin),
                     0);
    assert_null(strchr(out, '\r'));
    assert_null(strstr(out, "\033["));
    assert_non_null(strstr(out, "30 pairs from examples/pairs.tsv"));
    assert_non_null(strstr(out, "acc@1"));
    assert_non_null(strstr(out, "tokens/s"));
    const char *row = strstr(out, "\nmodels/wordnet-mini.h5 ");
    assert_non_null(row);
    float rel, irrel, margin, acc, mrr;
    unsigned dim, bytes;
    assert_int_equal(sscanf(row + 1, "models/wordnet-mini.h5 %f %f %f %f %f %u %u", &rel, &irrel,
                            &margin, &acc, &mrr, &dim, &bytes),
                     7);
    assert_int_equal(dim, 256);
    assert_int_equal(bytes, 1024);
    assert_true(rel > irrel);
    free(out);
}

/* ------------------------------------------------------------ errors */

static void expect_error(const char *content, const char *message)
{
    char path[1024], *out = NULL;
    snprintf(path, sizeof path, "%s/bad.tsv", tmp);
    write_file(path, content);
    int rc = tu_run(&out, "%s compare -m models/wordnet-mini.h5 --pairs %s 2>&1", emb_bin, path);
    if (rc == 0 || !strstr(out, message))
        fail_msg("expected failure with \"%s\", got status %d and:\n%s", message, rc, out);
    free(out);
}

static void test_malformed_pairs(void **state)
{
    (void)state;
    expect_error("q one\ta one\nq two\ta two\n\nq three\ta three\n", "bad.tsv:3: blank line");
    expect_error("q one\ta one\nno tab here\n", "bad.tsv:2: no TAB");
    expect_error("q one\ta one\nq\ta\textra\n", "bad.tsv:2: more than one TAB");
    expect_error("q one\ta one\n\tanswer only\n", "bad.tsv:2: empty question");
    expect_error("q one\t\nq two\ta two\n", "bad.tsv:1: empty answer");
    expect_error("   \t  \nq two\ta two\n", "bad.tsv:1: blank line");
    expect_error("only\tone pair\n", "need at least 2 pairs");
    expect_error("", "need at least 2 pairs");
    char *out = NULL;
    assert_int_not_equal(tu_run(&out, "%s compare --pairs %s/missing.tsv 2>&1", emb_bin, tmp), 0);
    assert_non_null(strstr(out, "cannot open pairs file"));
    free(out);
    assert_int_not_equal(tu_run(NULL, "%s compare -m models/wordnet-mini.h5 2>/dev/null", emb_bin), 0);
    assert_int_not_equal(tu_run(&out, "%s compare -m %s/nope.h5 --pairs examples/pairs.tsv 2>&1",
                             emb_bin, tmp),
                         0);
    assert_non_null(strstr(out, "cannot open model"));
    free(out);
}

static void test_crlf_and_duplicates(void **state)
{
    (void)state;
    char path[1024], *out = NULL;
    snprintf(path, sizeof path, "%s/crlf.tsv", tmp);
    /* CRLF line ends are accepted; a repeated answer is warned about and
     * ties for both its questions (counted as misses) */
    write_file(path, "what is a violin\tA violin is a string instrument.\r\n"
                     "what is a cello\tA violin is a string instrument.\r\n"
                     "what is bread\tBread is baked from flour and water.\r\n");
    assert_int_equal(tu_run(&out, "%s compare -m models/wordnet-mini.h5 --pairs %s --json 2>%s/err",
                         emb_bin, path, tmp),
                     0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    json_t *e = model_entry(doc, 0);
    assert_true(num(e, "accuracy_at_1") <= 1.0 / 3 + 1e-9);
    json_decref(doc);
    free(out);
    char errpath[1100];
    snprintf(errpath, sizeof errpath, "%s/err", tmp);
    size_t len;
    char *err = tu_read_file(errpath, &len);
    assert_non_null(err);
    assert_non_null(strstr(err, "lines 1 and 2 have the same answer"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_by_hand),
        cmocka_unit_test(test_two_models_json),
        cmocka_unit_test(test_table_no_progress_when_not_a_tty),
        cmocka_unit_test(test_malformed_pairs),
        cmocka_unit_test(test_crlf_and_duplicates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
