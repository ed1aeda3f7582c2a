/* GTE encoder (model/rotary.c's GTE variant: RoPE, fused qkv_proj with
 * bias, fused up_gate_proj GeGLU, post-norm) against the sentence-transformers
 * goldens of the gte-new fixture (transformers' GteModel; config.json in
 * Alibaba's NewConfig spelling), its limits and weight errors. */
#include "model_golden.h"

#include "format/format.h"

static void gte_new_expect(const mg_model *g)
{
    mg_expect_sizes(g, 32, 2, 64, 1501, 1);
    assert_true(g->cfg.rope_theta == 160000.0);
    assert_string_equal(g->cfg.act, "gelu");
    assert_int_equal(g->cfg.pooling, MDL_POOL_CLS);
    assert_int_equal(g->pol.max_tokens, 8192);
}

/* gte-base-en-v1.5's shape: NewModel's fixed NTK RoPE scaling (factor 2),
 * no token_type table, bert-base-uncased WordPiece; without the scaling the
 * vectors differ. */
static void test_gte_en_ntk(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "gte-en", -1, -1);
    assert_string_equal(g.cfg.arch, "new");
    assert_int_equal(g.cfg.type_vocab_size, 0);
    assert_true(g.cfg.rope_ntk == 2.0);
    assert_true(g.cfg.rope_theta == 500000.0);
    assert_null(mdl_weights_find(&g.w, "embeddings.token_type_embeddings.weight"));
    mg_check_all(&g, "gte-en");
    int32_t a[6] = {101, 2000, 2001, 2002, 2003, 102}, b[6] = {101, 2003, 2002, 2001, 2000, 102};
    mdl_config c = g.cfg;
    c.rope_ntk = 0.0; /* without the scaling the vectors differ */
    mg_check_rotary(&g, a, b, 6, &c);
    /* the factor is a GTE option only, and in range */
    c = g.cfg;
    c.rope_ntk = -1.0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "rope_ntk_factor -1"));
    snprintf(c.arch, sizeof c.arch, "nomic_bert");
    c.rope_ntk = 2.0;
    snprintf(c.act, sizeof c.act, "silu");
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "rope_ntk_factor 2, expected 0 (none) or, for nomic_bert"));
    mg_free(&g);
}

/* 8192 tokens are taken; a permutation of the ids changes the CLS vector
 * (RoPE); type_vocab_size 0 (gte-base-en-v1.5's) binds no token_type table
 * and changes it; the gate is gelu. */
static void test_gte_limits(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "gte-new", -1, -1);
    assert_int_equal(mdl_max_tokens(&g.cfg), 8192);
    int32_t a[5] = {0, 500, 501, 502, 2}, b[5] = {0, 502, 501, 500, 2};
    mdl_config c = g.cfg;
    c.type_vocab_size = 0; /* gte-base-en-v1.5's: no token_type table bound */
    mg_check_rotary(&g, a, b, 5, &c);
    float out[32];
    int32_t bad[3] = {0, 1501, 2};
    assert_int_equal(mdl_encode(g.m, bad, 3, out), EMB_ERR_INVALID_ARGUMENT);
    snprintf(c.act, sizeof c.act, "silu");
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "not supported for new (gelu)"));
    mg_free(&g);
}

/* The fused tensors, their biases and the token_type table are read and
 * checked by name. */
static void test_gte_weights(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "gte-new", -1, -1);
    int32_t ids[6] = {0, 500, 501, 502, 503, 2};
    mg_check_tensor_named(&g, "encoder.layer.1.attention.qkv_proj.weight", ids, 6, "96, 32");
    mg_check_tensor_named(&g, "encoder.layer.1.attention.qkv_proj.bias", ids, 6, "96");
    mg_check_tensor_named(&g, "encoder.layer.0.mlp.up_gate_proj.weight", ids, 6, "128, 32");
    mg_check_tensor_named(&g, "encoder.layer.1.mlp.down_proj.bias", ids, 6, "32");
    mg_check_tensor_named(&g, "encoder.layer.0.attention.o_proj.bias", ids, 6, "32");
    mg_check_tensor_named(&g, "embeddings.token_type_embeddings.weight", ids, 6, "1, 32");
    mg_check_tensor_named(&g, "embeddings.LayerNorm.weight", ids, 6, "32");
    mg_free(&g);
}

/* Alibaba's checkpoints saved from NewForMaskedLM & co. carry a "new."
 * prefix, stripped as "bert." is (a bare "new." is a name, kept). */
static void test_gte_prefix(void **state)
{
    (void)state;
    assert_string_equal(fmt_strip_prefix("new.encoder.layer.0.attention.qkv_proj.weight"),
                        "encoder.layer.0.attention.qkv_proj.weight");
    assert_string_equal(fmt_strip_prefix("new."), "new.");
    assert_string_equal(fmt_strip_prefix("newer.x"), "newer.x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("gte-new", "new", gte_new_expect),
        cmocka_unit_test(test_gte_en_ntk),
        cmocka_unit_test(test_gte_limits),
        cmocka_unit_test(test_gte_weights),
        cmocka_unit_test(test_gte_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
