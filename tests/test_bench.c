/* `emb bench` (src/cli/bench.c) and the diagnostics behind it
 * (src/api/diag.c): the JSON report's fields and arithmetic, --lengths
 * parsing, --input (a file's texts tokenized as emb_encode would), --peak, the default thread count (the library's), refusals of
 * bad arguments, and the non-embedding parameter count against the tensors
 * of each fixture checkpoint. Fast (a few seconds) and without timing
 * assertions: rates only have to be positive and consistent with the
 * reported times. The program is $EMB_BIN (default bin/emb). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *tmp;
static char *bert_h5, *qwen3_h5;
static const char *emb_bin;

static int setup(void **state)
{
    (void)state;
    emb_bin = tu_emb_bin();
    tmp = tu_tmpdir();
    bert_h5 = tu_convert("tests/fixtures/models/bert-e5", tmp, "bert.h5", NULL);
    qwen3_h5 = tu_convert("tests/fixtures/models/qwen3-emb", tmp, "qwen3.h5", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    free(bert_h5);
    free(qwen3_h5);
    return 0;
}

/* `emb bench ... --json` must succeed and print one JSON object. */
static json_t *bench_json(const char *model, const char *args)
{
    char *out = NULL;
    int rc = tu_run(&out, "%s bench -m %s %s --json", emb_bin, model, args);
    if (rc != 0)
        fail_msg("emb bench %s exited with %d", args, rc);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (!j || !json_is_object(j))
        fail_msg("emb bench %s: not one JSON object (%s): %s", args, err.text, out);
    free(out);
    return j;
}

static double num(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!v || !json_is_number(v))
        fail_msg("field \"%s\" missing or not a number", key);
    return json_number_value(v);
}

/* Non-embedding parameters of an HF checkpoint, counted from its tensors:
 * everything but the token/position/type embeddings, the BERT pooler and an
 * lm_head. */
static uint64_t count_params(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    assert_non_null(buf);
    assert_true(len >= 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | (unsigned char)buf[i];
    assert_true(hlen <= len - 8);
    json_error_t err;
    json_t *h = json_loadb(buf + 8, (size_t)hlen, 0, &err);
    assert_non_null(h);
    uint64_t total = 0;
    const char *name;
    json_t *t;
    json_object_foreach(h, name, t) {
        /* not the tables read by rows (word / position / token-type
         * embeddings, embed_tokens), the pooler or an lm_head; the
         * embedding LayerNorm is counted */
        if (!strcmp(name, "__metadata__") || strstr(name, "_embeddings.") ||
            strstr(name, "embed_tokens.") || strstr(name, "pooler") || strstr(name, "lm_head"))
            continue;
        uint64_t n = 1;
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(t, "shape"), i, d)
            n *= (uint64_t)json_integer_value(d);
        total += n;
    }
    json_decref(h);
    free(buf);
    return total;
}

static void test_json_report(void **state)
{
    (void)state;
    json_t *j = bench_json(bert_h5, "--batch 2 --seq 8 --reps 2 --threads 1");
    assert_int_equal((int)num(j, "tokens"), 16);
    assert_int_equal((int)num(j, "batch"), 2);
    assert_int_equal((int)num(j, "min_len"), 8);
    assert_int_equal((int)num(j, "max_len"), 8);
    assert_int_equal((int)num(j, "reps"), 2);
    assert_int_equal((int)num(j, "threads"), 1);
    assert_string_equal(json_string_value(json_object_get(j, "architecture")), "bert");
    double med = num(j, "ms_median"), mn = num(j, "ms_min");
    double tps = num(j, "tokens_per_s"), gf = num(j, "gflops");
    assert_true(mn > 0.0 && mn <= med);
    assert_true(tps > 0.0 && gf > 0.0);
    /* tokens/s and GFLOP/s come from the median time */
    assert_true(fabs(tps - 16.0 / (med * 1e-3)) <= 1e-2 * tps);
    /* FLOPs: 2·P·tokens + 4·layers·seq²·hidden per sequence, P counted from
     * the checkpoint's tensors */
    uint64_t p = count_params("tests/fixtures/models/bert-e5");
    assert_int_equal((uint64_t)num(j, "non_embedding_params"), p);
    double flops = 2.0 * (double)p * 16 + 2 * 4.0 * 2 * 8 * 8 * 32;
    assert_true(fabs(num(j, "flops_per_batch") - flops) <= 1e-5 * flops);
    assert_true(fabs(gf - flops / (med * 1e-3) * 1e-9) <= 1e-2 * gf);
    assert_true(num(j, "open_ms") > 0.0);
    assert_true(num(j, "peak_rss_mb") >= num(j, "rss_after_open_mb"));
    assert_true(num(j, "rss_after_open_mb") > 0.0);
    assert_true(num(j, "model_file_mb") > 0.0);
    assert_true(json_is_null(json_object_get(j, "peak_gflops")));
    json_decref(j);
}

static void test_lengths(void **state)
{
    (void)state;
    json_t *j = bench_json(bert_h5, "--lengths 3,1,50 --reps 1 --warmup 0");
    assert_int_equal((int)num(j, "tokens"), 54);
    assert_int_equal((int)num(j, "batch"), 3);
    assert_int_equal((int)num(j, "min_len"), 1);
    assert_int_equal((int)num(j, "max_len"), 50);
    json_decref(j);
    /* a decoder whose specials trail the text; the longest allowed length */
    j = bench_json(qwen3_h5, "--lengths 200,1,17 --reps 1");
    assert_int_equal((int)num(j, "tokens"), 218);
    assert_string_equal(json_string_value(json_object_get(j, "architecture")), "qwen3");
    assert_int_equal((uint64_t)num(j, "non_embedding_params"),
                     count_params("tests/fixtures/models/qwen3-emb"));
    double flops = 0.0;
    const double lens[] = { 200, 1, 17 };
    for (int i = 0; i < 3; i++)
        flops += 2.0 * num(j, "non_embedding_params") * lens[i] + 4.0 * 2 * lens[i] * lens[i] * 64;
    assert_true(fabs(num(j, "flops_per_batch") - flops) <= 1e-5 * flops);
    json_decref(j);
}

/* A bad invocation and what its message must name. */
typedef struct refusal {
    const char *args;
    const char *says;
} refusal;

/* `emb bench -m bert_h5 ARGS --reps 1` must exit non-zero naming `says` on
 * stderr. */
static void expect_refusal(const char *args, const char *says)
{
    char *out = NULL;
    int rc = tu_run(&out, "%s bench -m %s %s --reps 1 2>&1 >/dev/null", emb_bin, bert_h5, args);
    if (rc == 0 || !strstr(out, says))
        fail_msg("emb bench %s: exit %d, stderr '%s' (expected a failure naming '%s')", args, rc,
                 out, says);
    free(out);
}

/* The tokens emb_encode() runs for `text` on bert_h5: specials, truncation. */
static size_t encode_tokens(const char *text)
{
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(bert_h5, NULL, &m), EMB_OK);
    emb_tokenize_options o;
    emb_tokenize_options_init(&o);
    o.truncate = 1;
    int32_t ids[256];
    size_t n = 0;
    assert_int_equal(emb_tokenize(m, text, strlen(text), &o, ids, 256, &n), EMB_OK);
    emb_model_close(m);
    return n;
}

/* --input: the file's texts, each tokenized as emb_encode() runs it (the
 * 70-word text cut to bert-e5's 64 tokens), plain lines or --jsonl, in calls
 * of --batch sequences; the same totals either way */
static void test_input(void **state)
{
    (void)state;
    static const char *texts[] = {
        "the cat sat on the mat",
        "a second, slightly longer line of ordinary text",
        "one two three four five six seven eight nine ten one two three four five six seven "
        "eight nine ten one two three four five six seven eight nine ten one two three four "
        "five six seven eight nine ten one two three four five six seven eight nine ten one "
        "two three four five six seven eight nine ten one two three four five six seven eight "
        "nine ten",
    };
    size_t want = 0, lo = 1000, hi = 0;
    char plain[4096] = "", jsonl[4096] = "";
    for (size_t i = 0; i < 3; i++) {
        size_t n = encode_tokens(texts[i]);
        want += n;
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
        strcat(plain, texts[i]);
        strcat(plain, "\n");
        snprintf(jsonl + strlen(jsonl), sizeof jsonl - strlen(jsonl),
                 "{\"id\": \"p#%zu\", \"text\": \"%s\"}\n", i + 1, texts[i]);
    }
    assert_int_equal(hi, 64); /* the long text is truncated, not refused */
    tu_write_text(tmp, "in.txt", plain);
    tu_write_text(tmp, "in.jsonl", jsonl);
    char args[1024];
    snprintf(args, sizeof args, "--input %s/in.txt --batch 2 --reps 2 --warmup 0", tmp);
    json_t *j = bench_json(bert_h5, args);
    assert_int_equal((size_t)num(j, "tokens"), want);
    assert_int_equal((int)num(j, "batch"), 3);
    assert_int_equal((int)num(j, "per_call"), 2);
    assert_int_equal((size_t)num(j, "min_len"), lo);
    assert_int_equal((size_t)num(j, "max_len"), hi);
    assert_true(fabs(num(j, "texts_per_s") - 3.0 / (num(j, "ms_median") * 1e-3)) <=
                1e-3 * num(j, "texts_per_s") + 0.01);
    assert_non_null(strstr(json_string_value(json_object_get(j, "input")), "in.txt"));
    json_decref(j);
    snprintf(args, sizeof args, "--input %s/in.jsonl --jsonl --reps 1", tmp);
    j = bench_json(bert_h5, args);
    assert_int_equal((size_t)num(j, "tokens"), want);
    assert_int_equal((int)num(j, "per_call"), 32); /* emb embed's default */
    json_decref(j);
    /* synthetic runs report no input and one call for the whole batch */
    j = bench_json(bert_h5, "--batch 3 --seq 4 --reps 1");
    assert_true(json_is_null(json_object_get(j, "input")));
    assert_int_equal((int)num(j, "per_call"), 3);
    json_decref(j);

    /* refusals, each naming the cause */
    tu_write_text(tmp, "empty.txt", "");
    tu_write_text(tmp, "bad-utf8.txt", "fine\nnot \xff UTF-8\n");
    static const refusal bad[] = { /* args: %s is the temporary folder */
        { "--input %s/in.txt --seq 8", "excludes --lengths and --seq" },
        { "--input %s/in.txt --lengths 3", "excludes --lengths and --seq" },
        { "--jsonl --seq 8 # %s", "--jsonl describes --input" },
        { "--input %s/missing.txt", "missing.txt" },
        { "--input %s/empty.txt", "holds no texts" },
        { "--input %s/in.txt --jsonl", "input line 1" },
        { "--input %s/bad-utf8.txt", "tokenize --input text 2" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char a[1024];
        snprintf(a, sizeof a, bad[i].args, tmp);
        char *hash = strchr(a, '#');
        if (hash)
            *hash = '\0';
        expect_refusal(a, bad[i].says);
    }
}

static void test_peak(void **state)
{
    (void)state;
    json_t *j = bench_json(bert_h5, "--batch 1 --seq 4 --reps 1 --peak");
    json_t *p = json_object_get(j, "peak_gflops");
    assert_true(json_is_object(p));
    assert_true(json_is_number(json_object_get(p, "own")));
    assert_true(json_number_value(json_object_get(p, "own")) > 0.0);
    assert_true(json_number_value(json_object_get(p, "blas")) > 0.0);
    json_decref(j);
}

static void test_text_report(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(tu_run(&out, "%s bench -m %s --batch 2 --seq 8 --reps 1", emb_bin, bert_h5), 0);
    assert_non_null(strstr(out, "tokens/s"));
    assert_non_null(strstr(out, "16 tokens"));
    free(out);
}

/* Without --threads the report's (and --peak's) thread count is the one
 * the library chose at open (its "threads" metadata: EMB_NUM_THREADS, else
 * the affinity mask lowered to the cgroup quota), not a count of its own. */
static void test_default_threads(void **state)
{
    (void)state;
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(bert_h5, NULL, &m), EMB_OK);
    const char *lib = emb_model_meta(m, "threads");
    assert_non_null(lib);
    json_t *j = bench_json(bert_h5, "--seq 8 --reps 1");
    assert_int_equal((int)num(j, "threads"), atoi(lib));
    json_decref(j);
    emb_model_close(m);
    char *out = NULL;
    assert_int_equal(tu_run(&out, "EMB_NUM_THREADS=3 %s bench -m %s --seq 8 --reps 1 --json",
                            emb_bin, bert_h5), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal((int)num(j, "threads"), 3);
    json_decref(j);
    free(out);
}

/* each bad invocation exits non-zero and says why on stderr */
static void test_bad_arguments(void **state)
{
    (void)state;
    static const refusal cases[] = {
        { "--seq 0", "--seq" },
        { "--batch 0", "--batch" },
        { "--seq -3", "--seq" },
        { "--seq 8x", "--seq" },
        { "--reps 0", "--reps" },
        { "--threads 0", "--threads" },
        { "--threads 1025", "n_threads 1025 out of range 0..1024" }, /* the library's cap */
        { "--lengths 3,,4", "--lengths" },
        { "--lengths 3,x", "--lengths" },
        { "--lengths 0", "--lengths" },
        { "--lengths 4,", "--lengths" },
        { "--lengths -4", "--lengths" },
        { "--lengths 4,5 --seq 8", "--lengths" },
        { "--lengths 8,65", "at most 64" },  /* bert-e5 accepts 64 tokens */
        { "--seq 65", "at most 64" },
        { "extra", "unexpected" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_refusal(cases[i].args, cases[i].says);
    char *out = NULL;
    int rc = tu_run(&out, "%s bench -m %s/missing.h5 --seq 8 2>&1 >/dev/null", emb_bin, tmp);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "missing.h5"));
    free(out);
    rc = tu_run(&out, "%s bench --seq 8 2>&1 >/dev/null", emb_bin);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "-m"));
    free(out);
}

/* emb_diag_model_params, counted from the tensors the model bound, equals
 * the checkpoint's tensor count of every architecture's fixture (biases,
 * q/k norms, GQA, 16-bit checkpoints; untied lm_head excluded), and an
 * int8 file (scales and outlier copies beside its weights) counts the same
 * as its fp32 file */
static void test_model_params(void **state)
{
    (void)state;
    static const struct {
        const char *dir;
        emb_dtype dtype;
    } cases[] = {
        { "tests/fixtures/models/bert-e5", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/bert-e5", EMB_DTYPE_INT8 },
        { "tests/fixtures/models/bert-e5-f16", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/bge-cls", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/xlmr-me5", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/xlmr-me5", EMB_DTYPE_INT8 },
        { "tests/fixtures/models/modernbert-st", EMB_DTYPE_AUTO }, /* no layers.0.attn_norm */
        { "tests/fixtures/models/modernbert-st", EMB_DTYPE_INT8 },
        { "tests/fixtures/models/mistral-e5", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/qwen2-gte", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/qwen3-emb", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/qwen3-emb-bf16", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/mistral-lm", EMB_DTYPE_AUTO },
        { "tests/fixtures/models/gemma-st", EMB_DTYPE_AUTO }, /* four norms a layer */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *dir = cases[i].dir;
        emb_convert_options o;
        emb_convert_options_init(&o);
        o.dtype = cases[i].dtype;
        if (strstr(dir, "mistral-lm"))
            o.pooling = "lasttoken-logits";
        char *h5 = tu_convert(dir, tmp, "params.h5", &o);
        emb_model *m = NULL;
        assert_int_equal(emb_model_open(h5, NULL, &m), EMB_OK);
        uint64_t got = 0, want = count_params(dir);
        assert_int_equal(emb_diag_model_params(m, &got), EMB_OK);
        if (got != want)
            fail_msg("%s (dtype %d): emb_diag_model_params %llu, tensors %llu", dir,
                     (int)cases[i].dtype, (unsigned long long)got, (unsigned long long)want);
        emb_model_close(m);
        free(h5);
    }
    uint64_t p;
    assert_int_equal(emb_diag_model_params(NULL, &p), EMB_ERR_INVALID_ARGUMENT);
}

static void test_gemm_arguments(void **state)
{
    (void)state;
    double g = 1.0;
    assert_int_equal(emb_diag_gemm_gflops(0, 1, NULL), EMB_ERR_INVALID_ARGUMENT);
    assert_int_equal(emb_diag_gemm_gflops(0, -1, &g), EMB_ERR_INVALID_ARGUMENT);
    assert_true(g == 0.0);
    assert_int_equal(emb_diag_gemm_gflops(1, 2000, &g), EMB_ERR_INVALID_ARGUMENT);
    assert_true(strstr(emb_last_error(), "n_threads") != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_report),   cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_peak),          cmocka_unit_test(test_text_report),
        cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_model_params),
        cmocka_unit_test(test_gemm_arguments),
        cmocka_unit_test(test_default_threads), cmocka_unit_test(test_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
