/* Gemma3 text encoder (model/llama.c with the gemma_norms and local_layers
 * variants: (1 + w) RMSNorms around attention and MLP, scaled embeddings,
 * GeGLU, query_pre_attn_scalar, sliding and full layers with two RoPE bases,
 * bidirectional) against the sentence-transformers goldens of the gemma-st
 * fixture (EmbeddingGemma's shape reduced), what each variant changes, and
 * its config fields (the windowed attention kernel: tests/test_kernels.c). */
#include "model_golden.h"

static void gemma_expect(const mg_model *g)
{
    assert_int_equal(g->cfg.bidirectional, 1);
    assert_int_equal(g->cfg.sliding_window, 8); /* sliding, full, sliding */
    assert_true(mdl_window_layer(&g->cfg, 0) && !mdl_window_layer(&g->cfg, 1) &&
                mdl_window_layer(&g->cfg, 2));
    assert_true(g->cfg.rope_theta == 1e6 && g->cfg.rope_local_theta == 1e4);
    assert_true(g->cfg.attn_scalar == 16.0);
    assert_string_equal(g->cfg.act, "gelu_pytorch_tanh");
    assert_int_equal(g->cfg.n_dense, 2);
    assert_int_equal(g->cfg.pooling, MDL_POOL_MEAN);
    assert_int_equal(g->cfg.normalize, 1);
    assert_string_equal(g->pol.prompt_query, "task: search result | query: ");
    assert_string_equal(g->pol.prompt_passage, "title: none | text: ");
}

/* Every Gemma variant matters: a model without the window (all layers
 * full), with causal attention, or with the head_dim scale gives other
 * vectors for the long golden text. */
static void test_gemma_variants(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "gemma-st", -1, -1);
    int32_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = 300 + 7 * i;
    ids[0] = 2;
    ids[39] = 1;
    float want[32], got[32];
    assert_int_equal(mdl_encode(g.m, ids, 40, want), EMB_OK);
    mdl_config variants[3] = { g.cfg, g.cfg, g.cfg };
    variants[0].sliding_window = 0, variants[0].rope_local_theta = 0;
    memset(variants[0].window_layers, 0, sizeof variants[0].window_layers);
    variants[1].bidirectional = 0;
    variants[2].attn_scalar = 0.0; /* head_dim 16: the same scale */
    for (size_t i = 0; i < 3; i++) {
        mdl_model *m = NULL;
        assert_int_equal(mdl_create(&variants[i], &g.w, &m), EMB_OK);
        assert_int_equal(mdl_encode(m, ids, 40, got), EMB_OK);
        if (i < 2)
            assert_memory_not_equal(want, got, sizeof got);
        else
            assert_memory_equal(want, got, sizeof got);
        mdl_free(m);
    }
    /* a window of all 40 tokens: the same as no window (every layer full,
     * still with the sliding layers' RoPE base) */
    mdl_config wide = g.cfg;
    wide.sliding_window = 2 * 40;
    mdl_model *m = NULL;
    assert_int_equal(mdl_create(&wide, &g.w, &m), EMB_OK);
    assert_int_equal(mdl_encode(m, ids, 40, got), EMB_OK);
    assert_memory_not_equal(want, got, sizeof got);
    mdl_free(m);
    mg_free(&g);
}

/* Causal Gemma3 (use_bidirectional_attention false: causal masks, the
 * sliding window i - j < sliding_window, not halved) against
 * sentence-transformers on the same folder so configured
 * (golden/causal.json: the longest case, past the window). */
static void test_gemma_causal(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "gemma-st", -1, -1);
    json_error_t err;
    json_t *c = json_load_file("tests/fixtures/models/gemma-st/golden/causal.json", 0, &err);
    assert_non_null(c);
    json_t *jids = json_object_get(c, "ids"), *jvec = json_object_get(c, "vector");
    size_t n = json_array_size(jids);
    assert_true(n > 2 * (size_t)g.cfg.sliding_window);
    int32_t *ids = malloc(n * sizeof *ids);
    assert_non_null(ids);
    tu_json_ints(jids, ids, n);
    mdl_config causal = g.cfg;
    causal.bidirectional = 0;
    mdl_model *m = NULL;
    assert_int_equal(mdl_create(&causal, &g.w, &m), EMB_OK);
    float got[32];
    assert_int_equal(json_array_size(jvec), 32);
    assert_int_equal(mdl_encode(m, ids, n, got), EMB_OK);
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < 32; i++) {
        double d = fabs((double)got[i] - json_number_value(json_array_get(jvec, i)));
        if (d > worst)
            worst = d, at = i;
    }
    printf("gemma-st causal: %zu tokens, worst max-abs diff %.3g (element %zu)\n", n, worst, at);
    if (worst > 1e-4)
        fail_msg("causal: element %zu got %g, expected %g", at, (double)got[at],
                 json_number_value(json_array_get(jvec, at)));
    mdl_free(m);
    free(ids);
    json_decref(c);
    mg_free(&g);
}

/* Local-layer fields on another architecture, and out-of-range ones, are
 * refused by name. */
static void test_gemma_config_check(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "gemma-st", -1, -1);
    mdl_config c = g.cfg;
    c.sliding_window = -1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "sliding_window -1"));
    c = g.cfg;
    c.rope_type = MDL_ROPE_LINEAR, c.rope_factor = 2.0; /* Gemma: unscaled RoPE only */
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "RoPE scaling is not supported for gemma3_text"));
    c = g.cfg;
    c.rope_local_theta = 0.5;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "rope_local_base_freq"));
    c = g.cfg;
    c.attn_scalar = -1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = g.cfg;
    snprintf(c.arch, sizeof c.arch, "qwen3");
    snprintf(c.act, sizeof c.act, "silu");
    c.bidirectional = 0; /* (a window with bidirectional attention: Gemma's alone) */
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "qwen3, which has none"));
    c.bidirectional = 1, c.rope_local_theta = 0, c.attn_scalar = 0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "sliding window with bidirectional attention"));
    c.bidirectional = 0, c.rope_local_theta = 1e4;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "qwen3, which has none"));
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("gemma-st", "gemma3_text", gemma_expect),
        cmocka_unit_test(test_gemma_variants),
        cmocka_unit_test(test_gemma_causal),
        cmocka_unit_test(test_gemma_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
