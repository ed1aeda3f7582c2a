/* MPNet encoder (model/bert.c with MPNet's relative attention bias, RoBERTa
 * position ids and no token types) against the sentence-transformers
 * goldens of the mpnet-st fixture, its relative-position buckets against
 * transformers' MPNetEncoder.relative_position_bucket, and its limits and
 * weight errors. */
#include "model_golden.h"

static void mpnet_expect(const mg_model *g)
{
    assert_int_equal(g->cfg.type_vocab_size, 0);
    assert_int_equal(g->pol.max_tokens, 384);
}

/* The bucket of each key - query offset, as torch computes
 * MPNetEncoder.relative_position_bucket(offset) (transformers 5.25, torch
 * 2.15, offsets -1100 .. 1100): a distance below 8 is its own bucket, then
 * log-spaced buckets starting at the distances below, the last one from 91
 * on; keys after the query (offset > 0) use buckets 16 .. 31. */
static int torch_bucket(int64_t offset)
{
    static const int64_t starts[] = { 8, 12, 16, 23, 32, 46, 64, 91 };
    int64_t a = offset < 0 ? -offset : offset;
    int b = (int)a;
    if (a >= 8) {
        b = 7;
        for (size_t i = 0; i < sizeof starts / sizeof *starts && a >= starts[i]; i++)
            b = 8 + (int)i;
    }
    return (offset > 0 ? 16 : 0) + b;
}

static void test_relative_bucket(void **state)
{
    (void)state;
    for (int64_t d = -1100; d <= 1100; d++)
        if (mdl_relative_bucket(d, 32) != torch_bucket(d))
            fail_msg("offset %lld: bucket %d, torch %d", (long long)d, mdl_relative_bucket(d, 32),
                     torch_bucket(d));
    /* exact log boundaries (16, 32, 64 = 8 * 2^k) land in the upper bucket */
    assert_int_equal(mdl_relative_bucket(-16, 32), 10);
    assert_int_equal(mdl_relative_bucket(32, 32), 28);
    assert_int_equal(mdl_relative_bucket(-64, 32), 14);
    assert_int_equal(mdl_relative_bucket(1 << 20, 32), 31);
    assert_int_equal(mdl_relative_bucket(-(1 << 20), 32), 15);
}

/* Positions run 2 .. n + 1 (padding_idx 1), so 514 positions take 512
 * tokens; a literal <pad> takes position 1 and does not advance the count. */
static void test_mpnet_limits(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "mpnet-st", -1, -1);
    mg_check_pad_positions(&g, 512, 2000);
    mg_free(&g);
}

/* The relative bias table is read (zeroing it changes the vector), and a
 * missing or misshapen one is refused by name; no token_type table is
 * needed. */
static void test_mpnet_weights(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "mpnet-st", -1, -1);
    assert_null(mdl_weights_find(&g.w, "embeddings.token_type_embeddings.weight"));
    const char *rel = "encoder.relative_attention_bias.weight";
    mdl_tensor *copy = malloc(g.w.n * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, g.t, g.w.n * sizeof *copy);
    mdl_weights w = { g.w.n, copy };
    mdl_tensor *t = NULL;
    for (size_t i = 0; i < w.n; i++)
        if (!strcmp(copy[i].name, rel))
            t = &copy[i];
    assert_non_null(t);
    assert_int_equal(t->shape[0], 32);
    assert_int_equal(t->shape[1], 4);

    const int32_t ids[6] = {0, 2000, 2001, 2002, 2003, 2};
    mg_check_tensor_used(&g, rel, ids, 6);

    t->shape[0] = 16;
    assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), rel));
    assert_non_null(strstr(rt_last_error(), "expected [32, 4]"));
    t->shape[0] = 32;
    t->name = "encoder.relative_attention_bias.other";
    assert_int_equal(mdl_check_weights(&g.cfg, &w), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "encoder.relative_attention_bias.weight is missing"));
    free(copy);
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("mpnet-st", "mpnet", mpnet_expect),
        cmocka_unit_test(test_relative_bucket),
        cmocka_unit_test(test_mpnet_limits),
        cmocka_unit_test(test_mpnet_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
