/* BERT encoder (model/bert.c) against the transformers goldens of the
 * bert-e5 (mean), bge-cls (cls, 3 heads, 512 tokens) and bert-e5-f16
 * fixtures, plus determinism and the error paths of model/. */
#include "model_golden.h"

/* Missing and misshapen tensors are named; shapes-only checking works. */
static void test_bert_weight_errors(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "bert-e5", -1, -1);
    mdl_tensor *copy = malloc(g.w.n * sizeof *copy);
    memcpy(copy, g.t, g.w.n * sizeof *copy);
    mdl_weights w = {g.w.n, copy};
    const char *victim = "encoder.layer.1.intermediate.dense.bias";
    size_t vi = g.w.n;
    for (size_t i = 0; i < g.w.n; i++)
        if (!strcmp(copy[i].name, victim))
            vi = i;
    assert_true(vi < g.w.n);
    copy[vi].shape[0] = 63;
    assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), victim));
    assert_non_null(strstr(rt_last_error(), "[63]"));
    copy[vi].name = "something.else";
    mdl_model *m = NULL;
    assert_int_equal(mdl_create(&g.cfg, &w, &m), EMB_ERR_FORMAT);
    assert_null(m);
    assert_non_null(strstr(rt_last_error(), victim));
    assert_non_null(strstr(rt_last_error(), "missing"));
    /* the pooler (extra tensors) is not needed */
    for (size_t i = 0; i < g.w.n; i++)
        if (strstr(g.t[i].name, "pooler"))
            copy[i].name = "ignored.extra";
    copy[vi] = g.t[vi];
    assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_OK);
    free(copy);
    mg_free(&g);
}

static void test_bert_encode_errors(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "bert-e5", -1, -1);
    float out[32];
    int32_t ids[3] = {101, 5000, 102};
    assert_int_equal(mdl_encode(g.m, ids, 3, out), EMB_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(rt_last_error(), "5000"));
    ids[1] = -1;
    assert_int_equal(mdl_encode(g.m, ids, 3, out), EMB_ERR_INVALID_ARGUMENT);
    assert_int_equal(mdl_encode(g.m, ids, 0, out), EMB_ERR_INVALID_ARGUMENT);
    assert_int_equal(mdl_encode(g.m, NULL, 3, out), EMB_ERR_INVALID_ARGUMENT);
    int32_t *many = calloc(513, sizeof *many);
    assert_int_equal(mdl_encode(g.m, many, 513, out), EMB_ERR_INVALID_ARGUMENT);
    assert_int_equal(mdl_encode(g.m, many, 512, out), EMB_OK);
    free(many);
    assert_int_equal(mdl_output_dim(&g.cfg), 32);
    assert_int_equal(mdl_max_tokens(&g.cfg), 512);
    mg_free(&g);
}

/* The shortest inputs: one and two tokens, with mean and CLS pooling, give
 * finite unit vectors; CLS of one token equals mean of one token. */
static void test_bert_short(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "bert-e5", -1, -1);
    assert_int_equal(g.cfg.pooling, MDL_POOL_MEAN);
    mdl_config c = g.cfg;
    c.pooling = MDL_POOL_CLS;
    mdl_model *cls = NULL;
    assert_int_equal(mdl_create(&c, &g.w, &cls), EMB_OK);
    int32_t ids[2] = {101, 102};
    float a[32], b[32];
    for (size_t n = 1; n <= 2; n++) {
        assert_int_equal(mdl_encode(g.m, ids, n, a), EMB_OK);
        assert_int_equal(mdl_encode(cls, ids, n, b), EMB_OK);
        double na = 0, nb = 0;
        for (size_t i = 0; i < 32; i++) {
            assert_true(isfinite(a[i]) && isfinite(b[i]));
            na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
        }
        assert_true(fabs(na - 1.0) < 1e-5 && fabs(nb - 1.0) < 1e-5);
        if (n == 1)
            tu_assert_close(a, b, 32, 1e-6, "one token: mean == cls");
        else
            assert_memory_not_equal(a, b, sizeof a);
    }
    mdl_free(cls);
    mg_free(&g);
}

static void test_config_check(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "bge-cls", -1, -1);
    mdl_config c = g.cfg;
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    snprintf(c.arch, sizeof c.arch, "gpt2");
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    c = g.cfg;
    c.heads = 5; /* 48 % 5 != 0 */
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "num_attention_heads"));
    c = g.cfg;
    c.norm_eps = -1.0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = g.cfg;
    c.hidden = 0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "hidden_size"));
    c = g.cfg;
    snprintf(c.act, sizeof c.act, "swiglu");
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    c = g.cfg;
    c.pooling = MDL_POOL_LASTTOKEN_LOGITS;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("bert-e5", "bert", NULL),
        MG_FIXTURE("bge-cls", "bert", NULL),
        MG_FIXTURE("bert-e5-f16", "bert", NULL),
        cmocka_unit_test(test_bert_weight_errors),
        cmocka_unit_test(test_bert_encode_errors),
        cmocka_unit_test(test_bert_short),
        cmocka_unit_test(test_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
