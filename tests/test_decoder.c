/* Llama-family decoders (model/llama.c) against the transformers goldens:
 * mistral-e5 (GQA), qwen2-gte (q/k/v biases), qwen3-emb (+bf16: head_dim,
 * q_norm/k_norm, tied embeddings), mistral-lm (lm_head logits); plus
 * determinism and a long (8192-token) sequence. */
#include "model_golden.h"

#include "kernels/kernels.h"

static void test_mistral_lm(void **state)
{
    (void)state;
    /* a raw LM folder: the converter overrides pooling and normalization */
    mg_model g;
    mg_load(&g, "mistral-lm", MDL_POOL_LASTTOKEN_LOGITS, 0);
    assert_int_equal(g.dim, 2346);
    mg_run_cases(&g, "mistral-lm", 1e-4);
    mg_check_deterministic(&g, "mistral-lm");
    mg_check_threads(&g, "mistral-lm", 3);
    mg_check_inner_threads(&g, "mistral-lm");
    mg_check_bf16(&g, "mistral-lm");
    mg_recreate_stored(&g); /* 16-bit weights (and lm_head) read as stored */
    mg_run_cases(&g, "mistral-lm", 1e-4);
    mg_check_inner_threads(&g, "mistral-lm");
    mg_free(&g);
}

/* 8192 tokens run in bounded scratch: attention keeps a [KERN_ATTN_ROWS, n]
 * score block, never [n, n]. A one-layer copy of qwen3-emb keeps this cheap
 * enough for valgrind (with last-token pooling the only layer computes K/V
 * for all 8192 rows and attention for the last row); full causal attention
 * over many row blocks is covered with 1000 tokens and mean pooling. */
static void test_long_sequence(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "qwen3-emb", -1, -1);
    size_t n = 8192;
    assert_int_equal(kern_attention_scratch(n, 128), 2 * n * 128 + (size_t)KERN_ATTN_ROWS * n);
    mdl_config c = g.cfg;
    c.layers = 1;
    mdl_model *m1 = NULL;
    assert_int_equal(mdl_create(&c, &g.w, &m1), EMB_OK);
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)((i * 7919u) % 3000u);
    float *a = malloc(g.dim * sizeof *a), *b = malloc(g.dim * sizeof *b);
    assert_int_equal(mdl_encode(m1, ids, n, a), EMB_OK);
    for (size_t i = 0; i < g.dim; i++)
        assert_true(isfinite(a[i]));
    assert_int_equal(mdl_encode(m1, ids, n, b), EMB_OK);
    assert_memory_equal(a, b, g.dim * sizeof *a);
    mdl_free(m1);
    c.pooling = MDL_POOL_MEAN;
    assert_int_equal(mdl_create(&c, &g.w, &m1), EMB_OK);
    assert_int_equal(mdl_encode(m1, ids, 1000, a), EMB_OK);
    assert_int_equal(mdl_encode(m1, ids, 1000, b), EMB_OK);
    assert_memory_equal(a, b, g.dim * sizeof *a);
    for (size_t i = 0; i < g.dim; i++)
        assert_true(isfinite(a[i]));
    mdl_free(m1);
    free(ids), free(a), free(b);
    mg_free(&g);
}

/* cfg->bidirectional drops the causal mask: the last token's vector changes
 * when earlier tokens can see later ones, but a one-token sequence (which only
 * sees itself) is the same either way. */
static void test_bidirectional(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "qwen2-gte", -1, -1);
    mdl_config c = g.cfg;
    c.bidirectional = 1;
    mdl_model *bi = NULL;
    assert_int_equal(mdl_create(&c, &g.w, &bi), EMB_OK);
    int32_t ids[5] = {100, 2000, 37, 512, 3000};
    float *a = malloc(g.dim * sizeof *a), *b = malloc(g.dim * sizeof *b);
    assert_int_equal(mdl_encode(g.m, ids, 5, a), EMB_OK);
    assert_int_equal(mdl_encode(bi, ids, 5, b), EMB_OK);
    assert_memory_not_equal(a, b, g.dim * sizeof *a);
    assert_int_equal(mdl_encode(g.m, ids, 1, a), EMB_OK);
    assert_int_equal(mdl_encode(bi, ids, 1, b), EMB_OK);
    assert_memory_equal(a, b, g.dim * sizeof *a);
    mdl_free(bi);
    free(a), free(b);
    mg_free(&g);
}

static void test_decoder_weights(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "qwen2-gte", -1, -1);
    mdl_tensor *copy = malloc(g.w.n * sizeof *copy);
    memcpy(copy, g.t, g.w.n * sizeof *copy);
    mdl_weights w = {g.w.n, copy};
    for (size_t i = 0; i < g.w.n; i++)
        if (!strcmp(copy[i].name, "layers.1.self_attn.k_proj.bias"))
            copy[i].name = "gone";
    assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "layers.1.self_attn.k_proj.bias"));
    /* logits pooling without lm_head (untied) is refused by name */
    mdl_config c = g.cfg;
    c.pooling = MDL_POOL_LASTTOKEN_LOGITS;
    c.tie_embeddings = 0;
    assert_int_equal(mdl_check_weights(&c, &g.w), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "lm_head.weight"));
    c = g.cfg;
    c.kv_heads = 3; /* 4 heads */
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    free(copy);
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("mistral-e5", "mistral", NULL),
        MG_FIXTURE("qwen2-gte", "qwen2", NULL),
        MG_FIXTURE("qwen3-emb", "qwen3", NULL),
        MG_FIXTURE("qwen3-emb-bf16", "qwen3", NULL),
        cmocka_unit_test(test_mistral_lm),
        cmocka_unit_test(test_long_sequence),
        cmocka_unit_test(test_bidirectional),
        cmocka_unit_test(test_decoder_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
