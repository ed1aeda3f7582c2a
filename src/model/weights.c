/* Finding weight tensors by name and checking their shapes against what the
 * config implies. Used with data == NULL by the converter (shape check) and
 * with data by mdl_create. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

const mdl_tensor *mdl_weights_find(const mdl_weights *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->t[i].name && strcmp(w->t[i].name, name) == 0)
            return &w->t[i];
    return NULL;
}

static void shape_str(const mdl_tensor *t, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    int nd = t->ndim < 0 ? 0 : (t->ndim > 4 ? 4 : t->ndim);
    used += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < nd && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "",
                                 (long long)t->shape[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

emb_status mdl_bind(const mdl_binder *b, const char *name, int64_t d0, int64_t d1,
                    const float **out)
{
    const mdl_tensor *t = mdl_weights_find(b->w, name);
    if (!t)
        return rt_error(EMB_ERR_FORMAT, "model: weight tensor %s is missing", name);
    int ok = d1 == 0 ? (t->ndim == 1 && t->shape[0] == d0)
                     : (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1);
    if (!ok) {
        char got[96];
        shape_str(t, got, sizeof got);
        if (d1 == 0)
            return rt_error(EMB_ERR_FORMAT, "model: weight tensor %s has shape %s, expected [%lld]",
                            name, got, (long long)d0);
        return rt_error(EMB_ERR_FORMAT, "model: weight tensor %s has shape %s, expected [%lld, %lld]",
                        name, got, (long long)d0, (long long)d1);
    }
    if (b->resolve && !t->data)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: weight tensor %s has no data", name);
    *out = t->data;
    return EMB_OK;
}

emb_status mdl_bind_linear(const mdl_binder *b, const char *prefix, int64_t out, int64_t in,
                           int bias, mdl_linear *l)
{
    char name[256];
    emb_status st;
    l->out = (size_t)out;
    l->in = (size_t)in;
    l->b = NULL;
    l->packed = NULL;
    snprintf(name, sizeof name, "%s.weight", prefix);
    if ((st = mdl_bind(b, name, out, in, &l->w)) != EMB_OK)
        return st;
    snprintf(name, sizeof name, "%s.bias", prefix);
    if (bias > 0 || (bias == 0 && mdl_weights_find(b->w, name)))
        if ((st = mdl_bind(b, name, out, 0, &l->b)) != EMB_OK)
            return st;
    return b->resolve && b->pack ? mdl_linear_pack(l) : EMB_OK;
}

emb_status mdl_linear_pack(mdl_linear *l)
{
    l->packed = NULL;
    size_t floats = kern_pack_nt_size(l->out, l->in), bytes;
    if (floats == 0 || rt_mul_overflow(floats, sizeof(float), &bytes) || bytes > SIZE_MAX - 63)
        return rt_error(EMB_ERR_NO_MEMORY, "model: packed weight [%zu, %zu] is too large", l->out, l->in);
    l->packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!l->packed)
        return rt_error(EMB_ERR_NO_MEMORY, "model: out of memory packing a [%zu, %zu] weight", l->out, l->in);
    kern_pack_nt(l->out, l->in, l->w, l->in, l->packed);
    return EMB_OK;
}

void mdl_linear_release(mdl_linear *l)
{
    free(l->packed);
    l->packed = NULL;
}

void mdl_linear_apply(const mdl_linear *l, size_t m, const float *x, size_t ldx, float *y,
                      size_t ldy)
{
    /* y[m, out] = x[m, in] · w[out, in]^T + b */
    if (l->packed)
        kern_gemm_packed(m, l->out, l->in, x, ldx, l->packed, l->in, l->b, y, ldy);
    else
        kern_gemm_nt(m, l->out, l->in, x, ldx, l->w, l->in, l->b, y, ldy);
}

int mdl_size_add(size_t *total, size_t a, size_t b)
{
    size_t p;
    return rt_mul_overflow(a, b, &p) || rt_add_overflow(*total, p, total);
}
