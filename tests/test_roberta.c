/* RoBERTa and CamemBERT encoders (model/bert.c with XLM-R's graph: RoBERTa
 * position ids after pad_token_id, a one-row token_type table) under their
 * own model_types, against the sentence-transformers goldens of the
 * roberta-st (byte-level BPE) and camembert-st (SentencePiece Unigram)
 * fixtures, their position limits, and the "roberta." checkpoint prefix. */
#include "model_golden.h"

static void roberta_expect(const mg_model *g)
{
    assert_int_equal(g->cfg.pad_token_id, 1);
    assert_int_equal(g->cfg.type_vocab_size, 1);
    assert_int_equal(g->pol.max_tokens, 512);
}

static void camembert_expect(const mg_model *g)
{
    assert_int_equal(g->cfg.pad_token_id, 1);
    assert_int_equal(g->cfg.type_vocab_size, 1);
    assert_int_equal(g->pol.max_tokens, 128);
}

/* Positions run 2 .. n + 1 (padding_idx = pad_token_id 1), so 514 positions
 * take 512 tokens; a literal <pad> takes position 1 without advancing. */
static void test_roberta_limits(void **state)
{
    (void)state;
    const char *names[] = { "roberta-st", "camembert-st" };
    for (size_t i = 0; i < 2; i++) {
        mg_model g;
        mg_load(&g, names[i], -1, -1);
        mg_check_pad_positions(&g, 512, 1000);
        mg_free(&g);
    }
}

/* The token_type table's one row is added (zeroing it changes the vector),
 * and checkpoints saved from RobertaForMaskedLM / CamembertModel subclasses
 * ("roberta." prefix) bind under the same names. */
static void test_roberta_weights(void **state)
{
    (void)state;
    const int32_t ids[6] = { 0, 1000, 1001, 1002, 1003, 2 };
    mg_model g;
    mg_load(&g, "roberta-st", -1, -1);
    const mdl_tensor *t = mdl_weights_find(&g.w, "embeddings.token_type_embeddings.weight");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 1);
    mg_check_tensor_used(&g, "embeddings.token_type_embeddings.weight", ids, 6);
    mg_free(&g);
    assert_string_equal(fmt_strip_prefix("roberta.encoder.layer.0.output.dense.weight"),
                        "encoder.layer.0.output.dense.weight");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("roberta-st", "roberta", roberta_expect),
        MG_FIXTURE("camembert-st", "camembert", camembert_expect),
        cmocka_unit_test(test_roberta_limits),
        cmocka_unit_test(test_roberta_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
