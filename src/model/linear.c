/* The Linear dispatcher: y = x · w^T + b for the layers bound by weights.c,
 * one product or several independent ones (q, k, v) split over column
 * panels on the runtime's pool, as the execution context allows. Every
 * output element is computed by the same chain whatever the split, so the
 * numbers never depend on the thread count. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

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
 * [first[i], first[i+1]), each a contiguous range of its whole panels. The
 * task count follows from the thread budget (at most 2 per thread and
 * product), which the runtime caps (RT_MAX_THREADS): nothing here is sized
 * by it. */
typedef struct linear_job {
    const mdl_linear_call *c;
    size_t n;
    size_t panels[MDL_LINEAR_MANY], tasks[MDL_LINEAR_MANY], first[MDL_LINEAR_MANY + 1];
    atomic_int failed; /* set by any task that ran out of GEMM scratch */
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
        atomic_store_explicit(&j->failed, 1, memory_order_relaxed);
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

emb_status mdl_linear_apply_many(const mdl_exec *ex, const mdl_linear_call *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].l->amax) /* only in the converter's calibration model */
            linear_record(c[i].l, c[i].m, c[i].x, c[i].ldx);
    size_t threads = (size_t)ex->threads;
    if (threads >= 2 && n <= MDL_LINEAR_MANY) {
        linear_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.n = n;
        atomic_init(&j.failed, 0);
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
        if (j.first[n] >= 2) {
            rt_parallel_run((int)threads, j.first[n], linear_task, &j);
            return atomic_load(&j.failed) ? linear_oom() : EMB_OK;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (linear_cols(c[i].l, c[i].m, c[i].x, c[i].ldx, c[i].y, c[i].ldy, 0, c[i].l->out) != 0)
            return linear_oom();
    return EMB_OK;
}

emb_status mdl_linear_apply(const mdl_exec *ex, const mdl_linear *l, size_t m, const float *x,
                            size_t ldx, float *y, size_t ldy)
{
    /* y[m, out] = x[m, in] · w[out, in]^T + b */
    mdl_linear_call c = { l, m, x, ldx, y, ldy };
    return mdl_linear_apply_many(ex, &c, 1);
}
