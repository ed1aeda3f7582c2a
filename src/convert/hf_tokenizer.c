/* Reading a Hugging Face tokenizer into a tok_spec: tokenizer.json (the
 * `tokenizers` serialization: normalizer, pre_tokenizer, model,
 * post_processor, added_tokens), or — for BERT folders without one —
 * vocab.txt + tokenizer_config.json + special_tokens_map.json, converted as
 * transformers' BertConverter (BertTokenizerFast) does. Files are hostile:
 * every size is bounded, every field type-checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "convert/convert.h"
#include "runtime/runtime.h"

#define HT_MAX_VOCAB  (4u << 20)      /* 4M entries */
#define HT_MAX_MERGES (4u << 20)
#define HT_MAX_TOKEN  (64u << 10)     /* 64 KiB */
#define HT_MAX_STEPS  64
#define HT_MAX_SPECIAL 64

/* ------------------------------------------------------- vocab building */

typedef struct ht_entry {
    const char *s;
    size_t len;
    int64_t id;
    double score;
} ht_entry;

static int ht_cmp_id(const void *a, const void *b)
{
    int64_t x = ((const ht_entry *)a)->id, y = ((const ht_entry *)b)->id;
    return x < y ? -1 : x > y;
}

/* Fill spec vocab from (string, id) entries; ids must be unique and < n;
 * holes become empty strings. */
static emb_status ht_vocab_from_entries(const char *file, ht_entry *e, size_t n, int with_scores,
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

/* id of a token string in the spec vocabulary (linear scan helper for the
 * few lookups the converter needs: unk, merges use a map below) */
typedef struct ht_map {
    uint32_t *slot;
    size_t mask;
    const tok_spec *spec;
} ht_map;

static uint64_t ht_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 31);
}

static int ht_map_build(ht_map *m, const tok_spec *spec)
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

static int32_t ht_map_get(const ht_map *m, const char *s, size_t len)
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

/* ------------------------------------------------------------ json helpers */

static int ht_bool(json_t *o, const char *key, int def)
{
    json_t *v = json_object_get(o, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    return def;
}

static char *ht_strdup_n(const char *s, size_t n)
{
    char *p = rt_alloc(n + 1, 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* copy a JSON string field into step s[k]; 0 ok, -1 on error (recorded) */
static int ht_step_str(const char *file, tok_step *st, int k, json_t *v, const char *what)
{
    if (!json_is_string(v))
        return rt_error(EMB_ERR_FORMAT, "%s: %s %s must be a string", file, st->type, what), -1;
    size_t n = json_string_length(v);
    if (n > HT_MAX_TOKEN)
        return rt_error(EMB_ERR_FORMAT, "%s: %s %s longer than 64 KiB", file, st->type, what), -1;
    st->s[k] = ht_strdup_n(json_string_value(v), n);
    if (!st->s[k])
        return -1;
    st->s_len[k] = n;
    return 0;
}

/* pattern {"String": s} or {"Regex": r} into s[0], i[regex_slot] */
static int ht_pattern(const char *file, tok_step *st, json_t *pat, int regex_slot)
{
    json_t *v;
    if ((v = json_object_get(pat, "String"))) {
        st->i[regex_slot] = 0;
        return ht_step_str(file, st, 0, v, "pattern");
    }
    if ((v = json_object_get(pat, "Regex"))) {
        st->i[regex_slot] = 1;
        return ht_step_str(file, st, 0, v, "pattern");
    }
    return rt_error(EMB_ERR_FORMAT, "%s: %s pattern must be {\"String\"} or {\"Regex\"}", file, st->type), -1;
}

static int ht_behavior(const char *file, json_t *v, int def)
{
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    if (!v || json_is_null(v))
        return def;
    if (json_is_string(v))
        for (int i = 0; i < 5; i++)
            if (!strcmp(json_string_value(v), names[i]))
                return i;
    rt_error(EMB_ERR_UNSUPPORTED, "%s: split behavior not supported", file);
    return -1;
}

static const unsigned char *ht_b64_table(void)
{
    static unsigned char t[256];
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 256; i++)
        t[i] = 0xFF;
    for (int i = 0; i < 64; i++)
        t[(unsigned char)a[i]] = (unsigned char)i;
    return t;
}

static int ht_base64(const char *file, const char *s, size_t n, uint8_t **out, size_t *out_len)
{
    const unsigned char *t = ht_b64_table();
    uint8_t *o = rt_alloc(n / 4 * 3 + 3, 1);
    if (!o)
        return -1;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=')
            break;
        if (t[c] == 0xFF) {
            free(o);
            return rt_error(EMB_ERR_FORMAT, "%s: precompiled_charsmap is not base64", file), -1;
        }
        acc = (acc << 6) | t[c];
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (uint8_t)(acc >> bits);
        }
    }
    *out = o;
    *out_len = k;
    return 0;
}

/* ----------------------------------------------------- normalizers etc. */

typedef struct ht_steps {
    tok_step *v;
    size_t n, cap;
} ht_steps;

static tok_step *ht_steps_new(ht_steps *s, const char *file, const char *type)
{
    if (s->n >= HT_MAX_STEPS) {
        rt_error(EMB_ERR_FORMAT, "%s: more than %d normalizer/pre-tokenizer steps", file, HT_MAX_STEPS);
        return NULL;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        tok_step *v = rt_realloc(s->v, cap, sizeof *v);
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    tok_step *st = &s->v[s->n++];
    memset(st, 0, sizeof *st);
    snprintf(st->type, sizeof st->type, "%s", type);
    return st;
}

static emb_status ht_normalizer(const char *file, json_t *o, ht_steps *out, int depth)
{
    if (!o || json_is_null(o))
        return EMB_OK;
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type)
        return rt_error(EMB_ERR_FORMAT, "%s: normalizer without a \"type\"", file);
    if (!strcmp(type, "Sequence")) {
        json_t *arr = json_object_get(o, "normalizers");
        if (!json_is_array(arr) || depth > 8)
            return rt_error(EMB_ERR_FORMAT, "%s: Sequence normalizer without a \"normalizers\" list", file);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            emb_status rc = ht_normalizer(file, json_array_get(arr, i), out, depth + 1);
            if (rc != EMB_OK)
                return rc;
        }
        return EMB_OK;
    }
    static const char *known[] = {"BertNormalizer", "NFC", "NFD", "NFKC", "NFKD", "Lowercase",
                                  "StripAccents", "Strip", "Prepend", "Replace", "Precompiled"};
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        ok |= !strcmp(type, known[i]);
    if (!ok)
        return rt_error(EMB_ERR_UNSUPPORTED, "%s: normalizer type \"%s\" is not supported", file, type);
    tok_step *st = ht_steps_new(out, file, type);
    if (!st)
        return EMB_ERR_NO_MEMORY;
    if (!strcmp(type, "BertNormalizer")) {
        st->i[0] = ht_bool(o, "clean_text", 1);
        st->i[1] = ht_bool(o, "handle_chinese_chars", 1);
        json_t *sa = json_object_get(o, "strip_accents");
        st->i[2] = json_is_boolean(sa) ? json_is_true(sa) : -1;
        st->i[3] = ht_bool(o, "lowercase", 1);
    } else if (!strcmp(type, "Strip")) {
        st->i[0] = ht_bool(o, "strip_left", 1);
        st->i[1] = ht_bool(o, "strip_right", 1);
    } else if (!strcmp(type, "Prepend")) {
        if (ht_step_str(file, st, 0, json_object_get(o, "prepend"), "prepend"))
            return EMB_ERR_FORMAT;
    } else if (!strcmp(type, "Replace")) {
        if (ht_pattern(file, st, json_object_get(o, "pattern"), 0) ||
            ht_step_str(file, st, 1, json_object_get(o, "content"), "content"))
            return EMB_ERR_FORMAT;
    } else if (!strcmp(type, "Precompiled")) {
        json_t *v = json_object_get(o, "precompiled_charsmap");
        if (json_is_string(v)) {
            if (ht_base64(file, json_string_value(v), json_string_length(v), &st->blob, &st->blob_len))
                return EMB_ERR_FORMAT;
        } else if (!json_is_null(v) && v) {
            return rt_error(EMB_ERR_FORMAT, "%s: precompiled_charsmap must be a string", file);
        }
    }
    return EMB_OK;
}

static emb_status ht_pretokenizer(const char *file, json_t *o, ht_steps *out, int depth)
{
    if (!o || json_is_null(o))
        return EMB_OK;
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type)
        return rt_error(EMB_ERR_FORMAT, "%s: pre_tokenizer without a \"type\"", file);
    if (!strcmp(type, "Sequence")) {
        json_t *arr = json_object_get(o, "pretokenizers");
        if (!json_is_array(arr) || depth > 8)
            return rt_error(EMB_ERR_FORMAT, "%s: Sequence pre_tokenizer without a \"pretokenizers\" list", file);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            emb_status rc = ht_pretokenizer(file, json_array_get(arr, i), out, depth + 1);
            if (rc != EMB_OK)
                return rc;
        }
        return EMB_OK;
    }
    static const char *known[] = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit", "ByteLevel",
                                  "Split", "Metaspace", "Digits", "Punctuation"};
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        ok |= !strcmp(type, known[i]);
    if (!ok)
        return rt_error(EMB_ERR_UNSUPPORTED, "%s: pre_tokenizer type \"%s\" is not supported", file, type);
    tok_step *st = ht_steps_new(out, file, type);
    if (!st)
        return EMB_ERR_NO_MEMORY;
    if (!strcmp(type, "ByteLevel")) {
        st->i[0] = ht_bool(o, "add_prefix_space", 1);
        st->i[1] = ht_bool(o, "use_regex", 1);
    } else if (!strcmp(type, "Split")) {
        if (ht_pattern(file, st, json_object_get(o, "pattern"), 0))
            return EMB_ERR_FORMAT;
        st->i[1] = ht_behavior(file, json_object_get(o, "behavior"), 0);
        if (st->i[1] < 0)
            return EMB_ERR_UNSUPPORTED;
        st->i[2] = ht_bool(o, "invert", 0);
    } else if (!strcmp(type, "Metaspace")) {
        json_t *rep = json_object_get(o, "replacement");
        if (rep) {
            if (ht_step_str(file, st, 0, rep, "replacement"))
                return EMB_ERR_FORMAT;
        } else if (!(st->s[0] = ht_strdup_n("\xE2\x96\x81", 3))) {
            return EMB_ERR_NO_MEMORY;
        } else {
            st->s_len[0] = 3;
        }
        if (st->s_len[0] == 0 || st->s_len[0] != (size_t)((unsigned char)st->s[0][0] < 0x80 ? 1 :
                                  (unsigned char)st->s[0][0] < 0xE0 ? 2 : (unsigned char)st->s[0][0] < 0xF0 ? 3 : 4))
            return rt_error(EMB_ERR_FORMAT, "%s: Metaspace replacement must be one character", file);
        json_t *ps = json_object_get(o, "prepend_scheme");
        if (json_is_string(ps)) {
            const char *p = json_string_value(ps);
            if (!strcmp(p, "always"))
                st->i[0] = 0;
            else if (!strcmp(p, "first"))
                st->i[0] = 1;
            else if (!strcmp(p, "never"))
                st->i[0] = 2;
            else
                return rt_error(EMB_ERR_UNSUPPORTED, "%s: Metaspace prepend_scheme \"%s\"", file, p);
            json_t *aps = json_object_get(o, "add_prefix_space");
            if (json_is_false(aps) && st->i[0] != 2)
                return rt_error(EMB_ERR_FORMAT, "%s: Metaspace add_prefix_space does not match prepend_scheme", file);
        } else {
            /* legacy form: add_prefix_space true -> always, false -> never */
            st->i[0] = ht_bool(o, "add_prefix_space", 1) ? 0 : 2;
        }
        st->i[1] = ht_bool(o, "split", 1);
    } else if (!strcmp(type, "Digits")) {
        st->i[0] = ht_bool(o, "individual_digits", 0);
    } else if (!strcmp(type, "Punctuation")) {
        st->i[0] = ht_behavior(file, json_object_get(o, "behavior"), 1);
        if (st->i[0] < 0)
            return EMB_ERR_UNSUPPORTED;
    }
    return EMB_OK;
}

/* ---------------------------------------------------------- post-processor */

static int ht_push_id(int32_t **v, size_t *n, int64_t id)
{
    if (*n >= HT_MAX_SPECIAL)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: too many special tokens"), -1;
    int32_t *p = rt_realloc(*v, *n + 1, sizeof *p);
    if (!p)
        return -1;
    p[(*n)++] = (int32_t)id;
    *v = p;
    return 0;
}

/* [token, id] pair of BertProcessing/RobertaProcessing */
static int64_t ht_pair_id(json_t *v)
{
    json_t *id = json_array_get(v, 1);
    return json_is_integer(id) ? json_integer_value(id) : -1;
}

static emb_status ht_post(const char *file, json_t *o, tok_spec *spec, int depth)
{
    if (!o || json_is_null(o))
        return EMB_OK;
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type)
        return rt_error(EMB_ERR_FORMAT, "%s: post_processor without a \"type\"", file);
    if (!strcmp(type, "Sequence")) {
        json_t *arr = json_object_get(o, "processors");
        if (!json_is_array(arr) || depth > 8)
            return rt_error(EMB_ERR_FORMAT, "%s: Sequence post_processor without \"processors\"", file);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            emb_status rc = ht_post(file, json_array_get(arr, i), spec, depth + 1);
            if (rc != EMB_OK)
                return rc;
        }
        return EMB_OK;
    }
    if (!strcmp(type, "ByteLevel"))
        return EMB_OK; /* offsets only */
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        int64_t cls = ht_pair_id(json_object_get(o, "cls"));
        int64_t sep = ht_pair_id(json_object_get(o, "sep"));
        if (cls < 0 || sep < 0 || cls > INT32_MAX || sep > INT32_MAX)
            return rt_error(EMB_ERR_FORMAT, "%s: %s needs cls and sep [token, id] pairs", file, type);
        if (spec->n_prefix || spec->n_suffix)
            return rt_error(EMB_ERR_UNSUPPORTED, "%s: more than one special-adding post_processor", file);
        if (ht_push_id(&spec->prefix_ids, &spec->n_prefix, cls) ||
            ht_push_id(&spec->suffix_ids, &spec->n_suffix, sep))
            return EMB_ERR_FORMAT;
        return EMB_OK;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        json_t *single = json_object_get(o, "single");
        json_t *specials = json_object_get(o, "special_tokens");
        if (!json_is_array(single))
            return rt_error(EMB_ERR_FORMAT, "%s: TemplateProcessing without a \"single\" template", file);
        if (spec->n_prefix || spec->n_suffix)
            return rt_error(EMB_ERR_UNSUPPORTED, "%s: more than one special-adding post_processor", file);
        int seen_seq = 0;
        for (size_t i = 0; i < json_array_size(single); i++) {
            json_t *piece = json_array_get(single, i);
            json_t *sp = json_object_get(piece, "SpecialToken");
            if (json_object_get(piece, "Sequence")) {
                if (seen_seq)
                    return rt_error(EMB_ERR_UNSUPPORTED, "%s: single template with two sequences", file);
                seen_seq = 1;
                continue;
            }
            const char *name = json_string_value(json_object_get(sp, "id"));
            if (!name)
                return rt_error(EMB_ERR_FORMAT, "%s: template piece is neither Sequence nor SpecialToken", file);
            json_t *ids = json_object_get(json_object_get(specials, name), "ids");
            if (!json_is_array(ids))
                return rt_error(EMB_ERR_FORMAT, "%s: template special token \"%s\" has no ids", file, name);
            for (size_t k = 0; k < json_array_size(ids); k++) {
                json_t *id = json_array_get(ids, k);
                if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX)
                    return rt_error(EMB_ERR_FORMAT, "%s: special token \"%s\" has a bad id", file, name);
                if (seen_seq ? ht_push_id(&spec->suffix_ids, &spec->n_suffix, json_integer_value(id))
                             : ht_push_id(&spec->prefix_ids, &spec->n_prefix, json_integer_value(id)))
                    return EMB_ERR_FORMAT;
            }
        }
        if (!seen_seq)
            return rt_error(EMB_ERR_FORMAT, "%s: single template without $A", file);
        return EMB_OK;
    }
    return rt_error(EMB_ERR_UNSUPPORTED, "%s: post_processor type \"%s\" is not supported", file, type);
}

/* ---------------------------------------------------------------- models */

static emb_status ht_vocab_dict(const char *file, json_t *vocab, tok_spec *spec)
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

static emb_status ht_bpe_merges(const char *file, json_t *merges, const ht_map *m, tok_spec *spec)
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
        json_t *mg = json_array_get(merges, i);
        const char *a, *b;
        size_t al, bl;
        if (json_is_string(mg)) {
            const char *s = json_string_value(mg);
            size_t sl = json_string_length(mg);
            const char *sp = memchr(s, ' ', sl);
            if (!sp || memchr(sp + 1, ' ', sl - (size_t)(sp + 1 - s))) {
                rc = rt_error(EMB_ERR_FORMAT, "%s: merge %zu is not \"a b\"", file, i);
                goto fail;
            }
            a = s;
            al = (size_t)(sp - s);
            b = sp + 1;
            bl = sl - al - 1;
        } else if (json_is_array(mg) && json_array_size(mg) == 2 && json_is_string(json_array_get(mg, 0)) &&
                   json_is_string(json_array_get(mg, 1))) {
            a = json_string_value(json_array_get(mg, 0));
            al = json_string_length(json_array_get(mg, 0));
            b = json_string_value(json_array_get(mg, 1));
            bl = json_string_length(json_array_get(mg, 1));
        } else {
            rc = rt_error(EMB_ERR_FORMAT, "%s: merge %zu is neither \"a b\" nor [a, b]", file, i);
            goto fail;
        }
        if (al > HT_MAX_TOKEN || bl > HT_MAX_TOKEN) {
            rc = rt_error(EMB_ERR_FORMAT, "%s: merge %zu has a token over 64 KiB", file, i);
            goto fail;
        }
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

static emb_status ht_model(const char *file, json_t *model, tok_spec *spec)
{
    ht_map m = {0};
    emb_status rc;
    if (!json_is_object(model))
        return rt_error(EMB_ERR_FORMAT, "%s: \"model\" missing", file);
    const char *type = json_string_value(json_object_get(model, "type"));
    json_t *vocab = json_object_get(model, "vocab");
    if (!type) { /* untagged, as serde reads it */
        if (json_is_array(vocab))
            type = "Unigram";
        else if (json_object_get(model, "merges"))
            type = "BPE";
        else if (json_object_get(model, "max_input_chars_per_word"))
            type = "WordPiece";
        else if (json_is_object(vocab) && json_object_get(model, "unk_token") && json_object_size(model) == 2)
            type = "WordLevel";
        else
            return rt_error(EMB_ERR_FORMAT, "%s: cannot tell the model type", file);
    }
    spec->unk_id = -1;
    if (!strcmp(type, "WordPiece")) {
        spec->model = TOK_MODEL_WORDPIECE;
        if (!json_is_object(vocab))
            return rt_error(EMB_ERR_FORMAT, "%s: WordPiece vocab must be an object", file);
        rc = ht_vocab_dict(file, vocab, spec);
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
        if (ht_map_build(&m, spec))
            return EMB_ERR_NO_MEMORY;
        rc = ht_model_unk(file, model, &m, spec);
    } else if (!strcmp(type, "BPE")) {
        spec->model = TOK_MODEL_BPE;
        if (!json_is_object(vocab))
            return rt_error(EMB_ERR_FORMAT, "%s: BPE vocab must be an object", file);
        json_t *dropout = json_object_get(model, "dropout");
        if (json_is_number(dropout) && json_number_value(dropout) > 0.0 && json_number_value(dropout) < 1.0)
            return rt_error(EMB_ERR_UNSUPPORTED, "%s: BPE dropout is not supported", file);
        rc = ht_vocab_dict(file, vocab, spec);
        if (rc != EMB_OK)
            return rc;
        if (ht_opt_str(model, "continuing_subword_prefix", &spec->subword_prefix) ||
            ht_opt_str(model, "end_of_word_suffix", &spec->word_suffix))
            return rt_error(EMB_ERR_FORMAT, "%s: BPE prefix/suffix invalid", file);
        spec->fuse_unk = ht_bool(model, "fuse_unk", 0);
        spec->byte_fallback = ht_bool(model, "byte_fallback", 0);
        spec->ignore_merges = ht_bool(model, "ignore_merges", 0);
        if (ht_map_build(&m, spec))
            return EMB_ERR_NO_MEMORY;
        rc = ht_model_unk(file, model, &m, spec);
        if (rc == EMB_OK)
            rc = ht_bpe_merges(file, json_object_get(model, "merges"), &m, spec);
    } else if (!strcmp(type, "Unigram")) {
        spec->model = TOK_MODEL_UNIGRAM;
        if (!json_is_array(vocab))
            return rt_error(EMB_ERR_FORMAT, "%s: Unigram vocab must be a list", file);
        rc = ht_unigram_vocab(file, vocab, spec);
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
    } else {
        return rt_error(EMB_ERR_UNSUPPORTED, "%s: model type \"%s\" is not supported", file, type);
    }
    free(m.slot);
    return rc;
}

/* --------------------------------------------------------- added tokens */

static emb_status ht_add_token(tok_spec *spec, const char *s, size_t len, int64_t id, int special,
                               int lstrip, int rstrip, int single_word, int normalized)
{
    if (spec->n_added >= HT_MAX_VOCAB)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: too many added tokens");
    if (len > HT_MAX_TOKEN || id < 0 || id >= (int64_t)HT_MAX_VOCAB)
        return rt_error(EMB_ERR_FORMAT, "tokenizer: added token with bad id or size");
    tok_added *v = rt_realloc(spec->added, spec->n_added + 1, sizeof *v);
    if (!v)
        return EMB_ERR_NO_MEMORY;
    spec->added = v;
    tok_added *a = &v[spec->n_added];
    memset(a, 0, sizeof *a);
    a->content = ht_strdup_n(s, len);
    if (!a->content)
        return EMB_ERR_NO_MEMORY;
    a->len = len;
    a->id = (int32_t)id;
    a->special = (uint8_t)special;
    a->lstrip = (uint8_t)lstrip;
    a->rstrip = (uint8_t)rstrip;
    a->single_word = (uint8_t)single_word;
    a->normalized = (uint8_t)normalized;
    spec->n_added++;
    return EMB_OK;
}

static emb_status ht_added(const char *file, json_t *arr, tok_spec *spec)
{
    if (!arr || json_is_null(arr))
        return EMB_OK;
    if (!json_is_array(arr))
        return rt_error(EMB_ERR_FORMAT, "%s: added_tokens must be a list", file);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        json_t *id = json_object_get(o, "id"), *c = json_object_get(o, "content");
        if (!json_is_integer(id) || !json_is_string(c))
            return rt_error(EMB_ERR_FORMAT, "%s: added token %zu needs an integer id and a content", file, i);
        int special = ht_bool(o, "special", 0);
        emb_status rc = ht_add_token(spec, json_string_value(c), json_string_length(c), json_integer_value(id),
                                     special, ht_bool(o, "lstrip", 0), ht_bool(o, "rstrip", 0),
                                     ht_bool(o, "single_word", 0), ht_bool(o, "normalized", !special));
        if (rc != EMB_OK)
            return rt_error(rc, "%s: added token %zu: %s", file, i, rt_last_error());
    }
    return EMB_OK;
}

static emb_status ht_finish_steps(ht_steps *norm, ht_steps *pre, tok_spec *spec)
{
    spec->normalizers = norm->v;
    spec->n_normalizers = norm->n;
    spec->pretokenizers = pre->v;
    spec->n_pretokenizers = pre->n;
    norm->v = pre->v = NULL;
    norm->n = pre->n = 0;
    return EMB_OK;
}

static void ht_steps_free(ht_steps *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (int k = 0; k < 3; k++)
            free(s->v[i].s[k]);
        free(s->v[i].blob);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static char *ht_path(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = rt_alloc(n, 1);
    if (p)
        snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static emb_status ht_load(const char *path, json_t **out)
{
    json_error_t je;
    *out = json_load_file(path, JSON_ALLOW_NUL, &je);
    if (!*out)
        return rt_error(EMB_ERR_FORMAT, "%s: invalid JSON at line %d: %s", path, je.line, je.text);
    return EMB_OK;
}

static emb_status ht_read_tokenizer_json(const char *path, tok_spec *spec)
{
    json_t *root = NULL;
    ht_steps norm = {0}, pre = {0};
    emb_status rc = ht_load(path, &root);
    if (rc != EMB_OK)
        return rc;
    if (!json_is_object(root)) {
        rc = rt_error(EMB_ERR_FORMAT, "%s: top level is not an object", path);
        goto fail;
    }
    rc = ht_model(path, json_object_get(root, "model"), spec);
    if (rc != EMB_OK)
        goto fail;
    rc = ht_normalizer(path, json_object_get(root, "normalizer"), &norm, 0);
    if (rc != EMB_OK)
        goto fail;
    rc = ht_pretokenizer(path, json_object_get(root, "pre_tokenizer"), &pre, 0);
    if (rc != EMB_OK)
        goto fail;
    rc = ht_post(path, json_object_get(root, "post_processor"), spec, 0);
    if (rc != EMB_OK)
        goto fail;
    rc = ht_added(path, json_object_get(root, "added_tokens"), spec);
    if (rc != EMB_OK)
        goto fail;
    ht_finish_steps(&norm, &pre, spec);
fail:
    ht_steps_free(&norm);
    ht_steps_free(&pre);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------- vocab.txt (BERT) path */

/* a special token value: "str" or {"content": "str", ...} */
static const char *ht_special_str(json_t *v, size_t *len, json_t **obj)
{
    *obj = NULL;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    json_t *c = json_object_get(v, "content");
    if (json_is_object(v) && json_is_string(c)) {
        *obj = v;
        *len = json_string_length(c);
        return json_string_value(c);
    }
    return NULL;
}

static emb_status ht_read_vocab_txt(const char *dir, tok_spec *spec)
{
    char *path = ht_path(dir, "vocab.txt");
    char *cfg_path = ht_path(dir, "tokenizer_config.json");
    char *map_path = ht_path(dir, "special_tokens_map.json");
    json_t *cfg = NULL, *smap = NULL;
    ht_entry *e = NULL;
    char *data = NULL;
    ht_map m = {0};
    ht_steps norm = {0}, pre = {0};
    emb_status rc = EMB_ERR_NO_MEMORY;
    FILE *f = NULL;
    if (!path || !cfg_path || !map_path)
        goto fail;
    f = fopen(path, "rb");
    if (!f) {
        /* a bare SentencePiece model is refused with the way out: the runtime
         * tokenizer reads the HF pipeline, which only tokenizer.json states */
        static const char *const spm[] = { "spiece.model", "tokenizer.model",
                                           "sentencepiece.bpe.model" };
        for (size_t i = 0; i < sizeof spm / sizeof *spm; i++) {
            char *p = ht_path(dir, spm[i]);
            int found = p && access(p, F_OK) == 0;
            free(p);
            if (found) {
                rc = rt_error(EMB_ERR_UNSUPPORTED,
                              "%s: only a SentencePiece model (%s) and no tokenizer.json: libemb "
                              "reads the tokenizer.json that transformers writes; run "
                              "AutoTokenizer.from_pretrained(dir).save_pretrained(dir) once, then "
                              "convert again", dir, spm[i]);
                goto fail;
            }
        }
        rc = rt_error(EMB_ERR_IO, "%s: no tokenizer.json, vocab.txt or vocab.json + merges.txt in this folder", dir);
        goto fail;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        rc = rt_error(EMB_ERR_IO, "%s: cannot read", path);
        goto fail;
    }
    long sz = ftell(f);
    if (sz < 0 || sz > (long)(256u << 20)) {
        rc = rt_error(EMB_ERR_FORMAT, "%s: size %ld is absurd for a vocabulary", path, sz);
        goto fail;
    }
    rewind(f);
    data = rt_alloc((size_t)sz + 1, 1);
    if (!data)
        goto fail;
    if (fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        rc = rt_error(EMB_ERR_IO, "%s: short read", path);
        goto fail;
    }
    data[sz] = 0;
    /* one token per line (HF load_vocab: line.rstrip("\n")); ids are line numbers */
    size_t lines = 0;
    for (long i = 0; i < sz; i++)
        lines += data[i] == '\n';
    lines += sz > 0 && data[sz - 1] != '\n';
    if (lines > HT_MAX_VOCAB) {
        rc = rt_error(EMB_ERR_FORMAT, "%s: %zu lines (limit 4M)", path, lines);
        goto fail;
    }
    e = rt_alloc(lines ? lines : 1, sizeof *e);
    if (!e)
        goto fail;
    size_t k = 0;
    for (size_t i = 0; i < (size_t)sz;) {
        char *nl = memchr(data + i, '\n', (size_t)sz - i);
        size_t end = nl ? (size_t)(nl - data) : (size_t)sz;
        e[k].s = data + i;
        e[k].len = end - i;
        e[k].id = (int64_t)k;
        e[k].score = 0;
        k++;
        i = end + 1;
    }
    /* later duplicates win in a Python dict; drop the earlier ones' ids? no:
     * vocab ids stay line numbers, lookups map a string to its last line */
    rc = ht_vocab_from_entries(path, e, k, 0, spec);
    if (rc != EMB_OK)
        goto fail;
    spec->model = TOK_MODEL_WORDPIECE;
    spec->max_input_chars_per_word = 100;
    spec->subword_prefix = ht_strdup_n("##", 2);
    if (!spec->subword_prefix) {
        rc = EMB_ERR_NO_MEMORY;
        goto fail;
    }

    FILE *probe = fopen(cfg_path, "rb");
    if (probe) {
        fclose(probe);
        rc = ht_load(cfg_path, &cfg);
        if (rc != EMB_OK)
            goto fail;
    }
    probe = fopen(map_path, "rb");
    if (probe) {
        fclose(probe);
        rc = ht_load(map_path, &smap);
        if (rc != EMB_OK)
            goto fail;
    }
    /* BertConverter: BertNormalizer(clean_text, tokenize_chinese_chars,
     * strip_accents, do_lower_case) only when do_basic_tokenize */
    int basic = ht_bool(cfg, "do_basic_tokenize", 1);
    tok_step *st = ht_steps_new(&norm, path, "BertNormalizer");
    if (!st || !ht_steps_new(&pre, path, "BertPreTokenizer")) {
        rc = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    st = &norm.v[0];
    st->i[0] = 1;
    st->i[1] = basic ? ht_bool(cfg, "tokenize_chinese_chars", 1) : 0;
    json_t *sa = json_object_get(cfg, "strip_accents");
    st->i[2] = basic ? (json_is_boolean(sa) ? json_is_true(sa) : -1) : 0;
    st->i[3] = basic ? ht_bool(cfg, "do_lower_case", 1) : 0;

    /* special tokens: defaults, tokenizer_config.json, special_tokens_map.json */
    static const char *keys[] = {"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
    static const char *defs[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    int32_t ids[5];
    if (ht_map_build(&m, spec)) {
        rc = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    uint32_t next_id = spec->n_vocab;
    for (int i = 0; i < 5; i++) {
        const char *s = defs[i];
        size_t len = strlen(s);
        json_t *obj = NULL, *v;
        if ((v = json_object_get(smap, keys[i])) || (v = json_object_get(cfg, keys[i]))) {
            size_t l2;
            const char *s2 = ht_special_str(v, &l2, &obj);
            if (s2) {
                s = s2;
                len = l2;
            }
        }
        int32_t id = ht_map_get(&m, s, len);
        if (id < 0)
            id = (int32_t)next_id++; /* transformers appends missing specials */
        ids[i] = id;
        rc = ht_add_token(spec, s, len, id, 1, ht_bool(obj, "lstrip", 0), ht_bool(obj, "rstrip", 0),
                          ht_bool(obj, "single_word", 0), ht_bool(obj, "normalized", 0));
        if (rc != EMB_OK)
            goto fail;
    }
    json_t *extra = json_object_get(smap ? smap : cfg, "additional_special_tokens");
    for (size_t i = 0; i < json_array_size(extra); i++) {
        json_t *obj;
        size_t len;
        const char *s = ht_special_str(json_array_get(extra, i), &len, &obj);
        if (!s)
            continue;
        int32_t id = ht_map_get(&m, s, len);
        if (id < 0)
            id = (int32_t)next_id++;
        rc = ht_add_token(spec, s, len, id, 1, ht_bool(obj, "lstrip", 0), ht_bool(obj, "rstrip", 0),
                          ht_bool(obj, "single_word", 0), ht_bool(obj, "normalized", 0));
        if (rc != EMB_OK)
            goto fail;
    }
    /* newer tokenizer_config.json files list every added token with its flags */
    json_t *atd = json_object_get(cfg, "added_tokens_decoder");
    const char *akey;
    json_t *aval;
    json_object_foreach(atd, akey, aval) {
        char *endp = NULL;
        long long aid = strtoll(akey, &endp, 10);
        json_t *c = json_object_get(aval, "content");
        if (!endp || *endp || aid < 0 || !json_is_string(c)) {
            rc = rt_error(EMB_ERR_FORMAT, "%s: added_tokens_decoder entry \"%.40s\" is malformed", cfg_path, akey);
            goto fail;
        }
        int dup = 0;
        for (size_t q = 0; q < spec->n_added; q++)
            dup |= spec->added[q].id == aid;
        if (dup)
            continue;
        int special = ht_bool(aval, "special", 0);
        rc = ht_add_token(spec, json_string_value(c), json_string_length(c), aid, special,
                          ht_bool(aval, "lstrip", 0), ht_bool(aval, "rstrip", 0),
                          ht_bool(aval, "single_word", 0), ht_bool(aval, "normalized", !special));
        if (rc != EMB_OK)
            goto fail;
    }
    spec->unk_id = ids[0] < (int32_t)spec->n_vocab ? ids[0] : -1;
    if (spec->unk_id < 0) {
        rc = rt_error(EMB_ERR_FORMAT, "%s: unk token is not in vocab.txt", path);
        goto fail;
    }
    rc = EMB_ERR_NO_MEMORY;
    if (ht_push_id(&spec->prefix_ids, &spec->n_prefix, ids[3]) ||
        ht_push_id(&spec->suffix_ids, &spec->n_suffix, ids[1]))
        goto fail;
    ht_finish_steps(&norm, &pre, spec);
    rc = EMB_OK;
fail:
    if (f)
        fclose(f);
    free(path);
    free(cfg_path);
    free(map_path);
    free(data);
    free(e);
    free(m.slot);
    ht_steps_free(&norm);
    ht_steps_free(&pre);
    json_decref(cfg);
    json_decref(smap);
    return rc;
}

/* ----------------------------------------- vocab.json + merges.txt (GPT-2) */

/* Read a whole small file; NULL with the error recorded. */
static char *ht_slurp(const char *path, size_t limit, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    if (!f) {
        rt_error(EMB_ERR_IO, "%s: cannot open", path);
        return NULL;
    }
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        sz = ftell(f);
    if (sz < 0 || (size_t)sz > limit) {
        rt_error(EMB_ERR_FORMAT, "%s: size %ld is absurd", path, sz);
        goto done;
    }
    rewind(f);
    data = rt_alloc((size_t)sz + 1, 1);
    if (data && fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        rt_error(EMB_ERR_IO, "%s: short read", path);
        free(data);
        data = NULL;
    }
    if (data) {
        data[sz] = 0;
        *len = (size_t)sz;
    }
done:
    fclose(f);
    return data;
}

/* As transformers' GPT2Converter: BPE(vocab, merges, no unk) + ByteLevel
 * pre-tokenizer (add_prefix_space from tokenizer_config.json, default false),
 * ByteLevel post-processor (nothing added) or <bos> first with add_bos_token;
 * merges.txt is read as GPT2Tokenizer does: split on "\n", drop the first
 * line (#version) and the last. */
static emb_status ht_read_vocab_merges(const char *dir, tok_spec *spec)
{
    char *vpath = ht_path(dir, "vocab.json"), *mpath = ht_path(dir, "merges.txt");
    char *cpath = ht_path(dir, "tokenizer_config.json");
    json_t *vocab = NULL, *cfg = NULL, *merges = NULL;
    char *text = NULL;
    ht_map m = {0};
    ht_steps norm = {0}, pre = {0};
    emb_status rc = EMB_ERR_NO_MEMORY;
    if (!vpath || !mpath || !cpath)
        goto fail;
    rc = ht_load(vpath, &vocab);
    if (rc != EMB_OK)
        goto fail;
    if (!json_is_object(vocab)) {
        rc = rt_error(EMB_ERR_FORMAT, "%s: not an object", vpath);
        goto fail;
    }
    FILE *probe = fopen(cpath, "rb");
    if (probe) {
        fclose(probe);
        rc = ht_load(cpath, &cfg);
        if (rc != EMB_OK)
            goto fail;
    }
    spec->model = TOK_MODEL_BPE;
    rc = ht_vocab_dict(vpath, vocab, spec);
    if (rc != EMB_OK)
        goto fail;
    size_t len = 0;
    text = ht_slurp(mpath, 512u << 20, &len);
    if (!text) {
        rc = EMB_ERR_FORMAT;
        goto fail;
    }
    rc = EMB_ERR_NO_MEMORY;
    merges = json_array();
    if (!merges)
        goto fail;
    char *first_nl = memchr(text, '\n', len);
    size_t pos = first_nl ? (size_t)(first_nl - text) + 1 : len;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            break; /* the last piece after the final "\n" is dropped */
        if (json_array_append_new(merges, json_stringn(text + pos, (size_t)(nl - text) - pos)))
            goto fail;
        if (json_array_size(merges) > HT_MAX_MERGES) {
            rc = rt_error(EMB_ERR_FORMAT, "%s: more than 4M merges", mpath);
            goto fail;
        }
        pos = (size_t)(nl - text) + 1;
    }
    if (ht_map_build(&m, spec))
        goto fail;
    rc = ht_bpe_merges(mpath, merges, &m, spec);
    if (rc != EMB_OK)
        goto fail;
    rc = EMB_ERR_NO_MEMORY;
    tok_step *st = ht_steps_new(&pre, vpath, "ByteLevel");
    if (!st)
        goto fail;
    st->i[0] = ht_bool(cfg, "add_prefix_space", 0);
    st->i[1] = 1;
    /* special tokens: bos/eos/unk default to <|endoftext|> */
    static const char *keys[] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    int32_t bos = -1;
    for (int i = 0; i < 4; i++) {
        json_t *obj = NULL, *v = json_object_get(cfg, keys[i]);
        size_t sl = 13;
        const char *sv = "<|endoftext|>";
        if (v) {
            sv = ht_special_str(v, &sl, &obj);
            if (!sv)
                continue;
        } else if (i == 3) {
            continue;
        }
        int32_t id = ht_map_get(&m, sv, sl);
        if (id < 0)
            continue;
        if (i == 0)
            bos = id;
        int dup = 0;
        for (size_t k = 0; k < spec->n_added; k++)
            dup |= spec->added[k].id == id;
        if (!dup) {
            rc = ht_add_token(spec, sv, sl, id, 1, ht_bool(obj, "lstrip", 0), ht_bool(obj, "rstrip", 0),
                              ht_bool(obj, "single_word", 0), ht_bool(obj, "normalized", 1));
            if (rc != EMB_OK)
                goto fail;
            rc = EMB_ERR_NO_MEMORY;
        }
    }
    if (ht_bool(cfg, "add_bos_token", 0) && bos >= 0 && ht_push_id(&spec->prefix_ids, &spec->n_prefix, bos))
        goto fail;
    ht_finish_steps(&norm, &pre, spec);
    rc = EMB_OK;
fail:
    free(vpath);
    free(mpath);
    free(cpath);
    free(text);
    free(m.slot);
    ht_steps_free(&norm);
    ht_steps_free(&pre);
    json_decref(vocab);
    json_decref(cfg);
    json_decref(merges);
    return rc;
}

emb_status cv_read_tokenizer(const char *dir, tok_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->unk_id = -1;
    char *path = ht_path(dir, "tokenizer.json");
    if (!path)
        return EMB_ERR_NO_MEMORY;
    FILE *f = fopen(path, "rb");
    emb_status rc;
    if (f) {
        fclose(f);
        rc = ht_read_tokenizer_json(path, spec);
    } else {
        char *vj = ht_path(dir, "vocab.json");
        FILE *g = vj ? fopen(vj, "rb") : NULL;
        free(vj);
        if (g) {
            fclose(g);
            rc = ht_read_vocab_merges(dir, spec);
        } else {
            rc = ht_read_vocab_txt(dir, spec);
        }
    }
    free(path);
    if (rc != EMB_OK)
        tok_spec_free(spec);
    return rc;
}
