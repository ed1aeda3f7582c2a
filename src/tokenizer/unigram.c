/* Unigram, as HF tokenizers' models/unigram/model.rs (encode_optimized, the
 * SentencePiece Viterbi): at each character position every vocabulary piece
 * that starts there extends the best path (scores summed in double); where
 * no single-character piece exists an unk step costs min_score - 10. The
 * best path is read backwards; consecutive unks are fused into one token
 * (fuse_unk is always on for Unigram); each resulting string is looked up
 * again: a piece's id, else its bytes as <0xNN> with byte_fallback, else unk.
 *
 * Prefix search runs over the vocabulary sorted bytewise (built once in
 * tk_unigram_prepare): narrowing a range by one byte per step costs
 * O(log V), so a position costs O(longest piece * log V) — linear in the
 * text. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

#define TK_UNK_PENALTY 10.0

/* bytewise order of two vocabulary entries; equal strings by id */
static int uni_cmp(const tok_spec *s, uint32_t x, uint32_t y)
{
    size_t lx = (size_t)(s->vocab_off[x + 1] - s->vocab_off[x]);
    size_t ly = (size_t)(s->vocab_off[y + 1] - s->vocab_off[y]);
    int c = memcmp(s->vocab_bytes + s->vocab_off[x], s->vocab_bytes + s->vocab_off[y], lx < ly ? lx : ly);
    if (c)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* bottom-up merge sort (qsort has no context argument in C11) */
static void uni_sort(const tok_spec *s, uint32_t *a, uint32_t *tmp, size_t n)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = uni_cmp(s, a[i], a[j]) <= 0 ? a[i++] : a[j++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}

emb_status tk_unigram_prepare(tok_tokenizer *t)
{
    const tok_spec *s = &t->spec;
    uint32_t *ids = rt_alloc(s->n_vocab ? s->n_vocab : 1, sizeof *ids);
    uint32_t *tmp = rt_alloc(s->n_vocab ? s->n_vocab : 1, sizeof *tmp);
    if (!ids || !tmp) {
        free(ids);
        free(tmp);
        return EMB_ERR_NO_MEMORY;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < s->n_vocab; i++)
        if (s->vocab_off[i + 1] > s->vocab_off[i])
            ids[n++] = i;
    uni_sort(s, ids, tmp, n);
    free(tmp);
    /* keep only the last id of equal strings (HF token_to_ids: later wins) */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0) {
            uint32_t p = ids[w - 1], q = ids[i];
            size_t lp = (size_t)(s->vocab_off[p + 1] - s->vocab_off[p]);
            size_t lq = (size_t)(s->vocab_off[q + 1] - s->vocab_off[q]);
            if (lp == lq && !memcmp(s->vocab_bytes + s->vocab_off[p], s->vocab_bytes + s->vocab_off[q], lp)) {
                ids[w - 1] = q;
                continue;
            }
        }
        ids[w++] = ids[i];
    }
    t->uni_sorted = ids;
    t->uni_n = w;
    return EMB_OK;
}

/* byte d of sorted entry k, or -1 if the entry is not longer than d */
static int uni_byte(const tok_tokenizer *t, size_t k, size_t d)
{
    uint32_t id = t->uni_sorted[k];
    const tok_spec *s = &t->spec;
    size_t len = (size_t)(s->vocab_off[id + 1] - s->vocab_off[id]);
    return d < len ? (unsigned char)s->vocab_bytes[s->vocab_off[id] + d] : -1;
}

typedef struct uni_node {
    double score;
    int64_t start; /* -1: unreached */
    int32_t id;
} uni_node;

static int uni_emit(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out)
{
    int32_t id = tk_strmap_get(&t->vocab, s, n);
    if (id >= 0)
        return tk_ids_push(out, id);
    if (t->spec.byte_fallback) {
        int all = 1;
        for (size_t i = 0; i < n; i++)
            all &= t->byte_ids[(unsigned char)s[i]] >= 0;
        if (all) {
            for (size_t i = 0; i < n; i++)
                if (tk_ids_push(out, t->byte_ids[(unsigned char)s[i]]))
                    return -1;
            return 0;
        }
    }
    return tk_ids_push(out, t->spec.unk_id);
}

emb_status tk_unigram_encode(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out)
{
    const tok_spec *sp = &t->spec;
    if (n == 0)
        return EMB_OK;
    if (sp->unk_id < 0)
        return rt_error(EMB_ERR_UNSUPPORTED, "tokenizer: Unigram model without unk_id");
    double unk_score = (double)t->unigram_min_score - TK_UNK_PENALTY;
    uni_node *best = rt_alloc(n + 1, sizeof *best);
    size_t *starts = NULL;
    emb_status rc = EMB_ERR_NO_MEMORY;
    if (!best)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i <= n; i++)
        best[i] = (uni_node){0.0, -1, 0};
    for (size_t pos = 0; pos < n;) {
        double here = best[pos].score;
        size_t mblen = tk_utf8_len((unsigned char)s[pos]);
        int single = 0;
        size_t lo = 0, hi = t->uni_n;
        for (size_t d = 0; pos + d < n && lo < hi; d++) {
            int c = (unsigned char)s[pos + d];
            if (uni_byte(t, lo, d) < 0) /* the entry equal to the prefix sorts first */
                lo++;
            /* lower bound of c, then upper bound, at byte d within [lo, hi) */
            size_t a = lo, b = hi;
            while (a < b) {
                size_t m = a + (b - a) / 2;
                if (uni_byte(t, m, d) < c)
                    a = m + 1;
                else
                    b = m;
            }
            size_t e = a, f = hi;
            while (e < f) {
                size_t m = e + (f - e) / 2;
                if (uni_byte(t, m, d) <= c)
                    e = m + 1;
                else
                    f = m;
            }
            lo = a;
            hi = e;
            if (lo >= hi)
                break;
            uint32_t id = t->uni_sorted[lo];
            if ((size_t)(sp->vocab_off[id + 1] - sp->vocab_off[id]) == d + 1) {
                size_t end = pos + d + 1;
                double cand = here + (double)sp->scores[id];
                if (best[end].start < 0 || cand > best[end].score) {
                    best[end].score = cand;
                    best[end].start = (int64_t)pos;
                    best[end].id = (int32_t)id;
                }
                if (d + 1 == mblen)
                    single = 1;
            }
        }
        if (!single) {
            size_t end = pos + mblen;
            double cand = here + unk_score;
            if (best[end].start < 0 || cand > best[end].score) {
                best[end].score = cand;
                best[end].start = (int64_t)pos;
                best[end].id = sp->unk_id;
            }
        }
        pos += mblen;
    }
    /* backtrack: segment boundaries, unk runs fused */
    starts = rt_alloc(n + 1, sizeof *starts);
    if (!starts)
        goto fail;
    size_t ns = 0;
    size_t end = n;
    int in_unk = 0;
    while (end > 0) {
        const uni_node *nd = &best[end];
        size_t st = (size_t)nd->start;
        int is_unk = nd->id == sp->unk_id;
        if (is_unk && in_unk) {
            starts[ns - 1] = st; /* extend the fused unk run leftwards */
        } else {
            starts[ns++] = st;
        }
        in_unk = is_unk;
        end = st;
    }
    /* starts[] holds segment starts from right to left: emit left to right */
    for (size_t k = ns; k-- > 0;) {
        size_t st = starts[k];
        size_t en = k == 0 ? n : starts[k - 1];
        if (uni_emit(t, s + st, en - st, out))
            goto fail;
    }
    rc = EMB_OK;
fail:
    free(best);
    free(starts);
    return rc;
}
