/* BPE tokenizers — byte-level (GPT-2, Qwen2, the RoBERTa-style stand-in) and SentencePiece-style (Llama,
 * Mistral: byte fallback, Prepend/Replace or Metaspace) — against the
 * reference ids of HF tokenizers 0.22. */
#include "tok_golden.h"

#define TOKD "tests/fixtures/tokenizers/"

static void check_folder(const char *name)
{
    char dir[256], exp[300];
    snprintf(dir, sizeof dir, TOKD "%s", name);
    snprintf(exp, sizeof exp, "%s/expected.jsonl", dir);
    tok_tokenizer *t = tg_load(dir);
    tg_check_expected(t, exp);
    tok_free(t);
}

static void test_gpt2_expected(void **state) { (void)state; check_folder("gpt2-bpe"); }
static void test_qwen2_expected(void **state) { (void)state; check_folder("qwen2-bpe"); }
/* ModernBERT's pipeline (NFC, ByteLevel, BPE, [CLS] $A [SEP], [MASK] lstrip)
 * on GPT-2's vocabulary: a constructed stand-in (its SOURCE.md) */
static void test_modernbert_style_expected(void **state)
{
    (void)state;
    check_folder("modernbert-style-bpe");
}
static void test_llama_expected(void **state) { (void)state; check_folder("llama-spm"); }
static void test_mistral_expected(void **state) { (void)state; check_folder("mistral-spm"); }
/* GPT-2's real vocabulary and merges under roberta-base's pipeline
 * (RobertaProcessing <s> ... </s>; expected ids from tokenizers 0.23) */
static void test_roberta_expected(void **state) { (void)state; check_folder("roberta-style-bpe"); }
/* Llama 2's real pieces (reduced) under Gemma's pipeline: no prefix space,
 * byte fallback, <bos> ... <eos> (expected ids from tokenizers 0.23) */
static void test_gemma_expected(void **state) { (void)state; check_folder("gemma-style-bpe"); }

/* vocab.json + merges.txt (+ tokenizer_config.json) only, converted as
 * transformers' GPT2Converter does: the same ids as tokenizer.json */
static void test_gpt2_vocab_merges_only(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_copy_file(TOKD "gpt2-bpe/vocab.json", dir, "vocab.json");
    tu_copy_file(TOKD "gpt2-bpe/merges.txt", dir, "merges.txt");
    tu_copy_file(TOKD "gpt2-bpe/tokenizer_config.json", dir, "tokenizer_config.json");
    tok_tokenizer *t = tg_load(dir);
    assert_int_equal(tok_vocab_size(t), 50257);
    assert_int_equal(tok_n_special(t), 0);
    tg_check_expected(t, TOKD "gpt2-bpe/expected.jsonl");
    tok_free(t);
    tu_rmtree(dir);
    free(dir);
}

/* The RoBERTa stand-in as a vocab.json + merges.txt folder with
 * tokenizer_class RobertaTokenizer (its vocabulary, GPT-2's merges, <mask>
 * an lstrip AddedToken): the ids of its tokenizer.json, as transformers
 * 5.25's RobertaTokenizer gives on these files (<s> ... </s> added); without
 * <s> in the vocabulary it is refused. */
static void test_roberta_vocab_merges_only(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    json_error_t err;
    json_t *tok = json_load_file(TOKD "roberta-style-bpe/tokenizer.json", 0, &err);
    assert_non_null(tok);
    json_t *vocab = json_object_get(json_object_get(tok, "model"), "vocab");
    char path[512];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    assert_int_equal(json_dump_file(vocab, path, 0), 0);
    tu_copy_file(TOKD "gpt2-bpe/merges.txt", dir, "merges.txt");
    tu_write_text(dir, "tokenizer_config.json",
                  "{\"tokenizer_class\": \"RobertaTokenizer\", \"add_prefix_space\": false, "
                  "\"mask_token\": {\"__type\": \"AddedToken\", \"content\": \"<mask>\", "
                  "\"lstrip\": true, \"rstrip\": false, \"normalized\": false, "
                  "\"single_word\": false}}");
    tok_tokenizer *t = tg_load(dir);
    assert_int_equal(tok_vocab_size(t), 50261);
    tg_check_expected(t, TOKD "roberta-style-bpe/expected.jsonl");
    tok_free(t);
    json_object_del(vocab, "<s>");
    assert_int_equal(json_dump_file(vocab, path, 0), 0);
    tok_spec spec;
    assert_int_equal(cv_read_tokenizer(dir, &spec), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "RobertaTokenizer without its cls or sep token"));
    json_decref(tok);
    tu_rmtree(dir);
    free(dir);
}

static tok_tokenizer *load_json(const char *json)
{
    char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    tok_tokenizer *t = tg_load(dir);
    tu_rmtree(dir);
    free(dir);
    return t;
}

static void expect(const tok_tokenizer *t, const char *text, const int32_t *want, size_t n)
{
    tok_ids ids = {0};
    assert_int_equal(tok_encode(t, text, strlen(text), 1, 0, &ids), EMB_OK);
    if (ids.n != n || memcmp(ids.ids, want, n * sizeof *want)) {
        print_error("\"%s\": got", text);
        for (size_t i = 0; i < ids.n; i++)
            print_error(" %d", ids.ids[i]);
        print_error("\n");
        fail();
    }
    free(ids.ids);
}

/* added-token options as HF AddedVocabulary: lstrip/rstrip take the
 * whitespace beside the match, single_word needs non-word neighbours,
 * normalized tokens match the normalized text (their content normalized
 * too), the others the raw text. A BPE without merges or pre-tokenizer
 * keeps every space visible as id 0. */
static void test_added_token_options(void **state)
{
    (void)state;
    const char *head = "{\"normalizer\":{\"type\":\"Lowercase\"},\"model\":{\"type\":\"BPE\",\"merges\":[],"
                       "\"vocab\":{\" \":0,\"a\":1,\"b\":2,\"z\":3,\"<\":4,\">\":5,\"m\":6}},\"added_tokens\":[";
    char json[2048];
    snprintf(json, sizeof json, "%s%s", head,
             "{\"id\":10,\"content\":\"<m>\",\"lstrip\":true,\"normalized\":false,\"special\":true},"
             "{\"id\":11,\"content\":\"zz\",\"single_word\":true,\"normalized\":false},"
             "{\"id\":12,\"content\":\"AB\",\"normalized\":true},"
             "{\"id\":13,\"content\":\"<R>\",\"rstrip\":true,\"normalized\":false}]}");
    tok_tokenizer *t = load_json(json);
    expect(t, "a  <m> b", (int32_t[]){1, 10, 0, 2}, 4);        /* lstrip eats both spaces */
    expect(t, "a <R>  b", (int32_t[]){1, 0, 13, 2}, 4);        /* rstrip eats both spaces */
    expect(t, "a <r> b", (int32_t[]){1, 0, 4, 5, 0, 2}, 6); /* raw tokens are case-sensitive; "r" has no id and no unk: dropped */
    expect(t, "azz b", (int32_t[]){1, 3, 3, 0, 2}, 5);         /* not a single word */
    expect(t, "a zz b", (int32_t[]){1, 0, 11, 0, 2}, 5);
    expect(t, "zz", (int32_t[]){11}, 1);
    expect(t, "a Ab", (int32_t[]){1, 0, 12}, 3);               /* normalized: matches after lowercasing */
    expect(t, "aAB", (int32_t[]){1, 12}, 2);
    tok_free(t);
}

static void check_llamacpp(const char *folder, const char *prefix)
{
    tok_tokenizer *t = tg_load(folder);
    tg_check_llamacpp(t, prefix);
    tok_free(t);
}

static void test_llamacpp_vectors(void **state)
{
    (void)state;
    check_llamacpp(TOKD "gpt2-bpe", "ggml-vocab-gpt-2.gguf");
    check_llamacpp(TOKD "qwen2-bpe", "ggml-vocab-qwen2.gguf");
    check_llamacpp(TOKD "qwen2-bpe", "ggml-vocab-deepseek-r1-qwen.gguf");
    check_llamacpp(TOKD "llama-spm", "ggml-vocab-llama-spm.gguf");
    check_llamacpp(TOKD "llama-spm", "ggml-vocab-phi-3.gguf");
}

static void test_model_fixtures(void **state)
{
    (void)state;
    /* truncation lengths from each golden README (0 = none) */
    static const struct { const char *dir; size_t max; } fx[] = {
        {"tests/fixtures/models/mistral-e5", 128},
        {"tests/fixtures/models/qwen2-gte", 256},
        {"tests/fixtures/models/qwen3-emb", 200},
        {"tests/fixtures/models/mistral-lm", 0},
        {"tests/fixtures/models/roberta-st", 512},
    };
    for (size_t i = 0; i < sizeof fx / sizeof *fx; i++) {
        tok_tokenizer *t = tg_load(fx[i].dir);
        char path[300];
        snprintf(path, sizeof path, "%.200s/golden/cases.jsonl", fx[i].dir);
        tg_check_cases(t, path, fx[i].max);
        tok_free(t);
    }
}

/* 100k characters through the SentencePiece pipeline, which has no
 * pre-tokenizer: the whole text is one BPE word (heap merges, not quadratic) */
static void test_long_word(void **state)
{
    (void)state;
    tok_tokenizer *t = tg_load(TOKD "llama-spm");
    size_t n = 100000;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 7 == 6) ? ' ' : (char)('a' + (i * 31 % 26));
    tok_ids ids = {0};
    assert_int_equal(tok_encode(t, big, n, 1, 0, &ids), EMB_OK);
    assert_true(ids.n > 10000 && ids.n < 100000);
    assert_int_equal(ids.ids[0], 1);
    /* the same text in 7-character chunks gives the same ids (each chunk
     * starts with a space after the first, so merges never cross them) */
    tok_ids part = {0};
    size_t total = 1;
    assert_int_equal(tok_encode(t, big, 6, 1, 0, &part), EMB_OK);
    for (size_t k = 0; k < part.n; k++)
        assert_int_equal(ids.ids[k], part.ids[k]);
    total = part.n;
    (void)total;
    free(part.ids);
    free(ids.ids);
    free(big);
    tok_free(t);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    tok_tokenizer *t = tg_load(TOKD "gpt2-bpe");
    tok_ids ids = {0};
    assert_int_equal(tok_encode(t, "ab\xff", 3, 1, 0, &ids), EMB_ERR_INVALID_UTF8);
    assert_int_equal(tok_encode(t, "", 0, 1, 0, &ids), EMB_OK);
    assert_int_equal(ids.n, 0); /* GPT-2 adds nothing */
    free(ids.ids);
    tok_free(t);
}

/* random texts never crash, invalid UTF-8 is refused, ids stay in range */
static void test_fuzz(void **state)
{
    (void)state;
    tok_tokenizer *t;
    t = tg_load("tests/fixtures/tokenizers/gpt2-bpe");
    tg_fuzz(t, 1234567, 3000);
    tok_free(t);
    t = tg_load("tests/fixtures/tokenizers/qwen2-bpe");
    tg_fuzz(t, 1234568, 3000);
    tok_free(t);
    t = tg_load("tests/fixtures/tokenizers/llama-spm");
    tg_fuzz(t, 1234569, 3000);
    tok_free(t);
    t = tg_load("tests/fixtures/tokenizers/mistral-spm");
    tg_fuzz(t, 1234570, 3000);
    tok_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2_expected),
        cmocka_unit_test(test_qwen2_expected),
        cmocka_unit_test(test_modernbert_style_expected),
        cmocka_unit_test(test_llama_expected),
        cmocka_unit_test(test_mistral_expected),
        cmocka_unit_test(test_roberta_expected),
        cmocka_unit_test(test_gemma_expected),
        cmocka_unit_test(test_gpt2_vocab_merges_only),
        cmocka_unit_test(test_roberta_vocab_merges_only),
        cmocka_unit_test(test_added_token_options),
        cmocka_unit_test(test_llamacpp_vectors),
        cmocka_unit_test(test_model_fixtures),
        cmocka_unit_test(test_long_word),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
