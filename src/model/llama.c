/* Llama-family decoders (model_type llama, mistral, qwen2, qwen3,
 * gemma3_text), as HF LlamaModel / MistralModel / Qwen2Model / Qwen3Model /
 * Gemma3TextModel in eval mode, eager attention, for one unpadded sequence:
 *   x = embed[id]
 *   per layer (pre-RMSNorm):
 *     a = RMSNorm(x); q, k, v = a·Wq (+bq), a·Wk (+bk), a·Wv (+bv)
 *     [qwen3: q, k = per-head RMSNorm(q), RMSNorm(k)]; q, k = RoPE(q, k)
 *       (inv_freq and the cos/sin factor of cfg's rope_type: mdl_rope_freqs)
 *     x = x + attn(q, k, v)·Wo (+bo)   (causal mask unless cfg->bidirectional,
 *                                       on window layers only the last
 *                                       sliding_window tokens;
 *                                       GQA: head h reads kv head h / (heads/kv_heads))
 *     a = RMSNorm(x); x = x + (silu(a·Wg) * (a·Wu))·Wd
 *   h = RMSNorm(x); pooled row(s) of h, or lm_head · h[last] for logits.
 * Biases: q/k/v required for qwen2, any Linear bias is used when present.
 * Gemma3 (mdl_arch gemma_norms, local_layers), as Gemma3TextModel:
 *   x = embed[id] · (float)sqrt(hidden); every RMSNorm x·r·(1 + w);
 *   x = x + RMSNorm_post_attn(attn(...)·Wo), x = x + RMSNorm_post_ff(MLP(RMSNorm_pre_ff(x)))
 *   with MLP = (gelu_tanh(a·Wg) * (a·Wu))·Wd; scores · query_pre_attn_scalar^-1/2;
 *   window layers (mdl_window_layer): RoPE base rope_local_theta and the sliding
 *   window, bidirectional over |i - j| < sliding_window / 2 + 1 (mdl_config). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

typedef struct llama_layer {
    const float *attn_norm, *mlp_norm, *q_norm, *k_norm;
    const float *attn_post, *mlp_post; /* Gemma: norms of the attention and MLP
                                          outputs; NULL otherwise */
    int local;                         /* a local (sliding-window) layer */
    mdl_linear q, k, v, o, gate, up, down;
} llama_layer;

typedef struct llama_model {
    mdl_matrix embed;
    const float *norm;
    mdl_linear lm_head; /* w == NULL unless pooling is lasttoken-logits */
    size_t n_layers;
    llama_layer *layers;
    float embed_scale;  /* 1, or Gemma's sqrt(hidden) as a float */
    int geglu;          /* MLP gate activation: gelu tanh form (Gemma's
                           gelu_pytorch_tanh, gelu_new), else silu */
    float *plus_one;    /* Gemma: owned (1 + w) copies of every norm vector */
    size_t plus_one_used, plus_one_cap;
} llama_model;

void mdl_llama_free(void *arch)
{
    llama_model *lm = arch;
    if (!lm)
        return;
    free(lm->layers);
    free(lm->plus_one);
    free(lm);
}

/* Gemma's RMSNorm scales by (1 + w), computed in float as
 * Gemma3RMSNorm (1.0 + weight.float()): *w is replaced by such a copy, taken
 * from lm's block, so kern_rmsnorm serves both (NULL data when only shapes
 * are checked: left as is). */
static void llama_norm_plus_one(llama_model *lm, const float **w, size_t d)
{
    if (!*w || !lm->plus_one || lm->plus_one_cap - lm->plus_one_used < d)
        return;
    float *c = lm->plus_one + lm->plus_one_used; /* sized by llama_plus_one_floats */
    for (size_t i = 0; i < d; i++)
        c[i] = 1.0f + (*w)[i];
    lm->plus_one_used += d;
    *w = c;
}

/* Floats of every Gemma norm vector: per layer four of hidden and q, k of
 * head_dim, and the final norm. */
static size_t llama_plus_one_floats(const mdl_config *cfg)
{
    return (size_t)cfg->layers * (4 * (size_t)cfg->hidden + 2 * (size_t)cfg->head_dim) +
           (size_t)cfg->hidden;
}

static emb_status llama_bind_layer(const mdl_config *cfg, const mdl_binder *b, size_t l,
                                   llama_model *lm, llama_layer *ly)
{
    int64_t h = cfg->hidden, inter = cfg->intermediate, hd = cfg->head_dim;
    int64_t qd = cfg->heads * hd, kd = cfg->kv_heads * hd;
    const mdl_arch *arch = mdl_arch_of(cfg);
    int qkv_bias = arch && arch->qkv_bias;
    int qk_norm = arch && arch->qk_norm;
    int gemma = arch && arch->gemma_norms;
    emb_status st;
#define LIN(field, suffix, out, in, bias)                                                         \
    do {                                                                                          \
        st = mdl_bind_layer_linear(b, "layers.", l, suffix, out, in, bias, &ly->field);           \
        if (st != EMB_OK)                                                                         \
            return st;                                                                            \
    } while (0)
#define VEC(field, suffix, d)                                                                     \
    do {                                                                                          \
        if ((st = mdl_bind_layer_vec(b, "layers.", l, suffix, d, &ly->field)) != EMB_OK)          \
            return st;                                                                            \
    } while (0)
    VEC(attn_norm, "input_layernorm.weight", h);
    LIN(q, "self_attn.q_proj", qd, h, qkv_bias);
    LIN(k, "self_attn.k_proj", kd, h, qkv_bias);
    LIN(v, "self_attn.v_proj", kd, h, qkv_bias);
    LIN(o, "self_attn.o_proj", h, qd, 0);
    ly->q_norm = ly->k_norm = NULL;
    if (qk_norm) {
        VEC(q_norm, "self_attn.q_norm.weight", hd);
        VEC(k_norm, "self_attn.k_norm.weight", hd);
    }
    ly->attn_post = ly->mlp_post = NULL;
    if (gemma) { /* post_attention_layernorm norms the attention output here */
        VEC(attn_post, "post_attention_layernorm.weight", h);
        VEC(mlp_norm, "pre_feedforward_layernorm.weight", h);
        VEC(mlp_post, "post_feedforward_layernorm.weight", h);
    } else {
        VEC(mlp_norm, "post_attention_layernorm.weight", h);
    }
    LIN(gate, "mlp.gate_proj", inter, h, 0);
    LIN(up, "mlp.up_proj", inter, h, 0);
    LIN(down, "mlp.down_proj", h, inter, 0);
#undef LIN
#undef VEC
    if (gemma) {
        const float **norms[] = { &ly->attn_norm, &ly->attn_post, &ly->mlp_norm, &ly->mlp_post };
        for (size_t i = 0; i < 4; i++)
            llama_norm_plus_one(lm, norms[i], (size_t)h);
        llama_norm_plus_one(lm, &ly->q_norm, (size_t)hd);
        llama_norm_plus_one(lm, &ly->k_norm, (size_t)hd);
    }
    ly->local = mdl_window_layer(cfg, l);
    return EMB_OK;
}

emb_status mdl_llama_create(const mdl_config *cfg, const mdl_binder *b, void **out)
{
    emb_status st;
    int64_t h = cfg->hidden;
    llama_model *lm = rt_calloc(1, sizeof *lm);
    if (!lm)
        return EMB_ERR_NO_MEMORY;
    lm->n_layers = (size_t)cfg->layers;
    lm->layers = rt_calloc(lm->n_layers, sizeof *lm->layers);
    if (!lm->layers) {
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    const mdl_arch *arch = mdl_arch_of(cfg);
    int gemma = arch && arch->gemma_norms;
    lm->embed_scale = gemma ? (float)sqrt((double)h) : 1.0f;
    lm->geglu = !strcmp(cfg->act, "gelu_pytorch_tanh") || !strcmp(cfg->act, "gelu_new");
    if (gemma && b->resolve) {
        lm->plus_one_cap = llama_plus_one_floats(cfg);
        if (!(lm->plus_one = rt_calloc(lm->plus_one_cap, sizeof *lm->plus_one))) {
            st = EMB_ERR_NO_MEMORY;
            goto fail;
        }
    }
    if ((st = mdl_bind_matrix(b, "embed_tokens.weight", cfg->vocab_size, h, &lm->embed)) != EMB_OK ||
        (st = mdl_bind(b, "norm.weight", h, &lm->norm)) != EMB_OK)
        goto fail;
    if (gemma)
        llama_norm_plus_one(lm, &lm->norm, (size_t)h);
    for (size_t l = 0; l < lm->n_layers; l++)
        if ((st = llama_bind_layer(cfg, b, l, lm, &lm->layers[l])) != EMB_OK)
            goto fail;
    if (cfg->pooling == MDL_POOL_LASTTOKEN_LOGITS) {
        if (cfg->tie_embeddings) {
            /* tied: lm_head is the input embedding [vocab, hidden] */
            lm->lm_head.w = lm->embed.data;
            lm->lm_head.wt = lm->embed.wt;
            lm->lm_head.scale = NULL;
            lm->lm_head.b = NULL;
            lm->lm_head.out = (size_t)cfg->vocab_size;
            lm->lm_head.in = (size_t)h;
            lm->lm_head.bf16 = b->bf16;
        } else {
            mdl_binder head = *b; /* multiplies one row per sequence: not counted */
            head.params = NULL;
            if ((st = mdl_bind_linear(&head, "lm_head", cfg->vocab_size, h, 0, &lm->lm_head)) !=
                EMB_OK)
                goto fail;
        }
    }
    *out = lm;
    return EMB_OK;
fail:
    mdl_llama_free(lm);
    return st;
}

/* Attention of one layer, its key/value heads split in `slots` contiguous
 * ranges, each with its own scratch (heads are independent: same numbers
 * whatever the split). */
typedef struct llama_attn_job {
    size_t n, lo, nr, hd, qd, kd, kvh, group, slots, attn;
    const float *q, *k, *v;
    float *ctx, *scratch, scale;
    int causal;
    size_t reach; /* sliding window (kern_attention_rows_window); 0: none */
} llama_attn_job;

static void llama_attn_task(void *arg, size_t s)
{
    const llama_attn_job *j = arg;
    size_t hd = j->hd;
    float *scratch = j->scratch + s * j->attn;
    for (size_t g = s * j->kvh / j->slots; g < (s + 1) * j->kvh / j->slots; g++) {
        /* GQA: heads g·group .. share kv head g */
        kern_attention_pack(j->n, hd, j->k + g * hd, j->kd, j->v + g * hd, j->kd, scratch);
        for (size_t hh = g * j->group; hh < (g + 1) * j->group; hh++)
            kern_attention_rows_window(j->n, j->lo, j->nr, hd, j->q + hh * hd, j->qd,
                                       j->ctx + hh * hd, j->qd, j->scale, j->causal, j->reach,
                                       scratch);
    }
}

/* The activation of the MLP's gate in place, times up: SwiGLU (silu) or
 * GeGLU (gelu_pytorch_tanh / gelu_new, as Gemma's hidden_activation). */
static void llama_glu(const llama_model *lm, float *gate, const float *up, size_t n)
{
    if (lm->geglu) {
        kern_gelu_tanh(gate, n);
        for (size_t i = 0; i < n; i++)
            gate[i] *= up[i];
    } else {
        kern_silu_mul(gate, up, n);
    }
}

/* A local layer's window as kern_attention_rows_window's reach (0: none),
 * as HF's sliding-window masks: Gemma3 bidirectional |i - j| <
 * sliding_window // 2 + 1, causal i - j < sliding_window. */
static size_t llama_reach(const mdl_config *cfg, const llama_layer *ly)
{
    if (!ly->local)
        return 0;
    return cfg->bidirectional ? mdl_window_reach(cfg) : (size_t)cfg->sliding_window;
}

emb_status mdl_llama_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids, size_t n,
                            size_t skip, float *out)
{
    const mdl_config *cfg = &m->cfg;
    const llama_model *lm = m->arch;
    size_t h = (size_t)cfg->hidden, inter = (size_t)cfg->intermediate;
    size_t heads = (size_t)cfg->heads, kvh = (size_t)cfg->kv_heads, hd = (size_t)cfg->head_dim;
    size_t qd = heads * hd, kd = kvh * hd, group = heads / kvh, half = hd / 2;
    float eps = (float)cfg->norm_eps;
    float scale = cfg->attn_scalar > 0.0 ? (float)(1.0 / sqrt(cfg->attn_scalar))
                                         : (float)(1.0 / sqrt((double)hd));
    size_t chunk = n < MDL_ROW_CHUNK ? n : MDL_ROW_CHUNK;
    size_t attn = kern_attention_scratch(n, hd);
    size_t slots = mdl_exec_slots(ex, kvh);
    size_t tables = cfg->rope_local_theta > 0.0 ? 2 : 1; /* full and local RoPE bases */
    emb_status st = EMB_OK;

    /* scratch: x, a [n, h]; q, ctx [n, qd]; k, v [n, kd]; gate, up [chunk, inter];
     * cos, sin [tables, n, hd/2]; inv_freq [hd/2]; attention */
    size_t total = 0;
    if (attn == 0 || mdl_size_add(&total, 2 * n, h) || mdl_size_add(&total, 2 * n, qd) ||
        mdl_size_add(&total, 2 * n, kd) || mdl_size_add(&total, 2 * chunk, inter) ||
        mdl_size_add(&total, 2 * tables * n, half) || mdl_size_add(&total, 1, half) ||
        mdl_size_add(&total, attn, slots))
        return rt_error(EMB_ERR_NO_MEMORY, "model: scratch size for %zu tokens overflows", n);
    float *buf = mdl_scratch_get(m, total);
    if (!buf)
        return EMB_ERR_NO_MEMORY;
    float *x = buf, *a = x + n * h, *q = a + n * h, *ctx = q + n * qd, *k = ctx + n * qd;
    float *v = k + n * kd, *gate = v + n * kd, *up = gate + chunk * inter;
    float *cos_t = up + chunk * inter, *sin_t = cos_t + tables * n * half;
    float *inv = sin_t + tables * n * half, *scratch = inv + half, rope_scale;

    for (size_t p = 0; p < n; p++) {
        const float *e = mdl_matrix_row(&lm->embed, (size_t)ids[p], x + p * h);
        if (e != x + p * h)
            memcpy(x + p * h, e, h * sizeof *x);
        if (lm->embed_scale != 1.0f) /* Gemma3TextScaledWordEmbedding */
            for (size_t i = 0; i < h; i++)
                x[p * h + i] *= lm->embed_scale;
    }
    mdl_rope_freqs(cfg, n, inv, &rope_scale);
    kern_rope_table_freqs(n, half, inv, rope_scale, cos_t, sin_t);
    if (tables == 2) /* Gemma's local layers: unscaled RoPE of rope_local_theta */
        kern_rope_table(n, hd, cfg->rope_local_theta, cos_t + n * half, sin_t + n * half);

    size_t lo = 0, hi = n;
    for (size_t l = 0; l < lm->n_layers; l++) {
        const llama_layer *ly = &lm->layers[l];
        size_t tab = ly->local && tables == 2 ? n * half : 0;
        const float *cs = cos_t + tab, *sn = sin_t + tab;
        if (l + 1 == lm->n_layers) /* last layer: only the rows the pooling reads */
            mdl_pool_rows(cfg, n, skip, &lo, &hi);
        size_t nr = hi - lo;
        kern_rmsnorm(n, h, x, h, ly->attn_norm, eps, a, h);
        /* q[lo..hi, qd], k, v [n, kd] */
        const mdl_linear_call qkv[3] = { { &ly->q, nr, a + lo * h, h, q + lo * qd, qd },
                                         { &ly->k, n, a, h, k, kd },
                                         { &ly->v, n, a, h, v, kd } };
        if ((st = mdl_linear_apply_many(ex, qkv, 3)) != EMB_OK)
            goto done;
        if (ly->q_norm) { /* per-head RMSNorm over head_dim, before RoPE */
            kern_rmsnorm(nr * heads, hd, q + lo * qd, hd, ly->q_norm, eps, q + lo * qd, hd);
            kern_rmsnorm(n * kvh, hd, k, hd, ly->k_norm, eps, k, hd);
        }
        kern_rope_apply(nr, heads, hd, q + lo * qd, qd, cs + lo * half, sn + lo * half);
        kern_rope_apply(n, kvh, hd, k, kd, cs, sn);
        llama_attn_job aj = { n, lo, nr, hd, qd, kd, kvh, group, slots, attn,
                              q, k, v, ctx, scratch, scale, !cfg->bidirectional,
                              llama_reach(cfg, ly) };
        if (slots > 1)
            rt_parallel_run((int)slots, slots, llama_attn_task, &aj);
        else
            llama_attn_task(&aj, 0);
        /* x = x + ctx·Wo (+bo) [Gemma: normed first] */
        if ((st = mdl_linear_apply(ex, &ly->o, nr, ctx + lo * qd, qd, a + lo * h, h)) != EMB_OK)
            goto done;
        if (ly->attn_post)
            kern_rmsnorm(nr, h, a + lo * h, h, ly->attn_post, eps, a + lo * h, h);
        for (size_t i = lo * h; i < hi * h; i++)
            x[i] += a[i];
        /* x = x + (act(a·Wg) * (a·Wu))·Wd with a = RMSNorm(x), in row chunks */
        for (size_t r0 = lo; r0 < hi; r0 += chunk) {
            size_t rc = hi - r0 < chunk ? hi - r0 : chunk;
            float *ar = a + r0 * h;
            kern_rmsnorm(rc, h, x + r0 * h, h, ly->mlp_norm, eps, ar, h);
            const mdl_linear_call gu[2] = { { &ly->gate, rc, ar, h, gate, inter },
                                            { &ly->up, rc, ar, h, up, inter } };
            if ((st = mdl_linear_apply_many(ex, gu, 2)) != EMB_OK)
                goto done;
            llama_glu(lm, gate, up, rc * inter);
            if ((st = mdl_linear_apply(ex, &ly->down, rc, gate, inter, ar, h)) != EMB_OK)
                goto done;
            if (ly->mlp_post)
                kern_rmsnorm(rc, h, ar, h, ly->mlp_post, eps, ar, h);
            for (size_t i = r0 * h; i < (r0 + rc) * h; i++)
                x[i] += a[i];
        }
    }
    /* final norm of the pooled rows x[lo..hi) */
    kern_rmsnorm(hi - lo, h, x + lo * h, h, lm->norm, eps, a + lo * h, h);
    if (cfg->pooling == MDL_POOL_LASTTOKEN_LOGITS) /* [1, vocab] */
        st = mdl_linear_apply(ex, &lm->lm_head, 1, a + (n - 1) * h, h, out, m->out_dim);
    else
        mdl_pool(cfg, a, n, skip, h, h, out);
done:
    mdl_scratch_put(m, buf);
    return st;
}
