/* Version, status strings and the last-error message. */
#include <math.h>

#include "api/api.h"
#include "runtime/runtime.h"

const char *emb_version(void)
{
    return EMB_VERSION_STRING;
}

const char *emb_status_string(emb_status status)
{
    switch (status) {
    case EMB_OK: return "EMB_OK: success";
    case EMB_ERR_INVALID_ARGUMENT: return "EMB_ERR_INVALID_ARGUMENT: invalid argument";
    case EMB_ERR_NO_MEMORY: return "EMB_ERR_NO_MEMORY: out of memory";
    case EMB_ERR_IO: return "EMB_ERR_IO: input/output error";
    case EMB_ERR_FORMAT: return "EMB_ERR_FORMAT: malformed or corrupt file";
    case EMB_ERR_VERSION: return "EMB_ERR_VERSION: model file from a newer format version";
    case EMB_ERR_UNSUPPORTED: return "EMB_ERR_UNSUPPORTED: not supported";
    case EMB_ERR_INVALID_UTF8: return "EMB_ERR_INVALID_UTF8: text is not valid UTF-8";
    case EMB_ERR_TOO_LONG: return "EMB_ERR_TOO_LONG: input longer than the model's maximum";
    case EMB_ERR_BUFFER_TOO_SMALL: return "EMB_ERR_BUFFER_TOO_SMALL: output buffer too small";
    case EMB_ERR_NO_WEIGHTS: return "EMB_ERR_NO_WEIGHTS: tokenizer-only model file";
    case EMB_ERR_INTERNAL: return "EMB_ERR_INTERNAL: internal error (a bug in libemb)";
    }
    return "EMB_ERR_UNKNOWN: unknown status code";
}

const char *emb_last_error(void)
{
    return rt_last_error();
}

emb_status emb_cosine(const float *a, const float *b, size_t dim, float *out)
{
    rt_error_clear();
    if (!a || !b || !out)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_cosine: NULL %s",
                        !a ? "a" : !b ? "b" : "out");
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < dim; i++) {
        dot += (double)a[i] * (double)b[i];
        na += (double)a[i] * (double)a[i];
        nb += (double)b[i] * (double)b[i];
    }
    *out = (na > 0 && nb > 0) ? (float)(dot / (sqrt(na) * sqrt(nb))) : 0.0f;
    return EMB_OK;
}
