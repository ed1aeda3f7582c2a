/* XLM-R encoder (model/bert.c with RoBERTa position ids) against the
 * transformers goldens of the xlmr-me5 fixture. */
#include "model_golden.h"

static void test_xlmr_me5(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "xlmr-me5", -1, -1);
    assert_string_equal(g.cfg.arch, "xlm-roberta");
    assert_int_equal(g.cfg.pad_token_id, 1);
    mg_check_all(&g, "xlmr-me5");
    mg_free(&g);
}

/* Positions run padding_idx+1 .. padding_idx+n, so the longest input is
 * max_position_embeddings - padding_idx - 1 = 512 tokens. */
static void test_xlmr_limits(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "xlmr-me5", -1, -1);
    float out[32];
    int32_t *ids = malloc(513 * sizeof *ids);
    for (size_t i = 0; i < 513; i++)
        ids[i] = 5;
    assert_int_equal(mdl_max_tokens(&g.cfg), 512);
    assert_int_equal(mdl_encode(g.m, ids, 512, out), EMB_OK);
    assert_int_equal(mdl_encode(g.m, ids, 513, out), EMB_ERR_INVALID_ARGUMENT);
    /* a literal <pad> (id 1) takes position padding_idx and does not advance
     * the count: "a <pad> b" differs from "a b b" positions-wise */
    int32_t with_pad[4] = {0, 1, 5, 2}, shifted[4] = {0, 7, 5, 2};
    float v1[32], v2[32];
    assert_int_equal(mdl_encode(g.m, with_pad, 4, v1), EMB_OK);
    assert_int_equal(mdl_encode(g.m, shifted, 4, v2), EMB_OK);
    assert_memory_not_equal(v1, v2, sizeof v1);
    free(ids);
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xlmr_me5),
        cmocka_unit_test(test_xlmr_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
