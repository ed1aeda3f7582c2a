/* `emb eval`: the trec_eval ordering and the per-query metrics on hand-made
 * rankings whose values are worked out below, then the program end to end
 * on examples/beir-mini (output parses, values in [0, 1], equal to the
 * same computation done here from the public API), BEIR's edge cases
 * (queries without relevant documents count as 0, unjudged queries are
 * skipped, a document never ranks for the query with its own id) and clean
 * errors for malformed files. The CLI sources are compiled in so that
 * their internal functions can be called directly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "cli/common.c"
#include "cli/measure.c"
#include "cli/metrics.c"
#include "cli/eval.c"

static char *tmp;
static const char *emb_bin;

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
    return 0;
}

#define assert_near(got, want, tol) near_((got), (want), (tol), #got, __FILE__, __LINE__)
static void near_(double got, double want, double tol, const char *what, const char *file, int line)
{
    if (!(got - want <= tol && want - got <= tol))
        fail_msg("%s:%d: %s = %.9g, expected %.9g (tolerance %g)", file, line, what, got, want, tol);
}

static void write_file(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    tu_write_file(path, text, strlen(text));
}

/* ------------------------------------------------- ranking, by hand */

static void expect_order(const size_t *order, long n, const char *const *ids, const char *want)
{
    char got[256] = "";
    for (long i = 0; i < n; i++) {
        strcat(got, i ? " " : "");
        strcat(got, ids[order[i]]);
    }
    if (strcmp(got, want))
        fail_msg("ranking \"%s\", expected \"%s\"", got, want);
}

static void test_rank_trec_order(void **state)
{
    (void)state;
    /* equal scores: the larger id (strcmp) first, as trec_eval's
     * comp_sim_docno; NaN as -1 (BEIR) */
    const char *ids[6] = { "d1", "d2", "d3", "d4", "d5", "d10" };
    const float sc[6] = { 0.9f, 0.5f, 0.9f, 0.1f, 0.5f, NAN };
    size_t order[6];
    long n = cli_ir_rank(ids, sc, 6, 1000, NULL, order);
    assert_int_equal(n, 6);
    expect_order(order, n, ids, "d3 d1 d5 d2 d4 d10");
    /* depth keeps the first K; the query's own id is left out */
    n = cli_ir_rank(ids, sc, 6, 2, NULL, order);
    expect_order(order, n, ids, "d3 d1");
    n = cli_ir_rank(ids, sc, 6, 1000, "d3", order);
    expect_order(order, n, ids, "d1 d5 d2 d4 d10");
    /* "d10" < "d2" as strings: byte order, not numeric */
    const float eq[3] = { 0.3f, 0.3f, 0.3f };
    const char *ids2[3] = { "d10", "d2", "d9" };
    n = cli_ir_rank(ids2, eq, 3, 1000, NULL, order);
    expect_order(order, n, ids2, "d9 d2 d10");
}

static void test_metrics_by_hand(void **state)
{
    (void)state;
    cli_ir_metrics m;
    /* The ranking d3 d1 d5 d2 d4 above with qrels d1=2, d2=1, d4=0 and dX=1
     * (dX not in the corpus): grades by rank 0 2 0 1 0.
     *   DCG@10  = 2/log2(3) + 1/log2(5)          = 1.261860 + 0.430677 = 1.692537
     *   IDCG@10 = 2/log2(2) + 1/log2(3) + 1/log2(4) (grades 2,1,1) = 3.130930
     *   nDCG@10 = 0.540586; 3 relevant, 2 retrieved: recall = 2/3;
     *   first relevant at rank 2: MRR@10 = 1/2 */
    const long rel[5] = { 0, 2, 0, 1, 0 };
    const long judged[4] = { 2, 1, 0, 1 };
    assert_int_equal(cli_ir_query_metrics(rel, 5, judged, 4, &m), 0);
    assert_near(m.ndcg_at_10, (2 / log2(3) + 1 / log2(5)) / (2 + 1 / log2(3) + 0.5), 1e-12);
    assert_near(m.ndcg_at_10, 0.540586, 1e-6);
    assert_near(m.recall_at_10, 2.0 / 3, 1e-12);
    assert_near(m.recall_at_100, 2.0 / 3, 1e-12);
    assert_near(m.mrr_at_10, 0.5, 1e-12);

    /* a perfect ranking scores 1 everywhere */
    const long perfect[3] = { 2, 1, 1 };
    assert_int_equal(cli_ir_query_metrics(perfect, 3, judged, 4, &m), 0);
    assert_near(m.ndcg_at_10, 1.0, 1e-12);
    assert_near(m.recall_at_10, 1.0, 1e-12);
    assert_near(m.mrr_at_10, 1.0, 1e-12);

    /* relevant only at ranks 10 and 11 of 120; 2 relevant judged:
     *   DCG@10 = 1/log2(11); IDCG = 1 + 1/log2(3); recall@10 = 1/2;
     *   recall@100 = 2/2; MRR@10 = 1/10 */
    long deep[120] = { 0 };
    deep[9] = 1;
    deep[10] = 1;
    const long judged2[2] = { 1, 1 };
    assert_int_equal(cli_ir_query_metrics(deep, 120, judged2, 2, &m), 0);
    assert_near(m.ndcg_at_10, (1 / log2(11)) / (1 + 1 / log2(3)), 1e-12);
    assert_near(m.recall_at_10, 0.5, 1e-12);
    assert_near(m.recall_at_100, 1.0, 1e-12);
    assert_near(m.mrr_at_10, 0.1, 1e-12);

    /* first relevant at rank 11 and at rank 101: nothing within 10 or 100 */
    long late[120] = { 0 };
    late[10] = 3;
    late[100] = 1;
    const long judged3[3] = { 3, 1, 0 };
    assert_int_equal(cli_ir_query_metrics(late, 120, judged3, 3, &m), 0);
    assert_near(m.ndcg_at_10, 0.0, 0);
    assert_near(m.mrr_at_10, 0.0, 0);
    assert_near(m.recall_at_10, 0.0, 0);
    assert_near(m.recall_at_100, 0.5, 1e-12);

    /* graded gain is linear (gain = grade, not 2^grade - 1): a grade-1
     * document ahead of a grade-3 one, 2 judged:
     *   DCG = 1 + 3/log2(3); IDCG = 3 + 1/log2(3) */
    const long swapped[2] = { 1, 3 };
    const long judged4[2] = { 3, 1 };
    assert_int_equal(cli_ir_query_metrics(swapped, 2, judged4, 2, &m), 0);
    assert_near(m.ndcg_at_10, (1 + 3 / log2(3)) / (3 + 1 / log2(3)), 1e-12);

    /* more than 10 relevant: the ideal is cut at 10 too */
    long all_rel[12];
    long judged5[12];
    for (int i = 0; i < 12; i++)
        all_rel[i] = judged5[i] = 1;
    assert_int_equal(cli_ir_query_metrics(all_rel, 12, judged5, 12, &m), 0);
    assert_near(m.ndcg_at_10, 1.0, 1e-12);
    assert_near(m.recall_at_10, 10.0 / 12, 1e-12);

    /* no relevant document (only grade 0 and negative): all 0, as trec_eval */
    const long none[3] = { 0, 0, 0 };
    const long judged6[2] = { 0, -1 };
    assert_int_equal(cli_ir_query_metrics(none, 3, judged6, 2, &m), 0);
    assert_near(m.ndcg_at_10 + m.recall_at_10 + m.recall_at_100 + m.mrr_at_10, 0.0, 0);
}

static void test_python_strip(void **state)
{
    (void)state;
    /* BEIR embeds (title + " " + text).strip(); Python strips Unicode
     * whitespace such as U+00A0 and U+3000 but not U+200B */
    const char *s = "\xc2\xa0 \tTitle text\xe3\x80\x80\n";
    size_t b, e;
    py_strip(s, strlen(s), &b, &e);
    assert_int_equal(e - b, strlen("Title text"));
    assert_memory_equal(s + b, "Title text", e - b);
    const char *z = "\xe2\x80\x8bx";
    py_strip(z, strlen(z), &b, &e);
    assert_int_equal(b, 0);
    assert_int_equal(e, strlen(z));
    py_strip("  ", 2, &b, &e);
    assert_int_equal(e - b, 0);
}

/* ---------------------------------------------------------- end to end */

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("missing number \"%s\"", key);
    return json_number_value(v);
}

static json_t *run_eval_json(const char *dir, const char *qrels, const char *extra)
{
    char *out = NULL;
    int rc = tu_run(&out, "%s eval -m models/wordnet-mini.h5 --corpus %s/corpus.jsonl --queries "
                       "%s/queries.jsonl --qrels %s --json %s",
                 emb_bin, dir, dir, qrels, extra);
    if (rc != 0)
        fail_msg("emb eval failed (%d): %s", rc, out);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (!j)
        fail_msg("output is not one JSON object: %s\n%s", err.text, out);
    free(out);
    return j;
}

/* The beir-mini metrics recomputed here: texts built as BEIR does, encoded
 * through the public API, ranked and scored with the functions tested
 * above. Checks the CLI's reading, joining and bookkeeping. */
static void expected_beir_mini(cli_ir_metrics *mean, size_t *n_eval)
{
    json_t *corpus = tu_read_jsonl("examples/beir-mini/corpus.jsonl");
    json_t *queries = tu_read_jsonl("examples/beir-mini/queries.jsonl");
    size_t nd = json_array_size(corpus);
    emb_model *m = NULL;
    assert_int_equal(emb_model_open("models/wordnet-mini.h5", NULL, &m), EMB_OK);
    size_t dim = emb_model_dim(m);
    float *dv = malloc(nd * dim * sizeof *dv), *scores = malloc(nd * sizeof *scores);
    const char **ids = malloc(nd * sizeof *ids);
    char **texts = malloc(nd * sizeof *texts);
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = EMB_KIND_PASSAGE;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(corpus, i);
        ids[i] = json_string_value(json_object_get(d, "_id"));
        const char *title = json_string_value(json_object_get(d, "title"));
        const char *text = json_string_value(json_object_get(d, "text"));
        texts[i] = malloc(strlen(title) + strlen(text) + 2);
        /* the set's texts have no surrounding spaces: strip = drop the
         * separator when the title is empty */
        sprintf(texts[i], "%s%s%s", title, *title ? " " : "", text);
        emb_text t = { texts[i], strlen(texts[i]) };
        assert_int_equal(emb_encode(m, &t, 1, &o, dv + i * dim), EMB_OK);
    }
    /* qrels */
    size_t len;
    char *q = tu_read_file("examples/beir-mini/qrels/test.tsv", &len);
    assert_non_null(q);
    char *qid[64], *did[64];
    long grade[64];
    size_t nj = 0;
    char *save = NULL;
    strtok_r(q, "\n", &save); /* header */
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        qid[nj] = strtok(line, "\t");
        did[nj] = strtok(NULL, "\t");
        grade[nj] = strtol(strtok(NULL, "\t"), NULL, 10);
        nj++;
    }
    memset(mean, 0, sizeof *mean);
    *n_eval = 0;
    o.kind = EMB_KIND_QUERY;
    for (size_t qi = 0; qi < json_array_size(queries); qi++) {
        json_t *jq = json_array_get(queries, qi);
        const char *id = json_string_value(json_object_get(jq, "_id"));
        long judged[64];
        size_t nq = 0;
        for (size_t k = 0; k < nj; k++)
            if (!strcmp(qid[k], id))
                judged[nq++] = grade[k];
        if (nq == 0)
            continue; /* not judged: skipped */
        const char *text = json_string_value(json_object_get(jq, "text"));
        emb_text t = { text, strlen(text) };
        float *qv = malloc(dim * sizeof *qv);
        assert_int_equal(emb_encode(m, &t, 1, &o, qv), EMB_OK);
        for (size_t d = 0; d < nd; d++)
            assert_int_equal(emb_cosine(qv, dv + d * dim, dim, &scores[d]), EMB_OK);
        size_t order[64];
        long n = cli_ir_rank(ids, scores, nd, 1000, id, order);
        long rel[64];
        for (long r = 0; r < n; r++) {
            rel[r] = 0;
            for (size_t k = 0; k < nj; k++)
                if (!strcmp(qid[k], id) && !strcmp(did[k], ids[order[r]]))
                    rel[r] = grade[k];
        }
        cli_ir_metrics one;
        assert_int_equal(cli_ir_query_metrics(rel, (size_t)n, judged, nq, &one), 0);
        mean->ndcg_at_10 += one.ndcg_at_10;
        mean->recall_at_10 += one.recall_at_10;
        mean->recall_at_100 += one.recall_at_100;
        mean->mrr_at_10 += one.mrr_at_10;
        (*n_eval)++;
        free(qv);
    }
    mean->ndcg_at_10 /= (double)*n_eval;
    mean->recall_at_10 /= (double)*n_eval;
    mean->recall_at_100 /= (double)*n_eval;
    mean->mrr_at_10 /= (double)*n_eval;
    for (size_t i = 0; i < nd; i++)
        free(texts[i]);
    free(texts);
    free(ids);
    free(dv);
    free(scores);
    free(q);
    emb_model_close(m);
    json_decref(corpus);
    json_decref(queries);
}

static void test_beir_mini(void **state)
{
    (void)state;
    json_t *j = run_eval_json("examples/beir-mini", "examples/beir-mini/qrels/test.tsv", "");
    const char *keys[4] = { "ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10" };
    for (int k = 0; k < 4; k++) {
        double v = num(j, keys[k]);
        if (!(v >= 0 && v <= 1))
            fail_msg("%s = %g is outside [0, 1]", keys[k], v);
    }
    assert_int_equal((size_t)num(j, "queries_evaluated"), 9);
    assert_int_equal((size_t)num(j, "queries_unjudged_skipped"), 1);
    assert_int_equal((size_t)num(j, "queries_without_relevant"), 0);
    assert_int_equal((size_t)num(j, "corpus_docs"), 24);
    assert_int_equal((size_t)num(j, "texts"), 24 + 9);
    assert_true(num(j, "tokens") > num(j, "texts"));
    cli_ir_metrics want;
    size_t n_eval;
    expected_beir_mini(&want, &n_eval);
    assert_int_equal(n_eval, 9);
    assert_near(num(j, "ndcg_at_10"), want.ndcg_at_10, 2e-6);
    assert_near(num(j, "recall_at_10"), want.recall_at_10, 2e-6);
    assert_near(num(j, "recall_at_100"), want.recall_at_100, 2e-6);
    assert_near(num(j, "mrr_at_10"), want.mrr_at_10, 2e-6);
    /* the demo model does find most answers on this easy set */
    assert_true(num(j, "recall_at_10") > 0.5);
    json_decref(j);

    /* the readable table carries the same numbers */
    char *out = NULL;
    assert_int_equal(tu_run(&out, "%s eval -m models/wordnet-mini.h5 --corpus "
                               "examples/beir-mini/corpus.jsonl --queries "
                               "examples/beir-mini/queries.jsonl --qrels "
                               "examples/beir-mini/qrels/test.tsv 2>&1",
                         emb_bin),
                     0);
    assert_null(strchr(out, '\r')); /* no progress bar: stderr is not a TTY */
    const char *p = strstr(out, "nDCG@10");
    assert_non_null(p);
    double v = 0;
    assert_int_equal(sscanf(p, "nDCG@10 %lf", &v), 1);
    assert_near(v, want.ndcg_at_10, 6e-5);
    assert_non_null(strstr(out, "9 evaluated"));
    free(out);
}

static void test_beir_edge_cases(void **state)
{
    (void)state;
    char dir[1024], qrels[1100];
    snprintf(dir, sizeof dir, "%s", tmp);
    snprintf(qrels, sizeof qrels, "%s/qrels.tsv", tmp);
    write_file("corpus.jsonl",
               "{\"_id\": \"a\", \"title\": \"Violin\", \"text\": \"A violin is a string instrument.\"}\n"
               "{\"_id\": \"b\", \"title\": null, \"text\": \"Bread is baked from flour.\"}\n"
               "{\"_id\": \"q1\", \"text\": \"what is a violin\"}\n"
               "{\"_id\": 7, \"title\": \"\", \"text\": \"  Cheese is made from milk.  \"}\n");
    write_file("queries.jsonl",
               "{\"_id\": \"q1\", \"text\": \"what is a violin\"}\n"
               "{\"_id\": \"q2\", \"text\": \"what is bread made of\"}\n"
               "{\"_id\": \"q3\", \"text\": \"unjudged\"}\n");
    /* q2's only judgment is non-relevant: evaluated, scores 0 (pytrec_eval);
     * q1's relevant "zz" is not in the corpus but counts as relevant */
    write_file("qrels.tsv", "query-id\tcorpus-id\tscore\n"
                            "q1\ta\t1\n"
                            "q1\tzz\t1\n"
                            "q2\tb\t0\n");
    json_t *j = run_eval_json(dir, qrels, "");
    assert_int_equal((size_t)num(j, "queries_evaluated"), 2);
    assert_int_equal((size_t)num(j, "queries_without_relevant"), 1);
    assert_int_equal((size_t)num(j, "queries_unjudged_skipped"), 1);
    assert_int_equal((size_t)num(j, "judged_docs_missing_from_corpus"), 1);
    /* q1 finds "a" at best at rank 1 of 3 (its own-id document "q1" is
     * excluded): recall = 1/2 for q1, 0 for q2 -> mean 1/4 */
    assert_near(num(j, "recall_at_100"), 0.25, 1e-6);
    assert_true(num(j, "mrr_at_10") <= 0.5 + 1e-9);
    json_decref(j);

    /* the document with the query's id: excluded by default, so the
     * relevant "q1" judged for q1 can never be found... */
    write_file("qrels2.tsv", "query-id\tcorpus-id\tscore\nq1\tq1\t1\n");
    snprintf(qrels, sizeof qrels, "%s/qrels2.tsv", tmp);
    j = run_eval_json(dir, qrels, "");
    assert_near(num(j, "recall_at_10"), 0.0, 0);
    json_decref(j);
    /* ...unless asked to keep it; its text equals the query's */
    j = run_eval_json(dir, qrels, "--keep-identical-ids");
    assert_near(num(j, "recall_at_10"), 1.0, 0);
    json_decref(j);
    /* --top 1 keeps one document per query: recall@100 is over that one */
    snprintf(qrels, sizeof qrels, "%s/qrels.tsv", tmp);
    j = run_eval_json(dir, qrels, "--top 1");
    assert_int_equal((size_t)num(j, "depth"), 1);
    assert_true(num(j, "recall_at_100") <= 0.25 + 1e-9);
    json_decref(j);
}

static void expect_error(const char *file, const char *content, const char *message)
{
    write_file("corpus.jsonl", "{\"_id\": \"a\", \"title\": \"\", \"text\": \"apple\"}\n"
                               "{\"_id\": \"b\", \"title\": \"\", \"text\": \"banana\"}\n");
    write_file("queries.jsonl", "{\"_id\": \"q1\", \"text\": \"fruit\"}\n");
    write_file("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\ta\t1\n");
    write_file(file, content);
    char *out = NULL;
    int rc = tu_run(&out, "%s eval -m models/wordnet-mini.h5 --corpus %s/corpus.jsonl --queries "
                       "%s/queries.jsonl --qrels %s/qrels.tsv 2>&1",
                 emb_bin, tmp, tmp, tmp);
    if (rc == 0 || !strstr(out, message))
        fail_msg("expected failure with \"%s\", got status %d and:\n%s", message, rc, out);
    free(out);
}

static void test_malformed_files(void **state)
{
    (void)state;
    expect_error("corpus.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n\n", "corpus.jsonl:2: blank line");
    expect_error("corpus.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n",
                 "corpus.jsonl:2: duplicate \"_id\" 'a' (first on line 1)");
    expect_error("corpus.jsonl", "{\"_id\": \"a\"}\n", "corpus.jsonl:1: missing \"text\"");
    expect_error("corpus.jsonl", "{\"_id\": \"a\", \"text\": \"x\", \"title\": 3}\n",
                 "corpus.jsonl:1: \"title\" must be a string");
    expect_error("queries.jsonl", "{\"text\": \"x\"}\n", "queries.jsonl:1: missing or empty \"_id\"");
    expect_error("queries.jsonl", "not json\n", "queries.jsonl:1: not valid JSON");
    expect_error("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\ta\n", "qrels.tsv:2: expected query-id");
    expect_error("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\ta\t1.5\n",
                 "qrels.tsv:2: the score must be an integer");
    expect_error("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\ta\t1\nq9\ta\t1\n",
                 "qrels.tsv:3: query id 'q9' is not in the queries file");
    expect_error("qrels.tsv", "query-id\tcorpus-id\tscore\n", "no judgments after the header");
    char *out = NULL;
    assert_int_equal(tu_run(&out, "%s eval --corpus x 2>&1", emb_bin) >> 8, 2);
    assert_non_null(strstr(out, "usage: emb eval"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_trec_order),
        cmocka_unit_test(test_metrics_by_hand),
        cmocka_unit_test(test_python_strip),
        cmocka_unit_test(test_beir_mini),
        cmocka_unit_test(test_beir_edge_cases),
        cmocka_unit_test(test_malformed_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
