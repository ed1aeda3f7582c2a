/* model/arch.c: the one architecture table. Each supported model_type maps
 * to its family and graph variants, a config built from its defaults passes
 * mdl_config_check, an unknown model_type is refused with a message naming
 * the supported ones, and the MDL_MAX_* limits are the ones checked. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "model/model.h"
#include "runtime/runtime.h"

static const struct {
    const char *model_type;
    mdl_family family;
    int positions_after_pad, qkv_bias, qk_norm;
} expected[] = {
    { "bert", MDL_FAMILY_BERT, 0, 0, 0 },
    { "xlm-roberta", MDL_FAMILY_BERT, 1, 0, 0 },
    { "roberta", MDL_FAMILY_BERT, 1, 0, 0 },
    { "camembert", MDL_FAMILY_BERT, 1, 0, 0 },
    { "mpnet", MDL_FAMILY_BERT, 1, 0, 0 },
    { "distilbert", MDL_FAMILY_BERT, 0, 0, 0 },
    { "nomic_bert", MDL_FAMILY_BERT, 0, 0, 0 },
    { "new", MDL_FAMILY_BERT, 0, 0, 0 },
    { "gte", MDL_FAMILY_BERT, 0, 0, 0 },
    { "modernbert", MDL_FAMILY_BERT, 0, 0, 0 },
    { "llama", MDL_FAMILY_LLAMA, 0, 0, 0 },
    { "mistral", MDL_FAMILY_LLAMA, 0, 0, 0 },
    { "qwen2", MDL_FAMILY_LLAMA, 0, 1, 0 },
    { "qwen3", MDL_FAMILY_LLAMA, 0, 0, 1 },
    { "gemma3_text", MDL_FAMILY_LLAMA, 0, 0, 1 },
};
#define N_EXPECTED (sizeof expected / sizeof *expected)

/* A config as the converter makes it from an empty config.json. */
static mdl_config config_of(const mdl_arch *a)
{
    mdl_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "%s", a->model_type);
    c.vocab_size = a->vocab_size;
    c.hidden = a->hidden;
    c.layers = a->layers;
    c.heads = a->heads;
    c.kv_heads = a->kv_heads ? a->kv_heads : a->heads;
    c.head_dim = a->head_dim ? a->head_dim : a->hidden / a->heads;
    c.intermediate = a->intermediate;
    c.max_position = a->max_position;
    c.type_vocab_size = a->type_vocab_size;
    c.pad_token_id = a->pad_token_id;
    c.norm_eps = a->norm_eps;
    c.rope_theta = a->rope_theta;
    snprintf(c.act, sizeof c.act, "%s", a->act);
    c.pooling = a->family == MDL_FAMILY_BERT ? MDL_POOL_MEAN : MDL_POOL_LASTTOKEN;
    return c;
}

static void test_each_type_maps_to_its_family(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_EXPECTED; i++) {
        const mdl_arch *a = mdl_arch_find(expected[i].model_type);
        assert_non_null(a);
        assert_string_equal(a->model_type, expected[i].model_type);
        assert_int_equal(a->family, expected[i].family);
        assert_int_equal(a->positions_after_pad, expected[i].positions_after_pad);
        assert_int_equal(a->qkv_bias, expected[i].qkv_bias);
        assert_int_equal(a->qk_norm, expected[i].qk_norm);
        mdl_config c = config_of(a);
        assert_ptr_equal(mdl_arch_of(&c), a);
        if (mdl_config_check(&c) != EMB_OK)
            fail_msg("%s: %s", a->model_type, rt_last_error());
        /* int8 is for the encoders only */
        assert_int_equal(mdl_int8_ok(&c), expected[i].family == MDL_FAMILY_BERT);
    }
    /* the table holds exactly these, in this order */
    for (size_t i = 0; i < N_EXPECTED; i++)
        assert_string_equal(mdl_arch_at(i)->model_type, expected[i].model_type);
    assert_null(mdl_arch_at(N_EXPECTED));
    assert_string_equal(mdl_arch_supported(), "bert, xlm-roberta, roberta, camembert, mpnet, "
                                              "distilbert, nomic_bert, new, gte, modernbert, llama, mistral, "
                                              "qwen2, qwen3, gemma3_text");
}

static void test_unknown_type_refused(void **state)
{
    (void)state;
    static const char *const unknown[] = { "gpt2", "BERT", "", "Roberta", "distilroberta", "qwen", "bert " };
    mdl_config c = config_of(mdl_arch_find("bert"));
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        assert_null(mdl_arch_find(unknown[i]));
        snprintf(c.arch, sizeof c.arch, "%s", unknown[i]);
        assert_null(mdl_arch_of(&c));
        assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
        char want[64];
        snprintf(want, sizeof want, "\"%s\" is not supported", unknown[i]);
        assert_non_null(strstr(rt_last_error(), want));
        assert_non_null(strstr(rt_last_error(),
                               "(supported: bert, xlm-roberta, roberta, camembert, mpnet, "
                               "distilbert, nomic_bert, new, gte, modernbert, llama, mistral, "
                               "qwen2, qwen3, gemma3_text)"));
    }
    assert_null(mdl_arch_find(NULL));
    assert_null(mdl_arch_of(NULL));
    memset(c.arch, 'x', sizeof c.arch); /* not a terminated string */
    assert_null(mdl_arch_of(&c));
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
}

static void test_limits(void **state)
{
    (void)state;
    mdl_config c = config_of(mdl_arch_find("bert"));
    c.vocab_size = MDL_MAX_VOCAB;
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.vocab_size = MDL_MAX_VOCAB + 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = config_of(mdl_arch_find("bert"));
    c.layers = MDL_MAX_LAYERS;
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.layers = MDL_MAX_LAYERS + 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "num_hidden_layers 1025, expected 1 .. 1024"));
    c = config_of(mdl_arch_find("bert"));
    c.intermediate = MDL_MAX_INTERMEDIATE + 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = config_of(mdl_arch_find("bert"));
    c.max_position = MDL_MAX_POSITIONS;
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.max_position = MDL_MAX_POSITIONS + 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = config_of(mdl_arch_find("bert"));
    c.type_vocab_size = MDL_MAX_TYPE_VOCAB + 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = config_of(mdl_arch_find("mistral"));
    c.max_position = MDL_MAX_ROPE_POSITIONS;
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.max_position = MDL_MAX_ROPE_POSITIONS + 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c.max_position = 0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = config_of(mdl_arch_find("qwen3"));
    c.hidden = MDL_MAX_HIDDEN + 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "hidden_size 65537, expected 1 .. 65536"));
    c = config_of(mdl_arch_find("qwen3"));
    c.head_dim = MDL_MAX_HEAD_DIM + 2;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
}

/* MPNet: no token_type embeddings, a fixed padding_idx 1 (positions start
 * at 2 whatever pad_token_id says), 32 relative-position buckets, 64 int8
 * outlier features. */
static void test_mpnet(void **state)
{
    (void)state;
    const mdl_arch *a = mdl_arch_find("mpnet");
    assert_non_null(a);
    assert_int_equal(a->type_vocab_size, 0);
    assert_int_equal(a->relative_buckets, 32);
    assert_int_equal(a->padding_idx, 1);
    assert_true(a->mpnet_names);
    assert_int_equal(a->int8_outliers, 64); /* 16 left the empty text at cosine 0.9985 */
    mdl_config c = config_of(a);
    assert_int_equal(mdl_first_position(&c), 2);
    assert_int_equal(mdl_max_tokens(&c), 510); /* MPNetConfig: 512 positions */
    c.pad_token_id = 0;                        /* MPNetEmbeddings ignores it */
    assert_int_equal(mdl_first_position(&c), 2);
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.type_vocab_size = 2;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "mpnet has no token_type embeddings"));
    c = config_of(a);
    c.max_position = 2;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "leaves no position"));
    c.max_position = 3;
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    assert_int_equal(mdl_max_tokens(&c), 1);
    /* XLM-R takes its padding index from pad_token_id; BERT starts at 0 */
    c = config_of(mdl_arch_find("xlm-roberta"));
    c.pad_token_id = 5;
    assert_int_equal(mdl_first_position(&c), 6);
    c = config_of(mdl_arch_find("bert"));
    assert_int_equal(mdl_first_position(&c), 0);
    c = config_of(mdl_arch_find("llama"));
    assert_int_equal(mdl_first_position(&c), 0);
    assert_int_equal(mdl_int8_outliers(&c), 0); /* decoders: int8 refused */
    c = config_of(mdl_arch_find("bert"));
    assert_int_equal(mdl_int8_outliers(&c), 16);
    c = config_of(a);
    assert_int_equal(mdl_int8_outliers(&c), 64);
}

/* RoBERTa and CamemBERT: XLM-R's graph (positions after pad_token_id) under
 * their own model_types and RobertaConfig's / CamembertConfig's defaults;
 * DistilBERT: BERT's positions, no token types, its own tensor and config
 * key names, LayerNorm eps fixed (no key). */
static void test_roberta_distilbert(void **state)
{
    (void)state;
    const mdl_arch *r = mdl_arch_find("roberta"), *cb = mdl_arch_find("camembert");
    const mdl_arch *x = mdl_arch_find("xlm-roberta"), *d = mdl_arch_find("distilbert");
    assert_non_null(r && cb && x && d);
    assert_int_equal(r->vocab_size, 50265);
    assert_int_equal(cb->vocab_size, 30522);
    const mdl_arch *rs[2] = { r, cb };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(rs[i]->padding_idx, x->padding_idx);
        assert_int_equal(rs[i]->pad_token_id, 1);
        assert_int_equal(rs[i]->type_vocab_size, 2);
        assert_false(rs[i]->mpnet_names || rs[i]->distilbert_names || rs[i]->keys);
        mdl_config c = config_of(rs[i]);
        assert_int_equal(mdl_first_position(&c), 2);
        assert_int_equal(mdl_max_tokens(&c), 510);
        assert_int_equal(mdl_int8_outliers(&c), 16);
    }
    assert_true(d->distilbert_names);
    assert_false(d->mpnet_names || d->positions_after_pad || d->relative_buckets);
    assert_int_equal(d->type_vocab_size, 0);
    assert_int_equal(d->layers, 6);
    assert_non_null(d->keys);
    assert_string_equal(d->keys->hidden, "dim");
    assert_string_equal(d->keys->layers, "n_layers");
    assert_string_equal(d->keys->heads, "n_heads");
    assert_string_equal(d->keys->intermediate, "hidden_dim");
    assert_string_equal(d->keys->act, "activation");
    assert_null(d->keys->norm_eps);
    mdl_config c = config_of(d);
    assert_int_equal(mdl_first_position(&c), 0);
    assert_int_equal(mdl_max_tokens(&c), 512);
    c.type_vocab_size = 2;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "distilbert has no token_type embeddings"));
}

/* gemma3_text: Gemma3TextConfig's defaults, both Gemma variants, the only
 * row with them; its local-layer fields are refused on another row. */
static void test_gemma3_text(void **state)
{
    (void)state;
    const mdl_arch *a = mdl_arch_find("gemma3_text");
    assert_non_null(a);
    assert_true(a->gemma_norms && a->local_layers && a->qk_norm);
    assert_string_equal(a->act, "gelu_pytorch_tanh");
    assert_int_equal(a->head_dim, 256);
    assert_int_equal(a->pad_token_id, 0);
    assert_true(a->rope_theta == 1e6);
    for (size_t i = 0; mdl_arch_at(i); i++)
        if (mdl_arch_at(i) != a)
            assert_false(mdl_arch_at(i)->gemma_norms || mdl_arch_at(i)->local_layers);
    mdl_config c = config_of(a);
    c.sliding_window = 4096, c.rope_local_theta = 1e4, c.attn_scalar = 256;
    for (size_t l = 0; l < (size_t)c.layers; l++)
        if ((l + 1) % 6 != 0)
            c.window_layers[l / 8] |= (uint8_t)(1u << (l % 8));
    c.bidirectional = 1; /* Gemma's half window */
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    mdl_config q = config_of(mdl_arch_find("qwen3"));
    q.attn_scalar = 256;
    assert_int_equal(mdl_config_check(&q), EMB_ERR_FORMAT);
    assert_int_equal(mdl_int8_ok(&c), 0); /* a decoder-family file: int8 refused */
    assert_non_null(a->keys); /* Gemma3TextConfig's activation key */
    assert_string_equal(a->keys->act, "hidden_activation");
}

/* ModernBERT: ModernBertConfig's defaults (8192 positions from 0, no token
 * types, a global layer every 3, local window 128, RoPE 160000 / 10000),
 * its own graph, int8 allowed; only ModernBERT has the layer pattern. */
static void test_modernbert(void **state)
{
    (void)state;
    const mdl_arch *a = mdl_arch_find("modernbert");
    assert_non_null(a);
    assert_true(a->modernbert);
    assert_int_equal(a->type_vocab_size, 0);
    assert_int_equal(a->global_every, 3);
    assert_int_equal(a->window_default, 128);
    assert_true(a->rope_theta == 160000.0 && a->rope_local_theta == 10000.0);
    assert_true(a->norm_eps == 1e-5);
    assert_non_null(a->keys); /* ModernBertConfig's hidden_activation, norm_eps */
    assert_string_equal(a->keys->act, "hidden_activation");
    assert_string_equal(a->keys->norm_eps, "norm_eps");
    assert_string_equal(a->keys->hidden, "hidden_size");
    mdl_config c = config_of(a);
    assert_int_equal(mdl_first_position(&c), 0);
    assert_int_equal(mdl_max_tokens(&c), 8192);
    assert_int_equal(mdl_int8_outliers(&c), 16);
    c.type_vocab_size = 2;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "modernbert has no token_type embeddings"));
    c = config_of(a); /* no window layers: every layer global */
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.window_layers[0] = 0x6, c.sliding_window = 1, c.rope_local_theta = 1e4; /* reach 1 */
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.sliding_window = -1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c.sliding_window = 128, c.rope_local_theta = 0; /* a window needs its local base */
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    for (size_t i = 0; mdl_arch_at(i); i++)
        if (strcmp(mdl_arch_at(i)->model_type, "modernbert") != 0)
            assert_false(mdl_arch_at(i)->modernbert || mdl_arch_at(i)->global_every);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_type_maps_to_its_family),
        cmocka_unit_test(test_unknown_type_refused),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_mpnet),
        cmocka_unit_test(test_gemma3_text),
        cmocka_unit_test(test_roberta_distilbert),
        cmocka_unit_test(test_modernbert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
