/* The tokenizer object and the encode pipeline, as HF tokenizers'
 * Tokenizer::encode for one sequence:
 *   added tokens on the raw text → normalizer (per remaining piece) →
 *   normalized added tokens → pre-tokenizers → model → post-processor →
 *   truncation.
 * A built tokenizer is never written after tok_create, so it can be shared
 * across threads; every encode call uses its own scratch memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

#define TK_MAX_ADDED_ID 0x1000000 /* 16M: ids beyond are refused as absurd */

static void tk_step_free(tok_step *s)
{
    for (int k = 0; k < 3; k++)
        free(s->s[k]);
    free(s->blob);
    memset(s, 0, sizeof *s);
}

void tok_spec_free(tok_spec *spec)
{
    if (!spec)
        return;
    free(spec->vocab_bytes);
    free(spec->vocab_off);
    free(spec->scores);
    free(spec->merges);
    free(spec->subword_prefix);
    free(spec->word_suffix);
    for (size_t i = 0; i < spec->n_normalizers; i++)
        tk_step_free(&spec->normalizers[i]);
    free(spec->normalizers);
    for (size_t i = 0; i < spec->n_pretokenizers; i++)
        tk_step_free(&spec->pretokenizers[i]);
    free(spec->pretokenizers);
    for (size_t i = 0; i < spec->n_added; i++)
        free(spec->added[i].content);
    free(spec->added);
    free(spec->prefix_ids);
    free(spec->suffix_ids);
    memset(spec, 0, sizeof *spec);
}

static void *tk_dup(const void *p, size_t n, size_t size, int *err)
{
    if (!p || n == 0)
        return NULL;
    size_t bytes;
    if (rt_mul_overflow(n, size, &bytes)) {
        *err = 1;
        rt_error(EMB_ERR_NO_MEMORY, "tokenizer: size overflows");
        return NULL;
    }
    void *q = rt_alloc(bytes + 1, 1);
    if (!q) {
        *err = 1;
        return NULL;
    }
    memcpy(q, p, bytes);
    ((char *)q)[bytes] = 0;
    return q;
}

static char *tk_strdup0(const char *s, int *err)
{
    return s ? tk_dup(s, strlen(s) + 1, 1, err) : NULL;
}

static int tk_copy_steps(const tok_step *src, size_t n, tok_step **dst)
{
    int err = 0;
    *dst = NULL;
    if (!n)
        return 0;
    *dst = rt_calloc(n, sizeof **dst);
    if (!*dst)
        return 1;
    for (size_t i = 0; i < n; i++) {
        tok_step *d = &(*dst)[i];
        memcpy(d->type, src[i].type, sizeof d->type);
        d->type[sizeof d->type - 1] = 0;
        memcpy(d->i, src[i].i, sizeof d->i);
        for (int k = 0; k < 3; k++) {
            d->s_len[k] = src[i].s_len[k];
            if (src[i].s[k]) {
                d->s[k] = rt_alloc(src[i].s_len[k] + 1, 1);
                if (!d->s[k])
                    return 1;
                memcpy(d->s[k], src[i].s[k], src[i].s_len[k]);
                d->s[k][src[i].s_len[k]] = 0;
            }
        }
        d->blob_len = src[i].blob_len;
        d->blob = tk_dup(src[i].blob, src[i].blob_len, 1, &err);
    }
    return err;
}

/* deep copy; the destination must be zeroed */
static int tk_spec_copy(tok_spec *d, const tok_spec *s)
{
    int err = 0;
    d->model = s->model;
    d->n_vocab = s->n_vocab;
    d->vocab_off = tk_dup(s->vocab_off, (size_t)s->n_vocab + 1, sizeof *s->vocab_off, &err);
    d->vocab_bytes = tk_dup(s->vocab_bytes ? s->vocab_bytes : "", (size_t)s->vocab_off[s->n_vocab] + 1, 1, &err);
    d->scores = tk_dup(s->scores, s->n_vocab, sizeof *s->scores, &err);
    d->n_merges = s->n_merges;
    d->merges = tk_dup(s->merges, (size_t)s->n_merges * 3, sizeof *s->merges, &err);
    d->unk_id = s->unk_id;
    d->subword_prefix = tk_strdup0(s->subword_prefix, &err);
    d->word_suffix = tk_strdup0(s->word_suffix, &err);
    d->max_input_chars_per_word = s->max_input_chars_per_word;
    d->byte_fallback = s->byte_fallback;
    d->fuse_unk = s->fuse_unk;
    d->ignore_merges = s->ignore_merges;
    d->n_normalizers = s->n_normalizers;
    err |= tk_copy_steps(s->normalizers, s->n_normalizers, &d->normalizers);
    if (!d->normalizers)
        d->n_normalizers = 0;
    d->n_pretokenizers = s->n_pretokenizers;
    err |= tk_copy_steps(s->pretokenizers, s->n_pretokenizers, &d->pretokenizers);
    if (!d->pretokenizers)
        d->n_pretokenizers = 0;
    if (s->n_added) {
        d->added = rt_calloc(s->n_added, sizeof *d->added);
        if (!d->added)
            return 1;
        d->n_added = s->n_added;
        for (size_t i = 0; i < s->n_added; i++) {
            d->added[i] = s->added[i];
            d->added[i].content = rt_alloc(s->added[i].len + 1, 1);
            if (!d->added[i].content)
                return 1;
            if (s->added[i].len)
                memcpy(d->added[i].content, s->added[i].content, s->added[i].len);
            d->added[i].content[s->added[i].len] = 0;
        }
    }
    d->n_prefix = s->n_prefix;
    d->n_suffix = s->n_suffix;
    d->prefix_ids = tk_dup(s->prefix_ids, s->n_prefix, sizeof *s->prefix_ids, &err);
    d->suffix_ids = tk_dup(s->suffix_ids, s->n_suffix, sizeof *s->suffix_ids, &err);
    return err;
}

static emb_status tk_check_spec(const tok_spec *s)
{
    if (s->model != TOK_MODEL_WORDPIECE && s->model != TOK_MODEL_BPE && s->model != TOK_MODEL_UNIGRAM)
        return rt_error(EMB_ERR_UNSUPPORTED, "tokenizer: model kind %d is not supported", (int)s->model);
    if (!s->vocab_off || (s->n_vocab && !s->vocab_bytes))
        return rt_error(EMB_ERR_FORMAT, "tokenizer: vocabulary missing");
    if (s->vocab_off[0] != 0)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: vocabulary offsets must start at 0");
    for (uint32_t i = 0; i < s->n_vocab; i++)
        if (s->vocab_off[i + 1] < s->vocab_off[i])
            return rt_error(EMB_ERR_FORMAT, "tokenizer: vocabulary offsets decrease at %u", i);
    if (s->vocab_off[s->n_vocab] > (uint64_t)SIZE_MAX / 2)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: vocabulary too large");
    int64_t total = s->n_vocab;
    for (size_t i = 0; i < s->n_added; i++) {
        if (s->added[i].id < 0 || s->added[i].id >= TK_MAX_ADDED_ID || (!s->added[i].content && s->added[i].len))
            return rt_error(EMB_ERR_FORMAT, "tokenizer: added token %zu has invalid id %d", i, s->added[i].id);
        if (!tok_utf8_valid(s->added[i].content, s->added[i].len))
            return rt_error(EMB_ERR_FORMAT, "tokenizer: added token %zu is not valid UTF-8", i);
        if (s->added[i].id >= total)
            total = (int64_t)s->added[i].id + 1;
    }
    if (s->unk_id >= (int64_t)s->n_vocab || s->unk_id < -1)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: unk id %d out of range", s->unk_id);
    if (s->model == TOK_MODEL_WORDPIECE && s->unk_id < 0)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: WordPiece needs an unk token in the vocabulary");
    if (s->model == TOK_MODEL_UNIGRAM && !s->scores)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: Unigram needs scores");
    if (s->n_merges && !s->merges)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: merges missing");
    for (size_t i = 0; i < (size_t)s->n_merges * 3; i++)
        if (s->merges[i] < 0 || s->merges[i] >= (int64_t)s->n_vocab)
            return rt_error(EMB_ERR_FORMAT, "tokenizer: merge %zu refers to id %d outside the vocabulary",
                            i / 3, s->merges[i]);
    for (size_t i = 0; i < s->n_prefix; i++)
        if (s->prefix_ids[i] < 0 || s->prefix_ids[i] >= total)
            return rt_error(EMB_ERR_FORMAT, "tokenizer: special prefix id %d out of range", s->prefix_ids[i]);
    for (size_t i = 0; i < s->n_suffix; i++)
        if (s->suffix_ids[i] < 0 || s->suffix_ids[i] >= total)
            return rt_error(EMB_ERR_FORMAT, "tokenizer: special suffix id %d out of range", s->suffix_ids[i]);
    for (int pass = 0; pass < 2; pass++) {
        const tok_step *steps = pass ? s->pretokenizers : s->normalizers;
        size_t n = pass ? s->n_pretokenizers : s->n_normalizers;
        for (size_t i = 0; steps && i < n; i++) {
            for (int k = 0; k < 3; k++)
                if (steps[i].s[k] && !tok_utf8_valid(steps[i].s[k], steps[i].s_len[k]))
                    return rt_error(EMB_ERR_FORMAT, "tokenizer: %s string %d is not valid UTF-8",
                                    steps[i].type, k);
            if (!strcmp(steps[i].type, "Metaspace") && steps[i].s[0] &&
                (steps[i].s_len[0] == 0 || tk_utf8_count(steps[i].s[0], steps[i].s_len[0]) != 1))
                return rt_error(EMB_ERR_FORMAT, "tokenizer: Metaspace replacement must be one character");
        }
    }
    if ((s->n_prefix && !s->prefix_ids) || (s->n_suffix && !s->suffix_ids) ||
        (s->n_normalizers && !s->normalizers) || (s->n_pretokenizers && !s->pretokenizers) ||
        (s->n_added && !s->added))
        return rt_error(EMB_ERR_FORMAT, "tokenizer: spec has counts without arrays");
    return EMB_OK;
}

void tok_free(tok_tokenizer *t)
{
    if (!t)
        return;
    if (t->norm)
        for (size_t i = 0; i < t->spec.n_normalizers; i++)
            tk_step_release(&t->norm[i]);
    if (t->pretok)
        for (size_t i = 0; i < t->spec.n_pretokenizers; i++)
            tk_step_release(&t->pretok[i]);
    free(t->norm);
    free(t->pretok);
    tk_strmap_free(&t->vocab);
    tk_pairmap_free(&t->merges);
    free(t->trie_raw.nodes);
    free(t->trie_norm.nodes);
    free(t->uni_sorted);
    tok_spec_free(&t->spec);
    free(t);
}

emb_status tok_create(const tok_spec *spec, tok_tokenizer **out)
{
    emb_status rc;
    tk_buf nb = {0};
    *out = NULL;
    rc = tk_check_spec(spec);
    if (rc != EMB_OK)
        return rc;
    tok_tokenizer *t = rt_calloc(1, sizeof *t);
    if (!t)
        return EMB_ERR_NO_MEMORY;
    rc = EMB_ERR_NO_MEMORY;
    if (tk_spec_copy(&t->spec, spec))
        goto fail;
    const tok_spec *s = &t->spec;
    if (tk_strmap_build(&t->vocab, s->vocab_bytes, s->vocab_off, s->n_vocab))
        goto fail;
    if (s->model == TOK_MODEL_BPE && tk_pairmap_build(&t->merges, s->merges, s->n_merges))
        goto fail;
    for (uint32_t i = 0; i < s->n_vocab; i++)
        if ((size_t)(s->vocab_off[i + 1] - s->vocab_off[i]) > t->max_token_bytes)
            t->max_token_bytes = (size_t)(s->vocab_off[i + 1] - s->vocab_off[i]);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_ids[b] = tk_strmap_get(&t->vocab, name, 6);
    }
    if (s->model == TOK_MODEL_UNIGRAM) {
        float mn = 0.0f;
        size_t longest = 0;
        for (uint32_t i = 0; i < s->n_vocab; i++) {
            if (i == 0 || s->scores[i] < mn)
                mn = s->scores[i];
            size_t c = tk_utf8_count(s->vocab_bytes + s->vocab_off[i],
                                     (size_t)(s->vocab_off[i + 1] - s->vocab_off[i]));
            if (c > longest)
                longest = c;
        }
        t->unigram_min_score = mn;
        t->max_token_chars = longest;
        rc = tk_unigram_prepare(t);
        if (rc != EMB_OK)
            goto fail;
        rc = EMB_ERR_NO_MEMORY;
    }
    if (s->n_normalizers) {
        t->norm = rt_calloc(s->n_normalizers, sizeof *t->norm);
        if (!t->norm)
            goto fail;
        for (size_t i = 0; i < s->n_normalizers; i++) {
            t->norm[i].step = s->normalizers[i];
            rc = tk_step_prepare(&t->norm[i], 1);
            if (rc != EMB_OK)
                goto fail;
        }
    }
    if (s->n_pretokenizers) {
        t->pretok = rt_calloc(s->n_pretokenizers, sizeof *t->pretok);
        if (!t->pretok)
            goto fail;
        for (size_t i = 0; i < s->n_pretokenizers; i++) {
            t->pretok[i].step = s->pretokenizers[i];
            rc = tk_step_prepare(&t->pretok[i], 0);
            if (rc != EMB_OK)
                goto fail;
        }
    }
    /* added tokens: non-normalized ones match the raw text, normalized ones
     * match the normalized text with their content normalized too (HF
     * AddedVocabulary::refresh_added_tokens) */
    rc = EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < s->n_added; i++) {
        const tok_added *a = &s->added[i];
        if (!a->normalized) {
            if (tk_trie_insert(&t->trie_raw, a->content, a->len, (int32_t)i))
                goto fail;
            continue;
        }
        nb.n = 0;
        rc = tk_normalize(t, a->content, a->len, &nb);
        if (rc != EMB_OK)
            goto fail;
        rc = EMB_ERR_NO_MEMORY;
        if (tk_trie_insert(&t->trie_norm, nb.p, nb.n, (int32_t)i))
            goto fail;
    }
    tk_buf_free(&nb);
    *out = t;
    return EMB_OK;
fail:
    tk_buf_free(&nb);
    tok_free(t);
    return rc;
}

size_t tok_n_special(const tok_tokenizer *t)
{
    return t->spec.n_prefix + t->spec.n_suffix;
}

size_t tok_vocab_size(const tok_tokenizer *t)
{
    size_t n = t->spec.n_vocab;
    for (size_t i = 0; i < t->spec.n_added; i++)
        if ((size_t)t->spec.added[i].id + 1 > n)
            n = (size_t)t->spec.added[i].id + 1;
    return n;
}

static emb_status tk_model(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out)
{
    switch (t->spec.model) {
    case TOK_MODEL_WORDPIECE: return tk_wordpiece_encode(t, s, n, out);
    case TOK_MODEL_BPE: return tk_bpe_encode(t, s, n, out);
    case TOK_MODEL_UNIGRAM: return tk_unigram_encode(t, s, n, out);
    default: return rt_error(EMB_ERR_INTERNAL, "tokenizer: no model");
    }
}

emb_status tok_encode(const tok_tokenizer *t, const char *text, size_t len, int add_special,
                      size_t max_tokens, tok_ids *out)
{
    out->n = 0;
    RT_FAIL_IF(len && !text, EMB_ERR_INVALID_ARGUMENT, "tokenizer: NULL text with length %zu",
               len);
    RT_FAIL_IF(!tok_utf8_valid(text, len), EMB_ERR_INVALID_UTF8,
               "tokenizer: text is not valid UTF-8");
    return tok_encode_valid(t, text, len, add_special, max_tokens, out);
}

emb_status tok_encode_valid(const tok_tokenizer *t, const char *text, size_t len,
                            int add_special, size_t max_tokens, tok_ids *out)
{
    tk_pieces a = {0}, b = {0};
    tk_buf nb = {0};
    tok_ids body = {0};
    emb_status rc;
    out->n = 0;

    /* 1. added tokens on the raw text */
    rc = tk_added_split(t, &t->trie_raw, text, len, 1, &a);
    if (rc != EMB_OK)
        goto fail;
    /* 2. normalize each remaining piece, then normalized added tokens */
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].id >= 0) {
            if (tk_pieces_add(&b, 0, 0, a.v[i].id, 0)) {
                rc = EMB_ERR_NO_MEMORY;
                goto fail;
            }
            continue;
        }
        nb.n = 0;
        rc = tk_normalize(t, a.text.p + a.v[i].off, a.v[i].len, &nb);
        if (rc != EMB_OK)
            goto fail;
        rc = tk_added_split(t, &t->trie_norm, nb.p, nb.n, a.v[i].at_start, &b);
        if (rc != EMB_OK)
            goto fail;
    }
    /* 3. pre-tokenizers */
    rc = tk_pretokenize(t, &b, &a);
    if (rc != EMB_OK)
        goto fail;
    /* 4. the model on each piece */
    for (size_t i = 0; i < b.n; i++) {
        if (b.v[i].id >= 0) {
            if (tk_ids_push(&body, b.v[i].id)) {
                rc = EMB_ERR_NO_MEMORY;
                goto fail;
            }
            continue;
        }
        rc = tk_model(t, b.text.p + b.v[i].off, b.v[i].len, &body);
        if (rc != EMB_OK)
            goto fail;
    }
    /* 5. post-processor and truncation (the specials are kept) */
    size_t n_pre = add_special ? t->spec.n_prefix : 0;
    size_t n_suf = add_special ? t->spec.n_suffix : 0;
    size_t keep = body.n;
    if (max_tokens > 0) {
        size_t room = max_tokens > n_pre + n_suf ? max_tokens - n_pre - n_suf : 0;
        if (keep > room)
            keep = room;
    }
    rc = EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < n_pre; i++)
        if (tk_ids_push(out, t->spec.prefix_ids[i]))
            goto fail;
    for (size_t i = 0; i < keep; i++)
        if (tk_ids_push(out, body.ids[i]))
            goto fail;
    for (size_t i = 0; i < n_suf; i++)
        if (tk_ids_push(out, t->spec.suffix_ids[i]))
            goto fail;
    rc = EMB_OK;
fail:
    tk_pieces_free(&a);
    tk_pieces_free(&b);
    tk_buf_free(&nb);
    free(body.ids);
    if (rc != EMB_OK)
        out->n = 0;
    return rc;
}
