/* The tokenizer.json "model" section (WordPiece, BPE, Unigram) and the
 * vocabulary / merges building it shares with the legacy folder readers:
 * (string, id) entries into the tok_spec vocabulary, a string -> id map over
 * it, and BPE merges resolved to id triples as the HF BPE builder does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "convert/hf_tokenizer.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------- vocab building */

static int ht_cmp_id(const void *a, const void *b)
{
    int64_t x = ((const ht_entry *)a)->id, y = ((const ht_entry *)b)->id;
    return x < y ? -1 : x > y;
}

/* Fill spec vocab from (string, id) entries; ids must be unique and < n;
 * holes become empty strings. */
emb_status ht_vocab_from_entries(const char *file, ht_entry *e, size_t n, int with_scores,
                                 tok_spec *spec)
{
    size_t total = 0;
    qsort(e, n, sizeof *e, ht_cmp_id);
    int64_t max_id = n ? e[n - 1].id : -1;
    if (max_id >= (int64_t)HT_MAX_VOCAB)
        return rt_error(EMB_ERR_FORMAT, "%s: vocabulary id %lld beyond the 4M limit", file, (long long)max_id);
    for (size_t i = 0; i < n; i++) {
        if (e[i].id < 0)
            return rt_error(EMB_ERR_FORMAT, "%s: negative vocabulary id", file);
        if (i && e[i].id == e[i - 1].id)
            return rt_error(EMB_ERR_FORMAT, "%s: vocabulary id %lld used twice", file, (long long)e[i].id);
        if (e[i].len > HT_MAX_TOKEN)
            return rt_error(EMB_ERR_FORMAT, "%s: vocabulary token of %zu bytes (limit 64 KiB)", file, e[i].len);
        total += e[i].len;
    }
    uint32_t nv = (uint32_t)(max_id + 1);
    spec->n_vocab = nv;
    spec->vocab_off = rt_calloc((size_t)nv + 1, sizeof *spec->vocab_off);
    spec->vocab_bytes = rt_alloc(total + 1, 1);
    if (!spec->vocab_off || !spec->vocab_bytes)
        return EMB_ERR_NO_MEMORY;
    if (with_scores) {
        spec->scores = rt_calloc(nv ? nv : 1, sizeof *spec->scores);
        if (!spec->scores)
            return EMB_ERR_NO_MEMORY;
    }
    size_t pos = 0, k = 0;
    for (uint32_t id = 0; id < nv; id++) {
        spec->vocab_off[id] = pos;
        if (k < n && e[k].id == (int64_t)id) {
            memcpy(spec->vocab_bytes + pos, e[k].s, e[k].len);
            pos += e[k].len;
            if (with_scores)
                spec->scores[id] = (float)e[k].score;
            k++;
        }
    }
    spec->vocab_off[nv] = pos;
    spec->vocab_bytes[pos] = 0;
    return EMB_OK;
}

static uint64_t ht_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 31);
}

int ht_map_build(ht_map *m, const tok_spec *spec)
{
    size_t cap = 16;
    while (cap < (size_t)spec->n_vocab * 2 + 1)
        cap *= 2;
    m->slot = rt_calloc(cap, sizeof *m->slot);
    if (!m->slot)
        return -1;
    m->mask = cap - 1;
    m->spec = spec;
    for (uint32_t i = 0; i < spec->n_vocab; i++) {
        const char *s = spec->vocab_bytes + spec->vocab_off[i];
        size_t len = (size_t)(spec->vocab_off[i + 1] - spec->vocab_off[i]);
        size_t h = (size_t)ht_hash(s, len) & m->mask;
        while (m->slot[h]) {
            uint32_t v = m->slot[h] - 1;
            size_t vl = (size_t)(spec->vocab_off[v + 1] - spec->vocab_off[v]);
            if (vl == len && !memcmp(spec->vocab_bytes + spec->vocab_off[v], s, len))
                break;
            h = (h + 1) & m->mask;
        }
        m->slot[h] = i + 1;
    }
    return 0;
}

int32_t ht_map_get(const ht_map *m, const char *s, size_t len)
{
    size_t h = (size_t)ht_hash(s, len) & m->mask;
    while (m->slot[h]) {
        uint32_t v = m->slot[h] - 1;
        const tok_spec *sp = m->spec;
        size_t vl = (size_t)(sp->vocab_off[v + 1] - sp->vocab_off[v]);
        if (vl == len && !memcmp(sp->vocab_bytes + sp->vocab_off[v], s, len))
            return (int32_t)v;
        h = (h + 1) & m->mask;
    }
    return -1;
}

/* ---------------------------------------------------------------- models */

emb_status ht_vocab_dict(const char *file, json_t *vocab, tok_spec *spec)
{
    size_t n = json_object_size(vocab);
    if (n > HT_MAX_VOCAB)
        return rt_error(EMB_ERR_FORMAT, "%s: vocabulary of %zu entries (limit 4M)", file, n);
    ht_entry *e = rt_alloc(n ? n : 1, sizeof *e);
    if (!e)
        return EMB_ERR_NO_MEMORY;
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val)) {
            free(e);
            return rt_error(EMB_ERR_FORMAT, "%s: vocabulary id of \"%.40s\" is not an integer", file, key);
        }
        e[k].s = key;
        e[k].len = strlen(key);
        e[k].id = json_integer_value(val);
        e[k].score = 0;
        k++;
    }
    emb_status rc = ht_vocab_from_entries(file, e, k, 0, spec);
    free(e);
    return rc;
}

static emb_status ht_model_unk(const char *file, json_t *model, const ht_map *m, tok_spec *spec)
{
    json_t *unk = json_object_get(model, "unk_token");
    spec->unk_id = -1;
    if (json_is_string(unk)) {
        spec->unk_id = ht_map_get(m, json_string_value(unk), json_string_length(unk));
        if (spec->unk_id < 0 && spec->model == TOK_MODEL_WORDPIECE)
            return rt_error(EMB_ERR_FORMAT, "%s: unk_token \"%s\" is not in the vocabulary", file,
                            json_string_value(unk));
    }
    return EMB_OK;
}

static int ht_opt_str(json_t *o, const char *key, char **out)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v) && json_string_length(v) > 0) {
        if (json_string_length(v) > HT_MAX_TOKEN)
            return -1;
        *out = ht_strdup_n(json_string_value(v), json_string_length(v));
        return *out ? 0 : -1;
    }
    return 0;
}

/* The two parts of merge i, "a b" or [a, b], each at most HT_MAX_TOKEN
 * bytes (pointing into the merge). */
static emb_status ht_merge_parts(const char *file, size_t i, json_t *mg, const char **a,
                                 size_t *al, const char **b, size_t *bl)
{
    if (json_is_string(mg)) {
        const char *s = json_string_value(mg);
        size_t sl = json_string_length(mg);
        const char *sp = memchr(s, ' ', sl);
        if (!sp || memchr(sp + 1, ' ', sl - (size_t)(sp + 1 - s)))
            return rt_error(EMB_ERR_FORMAT, "%s: merge %zu is not \"a b\"", file, i);
        *a = s;
        *al = (size_t)(sp - s);
        *b = sp + 1;
        *bl = sl - *al - 1;
    } else if (json_is_array(mg) && json_array_size(mg) == 2 && json_is_string(json_array_get(mg, 0)) &&
               json_is_string(json_array_get(mg, 1))) {
        *a = json_string_value(json_array_get(mg, 0));
        *al = json_string_length(json_array_get(mg, 0));
        *b = json_string_value(json_array_get(mg, 1));
        *bl = json_string_length(json_array_get(mg, 1));
    } else {
        return rt_error(EMB_ERR_FORMAT, "%s: merge %zu is neither \"a b\" nor [a, b]", file, i);
    }
    if (*al > HT_MAX_TOKEN || *bl > HT_MAX_TOKEN)
        return rt_error(EMB_ERR_FORMAT, "%s: merge %zu has a token over 64 KiB", file, i);
    return EMB_OK;
}

emb_status ht_bpe_merges(const char *file, json_t *merges, const ht_map *m, tok_spec *spec)
{
    size_t n = json_array_size(merges);
    if (merges && !json_is_array(merges))
        return rt_error(EMB_ERR_FORMAT, "%s: BPE merges must be a list", file);
    if (n > HT_MAX_MERGES)
        return rt_error(EMB_ERR_FORMAT, "%s: %zu merges (limit 4M)", file, n);
    spec->merges = rt_alloc(n ? 3 * n : 1, sizeof *spec->merges);
    if (!spec->merges)
        return EMB_ERR_NO_MEMORY;
    size_t plen = spec->subword_prefix ? strlen(spec->subword_prefix) : 0;
    char *buf = NULL;
    emb_status rc = EMB_ERR_NO_MEMORY;
    buf = rt_alloc(2 * HT_MAX_TOKEN + 2, 1);
    if (!buf)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        rc = ht_merge_parts(file, i, json_array_get(merges, i), &a, &al, &b, &bl);
        if (rc != EMB_OK)
            goto fail;
        int32_t ia = ht_map_get(m, a, al), ib = ht_map_get(m, b, bl);
        if (ia < 0 || ib < 0) {
            rc = rt_error(EMB_ERR_FORMAT, "%s: merge %zu uses a token missing from the vocabulary", file, i);
            goto fail;
        }
        /* merged token: a + b without b's continuing_subword_prefix (HF BPE builder) */
        size_t skip = (plen && bl >= plen && !memcmp(b, spec->subword_prefix, plen)) ? plen : 0;
        memcpy(buf, a, al);
        memcpy(buf + al, b + skip, bl - skip);
        int32_t im = ht_map_get(m, buf, al + bl - skip);
        if (im < 0) {
            rc = rt_error(EMB_ERR_FORMAT, "%s: merge %zu gives a token missing from the vocabulary", file, i);
            goto fail;
        }
        spec->merges[3 * i] = ia;
        spec->merges[3 * i + 1] = ib;
        spec->merges[3 * i + 2] = im;
    }
    spec->n_merges = (uint32_t)n;
    rc = EMB_OK;
fail:
    free(buf);
    return rc;
}

static emb_status ht_unigram_vocab(const char *file, json_t *vocab, tok_spec *spec)
{
    size_t n = json_array_size(vocab);
    if (n > HT_MAX_VOCAB)
        return rt_error(EMB_ERR_FORMAT, "%s: vocabulary of %zu entries (limit 4M)", file, n);
    ht_entry *e = rt_alloc(n ? n : 1, sizeof *e);
    if (!e)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(vocab, i);
        json_t *s = json_array_get(it, 0), *sc = json_array_get(it, 1);
        if (!json_is_string(s) || !json_is_number(sc)) {
            free(e);
            return rt_error(EMB_ERR_FORMAT, "%s: Unigram vocab entry %zu is not [piece, score]", file, i);
        }
        e[i].s = json_string_value(s);
        e[i].len = json_string_length(s);
        e[i].id = (int64_t)i;
        e[i].score = json_number_value(sc);
    }
    emb_status rc = ht_vocab_from_entries(file, e, n, 1, spec);
    free(e);
    return rc;
}

/* The model's "type", or for an untagged model the type serde would read
 * it as (by its fields); NULL (error recorded) when it cannot tell. */
static const char *ht_model_type(const char *file, json_t *model)
{
    const char *type = json_string_value(json_object_get(model, "type"));
    if (type)
        return type;
    json_t *vocab = json_object_get(model, "vocab");
    if (json_is_array(vocab))
        return "Unigram";
    if (json_object_get(model, "merges"))
        return "BPE";
    if (json_object_get(model, "max_input_chars_per_word"))
        return "WordPiece";
    if (json_is_object(vocab) && json_object_get(model, "unk_token") && json_object_size(model) == 2)
        return "WordLevel";
    rt_error(EMB_ERR_FORMAT, "%s: cannot tell the model type", file);
    return NULL;
}

/* What needs the vocabulary's string -> id map, once the vocabulary is
 * read: unk_token's id, and with `bpe` the model's merges. */
static emb_status ht_model_lookups(const char *file, json_t *model, int bpe, tok_spec *spec)
{
    ht_map m = {0};
    if (ht_map_build(&m, spec))
        return EMB_ERR_NO_MEMORY;
    emb_status rc = ht_model_unk(file, model, &m, spec);
    if (rc == EMB_OK && bpe)
        rc = ht_bpe_merges(file, json_object_get(model, "merges"), &m, spec);
    free(m.slot);
    return rc;
}

/* WordPiece: {token: id} vocab, continuing_subword_prefix (default "##"),
 * max_input_chars_per_word (default 100, clamped to int32), unk_token. */
static emb_status ht_model_wordpiece(const char *file, json_t *model, tok_spec *spec)
{
    json_t *vocab = json_object_get(model, "vocab");
    spec->model = TOK_MODEL_WORDPIECE;
    if (!json_is_object(vocab))
        return rt_error(EMB_ERR_FORMAT, "%s: WordPiece vocab must be an object", file);
    emb_status rc = ht_vocab_dict(file, vocab, spec);
    if (rc != EMB_OK)
        return rc;
    json_t *p = json_object_get(model, "continuing_subword_prefix");
    spec->subword_prefix = ht_strdup_n(json_is_string(p) ? json_string_value(p) : "##",
                                       json_is_string(p) ? json_string_length(p) : 2);
    if (!spec->subword_prefix)
        return EMB_ERR_NO_MEMORY;
    json_t *mx = json_object_get(model, "max_input_chars_per_word");
    int64_t mc = json_is_integer(mx) ? json_integer_value(mx) : 100;
    spec->max_input_chars_per_word = (int32_t)(mc < 0 ? 0 : mc > INT32_MAX ? INT32_MAX : mc);
    return ht_model_lookups(file, model, 0, spec);
}

/* BPE: {token: id} vocab, no dropout, optional continuing_subword_prefix
 * and end_of_word_suffix, fuse_unk / byte_fallback / ignore_merges,
 * unk_token, merges. */
static emb_status ht_model_bpe(const char *file, json_t *model, tok_spec *spec)
{
    json_t *vocab = json_object_get(model, "vocab");
    spec->model = TOK_MODEL_BPE;
    if (!json_is_object(vocab))
        return rt_error(EMB_ERR_FORMAT, "%s: BPE vocab must be an object", file);
    json_t *dropout = json_object_get(model, "dropout");
    if (json_is_number(dropout) && json_number_value(dropout) > 0.0 && json_number_value(dropout) < 1.0)
        return rt_error(EMB_ERR_UNSUPPORTED, "%s: BPE dropout is not supported", file);
    emb_status rc = ht_vocab_dict(file, vocab, spec);
    if (rc != EMB_OK)
        return rc;
    if (ht_opt_str(model, "continuing_subword_prefix", &spec->subword_prefix) ||
        ht_opt_str(model, "end_of_word_suffix", &spec->word_suffix))
        return rt_error(EMB_ERR_FORMAT, "%s: BPE prefix/suffix invalid", file);
    spec->fuse_unk = ht_bool(model, "fuse_unk", 0);
    spec->byte_fallback = ht_bool(model, "byte_fallback", 0);
    spec->ignore_merges = ht_bool(model, "ignore_merges", 0);
    return ht_model_lookups(file, model, 1, spec);
}

/* Unigram: [[piece, score], ...] vocab, unk_id in range when given,
 * byte_fallback. */
static emb_status ht_model_unigram(const char *file, json_t *model, tok_spec *spec)
{
    json_t *vocab = json_object_get(model, "vocab");
    spec->model = TOK_MODEL_UNIGRAM;
    if (!json_is_array(vocab))
        return rt_error(EMB_ERR_FORMAT, "%s: Unigram vocab must be a list", file);
    emb_status rc = ht_unigram_vocab(file, vocab, spec);
    if (rc != EMB_OK)
        return rc;
    json_t *u = json_object_get(model, "unk_id");
    if (json_is_integer(u)) {
        if (json_integer_value(u) < 0 || json_integer_value(u) >= (int64_t)spec->n_vocab)
            return rt_error(EMB_ERR_FORMAT, "%s: Unigram unk_id out of range", file);
        spec->unk_id = (int32_t)json_integer_value(u);
    }
    spec->byte_fallback = ht_bool(model, "byte_fallback", 0);
    return EMB_OK;
}

emb_status ht_model(const char *file, json_t *model, tok_spec *spec)
{
    if (!json_is_object(model))
        return rt_error(EMB_ERR_FORMAT, "%s: \"model\" missing", file);
    const char *type = ht_model_type(file, model);
    if (!type)
        return EMB_ERR_FORMAT;
    spec->unk_id = -1;
    if (!strcmp(type, "WordPiece"))
        return ht_model_wordpiece(file, model, spec);
    if (!strcmp(type, "BPE"))
        return ht_model_bpe(file, model, spec);
    if (!strcmp(type, "Unigram"))
        return ht_model_unigram(file, model, spec);
    return rt_error(EMB_ERR_UNSUPPORTED, "%s: model type \"%s\" is not supported", file, type);
}
