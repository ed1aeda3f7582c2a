/* Pooling of the final hidden states and L2 normalization, as
 * sentence-transformers' Pooling (its padded path, for one unpadded
 * sequence: the attention mask is 1 from `skip` on) and Normalize modules
 * do. Several modes are concatenated in the model's order. */
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

mdl_pooling mdl_pool_mode(const mdl_config *cfg, size_t i)
{
    return i == 0 ? cfg->pooling : cfg->pool_extra[i - 1];
}

/* Rows [*lo, *hi) one mode reads (never empty). */
static void mode_rows(mdl_pooling mode, size_t n, size_t skip, size_t *lo, size_t *hi)
{
    switch (mode) {
    case MDL_POOL_CLS: /* the first unmasked token; token 0 when none is (argmax of zeros) */
        *lo = skip < n ? skip : 0;
        *hi = *lo + 1;
        return;
    case MDL_POOL_LASTTOKEN:
    case MDL_POOL_LASTTOKEN_LOGITS:
        *lo = n - 1, *hi = n;
        return;
    case MDL_POOL_MEAN:
    case MDL_POOL_MAX:
    case MDL_POOL_WEIGHTEDMEAN:
    case MDL_POOL_MEAN_SQRT_LEN:
        break;
    }
    *lo = skip < n ? skip : n - 1; /* nothing left: one row, read by no sum */
    *hi = n;
}

void mdl_pool_rows(const mdl_config *cfg, size_t n, size_t skip, size_t *lo, size_t *hi)
{
    mode_rows(cfg->pooling, n, skip, lo, hi);
    for (size_t i = 1; i <= (size_t)cfg->n_pool_extra; i++) {
        size_t l, h;
        mode_rows(mdl_pool_mode(cfg, i), n, skip, &l, &h);
        *lo = l < *lo ? l : *lo;
        *hi = h > *hi ? h : *hi;
    }
}

/* out[d] = Σ_i w_i·h[i] / den over the rows i >= skip, summed in index
 * order in double: w_i = 1 (mean: den = count, mean-sqrt-len: den =
 * √count) or i + 1 (weightedmean: den = Σ w_i); den clamped to 1e-9 as
 * torch.clamp(min=1e-9), so no token left gives zeros. */
static void pool_sum(mdl_pooling mode, const float *h, size_t n, size_t skip, size_t d,
                     size_t ldh, float *out)
{
    int weighted = mode == MDL_POOL_WEIGHTEDMEAN;
    double den = 0.0;
    for (size_t i = skip; i < n; i++)
        den += weighted ? (double)(i + 1) : 1.0;
    if (den < 1e-9)
        den = 1e-9;
    if (mode == MDL_POOL_MEAN_SQRT_LEN)
        den = sqrt(den);
    for (size_t j = 0; j < d; j++) {
        double s = 0.0;
        for (size_t i = skip; i < n; i++)
            s += weighted ? (double)(i + 1) * (double)h[i * ldh + j] : (double)h[i * ldh + j];
        out[j] = (float)(s / den);
    }
}

/* One mode's out[d]. */
static void pool_mode(mdl_pooling mode, const float *h, size_t n, size_t skip, size_t d,
                      size_t ldh, float *out)
{
    switch (mode) {
    case MDL_POOL_CLS:
        memcpy(out, h + (skip < n ? skip : 0) * ldh, d * sizeof *out);
        return;
    case MDL_POOL_LASTTOKEN:
    case MDL_POOL_LASTTOKEN_LOGITS: /* masked out: the token times mask 0 */
        if (skip < n)
            memcpy(out, h + (n - 1) * ldh, d * sizeof *out);
        else
            memset(out, 0, d * sizeof *out);
        return;
    case MDL_POOL_MAX: /* masked tokens are -inf (masked_fill), so none left gives -inf */
        for (size_t j = 0; j < d; j++) {
            float v = -INFINITY;
            for (size_t i = skip; i < n; i++)
                v = h[i * ldh + j] > v ? h[i * ldh + j] : v;
            out[j] = v;
        }
        return;
    case MDL_POOL_MEAN:
    case MDL_POOL_WEIGHTEDMEAN:
    case MDL_POOL_MEAN_SQRT_LEN:
        break;
    }
    pool_sum(mode, h, n, skip, d, ldh, out);
}

void mdl_pool(const mdl_config *cfg, const float *h, size_t n, size_t skip, size_t d, size_t ldh,
              float *out)
{
    for (size_t i = 0; i <= (size_t)cfg->n_pool_extra; i++)
        pool_mode(mdl_pool_mode(cfg, i), h, n, skip, d, ldh, out + i * d);
}

void mdl_l2_normalize(float *v, size_t d)
{
    double sq = 0.0;
    for (size_t i = 0; i < d; i++)
        sq += (double)v[i] * (double)v[i];
    float norm = (float)sqrt(sq);
    if (norm < 1e-12f)
        norm = 1e-12f;
    for (size_t i = 0; i < d; i++)
        v[i] /= norm;
}
