/* WordPiece tokenizers (BertNormalizer + BertPreTokenizer + WordPiece +
 * [CLS]/[SEP]) against the reference ids of HF tokenizers 0.22. */
#include "tok_golden.h"

#include <unistd.h>

#define BERT "tests/fixtures/tokenizers/bert-uncased"

static int setup(void **state)
{
    *state = tg_load(BERT);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    tok_free(*state);
    return 0;
}

static void test_bert_expected(void **state)
{
    tg_check_expected(*state, BERT "/expected.jsonl");
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tu_write_file(path, text, strlen(text));
}

/* vocab.txt + tokenizer_config.json + special_tokens_map.json only, as
 * BertTokenizerFast converts them: same ids as tokenizer.json */
static void test_bert_vocab_txt_only(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_copy_file(BERT "/vocab.txt", dir, "vocab.txt");
    tu_copy_file(BERT "/tokenizer_config.json", dir, "tokenizer_config.json");
    tu_copy_file(BERT "/special_tokens_map.json", dir, "special_tokens_map.json");
    tok_tokenizer *t = tg_load(dir);
    assert_int_equal(tok_vocab_size(t), 30522);
    assert_int_equal(tok_n_special(t), 2);
    tg_check_expected(t, BERT "/expected.jsonl");
    tok_free(t);
    tu_rmtree(dir);
    free(dir);
}

static void test_bert_llamacpp(void **state)
{
    tg_check_llamacpp(*state, "ggml-vocab-bert-bge.gguf");
}

static void encode_ok(const tok_tokenizer *t, const char *s, size_t n, int special, size_t max, tok_ids *ids)
{
    emb_status rc = tok_encode(t, s, n, special, max, ids);
    if (rc != EMB_OK)
        print_error("tok_encode: %s\n", rt_last_error());
    assert_int_equal(rc, EMB_OK);
}

static void test_empty_and_truncation(void **state)
{
    const tok_tokenizer *t = *state;
    tok_ids ids = {0};
    encode_ok(t, "", 0, 1, 0, &ids);
    assert_int_equal(ids.n, 2);
    assert_int_equal(ids.ids[0], 101);
    assert_int_equal(ids.ids[1], 102);
    encode_ok(t, NULL, 0, 0, 0, &ids);
    assert_int_equal(ids.n, 0);
    encode_ok(t, "  \t\n ", 5, 1, 0, &ids);
    assert_int_equal(ids.n, 2);
    /* "hello world , how are you" = 6 word ids; cut to 5 keeps [CLS] [SEP] */
    const char *s = "hello world, how are you";
    encode_ok(t, s, strlen(s), 1, 0, &ids);
    assert_int_equal(ids.n, 8);
    int32_t full[8];
    memcpy(full, ids.ids, sizeof full);
    encode_ok(t, s, strlen(s), 1, 5, &ids);
    assert_int_equal(ids.n, 5);
    assert_int_equal(ids.ids[0], 101);
    assert_int_equal(ids.ids[1], full[1]);
    assert_int_equal(ids.ids[3], full[3]);
    assert_int_equal(ids.ids[4], 102);
    encode_ok(t, s, strlen(s), 0, 3, &ids);
    assert_int_equal(ids.n, 3);
    assert_int_equal(ids.ids[2], full[3]);
    /* U+0000 is removed by clean_text: "ab\0cd" == "abcd" */
    tok_ids b = {0};
    encode_ok(t, "ab\0cd", 5, 1, 0, &ids);
    encode_ok(t, "abcd", 4, 1, 0, &b);
    assert_int_equal(ids.n, b.n);
    assert_memory_equal(ids.ids, b.ids, b.n * sizeof *b.ids);
    free(b.ids);
    free(ids.ids);
}

static void test_invalid_utf8(void **state)
{
    const tok_tokenizer *t = *state;
    static const char *bad[] = {"\xff", "abc\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "caf\xc3"};
    tok_ids ids = {0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_false(tok_utf8_valid(bad[i], strlen(bad[i])));
        ids.n = 7;
        assert_int_equal(tok_encode(t, bad[i], strlen(bad[i]), 1, 0, &ids), EMB_ERR_INVALID_UTF8);
        assert_int_equal(ids.n, 0);
    }
    static const char *good[] = {"", "a", "\xc2\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
                                 "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(tok_utf8_valid(good[i], strlen(good[i])));
    free(ids.ids);
}

/* 100k characters: must be linear (a quadratic loop would take minutes);
 * the ids are the same as for the pieces encoded one at a time */
static void test_long_text(void **state)
{
    const tok_tokenizer *t = *state;
    const char *unit = "Hello, world! caf\xc3\xa9 ";   /* 14 characters */
    size_t ul = strlen(unit);
    size_t reps = 100000 / 14 + 1;
    char *big = malloc(reps * ul + 1);
    assert_non_null(big);
    for (size_t i = 0; i < reps; i++)
        memcpy(big + i * ul, unit, ul);
    tok_ids one = {0}, all = {0};
    encode_ok(t, unit, ul, 0, 0, &one);
    assert_true(one.n > 3);
    encode_ok(t, big, reps * ul, 1, 0, &all);
    assert_int_equal(all.n, reps * one.n + 2);
    for (size_t i = 0; i < reps * one.n; i++)
        assert_int_equal(all.ids[1 + i], one.ids[i % one.n]);
    /* one 100k-character word: a single [UNK] (max_input_chars_per_word) */
    memset(big, 'a', 100000);
    encode_ok(t, big, 100000, 0, 0, &all);
    assert_int_equal(all.n, 1);
    assert_int_equal(all.ids[0], 100);
    free(big);
    free(one.ids);
    free(all.ids);
}

static void test_model_fixtures(void **state)
{
    (void)state;
    /* each golden README gives the truncation length the reference used */
    static const char *dirs[] = {"tests/fixtures/models/bert-e5", "tests/fixtures/models/bge-cls"};
    static const size_t max_len[] = {64, 512};
    for (size_t i = 0; i < 2; i++) {
        tok_tokenizer *t = tg_load(dirs[i]);
        char path[200];
        snprintf(path, sizeof path, "%.150s/golden/cases.jsonl", dirs[i]);
        tg_check_cases(t, path, max_len[i]);
        tok_free(t);
        /* the same folder without tokenizer.json (vocab.txt path) */
        char *dir = tu_tmpdir();
        static const char *files[] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"};
        for (size_t k = 0; k < 3; k++) {
            char from[300];
            snprintf(from, sizeof from, "%.150s/%s", dirs[i], files[k]);
            tu_copy_file(from, dir, files[k]);
        }
        t = tg_load(dir);
        tg_check_cases(t, path, max_len[i]);
        tok_free(t);
        tu_rmtree(dir);
        free(dir);
    }
}

typedef struct mt_arg {
    const tok_tokenizer *t;
    json_t *texts;
    int bad;
} mt_arg;

static void mt_task(void *argp, size_t index)
{
    mt_arg *a = argp;
    json_t *tx = json_object_get(json_array_get(a->texts, index % json_array_size(a->texts)), "text");
    tok_ids x = {0}, y = {0};
    if (tok_encode(a->t, json_string_value(tx), json_string_length(tx), 1, 0, &x) != EMB_OK ||
        tok_encode(a->t, json_string_value(tx), json_string_length(tx), 1, 0, &y) != EMB_OK ||
        x.n != y.n || (x.n && memcmp(x.ids, y.ids, x.n * sizeof *x.ids)))
        __atomic_add_fetch(&a->bad, 1, __ATOMIC_RELAXED);
    free(x.ids);
    free(y.ids);
}

/* one shared tokenizer, several threads: same ids as alone */
static void test_threads(void **state)
{
    mt_arg a = {*state, tu_read_jsonl(TG_TEXTS), 0};
    rt_parallel_for(2, json_array_size(a.texts) * 2, mt_task, &a);
    json_decref(a.texts);
    assert_int_equal(a.bad, 0);
}

static emb_status read_json_dir(const char *json, tok_spec *spec)
{
    char *dir = tu_tmpdir();
    write_file(dir, "tokenizer.json", json);
    emb_status rc = cv_read_tokenizer(dir, spec);
    tu_rmtree(dir);
    free(dir);
    return rc;
}

static void test_converter_refuses(void **state)
{
    (void)state;
    tok_spec spec;
    assert_int_equal(read_json_dir("{\"model\": ", &spec), EMB_ERR_FORMAT);
    assert_int_equal(read_json_dir("[1,2]", &spec), EMB_ERR_FORMAT);
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0}},"
                                   "\"normalizer\":{\"type\":\"FancyNorm\"}}", &spec),
                     EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "FancyNorm"));
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0}},"
                                   "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Mystery\"}]}}", &spec),
                     EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "Mystery"));
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"x\",\"vocab\":{\"x\":0}}}", &spec),
                     EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "WordLevel"));
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0}},"
                                   "\"post_processor\":{\"type\":\"Unheard\"}}", &spec),
                     EMB_ERR_UNSUPPORTED);
    /* ids out of range, duplicate ids, absurd ids */
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"a\":0}}}", &spec),
                     EMB_ERR_FORMAT);
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"a\":99999999}}}", &spec),
                     EMB_ERR_FORMAT);
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":\"zero\"}}}", &spec),
                     EMB_ERR_FORMAT);
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[NOPE]\",\"vocab\":{\"[UNK]\":0}}}", &spec),
                     EMB_ERR_FORMAT);
    /* a token over 64 KiB */
    size_t big = 70000;
    char *json = malloc(big + 200);
    assert_non_null(json);
    int k = sprintf(json, "{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"");
    memset(json + k, 'a', big);
    strcpy(json + k + big, "\":1}}}");
    assert_int_equal(read_json_dir(json, &spec), EMB_ERR_FORMAT);
    free(json);
    /* a folder with nothing */
    char *dir = tu_tmpdir();
    assert_int_equal(cv_read_tokenizer(dir, &spec), EMB_ERR_IO);
    tu_rmtree(dir);
    free(dir);
    /* a minimal valid one works, and tok_create refuses inconsistent specs */
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"a\":1}},"
                                   "\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[UNK]\",0],\"cls\":[\"a\",1]}}", &spec),
                     EMB_OK);
    tok_tokenizer *t = NULL;
    assert_int_equal(tok_create(&spec, &t), EMB_OK);
    tok_ids ids = {0};
    encode_ok(t, "a b", 3, 1, 0, &ids);
    assert_int_equal(ids.n, 4);
    assert_int_equal(ids.ids[0], 1);
    assert_int_equal(ids.ids[1], 1);
    assert_int_equal(ids.ids[2], 0);
    assert_int_equal(ids.ids[3], 0);
    free(ids.ids);
    tok_free(t);
    spec.suffix_ids[0] = 5;
    assert_int_equal(tok_create(&spec, &t), EMB_ERR_FORMAT);
    tok_spec_free(&spec);
}

/* Split behaviours, as the HF documentation's example on
 * "the-final--countdown" with pattern "-"; every piece is a whole vocabulary
 * entry, so WordPiece returns one id per piece. */
static void test_split_behaviors(void **state)
{
    (void)state;
    static const char *vocab = "{\"[UNK]\":0,\"the\":1,\"final\":2,\"countdown\":3,\"-\":4,\"the-\":5,"
                               "\"final-\":6,\"-final\":7,\"-countdown\":8,\"--\":9,\"1\":10,\"2\":11,\"12\":12,"
                               "\"a\":13,\",\":14,\"a,\":15}";
    static const struct {
        const char *behavior;
        int32_t ids[8];
        size_t n;
    } cases[] = {
        {"Removed", {1, 2, 3}, 3},
        {"Isolated", {1, 4, 2, 4, 4, 3}, 6},
        {"MergedWithPrevious", {5, 6, 4, 3}, 4},
        {"MergedWithNext", {1, 7, 4, 8}, 4},
        {"Contiguous", {1, 4, 2, 9, 3}, 5},
    };
    char json[1024];
    tok_ids ids = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(json, sizeof json,
                 "{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":%s},"
                 "\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\"-\"},\"behavior\":\"%s\",\"invert\":false}}",
                 vocab, cases[i].behavior);
        tok_spec spec;
        assert_int_equal(read_json_dir(json, &spec), EMB_OK);
        tok_tokenizer *t = NULL;
        assert_int_equal(tok_create(&spec, &t), EMB_OK);
        tok_spec_free(&spec);
        encode_ok(t, "the-final--countdown", 20, 0, 0, &ids);
        if (ids.n != cases[i].n || memcmp(ids.ids, cases[i].ids, ids.n * sizeof *ids.ids)) {
            print_error("%s: got", cases[i].behavior);
            for (size_t k = 0; k < ids.n; k++)
                print_error(" %d", ids.ids[k]);
            print_error("\n");
            fail();
        }
        tok_free(t);
    }
    /* Digits (individual), Punctuation, Strip: "  a,12  " */
    snprintf(json, sizeof json,
             "{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":%s},"
             "\"normalizer\":{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":true},"
             "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},"
             "{\"type\":\"Punctuation\",\"behavior\":\"Isolated\"}]}}", vocab);
    tok_spec spec;
    assert_int_equal(read_json_dir(json, &spec), EMB_OK);
    tok_tokenizer *t = NULL;
    assert_int_equal(tok_create(&spec, &t), EMB_OK);
    tok_spec_free(&spec);
    encode_ok(t, "  a,12  ", 8, 0, 0, &ids);
    assert_int_equal(ids.n, 4);
    assert_int_equal(ids.ids[0], 13);
    assert_int_equal(ids.ids[1], 14);
    assert_int_equal(ids.ids[2], 10);
    assert_int_equal(ids.ids[3], 11);
    tok_free(t);
    /* Whitespace: the HF documentation's example (7 pieces) */
    assert_int_equal(read_json_dir("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":"
                                   "{\"[UNK]\":0,\"Hey\":1,\"friend\":2,\"!\":3,\"How\":4,\"are\":5,\"you\":6,\"?!?\":7}},"
                                   "\"pre_tokenizer\":{\"type\":\"Whitespace\"}}", &spec), EMB_OK);
    assert_int_equal(tok_create(&spec, &t), EMB_OK);
    tok_spec_free(&spec);
    encode_ok(t, "Hey friend!  How are you?!?", 27, 0, 0, &ids);
    assert_int_equal(ids.n, 7);
    for (size_t k = 0; k < 7; k++)
        assert_int_equal(ids.ids[k], (int32_t)k + 1);
    tok_free(t);
    free(ids.ids);
}

/* random texts never crash, invalid UTF-8 is refused, ids stay in range */
static void test_fuzz(void **state)
{
    (void)state;
    tok_tokenizer *t;
    t = tg_load("tests/fixtures/tokenizers/bert-uncased");
    tg_fuzz(t, 1234567, 3000);
    tok_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bert_expected, setup, teardown),
        cmocka_unit_test(test_bert_vocab_txt_only),
        cmocka_unit_test_setup_teardown(test_bert_llamacpp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_text, setup, teardown),
        cmocka_unit_test(test_model_fixtures),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test(test_converter_refuses),
        cmocka_unit_test(test_split_behaviors),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
