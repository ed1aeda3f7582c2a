/* BPE, as HF tokenizers' models/bpe (model.rs merge_word, word.rs
 * merge_all): a word starts as one symbol per character (with the
 * continuing_subword_prefix on all but the first, end_of_word_suffix on the
 * last; unknown characters become <0xNN> bytes with byte_fallback, else unk,
 * fused with fuse_unk); then the lowest-rank pair is merged repeatedly, ties
 * to the leftmost, using a binary heap over a linked list of symbols —
 * O(n log n) per word, so a 100k-character word without pre-tokenization is
 * fine. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

typedef struct bp_sym {
    int32_t id;
    int32_t prev, next;
    size_t len; /* 0 once merged away */
} bp_sym;

typedef struct bp_item {
    int32_t rank;
    int32_t pos;
    int32_t merged;
} bp_item;

typedef struct bp_heap {
    bp_item *v;
    size_t n, cap;
} bp_heap;

static int bp_less(const bp_item *a, const bp_item *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static int bp_push(bp_heap *h, bp_item it)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        bp_item *v = rt_realloc(h->v, cap, sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    h->v[i] = it;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bp_less(&h->v[i], &h->v[p]))
            break;
        bp_item t = h->v[i];
        h->v[i] = h->v[p];
        h->v[p] = t;
        i = p;
    }
    return 0;
}

static bp_item bp_pop(bp_heap *h)
{
    bp_item top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && bp_less(&h->v[l], &h->v[m]))
            m = l;
        if (r < h->n && bp_less(&h->v[r], &h->v[m]))
            m = r;
        if (m == i)
            break;
        bp_item t = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = t;
        i = m;
    }
    return top;
}

typedef struct bp_word {
    bp_sym *s;
    size_t n, cap;
} bp_word;

static int bp_add(bp_word *w, int32_t id, size_t len)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        bp_sym *v = rt_realloc(w->s, cap, sizeof *v);
        if (!v)
            return -1;
        w->s = v;
        w->cap = cap;
    }
    if (w->n >= (size_t)INT32_MAX - 1)
        return rt_error(EMB_ERR_NO_MEMORY, "tokenizer: word too long"), -1;
    int32_t i = (int32_t)w->n;
    w->s[i] = (bp_sym){id, i - 1, i + 1, len};
    w->n++;
    return 0;
}

/* model.rs merge_word: the initial symbols of a word */
static int bp_initial(const tok_tokenizer *t, const char *s, size_t n, bp_word *w, tk_buf *tmp)
{
    const tok_spec *sp = &t->spec;
    const char *pre = sp->subword_prefix;
    const char *suf = sp->word_suffix;
    size_t plen = pre ? strlen(pre) : 0, slen = suf ? strlen(suf) : 0;
    int32_t unk_id = -1;
    size_t unk_len = 0;
    for (size_t i = 0; i < n;) {
        size_t k = tk_utf8_len((unsigned char)s[i]);
        if (k > n - i)
            k = n - i;
        int first = i == 0, last = i + k == n;
        const char *q = s + i;
        size_t ql = k;
        if ((!first && plen) || (last && slen)) {
            tmp->n = 0;
            if ((!first && plen && tk_buf_put(tmp, pre, plen)) || tk_buf_put(tmp, s + i, k) ||
                (last && slen && tk_buf_put(tmp, suf, slen)))
                return -1;
            q = tmp->p;
            ql = tmp->n;
        }
        int32_t id = tk_strmap_get(&t->vocab, q, ql);
        if (id >= 0) {
            if (unk_id >= 0) {
                if (bp_add(w, unk_id, unk_len))
                    return -1;
                unk_id = -1;
            }
            if (bp_add(w, id, k))
                return -1;
            i += k;
            continue;
        }
        if (sp->byte_fallback) {
            int all = 1;
            for (size_t j = 0; j < ql; j++)
                all &= t->byte_ids[(unsigned char)q[j]] >= 0;
            if (all) {
                /* HF adds the pending unk only when a known token follows;
                 * byte-fallback tokens go in directly */
                for (size_t j = 0; j < ql; j++)
                    if (bp_add(w, t->byte_ids[(unsigned char)q[j]], 1))
                        return -1;
                i += k;
                continue;
            }
        }
        if (sp->unk_id >= 0) {
            if (unk_id >= 0 && sp->fuse_unk) {
                unk_len += k;
            } else {
                if (unk_id >= 0 && bp_add(w, unk_id, unk_len))
                    return -1;
                unk_id = sp->unk_id;
                unk_len = k;
            }
        }
        i += k;
    }
    if (unk_id >= 0 && bp_add(w, unk_id, unk_len))
        return -1;
    return 0;
}

/* word.rs merge_all */
static int bp_merge_all(const tok_tokenizer *t, bp_word *w, bp_heap *h)
{
    bp_sym *s = w->s;
    int32_t n = (int32_t)w->n;
    int32_t rank, merged;
    h->n = 0;
    for (int32_t i = 0; i + 1 < n; i++)
        if (tk_pairmap_get(&t->merges, s[i].id, s[i + 1].id, &rank, &merged) &&
            bp_push(h, (bp_item){rank, i, merged}))
            return -1;
    while (h->n) {
        bp_item top = bp_pop(h);
        bp_sym *cur = &s[top.pos];
        if (cur->len == 0 || cur->next < 0 || cur->next >= n)
            continue;
        int32_t nx = cur->next;
        bp_sym right = s[nx];
        if (!tk_pairmap_get(&t->merges, cur->id, right.id, &rank, &merged) || merged != top.merged)
            continue; /* stale entry */
        cur->id = top.merged;
        cur->len += right.len;
        cur->next = right.next;
        s[nx].len = 0;
        if (right.next >= 0 && right.next < n)
            s[right.next].prev = top.pos;
        if (cur->prev >= 0) {
            bp_sym *pv = &s[cur->prev];
            if (tk_pairmap_get(&t->merges, pv->id, cur->id, &rank, &merged) &&
                bp_push(h, (bp_item){rank, cur->prev, merged}))
                return -1;
        }
        if (cur->next >= 0 && cur->next < n) {
            if (tk_pairmap_get(&t->merges, cur->id, s[cur->next].id, &rank, &merged) &&
                bp_push(h, (bp_item){rank, top.pos, merged}))
                return -1;
        }
    }
    return 0;
}

emb_status tk_bpe_encode(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out)
{
    if (n == 0)
        return EMB_OK;
    if (t->spec.ignore_merges) {
        int32_t id = tk_strmap_get(&t->vocab, s, n);
        if (id >= 0)
            return tk_ids_push(out, id) ? EMB_ERR_NO_MEMORY : EMB_OK;
    }
    bp_word w = {0};
    bp_heap h = {0};
    tk_buf tmp = {0};
    emb_status rc = EMB_ERR_NO_MEMORY;
    if (bp_initial(t, s, n, &w, &tmp) || bp_merge_all(t, &w, &h))
        goto fail;
    for (size_t i = 0; i < w.n; i++)
        if (w.s[i].len && tk_ids_push(out, w.s[i].id))
            goto fail;
    rc = EMB_OK;
fail:
    free(w.s);
    free(h.v);
    tk_buf_free(&tmp);
    return rc;
}
