/* Reading a Hugging Face tokenizer into a tok_spec: tokenizer.json (the
 * `tokenizers` serialization: normalizer, pre_tokenizer, model,
 * post_processor, added_tokens), or — for folders without one — vocab.txt
 * (BERT) or vocab.json + merges.txt (GPT-2, RoBERTa), converted as transformers'
 * converters do (hf_tokenizer_legacy.c). Files are hostile: every size is
 * bounded, every field type-checked. This file: the entry point, the
 * tokenizer.json top level and added tokens; see hf_tokenizer.h for the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "convert/convert.h"
#include "convert/hf_tokenizer.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------------ json helpers */

int ht_bool(json_t *o, const char *key, int def)
{
    json_t *v = json_object_get(o, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    return def;
}

char *ht_strdup_n(const char *s, size_t n)
{
    char *p = rt_alloc(n + 1, 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* --------------------------------------------------------- added tokens */

emb_status ht_add_token(tok_spec *spec, const char *s, size_t len, int64_t id, int special,
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

char *ht_path(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = rt_alloc(n, 1);
    if (p)
        snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

int ht_readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* dir/tokenizer.json (its path: `path`, for messages) into spec. */
static emb_status ht_read_tokenizer_json(const char *dir, const char *path, tok_spec *spec)
{
    json_t *root = NULL;
    ht_steps norm = {0}, pre = {0};
    emb_status rc = cv_json_load_ex(dir, "tokenizer.json", 0, JSON_ALLOW_NUL, (void **)&root);
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

emb_status cv_read_tokenizer(const char *dir, tok_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->unk_id = -1;
    char *path = ht_path(dir, "tokenizer.json");
    if (!path)
        return EMB_ERR_NO_MEMORY;
    emb_status rc;
    if (ht_readable(path)) {
        rc = ht_read_tokenizer_json(dir, path, spec);
    } else {
        char *vj = ht_path(dir, "vocab.json");
        int gpt2 = vj && ht_readable(vj);
        free(vj);
        if (gpt2) {
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
