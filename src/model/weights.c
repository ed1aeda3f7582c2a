/* Binding weight tensors: finding them by name, checking their shapes
 * against what the config implies, and counting the parameters bound
 * (mdl_params). Used with data == NULL by the converter (shape check) and
 * with data by mdl_create. The products themselves run in linear.c. */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
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

/* What a bound tensor may be: a float tensor, a Linear weight (float or
 * int8), or an int8 weight's outlier column indices (int32). */
enum { BIND_FLOAT, BIND_LINEAR, BIND_INDICES };

/* The tensor `name` with shape [d0] (d1 == 0) or [d0, d1], or EMB_ERR_FORMAT
 * naming it; with a resolving binder it must carry data; its element type
 * one that `kind` allows. */
static emb_status bind_tensor(const mdl_binder *b, const char *name, int64_t d0, int64_t d1,
                              int kind, const mdl_tensor **out)
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
    if (t->dtype == KERN_W_I8 && kind != BIND_LINEAR)
        return rt_error(EMB_ERR_FORMAT,
                        "model: weight tensor %s is int8, but only Linear weights may be", name);
    if (t->dtype == KERN_W_I32 && kind != BIND_INDICES)
        return rt_error(EMB_ERR_FORMAT,
                        "model: weight tensor %s is int32, but only int8 outlier columns may be",
                        name);
    if (t->dtype != KERN_W_I32 && kind == BIND_INDICES)
        return rt_error(EMB_ERR_FORMAT, "model: weight tensor %s must be int32 column indices",
                        name);
    if (t->dtype != KERN_W_F32 && t->dtype != KERN_W_F16 && t->dtype != KERN_W_BF16 &&
        t->dtype != KERN_W_I8 && t->dtype != KERN_W_I32)
        return rt_error(EMB_ERR_FORMAT, "model: weight tensor %s has an unknown element type", name);
    if (b->resolve && !t->data)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: weight tensor %s has no data", name);
    *out = t;
    return EMB_OK;
}

/* n more parameters bound (mdl_binder.params). */
static void count_params(const mdl_binder *b, uint64_t n)
{
    if (b->params)
        *b->params += n;
}

/* mdl_bind without counting (an int8 weight's scales). */
static emb_status bind_vector(const mdl_binder *b, const char *name, int64_t d0,
                              const float **out)
{
    const mdl_tensor *t;
    emb_status st = bind_tensor(b, name, d0, 0, BIND_FLOAT, &t);
    if (st != EMB_OK)
        return st;
    if (t->dtype != KERN_W_F32) /* the reader widens every vector */
        return rt_error(EMB_ERR_FORMAT, "model: weight vector %s is not f32 in memory", name);
    *out = t->data;
    return EMB_OK;
}

emb_status mdl_bind(const mdl_binder *b, const char *name, int64_t d0, const float **out)
{
    emb_status st = bind_vector(b, name, d0, out);
    if (st == EMB_OK)
        count_params(b, (uint64_t)d0);
    return st;
}

emb_status mdl_bind_matrix(const mdl_binder *b, const char *name, int64_t d0, int64_t d1,
                           mdl_matrix *out)
{
    const mdl_tensor *t;
    emb_status st = bind_tensor(b, name, d0, d1, BIND_FLOAT, &t);
    if (st != EMB_OK)
        return st;
    out->data = t->data;
    out->wt = t->dtype;
    out->rows = (size_t)d0;
    out->cols = (size_t)d1;
    return EMB_OK;
}

const float *mdl_matrix_row(const mdl_matrix *m, size_t r, float *buf)
{
    const unsigned char *p = (const unsigned char *)m->data + r * m->cols * kern_wtype_size(m->wt);
    if (m->wt == KERN_W_F32 && (uintptr_t)p % sizeof(float) == 0)
        return (const float *)(const void *)p;
    kern_widen(p, m->wt, m->cols, buf);
    return buf;
}

emb_status mdl_bind_layer_vec(const mdl_binder *b, const char *prefix, size_t layer,
                              const char *suffix, int64_t d, const float **out)
{
    char name[256];
    snprintf(name, sizeof name, "%s%zu.%s", prefix, layer, suffix);
    return mdl_bind(b, name, d, out);
}

emb_status mdl_bind_layer_linear(const mdl_binder *b, const char *prefix, size_t layer,
                                 const char *suffix, int64_t out, int64_t in, int bias,
                                 mdl_linear *l)
{
    char name[256];
    snprintf(name, sizeof name, "%s%zu.%s", prefix, layer, suffix);
    return mdl_bind_linear(b, name, out, in, bias, l);
}

/* An int8 weight's K outlier features (mdl_bind_linear): "<prefix>.weight_
 * outlier_cols" int32 [K], each in [0, in) and none twice, and
 * "<prefix>.weight_outlier_weight" f32 [K, out], into l->outliers. */
static emb_status bind_outliers(const mdl_binder *b, const char *prefix, int64_t k_out,
                                mdl_linear *l)
{
    char cname[256], wname[256];
    snprintf(cname, sizeof cname, "%s.weight_outlier_cols", prefix);
    snprintf(wname, sizeof wname, "%s.weight_outlier_weight", prefix);
    if (k_out < 1 || k_out > (int64_t)KERN_I8_MAX_OUTLIERS || (size_t)k_out > l->in)
        return rt_error(EMB_ERR_FORMAT,
                        "model: int8 weight %s.weight has %lld outlier features, expected 1 .. "
                        "min(%zu, its %zu inputs)",
                        prefix, (long long)k_out, (size_t)KERN_I8_MAX_OUTLIERS, l->in);
    const mdl_tensor *c, *w;
    emb_status st = bind_tensor(b, cname, k_out, 0, BIND_INDICES, &c);
    if (st == EMB_OK)
        st = bind_tensor(b, wname, k_out, (int64_t)l->out, BIND_FLOAT, &w);
    if (st != EMB_OK)
        return st;
    if (w->dtype != KERN_W_F32)
        return rt_error(EMB_ERR_FORMAT, "model: weight tensor %s is not f32 in memory", wname);
    size_t k = (size_t)k_out;
    const int32_t *cols = c->data;
    for (size_t t = 0; cols && t < k; t++) {
        if (cols[t] < 0 || (size_t)cols[t] >= l->in)
            return rt_error(EMB_ERR_FORMAT,
                            "model: weight tensor %s[%zu] is %ld, expected a column in 0 .. %zu",
                            cname, t, (long)cols[t], l->in - 1);
        for (size_t u = 0; u < t; u++) /* K <= 256: no table needed */
            if (cols[u] == cols[t])
                return rt_error(EMB_ERR_FORMAT,
                                "model: weight tensor %s names column %ld twice (at %zu and %zu)",
                                cname, (long)cols[t], u, t);
    }
    l->outliers.count = k;
    l->outliers.cols = cols;
    l->outliers.w = w->data;
    l->outliers.ldw = l->out;
    return EMB_OK;
}

emb_status mdl_bind_linear(const mdl_binder *b, const char *prefix, int64_t out, int64_t in,
                           int bias, mdl_linear *l)
{
    char name[256];
    emb_status st;
    const mdl_tensor *w;
    memset(l, 0, sizeof *l);
    l->bf16 = b->bf16;
    snprintf(name, sizeof name, "%s.weight", prefix);
    if ((st = bind_tensor(b, name, out, in, BIND_LINEAR, &w)) != EMB_OK)
        return st;
    if (b->linear_marks)
        b->linear_marks[w - b->w->t] = 1;
    count_params(b, (uint64_t)out * (uint64_t)in); /* logical [out, in], whatever its type */
    if (b->amax)
        l->amax = b->amax[w - b->w->t];
    l->w = w->data;
    l->wt = w->dtype;
    l->out = (size_t)out;
    l->in = (size_t)in;
    snprintf(name, sizeof name, "%s.weight_scale", prefix);
    if (w->dtype == KERN_W_I8) {
        if ((size_t)in > KERN_I8_MAX_K)
            return rt_error(EMB_ERR_UNSUPPORTED,
                            "model: int8 weight %s.weight has %lld inputs, at most %zu supported",
                            prefix, (long long)in, KERN_I8_MAX_K);
        if ((st = bind_vector(b, name, out, &l->scale)) != EMB_OK)
            return st;
        for (size_t j = 0; l->scale && j < l->out; j++)
            if (!(l->scale[j] >= 0.0f && l->scale[j] <= FLT_MAX))
                return rt_error(EMB_ERR_FORMAT,
                                "model: weight tensor %s[%zu] is %g, expected a finite scale >= 0",
                                name, j, (double)l->scale[j]);
        if (w->outliers && (st = bind_outliers(b, prefix, w->outliers, l)) != EMB_OK)
            return st;
    } else if (mdl_weights_find(b->w, name)) {
        return rt_error(EMB_ERR_FORMAT, "model: %s is present but %s.weight is not int8", name,
                        prefix);
    }
    if (!l->outliers.count) {
        static const char *const unused[] = { "outlier_cols", "outlier_weight" };
        for (size_t i = 0; i < 2; i++) {
            snprintf(name, sizeof name, "%s.weight_%s", prefix, unused[i]);
            if (mdl_weights_find(b->w, name))
                return rt_error(EMB_ERR_FORMAT,
                                "model: %s is present but %s.weight has no outlier features",
                                name, prefix);
        }
    }
    snprintf(name, sizeof name, "%s.bias", prefix);
    if (bias > 0 || (bias == 0 && mdl_weights_find(b->w, name)))
        if ((st = mdl_bind(b, name, out, &l->b)) != EMB_OK)
            return st;
    return EMB_OK;
}
