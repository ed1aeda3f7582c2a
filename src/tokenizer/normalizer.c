/* Normalizers, applied in order to one piece of text, as HF tokenizers'
 * normalizers/ (bert.rs, unicode.rs, utils.rs Lowercase, strip.rs, prepend.rs,
 * replace.rs, precompiled). Only the resulting string matters for ids, so no
 * alignments are tracked. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

/* as HF BertNormalizer: clean_text, handle_chinese_chars, strip_accents
 * (null follows lowercase), lowercase — in this order */
static int tk_norm_bert(const tok_step *st, const char *s, size_t n, tk_buf *out)
{
    int clean = st->i[0], chinese = st->i[1], lower = st->i[3];
    int strip = st->i[2] < 0 ? lower : st->i[2];
    tk_buf a = {0}, b = {0};
    int rc = -1;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = tok_utf8_next(s + i, n - i, &c);
        if (clean && (c == 0 || c == 0xFFFD || tk_is_bert_control(c))) {
            i += k;
            continue;
        }
        if (clean && tk_is_bert_whitespace(c)) {
            if (tk_buf_put(&a, " ", 1))
                goto fail;
        } else if (chinese && tk_is_chinese(c)) {
            if (tk_buf_put(&a, " ", 1) || tk_buf_put(&a, s + i, k) || tk_buf_put(&a, " ", 1))
                goto fail;
        } else if (tk_buf_put(&a, s + i, k)) {
            goto fail;
        }
        i += k;
    }
    if (strip) {
        if (tk_unicode_normalize(a.p ? a.p : "", a.n, 'D', &b))
            goto fail;
        a.n = 0;
        for (size_t i = 0; i < b.n;) {
            uint32_t c;
            size_t k = tok_utf8_next(b.p + i, b.n - i, &c);
            if (!tk_is_mn(c) && tk_buf_put(&a, b.p + i, k))
                goto fail;
            i += k;
        }
    }
    if (lower) {
        for (size_t i = 0; i < a.n;) {
            uint32_t c;
            size_t k = tok_utf8_next(a.p + i, a.n - i, &c);
            if (tk_lower_cp(out, c))
                goto fail;
            i += k;
        }
    } else if (tk_buf_put(out, a.p, a.n)) {
        goto fail;
    }
    rc = 0;
fail:
    tk_buf_free(&a);
    tk_buf_free(&b);
    return rc;
}

static int tk_norm_lower(const char *s, size_t n, tk_buf *out)
{
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = tok_utf8_next(s + i, n - i, &c);
        if (tk_lower_cp(out, c))
            return -1;
        i += k;
    }
    return 0;
}

/* as HF StripAccents: drop nonspacing marks (no decomposition) */
static int tk_norm_strip_accents(const char *s, size_t n, tk_buf *out)
{
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = tok_utf8_next(s + i, n - i, &c);
        if (!tk_is_mn(c) && tk_buf_put(out, s + i, k))
            return -1;
        i += k;
    }
    return 0;
}

/* as HF Strip: trim Unicode whitespace on the chosen sides */
static int tk_norm_strip(const tok_step *st, const char *s, size_t n, tk_buf *out)
{
    size_t a = 0, b = n;
    if (st->i[0]) {
        while (a < b) {
            uint32_t c;
            size_t k = tok_utf8_next(s + a, b - a, &c);
            if (!tk_is_whitespace(c))
                break;
            a += k;
        }
    }
    if (st->i[1]) {
        while (b > a) {
            size_t j = b - 1;
            while (j > a && ((unsigned char)s[j] & 0xC0) == 0x80)
                j--;
            uint32_t c;
            tok_utf8_next(s + j, b - j, &c);
            if (!tk_is_whitespace(c))
                break;
            b = j;
        }
    }
    return tk_buf_put(out, s + a, b - a);
}

/* as HF Replace: every leftmost non-overlapping match of the pattern
 * (a literal string or a regex) replaced by the content */
static int tk_norm_replace(const tk_step_rt *st, const char *s, size_t n, tk_buf *out)
{
    const char *pat = st->step.s[0] ? st->step.s[0] : "";
    size_t plen = st->step.s_len[0];
    const char *rep = st->step.s[1] ? st->step.s[1] : "";
    size_t rlen = st->step.s_len[1];
    size_t pos = 0;
    if (st->re) {
        void *md = tk_regex_md();
        int rc = -1;
        if (!md)
            return -1;
        while (pos <= n) {
            size_t ms, me;
            int r = tk_regex_find(st->re, md, s, n, pos, &ms, &me);
            if (r < 0)
                goto done;
            if (r == 0)
                break;
            if (tk_buf_put(out, s + pos, ms - pos) || tk_buf_put(out, rep, rlen))
                goto done;
            if (me == ms) { /* empty match: copy one character and move on */
                if (ms >= n) {
                    pos = n;
                    break;
                }
                size_t k = tk_utf8_len((unsigned char)s[ms]);
                if (tk_buf_put(out, s + ms, k))
                    goto done;
                me = ms + k;
            }
            pos = me;
        }
        rc = tk_buf_put(out, s + pos, n - pos);
    done:
        tk_regex_md_free(md);
        return rc;
    }
    if (plen == 0)
        return tk_buf_put(out, s, n);
    while (pos < n) {
        const char *m = memmem(s + pos, n - pos, pat, plen);
        if (!m)
            break;
        size_t ms = (size_t)(m - s);
        if (tk_buf_put(out, s + pos, ms - pos) || tk_buf_put(out, rep, rlen))
            return -1;
        pos = ms + plen;
    }
    return tk_buf_put(out, s + pos, n - pos);
}

static int tk_norm_step(const tk_step_rt *rt, const char *s, size_t n, tk_buf *out)
{
    const tok_step *st = &rt->step;
    const char *t = st->type;
    if (!strcmp(t, "BertNormalizer"))
        return tk_norm_bert(st, s, n, out);
    if (!strcmp(t, "NFC"))
        return tk_unicode_normalize(s, n, 'C', out);
    if (!strcmp(t, "NFD"))
        return tk_unicode_normalize(s, n, 'D', out);
    if (!strcmp(t, "NFKC"))
        return tk_unicode_normalize(s, n, 'c', out);
    if (!strcmp(t, "NFKD"))
        return tk_unicode_normalize(s, n, 'd', out);
    if (!strcmp(t, "Lowercase"))
        return tk_norm_lower(s, n, out);
    if (!strcmp(t, "StripAccents"))
        return tk_norm_strip_accents(s, n, out);
    if (!strcmp(t, "Strip"))
        return tk_norm_strip(st, s, n, out);
    if (!strcmp(t, "Prepend")) {
        if (n && tk_buf_put(out, st->s[0] ? st->s[0] : "", st->s_len[0]))
            return -1;
        return tk_buf_put(out, s, n);
    }
    if (!strcmp(t, "Replace"))
        return tk_norm_replace(rt, s, n, out);
    if (!strcmp(t, "Precompiled"))
        return tk_precompiled_apply(rt->precompiled, s, n, out) == EMB_OK ? 0 : -1;
    /* tok_create refused anything else */
    return tk_buf_put(out, s, n);
}

emb_status tk_normalize(const tok_tokenizer *t, const char *s, size_t n, tk_buf *out)
{
    size_t ns = t->spec.n_normalizers;
    if (ns == 0)
        return tk_buf_put(out, s, n) ? EMB_ERR_NO_MEMORY : EMB_OK;
    tk_buf a = {0}, b = {0};
    const char *cur = s;
    size_t cur_n = n;
    emb_status rc = EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < ns; i++) {
        tk_buf *dst = (i == ns - 1) ? out : ((i & 1) ? &b : &a);
        size_t base = dst->n;
        if (dst != out)
            dst->n = 0, base = 0;
        if (tk_norm_step(&t->norm[i], cur, cur_n, dst))
            goto fail;
        cur = dst->p ? dst->p + base : "";
        cur_n = dst->n - base;
    }
    rc = EMB_OK;
fail:
    tk_buf_free(&a);
    tk_buf_free(&b);
    return rc;
}
