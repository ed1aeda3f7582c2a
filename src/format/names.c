/* Names shared by the writer and the reader: tensor prefixes, pooling,
 * tokenizer model (the lists themselves are EMB_POOLING_MAP and
 * EMB_TOKENIZER_MAP in include/emb_names.h). */
#include <string.h>

#include "emb_names.h"
#include "format/format.h"

const char *fmt_strip_prefix(const char *name)
{
    static const char *const prefixes[] = { "bert.", "model.", "roberta.", "distilbert.",
                                            "new." };
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], n) == 0 && name[n] != '\0')
            return name + n;
    }
    return name;
}

const char *fmt_pooling_name(mdl_pooling p)
{
    const char *name = embn_pooling_name((unsigned)p);
    return name ? name : "unknown";
}

int fmt_pooling_parse(const char *name, mdl_pooling *out)
{
    unsigned v;
    if (embn_pooling_parse(name, &v) != 0)
        return -1;
    *out = (mdl_pooling)v;
    return 0;
}

int fmt_pooling_list_name(const mdl_config *cfg, char *buf, size_t cap)
{
    size_t used = 0;
    for (size_t i = 0; i <= (size_t)cfg->n_pool_extra && i < MDL_MAX_POOL_MODES; i++) {
        const char *name = fmt_pooling_name(mdl_pool_mode(cfg, i));
        size_t n = strlen(name);
        if (used + (i > 0) + n + 1 > cap)
            return -1;
        if (i > 0)
            buf[used++] = '+';
        memcpy(buf + used, name, n + 1);
        used += n;
    }
    return 0;
}

int fmt_pooling_list_parse(const char *s, mdl_config *cfg)
{
    mdl_pooling modes[MDL_MAX_POOL_MODES];
    size_t n = 0;
    for (const char *p = s;; p++) {
        const char *end = strchr(p, '+');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[32];
        if (len == 0 || len >= sizeof name || n == MDL_MAX_POOL_MODES)
            return -1;
        memcpy(name, p, len);
        name[len] = '\0';
        if (fmt_pooling_parse(name, &modes[n++]) != 0)
            return -1;
        if (!end)
            break;
        p = end;
    }
    cfg->pooling = modes[0];
    cfg->n_pool_extra = (int32_t)(n - 1);
    for (size_t i = 1; i < n; i++)
        cfg->pool_extra[i - 1] = modes[i];
    return 0;
}

void fmt_reachable_config(const mdl_config *cfg, const fmt_policy *pol, mdl_config *out)
{
    *out = *cfg;
    int64_t max = pol ? pol->max_tokens : 0;
    if (max <= 0)
        return;
    /* (Gemma3's and ModernBERT's window layers also take their own RoPE base: kept) */
    if (out->sliding_window > 0 && max <= out->sliding_window && out->rope_local_theta == 0.0) {
        out->sliding_window = 0;
        memset(out->window_layers, 0, sizeof out->window_layers);
    }
    /* dynamic NTK up to max_position is the plain table when the init-time
     * base ratio factor·max/max − (factor − 1) is exactly 1 */
    double m = (double)out->max_position, f = out->rope_factor;
    if (out->rope_type == MDL_ROPE_DYNAMIC && max <= out->max_position && f * m / m - (f - 1) == 1.0) {
        out->rope_type = MDL_ROPE_DEFAULT;
        out->rope_factor = 0;
    }
}

int fmt_minor_version(const mdl_config *cfg, const fmt_policy *pol, int int8, int outliers)
{
    if (cfg && (cfg->rope_local_theta != 0.0 || cfg->attn_scalar != 0.0))
        return 5;
    if (cfg && (cfg->rope_type != MDL_ROPE_DEFAULT || cfg->sliding_window > 0))
        return 4;
    if (cfg && (cfg->n_dense || cfg->n_pool_extra || cfg->pooling > MDL_POOL_LASTTOKEN_LOGITS ||
                !pol->include_prompt))
        return 3;
    return !int8 ? 0 : outliers ? 2 : 1;
}

/* EMB_DTYPE_MAP's F32, F16, BF16, INT8 and kern_wtype's F32, F16, BF16, I8:
 * the same four, in the same order, one table. */
static const struct {
    emb_dtype d;
    kern_wtype w;
} dtype_wtype[] = {
    { EMB_DTYPE_F32, KERN_W_F32 },
    { EMB_DTYPE_F16, KERN_W_F16 },
    { EMB_DTYPE_BF16, KERN_W_BF16 },
    { EMB_DTYPE_INT8, KERN_W_I8 },
};

int fmt_dtype_wtype(emb_dtype d, kern_wtype *out)
{
    for (size_t i = 0; i < sizeof dtype_wtype / sizeof *dtype_wtype; i++)
        if (dtype_wtype[i].d == d) {
            *out = dtype_wtype[i].w;
            return 0;
        }
    return -1;
}

emb_dtype fmt_wtype_dtype(kern_wtype w)
{
    for (size_t i = 0; i < sizeof dtype_wtype / sizeof *dtype_wtype; i++)
        if (dtype_wtype[i].w == w)
            return dtype_wtype[i].d;
    return EMB_DTYPE_AUTO;
}

const char *fmt_wtype_name(kern_wtype w)
{
    const char *name = embn_dtype_name(fmt_wtype_dtype(w));
    return name ? name : "unknown";
}

const char *fmt_tokenizer_name(tok_model_kind k)
{
    const char *name = embn_tokenizer_name((unsigned)k);
    return name ? name : "none";
}
