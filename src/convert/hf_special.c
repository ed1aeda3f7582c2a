/* Special tokens decided outside tokenizer.json: the EOS id for
 * --append-eos, and the BOS/EOS template that transformers' Llama-class fast
 * tokenizers rebuild from tokenizer_config.json. */
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
        RT_TRY(cv_json_load(dir, files[f], 1, &root));
        const char *content = token_content(root, "eos_token");
        if (content)
            *id = token_id(spec, content);
        json_decref(root);
    }
    return EMB_OK;
}

/* transformers' LlamaTokenizerFast (also CodeLlama, Gemma) replaces the
 * tokenizer.json post-processor in __init__ (update_post_processor):
 * single = [bos if add_bos_token] $A [eos if add_eos_token], with the
 * defaults add_bos_token = true, add_eos_token = false. AutoTokenizer picks
 * that class from tokenizer_config.json "tokenizer_class". */
static int is_llama_class(const char *cls)
{
    static const char *const names[] = { "LlamaTokenizer", "LlamaTokenizerFast",
                                         "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
                                         "GemmaTokenizer", "GemmaTokenizerFast" };
    for (size_t i = 0; cls && i < sizeof names / sizeof *names; i++)
        if (!strcmp(cls, names[i]))
            return 1;
    return 0;
}

static emb_status set_ids(int32_t **ids, size_t *n, int32_t id, int on)
{
    free(*ids);
    *ids = NULL;
    *n = 0;
    if (!on)
        return EMB_OK;
    *ids = rt_alloc(1, sizeof **ids);
    if (!*ids)
        return EMB_ERR_NO_MEMORY;
    (*ids)[0] = id;
    *n = 1;
    return EMB_OK;
}

emb_status cv_apply_tokenizer_class(const char *dir, tok_spec *spec)
{
    void *p = NULL;
    RT_TRY(cv_json_load(dir, "tokenizer_config.json", 1, &p));
    json_t *cfg = p;
    if (!cfg)
        return EMB_OK;
    json_t *cls = json_object_get(cfg, "tokenizer_class");
    if (!is_llama_class(json_is_string(cls) ? json_string_value(cls) : NULL)) {
        json_decref(cfg);
        return EMB_OK;
    }
    json_t *jb = json_object_get(cfg, "add_bos_token"), *je = json_object_get(cfg, "add_eos_token");
    int add_bos = jb ? json_is_true(jb) : 1, add_eos = je ? json_is_true(je) : 0;
    const char *bos = token_content(cfg, "bos_token"), *eos = token_content(cfg, "eos_token");
    int32_t bos_id = bos ? token_id(spec, bos) : -1, eos_id = eos ? token_id(spec, eos) : -1;
    emb_status st;
    const char *which = add_bos && bos_id < 0 ? "bos" : "eos";
    RT_FAIL_GOTO(st, (add_bos && bos_id < 0) || (add_eos && eos_id < 0), done, EMB_ERR_FORMAT,
                 "%s/tokenizer_config.json: add_%s_token is set but the %s token is not in the "
                 "vocabulary",
                 dir, which, which);
    RT_TRY_GOTO(st, set_ids(&spec->prefix_ids, &spec->n_prefix, bos_id, add_bos), done);
    st = set_ids(&spec->suffix_ids, &spec->n_suffix, eos_id, add_eos);
done:
    json_decref(cfg);
    return st;
}
