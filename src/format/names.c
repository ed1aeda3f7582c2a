/* Names shared by the writer and the reader: tensor prefixes, pooling,
 * tokenizer model (the lists themselves are EMB_POOLING_MAP and
 * EMB_TOKENIZER_MAP in include/emb_names.h). */
#include <string.h>

#include "emb_names.h"
#include "format/format.h"

const char *fmt_strip_prefix(const char *name)
{
    static const char *const prefixes[] = { "bert.", "model.", "roberta." };
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
