/* Model-file seeds for fuzz_model_file: converts the tiny folder written by
 * seeds.py and a few fixture models with emb_convert().
 * Usage: make_seeds SEED_DIR (writes SEED_DIR/model_file/). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "emb.h"

#ifndef FUZZ_ROOT
#define FUZZ_ROOT "."
#endif

static int convert(const char *src, const char *dst, int tokenizer_only, emb_dtype dtype)
{
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.tokenizer_only = tokenizer_only;
    o.dtype = dtype;
    if (emb_convert(src, dst, &o) != EMB_OK) {
        fprintf(stderr, "make_seeds: %s: %s\n", src, emb_last_error());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds SEED_DIR\n");
        return 2;
    }
    char out[1024], src[1024], dst[1100];
    snprintf(out, sizeof out, "%s/model_file", argv[1]);
    mkdir(out, 0755);
    int bad = 0;
    snprintf(src, sizeof src, "%s/tiny-bert", argv[1]);
    snprintf(dst, sizeof dst, "%s/tiny-bert.h5", out);
    bad |= convert(src, dst, 0, EMB_DTYPE_AUTO);
    snprintf(dst, sizeof dst, "%s/tiny-bert-int8.h5", out); /* int8 weights + scales */
    bad |= convert(src, dst, 0, EMB_DTYPE_INT8);
    snprintf(dst, sizeof dst, "%s/tiny-bert-tokenizer.h5", out);
    bad |= convert(src, dst, 1, EMB_DTYPE_AUTO);
    /* bert-dense, bert-noprompt: format 1.3 (Dense modules, pooling lists);
     * qwen2-window-yarn, mistral-window-dynamic, llama-rope-llama3: format 1.4
     * (RoPE scaling, sliding_window and sliding_layers); gemma-st: format 1.5
     * (rope_local_theta, query_pre_attn_scalar) */
    static const char *const fixtures[] = { "bert-e5", "qwen3-emb-bf16", "xlmr-me5", "bert-dense",
                                            "bert-noprompt", "mpnet-st", "roberta-st",
                                            "camembert-st", "distilbert-st", "nomic-st",
                                            "gte-new", "gte-en", "qwen2-window-yarn",
                                            "mistral-window-dynamic", "llama-rope-llama3",
                                            "gemma-st", "modernbert-st" };
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
        snprintf(src, sizeof src, "%s/tests/fixtures/models/%s", FUZZ_ROOT, fixtures[i]);
        snprintf(dst, sizeof dst, "%s/%s.h5", out, fixtures[i]);
        bad |= convert(src, dst, 0, EMB_DTYPE_AUTO);
    }
    return bad;
}
