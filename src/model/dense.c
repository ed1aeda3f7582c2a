/* sentence-transformers Dense modules after the pooling: each one
 * y = act(x · W^T + b) with W [out, in] (torch.nn.Linear), run by our
 * Linear kernels (mdl_linear_apply) on the one pooled row, in the order of
 * modules.json (e.g. EmbeddingGemma's 768 -> 3072 -> 768). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"
#include "runtime/runtime.h"

emb_status mdl_dense_bind(const mdl_config *cfg, const mdl_binder *b, mdl_linear *l)
{
    /* Dense weights are not int8 candidates and not calibrated: they stay
     * as the checkpoint stores them (fp32 in an int8 file), and compute in
     * fp32 whatever the model's compute type; nor are they counted in
     * mdl_params (they run once per sequence, not per token) */
    mdl_binder db = { b->w, b->resolve, 0, NULL, NULL, NULL };
    for (int32_t i = 0; i < cfg->n_dense; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "st_dense.%d.linear", (int)i);
        const mdl_dense *d = &cfg->dense[i];
        RT_TRY(mdl_bind_linear(&db, prefix, d->out, d->in, d->bias ? 1 : -1, &l[i]));
    }
    return EMB_OK;
}

/* x[n] = act(x), as torch.nn's Identity, Tanh, ReLU, GELU (erf), SiLU,
 * Sigmoid (each element in double, rounded once). */
static void dense_act(mdl_dense_act act, float *x, size_t n)
{
    switch (act) {
    case MDL_DENSE_IDENTITY:
        return;
    case MDL_DENSE_GELU:
        kern_gelu(x, n);
        return;
    case MDL_DENSE_RELU:
        kern_relu(x, n);
        return;
    case MDL_DENSE_TANH:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)tanh((double)x[i]);
        return;
    case MDL_DENSE_SILU:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((double)x[i] / (1.0 + exp(-(double)x[i])));
        return;
    case MDL_DENSE_SIGMOID:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
        return;
    }
}

emb_status mdl_dense_apply(const mdl_model *m, const mdl_exec *ex, const float *x, float *out)
{
    const mdl_config *cfg = &m->cfg;
    size_t widest = 0;
    for (int32_t i = 0; i < cfg->n_dense; i++)
        if ((size_t)cfg->dense[i].out > widest)
            widest = (size_t)cfg->dense[i].out;
    float *buf = mdl_scratch_get(m, 2 * widest);
    if (!buf)
        return EMB_ERR_NO_MEMORY;
    const float *in = x;
    emb_status st;
    for (int32_t i = 0; i < cfg->n_dense; i++) {
        const mdl_dense *d = &cfg->dense[i];
        float *y = buf + (size_t)(i % 2) * widest; /* [1, out] */
        RT_TRY_GOTO(st, mdl_linear_apply(ex, &m->dense[i], 1, in, (size_t)d->in, y, (size_t)d->out),
                    done);
        dense_act(d->act, y, (size_t)d->out);
        in = y;
    }
    memcpy(out, in, m->out_dim * sizeof *out);
    st = EMB_OK;
done:
    mdl_scratch_put(m, buf);
    return st;
}
