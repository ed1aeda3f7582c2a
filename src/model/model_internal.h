/* Private to model/: the model object, weight binding helpers, pooling, and
 * the per-family entry points (bert.c, rotary.c, modernbert.c, llama.c). */
#ifndef EMB_MODEL_INTERNAL_H
#define EMB_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Scratch buffers kept between mdl_encode calls (fresh pages cost a page
 * fault each; on some VMs that is 5 % of a forward pass). Shared by the
 * threads using one model, under a mutex; about one idle buffer per
 * concurrent caller is kept (at most MDL_SCRATCH_SLOTS), none above
 * MDL_SCRATCH_KEEP bytes (e.g. a 2048-token pass of a 0.6B decoder). */
#define MDL_SCRATCH_SLOTS 8
#define MDL_SCRATCH_KEEP ((size_t)64 << 20)
typedef struct mdl_scratch_pool mdl_scratch_pool;

struct mdl_model {
    mdl_config cfg;
    mdl_family family;
    size_t pooled_dim;       /* mdl_pooled_dim */
    size_t out_dim;          /* mdl_output_dim */
    struct mdl_linear *dense; /* cfg.n_dense Linears (fp32 or as stored), owned */
    void *arch;              /* bert_model *, rotary_model * or llama_model *, owned */
    uint64_t params;         /* counted as arch was bound (mdl_params) */
    mdl_scratch_pool *pool;  /* owned; mutable behind the const model */
};

/* A scratch buffer of at least `floats` floats (contents undefined), or NULL
 * with EMB_ERR_NO_MEMORY recorded; give it back with mdl_scratch_put. */
float *mdl_scratch_get(const mdl_model *m, size_t floats);
void mdl_scratch_put(const mdl_model *m, float *buf);

/* A torch Linear: w [out, in] row-major in its stored type wt (mapped from
 * the file, never copied), b [out] or NULL; bf16: the product runs in bf16
 * compute (kern_linear's bf16 mode). int8 weights (wt KERN_W_I8) are the
 * file's VNNI panels of w (kern_pack_i8_panels) with per-row scales [out]
 * and (format 1.2) outlier features in fp32, run by kern_linear_i8p
 * whatever bf16 says. */
typedef struct mdl_linear {
    const void *w;
    kern_wtype wt;
    const float *scale;        /* KERN_W_I8 only, else NULL */
    kern_i8_outliers outliers; /* KERN_W_I8 only; count 0: none */
    const float *b;
    size_t out, in;
    int bf16;
    float *amax;               /* calibration only (mdl_create_calibration):
                                  max |x| per input feature [in]; else NULL */
} mdl_linear;

/* A 2-D tensor read by rows (embedding tables): data [rows, cols] in type wt. */
typedef struct mdl_matrix {
    const void *data;
    kern_wtype wt;
    size_t rows, cols;
} mdl_matrix;

/* Row r of m as fp32: a pointer into m (f32), or widened into buf[m->cols]. */
const float *mdl_matrix_row(const mdl_matrix *m, size_t r, float *buf);

/* Where tensors are bound from: resolve = 1 for mdl_create (every bound
 * tensor must carry data), 0 for shape checks (data may be NULL); bf16 = 1:
 * Linear layers compute in bf16; linear_marks (NULL or one byte per tensor
 * of w): set to 1 for each tensor bound as a Linear layer's weight; amax
 * (NULL, or one pointer per tensor of w): each Linear's calibration record
 * (mdl_create_calibration); params (NULL, or a count): what mdl_params
 * reports, added up as tensors are bound — mdl_bind_linear adds out · in
 * (and its bias through mdl_bind), mdl_bind a vector's d0; tables read by
 * rows (mdl_bind_matrix) and an int8 weight's scales and outlier copies
 * add nothing. A graph binds a tensor it runs on one row per sequence (the
 * lm_head) with params NULL. */
typedef struct mdl_binder {
    const mdl_weights *w;
    int resolve;
    int bf16;
    unsigned char *linear_marks;
    float *const *amax;
    uint64_t *params;
} mdl_binder;

/* Rows each chunk of a row-wise block (MLP) processes, bounding the
 * [chunk, intermediate] scratch whatever the sequence length. */
#define MDL_ROW_CHUNK 256

/* Family of cfg->arch (-1 if unknown). */
int mdl_family_of(const mdl_config *cfg);

/* The tensor called `name`, or NULL. */
const mdl_tensor *mdl_weights_find(const mdl_weights *w, const char *name);

/* Find the vector `name` and check its shape [d0] and type (f32). *out gets
 * its data (NULL when only shapes are checked). EMB_ERR_FORMAT naming the
 * tensor when missing or misshapen. */
emb_status mdl_bind(const mdl_binder *b, const char *name, int64_t d0, const float **out);
/* The same for a [d0, d1] tensor of any stored type. */
emb_status mdl_bind_matrix(const mdl_binder *b, const char *name, int64_t d0, int64_t d1,
                           mdl_matrix *out);

/* Bind "<prefix>.weight" [out, in] and "<prefix>.bias" [out]:
 * bias = 1 required, 0 used when present, -1 not used. An int8 weight needs
 * "<prefix>.weight_scale" [out] (finite, >= 0) and, when it has K outlier
 * features, "<prefix>.weight_outlier_cols" int32 [K] (distinct, each in
 * [0, in)) and "<prefix>.weight_outlier_weight" f32 [K, out]; a float
 * weight, or an int8 one without outliers, must have none of what it does
 * not use. Only Linear weights may be int8 (mdl_bind_matrix refuses them),
 * and only outlier columns int32. */
emb_status mdl_bind_linear(const mdl_binder *b, const char *prefix, int64_t out, int64_t in,
                           int bias, mdl_linear *l);
/* A layer's tensors: mdl_bind(…, d, …) / mdl_bind_linear of the tensor
 * named "<prefix><layer>.<suffix>" (prefix "encoder.layer." for BERT,
 * "layers." for Llama). */
emb_status mdl_bind_layer_vec(const mdl_binder *b, const char *prefix, size_t layer,
                              const char *suffix, int64_t d, const float **out);
emb_status mdl_bind_layer_linear(const mdl_binder *b, const char *prefix, size_t layer,
                                 const char *suffix, int64_t out, int64_t in, int bias,
                                 mdl_linear *l);

/* How one forward pass runs, as ggml's compute params: made by
 * mdl_encode_threads and passed explicitly down the pass (bert.c, llama.c)
 * to every Linear and attention split; nothing about it is kept per thread.
 * threads: the caller plus up to threads - 1 pool workers, 1 ..
 * RT_MAX_THREADS (rt_threads_clamp). */
typedef struct mdl_exec {
    int threads;
} mdl_exec;

/* Slots a split of `units` independent pieces (attention heads) runs in:
 * min(ex->threads, units), at least 1. */
size_t mdl_exec_slots(const mdl_exec *ex, size_t units);

/* linear.c — the Linear dispatcher.
 * y[m, l->out] = x[m, l->in] · w^T + b (row strides ldx, ldy); with
 * ex->threads > 1, split over column panels of KERN_PACK_NR outputs on the
 * pool (each element's arithmetic unchanged).
 * EMB_ERR_NO_MEMORY when a thread's GEMM scratch cannot be allocated. */
emb_status mdl_linear_apply(const mdl_exec *ex, const mdl_linear *l, size_t m, const float *x,
                            size_t ldx, float *y, size_t ldy);
/* Several independent products (e.g. q, k, v of one layer) in one fork-join
 * on the pool: each as mdl_linear_apply, bitwise the same numbers. */
#define MDL_LINEAR_MANY 4
typedef struct mdl_linear_call {
    const mdl_linear *l;
    size_t m;
    const float *x;
    size_t ldx;
    float *y;
    size_t ldy;
} mdl_linear_call;
emb_status mdl_linear_apply_many(const mdl_exec *ex, const mdl_linear_call *c, size_t n);

/* Rows of the final hidden states cfg's pooling modes read from a sequence
 * of n tokens whose first `skip` are left out (mdl_encode_skip): [*lo, *hi),
 * never empty. */
void mdl_pool_rows(const mdl_config *cfg, size_t n, size_t skip, size_t *lo, size_t *hi);

/* out[modes × d] = cfg's pooling modes (not logits) of the hidden rows
 * h [n, d] (row stride ldh; only the rows of mdl_pool_rows are read), each
 * mode's vector after the one before, leaving out the first `skip` rows as
 * mdl_encode_skip says. */
void mdl_pool(const mdl_config *cfg, const float *h, size_t n, size_t skip, size_t d, size_t ldh,
              float *out);

/* dense.c: bind cfg's Dense modules ("st_dense.<i>.linear.*") into l[n_dense]
 * (never marked as int8 candidates nor calibrated: they stay as stored),
 * and apply them to one pooled vector x[pooled_dim] into out[out_dim]
 * (scratch: 2 × the widest Dense output). */
emb_status mdl_dense_bind(const mdl_config *cfg, const mdl_binder *b, struct mdl_linear *l);
emb_status mdl_dense_apply(const mdl_model *m, const mdl_exec *ex, const float *x, float *out);

/* v /= max(||v||₂, 1e-12), as torch.nn.functional.normalize. */
void mdl_l2_normalize(float *v, size_t d);

/* Checked sum of products for scratch sizes: *total += a·b; 1 on overflow. */
int mdl_size_add(size_t *total, size_t a, size_t b);

/* bert.c */
emb_status mdl_bert_create(const mdl_config *cfg, const mdl_binder *b, void **out);
void mdl_bert_free(void *arch);
size_t mdl_bert_max_tokens(const mdl_config *cfg);
/* MPNet's relative_position_bucket for offset = key - query position: the
 * bucket in [0, buckets) (bidirectional: offsets > 0 in the upper half; the
 * first buckets/4 distances exact, then log-spaced up to distance 128), with
 * torch's float32 arithmetic. buckets >= 4, even. */
int mdl_relative_bucket(int64_t offset, int buckets);
/* The pooled vector out[mdl_pooled_dim] of one sequence (mdl_encode_skip's skip). */
emb_status mdl_bert_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids, size_t n,
                           size_t skip, float *out);

/* The encoders' shared steps (bert.c; rotary.c runs them too). One layer's
 * bidirectional attention: heads of q, k, v (each [n, heads·hd], row stride
 * ld; the query rows lo .. lo+nr-1) into ctx [n, h], split over `slots`
 * contiguous head ranges run on the pool, each with its own `attn` floats of
 * scratch (kern_attention_scratch); rel: MPNet's [heads, 2n - 1] bias or
 * NULL. Heads are independent: the same numbers whatever the split. */
typedef struct mdl_attn_job {
    size_t n, lo, nr, hd, h, ld, heads, slots, attn;
    const float *q, *k, *v;
    float *ctx, *scratch, scale;
    const float *rel;
} mdl_attn_job;
void mdl_attn_run(const mdl_attn_job *j);
/* The post-LN residual step: x[rows, h] = LayerNorm(t + x) (t is clobbered). */
void mdl_residual_layernorm(size_t rows, size_t h, float *t, float *x, const float *w,
                            const float *b, float eps);

/* rotary.c (encoders whose arch has rotary_encoder: NomicBERT, GTE) */
emb_status mdl_rotary_create(const mdl_config *cfg, const mdl_binder *b, void **out);
void mdl_rotary_free(void *arch);
emb_status mdl_rotary_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids, size_t n,
                            size_t skip, float *out);

/* x = act(x) for an encoder's hidden_act: "gelu" (exact erf), "relu",
 * else the tanh form (gelu_new, gelu_pytorch_tanh; mdl_config_check
 * allows no other). */
void mdl_activation(const char *act, float *x, size_t n);

/* modernbert.c (mdl_arch.modernbert), entry points as bert.c's; its
 * longest input is mdl_bert_max_tokens. */
emb_status mdl_modernbert_create(const mdl_config *cfg, const mdl_binder *b, void **out);
void mdl_modernbert_free(void *arch);
emb_status mdl_modernbert_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids,
                                 size_t n, size_t skip, float *out);

/* llama.c */
emb_status mdl_llama_create(const mdl_config *cfg, const mdl_binder *b, void **out);
void mdl_llama_free(void *arch);
emb_status mdl_llama_encode(const mdl_model *m, const mdl_exec *ex, const int32_t *ids, size_t n,
                            size_t skip, float *out);

#endif
