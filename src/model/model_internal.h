/* Private to model/: the model object, weight binding helpers, pooling, and
 * the per-family entry points (bert.c, llama.c). */
#ifndef EMB_MODEL_INTERNAL_H
#define EMB_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

typedef enum mdl_family {
    MDL_FAMILY_BERT = 0, /* bert, xlm-roberta: post-LN encoder */
    MDL_FAMILY_LLAMA = 1 /* llama, mistral, qwen2, qwen3: pre-RMSNorm decoder */
} mdl_family;

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
    size_t out_dim;
    void *arch;              /* bert_model * or llama_model *, owned */
    mdl_scratch_pool *pool;  /* owned; mutable behind the const model */
};

/* A scratch buffer of at least `floats` floats (contents undefined), or NULL
 * with EMB_ERR_NO_MEMORY recorded; give it back with mdl_scratch_put. */
float *mdl_scratch_get(const mdl_model *m, size_t floats);
void mdl_scratch_put(const mdl_model *m, float *buf);

/* A torch Linear: w [out, in] row-major, b [out] or NULL; packed: w in
 * kern_pack_nt panels (owned; NULL only in shape-check binders); bf16: w in
 * kern_pack_bf16 panels instead (owned; bf16 compute, then packed is NULL). */
typedef struct mdl_linear {
    const float *w;
    const float *b;
    size_t out, in;
    float *packed;
    uint16_t *bf16;
} mdl_linear;

/* Where tensors are bound from: resolve = 1 for mdl_create (every bound
 * tensor must carry data), 0 for shape checks (data may be NULL); pack = 1:
 * Linear weights get a packed copy (else the kernels read them in place);
 * pack = MDL_PACK_BF16: a bf16 packed copy (bf16 compute). */
#define MDL_PACK_BF16 2
typedef struct mdl_binder {
    const mdl_weights *w;
    int resolve;
    int pack;
} mdl_binder;

/* Above this many bytes of Linear weights, the AVX-512 path runs on the
 * mapped weights in place (dot-form kernel, ~10 % slower) rather than double
 * the model's memory and open time with a packed copy. The other paths always
 * pack (their in-place kernels are far slower). */
#define MDL_PACK_MAX_BYTES ((uint64_t)2 << 30)

/* mdl_create with the packing decision forced: pack = 1 always, 0 never,
 * MDL_PACK_BF16 bf16 compute (the caller checked kern_bf16_supported()),
 * -1 as mdl_create decides (tests run both kernels through the models). */
emb_status mdl_create_opts(const mdl_config *cfg, const mdl_weights *w, int pack,
                           mdl_model **out);

/* Rows each chunk of a row-wise block (MLP) processes, bounding the
 * [chunk, intermediate] scratch whatever the sequence length. */
#define MDL_ROW_CHUNK 256

/* Family of cfg->arch (-1 if unknown). */
int mdl_family_of(const mdl_config *cfg);

/* The tensor called `name`, or NULL. */
const mdl_tensor *mdl_weights_find(const mdl_weights *w, const char *name);

/* Find `name` and check its shape: [d0] when d1 == 0, else [d0, d1]. *out
 * gets its data (NULL when only shapes are checked). EMB_ERR_FORMAT naming
 * the tensor when missing or misshapen. */
emb_status mdl_bind(const mdl_binder *b, const char *name, int64_t d0, int64_t d1,
                    const float **out);

/* Bind "<prefix>.weight" [out, in] and "<prefix>.bias" [out]:
 * bias = 1 required, 0 used when present, -1 not used. When resolving, packs
 * the weight (release with mdl_linear_release). */
emb_status mdl_bind_linear(const mdl_binder *b, const char *prefix, int64_t out, int64_t in,
                           int bias, mdl_linear *l);
/* A layer's tensors: mdl_bind(…, d, 0, …) / mdl_bind_linear of the tensor
 * named "<prefix><layer>.<suffix>" (prefix "encoder.layer." for BERT,
 * "layers." for Llama). */
emb_status mdl_bind_layer_vec(const mdl_binder *b, const char *prefix, size_t layer,
                              const char *suffix, int64_t d, const float **out);
emb_status mdl_bind_layer_linear(const mdl_binder *b, const char *prefix, size_t layer,
                                 const char *suffix, int64_t out, int64_t in, int bias,
                                 mdl_linear *l);
/* Pack l->w into kern_pack_nt panels (an owned copy). */
emb_status mdl_linear_pack(mdl_linear *l);
void mdl_linear_release(mdl_linear *l);

/* The calling thread's budget for the forward pass it is running (set by
 * mdl_encode_threads for the duration of the pass; 1 otherwise). */
int mdl_threads(void);
void mdl_threads_set(int n_threads);

/* y[m, l->out] = x[m, l->in] · w^T + b (row strides ldx, ldy); with a
 * budget of mdl_threads() > 1, split over column panels of KERN_PACK_NR
 * outputs on the pool (each element's arithmetic unchanged). */
void mdl_linear_apply(const mdl_linear *l, size_t m, const float *x, size_t ldx, float *y,
                      size_t ldy);
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
void mdl_linear_apply_many(const mdl_linear_call *c, size_t n);

/* Rows of the final hidden states the pooling reads: [*lo, *hi). */
void mdl_pool_rows(mdl_pooling pooling, size_t n, size_t *lo, size_t *hi);

/* out[d] = pooled hidden rows (MEAN, CLS or LASTTOKEN) of h [n, d]. */
void mdl_pool(mdl_pooling pooling, const float *h, size_t n, size_t d, size_t ldh, float *out);

/* v /= max(||v||₂, 1e-12), as torch.nn.functional.normalize. */
void mdl_l2_normalize(float *v, size_t d);

/* Checked sum of products for scratch sizes: *total += a·b; 1 on overflow. */
int mdl_size_add(size_t *total, size_t a, size_t b);

/* bert.c */
emb_status mdl_bert_create(const mdl_config *cfg, const mdl_binder *b, void **out);
void mdl_bert_free(void *arch);
size_t mdl_bert_max_tokens(const mdl_config *cfg);
emb_status mdl_bert_encode(const mdl_model *m, const int32_t *ids, size_t n, float *out);

/* llama.c */
emb_status mdl_llama_create(const mdl_config *cfg, const mdl_binder *b, void **out);
void mdl_llama_free(void *arch);
emb_status mdl_llama_encode(const mdl_model *m, const int32_t *ids, size_t n, float *out);

#endif
