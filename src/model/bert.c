/* BERT-family encoders (model_type bert, xlm-roberta, roberta, camembert,
 * mpnet, distilbert), as HF BertModel / XLMRobertaModel / RobertaModel /
 * CamembertModel / MPNetModel / DistilBertModel in eval mode for one
 * unpadded sequence:
 *   x = LayerNorm(word[id] + token_type[0] + position[p])   (MPNet, DistilBERT: no token_type)
 *   per layer (post-LN):
 *     x = LayerNorm(x + attn(x)·Wo + bo)    (attn: all tokens, no mask)
 *     x = LayerNorm(x + act(x·Wi + bi)·Wd + bd)
 * BERT's and DistilBERT's positions are 0..n-1; XLM-R's, RoBERTa's,
 * CamemBERT's and MPNet's are padding_idx + 1 + index, with a literal pad
 * id getting padding_idx and not advancing the count (as
 * create_position_ids_from_input_ids). MPNet also adds a learned bias over
 * bucketed relative positions to every layer's attention scores
 * (MPNetEncoder.compute_position_bias, computed once per pass). DistilBERT
 * is the same graph under other tensor names (TransformerBlock: q_lin ...
 * out_lin, sa_layer_norm, ffn.lin1/lin2, output_layer_norm). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

typedef struct bert_layer {
    mdl_linear q, k, v, o, up, down;
    const float *ln_attn_w, *ln_attn_b, *ln_out_w, *ln_out_b;
} bert_layer;

typedef struct bert_model {
    mdl_matrix word, pos, type; /* type.data NULL: no token_type embeddings (MPNet, DistilBERT) */
    mdl_matrix rel;             /* [buckets, heads]; data NULL: no relative bias */
    const float *ln_w, *ln_b;
    int64_t first_pos;          /* 0, or padding_idx + 1 (XLM-R, MPNet) */
    int32_t buckets;
    size_t n_layers;
    bert_layer *layers;
} bert_model;

/* A layer's tensor names: "<layer><l>.<suffix>". */
typedef struct bert_names {
    const char *layer;                     /* the layers' prefix */
    const char *q, *k, *v, *o, *ln_w, *ln_b; /* attention */
    const char *up, *down, *ln_out_w, *ln_out_b; /* MLP */
} bert_names;

static const bert_names bert_tensor_names = {
    "encoder.layer.", "attention.self.query", "attention.self.key", "attention.self.value",
    "attention.output.dense", "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias", "intermediate.dense", "output.dense",
    "output.LayerNorm.weight", "output.LayerNorm.bias",
};
static const bert_names mpnet_tensor_names = {
    "encoder.layer.", "attention.attn.q", "attention.attn.k", "attention.attn.v",
    "attention.attn.o", "attention.LayerNorm.weight", "attention.LayerNorm.bias",
    "intermediate.dense", "output.dense", "output.LayerNorm.weight", "output.LayerNorm.bias",
};
static const bert_names distilbert_tensor_names = {
    "transformer.layer.", "attention.q_lin", "attention.k_lin", "attention.v_lin",
    "attention.out_lin", "sa_layer_norm.weight", "sa_layer_norm.bias", "ffn.lin1", "ffn.lin2",
    "output_layer_norm.weight", "output_layer_norm.bias",
};

void mdl_bert_free(void *arch)
{
    bert_model *bm = arch;
    if (!bm)
        return;
    free(bm->layers);
    free(bm);
}

static emb_status bert_bind_layer(const mdl_config *cfg, const mdl_binder *b,
                                  const bert_names *nm, size_t l, bert_layer *ly)
{
    int64_t h = cfg->hidden, inter = cfg->intermediate;
    emb_status st;
#define LIN(field, suffix, out, in)                                                               \
    do {                                                                                          \
        st = mdl_bind_layer_linear(b, nm->layer, l, suffix, out, in, 1, &ly->field);       \
        if (st != EMB_OK)                                                                         \
            return st;                                                                            \
    } while (0)
#define VEC(field, suffix)                                                                        \
    do {                                                                                          \
        if ((st = mdl_bind_layer_vec(b, nm->layer, l, suffix, h, &ly->field)) != EMB_OK)   \
            return st;                                                                            \
    } while (0)
    LIN(q, nm->q, h, h);
    LIN(k, nm->k, h, h);
    LIN(v, nm->v, h, h);
    LIN(o, nm->o, h, h);
    VEC(ln_attn_w, nm->ln_w);
    VEC(ln_attn_b, nm->ln_b);
    LIN(up, nm->up, inter, h);
    LIN(down, nm->down, h, inter);
    VEC(ln_out_w, nm->ln_out_w);
    VEC(ln_out_b, nm->ln_out_b);
#undef LIN
#undef VEC
    return EMB_OK;
}

emb_status mdl_bert_create(const mdl_config *cfg, const mdl_binder *b, void **out)
{
    emb_status st;
    int64_t h = cfg->hidden;
    bert_model *bm = rt_calloc(1, sizeof *bm);
    if (!bm)
        return EMB_ERR_NO_MEMORY;
    const mdl_arch *arch = mdl_arch_of(cfg);
    const bert_names *nm = arch->mpnet_names        ? &mpnet_tensor_names
                           : arch->distilbert_names ? &distilbert_tensor_names
                                                    : &bert_tensor_names;
    bm->first_pos = mdl_first_position(cfg);
    bm->buckets = arch->relative_buckets;
    bm->n_layers = (size_t)cfg->layers;
    bm->layers = rt_calloc(bm->n_layers, sizeof *bm->layers);
    if (!bm->layers) {
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    if ((st = mdl_bind_matrix(b, "embeddings.word_embeddings.weight", cfg->vocab_size, h,
                              &bm->word)) ||
        (st = mdl_bind_matrix(b, "embeddings.position_embeddings.weight", cfg->max_position, h,
                              &bm->pos)) ||
        (cfg->type_vocab_size > 0 &&
         (st = mdl_bind_matrix(b, "embeddings.token_type_embeddings.weight",
                               cfg->type_vocab_size, h, &bm->type))) ||
        (bm->buckets > 0 &&
         (st = mdl_bind_matrix(b, "encoder.relative_attention_bias.weight", bm->buckets,
                               cfg->heads, &bm->rel))) ||
        (st = mdl_bind(b, "embeddings.LayerNorm.weight", h, &bm->ln_w)) ||
        (st = mdl_bind(b, "embeddings.LayerNorm.bias", h, &bm->ln_b)))
        goto fail;
    for (size_t l = 0; l < bm->n_layers; l++)
        if ((st = bert_bind_layer(cfg, b, nm, l, &bm->layers[l])) != EMB_OK)
            goto fail;
    *out = bm;
    return EMB_OK;
fail:
    mdl_bert_free(bm);
    return st;
}

size_t mdl_bert_max_tokens(const mdl_config *cfg)
{
    return (size_t)(cfg->max_position - mdl_first_position(cfg));
}

void mdl_activation(const char *act, float *x, size_t n)
{
    if (!strcmp(act, "gelu"))
        kern_gelu(x, n);
    else if (!strcmp(act, "relu"))
        kern_relu(x, n);
    else
        kern_gelu_tanh(x, n); /* gelu_new, gelu_pytorch_tanh (checked by mdl_config_check) */
}

int mdl_relative_bucket(int64_t offset, int buckets)
{
    /* n = i - j = -offset; the two directions get separate halves */
    int half = buckets / 2, exact = half / 2, ret = offset > 0 ? half : 0;
    int64_t a = offset < 0 ? -offset : offset;
    if (a < exact)
        return ret + (int)a;
    /* float32 as torch: log(n / exact) / log(128 / exact) * (half - exact) */
    float lg = logf((float)a / (float)exact) / (float)log(128.0 / exact) * (float)(half - exact);
    int64_t v = exact + (int64_t)lg;
    return ret + (int)(v < half - 1 ? v : half - 1);
}

/* rel[heads, 2n - 1]: head hh's bias for offset d = j - i at rel[hh(2n - 1)
 * + n - 1 + d], from the [buckets, heads] table (row buffer tmp[heads]). */
static void bert_relative_bias(const bert_model *bm, size_t n, size_t heads, float *rel,
                               float *tmp)
{
    size_t w = 2 * n - 1;
    for (size_t c = 0; c < w; c++) {
        int64_t d = (int64_t)c - (int64_t)(n - 1);
        const float *row = mdl_matrix_row(&bm->rel, (size_t)mdl_relative_bucket(d, bm->buckets), tmp);
        for (size_t hh = 0; hh < heads; hh++)
            rel[hh * w + c] = row[hh];
    }
}

/* x[n, h] = word[id] + type[0] + position[pos(p)] (no type[0] for MPNet and DistilBERT),
 * before the LayerNorm; rows of 16-bit tables are widened into row[3 * h]. */
static void bert_embed(const bert_model *bm, const mdl_config *cfg, const int32_t *ids, size_t n,
                       float *x, float *row)
{
    size_t h = (size_t)cfg->hidden;
    const float *type = bm->type.data ? mdl_matrix_row(&bm->type, 0, row + 2 * h) : NULL;
    int32_t pad = (int32_t)(bm->first_pos - 1);
    size_t count = 0;
    for (size_t p = 0; p < n; p++) {
        size_t pos = p;
        if (bm->first_pos > 0) {
            if (ids[p] == pad) {
                pos = (size_t)pad;
            } else {
                count++;
                pos = (size_t)pad + count;
            }
        }
        const float *we = mdl_matrix_row(&bm->word, (size_t)ids[p], row);
        const float *pe = mdl_matrix_row(&bm->pos, pos, row + h);
        float *xp = x + p * h;
        if (type)
            for (size_t i = 0; i < h; i++)
                xp[i] = (we[i] + type[i]) + pe[i];
        else
            for (size_t i = 0; i < h; i++)
                xp[i] = we[i] + pe[i];
    }
}

static void bert_attn_task(void *arg, size_t s)
{
    const mdl_attn_job *j = arg;
    size_t h = j->h, hd = j->hd, ld = j->ld;
    for (size_t hh = s * j->heads / j->slots; hh < (s + 1) * j->heads / j->slots; hh++) {
        if (j->rel)
            kern_attention_head_rel(j->n, j->lo, j->nr, hd, j->q + hh * hd, ld, j->k + hh * hd, ld,
                                    j->v + hh * hd, ld, j->ctx + hh * hd, h, j->scale,
                                    j->rel + hh * (2 * j->n - 1), j->scratch + s * j->attn);
        else
            kern_attention_head(j->n, j->lo, j->nr, hd, j->q + hh * hd, ld, j->k + hh * hd, ld,
                                j->v + hh * hd, ld, j->ctx + hh * hd, h, j->scale, 0,
                                j->scratch + s * j->attn);
    }
}

void mdl_attn_run(const mdl_attn_job *j)
{
    if (j->slots > 1)
        rt_parallel_run((int)j->slots, j->slots, bert_attn_task, (void *)j);
    else
        bert_attn_task((void *)j, 0);
}

void mdl_residual_layernorm(size_t rows, size_t h, float *t, float *x, const float *w,
                            const float *b, float eps)
{
    for (size_t i = 0; i < rows * h; i++)
        t[i] += x[i];
    kern_layernorm(rows, h, t, h, w, b, eps, x, h);
}

emb_status mdl_bert_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids, size_t n,
                           size_t skip, float *out)
{
    const mdl_config *cfg = &m->cfg;
    const bert_model *bm = m->arch;
    size_t h = (size_t)cfg->hidden, inter = (size_t)cfg->intermediate;
    size_t heads = (size_t)cfg->heads, hd = (size_t)cfg->head_dim;
    float eps = (float)cfg->norm_eps;
    float scale = (float)(1.0 / sqrt((double)hd));
    size_t chunk = n < MDL_ROW_CHUNK ? n : MDL_ROW_CHUNK;
    size_t attn = kern_attention_scratch(n, hd);
    size_t slots = mdl_exec_slots(ex, heads);
    emb_status st = EMB_OK;

    /* scratch: x, q, k, v, ctx, t [n, h]; ffn [chunk, inter]; attention × slots;
     * relative bias [heads, 2n - 1] */
    size_t total = 0, n_rel = bm->rel.data ? heads : 0;
    if (attn == 0 || mdl_size_add(&total, 6 * n, h) || mdl_size_add(&total, chunk, inter) ||
        mdl_size_add(&total, attn, slots) || mdl_size_add(&total, n_rel, 2 * n - 1))
        return rt_error(EMB_ERR_NO_MEMORY, "model: scratch size for %zu tokens overflows", n);
    float *buf = mdl_scratch_get(m, total);
    if (!buf)
        return EMB_ERR_NO_MEMORY;
    float *x = buf, *q = x + n * h, *k = q + n * h, *v = k + n * h, *ctx = v + n * h;
    float *t = ctx + n * h, *ffn = t + n * h, *scratch = ffn + chunk * inter;
    float *rel = n_rel ? scratch + attn * slots : NULL;

    bert_embed(bm, cfg, ids, n, x, q); /* q, k, v: at least 3 h floats, free until layer 0 */
    kern_layernorm(n, h, x, h, bm->ln_w, bm->ln_b, eps, x, h);
    if (rel) /* ctx: at least heads floats, free until layer 0's attention */
        bert_relative_bias(bm, n, heads, rel, ctx);

    size_t lo = 0, hi = n;
    for (size_t l = 0; l < bm->n_layers; l++) {
        const bert_layer *ly = &bm->layers[l];
        if (l + 1 == bm->n_layers) /* last layer: only the rows the pooling reads */
            mdl_pool_rows(cfg, n, skip, &lo, &hi);
        size_t nr = hi - lo;
        /* q[lo..hi, h], k, v [n, h] */
        const mdl_linear_call qkv[3] = { { &ly->q, nr, x + lo * h, h, q + lo * h, h },
                                         { &ly->k, n, x, h, k, h },
                                         { &ly->v, n, x, h, v, h } };
        if ((st = mdl_linear_apply_many(ex, qkv, 3)) != EMB_OK)
            goto done;
        mdl_attn_job aj = { .n = n, .lo = lo, .nr = nr, .hd = hd, .h = h, .ld = h,
                            .heads = heads, .slots = slots, .attn = attn, .q = q, .k = k,
                            .v = v, .ctx = ctx, .scratch = scratch, .scale = scale, .rel = rel };
        mdl_attn_run(&aj);
        /* x = LayerNorm(ctx·Wo + bo + x) */
        if ((st = mdl_linear_apply(ex, &ly->o, nr, ctx + lo * h, h, t + lo * h, h)) != EMB_OK)
            goto done;
        mdl_residual_layernorm(nr, h, t + lo * h, x + lo * h, ly->ln_attn_w, ly->ln_attn_b, eps);
        /* x = LayerNorm(act(x·Wi + bi)·Wd + bd + x), in row chunks */
        for (size_t r0 = lo; r0 < hi; r0 += chunk) {
            size_t rc = hi - r0 < chunk ? hi - r0 : chunk;
            if ((st = mdl_linear_apply(ex, &ly->up, rc, x + r0 * h, h, ffn, inter)) != EMB_OK)
                goto done;
            mdl_activation(cfg->act, ffn, rc * inter);
            if ((st = mdl_linear_apply(ex, &ly->down, rc, ffn, inter, t + r0 * h, h)) != EMB_OK)
                goto done;
            mdl_residual_layernorm(rc, h, t + r0 * h, x + r0 * h, ly->ln_out_w, ly->ln_out_b, eps);
        }
    }
    /* the pooled rows are x[lo..hi) */
    mdl_pool(cfg, x, n, skip, h, h, out);
done:
    mdl_scratch_put(m, buf);
    return st;
}
