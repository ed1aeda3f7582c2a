/* The SentencePiece "Precompiled" normalizer (precompiled_charsmap), as HF
 * tokenizers' normalizers/precompiled.rs over the spm_precompiled crate.
 *
 * The blob is [u32 LE trie_size][trie_size bytes: darts-clone double array
 * of u32 units][normalized strings, each ended by '\0']. A trie leaf's value
 * is a byte offset into the normalized strings.
 *
 * Normalization walks the text by extended grapheme clusters (UAX #29, via
 * utf8proc): a cluster shorter than 6 bytes whose bytes have a prefix in the
 * trie is replaced as a whole by the replacement of the SHORTEST matching
 * prefix (spm_precompiled's transform takes common_prefix_search()[0]);
 * otherwise each character is looked up alone and replaced or kept. This is
 * HF's behaviour, quirks included. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tokenizer/tok_internal.h"

typedef struct tk_precompiled {
    uint32_t *units;
    size_t n_units;
    char *norm;       /* normalized strings (a NUL is appended) */
    size_t norm_len;
} tk_precompiled;

static uint32_t pc_offset(uint32_t u)
{
    return (u >> 10) << ((u & (1u << 9)) >> 6);
}

static uint32_t pc_label(uint32_t u)
{
    return u & ((1u << 31) | 0xFFu);
}

emb_status tk_precompiled_parse(const uint8_t *blob, size_t len, void **out)
{
    *out = NULL;
    if (!blob || len == 0) {
        /* an empty charsmap normalizes nothing */
        tk_precompiled *pc = rt_calloc(1, sizeof *pc);
        if (!pc)
            return EMB_ERR_NO_MEMORY;
        *out = pc;
        return EMB_OK;
    }
    if (len < 4)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: precompiled_charsmap of %zu bytes is too short", len);
    uint32_t trie_size = (uint32_t)blob[0] | ((uint32_t)blob[1] << 8) | ((uint32_t)blob[2] << 16) |
                         ((uint32_t)blob[3] << 24);
    if (trie_size > len - 4 || trie_size % 4 != 0 || trie_size < 4)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: precompiled_charsmap trie size %u does not fit %zu bytes",
                        trie_size, len);
    tk_precompiled *pc = rt_calloc(1, sizeof *pc);
    if (!pc)
        return EMB_ERR_NO_MEMORY;
    pc->n_units = trie_size / 4;
    pc->units = rt_alloc(pc->n_units, sizeof *pc->units);
    pc->norm_len = len - 4 - trie_size;
    pc->norm = rt_alloc(pc->norm_len + 1, 1);
    if (!pc->units || !pc->norm) {
        tk_precompiled_free(pc);
        return EMB_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < pc->n_units; i++) {
        const uint8_t *p = blob + 4 + 4 * i;
        pc->units[i] = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    }
    memcpy(pc->norm, blob + 4 + trie_size, pc->norm_len);
    pc->norm[pc->norm_len] = 0;
    if (!tok_utf8_valid(pc->norm, pc->norm_len)) {
        tk_precompiled_free(pc);
        return rt_error(EMB_ERR_FORMAT, "tokenizer: precompiled_charsmap strings are not UTF-8");
    }
    *out = pc;
    return EMB_OK;
}

void tk_precompiled_free(void *p)
{
    tk_precompiled *pc = p;
    if (!pc)
        return;
    free(pc->units);
    free(pc->norm);
    free(pc);
}

/* darts-clone common_prefix_search, first (shortest) result only; every
 * array access is bounds-checked since the blob comes from a file */
static int pc_first_prefix(const tk_precompiled *pc, const char *key, size_t n, const char **rep,
                           size_t *rep_len)
{
    if (pc->n_units == 0)
        return 0;
    size_t pos = 0;
    uint32_t unit = pc->units[0];
    pos ^= pc_offset(unit);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == 0)
            return 0;
        pos ^= c;
        if (pos >= pc->n_units)
            return 0;
        unit = pc->units[pos];
        if (pc_label(unit) != c)
            return 0;
        pos ^= pc_offset(unit);
        if (pos >= pc->n_units)
            return 0;
        if ((unit >> 8) & 1) {
            size_t v = pc->units[pos] & ((1u << 31) - 1);
            if (v > pc->norm_len)
                return 0;
            size_t e = v;
            while (e < pc->norm_len && pc->norm[e] != 0)
                e++;
            *rep = pc->norm + v;
            *rep_len = e - v;
            return 1;
        }
    }
    return 0;
}

emb_status tk_precompiled_apply(const void *p, const char *s, size_t n, tk_buf *out)
{
    const tk_precompiled *pc = p;
    if (!pc || pc->n_units == 0)
        return tk_buf_put(out, s, n) ? EMB_ERR_NO_MEMORY : EMB_OK;
    size_t i = 0;
    while (i < n) {
        /* one extended grapheme cluster [i, j) */
        utf8proc_int32_t state = 0;
        uint32_t c1;
        size_t j = i + tok_utf8_next(s + i, n - i, &c1);
        while (j < n) {
            uint32_t c2;
            size_t k = tok_utf8_next(s + j, n - j, &c2);
            if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)c1, (utf8proc_int32_t)c2, &state))
                break;
            c1 = c2;
            j += k;
        }
        const char *rep;
        size_t rl;
        if (j - i < 6 && pc_first_prefix(pc, s + i, j - i, &rep, &rl)) {
            if (tk_buf_put(out, rep, rl))
                return EMB_ERR_NO_MEMORY;
        } else {
            for (size_t q = i; q < j;) {
                size_t k = tk_utf8_len((unsigned char)s[q]);
                if (pc_first_prefix(pc, s + q, k, &rep, &rl)) {
                    if (tk_buf_put(out, rep, rl))
                        return EMB_ERR_NO_MEMORY;
                } else if (tk_buf_put(out, s + q, k)) {
                    return EMB_ERR_NO_MEMORY;
                }
                q += k;
            }
        }
        i = j;
    }
    return EMB_OK;
}
