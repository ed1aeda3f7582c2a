/* The emb program end to end: convert, info, tokenize, embed (jsonl and
 * f32, equal to the C API's vectors), similarity, search on the built-in
 * model, and clean failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* the built-in model (full bert-base-uncased vocabulary) when no -m is given */
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
    assert_int_equal(tu_run(&out, "%s search --jsonl --top 1 'Which organ pumps blood?' "
                               "< examples/passages.txt", emb_bin), 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "rank")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "heart"));
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
        cmocka_unit_test(test_tokenize),
        cmocka_unit_test(test_embed_matches_api),
        cmocka_unit_test(test_similarity),
        cmocka_unit_test(test_search_builtin),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests_name("cli", tests, setup, teardown);
}
