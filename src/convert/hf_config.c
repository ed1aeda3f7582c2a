/* cv_read_config: an HF folder's config.json and sentence-transformers files
 * into mdl_config + fmt_policy.
 *
 * Missing config.json keys take the default of the transformers config class
 * of that model_type (BertConfig, XLMRobertaConfig, RobertaConfig,
 * CamembertConfig, MPNetConfig, DistilBertConfig, NomicBertConfig, Alibaba's
 * NewConfig / GteConfig, ModernBertConfig, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config
 * as of transformers 4.51), under the key names that class uses (mdl_arch
 * keys: DistilBertConfig's dim, n_layers, ...; nomic's GPT-2 spelling,
 * cfg_key), so a folder means here what it means to transformers. Values are
 * range-checked:
 * an absurd size is refused with EMB_ERR_FORMAT naming the field, a feature
 * we do not implement (longrope, attention biases on llama, extra
 * sentence-transformers modules, ...) with EMB_ERR_UNSUPPORTED. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "convert/convert.h"
#include "runtime/runtime.h"

/* tokenizer_config.json model_max_length at or above this is the "no limit"
 * sentinel (int(1e30) in transformers, or other huge values). */
#define CFG_MAX_LENGTH_SENTINEL ((double)((int64_t)1 << 40))


/* A file path for messages: "<dir>/<rel>". */
typedef struct cfg_file {
    char path[1024];
} cfg_file;

static void cfg_file_set(cfg_file *f, const char *dir, const char *rel)
{
    /* a message path may be cut short; files are opened by cv_json_load */
    if (snprintf(f->path, sizeof f->path, "%s/%s", dir, rel) < 0)
        f->path[0] = '\0';
}

/* dir/rel loaded as JSON (*root; NULL when optional and absent), and f set
 * to name it in messages. */
static emb_status cfg_load(cfg_file *f, const char *dir, const char *rel, int optional,
                           json_t **root)
{
    cfg_file_set(f, dir, rel);
    return cv_json_load(dir, rel, optional, (void **)root);
}

typedef enum cfg_have { CFG_ABSENT, CFG_NULL, CFG_SET } cfg_have;

/* An integer field: absent / null / set. A float, string, bool... is refused. */
static emb_status cfg_int(const cfg_file *f, json_t *obj, const char *key, int64_t *out,
                          cfg_have *have)
{
    json_t *v = json_object_get(obj, key);
    *have = CFG_ABSENT;
    if (!v)
        return EMB_OK;
    if (json_is_null(v)) {
        *have = CFG_NULL;
        return EMB_OK;
    }
    RT_FAIL_IF(!json_is_integer(v), EMB_ERR_FORMAT, "%s: \"%s\" must be an integer", f->path, key);
    *out = (int64_t)json_integer_value(v);
    *have = CFG_SET;
    return EMB_OK;
}

/* An integer field that must be set or absent (null refused), in [lo, hi]. */
static emb_status cfg_size(const cfg_file *f, json_t *obj, const char *key, int64_t def,
                           int64_t lo, int64_t hi, int64_t *out)
{
    cfg_have have;
    int64_t v = def;
    RT_TRY(cfg_int(f, obj, key, &v, &have));
    RT_FAIL_IF(have == CFG_NULL, EMB_ERR_FORMAT, "%s: \"%s\" is null, expected an integer", f->path,
               key);
    RT_FAIL_IF(v < lo || v > hi, EMB_ERR_FORMAT, "%s: \"%s\" = %lld is out of range (%lld .. %lld)",
               f->path, key, (long long)v, (long long)lo, (long long)hi);
    *out = v;
    return EMB_OK;
}

/* A positive finite number (integer or real) field, absent -> def. */
static emb_status cfg_positive(const cfg_file *f, json_t *obj, const char *key, double def,
                               double hi, double *out)
{
    json_t *v = json_object_get(obj, key);
    double d = def;
    if (v) {
        RT_FAIL_IF(!json_is_number(v), EMB_ERR_FORMAT, "%s: \"%s\" must be a number", f->path, key);
        d = json_number_value(v);
    }
    RT_FAIL_IF(!(d > 0.0) || !(d <= hi) || !isfinite(d), EMB_ERR_FORMAT,
               "%s: \"%s\" = %g is out of range (> 0 .. %g)", f->path, key, d, hi);
    *out = d;
    return EMB_OK;
}

/* A boolean field; absent -> def; null -> 0 (Python None is falsy). */
static emb_status cfg_bool(const cfg_file *f, json_t *obj, const char *key, int def, int *out)
{
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v)
        return EMB_OK;
    if (json_is_null(v)) {
        *out = 0;
        return EMB_OK;
    }
    RT_FAIL_IF(!json_is_boolean(v), EMB_ERR_FORMAT, "%s: \"%s\" must be true or false", f->path,
               key);
    *out = json_is_true(v);
    return EMB_OK;
}

/* A string field; absent or null -> NULL (borrowed from obj). */
static emb_status cfg_str(const cfg_file *f, json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return EMB_OK;
    RT_FAIL_IF(!json_is_string(v), EMB_ERR_FORMAT, "%s: \"%s\" must be a string", f->path, key);
    *out = json_string_value(v);
    return EMB_OK;
}

/* A number field of the rope parameters: absent -> CFG_ABSENT, null ->
 * CFG_NULL, else finite and > 0 (name: how the message calls the object). */
static emb_status cfg_rope_number(const cfg_file *f, json_t *rs, const char *name,
                                  const char *key, double *out, cfg_have *have)
{
    json_t *v = json_object_get(rs, key);
    *have = !v ? CFG_ABSENT : json_is_null(v) ? CFG_NULL : CFG_SET;
    if (*have != CFG_SET)
        return EMB_OK;
    RT_FAIL_IF(!json_is_number(v) || !isfinite(json_number_value(v)) ||
                   !(json_number_value(v) > 0.0) || json_number_value(v) > 1e30,
               EMB_ERR_FORMAT, "%s: %s \"%s\" must be a number > 0", f->path, name, key);
    *out = json_number_value(v);
    return EMB_OK;
}

/* The same, required (absent or null refused, as transformers' KeyError). */
static emb_status cfg_rope_required(const cfg_file *f, json_t *rs, const char *name,
                                    const char *type, const char *key, double *out)
{
    cfg_have have;
    RT_TRY(cfg_rope_number(f, rs, name, key, out, &have));
    RT_FAIL_IF(have != CFG_SET, EMB_ERR_FORMAT, "%s: %s of type '%s' needs \"%s\"", f->path,
               name, type, key);
    return EMB_OK;
}

/* YaRN's fields, resolved as _compute_yarn_parameters does: factor null ->
 * max_position / original; attention_factor unset -> 0.1·ln(factor) + 1
 * (or the mscale / mscale_all_dim ratio); beta_fast/slow unset or 0 -> 32/1;
 * truncate default true. */
static emb_status cfg_rope_yarn(const cfg_file *f, json_t *rs, const char *name,
                                mdl_config *cfg)
{
    cfg_have have, hm, hma;
    double mscale = 0, mscale_all = 0;
    RT_FAIL_IF(!json_object_get(rs, "factor"), EMB_ERR_FORMAT,
               "%s: %s of type 'yarn' needs \"factor\"", f->path, name);
    RT_TRY(cfg_rope_number(f, rs, name, "factor", &cfg->rope_factor, &have));
    if (have != CFG_SET)
        cfg->rope_factor = (double)cfg->max_position / (double)cfg->rope_original_max;
    RT_TRY(cfg_rope_number(f, rs, name, "mscale", &mscale, &hm));
    RT_TRY(cfg_rope_number(f, rs, name, "mscale_all_dim", &mscale_all, &hma));
    RT_TRY(cfg_rope_number(f, rs, name, "attention_factor", &cfg->rope_attn_factor, &have));
    if (have != CFG_SET) {
        double fct = cfg->rope_factor;
#define YARN_MSCALE(m) (fct <= 1 ? 1.0 : 0.1 * (m) * log(fct) + 1.0)
        cfg->rope_attn_factor = hm == CFG_SET && hma == CFG_SET
                                    ? YARN_MSCALE(mscale) / YARN_MSCALE(mscale_all)
                                    : YARN_MSCALE(1.0);
#undef YARN_MSCALE
    }
    cfg->rope_beta_fast = 32;
    cfg->rope_beta_slow = 1;
    RT_TRY(cfg_rope_number(f, rs, name, "beta_fast", &cfg->rope_beta_fast, &have));
    RT_TRY(cfg_rope_number(f, rs, name, "beta_slow", &cfg->rope_beta_slow, &have));
    int t;
    RT_TRY(cfg_bool(f, rs, "truncate", 1, &t));
    cfg->rope_truncate = t;
    return EMB_OK;
}

/* RoPE scaling, read as transformers 5 does (RotaryEmbeddingConfigMixin):
 * "rope_scaling" when it is a non-empty object, else "rope_parameters";
 * its type from "rope_type", else "type", else default; its "rope_theta"
 * before the top-level one (already in cfg->rope_theta). Supported types:
 * default, linear, dynamic, yarn, llama3 (EMB_ERR_UNSUPPORTED names any
 * other); missing or malformed fields are EMB_ERR_FORMAT, named. */
static emb_status cfg_rope_scaling(const cfg_file *f, json_t *root, mdl_config *cfg)
{
    const char *name = "\"rope_scaling\"";
    json_t *rs = json_object_get(root, "rope_scaling");
    RT_FAIL_IF(rs && !json_is_null(rs) && !json_is_object(rs), EMB_ERR_FORMAT,
               "%s: \"rope_scaling\" must be an object or null", f->path);
    if (!rs || json_is_null(rs) || json_object_size(rs) == 0) {
        name = "\"rope_parameters\"";
        rs = json_object_get(root, "rope_parameters");
        RT_FAIL_IF(rs && !json_is_null(rs) && !json_is_object(rs), EMB_ERR_FORMAT,
                   "%s: \"rope_parameters\" must be an object or null", f->path);
    }
    cfg->rope_type = MDL_ROPE_DEFAULT;
    if (!rs || json_is_null(rs))
        return EMB_OK;
    RT_FAIL_IF(json_object_get(rs, "full_attention") || json_object_get(rs, "sliding_attention"),
               EMB_ERR_UNSUPPORTED, "%s: %s per layer type is not supported", f->path, name);
    json_t *type = json_object_get(rs, "rope_type");
    if (!type)
        type = json_object_get(rs, "type");
    RT_FAIL_IF(type && !json_is_string(type), EMB_ERR_FORMAT, "%s: %s type must be a string",
               f->path, name);
    const char *tn = type ? json_string_value(type) : "default";
    int32_t t = mdl_rope_parse(tn);
    RT_FAIL_IF(t < 0, EMB_ERR_UNSUPPORTED,
               "%s: %s type '%.64s' is not supported (supported: default, linear, dynamic, yarn, "
               "llama3)", f->path, name, tn);
    cfg_have have;
    RT_TRY(cfg_rope_number(f, rs, name, "rope_theta", &cfg->rope_theta, &have));
    RT_FAIL_IF(have == CFG_NULL, EMB_ERR_FORMAT, "%s: %s \"rope_theta\" is null", f->path, name);
    double prf = 1.0;
    RT_TRY(cfg_rope_number(f, rs, name, "partial_rotary_factor", &prf, &have));
    RT_FAIL_IF(prf != 1.0 && t != MDL_ROPE_DEFAULT, EMB_ERR_UNSUPPORTED,
               "%s: %s partial_rotary_factor %g is not supported (only 1)", f->path, name, prf);
    cfg->rope_type = t;
    if (t == MDL_ROPE_DEFAULT)
        return EMB_OK;
    if (t == MDL_ROPE_YARN || t == MDL_ROPE_LLAMA3) {
        int64_t orig = cfg->max_position;
        RT_TRY(cfg_int(f, rs, "original_max_position_embeddings", &orig, &have));
        if (have != CFG_SET)
            orig = cfg->max_position;
        RT_FAIL_IF(orig < 1 || orig > MDL_MAX_ROPE_POSITIONS, EMB_ERR_FORMAT,
                   "%s: %s \"original_max_position_embeddings\" = %lld is out of range", f->path,
                   name, (long long)orig);
        cfg->rope_original_max = orig;
    }
    if (t == MDL_ROPE_YARN)
        return cfg_rope_yarn(f, rs, name, cfg);
    RT_TRY(cfg_rope_required(f, rs, name, tn, "factor", &cfg->rope_factor));
    if (t == MDL_ROPE_LLAMA3) {
        RT_TRY(cfg_rope_required(f, rs, name, tn, "low_freq_factor", &cfg->rope_low_freq));
        RT_TRY(cfg_rope_required(f, rs, name, tn, "high_freq_factor", &cfg->rope_high_freq));
        RT_FAIL_IF(!(cfg->rope_high_freq > cfg->rope_low_freq), EMB_ERR_FORMAT,
                   "%s: %s high_freq_factor %g must be above low_freq_factor %g", f->path, name,
                   cfg->rope_high_freq, cfg->rope_low_freq);
    }
    return EMB_OK;
}

/* config.json's "model_type" as an entry of the architecture table (*out), or
 * EMB_ERR_FORMAT (missing) / EMB_ERR_UNSUPPORTED naming what is supported. */
static emb_status cfg_find_arch(const cfg_file *f, json_t *root, const mdl_arch **out)
{
    const char *s;
    RT_TRY(cfg_str(f, root, "model_type", &s));
    RT_FAIL_IF(!s, EMB_ERR_FORMAT, "%s: missing \"model_type\" (supported: %s)", f->path,
               mdl_arch_supported());
    *out = mdl_arch_find(s);
    RT_FAIL_IF(!*out, EMB_ERR_UNSUPPORTED,
               "%s: model_type '%.64s' is not supported (supported: %s)", f->path, s,
               mdl_arch_supported());
    return EMB_OK;
}

/* The config.json key of a field: the class's own name (mdl_arch keys), or
 * BertConfig's. */
#define CFG_KEY(a, field, bert_key) ((a)->keys && (a)->keys->field ? (a)->keys->field : (bert_key))

/* The sizes every architecture has, each absent -> the class default, in
 * range (MDL_MAX_*). */
/* nomic_bert configs come in two spellings: transformers' NomicBertConfig
 * (hidden_size, ...: what save_pretrained writes since transformers 5) and
 * nomic's original GPT2Config one (n_embd, n_layer, n_head, n_positions,
 * layer_norm_epsilon). The transformers key is read when present, else the
 * GPT-2 one (cfg_key). */
static const char *cfg_key(json_t *root, const mdl_arch *a, const char *key)
{
    static const char *const gpt2[][2] = { { "hidden_size", "n_embd" },
                                           { "num_hidden_layers", "n_layer" },
                                           { "num_attention_heads", "n_head" },
                                           { "max_position_embeddings", "n_positions" },
                                           { "layer_norm_eps", "layer_norm_epsilon" } };
    if (!a->rotary_encoder || json_object_get(root, key))
        return key;
    for (size_t i = 0; i < sizeof gpt2 / sizeof *gpt2; i++)
        if (!strcmp(gpt2[i][0], key))
            return gpt2[i][1];
    return key;
}

static emb_status cfg_read_sizes(const cfg_file *f, json_t *root, const mdl_arch *a,
                                 mdl_config *cfg)
{
    RT_TRY(cfg_size(f, root, cfg_key(root, a, CFG_KEY(a, hidden, "hidden_size")), a->hidden, 1,
                    MDL_MAX_HIDDEN, &cfg->hidden));
    RT_TRY(cfg_size(f, root, cfg_key(root, a, CFG_KEY(a, layers, "num_hidden_layers")),
                    a->layers, 1, MDL_MAX_LAYERS, &cfg->layers));
    RT_TRY(cfg_size(f, root, cfg_key(root, a, CFG_KEY(a, heads, "num_attention_heads")),
                    a->heads, 1, MDL_MAX_HIDDEN, &cfg->heads));
    RT_TRY(cfg_size(f, root, CFG_KEY(a, intermediate, "intermediate_size"), a->intermediate, 1,
                    MDL_MAX_INTERMEDIATE, &cfg->intermediate));
    RT_TRY(cfg_size(f, root, cfg_key(root, a, "max_position_embeddings"), a->max_position, 1,
                    a->family == MDL_FAMILY_BERT ? MDL_MAX_POSITIONS : MDL_MAX_ROPE_POSITIONS,
                    &cfg->max_position));
    RT_TRY(cfg_size(f, root, "vocab_size", a->vocab_size, 1, MDL_MAX_VOCAB, &cfg->vocab_size));
    return EMB_OK;
}

/* num_key_value_heads (decoders; absent -> the class default, null ->
 * heads), dividing num_attention_heads. */
static emb_status cfg_read_kv_heads(const cfg_file *f, json_t *root, const mdl_arch *a,
                                    mdl_config *cfg)
{
    cfg->kv_heads = a->kv_heads ? a->kv_heads : cfg->heads;
    if (a->family == MDL_FAMILY_LLAMA) {
        int64_t kv = 0;
        cfg_have have;
        RT_TRY(cfg_int(f, root, "num_key_value_heads", &kv, &have));
        if (have == CFG_NULL)
            cfg->kv_heads = cfg->heads;
        else if (have == CFG_SET)
            cfg->kv_heads = kv;
    }
    RT_FAIL_IF(cfg->kv_heads < 1 || cfg->kv_heads > cfg->heads || cfg->heads % cfg->kv_heads != 0,
               EMB_ERR_FORMAT,
               "%s: \"num_key_value_heads\" = %lld must divide num_attention_heads = %lld", f->path,
               (long long)cfg->kv_heads, (long long)cfg->heads);
    return EMB_OK;
}

/* head_dim: explicit (decoders; Qwen3's class default is 128), else
 * hidden / heads, which must then divide exactly; even for RoPE. */
static emb_status cfg_read_head_dim(const cfg_file *f, json_t *root, const mdl_arch *a,
                                    mdl_config *cfg)
{
    cfg->head_dim = a->head_dim; /* 0: hidden / heads */
    if (a->family == MDL_FAMILY_LLAMA) {
        int64_t hd = 0;
        cfg_have have;
        RT_TRY(cfg_int(f, root, "head_dim", &hd, &have));
        if (have == CFG_NULL)
            cfg->head_dim = 0;
        else if (have == CFG_SET && hd < 1)
            return rt_error(EMB_ERR_FORMAT, "%s: \"head_dim\" = %lld is out of range", f->path,
                            (long long)hd);
        else if (have == CFG_SET)
            cfg->head_dim = hd;
    }
    if (cfg->head_dim == 0) {
        RT_FAIL_IF(cfg->hidden % cfg->heads != 0, EMB_ERR_FORMAT,
                   "%s: \"num_attention_heads\" = %lld does not divide hidden_size = %lld", f->path,
                   (long long)cfg->heads, (long long)cfg->hidden);
        cfg->head_dim = cfg->hidden / cfg->heads;
    } else if (cfg->head_dim < 1 || cfg->head_dim > MDL_MAX_HEAD_DIM ||
               cfg->head_dim * cfg->heads > MDL_MAX_HIDDEN * 4) {
        return rt_error(EMB_ERR_FORMAT, "%s: \"head_dim\" = %lld is out of range", f->path,
                        (long long)cfg->head_dim);
    }
    RT_FAIL_IF(cfg->head_dim % 2 != 0 && a->family == MDL_FAMILY_LLAMA, EMB_ERR_FORMAT,
               "%s: head_dim %lld is odd (RoPE needs an even head_dim)", f->path,
               (long long)cfg->head_dim);
    return EMB_OK;
}

/* The one refusal of scaled RoPE, for the families that run only unscaled
 * RoPE (nomic_bert, new/gte, modernbert, gemma3_text): the RoPE object `rs`
 * (config.json's `where`: "rope_scaling", "rope_parameters" or one layer
 * type's entry "rope_parameters.full_attention") is absent, null, or of type
 * "default" ("rope_type", else "type", as transformers reads it; no type is
 * the default). A non-object or a non-string type is EMB_ERR_FORMAT. */
static emb_status cfg_rope_default(const cfg_file *f, json_t *rs, const char *where,
                                   const mdl_arch *a)
{
    if (!rs || json_is_null(rs))
        return EMB_OK;
    RT_FAIL_IF(!json_is_object(rs), EMB_ERR_FORMAT, "%s: \"%s\" must be an object or null",
               f->path, where);
    json_t *t = json_object_get(rs, "rope_type");
    if (!t)
        t = json_object_get(rs, "type");
    RT_FAIL_IF(t && !json_is_string(t), EMB_ERR_FORMAT, "%s: %s type must be a string", f->path,
               where);
    const char *tn = t ? json_string_value(t) : "default";
    RT_FAIL_IF(strcmp(tn, "default") != 0, EMB_ERR_UNSUPPORTED,
               "%s: %s type '%.64s' is not supported for %s (only unscaled RoPE)", f->path, where,
               tn, a->model_type);
    return EMB_OK;
}

/* Whether a "rope_parameters" object is transformers 5's per-layer-type form
 * (ModernBERT, Gemma3: {"full_attention": {...}, "sliding_attention": {...}}),
 * whose entries cfg_rope_parameters reads. */
static int cfg_rope_per_layer(json_t *rp)
{
    return json_is_object(rp) &&
           (json_object_get(rp, "full_attention") || json_object_get(rp, "sliding_attention"));
}

/* Only unscaled RoPE: config.json's "rope_scaling" (unless `scaling` is 0:
 * GTE reads its own, cfg_gte_ntk) and "rope_parameters" (unless per layer
 * type: its entries are checked as they are read) are of the default type
 * (cfg_rope_default). */
static emb_status cfg_rope_unscaled(const cfg_file *f, json_t *root, const mdl_arch *a,
                                    int scaling)
{
    if (scaling)
        RT_TRY(cfg_rope_default(f, json_object_get(root, "rope_scaling"), "rope_scaling", a));
    json_t *rp = json_object_get(root, "rope_parameters");
    return cfg_rope_per_layer(rp) ? EMB_OK : cfg_rope_default(f, rp, "rope_parameters", a);
}

/* A rotary encoder's RoPE base: unscaled (cfg_rope_unscaled; GTE's ntk read
 * before by cfg_gte_ntk), theta from rope_parameters.rope_theta
 * (transformers' spelling), else the original config's `key` (nomic:
 * rotary_emb_base, new: rope_theta), else the class default. */
static emb_status cfg_rope_theta(const cfg_file *f, json_t *root, const mdl_arch *a,
                                 const char *key, mdl_config *cfg)
{
    RT_TRY(cfg_rope_unscaled(f, root, a, a->rotary_encoder != MDL_ROTARY_GTE));
    json_t *rp = json_object_get(root, "rope_parameters");
    if (json_is_object(rp) && json_object_get(rp, "rope_theta"))
        return cfg_positive(f, rp, "rope_theta", a->rope_theta, 1e30, &cfg->rope_theta);
    return cfg_positive(f, root, key, a->rope_theta, 1e30, &cfg->rope_theta);
}

/* NewConfig's rope_scaling: null/absent, or {"type": "ntk", "factor": f}
 * (gte-base/large-en-v1.5: f 2), NewModel's fixed NTK scaling into
 * cfg->rope_ntk; its mixed_b variant and other types are refused. */
static emb_status cfg_gte_ntk(const cfg_file *f, json_t *root, mdl_config *cfg)
{
    json_t *rs = json_object_get(root, "rope_scaling");
    cfg->rope_ntk = 0.0;
    if (!rs || json_is_null(rs))
        return EMB_OK;
    RT_FAIL_IF(!json_is_object(rs), EMB_ERR_FORMAT,
               "%s: \"rope_scaling\" must be an object or null", f->path);
    json_t *type = json_object_get(rs, "type");
    if (!type)
        type = json_object_get(rs, "rope_type");
    const char *name = json_is_string(type) ? json_string_value(type) : "?";
    if (!strcmp(name, "default"))
        return EMB_OK;
    RT_FAIL_IF(strcmp(name, "ntk") != 0, EMB_ERR_UNSUPPORTED,
               "%s: rope_scaling type '%.64s' is not supported (only ntk)", f->path, name);
    json_t *mixed = json_object_get(rs, "mixed_b");
    RT_FAIL_IF(mixed && !json_is_null(mixed), EMB_ERR_UNSUPPORTED,
               "%s: rope_scaling mixed_b is not supported (only fixed NTK)", f->path);
    return cfg_positive(f, rs, "factor", 0.0, 1e6, &cfg->rope_ntk);
}

/* Alibaba's NewConfig / transformers' GteConfig own keys (new, gte): unscaled
 * RoPE or NewModel's fixed NTK scaling (cfg_gte_ntk),
 * position_embedding_type rope, layer_norm_type layer_norm, pack_qkv true,
 * no logn attention scaling, hidden_act gelu (exact, the gate's). */
static emb_status cfg_read_gte(const cfg_file *f, json_t *root, const mdl_arch *a,
                               mdl_config *cfg)
{
    const char *s;
    RT_TRY(cfg_str(f, root, "hidden_act", &s));
    RT_FAIL_IF(s && strcmp(s, "gelu") != 0, EMB_ERR_UNSUPPORTED,
               "%s: hidden_act '%.64s' is not supported for %s (only gelu, the gate's)", f->path,
               s, a->model_type);
    RT_TRY(cfg_str(f, root, "layer_norm_type", &s));
    RT_FAIL_IF(s && strcmp(s, "layer_norm") != 0, EMB_ERR_UNSUPPORTED,
               "%s: layer_norm_type '%.64s' is not supported for %s (only layer_norm)", f->path, s,
               a->model_type);
    int b;
    RT_TRY(cfg_bool(f, root, "pack_qkv", 1, &b));
    RT_FAIL_IF(!b, EMB_ERR_UNSUPPORTED, "%s: pack_qkv false is not supported for %s", f->path,
               a->model_type);
    static const char *const off[] = { "logn_attention_scale", "logn_attention_clip1" };
    for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
        RT_TRY(cfg_bool(f, root, off[i], 0, &b));
        RT_FAIL_IF(b, EMB_ERR_UNSUPPORTED, "%s: %s true is not supported for %s", f->path, off[i],
                   a->model_type);
    }
    RT_TRY(cfg_gte_ntk(f, root, cfg));
    return cfg_rope_theta(f, root, a, "rope_theta", cfg);
}

/* nomic_bert's own keys, in either spelling (cfg_key). What transformers'
 * NomicBertModel and every released nomic-embed-text checkpoint do is
 * implemented; anything else is refused naming the key: hidden_act silu /
 * activation_function swiglu (the gated MLP), rotary_emb_fraction 1.0 (RoPE
 * over whole heads, no position table), unscaled RoPE (rope_parameters
 * type default, no rotary_emb_scale_base or rotary_scaling_factor),
 * head_dim hidden / heads, and false rotary_emb_interleaved, prenorm,
 * parallel_block, causal, use_rms_norm, norm_mlp, rotary_head_dim and
 * qkv_proj_bias / mlp_fc1_bias / mlp_fc2_bias (no Linear biases), no
 * mixture of experts. Sets rope_theta (rope_parameters.rope_theta, else
 * rotary_emb_base, else transformers' 1000), intermediate (intermediate_size;
 * in an original config without it: n_inner, null -> int(8 · n_embd / 3),
 * rounded up to 256s as its gated MLP does) and vocab_size (rounded up to
 * pad_vocab_size_multiple, as the original NomicBertModel). */
static emb_status cfg_read_nomic(const cfg_file *f, json_t *root, const mdl_arch *a,
                                 mdl_config *cfg)
{
    const char *act;
    RT_TRY(cfg_str(f, root, "activation_function", &act));
    RT_FAIL_IF(act && strcmp(act, "swiglu") != 0, EMB_ERR_UNSUPPORTED,
               "%s: activation_function '%.64s' is not supported for nomic_bert (only swiglu)",
               f->path, act);
    RT_TRY(cfg_str(f, root, "hidden_act", &act));
    RT_FAIL_IF(act && strcmp(act, "silu") != 0, EMB_ERR_UNSUPPORTED,
               "%s: hidden_act '%.64s' is not supported for nomic_bert (only silu, the gate's)",
               f->path, act);
    json_t *v = json_object_get(root, "rotary_emb_fraction");
    RT_FAIL_IF(v && !json_is_number(v), EMB_ERR_FORMAT,
               "%s: \"rotary_emb_fraction\" must be a number", f->path);
    RT_FAIL_IF(v && json_number_value(v) != 1.0, EMB_ERR_UNSUPPORTED,
               "%s: rotary_emb_fraction %g is not supported for nomic_bert (only 1.0)", f->path,
               json_number_value(v));
    static const char *const off[] = { "rotary_emb_interleaved", "prenorm", "parallel_block",
                                       "causal", "use_rms_norm", "norm_mlp", "rotary_head_dim",
                                       "qkv_proj_bias", "mlp_fc1_bias", "mlp_fc2_bias" };
    for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
        int b;
        RT_TRY(cfg_bool(f, root, off[i], 0, &b));
        RT_FAIL_IF(b, EMB_ERR_UNSUPPORTED, "%s: %s true is not supported for nomic_bert", f->path,
                   off[i]);
    }
    static const char *const none[] = { "rotary_emb_scale_base", "rotary_scaling_factor" };
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        v = json_object_get(root, none[i]);
        RT_FAIL_IF(v && !json_is_null(v), EMB_ERR_UNSUPPORTED,
                   "%s: \"%s\" is not supported for nomic_bert (only null)", f->path, none[i]);
    }
    int64_t n = 0;
    cfg_have have;
    RT_TRY(cfg_int(f, root, "moe_every_n_layers", &n, &have));
    RT_FAIL_IF(have == CFG_SET && n > 0, EMB_ERR_UNSUPPORTED,
               "%s: moe_every_n_layers %lld is not supported for nomic_bert (no mixture of "
               "experts)", f->path, (long long)n);
    RT_TRY(cfg_int(f, root, "head_dim", &n, &have));
    RT_FAIL_IF(have == CFG_SET && n != cfg->hidden / cfg->heads, EMB_ERR_UNSUPPORTED,
               "%s: head_dim %lld is not supported for nomic_bert (only hidden_size / "
               "num_attention_heads)", f->path, (long long)n);
    RT_TRY(cfg_rope_theta(f, root, a, "rotary_emb_base", cfg));
    if (!json_object_get(root, "intermediate_size") && json_object_get(root, "n_embd")) {
        int64_t inner = 8 * cfg->hidden / 3;
        RT_TRY(cfg_int(f, root, "n_inner", &inner, &have));
        if (have != CFG_SET)
            inner = 8 * cfg->hidden / 3;
        RT_FAIL_IF(inner < 1 || inner > MDL_MAX_INTERMEDIATE, EMB_ERR_FORMAT,
                   "%s: \"n_inner\" = %lld is out of range (1 .. %lld)", f->path,
                   (long long)inner, (long long)MDL_MAX_INTERMEDIATE);
        cfg->intermediate = (inner + 255) / 256 * 256;
    }
    int64_t mult;
    RT_TRY(cfg_size(f, root, "pad_vocab_size_multiple", 1, 1, MDL_MAX_VOCAB, &mult));
    int64_t vocab = (cfg->vocab_size + mult - 1) / mult * mult;
    RT_FAIL_IF(vocab > MDL_MAX_VOCAB, EMB_ERR_FORMAT,
               "%s: vocab_size %lld padded to a multiple of %lld is out of range", f->path,
               (long long)cfg->vocab_size, (long long)mult);
    cfg->vocab_size = vocab;
    return EMB_OK;
}

/* An encoder's own fields: type_vocab_size (none for MPNet and DistilBERT,
 * whose classes have no token_type embeddings), layer_norm_eps (DistilBERT:
 * fixed), MPNet's relative_attention_num_buckets; absolute learned position
 * embeddings only (DistilBERT's sinusoidal_pos_embds: the stored table), not
 * a decoder. Rotary encoders (nomic_bert, new, gte): their own keys
 * (cfg_read_nomic, cfg_read_gte). */
static emb_status cfg_read_encoder(const cfg_file *f, json_t *root, const mdl_arch *a,
                                   mdl_config *cfg)
{
    const char *s;
    int b;
    cfg->type_vocab_size = 0;
    if (a->type_vocab_size > 0) /* GTE: 0 means no token_type table */
        RT_TRY(cfg_size(f, root, "type_vocab_size", a->type_vocab_size,
                        a->rotary_encoder == MDL_ROTARY_GTE ? 0 : 1, MDL_MAX_TYPE_VOCAB,
                        &cfg->type_vocab_size));
    if (a->relative_buckets > 0) {
        /* MPNetEncoder.compute_position_bias always makes 32 buckets, whatever
         * the table's size: only a table of exactly that size is the same model */
        int64_t buckets;
        RT_TRY(cfg_size(f, root, "relative_attention_num_buckets", a->relative_buckets, 1,
                        MDL_MAX_HIDDEN, &buckets));
        RT_FAIL_IF(buckets != a->relative_buckets, EMB_ERR_UNSUPPORTED,
                   "%s: relative_attention_num_buckets %lld is not supported for %s (only %d, "
                   "the buckets its attention computes)",
                   f->path, (long long)buckets, a->model_type, (int)a->relative_buckets);
    }
    cfg->norm_eps = a->norm_eps;
    if (!a->keys || a->keys->norm_eps)
        RT_TRY(cfg_positive(f, root, cfg_key(root, a, CFG_KEY(a, norm_eps, "layer_norm_eps")),
                            a->norm_eps, 1.0, &cfg->norm_eps));
    cfg->rope_theta = a->rope_theta;
    /* DistilBertConfig's sinusoidal_pos_embds only fills the position table
     * with sin/cos at init: transformers loads the checkpoint's stored table
     * either way (tests/fixtures/models/distilbert-st/golden/README.md), and
     * so does the graph. Only its type is checked. */
    RT_TRY(cfg_bool(f, root, "sinusoidal_pos_embds", 0, &b));
    const char *pos = a->rotary_encoder == MDL_ROTARY_GTE ? "rope" : "absolute";
    RT_TRY(cfg_str(f, root, "position_embedding_type", &s));
    RT_FAIL_IF(s && strcmp(s, pos) != 0, EMB_ERR_UNSUPPORTED,
               "%s: position_embedding_type '%.64s' is not supported for %s (only %s)", f->path, s,
               a->model_type, pos);
    RT_TRY(cfg_bool(f, root, "is_decoder", 0, &b));
    RT_FAIL_IF(b, EMB_ERR_UNSUPPORTED, "%s: is_decoder true is not supported for %s", f->path,
               a->model_type);
    if (a->rotary_encoder == MDL_ROTARY_NOMIC)
        return cfg_read_nomic(f, root, a, cfg);
    return a->rotary_encoder == MDL_ROTARY_GTE ? cfg_read_gte(f, root, a, cfg) : EMB_OK;
}

/* One layer type's entry of a per-layer-type "rope_parameters" (transformers 5
 * form of ModernBERT and Gemma3: {"full_attention": {"rope_type",
 * "rope_theta"}, "sliding_attention": ...}): the "default" type only
 * (cfg_rope_default); its rope_theta, when given, wins over *theta
 * (ModernBERT: global_rope_theta / local_rope_theta; Gemma3: rope_theta /
 * rope_local_base_freq), which is kept when the entry is absent or gives
 * none. */
static emb_status cfg_rope_parameters(const cfg_file *f, json_t *params, const char *type,
                                      const mdl_arch *a, double *theta)
{
    json_t *p = params ? json_object_get(params, type) : NULL;
    if (!p || json_is_null(p))
        return EMB_OK;
    char where[64];
    snprintf(where, sizeof where, "rope_parameters.%s", type);
    RT_TRY(cfg_rope_default(f, p, where, a));
    return cfg_positive(f, p, "rope_theta", *theta, 1e30, theta);
}

/* "layer_types" (Qwen2/3, Gemma3, ModernBERT: each "full_attention" or
 * "sliding_attention", one per layer) into cfg->window_layers; *any: a
 * sliding one seen. */
static emb_status cfg_layer_types(const cfg_file *f, json_t *lt, mdl_config *cfg, int *any)
{
    RT_FAIL_IF(!json_is_array(lt) || (int64_t)json_array_size(lt) != cfg->layers,
               EMB_ERR_FORMAT, "%s: \"layer_types\" must be a list of num_hidden_layers (%lld) "
               "strings", f->path, (long long)cfg->layers);
    *any = 0;
    for (size_t l = 0; l < json_array_size(lt); l++) {
        const char *s = json_string_value(json_array_get(lt, l));
        int sliding = s && strcmp(s, "sliding_attention") == 0;
        RT_FAIL_IF(!s || (!sliding && strcmp(s, "full_attention") != 0), EMB_ERR_UNSUPPORTED,
                   "%s: layer_types[%zu] '%.64s' is not supported (full_attention, "
                   "sliding_attention)", f->path, l, s ? s : "?");
        if (sliding)
            cfg->window_layers[l / 8] |= (uint8_t)(1u << (l % 8));
        *any |= sliding;
    }
    return EMB_OK;
}

/* ModernBERT's own fields: norm_eps, both RoPE bases (global_rope_theta /
 * local_rope_theta, or rope_parameters; unscaled only) into rope_theta /
 * rope_local_theta, the layer pattern (layer_types, else a global layer
 * every global_attn_every_n_layers from layer 0, as ModernBertConfig builds
 * layer_types) into the window layers and local_attention into
 * sliding_window (the shared fields Gemma3 uses: the same reach
 * local_attention // 2 + 1; 0 stored as 1, which reaches as far); no
 * token_type embeddings. */
static emb_status cfg_read_modernbert(const cfg_file *f, json_t *root, const mdl_arch *a,
                                      mdl_config *cfg)
{
    cfg->type_vocab_size = 0;
    RT_TRY(cfg_positive(f, root, CFG_KEY(a, norm_eps, "layer_norm_eps"), a->norm_eps, 1.0,
                        &cfg->norm_eps));
    /* rope_scaling: ModernBertConfig merges it into both layer types */
    RT_TRY(cfg_rope_unscaled(f, root, a, 1));
    double local = a->rope_local_theta;
    RT_TRY(cfg_positive(f, root, "global_rope_theta", a->rope_theta, 1e30, &cfg->rope_theta));
    RT_TRY(cfg_positive(f, root, "local_rope_theta", local, 1e30, &local));
    json_t *params = json_object_get(root, "rope_parameters");
    RT_TRY(cfg_rope_parameters(f, params, "full_attention", a, &cfg->rope_theta));
    RT_TRY(cfg_rope_parameters(f, params, "sliding_attention", a, &local));
    int64_t every, window;
    int any = 0;
    RT_TRY(cfg_size(f, root, "global_attn_every_n_layers", a->global_every, 1, MDL_MAX_LAYERS,
                    &every));
    RT_TRY(cfg_size(f, root, "local_attention", a->window_default, 0, MDL_MAX_POSITIONS,
                    &window));
    memset(cfg->window_layers, 0, sizeof cfg->window_layers);
    json_t *lt = json_object_get(root, "layer_types");
    if (lt && !json_is_null(lt)) {
        RT_TRY(cfg_layer_types(f, lt, cfg, &any));
    } else {
        for (int64_t l = 0; l < cfg->layers; l++)
            if (l % every != 0) {
                cfg->window_layers[l / 8] |= (uint8_t)(1u << (l % 8));
                any = 1;
            }
    }
    cfg->sliding_window = any ? (window > 0 ? window : 1) : 0;
    cfg->rope_local_theta = any ? local : 0.0;
    RT_FAIL_IF(cfg->head_dim % 2 != 0, EMB_ERR_FORMAT,
               "%s: head_dim %lld is odd (RoPE needs an even head_dim)", f->path,
               (long long)cfg->head_dim);
    return EMB_OK;
}

/* Gemma3TextConfig's own fields (mdl_arch local_layers): query_pre_attn_scalar,
 * use_bidirectional_attention, layer_types (absent: every
 * sliding_window_pattern-th layer full, default 6) and sliding_window into
 * cfg's window layers, the two RoPE bases (rope_parameters per layer type,
 * else rope_theta and rope_local_base_freq, as
 * Gemma3TextConfig.convert_rope_params_to_dict; scaled RoPE refused), no
 * attention logit softcapping. */
static emb_status cfg_read_local_layers(const cfg_file *f, json_t *root, const mdl_arch *a,
                                        mdl_config *cfg)
{
    int b, any_local = 0;
    json_t *cap = json_object_get(root, "attn_logit_softcapping");
    RT_FAIL_IF(cap && !json_is_null(cap), EMB_ERR_UNSUPPORTED,
               "%s: attn_logit_softcapping is not supported for %s", f->path, a->model_type);
    RT_TRY(cfg_positive(f, root, "query_pre_attn_scalar", 256.0, 1e9, &cfg->attn_scalar));
    RT_TRY(cfg_bool(f, root, "use_bidirectional_attention", 0, &b));
    cfg->bidirectional = b;
    cfg->sliding_window = 0;
    memset(cfg->window_layers, 0, sizeof cfg->window_layers);
    json_t *lt = json_object_get(root, "layer_types");
    if (lt && !json_is_null(lt)) {
        RT_TRY(cfg_layer_types(f, lt, cfg, &any_local));
    } else {
        int64_t period = 6;
        json_t *p = json_object_get(root, "sliding_window_pattern");
        if (!p)
            p = json_object_get(root, "_sliding_window_pattern");
        if (p && !json_is_null(p)) {
            RT_FAIL_IF(!json_is_integer(p) || json_integer_value(p) < 1, EMB_ERR_FORMAT,
                       "%s: \"sliding_window_pattern\" must be a positive integer", f->path);
            period = (int64_t)json_integer_value(p);
        }
        for (int64_t l = 0; l < cfg->layers; l++)
            if ((l + 1) % period != 0) {
                cfg->window_layers[l / 8] |= (uint8_t)(1u << (l % 8));
                any_local = 1;
            }
    }
    int64_t win = a->window_default; /* Gemma3TextConfig's 4096 */
    cfg_have have;
    RT_TRY(cfg_int(f, root, "sliding_window", &win, &have));
    RT_FAIL_IF(any_local && (have == CFG_NULL || win < 1 || win > MDL_MAX_ROPE_POSITIONS),
               EMB_ERR_FORMAT, "%s: \"sliding_window\" must be 1 .. 2^24 with sliding layers",
               f->path);
    if (any_local)
        cfg->sliding_window = win;
    double global = a->rope_theta, local = a->rope_local_theta; /* Gemma3's default_theta */
    json_t *rp = json_object_get(root, "rope_parameters");
    json_t *rs = json_object_get(root, "rope_scaling");
    RT_TRY(cfg_rope_unscaled(f, root, a, 1));
    cfg->rope_type = MDL_ROPE_DEFAULT;
    if (cfg_rope_per_layer(rp) && (!rs || json_is_null(rs) || json_object_size(rs) == 0)) {
        RT_TRY(cfg_rope_parameters(f, rp, "full_attention", a, &global));
        RT_TRY(cfg_rope_parameters(f, rp, "sliding_attention", a, &local));
    } else {
        RT_TRY(cfg_positive(f, root, "rope_theta", global, 1e30, &global));
        RT_TRY(cfg_positive(f, root, "rope_local_base_freq", local, 1e30, &local));
        cfg->rope_theta = global;
        RT_TRY(cfg_rope_scaling(f, root, cfg)); /* the default type's rope_theta */
        global = cfg->rope_theta;
    }
    cfg->rope_theta = global;
    cfg->rope_local_theta = any_local ? local : 0.0;
    return EMB_OK;
}

/* Sliding-window attention (decoders), as the config classes set it:
 * Mistral: "sliding_window" (absent: 4096, null: none) on every layer;
 * Qwen2/3: only with "use_sliding_window", on the layers "layer_types"
 * names, else on layers from "max_window_layers" on; Llama: none. */
static emb_status cfg_read_sliding_window(const cfg_file *f, json_t *root, const mdl_arch *a,
                                          mdl_config *cfg)
{
    int64_t win = a->window_default;
    cfg_have have;
    cfg->sliding_window = 0;
    memset(cfg->window_layers, 0, sizeof cfg->window_layers);
    if (a->sliding_window == MDL_WINDOW_NONE)
        return EMB_OK;
    RT_TRY(cfg_int(f, root, "sliding_window", &win, &have));
    int use = have != CFG_NULL, u = 1;
    if (a->sliding_window == MDL_WINDOW_QWEN)
        RT_TRY(cfg_bool(f, root, "use_sliding_window", 0, &u));
    use = use && u;
    RT_FAIL_IF(use && (win < 1 || win > MDL_MAX_ROPE_POSITIONS), EMB_ERR_FORMAT,
               "%s: \"sliding_window\" = %lld is out of range", f->path, (long long)win);
    json_t *lt = json_object_get(root, "layer_types");
    if (a->sliding_window == MDL_WINDOW_QWEN && lt && !json_is_null(lt)) {
        int any = 0;
        RT_TRY(cfg_layer_types(f, lt, cfg, &any));
        RT_FAIL_IF(any && !use, EMB_ERR_FORMAT,
                   "%s: \"layer_types\" has sliding_attention layers but there is no sliding "
                   "window (use_sliding_window false or sliding_window null)", f->path);
    } else if (use) {
        int64_t from = a->max_window_layers;
        if (a->sliding_window == MDL_WINDOW_QWEN)
            RT_TRY(cfg_size(f, root, "max_window_layers", a->max_window_layers, 0, INT32_MAX,
                            &from));
        else
            from = 0;
        for (int64_t l = from; l < cfg->layers; l++)
            cfg->window_layers[l / 8] |= (uint8_t)(1u << (l % 8));
    }
    if (use)
        cfg->sliding_window = win;
    return EMB_OK;
}

/* A decoder's own fields: rms_norm_eps, rope_theta and RoPE scaling, no
 * attention/MLP biases except on qwen2, the sliding window. */
static emb_status cfg_read_decoder(const cfg_file *f, json_t *root, const mdl_arch *a,
                                   mdl_config *cfg)
{
    cfg->type_vocab_size = 0;
    RT_TRY(cfg_positive(f, root, "rms_norm_eps", a->norm_eps, 1.0, &cfg->norm_eps));
    if (!a->local_layers) {
        RT_TRY(cfg_positive(f, root, "rope_theta", a->rope_theta, 1e30, &cfg->rope_theta));
        RT_TRY(cfg_rope_scaling(f, root, cfg));
    }
    /* llama/mistral/qwen3 biases would be silently dropped: refuse */
    if (!a->qkv_bias) {
        static const char *const bias_keys[] = {"attention_bias", "mlp_bias"};
        for (size_t i = 0; i < 2; i++) {
            int b;
            RT_TRY(cfg_bool(f, root, bias_keys[i], 0, &b));
            RT_FAIL_IF(b, EMB_ERR_UNSUPPORTED, "%s: %s true is not supported for %s", f->path,
                       bias_keys[i], a->model_type);
        }
    }
    if (a->local_layers)
        return cfg_read_local_layers(f, root, a, cfg);
    return cfg_read_sliding_window(f, root, a, cfg);
}

/* pad_token_id: null or negative -> -1 (none); else an id of the vocab
 * (encoders need one). */
static emb_status cfg_read_pad(const cfg_file *f, json_t *root, const mdl_arch *a,
                               mdl_config *cfg)
{
    cfg->pad_token_id = a->pad_token_id;
    int64_t pad = 0;
    cfg_have have;
    RT_TRY(cfg_int(f, root, "pad_token_id", &pad, &have));
    if (have == CFG_NULL)
        cfg->pad_token_id = -1;
    else if (have == CFG_SET)
        cfg->pad_token_id = pad < 0 ? -1 : pad;
    /* BERT's, XLM-R's and MPNet's embeddings need one; NomicBERT's do not */
    if (cfg->pad_token_id >= cfg->vocab_size ||
        (a->family == MDL_FAMILY_BERT && !a->rotary_encoder && cfg->pad_token_id < 0))
        return rt_error(EMB_ERR_FORMAT,
                        "%s: \"pad_token_id\" = %lld is not an id below vocab_size %lld", f->path,
                        (long long)cfg->pad_token_id, (long long)cfg->vocab_size);
    return EMB_OK;
}

/* hidden_act (absent -> the class default; a name that fits cfg->act) and
 * tie_word_embeddings. */
static emb_status cfg_read_act_tie(const cfg_file *f, json_t *root, const mdl_arch *a,
                                   mdl_config *cfg)
{
    const char *s;
    const char *key = CFG_KEY(a, act, "hidden_act");
    RT_TRY(cfg_str(f, root, key, &s));
    if (!s)
        s = a->act;
    RT_FAIL_IF(strlen(s) >= sizeof cfg->act || s[0] == '\0', EMB_ERR_UNSUPPORTED,
               "%s: %s '%.64s' is not supported", f->path, key, s);
    snprintf(cfg->act, sizeof cfg->act, "%s", s);
    int b;
    RT_TRY(cfg_bool(f, root, "tie_word_embeddings", a->tie_embeddings, &b));
    cfg->tie_embeddings = b;
    return EMB_OK;
}

/* config.json -> cfg (everything but pooling / normalize), in the order
 * transformers' config classes define the fields. */
static emb_status cfg_read_model(const char *dir, mdl_config *cfg)
{
    json_t *root = NULL;
    cfg_file f;
    RT_TRY(cfg_load(&f, dir, "config.json", 0, &root));
    emb_status st;
    RT_FAIL_GOTO(st, !json_is_object(root), done, EMB_ERR_FORMAT, "%s: not a JSON object", f.path);
    const mdl_arch *a = NULL;
    RT_TRY_GOTO(st, cfg_find_arch(&f, root, &a), done);
    snprintf(cfg->arch, sizeof cfg->arch, "%s", a->model_type);
    RT_TRY_GOTO(st, cfg_read_sizes(&f, root, a, cfg), done);
    RT_TRY_GOTO(st, cfg_read_kv_heads(&f, root, a, cfg), done);
    RT_TRY_GOTO(st, cfg_read_head_dim(&f, root, a, cfg), done);
    if (a->modernbert)
        RT_TRY_GOTO(st, cfg_read_modernbert(&f, root, a, cfg), done);
    else if (a->family == MDL_FAMILY_BERT)
        RT_TRY_GOTO(st, cfg_read_encoder(&f, root, a, cfg), done);
    else
        RT_TRY_GOTO(st, cfg_read_decoder(&f, root, a, cfg), done);
    RT_TRY_GOTO(st, cfg_read_pad(&f, root, a, cfg), done);
    RT_TRY_GOTO(st, cfg_read_act_tie(&f, root, a, cfg), done);
    st = EMB_OK;
done:
    json_decref(root);
    return st;
}

static char *cfg_strdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        rt_error(EMB_ERR_NO_MEMORY, "out of memory copying a string");
    return d;
}

/* A module folder named in modules.json: a non-empty relative path without
 * "..". (An empty Pooling path would make config.json the Pooling config.) */
static int cfg_module_path_ok(const char *p)
{
    return p[0] != '\0' && p[0] != '/' && !strstr(p, "..") && !strchr(p, '\\');
}

/* The pooling modes a Pooling config enables, in the order
 * sentence-transformers' Pooling concatenates them: a "pooling_mode"
 * string or list, else the legacy pooling_mode_* booleans in ST's order
 * (cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken), mean when
 * none is on (as ST's conversion of the legacy keys, and its default). */
static emb_status cfg_pooling_modes(const cfg_file *f, json_t *root, mdl_config *cfg)
{
    static const struct {
        const char *key, *mode;
        mdl_pooling pooling;
    } modes[] = {
        {"pooling_mode_cls_token", "cls", MDL_POOL_CLS},
        {"pooling_mode_max_tokens", "max", MDL_POOL_MAX},
        {"pooling_mode_mean_tokens", "mean", MDL_POOL_MEAN},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens", MDL_POOL_MEAN_SQRT_LEN},
        {"pooling_mode_weightedmean_tokens", "weightedmean", MDL_POOL_WEIGHTEDMEAN},
        {"pooling_mode_lasttoken", "lasttoken", MDL_POOL_LASTTOKEN},
    };
    enum { N_MODES = sizeof modes / sizeof modes[0] };
    mdl_pooling on[MDL_MAX_POOL_MODES];
    size_t n_on = 0;
    json_t *pm = json_object_get(root, "pooling_mode");
    if (pm && !json_is_null(pm)) {
        RT_FAIL_IF(!json_is_string(pm) && !json_is_array(pm), EMB_ERR_FORMAT,
                   "%s: \"pooling_mode\" must be a string or a list", f->path);
        size_t count = json_is_array(pm) ? json_array_size(pm) : 1;
        RT_FAIL_IF(count == 0 || count > MDL_MAX_POOL_MODES, EMB_ERR_UNSUPPORTED,
                   "%s: %zu pooling modes, expected 1 .. %d", f->path, count, MDL_MAX_POOL_MODES);
        for (size_t k = 0; k < count; k++) {
            const char *name = json_string_value(json_is_array(pm) ? json_array_get(pm, k) : pm);
            size_t i = 0;
            while (name && i < N_MODES && strcmp(name, modes[i].mode) != 0)
                i++;
            RT_FAIL_IF(!name || i == N_MODES, EMB_ERR_FORMAT,
                       "%s: pooling_mode '%.64s' is unknown (cls, max, mean, "
                       "mean_sqrt_len_tokens, weightedmean, lasttoken)",
                       f->path, name ? name : "?");
            on[n_on++] = modes[i].pooling;
        }
    } else {
        for (size_t i = 0; i < N_MODES; i++) {
            int b;
            RT_TRY(cfg_bool(f, root, modes[i].key, 0, &b));
            if (b)
                on[n_on++] = modes[i].pooling;
        }
        if (n_on == 0)
            on[n_on++] = MDL_POOL_MEAN;
    }
    cfg->pooling = on[0];
    cfg->n_pool_extra = (int32_t)(n_on - 1);
    for (size_t i = 1; i < n_on; i++)
        cfg->pool_extra[i - 1] = on[i];
    return EMB_OK;
}

/* <dir>/<path>/config.json of a module, a JSON object, into *root (the
 * caller frees it, also on failure); f names it in messages. */
static emb_status cfg_module_config(const char *dir, const char *path, cfg_file *f, json_t **root)
{
    char rel[1024];
    int n = snprintf(rel, sizeof rel, "%s/config.json", path);
    RT_FAIL_IF(n < 0 || (size_t)n >= sizeof rel, EMB_ERR_FORMAT,
               "%s/modules.json: module path '%.64s...' is too long", dir, path);
    RT_TRY(cfg_load(f, dir, rel, 0, root));
    RT_FAIL_IF(!json_is_object(*root), EMB_ERR_FORMAT, "%s: not a JSON object", f->path);
    return EMB_OK;
}

/* <pool_path>/config.json -> cfg's pooling modes (cfg_pooling_modes),
 * pol->include_prompt; its word_embedding_dimension (embedding_dimension
 * since sentence-transformers 5.4) must be config.json's hidden_size. */
static emb_status cfg_read_pooling(const char *dir, const char *pool_path, mdl_config *cfg,
                                   fmt_policy *pol)
{
    json_t *root = NULL;
    cfg_file f;
    emb_status st;

    RT_TRY_GOTO(st, cfg_module_config(dir, pool_path, &f, &root), done);
    RT_TRY_GOTO(st, cfg_pooling_modes(&f, root, cfg), done);
    int64_t dim = cfg->hidden;
    const char *dim_key = json_object_get(root, "embedding_dimension") ? "embedding_dimension"
                                                                        : "word_embedding_dimension";
    RT_TRY_GOTO(st, cfg_size(&f, root, dim_key, cfg->hidden, 1, MDL_MAX_HIDDEN, &dim), done);
    RT_FAIL_GOTO(st, dim != cfg->hidden, done, EMB_ERR_FORMAT,
                 "%s: %s %lld does not match config.json hidden_size %lld", f.path, dim_key,
                 (long long)dim, (long long)cfg->hidden);
    int inc;
    RT_TRY_GOTO(st, cfg_bool(&f, root, "include_prompt", 1, &inc), done);
    pol->include_prompt = inc;
    st = EMB_OK;
done:
    json_decref(root);
    return st;
}

/* A Dense module's activation_function (a torch.nn class's full name, as
 * sentence-transformers saves it; absent: its default Tanh). */
static emb_status cfg_dense_act(const cfg_file *f, json_t *root, mdl_dense_act *out)
{
    static const struct {
        const char *cls;
        mdl_dense_act act;
    } acts[] = {
        {"Identity", MDL_DENSE_IDENTITY}, {"Tanh", MDL_DENSE_TANH}, {"ReLU", MDL_DENSE_RELU},
        {"GELU", MDL_DENSE_GELU},         {"SiLU", MDL_DENSE_SILU}, {"Sigmoid", MDL_DENSE_SIGMOID},
    };
    const char *name;
    RT_TRY(cfg_str(f, root, "activation_function", &name));
    *out = MDL_DENSE_TANH;
    if (!name)
        return EMB_OK;
    /* torch.nn.modules.activation.Tanh, torch.nn.modules.linear.Identity, torch.nn.Tanh */
    const char *cls = strrchr(name, '.');
    cls = cls ? cls + 1 : name;
    if (strncmp(name, "torch.nn.", 9) == 0)
        for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
            if (strcmp(cls, acts[i].cls) == 0) {
                *out = acts[i].act;
                return EMB_OK;
            }
    return rt_error(EMB_ERR_UNSUPPORTED,
                    "%s: activation_function '%.128s' is not supported (supported: torch.nn "
                    "Identity, Tanh, ReLU, GELU, SiLU, Sigmoid)", f->path, name);
}

/* A Dense config's keys beyond the Linear: use_residual false, input and
 * output "sentence_embedding" (anything else is EMB_ERR_UNSUPPORTED). */
static emb_status cfg_dense_plain(const cfg_file *f, json_t *root)
{
    int residual;
    RT_TRY(cfg_bool(f, root, "use_residual", 0, &residual));
    RT_FAIL_IF(residual, EMB_ERR_UNSUPPORTED, "%s: use_residual is not supported", f->path);
    static const char *const io_keys[] = {"module_input_name", "module_output_name"};
    for (size_t k = 0; k < 2; k++) {
        const char *io;
        RT_TRY(cfg_str(f, root, io_keys[k], &io));
        RT_FAIL_IF(io && strcmp(io, "sentence_embedding") != 0, EMB_ERR_UNSUPPORTED,
                   "%s: %s '%.64s' is not supported (only \"sentence_embedding\")", f->path,
                   io_keys[k], io);
    }
    return EMB_OK;
}

/* <path>/config.json of a Dense module -> *d; its in_features must be the
 * size of the vector before it (`in`). */
static emb_status cfg_read_dense(const char *dir, const char *path, int64_t in, mdl_dense *d)
{
    json_t *root = NULL;
    cfg_file f;
    emb_status st;

    RT_TRY_GOTO(st, cfg_module_config(dir, path, &f, &root), done);
    RT_TRY_GOTO(st, cfg_size(&f, root, "in_features", -1, 1, MDL_MAX_INTERMEDIATE, &d->in), done);
    RT_TRY_GOTO(st, cfg_size(&f, root, "out_features", -1, 1, MDL_MAX_INTERMEDIATE, &d->out),
                done);
    RT_FAIL_GOTO(st, d->in != in, done, EMB_ERR_FORMAT,
                 "%s: in_features %lld, but the vector before this Dense module has %lld "
                 "dimensions", f.path, (long long)d->in, (long long)in);
    int bias;
    RT_TRY_GOTO(st, cfg_bool(&f, root, "bias", 1, &bias), done);
    d->bias = bias;
    RT_TRY_GOTO(st, cfg_dense_act(&f, root, &d->act), done);
    st = cfg_dense_plain(&f, root);
done:
    json_decref(root);
    return st;
}

/* The sentence-transformers modules we run, by class name: the type
 * "sentence_transformers.models.Dense" (and the module paths of newer
 * releases, "sentence_transformers.base.modules.dense.Dense", ...). */
typedef enum cfg_module {
    CFG_MOD_TRANSFORMER,
    CFG_MOD_POOLING,
    CFG_MOD_DENSE,
    CFG_MOD_NORMALIZE,
    CFG_MOD_DROPOUT, /* identity at inference */
    CFG_MOD_UNKNOWN
} cfg_module;

#define CFG_MODULES_SUPPORTED "Transformer, Pooling, Dense, Normalize, Dropout"

static cfg_module cfg_module_of(const char *type)
{
    static const char *const names[] = {"Transformer", "Pooling", "Dense", "Normalize",
                                        "Dropout"};
    const char *cls = strrchr(type, '.');
    if (strncmp(type, "sentence_transformers.", 22) != 0 || !cls)
        return CFG_MOD_UNKNOWN;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(cls + 1, names[i]) == 0)
            return (cfg_module)i;
    return CFG_MOD_UNKNOWN;
}

/* What modules.json says, in order: the Pooling folder, the Dense folders
 * (borrowed from the JSON), Normalize. */
typedef struct cfg_modules {
    const char *pool_path;
    const char *dense_path[MDL_MAX_DENSE];
    int n_dense;
    int normalize;
} cfg_modules;

/* Module i of modules.json, `m`, checked against the ones before it: the
 * Transformer first, then one Pooling, then Dense modules, at most one
 * Normalize last; Dropout anywhere after the Transformer (it does nothing
 * at inference). Anything else is EMB_ERR_UNSUPPORTED naming the module's
 * type and folder and listing the supported ones. */
static emb_status cfg_module_step(const cfg_file *f, size_t i, json_t *m, cfg_modules *mods)
{
    const char *type, *path;
    RT_FAIL_IF(!json_is_object(m), EMB_ERR_FORMAT, "%s: module %zu is not an object", f->path, i);
    RT_TRY(cfg_str(f, m, "type", &type));
    RT_TRY(cfg_str(f, m, "path", &path));
    RT_FAIL_IF(!type, EMB_ERR_FORMAT, "%s: module %zu has no \"type\"", f->path, i);
    cfg_module kind = cfg_module_of(type);
    const char *cls = kind == CFG_MOD_UNKNOWN ? type : strrchr(type, '.') + 1;
    RT_FAIL_IF(i == 0 && kind != CFG_MOD_TRANSFORMER, EMB_ERR_UNSUPPORTED,
               "%s: first module '%.128s' (folder '%.64s') is not supported (expected "
               "sentence_transformers.models.Transformer)", f->path, type, path ? path : "");
    RT_FAIL_IF(i != 0 && kind == CFG_MOD_TRANSFORMER, EMB_ERR_UNSUPPORTED,
               "%s: the Transformer module must come first", f->path);
    RT_FAIL_IF(kind == CFG_MOD_UNKNOWN, EMB_ERR_UNSUPPORTED,
               "%s: module %zu '%.128s' (folder '%.64s') is not supported (supported: "
               CFG_MODULES_SUPPORTED ")", f->path, i, type, path ? path : "");
    RT_FAIL_IF(kind != CFG_MOD_TRANSFORMER && kind != CFG_MOD_DROPOUT && mods->normalize,
               EMB_ERR_UNSUPPORTED, "%s: a %s module after Normalize is not supported", f->path,
               cls);
    RT_FAIL_IF(kind == CFG_MOD_POOLING && mods->pool_path, EMB_ERR_UNSUPPORTED,
               "%s: a Pooling module after Pooling is not supported", f->path);
    RT_FAIL_IF((kind == CFG_MOD_DENSE || kind == CFG_MOD_NORMALIZE) && !mods->pool_path,
               EMB_ERR_UNSUPPORTED, "%s: a %s module before Pooling is not supported", f->path,
               cls);
    RT_FAIL_IF((kind == CFG_MOD_POOLING || kind == CFG_MOD_DENSE) &&
                   (!path || !cfg_module_path_ok(path)),
               EMB_ERR_FORMAT, "%s: the %s module's \"path\" must be a folder of the model",
               f->path, cls);
    RT_FAIL_IF(kind == CFG_MOD_DENSE && mods->n_dense == MDL_MAX_DENSE, EMB_ERR_UNSUPPORTED,
               "%s: more than %d Dense modules", f->path, MDL_MAX_DENSE);
    if (kind == CFG_MOD_POOLING)
        mods->pool_path = path;
    else if (kind == CFG_MOD_DENSE)
        mods->dense_path[mods->n_dense++] = path;
    else if (kind == CFG_MOD_NORMALIZE)
        mods->normalize = 1;
    return EMB_OK;
}

/* <dir>/modules.json, checked module by module into *mods; *root NULL when
 * the folder has none (else the caller frees it, also on failure: mods
 * borrows from it). */
static emb_status cfg_load_modules(const char *dir, json_t **root, cfg_modules *mods)
{
    cfg_file f;
    memset(mods, 0, sizeof *mods);
    RT_TRY(cfg_load(&f, dir, "modules.json", 1, root));
    if (!*root)
        return EMB_OK;
    RT_FAIL_IF(!json_is_array(*root), EMB_ERR_FORMAT, "%s: not a JSON array of modules", f.path);
    size_t i;
    json_t *m;
    json_array_foreach(*root, i, m)
        RT_TRY(cfg_module_step(&f, i, m, mods));
    RT_FAIL_IF(!mods->pool_path, EMB_ERR_UNSUPPORTED,
               "%s: no sentence_transformers.models.Pooling module", f.path);
    return EMB_OK;
}

/* modules.json -> pooling, Dense modules, normalize. Returns *found = 0
 * when absent. */
static emb_status cfg_read_modules(const char *dir, mdl_config *cfg, fmt_policy *pol, int *found)
{
    json_t *root = NULL;
    cfg_modules mods;
    emb_status st;

    *found = 0;
    RT_TRY_GOTO(st, cfg_load_modules(dir, &root, &mods), done);
    if (!root)
        return EMB_OK;
    *found = 1;
    RT_TRY_GOTO(st, cfg_read_pooling(dir, mods.pool_path, cfg, pol), done);
    int64_t in = (int64_t)(cfg->n_pool_extra + 1) * cfg->hidden;
    for (int k = 0; k < mods.n_dense; k++) {
        RT_TRY_GOTO(st, cfg_read_dense(dir, mods.dense_path[k], in, &cfg->dense[k]), done);
        in = cfg->dense[k].out;
    }
    cfg->n_dense = mods.n_dense;
    cfg->normalize = mods.normalize;
    st = EMB_OK;
done:
    json_decref(root);
    return st;
}

emb_status cv_read_dense_weights(const char *dir, cv_weights *w)
{
    json_t *root = NULL;
    cfg_modules mods;
    emb_status st;

    RT_TRY_GOTO(st, cfg_load_modules(dir, &root, &mods), done);
    for (int k = 0; k < mods.n_dense; k++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "st_dense.%d.", k);
        RT_TRY_GOTO(st, cv_weights_add_module(w, dir, mods.dense_path[k], prefix), done);
    }
    st = EMB_OK;
done:
    json_decref(root);
    return st;
}

/* config_sentence_transformers.json -> prompts. */
static emb_status cfg_read_prompts(const char *dir, fmt_policy *pol)
{
    json_t *root = NULL;
    cfg_file f;
    emb_status st;

    RT_TRY_GOTO(st, cfg_load(&f, dir, "config_sentence_transformers.json", 1, &root), done);
    if (!root)
        return EMB_OK;
    RT_FAIL_GOTO(st, !json_is_object(root), done, EMB_ERR_FORMAT, "%s: not a JSON object", f.path);
    json_t *prompts = json_object_get(root, "prompts");
    RT_FAIL_GOTO(st, prompts && !json_is_null(prompts) && !json_is_object(prompts), done,
                 EMB_ERR_FORMAT, "%s: \"prompts\" must be an object", f.path);
    const char *key;
    json_t *v;
    if (json_is_object(prompts)) {
        json_object_foreach(prompts, key, v)
        {
            RT_FAIL_GOTO(st, !json_is_string(v), done, EMB_ERR_FORMAT,
                         "%s: prompts[\"%.64s\"] must be a string", f.path, key);
        }
    }
    const char *q = NULL, *p = NULL, *def = NULL, *def_name;
    if (json_is_object(prompts)) {
        /* nomic-embed-text names them search_query / search_document */
        q = json_string_value(json_object_get(prompts, "query"));
        if (!q)
            q = json_string_value(json_object_get(prompts, "search_query"));
        p = json_string_value(json_object_get(prompts, "passage"));
        if (!p)
            p = json_string_value(json_object_get(prompts, "document"));
        if (!p)
            p = json_string_value(json_object_get(prompts, "search_document"));
    }
    RT_TRY_GOTO(st, cfg_str(&f, root, "default_prompt_name", &def_name), done);
    if (def_name) {
        def = json_is_object(prompts) ? json_string_value(json_object_get(prompts, def_name))
                                      : NULL;
        RT_FAIL_GOTO(st, !def, done, EMB_ERR_FORMAT,
                     "%s: default_prompt_name '%.64s' is not one of the prompts", f.path, def_name);
    }
    if ((q && !(pol->prompt_query = cfg_strdup(q))) ||
        (p && !(pol->prompt_passage = cfg_strdup(p))) ||
        (def && !(pol->prompt_default = cfg_strdup(def)))) {
        st = EMB_ERR_NO_MEMORY;
        goto done;
    }
    st = EMB_OK;
done:
    json_decref(root);
    return st;
}

/* sentence_bert_config.json, when there: its max_seq_length (positive;
 * *max_len stays 0 when unset) and do_lower_case (pol->lowercase). */
static emb_status cfg_read_sbert(const char *dir, int64_t *max_len, fmt_policy *pol)
{
    json_t *root = NULL;
    cfg_file f;
    emb_status st;
    cfg_have have;

    RT_TRY_GOTO(st, cfg_load(&f, dir, "sentence_bert_config.json", 1, &root), done);
    if (!root)
        return EMB_OK;
    RT_FAIL_GOTO(st, !json_is_object(root), done, EMB_ERR_FORMAT, "%s: not a JSON object", f.path);
    RT_TRY_GOTO(st, cfg_int(&f, root, "max_seq_length", max_len, &have), done);
    if (have != CFG_SET)
        *max_len = 0;
    else if (*max_len < 1) {
        st = rt_error(EMB_ERR_FORMAT, "%s: \"max_seq_length\" = %lld must be positive", f.path,
                      (long long)*max_len);
        goto done;
    }
    int lower;
    RT_TRY_GOTO(st, cfg_bool(&f, root, "do_lower_case", 0, &lower), done);
    pol->lowercase = lower;
    st = EMB_OK;
done:
    json_decref(root);
    return st;
}

/* tokenizer_config.json's model_max_length, when there: at least 1; the
 * no-limit sentinel (int(1e30) and other huge values) and null leave
 * *max_len 0. */
static emb_status cfg_read_model_max_length(const char *dir, int64_t *max_len)
{
    json_t *root = NULL;
    cfg_file f;
    emb_status st;

    /* cv_json_load reads this file's integers as reals: the no-limit
     * sentinel int(1e30) does not fit jansson's integers */
    RT_TRY_GOTO(st, cfg_load(&f, dir, "tokenizer_config.json", 1, &root), done);
    if (!root)
        return EMB_OK;
    RT_FAIL_GOTO(st, !json_is_object(root), done, EMB_ERR_FORMAT, "%s: not a JSON object", f.path);
    json_t *v = json_object_get(root, "model_max_length");
    if (v && !json_is_null(v)) {
        RT_FAIL_GOTO(st, !json_is_number(v), done, EMB_ERR_FORMAT,
                     "%s: \"model_max_length\" must be a number", f.path);
        double d = json_number_value(v);
        RT_FAIL_GOTO(st, !(d >= 1.0), done, EMB_ERR_FORMAT,
                     "%s: \"model_max_length\" = %g must be positive", f.path, d);
        if (d < CFG_MAX_LENGTH_SENTINEL)
            *max_len = (int64_t)d;
    }
    st = EMB_OK;
done:
    json_decref(root);
    return st;
}

/* pol->max_tokens: sentence_bert_config.json max_seq_length, else
 * tokenizer_config.json model_max_length capped by max_position_embeddings
 * (as sentence-transformers); encoders' position table caps both. Decoders'
 * RoPE has no table: their max_seq_length is kept as given (positions past
 * max_position_embeddings are what RoPE scaling is for). Also do_lower_case. */
static emb_status cfg_read_max_tokens(const char *dir, const mdl_config *cfg, fmt_policy *pol)
{
    /* XLM-R's, RoBERTa's, CamemBERT's and MPNet's positions start at padding_idx + 1 */
    int64_t limit = cfg->max_position - mdl_first_position(cfg);
    RT_FAIL_IF(limit < 1, EMB_ERR_FORMAT,
               "%s/config.json: max_position_embeddings %lld leaves no position", dir,
               (long long)cfg->max_position);
    int64_t max_len = 0;
    RT_TRY(cfg_read_sbert(dir, &max_len, pol));
    if (max_len > 0 && mdl_arch_of(cfg)->family == MDL_FAMILY_LLAMA) {
        pol->max_tokens = max_len < MDL_MAX_ROPE_POSITIONS ? max_len : MDL_MAX_ROPE_POSITIONS;
        return EMB_OK;
    }
    if (max_len == 0)
        RT_TRY(cfg_read_model_max_length(dir, &max_len));
    pol->max_tokens = max_len > 0 && max_len < limit ? max_len : limit;
    return EMB_OK;
}

void cv_config_defaults(mdl_config *cfg, fmt_policy *pol)
{
    if (cfg) {
        memset(cfg, 0, sizeof *cfg);
        cfg->pad_token_id = -1;
        cfg->rope_theta = 10000.0;
        cfg->pooling = MDL_POOL_MEAN;
    }
    if (pol) {
        fmt_policy_defaults(pol);
        /* sentence-transformers 5.4 and later feed (prompt + text) as is; up
         * to 5.3 it was str.strip()-ed (emb_convert_options.strip = 1) */
        pol->strip = 0;
    }
}

emb_status cv_read_config(const char *dir, mdl_config *cfg, fmt_policy *pol)
{
    emb_status st;
    int has_modules = 0;

    RT_FAIL_IF(!dir || !cfg || !pol, EMB_ERR_INVALID_ARGUMENT, "cv_read_config: NULL argument");
    cv_config_defaults(cfg, pol);

    RT_TRY_GOTO(st, cfg_read_model(dir, cfg), fail);
    int decoder = mdl_arch_of(cfg)->family == MDL_FAMILY_LLAMA; /* cfg_read_model found it */
    cfg->pooling = decoder ? MDL_POOL_LASTTOKEN : MDL_POOL_MEAN;
    cfg->normalize = 0;
    RT_TRY_GOTO(st, cfg_read_modules(dir, cfg, pol, &has_modules), fail);
    RT_TRY_GOTO(st, cfg_read_prompts(dir, pol), fail);
    RT_TRY_GOTO(st, cfg_read_max_tokens(dir, cfg, pol), fail);
    return EMB_OK;

fail:
    fmt_policy_free(pol);
    cv_config_defaults(cfg, pol);
    return st;
}
