/* The tokenizer.json pipeline steps around the model: normalizer and
 * pre_tokenizer (each a list of tok_step, Sequences flattened) and the
 * post_processor (the special ids added before and after the text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "convert/hf_tokenizer.h"
#include "runtime/runtime.h"

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

tok_step *ht_steps_new(ht_steps *s, const char *file, const char *type)
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

emb_status ht_normalizer(const char *file, json_t *o, ht_steps *out, int depth)
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

/* A Metaspace pre-tokenizer's settings into st: the replacement (one
 * character, default U+2581) in s[0]; i[0] the prepend scheme (0 always,
 * 1 first, 2 never; the legacy add_prefix_space when there is none); i[1]
 * split. */
static emb_status ht_metaspace(const char *file, json_t *o, tok_step *st)
{
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
    return EMB_OK;
}

emb_status ht_pretokenizer(const char *file, json_t *o, ht_steps *out, int depth)
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
        emb_status rc = ht_metaspace(file, o, st);
        if (rc != EMB_OK)
            return rc;
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

int ht_push_id(int32_t **v, size_t *n, int64_t id)
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

emb_status ht_post(const char *file, json_t *o, tok_spec *spec, int depth)
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

emb_status ht_finish_steps(ht_steps *norm, ht_steps *pre, tok_spec *spec)
{
    spec->normalizers = norm->v;
    spec->n_normalizers = norm->n;
    spec->pretokenizers = pre->v;
    spec->n_pretokenizers = pre->n;
    norm->v = pre->v = NULL;
    norm->n = pre->n = 0;
    return EMB_OK;
}

void ht_steps_free(ht_steps *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (int k = 0; k < 3; k++)
            free(s->v[i].s[k]);
        free(s->v[i].blob);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}
