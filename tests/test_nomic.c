/* NomicBERT encoder (model/rotary.c: RoPE, fused Wqkv, SwiGLU, post-norm)
 * against the sentence-transformers goldens of the nomic-st fixture
 * (transformers' NomicBertModel), its prompts, its limits, and weight
 * errors. */
#include "model_golden.h"

static void nomic_expect(const mg_model *g)
{
    mg_expect_sizes(g, 32, 2, 64, 3008, 2);
    assert_true(g->cfg.rope_theta == 1000.0);
    assert_string_equal(g->cfg.act, "silu");
    /* max_seq_length 8192 capped at max_position_embeddings 2048 */
    assert_int_equal(g->pol.max_tokens, 2048);
    /* the search_query / search_document prompts are the query / passage ones */
    assert_string_equal(g->pol.prompt_query, "search_query: ");
    assert_string_equal(g->pol.prompt_passage, "search_document: ");
    assert_null(g->pol.prompt_default);
}

/* No position table: 2048 tokens are taken, one more refused; positions
 * still matter (RoPE): a permutation of the ids changes the vector, and so
 * does another rope theta. */
static void test_nomic_limits(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "nomic-st", -1, -1);
    mg_check_token_limit(&g, 2048, 1000);
    float *out = malloc(2 * g.dim * sizeof *out);
    assert_non_null(out);
    int32_t a[5] = {101, 2000, 2001, 2002, 102}, b[5] = {101, 2002, 2001, 2000, 102};
    mdl_config c = g.cfg;
    c.rope_theta = 10000.0; /* the theta is read */
    mg_check_rotary(&g, a, b, 5, &c);
    int32_t bad[3] = {101, 3008, 102}; /* vocab_size 3008 */
    assert_int_equal(mdl_encode(g.m, bad, 3, out), EMB_ERR_INVALID_ARGUMENT);
    free(out);
    mg_free(&g);
}

/* The token_type table, the fused Wqkv, the gate and the embedding norm are
 * read (zeroing one changes the vector), and each is refused by name when
 * missing or misshapen; no position table is needed. */
static void test_nomic_weights(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "nomic-st", -1, -1);
    assert_null(mdl_weights_find(&g.w, "embeddings.position_embeddings.weight"));
    int32_t ids[6] = {101, 2000, 2001, 2002, 2003, 102};
    mg_check_tensor_named(&g, "embeddings.token_type_embeddings.weight", ids, 6, "2, 32");
    mg_check_tensor_named(&g, "encoder.layers.1.attn.Wqkv.weight", ids, 6, "96, 32");
    mg_check_tensor_named(&g, "encoder.layers.0.mlp.fc12.weight", ids, 6, "64, 32");
    mg_check_tensor_named(&g, "emb_ln.bias", ids, 6, "32");
    mg_free(&g);
}

/* An odd head_dim (RoPE rotates halves) and an activation other than the
 * gate's silu are refused by mdl_config_check. */
static void test_nomic_config_check(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "nomic-st", -1, -1);
    mdl_config c = g.cfg;
    snprintf(c.act, sizeof c.act, "gelu");
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "not supported for nomic_bert (silu)"));
    c = g.cfg;
    c.heads = 32;
    c.kv_heads = 32;
    c.head_dim = 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "head_dim 1 is odd"));
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("nomic-st", "nomic_bert", nomic_expect),
        cmocka_unit_test(test_nomic_limits),
        cmocka_unit_test(test_nomic_weights),
        cmocka_unit_test(test_nomic_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
