/* Names shared by the writer and the reader: tensor prefixes, pooling. */
#include <string.h>

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

static const char *const pooling_names[] = { "mean", "cls", "lasttoken", "lasttoken-logits" };

const char *fmt_pooling_name(mdl_pooling p)
{
    unsigned i = (unsigned)p;
    return i < sizeof pooling_names / sizeof *pooling_names ? pooling_names[i] : "unknown";
}

int fmt_pooling_parse(const char *name, mdl_pooling *out)
{
    for (unsigned i = 0; i < sizeof pooling_names / sizeof *pooling_names; i++) {
        if (strcmp(name, pooling_names[i]) == 0) {
            *out = (mdl_pooling)i;
            return 0;
        }
    }
    return -1;
}
