/* model/ — forward passes (one file per architecture family) and pooling.
 * Takes token ids of ONE sequence and returns its pooled (and, if the model
 * says so, L2-normalized) vector. A sequence's numbers never depend on any
 * other sequence: batching is the caller's loop. This header is the folder's
 * only door. */
#ifndef EMB_MODEL_H
#define EMB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "emb.h"
#include "emb_names.h"
#include "kernels/kernels.h"

/* Expanded from EMB_POOLING_MAP (include/emb_names.h), numbered from 0 as
 * stored: MDL_POOL_MEAN (mean over all tokens, specials included),
 * MDL_POOL_CLS (first token), MDL_POOL_LASTTOKEN (last token),
 * MDL_POOL_LASTTOKEN_LOGITS (lm_head logits of the last token). */
#define MDL_POOL_ITEM_(id, name) MDL_POOL_##id,
typedef enum mdl_pooling { EMB_POOLING_MAP(MDL_POOL_ITEM_) } mdl_pooling;

/* The activation after a sentence-transformers Dense module's Linear
 * (EMB_DENSE_ACT_MAP): MDL_DENSE_IDENTITY, _TANH, _RELU, _GELU (exact erf),
 * _SILU, _SIGMOID. */
#define MDL_DENSE_ITEM_(id, name) MDL_DENSE_##id,
typedef enum mdl_dense_act { EMB_DENSE_ACT_MAP(MDL_DENSE_ITEM_) } mdl_dense_act;

/* Pooling modes one model concatenates (sentence-transformers' Pooling with
 * several modes on), and Dense modules after the pooling. */
#define MDL_MAX_POOL_MODES 6
#define MDL_MAX_DENSE 8

/* One sentence-transformers Dense module: y = act(x · W^T + b), W [out, in]
 * bound from "st_dense.<i>.linear.weight" (and ".bias" when bias). */
typedef struct mdl_dense {
    int64_t in, out;
    int32_t bias;
    mdl_dense_act act;
} mdl_dense;

/* Architecture hyper-parameters, as read from config.json. */
typedef struct mdl_config {
    char arch[16];        /* a model_type of the architecture table (mdl_arch_find) */
    int64_t vocab_size;
    int64_t hidden;       /* hidden_size */
    int64_t layers;       /* num_hidden_layers */
    int64_t heads;        /* num_attention_heads */
    int64_t kv_heads;     /* num_key_value_heads (= heads for BERT) */
    int64_t head_dim;     /* hidden / heads unless config gives head_dim */
    int64_t intermediate; /* intermediate_size */
    int64_t max_position; /* max_position_embeddings */
    int64_t type_vocab_size;
    int64_t pad_token_id;
    double norm_eps;      /* layer_norm_eps / rms_norm_eps */
    double rope_theta;
    double rope_ntk;      /* GTE (new, gte): Alibaba's fixed NTK scaling factor
                             (rope_scaling type ntk); 0: none */
    /* Decoders' RoPE scaling (config.json rope_scaling / rope_parameters, as
       transformers' ROPE_INIT_FUNCTIONS; format 1.4; mdl_rope_freqs): */
    int32_t rope_type;          /* mdl_rope_type */
    double rope_factor;         /* linear, dynamic, yarn, llama3 */
    int64_t rope_original_max;  /* original_max_position_embeddings (yarn, llama3) */
    double rope_attn_factor;    /* yarn: attention_factor (resolved), times cos/sin */
    double rope_beta_fast, rope_beta_slow; /* yarn (resolved: 32, 1 when unset) */
    int32_t rope_truncate;      /* yarn: floor/ceil the correction range */
    double rope_low_freq, rope_high_freq; /* llama3: low/high_freq_factor */
    /* Sliding-window attention (format 1.4): 0 = none; else the layers
       flagged in window_layers (bit l % 8 of byte l / 8) let token i see,
       causal (decoders), only tokens i - sliding_window + 1 .. i, and
       bidirectional (Gemma3, ModernBERT), only tokens j with |i - j| <
       sliding_window / 2 + 1 (mdl_window_reach). ModernBERT's
       local_attention is stored here (0 as 1: the same reach). */
    int64_t sliding_window;
    uint8_t window_layers[(1 << 10) / 8]; /* MDL_MAX_LAYERS bits */
    char act[24];         /* hidden_act: "gelu" (exact erf), "silu", "gelu_pytorch_tanh" ... */
    int32_t tie_embeddings;
    mdl_pooling pooling;  /* the (first) pooling mode */
    int32_t n_pool_extra; /* further modes, each one's vector appended after the
                             ones before it (sentence-transformers' order) */
    mdl_pooling pool_extra[MDL_MAX_POOL_MODES - 1];
    int32_t n_dense;      /* Dense modules applied in order after the pooling */
    mdl_dense dense[MDL_MAX_DENSE];
    int32_t normalize;    /* L2-normalize the (pooled, projected) vector */
    int32_t bidirectional; /* decoders: 1 = attention without the causal mask
                              (a convert-time override; 0 = causal, as HF;
                              gemma3_text: its use_bidirectional_attention) */
    /* Gemma3's and ModernBERT's local layers (mdl_arch local_layers or
     * modernbert; 0 otherwise, format 1.5): the window layers
     * (sliding_window, window_layers) take RoPE base rope_local_theta, and
     * with bidirectional attention query i sees key j only when |i - j| <
     * sliding_window / 2 + 1 (HF's _bidirectional_window_overlay over
     * sliding_window // 2 + 1; ModernBERT's mask over local_attention // 2). */
    double rope_local_theta; /* rope_local_base_freq / local_rope_theta
                                (rope_parameters.sliding_attention) */
    double attn_scalar;      /* scores scaled by attn_scalar^-1/2 (Gemma's
                                query_pre_attn_scalar); 0: by head_dim^-1/2 */
} mdl_config;

/* A weight tensor in memory: f32, or (2-D tensors of a 16-bit model file)
 * f16/bf16 read in place, widened by the kernels as they go, or (Linear
 * weights of an int8 file) int8 panels (kern_pack_i8_panels; shape is the
 * logical [out, in]) with a "<name>_scale" f32 vector beside it, and (format
 * 1.2) with `outliers` = K > 0, "<name>_outlier_cols" int32 [K] and
 * "<name>_outlier_weight" f32 [K, out] (kern_i8_outliers). Names are
 * the Hugging Face state-dict names without the "bert." / "model." prefix:
 * "embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight". */
typedef struct mdl_tensor {
    const char *name;
    int ndim;
    int64_t shape[4];
    const void *data; /* NULL when only shapes are being checked */
    kern_wtype dtype; /* element type of data (zero: KERN_W_F32) */
    int64_t outliers; /* KERN_W_I8: the K outlier features held in fp32 beside
                         it (0: none, a format 1.1 weight) */
} mdl_tensor;

typedef struct mdl_weights {
    size_t n;
    const mdl_tensor *t;
} mdl_weights;

/* ------------------------------------------------ the architecture table */

/* RoPE variants (transformers' rope_type). */
typedef enum mdl_rope_type {
    MDL_ROPE_DEFAULT = 0,
    MDL_ROPE_LINEAR = 1,  /* inv_freq / factor */
    MDL_ROPE_DYNAMIC = 2, /* NTK: base grows when a text passes max_position */
    MDL_ROPE_YARN = 3,    /* ramped interpolation, attention_factor on cos/sin */
    MDL_ROPE_LLAMA3 = 4   /* Llama 3.1's wavelength bands */
} mdl_rope_type;
#define MDL_ROPE_TYPES 5
/* "default", "linear", "dynamic", "yarn", "llama3"; NULL past the last. */
const char *mdl_rope_name(int32_t type);
/* The type named `name`, or -1. */
int32_t mdl_rope_parse(const char *name);

/* RoPE of cfg for a text of n tokens: inv_freq[head_dim / 2] and the factor
 * cos and sin are multiplied by, as transformers' rotary embedding computes
 * them in float32 (dynamic: recomputed from n when n > max_position, as
 * transformers does for that text on a freshly loaded model). */
void mdl_rope_freqs(const mdl_config *cfg, size_t n, float *inv_freq, float *attn_scale);

/* Whether layer l of cfg attends through the sliding window. */
int mdl_window_layer(const mdl_config *cfg, size_t l);
/* A bidirectional window layer's reach: keys j with |i - j| < this
 * (sliding_window / 2 + 1, as Gemma3's and ModernBERT's masks). */
size_t mdl_window_reach(const mdl_config *cfg);

/* The graph an architecture runs (model/bert.c, or model/rotary.c for an
 * encoder with rotary_encoder; model/llama.c). */
typedef enum mdl_family {
    MDL_FAMILY_BERT = 0, /* encoder, bidirectional: post-LN (bert, xlm-roberta, roberta,
                            camembert, mpnet, distilbert, nomic_bert, new, gte; bert.c,
                            rotary.c), or pre-LN with RoPE (modernbert; modernbert.c) */
    MDL_FAMILY_LLAMA = 1 /* decoder: pre-RMSNorm, RoPE, SwiGLU (llama, mistral, qwen2, qwen3;
                            gemma3_text with its variants) */
} mdl_family;

/* mdl_arch.rotary_encoder's variants (model/rotary.c). */
enum { MDL_ROTARY_NOMIC = 1, MDL_ROTARY_GTE = 2 };

/* Sliding-window attention of an architecture (mdl_arch.sliding_window). */
enum {
    MDL_WINDOW_NONE = 0, /* the config class has none (Llama: the key is ignored) */
    MDL_WINDOW_ALL = 1,  /* "sliding_window" (null: none) on every layer (Mistral) */
    MDL_WINDOW_QWEN = 2  /* only with "use_sliding_window": true, on the layers
                            "layer_types" calls "sliding_attention", else on layers
                            from "max_window_layers" on (Qwen2/3) */
};

/* config.json key names of a config class that renames BertConfig's
 * (DistilBertConfig: dim, n_layers, n_heads, hidden_dim, activation). A NULL
 * norm_eps: the class has no such key and fixes the table's norm_eps
 * (DistilBERT's LayerNorms all use 1e-12). */
typedef struct mdl_config_keys {
    const char *hidden, *layers, *heads, *intermediate, *act, *norm_eps;
} mdl_config_keys;

/* One supported config.json model_type (stored as mdl_config.arch): its
 * family, the transformers config class's defaults for keys config.json
 * leaves out, and its variants of the family's graph. */
typedef struct mdl_arch {
    const char *model_type;
    mdl_family family;
    int64_t vocab_size, hidden, layers, heads;
    int64_t kv_heads;          /* 0: = heads (None in transformers) */
    int64_t head_dim;          /* 0: hidden / heads */
    int64_t intermediate, max_position, type_vocab_size;
    int64_t pad_token_id;      /* -1: None */
    double norm_eps, rope_theta;
    const char *act;
    int32_t tie_embeddings;
    int32_t positions_after_pad; /* positions start at padding_idx + 1 (XLM-R, MPNet) */
    int64_t padding_idx;       /* with positions_after_pad: the padding index the
                                  model class fixes whatever pad_token_id says
                                  (MPNet: 1); -1: pad_token_id (XLM-R) */
    int32_t relative_buckets;  /* encoders: a learned bias [buckets, heads] over
                                  bidirectional log-bucketed relative positions
                                  (max distance 128), added to every layer's
                                  attention scores (MPNet: 32); 0: none */
    int32_t mpnet_names;       /* encoders: MPNet's tensor names (attention.attn.q,
                                  attention.LayerNorm, encoder.relative_attention_bias)
                                  instead of BERT's */
    int32_t rotary_encoder;    /* encoders: model/rotary.c's graph instead of bert.c's
                                  (no position table, RoPE over whole heads, fused
                                  qkv, gated MLP): MDL_ROTARY_NOMIC (NomicBERT: SwiGLU,
                                  no biases, config keys in transformers or GPT-2
                                  spelling) or MDL_ROTARY_GTE (Alibaba's NewModel /
                                  GteModel: GeGLU with a fused up_gate_proj, biases);
                                  0: none */
    int32_t distilbert_names;  /* encoders: DistilBERT's tensor names (transformer.layer.N.,
                                  attention.q_lin/k_lin/v_lin/out_lin, sa_layer_norm,
                                  ffn.lin1/lin2, output_layer_norm) instead of BERT's */
    const mdl_config_keys *keys; /* config.json key names; NULL: BertConfig's / LlamaConfig's
                                  (hidden_size, num_hidden_layers, ...) */
    int32_t int8_outliers;     /* encoders: input features per int8 Linear that
                                  `emb convert --dtype int8` keeps in fp32 (chosen by
                                  calibration), as measured on the real checkpoints
                                  (docs/models.md); 0: int8 refused (decoders) */
    int32_t qkv_bias;          /* q, k, v projections have biases (Qwen2) */
    int32_t qk_norm;           /* per-head RMSNorm of q and k (Qwen3) */
    int32_t sliding_window;    /* MDL_WINDOW_*: where config.json's "sliding_window" applies */
    int64_t window_default;    /* "sliding_window" when config.json has no such key */
    int64_t max_window_layers; /* MDL_WINDOW_QWEN: the class default of
                                  "max_window_layers" (layers before it are full) */
    int32_t gemma_norms;       /* decoders, Gemma3TextModel: every RMSNorm scales by
                                  (1 + w) (q/k norms too); four norms per layer
                                  (input_layernorm, post_attention_layernorm on the
                                  attention output, pre_feedforward_layernorm,
                                  post_feedforward_layernorm on the MLP output, each
                                  before its residual add); embeddings times
                                  sqrt(hidden) (as a float); scores scaled by
                                  query_pre_attn_scalar^-1/2; the activation from
                                  "hidden_activation", GeGLU for the gelu kinds */
    int32_t local_layers;      /* decoders: layer_types of local (sliding-window) and
                                  full layers with two RoPE bases (mdl_config
                                  sliding_window, window_layers, rope_local_theta) and
                                  use_bidirectional_attention read from config.json */
    int32_t modernbert;        /* encoders: ModernBERT's graph (model/modernbert.c:
                                  pre-LN without biases, RoPE, fused Wqkv, GeGLU,
                                  global and sliding-window layers as the
                                  window layers of mdl_config) */
    int64_t global_every;      /* modernbert: the class default of
                                  "global_attn_every_n_layers" (local
                                  layers' window: window_default) */
    double rope_local_theta;   /* local layers' RoPE base when config.json gives none */
} mdl_arch;

/* The entry for a model_type, or NULL when it is not supported. */
const mdl_arch *mdl_arch_find(const char *model_type);
/* The entry for cfg->arch (NULL when unknown or not a terminated string). */
const mdl_arch *mdl_arch_of(const mdl_config *cfg);
/* The i-th entry, NULL past the last (for listing and tests). */
const mdl_arch *mdl_arch_at(size_t i);
/* The supported model_types, in table order: "bert, xlm-roberta, ...". */
const char *mdl_arch_supported(void);

/* Encoders: the position id of the first token (0 for BERT, padding_idx + 1
 * for XLM-R and MPNet), so at most max_position - this many tokens fit. 0
 * for decoders and unknown architectures. */
int64_t mdl_first_position(const mdl_config *cfg);

/* The one set of config limits: config.json values outside them are refused
 * by the converter, and model files by mdl_config_check. */
#define MDL_MAX_VOCAB ((int64_t)1 << 24)
#define MDL_MAX_HIDDEN ((int64_t)1 << 16)
#define MDL_MAX_LAYERS ((int64_t)1 << 10)
#define MDL_MAX_HEAD_DIM ((int64_t)1 << 12)
#define MDL_MAX_INTERMEDIATE ((int64_t)1 << 20)
#define MDL_MAX_POSITIONS ((int64_t)1 << 20) /* encoders' position table */
#define MDL_MAX_ROPE_POSITIONS ((int64_t)1 << 24) /* decoders' max_position_embeddings */
#define MDL_MAX_TYPE_VOCAB ((int64_t)1 << 16)
_Static_assert(sizeof ((mdl_config *)0)->window_layers * 8 == MDL_MAX_LAYERS,
               "window_layers holds one bit per layer");

/* Validate a config: known architecture (the message names the supported
 * ones) and pooling, sizes within the MDL_MAX_* limits, heads dividing
 * hidden. Message names the field. */
emb_status mdl_config_check(const mdl_config *cfg);

/* Dimension of the pooled vector: hidden per pooling mode, or vocab_size
 * for logits. */
size_t mdl_pooled_dim(const mdl_config *cfg);
/* Output dimension: the last Dense module's out_features, else
 * mdl_pooled_dim. */
size_t mdl_output_dim(const mdl_config *cfg);
/* Pooling mode i of cfg (0 .. n_pool_extra): pooling, then pool_extra[]. */
mdl_pooling mdl_pool_mode(const mdl_config *cfg, size_t i);

/* Check that `w` holds every tensor the architecture needs, with the shapes
 * the config implies (also usable with data == NULL, by the converter).
 * Extra tensors (e.g. the BERT pooler) are ignored. */
emb_status mdl_check_weights(const mdl_config *cfg, const mdl_weights *w);

/* mdl_check_weights that also sets linear[i] = 1 for each tensor w->t[i]
 * the architecture uses as a Linear layer's weight [out, in] (the tensors
 * `emb convert --dtype int8` quantizes; embedding tables and norms are not
 * among them), 0 for the others. linear: w->n bytes. */
emb_status mdl_linear_weights(const mdl_config *cfg, const mdl_weights *w, unsigned char *linear);

/* Whether int8 Linear weights keep cfg's vectors within cosine 0.999 of
 * fp32 (measured on the test fixtures): 1 for the encoder families (mean or
 * CLS pooling averages the quantization noise), 0 for decoders, whose
 * last-token vectors came out at 0.9984-0.9989, so the converter refuses
 * them (EMB_ERR_UNSUPPORTED). A valid cfg. */
int mdl_int8_ok(const mdl_config *cfg);

/* The architecture's int8 outlier features per Linear (mdl_arch
 * int8_outliers; 0 for an unknown architecture). */
size_t mdl_int8_outliers(const mdl_config *cfg);

typedef struct mdl_model mdl_model;

/* Resolve the weights for `cfg` (pointers are borrowed: `w`'s data must
 * outlive the model). */
emb_status mdl_create(const mdl_config *cfg, const mdl_weights *w, mdl_model **out);

/* Precision of the Linear layers' arithmetic. BF16: weights and activations
 * rounded to bf16 as each GEMM packs them, fp32 accumulation (AVX512_BF16);
 * no copy of the weights is kept either way; everything else
 * (embeddings, norms, attention, activations) stays fp32. Still deterministic:
 * bitwise the same vector whatever the batch or thread count. */
typedef enum mdl_compute { MDL_COMPUTE_F32 = 0, MDL_COMPUTE_BF16 = 1 } mdl_compute;

/* mdl_create with a compute precision; EMB_ERR_UNSUPPORTED for BF16 on a CPU
 * without AVX512_BF16, EMB_ERR_INVALID_ARGUMENT for an unknown value. */
emb_status mdl_create_compute(const mdl_config *cfg, const mdl_weights *w, mdl_compute compute,
                              mdl_model **out);
void mdl_free(mdl_model *m);

/* The parameters a forward pass multiplies every token by, counted from the
 * tensors mdl_create bound (not from a formula per family, so a new
 * architecture's count is right as soon as its graph binds its tensors):
 * every Linear weight's logical [out, in] elements (an int8 one's scales
 * and fp32 outlier copies not again) and bias, every norm vector. Not
 * counted: tables read by rows (word, position and token-type embeddings),
 * an lm_head (it multiplies one row per sequence), and checkpoint tensors
 * the graph does not bind (the BERT pooler). That is transformers'
 * AutoModel num_parameters(exclude_embeddings=True), less a BERT pooler;
 * the same for the fp32, f16, bf16 and int8 files of one checkpoint. */
uint64_t mdl_params(const mdl_model *m);

/* The int8 converter's calibration model (fp32 compute): as mdl_create, and
 * every forward pass also records, for each tensor w->t[i] bound as a
 * Linear weight [out, in] with amax[i] not NULL, amax[i][c] = the largest
 * |x[r, c]| over every row r the layer is fed (NaN never counts). Start
 * amax[i] at zeros (in floats each); the arrays must outlive the model, and
 * only one mdl_encode may run on it at a time (any thread budget: the
 * records are taken before a product forks). amax: w->n pointers. */
emb_status mdl_create_calibration(const mdl_config *cfg, const mdl_weights *w,
                                  float *const *amax, mdl_model **out);

/* The longest sequence mdl_encode accepts for this config (valid config):
 * max_position_embeddings for BERT, max_position_embeddings - pad_token_id - 1
 * for XLM-R (positions start after the pad id), 2^20 for decoders (RoPE has
 * no table limit). */
size_t mdl_max_tokens(const mdl_config *cfg);

/* Encode one sequence of n ids (1 <= n <= mdl_max_tokens) into
 * out[mdl_output_dim]: forward pass, pooling, Dense modules, optional L2
 * normalization.
 * Scratch memory comes from a pool of reusable buffers owned by the model
 * (mutex-guarded; never shared between concurrent calls). Thread-safe for a
 * shared model; never starts threads.
 * @return EMB_OK, EMB_ERR_INVALID_ARGUMENT (id out of range, n too large),
 * EMB_ERR_NO_MEMORY. */
emb_status mdl_encode(const mdl_model *m, const int32_t *ids, size_t n, float *out);

/* mdl_encode with a thread budget for this one sequence: its GEMMs are split
 * over output tiles (column panels of the weights) and its attention over
 * heads on rt_parallel_run's pool, using the caller plus up to n_threads - 1
 * workers (n_threads lowered to RT_MAX_THREADS; the budget is passed down the
 * pass as an mdl_exec, never kept per thread). Every output element is computed by the same arithmetic as with
 * one thread, so the vector is bitwise identical whatever n_threads (<= 1:
 * exactly mdl_encode). Meant for calls with fewer sequences than threads. */
emb_status mdl_encode_threads(const mdl_model *m, const int32_t *ids, size_t n, int n_threads,
                              float *out);

/* mdl_encode_threads whose pooling leaves out the first `skip` tokens, as
 * sentence-transformers' Pooling with include_prompt false masks the
 * prompt's tokens: mean, mean-sqrt-len, weightedmean (weights keep their
 * positions 1..n) and max read tokens skip..n-1, cls reads token skip;
 * with skip >= n no token is left and (as sentence-transformers) mean,
 * weightedmean and lasttoken give zeros, max -inf, cls token 0.
 * skip 0: exactly mdl_encode_threads. */
emb_status mdl_encode_skip(const mdl_model *m, const int32_t *ids, size_t n, size_t skip,
                           int n_threads, float *out);

#endif
