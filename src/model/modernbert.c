/* ModernBERT encoders (model_type modernbert: gte-modernbert,
 * modernbert-embed), as HF ModernBertModel in eval mode for one unpadded
 * sequence (eager attention):
 *   x = LayerNorm_emb(tok[id])                         (no position table)
 *   per layer i (pre-LN, residual):
 *     x += Wo · attn(RoPE(Wqkv · LN_attn(x)))   (layer 0: no LN_attn, Identity)
 *     x += Wo' · (act(a) * g),  [a | g] = Wi · LN_mlp(x)     (GeGLU)
 *   out = LayerNorm_final(x)
 * Layer i is global when i % global_attn_every_n_layers == 0 (RoPE theta
 * global_rope_theta, every key), else local (local_rope_theta, keys within
 * local_attention / 2 positions either side, transformers'
 * sliding_window_bidirectional_overlay). Positions are 0..n-1. Linear and
 * LayerNorm biases are used when the checkpoint has them (attention_bias,
 * mlp_bias, norm_bias true); ModernBERT's real checkpoints have none, and a
 * LayerNorm without a bias adds the model's zero vector (exactly x). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

typedef struct mb_norm {
    const float *w, *b; /* b: the checkpoint's bias, or the model's zeros */
} mb_norm;

typedef struct mb_layer {
    mb_norm attn_norm;  /* w NULL: Identity (layer 0) */
    mb_norm mlp_norm;
    mdl_linear qkv, o, wi, wo;
    int local;          /* sliding-window layer */
} mb_layer;

typedef struct mb_model {
    mdl_matrix tok;
    mb_norm emb_norm, final_norm;
    float *zeros;       /* [hidden], owned */
    size_t reach;       /* local layers: keys with |q - k| < reach (mdl_window_reach) */
    int any_local;
    size_t n_layers;
    mb_layer *layers;
} mb_model;

void mdl_modernbert_free(void *arch)
{
    mb_model *mm = arch;
    if (!mm)
        return;
    free(mm->layers);
    free(mm->zeros);
    free(mm);
}

/* "<name>.weight" [h] and, when present, "<name>.bias" [h]. */
static emb_status mb_bind_norm(const mdl_binder *b, const mb_model *mm, const char *name,
                               int64_t h, mb_norm *out)
{
    char key[256];
    snprintf(key, sizeof key, "%s.weight", name);
    RT_TRY(mdl_bind(b, key, h, &out->w));
    snprintf(key, sizeof key, "%s.bias", name);
    out->b = mm->zeros;
    if (mdl_weights_find(b->w, key))
        RT_TRY(mdl_bind(b, key, h, &out->b));
    return EMB_OK;
}

static emb_status mb_bind_layer(const mdl_config *cfg, const mdl_binder *b, const mb_model *mm,
                                size_t l, mb_layer *ly)
{
    int64_t h = cfg->hidden, inter = cfg->intermediate;
    char name[96];
    if (l > 0) {
        snprintf(name, sizeof name, "layers.%zu.attn_norm", l);
        RT_TRY(mb_bind_norm(b, mm, name, h, &ly->attn_norm));
    }
    snprintf(name, sizeof name, "layers.%zu.mlp_norm", l);
    RT_TRY(mb_bind_norm(b, mm, name, h, &ly->mlp_norm));
    RT_TRY(mdl_bind_layer_linear(b, "layers.", l, "attn.Wqkv", 3 * h, h, 0, &ly->qkv));
    RT_TRY(mdl_bind_layer_linear(b, "layers.", l, "attn.Wo", h, h, 0, &ly->o));
    RT_TRY(mdl_bind_layer_linear(b, "layers.", l, "mlp.Wi", 2 * inter, h, 0, &ly->wi));
    RT_TRY(mdl_bind_layer_linear(b, "layers.", l, "mlp.Wo", h, inter, 0, &ly->wo));
    ly->local = mdl_window_layer(cfg, l);
    return EMB_OK;
}

emb_status mdl_modernbert_create(const mdl_config *cfg, const mdl_binder *b, void **out)
{
    emb_status st;
    int64_t h = cfg->hidden;
    mb_model *mm = rt_calloc(1, sizeof *mm);
    if (!mm)
        return EMB_ERR_NO_MEMORY;
    mm->n_layers = (size_t)cfg->layers;
    mm->reach = mdl_window_reach(cfg);
    mm->layers = rt_calloc(mm->n_layers, sizeof *mm->layers);
    mm->zeros = rt_calloc((size_t)h, sizeof *mm->zeros);
    if (!mm->layers || !mm->zeros) {
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    RT_TRY_GOTO(st, mdl_bind_matrix(b, "embeddings.tok_embeddings.weight", cfg->vocab_size, h,
                                    &mm->tok), fail);
    RT_TRY_GOTO(st, mb_bind_norm(b, mm, "embeddings.norm", h, &mm->emb_norm), fail);
    RT_TRY_GOTO(st, mb_bind_norm(b, mm, "final_norm", h, &mm->final_norm), fail);
    for (size_t l = 0; l < mm->n_layers; l++) {
        RT_TRY_GOTO(st, mb_bind_layer(cfg, b, mm, l, &mm->layers[l]), fail);
        mm->any_local |= mm->layers[l].local;
    }
    *out = mm;
    return EMB_OK;
fail:
    mdl_modernbert_free(mm);
    return st;
}

/* Attention heads of one layer over the fused qkv [n, 3h] (q, k, v at
 * columns 0, h, 2h), split in `slots` contiguous ranges with their own
 * scratch (heads are independent: same numbers whatever the split). */
typedef struct mb_attn_job {
    size_t n, lo, nr, hd, h, heads, slots, attn, reach;
    const float *qkv;
    float *ctx, *scratch, scale;
} mb_attn_job;

static void mb_attn_task(void *arg, size_t s)
{
    const mb_attn_job *j = arg;
    size_t h = j->h, hd = j->hd, ld = 3 * h;
    for (size_t hh = s * j->heads / j->slots; hh < (s + 1) * j->heads / j->slots; hh++) {
        const float *q = j->qkv + hh * hd;
        float *scratch = j->scratch + s * j->attn;
        kern_attention_pack(j->n, hd, q + h, ld, q + 2 * h, ld, scratch);
        kern_attention_rows_window(j->n, j->lo, j->nr, hd, q, ld, j->ctx + hh * hd, h, j->scale,
                                   0, j->reach, scratch);
    }
}

/* x[n, h] = LayerNorm_emb(tok[ids]); rows of a 16-bit table are widened
 * into row[h]. */
static void mb_embed(const mb_model *mm, size_t h, float eps, const int32_t *ids, size_t n,
                     float *x, float *row)
{
    for (size_t p = 0; p < n; p++) {
        const float *we = mdl_matrix_row(&mm->tok, (size_t)ids[p], row);
        kern_layernorm(1, h, we, h, mm->emb_norm.w, mm->emb_norm.b, eps, x + p * h, h);
    }
}

/* x[r0 .. r0 + rc) += Wo'·(act(a) * g), [a | g] = Wi·LN_mlp(x), with y
 * [rows, h] and ffn [rc, 2·inter] as scratch. Activation and product run
 * row by row, so a row's numbers never depend on the chunking. */
static emb_status mb_mlp(const mdl_exec *ex, const mdl_config *cfg, const mb_layer *ly,
                         float *x, float *y, float *ffn, size_t rc)
{
    size_t h = (size_t)cfg->hidden, inter = (size_t)cfg->intermediate;
    kern_layernorm(rc, h, x, h, ly->mlp_norm.w, ly->mlp_norm.b, (float)cfg->norm_eps, y, h);
    RT_TRY(mdl_linear_apply(ex, &ly->wi, rc, y, h, ffn, 2 * inter));
    for (size_t r = 0; r < rc; r++) {
        float *a = ffn + r * 2 * inter;
        const float *g = a + inter;
        mdl_activation(cfg->act, a, inter);
        for (size_t i = 0; i < inter; i++)
            a[i] *= g[i];
    }
    RT_TRY(mdl_linear_apply(ex, &ly->wo, rc, ffn, 2 * inter, y, h));
    for (size_t i = 0; i < rc * h; i++)
        x[i] += y[i];
    return EMB_OK;
}

emb_status mdl_modernbert_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids,
                                 size_t n, size_t skip, float *out)
{
    const mdl_config *cfg = &m->cfg;
    const mb_model *mm = m->arch;
    size_t h = (size_t)cfg->hidden, inter = (size_t)cfg->intermediate;
    size_t heads = (size_t)cfg->heads, hd = (size_t)cfg->head_dim, half = hd / 2;
    float eps = (float)cfg->norm_eps;
    float scale = (float)(1.0 / sqrt((double)hd)); /* head_dim ** -0.5 */
    size_t chunk = n < MDL_ROW_CHUNK ? n : MDL_ROW_CHUNK;
    size_t attn = kern_attention_scratch(n, hd);
    size_t slots = mdl_exec_slots(ex, heads);
    size_t tables = mm->any_local ? 4 : 2; /* cos, sin per theta */
    emb_status st = EMB_OK;

    /* scratch: x, y, ctx [n, h]; qkv [n, 3h]; ffn [chunk, 2 inter];
     * attention × slots; RoPE tables [n, hd/2] each */
    size_t total = 0;
    if (attn == 0 || mdl_size_add(&total, 6 * n, h) || mdl_size_add(&total, 2 * chunk, inter) ||
        mdl_size_add(&total, attn, slots) || mdl_size_add(&total, tables * n, half))
        return rt_error(EMB_ERR_NO_MEMORY, "model: scratch size for %zu tokens overflows", n);
    float *buf = mdl_scratch_get(m, total);
    if (!buf)
        return EMB_ERR_NO_MEMORY;
    float *x = buf, *y = x + n * h, *ctx = y + n * h, *qkv = ctx + n * h;
    float *ffn = qkv + 3 * n * h, *scratch = ffn + 2 * chunk * inter;
    float *cos_g = scratch + attn * slots, *sin_g = cos_g + n * half;
    float *cos_l = sin_g + n * half, *sin_l = cos_l + n * half;

    mb_embed(mm, h, eps, ids, n, x, y);
    kern_rope_table(n, hd, cfg->rope_theta, cos_g, sin_g);
    if (mm->any_local)
        kern_rope_table(n, hd, cfg->rope_local_theta, cos_l, sin_l);

    size_t lo = 0, hi = n;
    for (size_t l = 0; l < mm->n_layers; l++) {
        const mb_layer *ly = &mm->layers[l];
        if (l + 1 == mm->n_layers) /* last layer: only the rows the pooling reads */
            mdl_pool_rows(cfg, n, skip, &lo, &hi);
        size_t nr = hi - lo;
        /* qkv[n, 3h] = LN_attn(x) · Wqkv^T; q and k (2·heads heads) rotated */
        const float *in = x;
        if (ly->attn_norm.w) {
            kern_layernorm(n, h, x, h, ly->attn_norm.w, ly->attn_norm.b, eps, y, h);
            in = y;
        }
        if ((st = mdl_linear_apply(ex, &ly->qkv, n, in, h, qkv, 3 * h)) != EMB_OK)
            goto done;
        kern_rope_apply(n, 2 * heads, hd, qkv, 3 * h, ly->local ? cos_l : cos_g,
                        ly->local ? sin_l : sin_g);
        mb_attn_job aj = { n,     lo,  nr,  hd,      h,    heads,
                           slots, attn, ly->local ? mm->reach : 0,
                           qkv,   ctx, scratch, scale };
        if (slots > 1)
            rt_parallel_run((int)slots, slots, mb_attn_task, &aj);
        else
            mb_attn_task(&aj, 0);
        /* x[lo..hi) += ctx · Wo^T */
        if ((st = mdl_linear_apply(ex, &ly->o, nr, ctx + lo * h, h, y + lo * h, h)) != EMB_OK)
            goto done;
        for (size_t i = lo * h; i < hi * h; i++)
            x[i] += y[i];
        for (size_t r0 = lo; r0 < hi; r0 += chunk) {
            size_t rc = hi - r0 < chunk ? hi - r0 : chunk;
            if ((st = mb_mlp(ex, cfg, ly, x + r0 * h, y + r0 * h, ffn, rc)) != EMB_OK)
                goto done;
        }
    }
    kern_layernorm(hi - lo, h, x + lo * h, h, mm->final_norm.w, mm->final_norm.b, eps, x + lo * h,
                   h);
    /* the pooled rows are x[lo..hi) */
    mdl_pool(cfg, x, n, skip, h, h, out);
done:
    mdl_scratch_put(m, buf);
    return st;
}
