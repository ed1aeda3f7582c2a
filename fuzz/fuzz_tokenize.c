/* Fuzz tok_encode on arbitrary bytes with every fixture tokenizer
 * (WordPiece, byte-level BPE, SentencePiece BPE, Unigram), built once from
 * tests/fixtures/tokenizers. Input: byte 0 picks the tokenizer, byte 1 the
 * options (add_special, a truncation limit), the rest is the text. Checked:
 * only invalid UTF-8 is refused, every id is inside the vocabulary, and
 * truncation keeps at most the limit. */
#include "fuzz_common.h"

#include "convert/convert.h"
#include "tokenizer/tokenizer.h"

static const char *const names[] = {
    "bert-uncased", "gpt2-bpe", "llama-spm", "mistral-spm",
    "qwen2-bpe", "t5-unigram", "xlmr-style-unigram", "gemma-style-bpe",
    "roberta-style-bpe", "camembert-style-unigram",
};
#define N_TOK (sizeof names / sizeof *names)
static tok_tokenizer *toks[N_TOK];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < N_TOK; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/tests/fixtures/tokenizers/%s", FUZZ_ROOT, names[i]);
        tok_spec spec;
        memset(&spec, 0, sizeof spec);
        if (cv_read_tokenizer(dir, &spec) != EMB_OK || tok_create(&spec, &toks[i]) != EMB_OK) {
            fprintf(stderr, "fuzz_tokenize: cannot build the tokenizer of %s\n", dir);
            abort();
        }
        tok_spec_free(&spec);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const tok_tokenizer *tok = toks[data[0] % N_TOK];
    int add_special = data[1] & 1;
    size_t limit = (data[1] >> 1) & 0x3f; /* 0 = no limit */
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    /* a copy of exactly len bytes, so that ASan sees any read past the end */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, text, len);
    tok_ids ids = { 0 };
    emb_status st = tok_encode(tok, copy, len, add_special, limit, &ids);
    int valid = tok_utf8_valid(copy, len);
    if (st == EMB_OK) {
        if (!valid)
            abort(); /* invalid UTF-8 accepted */
        size_t vocab = tok_vocab_size(tok);
        for (size_t i = 0; i < ids.n; i++)
            if (ids.ids[i] < 0 || (size_t)ids.ids[i] >= vocab)
                abort(); /* id outside the vocabulary */
        size_t floor = add_special ? tok_n_special(tok) : 0;
        if (limit && ids.n > (limit > floor ? limit : floor))
            abort(); /* truncation kept more than the limit */
    } else if (valid && st != EMB_ERR_NO_MEMORY) {
        abort(); /* valid UTF-8 refused */
    }
    free(ids.ids);
    free(copy);
    return 0;
}
