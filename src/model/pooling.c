/* Pooling of the final hidden states and L2 normalization, as
 * sentence-transformers' Pooling and Normalize modules do for one unpadded
 * sequence. */
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

void mdl_pool_rows(mdl_pooling pooling, size_t n, size_t *lo, size_t *hi)
{
    switch (pooling) {
    case MDL_POOL_CLS:
        *lo = 0, *hi = 1;
        return;
    case MDL_POOL_LASTTOKEN:
    case MDL_POOL_LASTTOKEN_LOGITS:
        *lo = n - 1, *hi = n;
        return;
    case MDL_POOL_MEAN:
        break;
    }
    *lo = 0, *hi = n;
}

void mdl_pool(mdl_pooling pooling, const float *h, size_t n, size_t d, size_t ldh, float *out)
{
    switch (pooling) {
    case MDL_POOL_CLS:
        memcpy(out, h, d * sizeof *out);
        return;
    case MDL_POOL_LASTTOKEN:
    case MDL_POOL_LASTTOKEN_LOGITS:
        memcpy(out, h + (n - 1) * ldh, d * sizeof *out);
        return;
    case MDL_POOL_MEAN:
        break;
    }
    /* sum over tokens (index order, double) / token count */
    for (size_t j = 0; j < d; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += (double)h[i * ldh + j];
        out[j] = (float)(s / (double)n);
    }
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
