/* WordPiece, as HF tokenizers' models/wordpiece: greedy longest match from
 * the left, continuation pieces carry the subword prefix ("##"), a word with
 * an unmatched rest or longer than max_input_chars_per_word characters is one
 * unk. Candidate substrings are bounded by the longest vocabulary entry, so
 * a word costs O(len * longest) hash lookups. */
#include <string.h>

#include "tokenizer/tok_internal.h"

emb_status tk_wordpiece_encode(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out)
{
    const tok_spec *sp = &t->spec;
    size_t max_chars = sp->max_input_chars_per_word > 0 ? (size_t)sp->max_input_chars_per_word : 100;
    if (n == 0)
        return EMB_OK;
    if (tk_utf8_count(s, n) > max_chars)
        return tk_ids_push(out, sp->unk_id) ? EMB_ERR_NO_MEMORY : EMB_OK;

    const char *prefix = sp->subword_prefix ? sp->subword_prefix : "";
    size_t plen = strlen(prefix);
    char buf[1024];
    size_t first = out->n;
    size_t start = 0;
    while (start < n) {
        size_t end = n;
        int32_t id = -1;
        if (end - start > t->max_token_bytes) {
            end = start + t->max_token_bytes;
            while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80)
                end--;
        }
        while (start < end) {
            size_t len = end - start;
            if (start > 0) {
                if (plen + len <= sizeof buf) {
                    memcpy(buf, prefix, plen);
                    memcpy(buf + plen, s + start, len);
                    id = tk_strmap_get(&t->vocab, buf, plen + len);
                } else {
                    tk_buf big = {0};
                    if (tk_buf_put(&big, prefix, plen) || tk_buf_put(&big, s + start, len)) {
                        tk_buf_free(&big);
                        return EMB_ERR_NO_MEMORY;
                    }
                    id = tk_strmap_get(&t->vocab, big.p, big.n);
                    tk_buf_free(&big);
                }
            } else {
                id = tk_strmap_get(&t->vocab, s + start, len);
            }
            if (id >= 0)
                break;
            end--;
            while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80)
                end--;
        }
        if (id < 0) { /* the whole word becomes unk */
            out->n = first;
            return tk_ids_push(out, sp->unk_id) ? EMB_ERR_NO_MEMORY : EMB_OK;
        }
        if (tk_ids_push(out, id))
            return EMB_ERR_NO_MEMORY;
        start = end;
    }
    return EMB_OK;
}
