/* Special-token lookups the converter's overrides need (the EOS id for
 * --append-eos). */
#include <jansson.h>
#include <string.h>

#include "convert/convert.h"
#include "runtime/runtime.h"

/* "eos_token": "</s>" or {"content": "</s>", ...} */
static const char *token_content(json_t *root, const char *key)
{
    json_t *v = root ? json_object_get(root, key) : NULL;
    if (json_is_object(v))
        v = json_object_get(v, "content");
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int32_t token_id(const tok_spec *spec, const char *content)
{
    size_t len = strlen(content);
    for (size_t i = 0; i < spec->n_added; i++)
        if (spec->added[i].len == len && memcmp(spec->added[i].content, content, len) == 0)
            return spec->added[i].id;
    for (uint32_t i = 0; i < spec->n_vocab; i++) {
        uint64_t b = spec->vocab_off[i], e = spec->vocab_off[i + 1];
        if (e - b == len && memcmp(spec->vocab_bytes + b, content, len) == 0)
            return (int32_t)i;
    }
    return -1;
}

emb_status cv_read_eos_id(const char *dir, const tok_spec *spec, int32_t *id)
{
    *id = -1;
    static const char *const files[] = { "tokenizer_config.json", "special_tokens_map.json" };
    for (size_t f = 0; f < 2 && *id < 0; f++) {
        void *root = NULL;
        emb_status st = cv_json_load_ex(dir, files[f], 1, JSON_DECODE_INT_AS_REAL, &root);
        if (st != EMB_OK)
            return st;
        const char *content = token_content(root, "eos_token");
        if (content)
            *id = token_id(spec, content);
        json_decref(root);
    }
    return EMB_OK;
}
