/* XLM-R encoder (model/bert.c with RoBERTa position ids) against the
 * transformers goldens of the xlmr-me5 fixture. */
#include "model_golden.h"

static void xlmr_expect(const mg_model *g)
{
    assert_int_equal(g->cfg.pad_token_id, 1);
}

/* Positions run padding_idx+1 .. padding_idx+n, so the longest input is
 * max_position_embeddings - padding_idx - 1 = 512 tokens. */
static void test_xlmr_limits(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "xlmr-me5", -1, -1);
    mg_check_pad_positions(&g, 512, 5);
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("xlmr-me5", "xlm-roberta", xlmr_expect),
        cmocka_unit_test(test_xlmr_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
