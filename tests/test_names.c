/* The name tables (include/emb_names.h): every list round-trips, the
 * enums the library expands from them keep their stored numbers, and the
 * writer/reader and metadata spell values as the CLI, server and SQLite
 * extension parse them. */
#include "testutil.h"

#include "emb_names.h"
#include "format/format.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static void test_kinds_round_trip(void **state)
{
    (void)state;
    const emb_kind all[] = { EMB_KIND_NONE, EMB_KIND_QUERY, EMB_KIND_PASSAGE };
    for (size_t i = 0; i < 3; i++) {
        emb_kind k = EMB_KIND_NONE;
        assert_non_null(embn_kind_name(all[i]));
        assert_int_equal(embn_kind_parse(embn_kind_name(all[i]), &k), 0);
        assert_int_equal(k, all[i]);
    }
    emb_kind k = EMB_KIND_NONE;
    assert_int_equal(embn_kind_parse("document", &k), 0);
    assert_int_equal(k, EMB_KIND_PASSAGE);
    assert_string_equal(embn_kind_name(EMB_KIND_QUERY), "query");
    assert_int_equal(embn_kind_parse("Query", &k), -1);
    assert_int_equal(embn_kind_parse("", &k), -1);
    assert_null(embn_kind_name((emb_kind)7));
}

static void test_dtypes_and_compute_round_trip(void **state)
{
    (void)state;
    const char *names[] = { "f32", "f16", "bf16", "int8" };
    const emb_dtype want[] = { EMB_DTYPE_F32, EMB_DTYPE_F16, EMB_DTYPE_BF16, EMB_DTYPE_INT8 };
    for (size_t i = 0; i < 4; i++) {
        emb_dtype d = EMB_DTYPE_AUTO;
        assert_int_equal(embn_dtype_parse(names[i], &d), 0);
        assert_int_equal(d, want[i]);
        assert_string_equal(embn_dtype_name(d), names[i]);
    }
    emb_dtype d = EMB_DTYPE_AUTO;
    assert_null(embn_dtype_name(EMB_DTYPE_AUTO));
    assert_int_equal(embn_dtype_parse("auto", &d), -1);
    assert_int_equal(embn_dtype_parse("i8", &d), -1);

    emb_compute c = EMB_COMPUTE_F32;
    assert_int_equal(embn_compute_parse("bf16", &c), 0);
    assert_int_equal(c, EMB_COMPUTE_BF16);
    assert_int_equal(embn_compute_parse("f32", &c), 0);
    assert_int_equal(c, EMB_COMPUTE_F32);
    assert_string_equal(embn_compute_name(EMB_COMPUTE_BF16), "bf16");
    assert_int_equal(embn_compute_parse("f16", &c), -1);
    assert_int_equal(embn_compute_parse("int8", &c), -1);
}

/* The stored numbers are file format: the expanded enums must keep them. */
/* The one emb_dtype <-> kern_wtype mapping: each named dtype to its layout
 * and back, its name the file's tag; AUTO and I32 have no counterpart. */
static void test_dtype_wtype_mapping(void **state)
{
    (void)state;
    static const struct {
        emb_dtype d;
        kern_wtype w;
        const char *name;
    } want[] = {
        { EMB_DTYPE_F32, KERN_W_F32, "f32" },
        { EMB_DTYPE_F16, KERN_W_F16, "f16" },
        { EMB_DTYPE_BF16, KERN_W_BF16, "bf16" },
        { EMB_DTYPE_INT8, KERN_W_I8, "int8" },
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        kern_wtype w = KERN_W_I32;
        assert_int_equal(fmt_dtype_wtype(want[i].d, &w), 0);
        assert_int_equal(w, want[i].w);
        assert_int_equal(fmt_wtype_dtype(want[i].w), want[i].d);
        assert_string_equal(fmt_wtype_name(want[i].w), want[i].name);
        assert_string_equal(fmt_wtype_name(want[i].w), embn_dtype_name(want[i].d));
    }
    kern_wtype w = KERN_W_F16;
    assert_int_equal(fmt_dtype_wtype(EMB_DTYPE_AUTO, &w), -1);
    assert_int_equal(fmt_dtype_wtype((emb_dtype)99, &w), -1);
    assert_int_equal(w, KERN_W_F16);
    assert_int_equal(fmt_wtype_dtype(KERN_W_I32), EMB_DTYPE_AUTO);
    assert_string_equal(fmt_wtype_name(KERN_W_I32), "unknown");
}

static void test_expanded_enums_keep_stored_numbers(void **state)
{
    (void)state;
    assert_int_equal(MDL_POOL_MEAN, 0);
    assert_int_equal(MDL_POOL_CLS, 1);
    assert_int_equal(MDL_POOL_LASTTOKEN, 2);
    assert_int_equal(MDL_POOL_LASTTOKEN_LOGITS, 3);
    assert_int_equal(MDL_POOL_MAX, 4);
    assert_int_equal(MDL_POOL_WEIGHTEDMEAN, 5);
    assert_int_equal(MDL_POOL_MEAN_SQRT_LEN, 6);
    assert_int_equal(MDL_DENSE_IDENTITY, 0);
    assert_int_equal(MDL_DENSE_SIGMOID, 5);
    assert_int_equal(TOK_MODEL_NONE, 0);
    assert_int_equal(TOK_MODEL_WORDPIECE, 1);
    assert_int_equal(TOK_MODEL_BPE, 2);
    assert_int_equal(TOK_MODEL_UNIGRAM, 3);
}

static void test_pooling_and_tokenizer_names(void **state)
{
    (void)state;
    const char *pool[] = { "mean", "cls", "lasttoken", "lasttoken-logits", "max",
                           "weightedmean", "mean-sqrt-len" };
    for (unsigned i = 0; i < 7; i++) {
        mdl_pooling p = MDL_POOL_CLS;
        assert_string_equal(fmt_pooling_name((mdl_pooling)i), pool[i]);
        assert_int_equal(fmt_pooling_parse(pool[i], &p), 0);
        assert_int_equal(p, (mdl_pooling)i);
    }
    mdl_pooling p = MDL_POOL_MEAN;
    assert_string_equal(fmt_pooling_name((mdl_pooling)7), "unknown");
    assert_int_equal(fmt_pooling_parse("mean_sqrt_len_tokens", &p), -1);

    /* lists joined with '+', round trip; bad lists leave cfg unchanged */
    mdl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char buf[64];
    assert_int_equal(fmt_pooling_list_parse("cls+max+mean", &cfg), 0);
    assert_int_equal(cfg.pooling, MDL_POOL_CLS);
    assert_int_equal(cfg.n_pool_extra, 2);
    assert_int_equal(fmt_pooling_list_name(&cfg, buf, sizeof buf), 0);
    assert_string_equal(buf, "cls+max+mean");
    assert_int_equal(fmt_pooling_list_name(&cfg, buf, 12), -1); /* no room for the NUL */
    assert_int_equal(fmt_pooling_list_name(&cfg, buf, 13), 0);
    static const char *const bad[] = { "", "+", "cls+", "+cls", "cls++max", "cls+median",
                                       "mean+mean+mean+mean+mean+mean+mean",
                                       "averyveryveryverylongpoolingname" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(fmt_pooling_list_parse(bad[i], &cfg), -1);
        assert_int_equal(cfg.pooling, MDL_POOL_CLS);
        assert_int_equal(cfg.n_pool_extra, 2);
    }

    const char *act[] = { "identity", "tanh", "relu", "gelu", "silu", "sigmoid" };
    for (unsigned i = 0; i < 6; i++) {
        unsigned a = 9;
        assert_string_equal(embn_dense_act_name(i), act[i]);
        assert_int_equal(embn_dense_act_parse(act[i], &a), 0);
        assert_int_equal(a, i);
    }
    assert_null(embn_dense_act_name(6));
    unsigned a = 0;
    assert_int_equal(embn_dense_act_parse("Tanh", &a), -1);

    const char *tok[] = { "wordpiece", "bpe", "unigram" };
    for (unsigned i = 0; i < 3; i++) {
        unsigned v = 0;
        assert_string_equal(embn_tokenizer_name(i + 1), tok[i]);
        assert_int_equal(embn_tokenizer_parse(tok[i], &v), 0);
        assert_int_equal(v, i + 1);
    }
    unsigned v = 0;
    assert_null(embn_tokenizer_name(TOK_MODEL_NONE));
    assert_null(embn_tokenizer_name(4));
    assert_int_equal(embn_tokenizer_parse("none", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_round_trip),
        cmocka_unit_test(test_dtypes_and_compute_round_trip),
        cmocka_unit_test(test_dtype_wtype_mapping),
        cmocka_unit_test(test_expanded_enums_keep_stored_numbers),
        cmocka_unit_test(test_pooling_and_tokenizer_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
