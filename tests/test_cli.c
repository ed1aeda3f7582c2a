/* The emb program end to end: convert, info, tokenize, embed (jsonl and
 * f32, equal to the C API's vectors), similarity, search on the default
 * model, and clean failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"

static char *tmp;
static char *model_path;
static const char *emb_bin;

static int setup(void **state)
{
    (void)state;
    emb_bin = tu_emb_bin();
    tmp = tu_tmpdir();
    model_path = malloc(1024);
    snprintf(model_path, 1024, "%s/bert.h5", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    free(model_path);
    return 0;
}


static void test_convert_and_info(void **state)
{
    (void)state;
    assert_int_equal(tu_run(NULL, "%s convert tests/fixtures/models/bert-e5 %s", emb_bin, model_path), 0);
    char *out = NULL;
    assert_int_equal(tu_run(&out, "%s info -m %s", emb_bin, model_path), 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "dim")), 32);
    assert_string_equal(json_string_value(json_object_get(j, "architecture")), "bert");
    assert_true(json_is_true(json_object_get(j, "normalize")));
    json_decref(j);
    free(out);
}

static void test_tokenize(void **state)
{
    (void)state;
    char *out = NULL;
    /* the default model when no -m is given: all-MiniLM-L6-v2 if fetched, else the
     * demo wordnet-mini; both have bert-base-uncased's vocabulary */
    assert_int_equal(tu_run(&out, "printf 'hello world\\n\\n' | env -u EMB_MODEL %s tokenize", emb_bin), 0);
    assert_string_equal(out, "[101,7592,2088,102]\n[101,102]\n");
    free(out);
    assert_int_equal(tu_run(&out, "printf '\"hello\\\\u0000world\"\\n' | env -u EMB_MODEL %s tokenize "
                               "--jsonl --no-special", emb_bin), 0);
    /* BertNormalizer's clean_text drops U+0000: "helloworld" = hello ##world */
    assert_string_equal(out, "[7592,11108]\n");
    free(out);
}

static void test_embed_matches_api(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(tu_run(&out, "printf 'first text\\nsecond one\\n' | %s embed --kind query -m %s",
                         emb_bin, model_path), 0);
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(model_path, NULL, &m), EMB_OK);
    emb_text t[2] = { { "first text", 10 }, { "second one", 10 } };
    float want[64], got[64];
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = EMB_KIND_QUERY;
    assert_int_equal(emb_encode(m, t, 2, &o, want), EMB_OK);
    char *line = out;
    for (int i = 0; i < 2; i++) {
        json_error_t err;
        json_t *arr = json_loadb(line, strcspn(line, "\n"), 0, &err);
        assert_non_null(arr);
        assert_int_equal(tu_json_floats(arr, got + 32 * i, 32), 32);
        json_decref(arr);
        line += strcspn(line, "\n") + 1;
    }
    assert_memory_equal(got, want, sizeof want); /* %.9g round-trips floats */
    free(out);
    /* raw float32 output: 2 x 32 x 4 bytes, the same numbers */
    char path[1100];
    snprintf(path, sizeof path, "%s/vec.f32", tmp);
    assert_int_equal(tu_run(NULL, "printf 'first text\\nsecond one\\n' | %s embed --kind query "
                               "--format f32 --batch 1 -m %s > %s", emb_bin, model_path, path), 0);
    size_t len = 0;
    char *raw = tu_read_file(path, &len);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(raw, want, sizeof want);
    free(raw);
    emb_model_close(m);
}

/* The texts of the --compute tests: short, long (truncated), non-ASCII. */
static const char *const compute_texts[] = {
    "first text", "second one, a little longer than the first",
    "the quick brown fox jumps over the lazy dog while seven green birds sing about rivers "
    "mountains cities music water light paper stone garden winter summer and more words",
    "na\xc3\xafve caf\xc3\xa9 \xc3\xbc" "ber",
};
#define N_COMPUTE_TEXTS (sizeof compute_texts / sizeof *compute_texts)

/* `emb embed --format f32` of compute_texts with `args`, into out[n * 32];
 * returns the exit status and leaves stderr in *err (malloc'ed). */
static int embed_compute_texts(const char *args, float *out, char **err)
{
    char in[1100], vec[1100], errp[1100];
    snprintf(in, sizeof in, "%s/compute.txt", tmp);
    snprintf(vec, sizeof vec, "%s/compute.f32", tmp);
    snprintf(errp, sizeof errp, "%s/compute.err", tmp);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    for (size_t i = 0; i < N_COMPUTE_TEXTS; i++)
        fprintf(f, "%s\n", compute_texts[i]);
    fclose(f);
    int rc = tu_run(NULL, "%s embed -m %s --format f32 %s < %s > %s 2> %s", emb_bin, model_path,
                    args, in, vec, errp);
    size_t len = 0;
    *err = tu_read_file(errp, &len);
    if (rc == 0) {
        char *raw = tu_read_file(vec, &len);
        assert_int_equal(len, N_COMPUTE_TEXTS * 32 * sizeof *out);
        memcpy(out, raw, len);
        free(raw);
    }
    return rc;
}

/* `emb embed --compute bf16`: where the library opens the model with
 * EMB_COMPUTE_BF16 (a CPU with AVX512_BF16), the vectors are the C API's
 * BF16 ones bitwise, not the f32 ones, and within cosine 0.999 of them;
 * where it refuses (EMB_ERR_UNSUPPORTED), the command fails with status 1
 * and the library's status on stderr. */
static void test_embed_compute_bf16(void **state)
{
    (void)state;
    float f32[N_COMPUTE_TEXTS * 32], bf16[N_COMPUTE_TEXTS * 32], api[N_COMPUTE_TEXTS * 32];
    char *err = NULL;
    assert_int_equal(embed_compute_texts("--compute f32", f32, &err), 0);
    free(err);
    float plain[N_COMPUTE_TEXTS * 32];
    assert_int_equal(embed_compute_texts("", plain, &err), 0);
    free(err);
    assert_memory_equal(plain, f32, sizeof f32); /* f32 is the default */

    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.compute = EMB_COMPUTE_BF16;
    emb_model *m = NULL;
    emb_status st = emb_model_open(model_path, &oo, &m);
    int rc = embed_compute_texts("--compute bf16", bf16, &err);
    if (st != EMB_OK) {
        assert_int_equal(st, EMB_ERR_UNSUPPORTED);
        assert_true(WIFEXITED(rc));
        assert_int_equal(WEXITSTATUS(rc), 1);
        assert_non_null(strstr(err, "EMB_ERR_UNSUPPORTED"));
        assert_non_null(strstr(err, "AVX512_BF16"));
        free(err);
        return;
    }
    assert_int_equal(rc, 0);
    free(err);
    emb_text t[N_COMPUTE_TEXTS];
    for (size_t i = 0; i < N_COMPUTE_TEXTS; i++) {
        t[i].data = compute_texts[i];
        t[i].len = strlen(compute_texts[i]);
    }
    assert_int_equal(emb_encode(m, t, N_COMPUTE_TEXTS, NULL, api), EMB_OK);
    emb_model_close(m);
    assert_memory_equal(bf16, api, sizeof api);
    assert_memory_not_equal(bf16, f32, sizeof f32); /* the option reached the library */
    for (size_t i = 0; i < N_COMPUTE_TEXTS; i++) {
        float cos = 0;
        assert_int_equal(emb_cosine(bf16 + 32 * i, f32 + 32 * i, 32, &cos), EMB_OK);
        if (cos < 0.999f)
            fail_msg("text %zu ('%s'): cosine bf16 vs f32 %.6f < 0.999", i, compute_texts[i],
                     (double)cos);
    }
}

/* An unknown --compute value is a usage error (status 2, a clear message)
 * in every command that takes it, before any model is opened. */
static void test_compute_bad_value(void **state)
{
    (void)state;
    static const char *const cmds[] = {
        "embed", "similarity a b", "search q", "serve --port 0", "bench",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char *out = NULL;
        int rc = tu_run(&out, "%s %s -m /nonexistent.h5 --compute fp8 2>&1 < /dev/null", emb_bin,
                        cmds[i]);
        assert_true(WIFEXITED(rc));
        if (WEXITSTATUS(rc) != 2 || !strstr(out, "--compute must be f32 or bf16 (got 'fp8')"))
            fail_msg("emb %s --compute fp8: status %d, output: %s", cmds[i], WEXITSTATUS(rc),
                     out);
        free(out);
    }
}

static void test_similarity(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(tu_run(&out, "%s similarity -m %s 'a cat' 'a cat'", emb_bin, model_path), 0);
    assert_true(atof(out) > 0.9999);
    free(out);
}

static void test_search_builtin(void **state)
{
    (void)state;
    char *out = NULL;
    /* the default model, whichever it is (all-MiniLM-L6-v2 if fetched, else the
     * demo wordnet-mini; tests/test_cli_default_model.c tests the choice): both
     * rank the answering passage first */
    assert_int_equal(tu_run(&out, "env -u EMB_MODEL %s search --top 3 'How do plants make food?' "
                               "< examples/passages.txt", emb_bin), 0);
    /* best first: "score<TAB>text"; the photosynthesis passage answers it */
    assert_non_null(strstr(out, "\tPhotosynthesis"));
    assert_true(strstr(out, "\tPhotosynthesis") < strchr(out, '\n'));
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(out);
    assert_int_equal(tu_run(&out, "env -u EMB_MODEL %s search --jsonl --top 1 "
                               "'Which organ pumps blood?' < examples/passages.txt", emb_bin), 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "rank")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "heart"));
    json_decref(j);
    free(out);
}

/* `emb convert tests/fixtures/models/<fixture> <tmp>/<name> <options>`, then
 * `emb info` of the file as JSON (the caller frees it). */
static json_t *convert_info(const char *fixture, const char *name, const char *options)
{
    char path[1100], *out = NULL;
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    assert_int_equal(tu_run(NULL, "%s convert tests/fixtures/models/%s %s %s", emb_bin, fixture,
                            path, options), 0);
    assert_int_equal(tu_run(&out, "%s info -m %s", emb_bin, path), 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    assert_non_null(j);
    free(out);
    return j;
}

/* --dtype int8: an encoder converts (info says int8, format 1.2); a decoder
 * fails with the library's EMB_ERR_UNSUPPORTED (status 1) and no file; an
 * unknown dtype is a usage error (status 2) naming the choices. */
static void test_convert_int8(void **state)
{
    (void)state;
    char *out = NULL;
    char path[1100];
    json_t *j = convert_info("bge-cls", "int8.h5", "--dtype int8");
    assert_string_equal(json_string_value(json_object_get(j, "weights_dtype")), "int8");
    assert_string_equal(json_string_value(json_object_get(j, "format_version")), "1.2");
    json_decref(j);
    snprintf(path, sizeof path, "%s/q3-int8.h5", tmp);
    int rc = tu_run(&out, "%s convert tests/fixtures/models/qwen3-emb %s --dtype int8 2>&1",
                    emb_bin, path);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    assert_non_null(strstr(out, "EMB_ERR_UNSUPPORTED"));
    assert_null(fopen(path, "rb"));
    free(out);
    rc = tu_run(&out, "%s convert tests/fixtures/models/bge-cls %s --dtype int4 2>&1", emb_bin,
                path);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    assert_non_null(strstr(out, "f32, f16, bf16 or int8"));
    free(out);
}

/* --strip yes|no: the file's strip rule (info "strip"); without it, no
 * strip (as sentence-transformers 5.4 and later); anything else is a usage
 * error (status 2). */
static void test_convert_strip(void **state)
{
    (void)state;
    static const char *const opts[] = { "", "--strip no", "--strip yes" };
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "strip%d.h5", i);
        json_t *j = convert_info("roberta-st", name, opts[i]);
        json_t *strip = json_object_get(j, "strip");
        assert_true(i == 2 ? json_is_true(strip) : json_is_false(strip));
        json_decref(j);
    }
    char *out = NULL;
    int rc = tu_run(&out, "%s convert tests/fixtures/models/roberta-st %s/x.h5 --strip maybe 2>&1",
                    emb_bin, tmp);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    assert_non_null(strstr(out, "--strip must be yes or no"));
    free(out);
}

/* emb info shows the sentence-transformers modules after the Transformer:
 * pooling modes, include_prompt, Dense modules; embed gives their dim. */
static void test_info_st_modules(void **state)
{
    (void)state;
    char *out = NULL;
    char path[1100];
    snprintf(path, sizeof path, "%s/dense.h5", tmp);
    json_t *j = convert_info("bert-dense", "dense.h5", "");
    assert_string_equal(json_string_value(json_object_get(j, "pooling")), "max");
    assert_string_equal(json_string_value(json_object_get(j, "dense")),
                        "32->64 tanh, 64->16 identity");
    assert_true(json_is_true(json_object_get(j, "include_prompt")));
    assert_string_equal(json_string_value(json_object_get(j, "format_version")), "1.3");
    json_decref(j);
    assert_int_equal(tu_run(&out, "echo hello | %s embed -m %s", emb_bin, path), 0);
    json_error_t err;
    j = json_loads(out, JSON_DISABLE_EOF_CHECK, &err);
    assert_non_null(j);
    json_t *v = json_is_array(j) ? j : json_object_get(j, "embedding");
    assert_int_equal(json_array_size(v), 16);
    json_decref(j);
    free(out);
}

static void test_failures(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = tu_run(&out, "echo hi | %s embed -m /nonexistent.h5 2>&1", emb_bin);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "EMB_ERR_IO"));
    free(out);
    rc = tu_run(&out, "%s convert /nonexistent-dir %s/x.h5 2>&1", emb_bin, tmp);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "not a directory"));
    free(out);
    rc = tu_run(&out, "printf '\\377\\n' | %s embed -m %s 2>&1", emb_bin, model_path);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "EMB_ERR_INVALID_UTF8"));
    free(out);
    assert_int_not_equal(tu_run(NULL, "%s frobnicate 2>/dev/null", emb_bin), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert_and_info),
        cmocka_unit_test(test_info_st_modules),
        cmocka_unit_test(test_tokenize),
        cmocka_unit_test(test_embed_matches_api),
        cmocka_unit_test(test_embed_compute_bf16),
        cmocka_unit_test(test_compute_bad_value),
        cmocka_unit_test(test_similarity),
        cmocka_unit_test(test_search_builtin),
        cmocka_unit_test(test_convert_int8),
        cmocka_unit_test(test_convert_strip),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests_name("cli", tests, setup, teardown);
}
