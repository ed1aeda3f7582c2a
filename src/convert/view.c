/* The checkpoint as the model sees it (convert.h, cv_model_view): the one
 * filter from safetensors tensors to model tensors, shared by emb_convert's
 * checks (shapes only) and the int8 calibration (with data). */
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "format/format.h"
#include "runtime/runtime.h"

void cv_model_view_free(cv_model_view *v)
{
    for (size_t i = 0; i < v->n_owned; i++)
        free(v->owned[i]);
    free(v->owned);
    free(v->t);
    free(v->from);
    memset(v, 0, sizeof *v);
}

/* t->data for checkpoint tensor ct: in place when the kernels can read it
 * there (f32 64-byte aligned, 16-bit matrices 2-byte aligned), else an owned
 * aligned f32 copy. */
static emb_status view_data(const cv_tensor *ct, mdl_tensor *t, cv_model_view *v)
{
    uintptr_t at = (uintptr_t)ct->data;
    if (ct->dtype == KERN_W_F32 && at % 64 == 0) {
        t->data = ct->data;
        return EMB_OK;
    }
    if (ct->dtype != KERN_W_F32 && ct->ndim == 2 && at % 2 == 0) {
        t->data = ct->data;
        t->dtype = ct->dtype;
        return EMB_OK;
    }
    size_t count = (size_t)(ct->nbytes / kern_wtype_size(ct->dtype));
    size_t bytes = ((count ? count : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *buf = aligned_alloc(64, bytes); /* count <= nbytes: no overflow */
    RT_FAIL_IF(!buf, EMB_ERR_NO_MEMORY, "out of memory widening '%s'", ct->name);
    v->owned[v->n_owned++] = buf;
    RT_TRY(cv_tensor_to_f32(ct, buf));
    t->data = buf;
    return EMB_OK;
}

emb_status cv_model_view_build(const cv_weights *w, int with_data, cv_model_view *v)
{
    memset(v, 0, sizeof *v);
    size_t cap = w->n ? w->n : 1;
    v->t = rt_calloc(cap, sizeof *v->t);
    v->from = rt_calloc(cap, sizeof *v->from);
    v->owned = with_data ? rt_calloc(cap, sizeof *v->owned) : NULL;
    if (!v->t || !v->from || (with_data && !v->owned))
        return EMB_ERR_NO_MEMORY;
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++) {
        const cv_tensor *ct = &w->t[i];
        if (!ct->is_weight || ct->ndim > 4)
            continue;
        mdl_tensor *t = &v->t[n];
        t->name = fmt_strip_prefix(ct->name);
        t->ndim = ct->ndim;
        memcpy(t->shape, ct->shape, sizeof t->shape);
        if (with_data)
            RT_TRY(view_data(ct, t, v));
        v->from[n++] = i;
    }
    v->w.n = n;
    v->w.t = v->t;
    return EMB_OK;
}
