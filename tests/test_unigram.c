/* Unigram tokenizers (T5: Precompiled + WhitespaceSplit + legacy Metaspace;
 * XLM-R style: Precompiled + Replace + Metaspace; CamemBERT style:
 * Precompiled + WhitespaceSplit + Metaspace, <s>=5 ... </s>=6 and the
 * NOTUSED specials) against the reference ids of HF tokenizers 0.22 (0.23
 * for the CamemBERT style). */
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

static void test_t5_expected(void **state) { (void)state; check_folder("t5-unigram"); }
static void test_xlmr_expected(void **state) { (void)state; check_folder("xlmr-style-unigram"); }
static void test_camembert_expected(void **state) { (void)state; check_folder("camembert-style-unigram"); }

static void test_model_fixture(void **state)
{
    (void)state;
    tok_tokenizer *t = tg_load("tests/fixtures/models/xlmr-me5");
    tg_check_cases(t, "tests/fixtures/models/xlmr-me5/golden/cases.jsonl", 96); /* README: max_length=96 */
    tok_free(t);
    t = tg_load("tests/fixtures/models/camembert-st");
    tg_check_cases(t, "tests/fixtures/models/camembert-st/golden/cases.jsonl", 128);
    tok_free(t);
}

/* a hand-made Unigram: Viterbi picks the best-scoring split, a run of
 * unknown characters is one unk, byte fallback spells unknown text as bytes */
static tok_tokenizer *tiny(int byte_fallback)
{
    static const char *pieces[] = {"<unk>", "a", "b", "ab", "abc", "c", "<0xC3>", "<0xA9>"};
    static const float scores[] = {0, -1, -1, -1.5f, -4, -1, -2, -2};
    tok_spec s;
    memset(&s, 0, sizeof s);
    s.model = TOK_MODEL_UNIGRAM;
    s.n_vocab = 8;
    size_t total = 0;
    for (int i = 0; i < 8; i++)
        total += strlen(pieces[i]);
    s.vocab_bytes = malloc(total + 1);
    s.vocab_off = malloc(9 * sizeof *s.vocab_off);
    s.scores = malloc(8 * sizeof *s.scores);
    size_t pos = 0;
    for (int i = 0; i < 8; i++) {
        s.vocab_off[i] = pos;
        memcpy(s.vocab_bytes + pos, pieces[i], strlen(pieces[i]));
        pos += strlen(pieces[i]);
        s.scores[i] = scores[i];
    }
    s.vocab_off[8] = pos;
    s.unk_id = 0;
    s.byte_fallback = byte_fallback;
    tok_tokenizer *t = NULL;
    assert_int_equal(tok_create(&s, &t), EMB_OK);
    tok_spec_free(&s);
    return t;
}

static void expect_ids(const tok_tokenizer *t, const char *text, const int32_t *want, size_t n)
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

static void test_viterbi_and_unk(void **state)
{
    (void)state;
    tok_tokenizer *t = tiny(0);
    /* "ab" (-1.5) beats "a"+"b" (-2); "abc" (-4) loses to "ab"+"c" (-2.5) */
    expect_ids(t, "ab", (int32_t[]){3}, 1);
    expect_ids(t, "abc", (int32_t[]){3, 5}, 2);
    /* "xyz" unknown: one fused unk; "é" (2 bytes, 1 char) unk without fallback */
    expect_ids(t, "axyzb", (int32_t[]){1, 0, 2}, 3);
    expect_ids(t, "\xc3\xa9", (int32_t[]){0}, 1);
    tok_free(t);
    t = tiny(1);
    expect_ids(t, "\xc3\xa9" "a", (int32_t[]){6, 7, 1}, 3);
    expect_ids(t, "x", (int32_t[]){0}, 1); /* <0x78> missing: unk */
    tok_free(t);
}

static void test_long_text(void **state)
{
    (void)state;
    tok_tokenizer *t = tg_load(TOKD "t5-unigram");
    size_t n = 100000;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + (i * 7 % 26)); /* one 100k-character word */
    tok_ids ids = {0};
    assert_int_equal(tok_encode(t, big, n, 1, 0, &ids), EMB_OK);
    assert_true(ids.n > 1000);
    assert_int_equal(ids.ids[ids.n - 1], 1); /* </s> */
    free(ids.ids);
    free(big);
    tok_free(t);
}

static void test_bad_charsmap(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    /* trie size 0x7FFFFFFF in an 8-byte blob */
    fputs("{\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"/////wAAAAA=\"},"
          "\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"a\",-1.0]]}}", f);
    fclose(f);
    tok_spec spec;
    assert_int_equal(cv_read_tokenizer(dir, &spec), EMB_OK);
    tok_tokenizer *t = NULL;
    assert_int_equal(tok_create(&spec, &t), EMB_ERR_FORMAT);
    assert_null(t);
    tok_spec_free(&spec);
    tu_rmtree(dir);
    free(dir);
}

/* random texts never crash, invalid UTF-8 is refused, ids stay in range */
static void test_fuzz(void **state)
{
    (void)state;
    tok_tokenizer *t;
    t = tg_load("tests/fixtures/tokenizers/t5-unigram");
    tg_fuzz(t, 1234567, 3000);
    tok_free(t);
    t = tg_load("tests/fixtures/tokenizers/xlmr-style-unigram");
    tg_fuzz(t, 1234568, 3000);
    tok_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t5_expected),
        cmocka_unit_test(test_xlmr_expected),
        cmocka_unit_test(test_camembert_expected),
        cmocka_unit_test(test_model_fixture),
        cmocka_unit_test(test_viterbi_and_unk),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_bad_charsmap),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
