/* emb convert's overrides, stored in the model file: prompts per kind,
 * attention (causal / bidirectional) for decoders, appending EOS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char *tmp;

static int setup(void **state)
{
    (void)state;
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

static emb_model *convert_open(const char *dir, const char *name, const emb_convert_options *o)
{
    char *path = tu_convert(dir, tmp, name, o);
    emb_model *m = NULL;
    emb_status st = emb_model_open(path, NULL, &m);
    free(path);
    if (st != EMB_OK) {
        print_error("%s\n", emb_last_error());
        fail();
    }
    return m;
}

static void encode(emb_model *m, emb_kind kind, const char *text, float *out)
{
    emb_text t = { text, strlen(text) };
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = kind;
    assert_int_equal(emb_encode(m, &t, 1, &o, out), EMB_OK);
}

static void test_prompt_overrides(void **state)
{
    (void)state;
    emb_model *plain = convert_open("tests/fixtures/models/bert-e5", "plain.h5", NULL);
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.prompt_query = "passage: ";
    o.prompt_passage = "";
    o.prompt_none = "query: ";
    emb_model *m = convert_open("tests/fixtures/models/bert-e5", "prompts.h5", &o);
    assert_string_equal(emb_model_meta(m, "prompt.query"), "passage: ");
    assert_null(emb_model_meta(m, "prompt.passage"));
    assert_string_equal(emb_model_meta(m, "prompt.default"), "query: ");
    const char *text = "how much protein should a female eat";
    float a[32], b[32];
    encode(m, EMB_KIND_QUERY, text, a); /* "passage: " + text */
    encode(plain, EMB_KIND_PASSAGE, text, b);
    assert_memory_equal(a, b, sizeof a);
    encode(m, EMB_KIND_PASSAGE, text, a); /* no prompt */
    encode(plain, EMB_KIND_NONE, text, b);
    assert_memory_equal(a, b, sizeof a);
    encode(m, EMB_KIND_NONE, text, a); /* the default prompt */
    encode(plain, EMB_KIND_QUERY, text, b);
    assert_memory_equal(a, b, sizeof a);
    emb_model_close(m);
    emb_model_close(plain);
    emb_convert_options_init(&o);
    o.prompt_query = "\xff";
    char path[1024];
    snprintf(path, sizeof path, "%s/bad.h5", tmp);
    assert_int_equal(emb_convert("tests/fixtures/models/bert-e5", path, &o), EMB_ERR_INVALID_UTF8);
}

/* gemma3_text's reference attention is its config's
 * use_bidirectional_attention: the default (-1) keeps it, 0 forces causal
 * (another vector), and a value outside -1 .. 1 is refused. */
static void test_attention_reference(void **state)
{
    (void)state;
    emb_model *ref = convert_open("tests/fixtures/models/gemma-st", "gemma.h5", NULL);
    assert_string_equal(emb_model_meta(ref, "attention"), "bidirectional");
    emb_convert_options o;
    emb_convert_options_init(&o);
    assert_int_equal(o.attention, -1);
    o.attention = 0;
    emb_model *causal = convert_open("tests/fixtures/models/gemma-st", "gemma-causal.h5", &o);
    assert_string_equal(emb_model_meta(causal, "attention"), "causal");
    size_t dim = emb_model_dim(ref);
    assert_int_equal(dim, 32);
    float a[32], b[32];
    encode(ref, EMB_KIND_NONE, "two words here", a);
    encode(causal, EMB_KIND_NONE, "two words here", b);
    assert_memory_not_equal(a, b, sizeof a);
    emb_model_close(ref);
    emb_model_close(causal);
    char path[1024];
    snprintf(path, sizeof path, "%s/gemma-bad.h5", tmp);
    o.attention = 2;
    assert_int_equal(emb_convert("tests/fixtures/models/gemma-st", path, &o),
                     EMB_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(emb_last_error(), "attention must be -1 (as the reference)"));
}

static void test_attention_override(void **state)
{
    (void)state;
    emb_model *causal = convert_open("tests/fixtures/models/qwen2-gte", "causal.h5", NULL);
    assert_string_equal(emb_model_meta(causal, "attention"), "causal");
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.attention = 1;
    emb_model *bi = convert_open("tests/fixtures/models/qwen2-gte", "bi.h5", &o);
    assert_string_equal(emb_model_meta(bi, "attention"), "bidirectional");
    size_t dim = emb_model_dim(bi);
    float *a = calloc(dim, sizeof *a), *b = calloc(dim, sizeof *b);
    encode(causal, EMB_KIND_NONE, "two words", a);
    encode(bi, EMB_KIND_NONE, "two words", b);
    /* last-token pooling: with bidirectional attention earlier tokens see
     * later ones, so the vector changes */
    assert_memory_not_equal(a, b, dim * sizeof *a);
    /* a one-token input has nothing to see either way: same vector */
    int32_t ids[8];
    size_t n = 0;
    assert_int_equal(emb_tokenize(bi, "", 0, NULL, ids, 8, &n), EMB_OK);
    assert_int_equal(n, 1);
    encode(causal, EMB_KIND_NONE, "", a);
    encode(bi, EMB_KIND_NONE, "", b);
    assert_memory_equal(a, b, dim * sizeof *a);
    free(a);
    free(b);
    emb_model_close(causal);
    emb_model_close(bi);
    /* encoders are bidirectional already: the override is refused */
    char path[1024];
    snprintf(path, sizeof path, "%s/bert-bi.h5", tmp);
    assert_int_equal(emb_convert("tests/fixtures/models/bert-e5", path, &o), EMB_ERR_INVALID_ARGUMENT);
}

static size_t ids_of(emb_model *m, const char *text, int32_t *ids)
{
    size_t n = 0;
    assert_int_equal(emb_tokenize(m, text, strlen(text), NULL, ids, 256, &n), EMB_OK);
    return n;
}

static void test_append_eos(void **state)
{
    (void)state;
    int32_t ids[256];
    /* mistral-lm adds only <s> (id 1); </s> is id 2 */
    emb_model *m = convert_open("tests/fixtures/models/mistral-lm", "lm.h5", NULL);
    size_t n = ids_of(m, "hello", ids);
    assert_int_equal(ids[0], 1);
    assert_int_not_equal(ids[n - 1], 2);
    emb_model_close(m);
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.append_eos = 1;
    m = convert_open("tests/fixtures/models/mistral-lm", "lm-eos.h5", &o);
    size_t n2 = ids_of(m, "hello", ids);
    assert_int_equal(n2, n + 1);
    assert_int_equal(ids[n2 - 1], 2);
    emb_model_close(m);
    /* qwen3-emb's post-processor appends <|endoftext|>; --append-eos no drops it,
     * yes keeps exactly one */
    m = convert_open("tests/fixtures/models/qwen3-emb", "q3.h5", NULL);
    n = ids_of(m, "hello", ids);
    int32_t eos = ids[n - 1];
    emb_model_close(m);
    o.append_eos = 0;
    m = convert_open("tests/fixtures/models/qwen3-emb", "q3-noeos.h5", &o);
    n2 = ids_of(m, "hello", ids);
    assert_int_equal(n2, n - 1);
    assert_int_not_equal(ids[n2 - 1], eos);
    emb_model_close(m);
    o.append_eos = 1;
    m = convert_open("tests/fixtures/models/qwen3-emb", "q3-eos.h5", &o);
    assert_int_equal(ids_of(m, "hello", ids), n);
    assert_int_equal(ids[n - 1], eos);
    emb_model_close(m);
}

/* The ids of the model's input for text (its policy applied, as emb_encode). */
static size_t input_ids(emb_model *m, const char *text, int32_t *ids)
{
    emb_tokenize_options o;
    emb_tokenize_options_init(&o);
    o.apply_prompt = 1;
    size_t n = 0;
    assert_int_equal(emb_tokenize(m, text, strlen(text), &o, ids, 64, &n), EMB_OK);
    return n;
}

/* strip: the default (-1) feeds (prompt + text) as is, as
 * sentence-transformers 5.4 and later; 1 str.strip()s it as up to 5.3 did,
 * and the file keeps that choice (roberta-st: byte-level BPE, where the
 * surrounding spaces are tokens). Other values, and 1 with a template, are
 * refused. (Goldens of both: test_golden's roberta-st whitespace cases.) */
static void test_strip(void **state)
{
    (void)state;
    const char *dir = "tests/fixtures/models/roberta-st";
    emb_convert_options o;
    emb_convert_options_init(&o);
    assert_int_equal(o.strip, -1);
    emb_model *as_is = convert_open(dir, "as-is.h5", &o);
    o.strip = 1;
    emb_model *stripped = convert_open(dir, "stripped.h5", &o);
    o.strip = 0;
    emb_model *zero = convert_open(dir, "zero.h5", &o);
    assert_string_equal(emb_model_meta(as_is, "strip"), "false");
    assert_string_equal(emb_model_meta(zero, "strip"), "false");
    assert_string_equal(emb_model_meta(stripped, "strip"), "true");
    int32_t a[64], b[64], c[64];
    size_t na = input_ids(as_is, " \u3000hi there\t", a);
    size_t nb = input_ids(stripped, " \u3000hi there\t", b);
    size_t nc = input_ids(stripped, "hi there", c);
    assert_true(na > nb);
    assert_int_equal(nb, nc);
    assert_memory_equal(b, c, nb * sizeof *b);
    assert_int_equal(input_ids(zero, " \u3000hi there\t", c), na);
    assert_memory_equal(a, c, na * sizeof *a);
    emb_model_close(as_is);
    emb_model_close(stripped);
    emb_model_close(zero);
    char path[1024];
    snprintf(path, sizeof path, "%s/strip-bad.h5", tmp);
    o.strip = 2;
    assert_int_equal(emb_convert(dir, path, &o), EMB_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(emb_last_error(), "strip must be -1, 0 or 1"));
    o.strip = 1;
    o.template_ = "[{text}]";
    assert_int_equal(emb_convert(dir, path, &o), EMB_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(emb_last_error(), "strip 1 with a template"));
    assert_int_equal(access(path, F_OK), -1);
}

/* sentence_bert_config.json do_lower_case: the input string is lowercased
 * (Python str.lower()) after prompt and strip */
static void test_do_lower_case(void **state)
{
    (void)state;
    char dir[512], cmd[4096];
    snprintf(dir, sizeof dir, "%s/qwen2-lower", tmp);
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/models/qwen2-gte %s && chmod -R u+w %s && "
             "printf '{\"max_seq_length\": 256, \"do_lower_case\": true}' > %s/sentence_bert_config.json",
             dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.strip = 1;
    emb_model *lower = convert_open(dir, "lower.h5", &co);
    emb_model *plain = convert_open("tests/fixtures/models/qwen2-gte", "plain-q2.h5", &co);
    assert_string_equal(emb_model_meta(lower, "lowercase"), "true");
    assert_string_equal(emb_model_meta(plain, "lowercase"), "false");
    emb_tokenize_options o;
    emb_tokenize_options_init(&o);
    o.apply_prompt = 1;
    int32_t a[64], b[64];
    size_t na = 0, nb = 0;
    const char *upper = "  HELLO W\xc3\x96RLD \xc4\xb0 ", *lowered = "hello w\xc3\xb6rld i\xcc\x87";
    assert_int_equal(emb_tokenize(lower, upper, strlen(upper), &o, a, 64, &na), EMB_OK);
    assert_int_equal(emb_tokenize(plain, lowered, strlen(lowered), &o, b, 64, &nb), EMB_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    assert_int_equal(emb_tokenize(plain, upper, strlen(upper), &o, b, 64, &nb), EMB_OK);
    assert_true(na != nb || memcmp(a, b, na * sizeof *a) != 0);
    emb_model_close(lower);
    emb_model_close(plain);
}

/* transformers' LlamaTokenizerFast rebuilds BOS/EOS from tokenizer_config.json
 * (add_bos_token default true, add_eos_token default false) */
static void test_llama_class_specials(void **state)
{
    (void)state;
    char dir[512], cmd[4096];
    snprintf(dir, sizeof dir, "%s/lm-eos", tmp);
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/models/mistral-lm %s && chmod -R u+w %s && "
             "sed -i -e 's/\"add_eos_token\": false/\"add_eos_token\": true/' "
             "-e 's/\"add_bos_token\": true/\"add_bos_token\": false/' %s/tokenizer_config.json",
             dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    int32_t ids[256];
    emb_model *plain = convert_open("tests/fixtures/models/mistral-lm", "lm-plain.h5", NULL);
    size_t n = ids_of(plain, "hello", ids);
    assert_int_equal(ids[0], 1);
    int32_t last = ids[n - 1];
    assert_int_not_equal(last, 2);
    emb_model_close(plain);
    emb_model *m = convert_open(dir, "lm-class.h5", NULL);
    size_t n2 = ids_of(m, "hello", ids);
    assert_int_equal(n2, n); /* one <s> fewer, one </s> more */
    assert_int_not_equal(ids[0], 1);
    assert_int_equal(ids[n2 - 1], 2);
    emb_model_close(m);
}

/* Architecture and tokenizer are independent: a BertModel with an XLM-R
 * Unigram tokenizer (what multilingual-e5-small is) */
static void test_bert_with_unigram(void **state)
{
    (void)state;
    char dir[512], cmd[4096];
    snprintf(dir, sizeof dir, "%s/bert-unigram", tmp);
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/models/bert-e5 %s && chmod -R u+w %s && "
             "rm %s/vocab.txt && cp tests/fixtures/models/xlmr-me5/tokenizer.json "
             "tests/fixtures/models/xlmr-me5/tokenizer_config.json "
             "tests/fixtures/models/xlmr-me5/special_tokens_map.json %s/", dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    emb_convert_options co; /* the xlmr-me5 goldens' inputs are str.strip()-ed */
    emb_convert_options_init(&co);
    co.strip = 1;
    emb_model *m = convert_open(dir, "bert-unigram.h5", &co);
    assert_string_equal(emb_model_meta(m, "architecture"), "bert");
    assert_string_equal(emb_model_meta(m, "tokenizer"), "unigram");
    /* ids as the XLM-R fixture's goldens (same prompts; cases within 64 tokens) */
    json_t *cases = tu_read_jsonl("tests/fixtures/models/xlmr-me5/golden/cases.jsonl");
    size_t checked = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        int32_t want[256], got[256];
        size_t n_want = tu_json_ints(json_object_get(c, "ids"), want, 256), n = 0;
        if (n_want > 64)
            continue;
        const char *kind = json_string_value(json_object_get(c, "kind"));
        emb_tokenize_options o;
        emb_tokenize_options_init(&o);
        o.apply_prompt = 1;
        o.kind = tu_golden_kind(kind);
        json_t *text = json_object_get(c, "text");
        assert_int_equal(emb_tokenize(m, json_string_value(text), json_string_length(text), &o,
                                      got, 256, &n), EMB_OK);
        assert_int_equal(n, n_want);
        assert_memory_equal(got, want, n * sizeof *got);
        float v[32], norm = 0;
        emb_text t = { json_string_value(text), json_string_length(text) };
        emb_encode_options eo;
        emb_encode_options_init(&eo);
        eo.kind = o.kind;
        assert_int_equal(emb_encode(m, &t, 1, &eo, v), EMB_OK);
        for (int k = 0; k < 32; k++)
            norm += v[k] * v[k];
        assert_float_equal(norm, 1.0f, 1e-4);
        checked++;
    }
    assert_true(checked >= 20);
    json_decref(cases);
    emb_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_overrides),
        cmocka_unit_test(test_attention_override),
        cmocka_unit_test(test_attention_reference),
        cmocka_unit_test(test_append_eos),
        cmocka_unit_test(test_strip),
        cmocka_unit_test(test_do_lower_case),
        cmocka_unit_test(test_llama_class_specials),
        cmocka_unit_test(test_bert_with_unigram),
    };
    return cmocka_run_group_tests_name("convert_options", tests, setup, teardown);
}
