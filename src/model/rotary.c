/* Rotary encoders: BERT-like post-norm encoders with RoPE instead of a
 * position table, a fused qkv projection and a gated MLP, as
 *   nomic_bert: transformers' NomicBertModel (its port of nomic-ai's
 *               trust_remote_code modeling_hf_nomic_bert.py),
 *   new, gte:   transformers' GteModel (its port of Alibaba-NLP's
 *               trust_remote_code NewModel, model_type "new"),
 * in eval mode for one unpadded sequence, with the options the released
 * checkpoints set (the converter refuses the others):
 *   x = LayerNorm_emb(word[id] + token_type[0])   (no token_type when
 *                                                   type_vocab_size is 0)
 *   per layer (post-LN):
 *     q | k | v = x·Wqkv^T (+ b)          [n, 3·hidden], heads in order in each
 *     q, k = RoPE(q), RoPE(k)             (rotate_half over the whole head,
 *                                          theta cfg->rope_theta, positions 0..n-1)
 *     x = LayerNorm_1(x + attn(q, k, v)·Wo^T (+ b))       (all tokens, no mask)
 *     x = LayerNorm_2(x + (up(x) · act(gate(x)))·Wdown^T (+ b))
 * act: silu (nomic_bert's SwiGLU, up and gate apart) or exact gelu (GTE, one
 * fused up_gate weight). Tensor names are the
 * original checkpoints' (transformers saves them too), per variant below. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

/* A variant's tensor names (under "<layer><l>.") and biases (1 required,
 * -1 none). up_gate: one fused [2·intermediate, hidden] weight, up rows
 * first (GTE's up_gate_proj); else up and gate apart (nomic's fc11, fc12). */
typedef struct rotary_names {
    const char *emb_ln, *layer, *qkv, *o, *ln1, *up, *gate, *up_gate, *down, *ln2;
    int qkv_bias, o_bias, down_bias;
} rotary_names;

static const rotary_names nomic_names = {
    "emb_ln", "encoder.layers.", "attn.Wqkv", "attn.out_proj", "norm1",
    "mlp.fc11", "mlp.fc12", NULL, "mlp.fc2", "norm2", -1, -1, -1,
};
static const rotary_names gte_names = {
    "embeddings.LayerNorm", "encoder.layer.", "attention.qkv_proj", "attention.o_proj", "attn_ln",
    NULL, NULL, "mlp.up_gate_proj", "mlp.down_proj", "mlp_ln", 1, 1, 1,
};

typedef struct rotary_layer {
    mdl_linear qkv, o, up, gate, up_gate, down;
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
} rotary_layer;

typedef struct rotary_model {
    mdl_matrix word, type; /* type.data NULL: type_vocab_size 0 */
    const float *ln_w, *ln_b;
    int fused_up_gate;
    size_t n_layers;
    rotary_layer *layers;
} rotary_model;

void mdl_rotary_free(void *arch)
{
    rotary_model *rm = arch;
    if (!rm)
        return;
    free(rm->layers);
    free(rm);
}

static emb_status rotary_bind_layer(const mdl_config *cfg, const mdl_binder *b,
                                    const rotary_names *nm, size_t l, rotary_layer *ly)
{
    int64_t h = cfg->hidden, inter = cfg->intermediate;
    emb_status st;
    char name[64];
#define LIN(field, suffix, out, in, bias)                                                         \
    do {                                                                                          \
        st = mdl_bind_layer_linear(b, nm->layer, l, suffix, out, in, bias, &ly->field);           \
        if (st != EMB_OK)                                                                         \
            return st;                                                                            \
    } while (0)
#define VEC(field, norm, part)                                                                    \
    do {                                                                                          \
        snprintf(name, sizeof name, "%s.%s", norm, part);                                         \
        if ((st = mdl_bind_layer_vec(b, nm->layer, l, name, h, &ly->field)) != EMB_OK)            \
            return st;                                                                            \
    } while (0)
    LIN(qkv, nm->qkv, 3 * h, h, nm->qkv_bias);
    LIN(o, nm->o, h, h, nm->o_bias);
    VEC(ln1_w, nm->ln1, "weight");
    VEC(ln1_b, nm->ln1, "bias");
    if (nm->up_gate) {
        LIN(up_gate, nm->up_gate, 2 * inter, h, -1);
    } else {
        LIN(up, nm->up, inter, h, -1);
        LIN(gate, nm->gate, inter, h, -1);
    }
    LIN(down, nm->down, h, inter, nm->down_bias);
    VEC(ln2_w, nm->ln2, "weight");
    VEC(ln2_b, nm->ln2, "bias");
#undef LIN
#undef VEC
    return EMB_OK;
}

emb_status mdl_rotary_create(const mdl_config *cfg, const mdl_binder *b, void **out)
{
    emb_status st;
    int64_t h = cfg->hidden;
    const rotary_names *nm =
        mdl_arch_of(cfg)->rotary_encoder == MDL_ROTARY_GTE ? &gte_names : &nomic_names;
    char ln_w[48], ln_b[48];
    snprintf(ln_w, sizeof ln_w, "%s.weight", nm->emb_ln);
    snprintf(ln_b, sizeof ln_b, "%s.bias", nm->emb_ln);
    rotary_model *rm = rt_calloc(1, sizeof *rm);
    if (!rm)
        return EMB_ERR_NO_MEMORY;
    rm->fused_up_gate = nm->up_gate != NULL;
    rm->n_layers = (size_t)cfg->layers;
    rm->layers = rt_calloc(rm->n_layers, sizeof *rm->layers);
    if (!rm->layers) {
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    if ((st = mdl_bind_matrix(b, "embeddings.word_embeddings.weight", cfg->vocab_size, h,
                              &rm->word)) ||
        (cfg->type_vocab_size > 0 &&
         (st = mdl_bind_matrix(b, "embeddings.token_type_embeddings.weight",
                               cfg->type_vocab_size, h, &rm->type))) ||
        (st = mdl_bind(b, ln_w, h, &rm->ln_w)) || (st = mdl_bind(b, ln_b, h, &rm->ln_b)))
        goto fail;
    for (size_t l = 0; l < rm->n_layers; l++)
        if ((st = rotary_bind_layer(cfg, b, nm, l, &rm->layers[l])) != EMB_OK)
            goto fail;
    *out = rm;
    return EMB_OK;
fail:
    mdl_rotary_free(rm);
    return st;
}

/* x[n, h] = word[id] + type[0] (token_type_ids zeros); rows of 16-bit tables are widened into row[2 * h]. */
static void rotary_embed(const rotary_model *rm, size_t h, const int32_t *ids, size_t n, float *x,
                        float *row)
{
    const float *type = rm->type.data ? mdl_matrix_row(&rm->type, 0, row + h) : NULL;
    for (size_t p = 0; p < n; p++) {
        const float *we = mdl_matrix_row(&rm->word, (size_t)ids[p], row);
        float *xp = x + p * h;
        if (type)
            for (size_t i = 0; i < h; i++)
                xp[i] = we[i] + type[i];
        else
            memcpy(xp, we, h * sizeof *xp);
    }
}

/* The gated MLP's product of rows x[rc, h] into *prod [rc, inter] (row
 * stride *ld). Apart (nomic: act silu, as mdl_config_check requires):
 * gate [rc, inter] = silu(gate(x)) · up(x) (kern_silu_mul). Fused (GTE: act
 * exact gelu): up | gate [rc, 2·inter] = x · Wup_gate^T into up (up and gate
 * are contiguous scratch), then each row's up half *= gelu(its gate half). */
static emb_status rotary_gated(const mdl_exec *ex, const mdl_config *cfg, const rotary_model *rm,
                               const rotary_layer *ly, size_t rc, const float *x, float *up,
                               float *gate, const float **prod, size_t *ld)
{
    size_t h = (size_t)cfg->hidden, inter = (size_t)cfg->intermediate;
    emb_status st;
    if (!rm->fused_up_gate) {
        const mdl_linear_call gu[2] = { { &ly->gate, rc, x, h, gate, inter },
                                        { &ly->up, rc, x, h, up, inter } };
        if ((st = mdl_linear_apply_many(ex, gu, 2)) != EMB_OK)
            return st;
        kern_silu_mul(gate, up, rc * inter);
        *prod = gate, *ld = inter;
        return EMB_OK;
    }
    if ((st = mdl_linear_apply(ex, &ly->up_gate, rc, x, h, up, 2 * inter)) != EMB_OK)
        return st;
    for (size_t r = 0; r < rc; r++) {
        float *u = up + r * 2 * inter, *g = u + inter;
        kern_gelu(g, inter);
        for (size_t i = 0; i < inter; i++)
            u[i] *= g[i];
    }
    *prod = up, *ld = 2 * inter;
    return EMB_OK;
}

emb_status mdl_rotary_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids, size_t n,
                            size_t skip, float *out)
{
    const mdl_config *cfg = &m->cfg;
    const rotary_model *rm = m->arch;
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

    rotary_embed(rm, h, ids, n, x, qkv); /* qkv: at least 2 h floats, free until layer 0 */
    kern_layernorm(n, h, x, h, rm->ln_w, rm->ln_b, eps, x, h);
    if (cfg->rope_ntk != 0.0) /* GTE with rope_scaling ntk */
        kern_rope_table_ntk(n, hd, cfg->rope_theta, cfg->rope_ntk, cos_t, sin_t);
    else
        kern_rope_table(n, hd, cfg->rope_theta, cos_t, sin_t);

    size_t lo = 0, hi = n;
    for (size_t l = 0; l < rm->n_layers; l++) {
        const rotary_layer *ly = &rm->layers[l];
        if (l + 1 == rm->n_layers) /* last layer: only the rows the pooling reads */
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
        /* x = LayerNorm_2((up(x) · act(gate(x)))·Wdown^T + x), in row chunks */
        for (size_t r0 = lo; r0 < hi; r0 += chunk) {
            size_t rc = hi - r0 < chunk ? hi - r0 : chunk;
            const float *prod; /* [rc, inter], row stride ld */
            size_t ld;
            if ((st = rotary_gated(ex, cfg, rm, ly, rc, x + r0 * h, up, gate, &prod, &ld)) !=
                EMB_OK)
                goto done;
            if ((st = mdl_linear_apply(ex, &ly->down, rc, prod, ld, t + r0 * h, h)) != EMB_OK)
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
