/* ModernBERT encoder (model/modernbert.c: pre-LN without biases, RoPE with
 * a global and a local base, fused Wqkv, GeGLU, global and sliding-window
 * layers) against the sentence-transformers goldens of the modernbert-st
 * fixture, and its config fields, layer pattern, bias handling, limits and
 * weight errors. */
#include "model_golden.h"

static void modernbert_expect(const mg_model *g)
{
    assert_int_equal(g->cfg.type_vocab_size, 0);
    assert_int_equal(g->cfg.layers, 5);
    /* a global layer every 3 from layer 0, the rest local (the shared window
     * layers), local_attention 8 as sliding_window */
    static const int local[5] = { 0, 1, 1, 0, 1 };
    for (size_t l = 0; l < 5; l++)
        assert_int_equal(mdl_window_layer(&g->cfg, l), local[l]);
    assert_int_equal(g->cfg.sliding_window, 8);
    assert_int_equal(mdl_window_reach(&g->cfg), 5);
    assert_true(g->cfg.rope_theta == 160000.0);
    assert_true(g->cfg.rope_local_theta == 10000.0);
    assert_true(g->cfg.norm_eps == 1e-5);
    assert_string_equal(g->cfg.act, "gelu");
    assert_int_equal(g->cfg.pooling, MDL_POOL_CLS);
    assert_int_equal(g->pol.max_tokens, 96);
}

/* ids word, word + 1, ... of length n (below the fixture's special ids). */
static void mb_ids(int32_t *ids, size_t n)
{
    ids[0] = 3002; /* [CLS] */
    for (size_t i = 1; i < n; i++)
        ids[i] = 200 + (int32_t)(i * 37 % 2500);
}

/* The vector of ids[n] under config cfg, on g's weights. */
static void mb_encode_cfg(mg_model *g, const mdl_config *cfg, const int32_t *ids, size_t n,
                          float *out)
{
    mdl_model *m = NULL;
    assert_int_equal(mdl_create(cfg, &g->w, &m), EMB_OK);
    assert_int_equal(mdl_encode(m, ids, n, out), EMB_OK);
    mdl_free(m);
}

/* Each field of the layer pattern matters where it should: a window wider
 * than the text is full attention (bitwise the same as a wider one), a
 * narrower one is not; the local RoPE base and the period of global layers
 * change a long text's vector; a text within the window on every side does
 * not see the window at all. */
static void test_modernbert_pattern(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "modernbert-st", -1, -1);
    size_t n = 40, d = g.dim;
    int32_t ids[40];
    mb_ids(ids, n);
    float *base = malloc(d * sizeof *base), *got = malloc(d * sizeof *got);
    float *ref = malloc(d * sizeof *ref);
    assert_non_null(base && got && ref);
    assert_int_equal(mdl_encode(g.m, ids, n, base), EMB_OK);

    mdl_config c = g.cfg;
    c.sliding_window = 2 * (int64_t)n; /* every key within the window */
    mb_encode_cfg(&g, &c, ids, n, ref);
    assert_memory_not_equal(base, ref, d * sizeof *ref);
    c.sliding_window = 1000;
    mb_encode_cfg(&g, &c, ids, n, got);
    assert_memory_equal(got, ref, d * sizeof *got);
    c.sliding_window = 6;
    mb_encode_cfg(&g, &c, ids, n, got);
    assert_memory_not_equal(got, base, d * sizeof *got);

    c = g.cfg;
    c.rope_local_theta = 20000.0;
    mb_encode_cfg(&g, &c, ids, n, got);
    assert_memory_not_equal(got, base, d * sizeof *got);
    c = g.cfg;
    memset(c.window_layers, 0, sizeof c.window_layers); /* every layer global: the global base */
    mb_encode_cfg(&g, &c, ids, n, got);
    assert_memory_not_equal(got, base, d * sizeof *got);

    /* 5 tokens: |j - i| <= 4 for all, so the window of 8 changes nothing */
    c = g.cfg;
    c.sliding_window = 1000;
    mb_encode_cfg(&g, &c, ids, 5, ref);
    assert_int_equal(mdl_encode(g.m, ids, 5, got), EMB_OK);
    assert_memory_equal(got, ref, d * sizeof *got);
    free(base), free(got), free(ref);
    mg_free(&g);
}

/* max_position_embeddings (128) tokens are taken, one more is refused. */
static void test_modernbert_limits(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "modernbert-st", -1, -1);
    mg_check_token_limit(&g, 128, 200);

    mdl_config c = g.cfg;
    c.sliding_window = -2;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "sliding_window (local_attention) -2"));
    c = g.cfg;
    c.rope_local_theta = 0.0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "rope_local_theta 0"));
    c = g.cfg;
    c.attn_scalar = 16.0; /* Gemma3's alone */
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "query_pre_attn_scalar given for modernbert"));
    c = g.cfg;
    c.hidden = 36, c.heads = 4, c.head_dim = 9;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "head_dim 9, expected even"));
    mg_free(&g);
}

/* A copy of g's tensors with room for two more (freed by the caller). */
static mdl_tensor *mb_copy(const mg_model *g, size_t extra)
{
    mdl_tensor *copy = calloc(g->w.n + extra, sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, g->t, g->w.n * sizeof *copy);
    return copy;
}

static mdl_tensor *mb_find(mdl_tensor *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    fail_msg("tensor %s not in the fixture", name);
    return NULL;
}

/* Layer 0 has no attn_norm (Identity) and the checkpoint no biases; a
 * Linear or LayerNorm bias that is present (attention_bias, mlp_bias,
 * norm_bias true) is used; missing and misshapen tensors are refused by
 * name. */
static void test_modernbert_weights(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "modernbert-st", -1, -1);
    assert_null(mdl_weights_find(&g.w, "layers.0.attn_norm.weight"));
    assert_null(mdl_weights_find(&g.w, "layers.1.attn.Wqkv.bias"));
    assert_null(mdl_weights_find(&g.w, "final_norm.bias"));
    int32_t ids[12];
    mb_ids(ids, 12);
    size_t d = g.dim;
    float *base = malloc(d * sizeof *base), *got = malloc(d * sizeof *got);
    assert_non_null(base && got);
    assert_int_equal(mdl_encode(g.m, ids, 12, base), EMB_OK);

    static const struct {
        const char *name;
        int64_t len;
    } biases[] = { { "layers.1.attn.Wqkv.bias", 96 }, { "layers.2.mlp.Wi.bias", 96 },
                   { "layers.4.attn.Wo.bias", 32 },  { "layers.0.mlp.Wo.bias", 32 },
                   { "layers.3.mlp_norm.bias", 32 }, { "final_norm.bias", 32 },
                   { "embeddings.norm.bias", 32 } };
    float vals[96], zeros[96] = { 0 };
    for (size_t i = 0; i < 96; i++)
        vals[i] = 0.05f * (float)((int)(i % 7) - 3);
    for (size_t b = 0; b < sizeof biases / sizeof *biases; b++) {
        mdl_tensor *copy = mb_copy(&g, 1);
        mdl_tensor *t = &copy[g.w.n];
        t->name = biases[b].name;
        t->ndim = 1;
        t->shape[0] = biases[b].len;
        t->data = vals;
        mdl_weights w = { g.w.n + 1, copy };
        mdl_model *m = NULL;
        assert_int_equal(mdl_create(&g.cfg, &w, &m), EMB_OK);
        assert_int_equal(mdl_encode(m, ids, 12, got), EMB_OK);
        if (!memcmp(got, base, d * sizeof *got))
            fail_msg("bias %s was not used", biases[b].name);
        mdl_free(m);
        t->data = zeros; /* a zero bias: the same model */
        assert_int_equal(mdl_create(&g.cfg, &w, &m), EMB_OK);
        assert_int_equal(mdl_encode(m, ids, 12, got), EMB_OK);
        tu_assert_close(got, base, d, 1e-6, biases[b].name);
        mdl_free(m);
        t->shape[0] = biases[b].len + 1;
        assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
        assert_non_null(strstr(rt_last_error(), biases[b].name));
        free(copy);
    }

    static const struct {
        const char *name, *want;
    } shapes[] = { { "layers.2.attn.Wqkv.weight", "expected [96, 32]" },
                   { "layers.1.mlp.Wi.weight", "expected [96, 32]" },
                   { "layers.1.mlp.Wo.weight", "expected [32, 48]" },
                   { "layers.4.attn_norm.weight", "expected [32]" },
                   { "embeddings.tok_embeddings.weight", "expected [3006, 32]" } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        mdl_tensor *copy = mb_copy(&g, 0);
        mdl_weights w = { g.w.n, copy };
        mdl_tensor *t = mb_find(copy, w.n, shapes[s].name);
        t->shape[0] += 2;
        assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
        assert_non_null(strstr(rt_last_error(), shapes[s].want));
        t->shape[0] -= 2;
        t->name = "renamed";
        assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
        assert_non_null(strstr(rt_last_error(), shapes[s].name));
        assert_non_null(strstr(rt_last_error(), "is missing"));
        free(copy);
    }
    free(base), free(got);
    mg_free(&g);
}

/* A model file's layer pattern attributes (format.md: the shared
 * sliding_window, sliding_layers and rope_local_theta) are read back, and
 * damaged ones are refused at open with a status and the field's name. */
static void test_modernbert_file_attributes(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    char *good = tu_convert("tests/fixtures/models/modernbert-st", tmp, "good", NULL);
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(good, NULL, &m), EMB_OK);
    assert_string_equal(emb_model_meta(m, "architecture"), "modernbert");
    emb_model_close(m);
    static const struct {
        const char *name;
        char kind;
        int64_t v;
        const char *msg;
    } cases[] = {
        { "sliding_window", 'i', -2, "sliding_window -2" },
        { "sliding_window", 'i', (int64_t)1 << 40, "sliding_window (local_attention) 1099511627776" },
        { "sliding_layers", 0, 0, "sliding_layers" },
        { "sliding_layers", 'a', 2, "sliding_layers" },
        { "rope_local_theta", 0, 0, "rope_local_theta 0" },
    };
    char bad[1024];
    snprintf(bad, sizeof bad, "%s/bad.h5", tmp);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(tu_run(NULL, "cp '%s' '%s'", good, bad), 0);
        tu_h5_config_attr(bad, cases[i].name, cases[i].kind, cases[i].v, NULL);
        m = NULL;
        emb_status st = emb_model_open(bad, NULL, &m);
        if (st != EMB_ERR_FORMAT || !strstr(emb_last_error(), cases[i].msg)) {
            print_error("%s: status %d, message \"%s\" (expected %d, \"%s\")\n", cases[i].name,
                        (int)st, emb_last_error(), (int)EMB_ERR_FORMAT, cases[i].msg);
            fail();
        }
        assert_null(m);
    }
    free(good);
    tu_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("modernbert-st", "modernbert", modernbert_expect),
        cmocka_unit_test(test_modernbert_pattern),
        cmocka_unit_test(test_modernbert_limits),
        cmocka_unit_test(test_modernbert_weights),
        cmocka_unit_test(test_modernbert_file_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
