/* format/ — the libemb model file (HDF5): writing it from converted parts
 * and loading it back, with weights mapped from the file without copying.
 * docs/format.md is the normative description of the layout. This header
 * is the folder's only door. */
#ifndef EMB_FORMAT_H
#define EMB_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "emb.h"
#include "format/policy.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#define FMT_VERSION_MAJOR 1
/* 1.1 added int8 Linear weights; 1.2 their fp32 outlier features (dtype
 * "i8-panels-outliers", which a 1.1 reader refuses); 1.3 sentence-
 * transformers Dense modules, the pooling modes max / weightedmean /
 * mean-sqrt-len and their concatenation, and include_prompt honoured;
 * 1.4 decoders' RoPE scaling (rope_type, ...) and sliding window; 1.5
 * Gemma3's and ModernBERT's rope_local_theta (the window layers' RoPE base, and their
 * bidirectional half window) and query_pre_attn_scalar. A
 * file's minor version is the oldest reader that computes it right
 * (fmt_minor_version), and from 1.3 on a reader refuses a larger minor
 * (EMB_ERR_VERSION): files without int8 are still written as 1.0, int8
 * files without outliers as 1.1, so older readers take what they can read. */
#define FMT_VERSION_MINOR 5

/* What one model file holds, in memory. */
typedef struct fmt_model {
    int32_t version_major, version_minor;
    int32_t has_weights;   /* 0 for a tokenizer-only file */
    mdl_config cfg;        /* zeroed when !has_weights */
    fmt_policy pol;
    tok_spec tok;
    char *source;          /* free-form: the folder name it was converted from */
    char *weights_dtype;   /* "f32", "f16", "bf16", "int8", "mixed" */

    /* weights: mapped from the file (f32, and 2-D f16/bf16/int8 tensors in
     * their stored type), or f32 copies (16-bit vectors, misaligned f32) */
    size_t n_tensors;
    mdl_tensor *tensors;   /* names and copies owned here */
    void *map;             /* the mmap'ed file, or NULL */
    size_t map_len;
    float **owned;         /* up-converted / realigned buffers to free */
    size_t n_owned;
} fmt_model;

/* One checkpoint tensor handed to the writer: a view of its little-endian
 * bytes (any alignment), owned by the caller. */
typedef struct fmt_tensor_in {
    const char *name;      /* as in the checkpoint ("bert.encoder...") */
    int is_weight;         /* 0: an integer buffer (position_ids, ...): not stored */
    kern_wtype dtype;      /* KERN_W_F32, KERN_W_F16 or KERN_W_BF16 when is_weight */
    int ndim;              /* 0 .. 8 */
    int64_t shape[8];
    const uint8_t *data;
    uint64_t nbytes;       /* = product(shape) * kern_wtype_size(dtype) */
} fmt_tensor_in;

/* Everything the writer needs. `weights` may be NULL (tokenizer-only). */
typedef struct fmt_write_input {
    const mdl_config *cfg;       /* NULL for tokenizer-only */
    const fmt_policy *pol;
    const tok_spec *tok;
    const fmt_tensor_in *weights; /* n_weights tensors, stored under their
                                    names with the base-model prefix stripped */
    emb_dtype dtype;             /* AUTO keeps each tensor's dtype; INT8:
                                    the tensors marked in `linear` as int8
                                    with a "<name>_scale" f32 [rows] beside
                                    each, the others as AUTO */
    const char *source;
    const unsigned char *linear; /* per weights[i]: 1 = a Linear weight
                                    (mdl_linear_weights); NULL = none */
    size_t outliers;             /* INT8: K (<= KERN_I8_MAX_OUTLIERS) input
                                    features per Linear kept in fp32 (at most
                                    its columns; format 1.2); 0: none (1.1) */
    const float *const *amax;    /* INT8 with outliers: per weights[i] of a
                                    Linear, the calibration's max |x| per
                                    input feature [cols] (cv_calibrate), the
                                    K largest chosen; NULL entries: the first K */
    size_t n_weights;
} fmt_write_input;

/* Write a model file at `path` (overwritten). The caller handles temp
 * name + rename. */
emb_status fmt_write(const char *path, const fmt_write_input *in);

/* Load a model file: checks the format marker and version, reads config,
 * policy and tokenizer spec, maps the weights. */
emb_status fmt_load(const char *path, fmt_model *out);
void fmt_model_free(fmt_model *m);

/* The stored name of a checkpoint tensor: without a leading "bert.",
 * "model.", "roberta." component. Returns a pointer into `name`. */
const char *fmt_strip_prefix(const char *name);

/* Pooling names as stored in the file and accepted by emb convert. */
const char *fmt_pooling_name(mdl_pooling p);
int fmt_pooling_parse(const char *name, mdl_pooling *out); /* 0 ok, -1 unknown */
/* The one mapping between the ABI's dtype (emb_dtype: what emb_convert is
 * asked to store) and a tensor's layout (kern_wtype: what the kernels read):
 * F32, F16, BF16 and INT8 <-> I8 (docs/design.md, "Dtypes").
 * fmt_dtype_wtype: 0 and *out, or -1 for EMB_DTYPE_AUTO (no choice) and
 * unknown values; fmt_wtype_dtype: EMB_DTYPE_AUTO for KERN_W_I32 (never a
 * stored weight's dtype). fmt_wtype_name: its EMB_DTYPE_MAP name ("f32",
 * "f16", "bf16", "int8"), as the file's "dtype" tags spell the 16-bit ones. */
int fmt_dtype_wtype(emb_dtype d, kern_wtype *out);
emb_dtype fmt_wtype_dtype(kern_wtype w);
const char *fmt_wtype_name(kern_wtype w);

/* A tokenizer model's name as stored in the file and shown in the "tokenizer"
 * metadata; "none" for TOK_MODEL_NONE. */
const char *fmt_tokenizer_name(tok_model_kind k);

/* cfg's pooling modes as stored in the "pooling" attribute and shown by
 * emb_model_meta: their names joined with '+' in order ("cls+mean"). 0, or
 * -1 when it does not fit in cap bytes. */
int fmt_pooling_list_name(const mdl_config *cfg, char *buf, size_t cap);
/* Parse such a list into cfg->pooling and cfg->pool_extra/n_pool_extra:
 * 0, or -1 for an unknown name, an empty item or more than
 * MDL_MAX_POOL_MODES modes (cfg unchanged then). */
int fmt_pooling_list_parse(const char *s, mdl_config *cfg);

/* *out = cfg without what no input of at most pol->max_tokens tokens can
 * reach (a sliding window at least that long, unless its layers have their
 * own RoPE base (rope_local_theta); dynamic RoPE that stays the
 * plain table up to it), so such files keep the minor version they had
 * before 1.4. pol->max_tokens 0 (no limit): *out = *cfg. */
void fmt_reachable_config(const mdl_config *cfg, const fmt_policy *pol, mdl_config *out);

/* The minor format version a file of cfg and pol needs (the oldest reader
 * that computes it right): 5 with a local RoPE base (Gemma3, ModernBERT: rope_local_theta) or
 * query_pre_attn_scalar; 4 with RoPE scaling or a sliding window; 3 with Dense modules, several pooling modes, a
 * pooling added in 1.3 or include_prompt 0; else 2 for int8 with outlier
 * features, 1 for int8 without, 0. cfg NULL: a tokenizer-only file. */
int fmt_minor_version(const mdl_config *cfg, const fmt_policy *pol, int int8, int outliers);

#endif
