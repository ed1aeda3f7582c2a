/* Pre-tokenizers, as HF tokenizers' pre_tokenizers/ (bert.rs, whitespace.rs,
 * byte_level.rs, split.rs, metaspace.rs, digits.rs, punctuation.rs), built on
 * one splitting routine that reproduces NormalizedString::split and its
 * SplitDelimiterBehavior. Empty pieces are dropped, as PreTokenizedString
 * does. Regexes are PCRE2 with UTF + UCP (HF uses Oniguruma). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenizer/tok_internal.h"

/* the GPT-2 split pattern of HF ByteLevel (use_regex) */
static const char tk_gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* HF Whitespace: \w+|[^\w\s]+ (the matches are kept), with Oniguruma's
 * Unicode \w (Alphabetic, marks, Nd, Pc, Join_Control) spelled out, since
 * PCRE2's UCP \w is only L, N and underscore */
static const char tk_ws_pattern[] =
    "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]+|"
    "[^\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}\\s]+";

enum { TK_REMOVED = 0, TK_ISOLATED = 1, TK_MERGED_PREV = 2, TK_MERGED_NEXT = 3, TK_CONTIGUOUS = 4 };

/* ------------------------------------------------------------------ regex */

void *tk_regex_compile(const char *pat, size_t len, int literal, char *err, size_t errlen)
{
    int ec;
    PCRE2_SIZE eo;
    uint32_t opt = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP); /* LITERAL refuses UCP */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opt, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        if (err && errlen)
            snprintf(err, errlen, "%s at offset %zu", (const char *)msg, (size_t)eo);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: falls back to the interpreter */
    return re;
}

void tk_regex_free(void *re)
{
    pcre2_code_free((pcre2_code *)re);
}

void *tk_regex_md(void)
{
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    if (!md)
        rt_error(EMB_ERR_NO_MEMORY, "tokenizer: out of memory for regex match data");
    return md;
}

void tk_regex_md_free(void *md)
{
    pcre2_match_data_free((pcre2_match_data *)md);
}

int tk_regex_find(const void *re, void *md, const char *s, size_t n, size_t start, size_t *ms,
                  size_t *me)
{
    if (start > n)
        return 0;
    int r = pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)(s ? s : ""), n, start,
                        PCRE2_NO_UTF_CHECK, (pcre2_match_data *)md, NULL);
    if (r == PCRE2_ERROR_JIT_STACKLIMIT) /* a very long match: the interpreter has no such limit */
        r = pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)(s ? s : ""), n, start,
                        PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, (pcre2_match_data *)md, NULL);
    if (r == PCRE2_ERROR_NOMATCH)
        return 0;
    if (r < 0) {
        rt_error(EMB_ERR_INTERNAL, "tokenizer: regex match failed (pcre2 error %d)", r);
        return -1;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer((pcre2_match_data *)md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

/* ----------------------------------------------------- step preparation */

emb_status tk_step_prepare(tk_step_rt *st, int is_normalizer)
{
    const char *t = st->step.type;
    char err[200];
    const char *pat = NULL;
    size_t plen = 0;
    int literal = 0;
    if (is_normalizer) {
        if (!strcmp(t, "Replace") && st->step.i[0]) {
            pat = st->step.s[0];
            plen = st->step.s_len[0];
        } else if (!strcmp(t, "Precompiled")) {
            return tk_precompiled_parse(st->step.blob, st->step.blob_len, &st->precompiled);
        } else if (!strcmp(t, "BertNormalizer") || !strcmp(t, "NFC") || !strcmp(t, "NFD") ||
                   !strcmp(t, "NFKC") || !strcmp(t, "NFKD") || !strcmp(t, "Lowercase") ||
                   !strcmp(t, "StripAccents") || !strcmp(t, "Strip") || !strcmp(t, "Prepend") ||
                   !strcmp(t, "Replace")) {
            return EMB_OK;
        } else {
            return rt_error(EMB_ERR_UNSUPPORTED, "tokenizer: normalizer type \"%s\" is not supported", t);
        }
    } else {
        if (!strcmp(t, "ByteLevel")) {
            if (!st->step.i[1])
                return EMB_OK;
            pat = tk_gpt2_pattern;
            plen = strlen(pat);
        } else if (!strcmp(t, "Whitespace")) {
            pat = tk_ws_pattern;
            plen = strlen(pat);
        } else if (!strcmp(t, "Split")) {
            pat = st->step.s[0] ? st->step.s[0] : "";
            plen = st->step.s_len[0];
            literal = !st->step.i[0];
            if (st->step.i[1] < 0 || st->step.i[1] > 4)
                return rt_error(EMB_ERR_FORMAT, "tokenizer: Split behavior %d out of range",
                                st->step.i[1]);
        } else if (!strcmp(t, "Punctuation")) {
            if (st->step.i[0] < 0 || st->step.i[0] > 4)
                return rt_error(EMB_ERR_FORMAT, "tokenizer: Punctuation behavior %d out of range",
                                st->step.i[0]);
            return EMB_OK;
        } else if (!strcmp(t, "BertPreTokenizer") || !strcmp(t, "WhitespaceSplit") ||
                   !strcmp(t, "Metaspace") || !strcmp(t, "Digits")) {
            return EMB_OK;
        } else {
            return rt_error(EMB_ERR_UNSUPPORTED, "tokenizer: pre-tokenizer type \"%s\" is not supported", t);
        }
    }
    st->re = tk_regex_compile(pat ? pat : "", plen, literal, err, sizeof err);
    if (!st->re)
        return rt_error(EMB_ERR_UNSUPPORTED, "tokenizer: %s pattern does not compile: %s", t, err);
    return EMB_OK;
}

void tk_step_release(tk_step_rt *st)
{
    if (st->re)
        tk_regex_free(st->re);
    if (st->precompiled)
        tk_precompiled_free(st->precompiled);
    st->re = NULL;
    st->precompiled = NULL;
}

/* ------------------------------------------------------------- splitting */

typedef struct tk_seg {
    size_t a, b;
    int match;
} tk_seg;

typedef struct tk_segs {
    tk_seg *v;
    size_t n, cap;
} tk_segs;

static int tk_segs_add(tk_segs *s, size_t a, size_t b, int match)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        tk_seg *v = rt_realloc(s->v, cap, sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].a = a;
    s->v[s->n].b = b;
    s->v[s->n].match = match;
    s->n++;
    return 0;
}

typedef int (*tk_char_pred)(uint32_t c);

static int tk_is_ascii_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

/* as HF Pattern for Fn(char) -> bool: every matching char is its own match */
static int tk_find_chars(const char *s, size_t n, tk_char_pred pred, uint32_t only, tk_segs *out)
{
    size_t last = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = tok_utf8_next(s + i, n - i, &c);
        if (pred ? pred(c) : c == only) {
            if (last < i && tk_segs_add(out, last, i, 0))
                return -1;
            if (tk_segs_add(out, i, i + k, 1))
                return -1;
            last = i + k;
        }
        i += k;
    }
    if (last < n && tk_segs_add(out, last, n, 0))
        return -1;
    return 0;
}

/* as HF Pattern for a regex: the matches and the gaps between them */
static int tk_find_regex(const void *re, void *md, const char *s, size_t n, tk_segs *out)
{
    size_t prev = 0, pos = 0;
    while (pos <= n) {
        size_t ms, me;
        int r = tk_regex_find(re, md, s, n, pos, &ms, &me);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        if (me == ms) { /* empty match: no split, step over one character */
            if (ms >= n)
                break;
            pos = ms + tk_utf8_len((unsigned char)s[ms]);
            continue;
        }
        if (prev != ms && tk_segs_add(out, prev, ms, 0))
            return -1;
        if (tk_segs_add(out, ms, me, 1))
            return -1;
        prev = pos = me;
    }
    if (prev != n && tk_segs_add(out, prev, n, 0))
        return -1;
    return 0;
}

/* Apply a SplitDelimiterBehavior to the segments in place; segments that
 * are to be removed keep match = 1 (Removed), all others get match = 0. */
static void tk_apply_behavior(tk_segs *sg, int behavior)
{
    size_t w = 0;
    int prev = 0;
    switch (behavior) {
    case TK_REMOVED:
        return;
    case TK_ISOLATED:
        for (size_t i = 0; i < sg->n; i++)
            sg->v[i].match = 0;
        return;
    case TK_CONTIGUOUS:
        for (size_t i = 0; i < sg->n; i++) {
            int m = sg->v[i].match;
            if (w > 0 && m == prev)
                sg->v[w - 1].b = sg->v[i].b;
            else
                sg->v[w++] = (tk_seg){sg->v[i].a, sg->v[i].b, 0};
            prev = m;
        }
        break;
    case TK_MERGED_PREV:
        for (size_t i = 0; i < sg->n; i++) {
            int m = sg->v[i].match;
            if (w > 0 && m && !prev)
                sg->v[w - 1].b = sg->v[i].b;
            else
                sg->v[w++] = (tk_seg){sg->v[i].a, sg->v[i].b, 0};
            prev = m;
        }
        break;
    case TK_MERGED_NEXT: {
        /* walk right to left, then the kept segments are in reverse */
        for (size_t i = sg->n; i-- > 0;) {
            int m = sg->v[i].match;
            tk_seg cur = sg->v[i];
            if (w > 0 && m && !prev) {
                /* extend the last kept (which lies to the right) leftwards:
                 * kept segments are stored at the END of the array */
                sg->v[sg->n - w].a = cur.a;
            } else {
                w++;
                sg->v[sg->n - w] = (tk_seg){cur.a, cur.b, 0};
            }
            prev = m;
        }
        memmove(sg->v, sg->v + (sg->n - w), w * sizeof *sg->v);
        break;
    }
    default:
        return;
    }
    sg->n = w;
}

/* Emit the kept segments of a piece (match == 0) as new pieces. */
static int tk_emit(tk_pieces *out, const char *s, const tk_segs *sg, int at_start, int invert_removed)
{
    for (size_t i = 0; i < sg->n; i++) {
        const tk_seg *g = &sg->v[i];
        int removed = invert_removed ? !g->match : g->match;
        if (removed || g->b <= g->a)
            continue;
        if (tk_pieces_add_text(out, s + g->a, g->b - g->a, at_start && g->a == 0))
            return -1;
    }
    return 0;
}

/* GPT-2 bytes_to_unicode */
static uint32_t tk_byte_char(unsigned char b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
        return b;
    if (b <= 32)
        return 256u + b;         /* 0..32 -> U+0100..U+0120 */
    if (b <= 160)
        return 289u + (b - 127u); /* 127..160 -> U+0121..U+0142 */
    return 323;                   /* 173 -> U+0143 */
}

typedef struct tk_ctx {
    tk_segs sg;
    tk_buf tmp;
    void *md;
} tk_ctx;

/* Split one text piece by one pre-tokenizer step into `out`. */
static int tk_pretok_piece(const tk_step_rt *rt, tk_ctx *cx, const char *s, size_t n,
                           int at_start, tk_pieces *out)
{
    const tok_step *st = &rt->step;
    const char *t = st->type;
    tk_segs *sg = &cx->sg;
    sg->n = 0;
    if (!strcmp(t, "BertPreTokenizer")) {
        /* whitespace removed, then punctuation isolated */
        tk_segs ws = {0};
        if (tk_find_chars(s, n, tk_is_whitespace, 0, &ws)) {
            free(ws.v);
            return -1;
        }
        for (size_t i = 0; i < ws.n; i++) {
            if (ws.v[i].match)
                continue;
            sg->n = 0;
            size_t a = ws.v[i].a;
            if (tk_find_chars(s + a, ws.v[i].b - a, tk_is_bert_punc, 0, sg)) {
                free(ws.v);
                return -1;
            }
            tk_apply_behavior(sg, TK_ISOLATED);
            if (tk_emit(out, s + a, sg, at_start && a == 0, 0)) {
                free(ws.v);
                return -1;
            }
        }
        free(ws.v);
        return 0;
    }
    if (!strcmp(t, "WhitespaceSplit")) {
        if (tk_find_chars(s, n, tk_is_whitespace, 0, sg))
            return -1;
        return tk_emit(out, s, sg, at_start, 0);
    }
    if (!strcmp(t, "Whitespace")) {
        if (tk_find_regex(rt->re, cx->md, s, n, sg))
            return -1;
        return tk_emit(out, s, sg, at_start, 1);
    }
    if (!strcmp(t, "Punctuation")) {
        if (tk_find_chars(s, n, tk_is_bert_punc, 0, sg))
            return -1;
        tk_apply_behavior(sg, st->i[0]);
        return tk_emit(out, s, sg, at_start, 0);
    }
    if (!strcmp(t, "Digits")) {
        if (tk_find_chars(s, n, tk_is_ascii_digit, 0, sg))
            return -1;
        tk_apply_behavior(sg, st->i[0] ? TK_ISOLATED : TK_CONTIGUOUS);
        return tk_emit(out, s, sg, at_start, 0);
    }
    if (!strcmp(t, "Split")) {
        if (tk_find_regex(rt->re, cx->md, s, n, sg))
            return -1;
        if (st->i[2])
            for (size_t i = 0; i < sg->n; i++)
                sg->v[i].match = !sg->v[i].match;
        tk_apply_behavior(sg, st->i[1]);
        return tk_emit(out, s, sg, at_start, 0);
    }
    if (!strcmp(t, "ByteLevel")) {
        tk_buf *b = &cx->tmp;
        b->n = 0;
        if (st->i[0] && !(n > 0 && s[0] == ' ')) {
            if (tk_buf_put(b, " ", 1))
                return -1;
        }
        if (tk_buf_put(b, s, n))
            return -1;
        if (st->i[1]) {
            if (tk_find_regex(rt->re, cx->md, b->p, b->n, sg))
                return -1;
        } else if (b->n && tk_segs_add(sg, 0, b->n, 0)) {
            return -1;
        }
        for (size_t i = 0; i < sg->n; i++) {
            const tk_seg *g = &sg->v[i];
            if (g->b <= g->a)
                continue;
            size_t off = out->text.n;
            for (size_t j = g->a; j < g->b; j++)
                if (tk_buf_putcp(&out->text, tk_byte_char((unsigned char)b->p[j])))
                    return -1;
            if (tk_pieces_add(out, off, out->text.n - off, -1, at_start && g->a == 0))
                return -1;
        }
        return 0;
    }
    if (!strcmp(t, "Metaspace")) {
        const char *rep = st->s[0] ? st->s[0] : "\xE2\x96\x81";
        size_t rlen = st->s[0] ? st->s_len[0] : 3;
        uint32_t rep_cp = 0;
        if (rlen)
            tok_utf8_next(rep, rlen, &rep_cp);
        tk_buf *b = &cx->tmp;
        b->n = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ' ') {
                if (tk_buf_put(b, rep, rlen))
                    return -1;
            } else if (tk_buf_put(b, s + i, 1)) {
                return -1;
            }
        }
        int prepend = 0;
        int starts = rlen && b->n >= rlen && memcmp(b->p, rep, rlen) == 0;
        if (st->i[0] == 0)
            prepend = !starts;
        else if (st->i[0] == 1)
            prepend = !starts && at_start;
        if (prepend) {
            if (tk_buf_put(b, rep, rlen))
                return -1;
            memmove(b->p + rlen, b->p, b->n - rlen);
            memcpy(b->p, rep, rlen);
        }
        if (!st->i[1]) {
            if (b->n == 0)
                return 0;
            return tk_pieces_add_text(out, b->p, b->n, at_start);
        }
        if (tk_find_chars(b->p, b->n, NULL, rep_cp, sg))
            return -1;
        tk_apply_behavior(sg, TK_MERGED_NEXT);
        return tk_emit(out, b->p, sg, at_start, 0);
    }
    return tk_pieces_add_text(out, s, n, at_start);
}

emb_status tk_pretokenize(const tok_tokenizer *t, tk_pieces *in, tk_pieces *tmp)
{
    tk_ctx cx = {0};
    emb_status rc = EMB_ERR_NO_MEMORY;
    if (t->spec.n_pretokenizers == 0)
        return EMB_OK;
    cx.md = tk_regex_md();
    if (!cx.md)
        return EMB_ERR_NO_MEMORY;
    for (size_t k = 0; k < t->spec.n_pretokenizers; k++) {
        tk_pieces_reset(tmp);
        for (size_t i = 0; i < in->n; i++) {
            const tk_piece *p = &in->v[i];
            if (p->id >= 0) {
                if (tk_pieces_add(tmp, 0, 0, p->id, 0))
                    goto fail;
                continue;
            }
            if (tk_pretok_piece(&t->pretok[k], &cx, in->text.p + p->off, p->len, p->at_start, tmp)) {
                rc = EMB_ERR_NO_MEMORY;
                goto fail;
            }
        }
        tk_pieces swap = *in;
        *in = *tmp;
        *tmp = swap;
    }
    rc = EMB_OK;
fail:
    free(cx.sg.v);
    tk_buf_free(&cx.tmp);
    tk_regex_md_free(cx.md);
    return rc;
}
