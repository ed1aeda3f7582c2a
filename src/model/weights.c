/* Finding weight tensors by name and checking their shapes against what the
 * config implies. Used with data == NULL by the converter (shape check) and
 * with data by mdl_create. */
#include <float.h>
#include <math.h>
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

emb_status mdl_bind(const mdl_binder *b, const char *name, int64_t d0, const float **out)
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
        if ((st = mdl_bind(b, name, out, &l->scale)) != EMB_OK)
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

static _Thread_local int mdl_thread_budget = 1;

int mdl_threads(void)
{
    return mdl_thread_budget;
}

void mdl_threads_set(int n_threads)
{
    mdl_thread_budget = n_threads > 1 ? n_threads : 1;
}

/* y[m, j0 .. j0+cols) = x · w[j0 .. j0+cols)^T + b[j0 ..]: panels from
 * j0 / KERN_PACK_NR on, so the same chains as the whole product. 0, or -1
 * without GEMM scratch. */
static int linear_cols(const mdl_linear *l, size_t m, const float *x, size_t ldx, float *y,
                       size_t ldy, size_t j0, size_t cols)
{
    if (l->wt == KERN_W_I8) { /* the panels before column j0 (a multiple of 32) */
        kern_i8_outliers o = l->outliers;
        if (o.count)
            o.w += j0;
        return kern_linear_i8p(m, cols, l->in, x, ldx,
                               (const uint8_t *)l->w + kern_i8_panels_size(j0, l->in),
                               l->scale + j0, &o, l->b ? l->b + j0 : NULL, y + j0, ldy);
    }
    const unsigned char *w = (const unsigned char *)l->w + j0 * l->in * kern_wtype_size(l->wt);
    return kern_linear(m, cols, l->in, x, ldx, w, l->wt, l->in, l->bf16, l->b ? l->b + j0 : NULL,
                       y + j0, ldy);
}

/* Rows up to which kern_linear runs its few-row paths (AVX-512: row lanes
 * up to 48 rows), where its per-call cost matters. */
#define FEW_ROWS 48

/* Up to MDL_LINEAR_MANY products in one fork-join: product i owns tasks
 * [first[i], first[i+1]), each a contiguous range of its whole panels. */
typedef struct linear_job {
    const mdl_linear_call *c;
    size_t n;
    size_t panels[MDL_LINEAR_MANY], tasks[MDL_LINEAR_MANY], first[MDL_LINEAR_MANY + 1];
    int failed[MDL_LINEAR_MANY * 2 * 64]; /* per task: set when it ran out of scratch */
} linear_job;

static void linear_task(void *arg, size_t t)
{
    linear_job *j = arg;
    size_t i = 0;
    while (t >= j->first[i + 1])
        i++;
    const mdl_linear_call *c = &j->c[i];
    size_t u = t - j->first[i];
    size_t p0 = u * j->panels[i] / j->tasks[i], p1 = (u + 1) * j->panels[i] / j->tasks[i];
    size_t j0 = p0 * KERN_PACK_NR, j1 = p1 * KERN_PACK_NR;
    if (j1 > c->l->out)
        j1 = c->l->out;
    if (j1 > j0 && linear_cols(c->l, c->m, c->x, c->ldx, c->y, c->ldy, j0, j1 - j0) != 0)
        j->failed[t] = 1;
}

static emb_status linear_oom(void)
{
    return rt_error(EMB_ERR_NO_MEMORY, "model: out of memory for GEMM scratch");
}

/* Calibration (mdl_create_calibration): l->amax[t] = max(l->amax[t],
 * |x[r, t]|) over the m rows (NaN never compares greater). */
static void linear_record(const mdl_linear *l, size_t m, const float *x, size_t ldx)
{
    for (size_t r = 0; r < m; r++)
        for (size_t t = 0; t < l->in; t++) {
            float a = fabsf(x[r * ldx + t]);
            if (a > l->amax[t])
                l->amax[t] = a;
        }
}

emb_status mdl_linear_apply_many(const mdl_linear_call *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].l->amax) /* only in the converter's calibration model */
            linear_record(c[i].l, c[i].m, c[i].x, c[i].ldx);
    size_t threads = (size_t)mdl_threads();
    if (threads > 64)
        threads = 64;
    linear_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.n = n;
    if (threads >= 2 && n <= MDL_LINEAR_MANY) {
        for (size_t i = 0; i < n; i++) {
            /* whole panels; per thread one task of a few-row product (each
             * task transposes x and starts its weight stream cold: for a
             * 16-token query one task per thread measured ~8 % faster than
             * two), two of a larger one (a late worker costs half as much) */
            j.panels[i] = c[i].m ? c[i].l->out / KERN_PACK_NR + (c[i].l->out % KERN_PACK_NR != 0) : 0;
            size_t per = c[i].m <= FEW_ROWS ? threads : 2 * threads;
            j.tasks[i] = per < j.panels[i] ? per : j.panels[i];
            j.first[i + 1] = j.first[i] + j.tasks[i];
        }
        if (j.first[n] >= 2 && j.first[n] <= sizeof j.failed / sizeof j.failed[0]) {
            rt_parallel_run((int)threads, j.first[n], linear_task, &j);
            for (size_t t = 0; t < j.first[n]; t++)
                if (j.failed[t])
                    return linear_oom();
            return EMB_OK;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (linear_cols(c[i].l, c[i].m, c[i].x, c[i].ldx, c[i].y, c[i].ldy, 0, c[i].l->out) != 0)
            return linear_oom();
    return EMB_OK;
}

emb_status mdl_linear_apply(const mdl_linear *l, size_t m, const float *x, size_t ldx, float *y,
                            size_t ldy)
{
    /* y[m, out] = x[m, in] · w[out, in]^T + b */
    mdl_linear_call c = { l, m, x, ldx, y, ldy };
    return mdl_linear_apply_many(&c, 1);
}

int mdl_size_add(size_t *total, size_t a, size_t b)
{
    size_t p;
    return rt_mul_overflow(a, b, &p) || rt_add_overflow(*total, p, total);
}
