/* Rotary encoders (model_type nomic_bert), as transformers' NomicBertModel
 * (its port of nomic-ai's trust_remote_code modeling_hf_nomic_bert.py) in
 * eval mode for one unpadded sequence, with the options every released
 * nomic-embed-text checkpoint sets (the converter refuses the others):
 * rotary_emb_fraction 1, non-interleaved RoPE, post-norm blocks, SwiGLU MLP,
 * no Linear biases:
 *   x = LayerNorm_emb(word[id] + token_type[0])        (no position table)
 *   per layer (post-LN):
 *     q | k | v = x·Wqkv^T               [n, 3·hidden], heads in order in each
 *     q, k = RoPE(q), RoPE(k)            (rotate_half over the whole head, base
 *                                         rotary_emb_base, positions 0..n-1)
 *     x = LayerNorm_1(x + attn(q, k, v)·Wout^T)          (all tokens, no mask)
 *     x = LayerNorm_2(x + (fc11(x) · silu(fc12(x)))·W2^T)
 * Tensor names (the original checkpoint's, which transformers also saves): embeddings.word_embeddings / token_type_embeddings, emb_ln,
 * encoder.layers.<l>.{attn.Wqkv, attn.out_proj, mlp.fc11, mlp.fc12, mlp.fc2,
 * norm1, norm2}. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

typedef struct nomic_layer {
    mdl_linear qkv, o, up, gate, down;
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
} nomic_layer;

typedef struct nomic_model {
    mdl_matrix word, type; /* type.data NULL: type_vocab_size 0 */
    const float *ln_w, *ln_b;
    size_t n_layers;
    nomic_layer *layers;
} nomic_model;

void mdl_nomic_free(void *arch)
{
    nomic_model *nm = arch;
    if (!nm)
        return;
    free(nm->layers);
    free(nm);
}

static emb_status nomic_bind_layer(const mdl_config *cfg, const mdl_binder *b, size_t l,
                                   nomic_layer *ly)
{
    int64_t h = cfg->hidden, inter = cfg->intermediate;
    emb_status st;
#define LIN(field, suffix, out, in)                                                               \
    do {                                                                                          \
        st = mdl_bind_layer_linear(b, "encoder.layers.", l, suffix, out, in, -1, &ly->field);     \
        if (st != EMB_OK)                                                                         \
            return st;                                                                            \
    } while (0)
#define VEC(field, suffix)                                                                        \
    do {                                                                                          \
        if ((st = mdl_bind_layer_vec(b, "encoder.layers.", l, suffix, h, &ly->field)) != EMB_OK)  \
            return st;                                                                            \
    } while (0)
    LIN(qkv, "attn.Wqkv", 3 * h, h);
    LIN(o, "attn.out_proj", h, h);
    VEC(ln1_w, "norm1.weight");
    VEC(ln1_b, "norm1.bias");
    LIN(up, "mlp.fc11", inter, h);
    LIN(gate, "mlp.fc12", inter, h);
    LIN(down, "mlp.fc2", h, inter);
    VEC(ln2_w, "norm2.weight");
    VEC(ln2_b, "norm2.bias");
#undef LIN
#undef VEC
    return EMB_OK;
}

emb_status mdl_nomic_create(const mdl_config *cfg, const mdl_binder *b, void **out)
{
    emb_status st;
    int64_t h = cfg->hidden;
    nomic_model *nm = rt_calloc(1, sizeof *nm);
    if (!nm)
        return EMB_ERR_NO_MEMORY;
    nm->n_layers = (size_t)cfg->layers;
    nm->layers = rt_calloc(nm->n_layers, sizeof *nm->layers);
    if (!nm->layers) {
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    if ((st = mdl_bind_matrix(b, "embeddings.word_embeddings.weight", cfg->vocab_size, h,
                              &nm->word)) ||
        (cfg->type_vocab_size > 0 &&
         (st = mdl_bind_matrix(b, "embeddings.token_type_embeddings.weight",
                               cfg->type_vocab_size, h, &nm->type))) ||
        (st = mdl_bind(b, "emb_ln.weight", h, &nm->ln_w)) ||
        (st = mdl_bind(b, "emb_ln.bias", h, &nm->ln_b)))
        goto fail;
    for (size_t l = 0; l < nm->n_layers; l++)
        if ((st = nomic_bind_layer(cfg, b, l, &nm->layers[l])) != EMB_OK)
            goto fail;
    *out = nm;
    return EMB_OK;
fail:
    mdl_nomic_free(nm);
    return st;
}

/* x[n, h] = word[id] + type[0] (NomicBertEmbeddings with token_type_ids
 * zeros); rows of 16-bit tables are widened into row[2 * h]. */
static void nomic_embed(const nomic_model *nm, size_t h, const int32_t *ids, size_t n, float *x,
                        float *row)
{
    const float *type = nm->type.data ? mdl_matrix_row(&nm->type, 0, row + h) : NULL;
    for (size_t p = 0; p < n; p++) {
        const float *we = mdl_matrix_row(&nm->word, (size_t)ids[p], row);
        float *xp = x + p * h;
        if (type)
            for (size_t i = 0; i < h; i++)
                xp[i] = we[i] + type[i];
        else
            memcpy(xp, we, h * sizeof *xp);
    }
}

emb_status mdl_nomic_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids, size_t n,
                            size_t skip, float *out)
{
    const mdl_config *cfg = &m->cfg;
    const nomic_model *nm = m->arch;
    size_t h = (size_t)cfg->hidden, inter = (size_t)cfg->intermediate;
    size_t heads = (size_t)cfg->heads, hd = (size_t)cfg->head_dim, half = hd / 2;
    float eps = (float)cfg->norm_eps;
    float scale = (float)(1.0 / sqrt((double)hd));
    size_t chunk = n < MDL_ROW_CHUNK ? n : MDL_ROW_CHUNK;
    size_t attn = kern_attention_scratch(n, hd);
    size_t slots = mdl_exec_slots(ex, heads);
    emb_status st = EMB_OK;

    /* scratch: x, ctx, t [n, h]; qkv [n, 3h]; up, gate [chunk, inter];
     * cos, sin [n, hd/2]; attention × slots */
    size_t total = 0;
    if (attn == 0 || mdl_size_add(&total, 6 * n, h) || mdl_size_add(&total, 2 * chunk, inter) ||
        mdl_size_add(&total, 2 * n, half) || mdl_size_add(&total, attn, slots))
        return rt_error(EMB_ERR_NO_MEMORY, "model: scratch size for %zu tokens overflows", n);
    float *buf = mdl_scratch_get(m, total);
    if (!buf)
        return EMB_ERR_NO_MEMORY;
    float *x = buf, *ctx = x + n * h, *t = ctx + n * h, *qkv = t + n * h;
    float *up = qkv + 3 * n * h, *gate = up + chunk * inter;
    float *cos_t = gate + chunk * inter, *sin_t = cos_t + n * half, *scratch = sin_t + n * half;

    nomic_embed(nm, h, ids, n, x, qkv); /* qkv: at least 2 h floats, free until layer 0 */
    kern_layernorm(n, h, x, h, nm->ln_w, nm->ln_b, eps, x, h);
    kern_rope_table(n, hd, cfg->rope_theta, cos_t, sin_t);

    size_t lo = 0, hi = n;
    for (size_t l = 0; l < nm->n_layers; l++) {
        const nomic_layer *ly = &nm->layers[l];
        if (l + 1 == nm->n_layers) /* last layer: only the rows the pooling reads */
            mdl_pool_rows(cfg, n, skip, &lo, &hi);
        size_t nr = hi - lo;
        /* qkv[n, 3h] = x · Wqkv^T; RoPE on the q and k columns */
        if ((st = mdl_linear_apply(ex, &ly->qkv, n, x, h, qkv, 3 * h)) != EMB_OK)
            goto done;
        kern_rope_apply(nr, heads, hd, qkv + lo * 3 * h, 3 * h, cos_t + lo * half,
                        sin_t + lo * half);
        kern_rope_apply(n, heads, hd, qkv + h, 3 * h, cos_t, sin_t);
        /* heads over the q | k | v columns of qkv (row stride 3h) */
        mdl_attn_job aj = { .n = n, .lo = lo, .nr = nr, .hd = hd, .h = h, .ld = 3 * h,
                            .heads = heads, .slots = slots, .attn = attn, .q = qkv,
                            .k = qkv + h, .v = qkv + 2 * h, .ctx = ctx, .scratch = scratch,
                            .scale = scale, .rel = NULL };
        mdl_attn_run(&aj);
        /* x = LayerNorm_1(ctx·Wout^T + x) */
        if ((st = mdl_linear_apply(ex, &ly->o, nr, ctx + lo * h, h, t + lo * h, h)) != EMB_OK)
            goto done;
        mdl_residual_layernorm(nr, h, t + lo * h, x + lo * h, ly->ln1_w, ly->ln1_b, eps);
        /* x = LayerNorm_2((fc11(x) · silu(fc12(x)))·W2^T + x), in row chunks */
        for (size_t r0 = lo; r0 < hi; r0 += chunk) {
            size_t rc = hi - r0 < chunk ? hi - r0 : chunk;
            const mdl_linear_call gu[2] = { { &ly->gate, rc, x + r0 * h, h, gate, inter },
                                            { &ly->up, rc, x + r0 * h, h, up, inter } };
            if ((st = mdl_linear_apply_many(ex, gu, 2)) != EMB_OK)
                goto done;
            kern_silu_mul(gate, up, rc * inter);
            if ((st = mdl_linear_apply(ex, &ly->down, rc, gate, inter, t + r0 * h, h)) != EMB_OK)
                goto done;
            mdl_residual_layernorm(rc, h, t + r0 * h, x + r0 * h, ly->ln2_w, ly->ln2_b, eps);
        }
    }
    /* the pooled rows are x[lo..hi) */
    mdl_pool(cfg, x, n, skip, h, h, out);
done:
    mdl_scratch_put(m, buf);
    return st;
}
