/* Precompiled charsmap normalizer (placeholder until milestone 3). */
#include "tokenizer/tok_internal.h"

emb_status tk_precompiled_parse(const uint8_t *blob, size_t len, void **out)
{
    (void)blob; (void)len; *out = NULL;
    return rt_error(EMB_ERR_UNSUPPORTED, "tokenizer: normalizer type \"Precompiled\" is not supported yet");
}
void tk_precompiled_free(void *pc) { (void)pc; }
emb_status tk_precompiled_apply(const void *pc, const char *s, size_t n, tk_buf *out)
{
    (void)pc;
    return tk_buf_put(out, s, n) ? EMB_ERR_NO_MEMORY : EMB_OK;
}
