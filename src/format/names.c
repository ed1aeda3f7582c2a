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

const char *fmt_tokenizer_name(tok_model_kind k)
{
    const char *name = embn_tokenizer_name((unsigned)k);
    return name ? name : "none";
}
