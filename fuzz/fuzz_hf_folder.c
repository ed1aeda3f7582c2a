/* Fuzz the Hugging Face folder readers (cv_read_config, cv_read_tokenizer)
 * and the tokenizer built from what they accept. The input holds the files
 * of one folder, in the order of `files` below, separated by FUZZ_SEP; an
 * empty part means "file absent". An accepted tokenizer spec must build
 * (tok_create validates it) or be refused with a status, and then encode a
 * few fixed texts. */
#include "fuzz_common.h"

#include "convert/convert.h"
#include "tokenizer/tokenizer.h"

static const char *const files[] = {
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "2_Dense/config.json", /* sentence-transformers Dense modules (configs only) */
    "3_Dense/config.json",
};
#define N_FILES (sizeof files / sizeof *files)

static const char *const texts[] = {
    "Hello world! How are you?",
    "  Ünïcödé naïve café 東京 — 😀 [CLS] <s> </s> <unk> query: ",
    "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir();
    char path[512];
    static const char *const subdirs[] = { "1_Pooling", "2_Dense", "3_Dense" };
    for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subdirs[i]);
        mkdir(path, 0700);
    }
    size_t off[N_FILES], len[N_FILES];
    size_t n = fuzz_split(data, size, N_FILES, off, len);
    for (size_t i = 0; i < N_FILES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (i < n && len[i] > 0)
            fuzz_write(path, data + off[i], len[i]);
        else
            unlink(path);
    }

    mdl_config cfg;
    fmt_policy pol;
    if (cv_read_config(dir, &cfg, &pol) == EMB_OK)
        fmt_policy_free(&pol);

    tok_spec spec;
    memset(&spec, 0, sizeof spec);
    if (cv_read_tokenizer(dir, &spec) == EMB_OK) {
        tok_tokenizer *tok = NULL;
        if (tok_create(&spec, &tok) == EMB_OK) {
            tok_ids ids = { 0 };
            size_t vocab = tok_vocab_size(tok);
            for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
                if (tok_encode(tok, texts[t], strlen(texts[t]), 1, 16, &ids) != EMB_OK)
                    continue;
                for (size_t k = 0; k < ids.n; k++)
                    if (ids.ids[k] < 0 || (size_t)ids.ids[k] >= vocab)
                        abort(); /* an id outside the vocabulary */
            }
            free(ids.ids);
            tok_free(tok);
        }
    }
    tok_spec_free(&spec);
    return 0;
}
