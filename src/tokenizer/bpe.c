/* BPE (placeholder until milestone 2). */
#include "tokenizer/tok_internal.h"

emb_status tk_bpe_encode(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out)
{
    (void)t; (void)s; (void)n; (void)out;
    return rt_error(EMB_ERR_UNSUPPORTED, "tokenizer: BPE not implemented yet");
}
