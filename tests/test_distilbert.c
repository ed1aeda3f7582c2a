/* DistilBERT encoder (model/bert.c under DistilBERT's tensor names, no
 * token types, learned positions 0..n-1, LayerNorm eps fixed at 1e-12)
 * against the sentence-transformers goldens of the distilbert-st fixture,
 * its config keys (dim, n_layers, n_heads, hidden_dim, activation), its
 * limits and weight errors. */
#include "model_golden.h"

static void distilbert_expect(const mg_model *g)
{
    mg_expect_sizes(g, 32, 2, 64, 5000, 0); /* dim, n_layers, hidden_dim */
    assert_int_equal(g->cfg.heads, 4);      /* n_heads */
    assert_true(g->cfg.norm_eps == 1e-12);
    assert_string_equal(g->cfg.act, "gelu");
    assert_int_equal(g->pol.max_tokens, 512);
}

/* Positions 0 .. n - 1: all 512 positions are usable, and a literal [PAD]
 * (id 0) is an ordinary token (it advances the position). */
static void test_distilbert_limits(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "distilbert-st", -1, -1);
    assert_int_equal(mdl_first_position(&g.cfg), 0);
    mg_check_token_limit(&g, 512, 1000);
    float *out = malloc(2 * g.dim * sizeof *out);
    assert_non_null(out);
    /* [CLS] [PAD] w [SEP] vs [CLS] w [PAD] [SEP]: positions differ, so do vectors */
    int32_t a[4] = { 101, 0, 1000, 102 }, b[4] = { 101, 1000, 0, 102 };
    assert_int_equal(mdl_encode(g.m, a, 4, out), EMB_OK);
    assert_int_equal(mdl_encode(g.m, b, 4, out + g.dim), EMB_OK);
    assert_memory_not_equal(out, out + g.dim, g.dim * sizeof *out);
    free(out);
    mg_free(&g);
}

/* No token_type table is needed; a missing DistilBERT tensor is named; the
 * "distilbert." prefix of DistilBertFor* checkpoints is stripped. */
static void test_distilbert_weights(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "distilbert-st", -1, -1);
    assert_null(mdl_weights_find(&g.w, "embeddings.token_type_embeddings.weight"));
    assert_non_null(mdl_weights_find(&g.w, "transformer.layer.1.attention.q_lin.weight"));
    mdl_tensor *copy = malloc(g.w.n * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, g.t, g.w.n * sizeof *copy);
    mdl_weights w = { g.w.n, copy };
    static const char *const names[] = {
        "transformer.layer.1.attention.out_lin.bias", "transformer.layer.0.sa_layer_norm.weight",
        "transformer.layer.1.ffn.lin2.weight", "transformer.layer.0.output_layer_norm.bias",
    };
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        mdl_tensor *t = NULL;
        for (size_t i = 0; i < w.n; i++)
            if (!strcmp(copy[i].name, names[k]))
                t = &copy[i];
        assert_non_null(t);
        t->name = "renamed";
        assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
        char want[128];
        snprintf(want, sizeof want, "%s is missing", names[k]);
        assert_non_null(strstr(rt_last_error(), want));
        t->name = names[k];
    }
    assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_OK);
    const int32_t ids[4] = { 101, 1000, 1001, 102 };
    mg_check_tensor_used(&g, "embeddings.position_embeddings.weight", ids, 4);
    mg_check_tensor_used(&g, "transformer.layer.1.sa_layer_norm.bias", ids, 4);
    assert_string_equal(fmt_strip_prefix("distilbert.transformer.layer.0.ffn.lin1.weight"),
                        "transformer.layer.0.ffn.lin1.weight");
    free(copy);
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("distilbert-st", "distilbert", distilbert_expect),
        cmocka_unit_test(test_distilbert_limits),
        cmocka_unit_test(test_distilbert_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
