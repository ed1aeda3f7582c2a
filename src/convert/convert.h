/* convert/ — reading a Hugging Face model folder as downloaded (config.json,
 * safetensors, tokenizer files, sentence-transformers modules) into plain
 * structs that src/format writes into one model file. Every reader here
 * treats its input as hostile: sizes, offsets and counts are checked before
 * use, and errors name the file and what was wrong. This header is the
 * folder's only door. */
#ifndef EMB_CONVERT_H
#define EMB_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "emb.h"
#include "format/format.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

/* ------------------------------------------------------------ safetensors */

typedef struct cv_tensor {
    char *name;           /* as in the file ("bert.embeddings.word_embeddings.weight") */
    int is_weight;        /* 1: F32, F16 or BF16 (dtype says which); 0: any other
                             element type (I64, I32, U8, BOOL, F64, ...): listed,
                             never loaded as a weight */
    kern_wtype dtype;     /* KERN_W_F32, KERN_W_F16 or KERN_W_BF16 when is_weight
                             (docs/design.md, "Dtypes") */
    char dtype_name[8];   /* as in the file: "F32", "F16", "BF16", "I64", ... */
    int ndim;             /* 0 .. 8 */
    int64_t shape[8];
    const uint8_t *data;  /* points into the mapped file (little-endian); not
                             necessarily aligned: read with memcpy or cv_tensor_to_f32 */
    uint64_t nbytes;
} cv_tensor;

/* All tensors of a checkpoint: model.safetensors, or the shards named by
 * model.safetensors.index.json. Files are mmap'ed read-only. */
typedef struct cv_weights {
    size_t n;
    cv_tensor *t;
    size_t n_maps;
    void **maps;
    size_t *map_lens;
} cv_weights;

/* Open and validate one .safetensors file, appending its tensors to `w`
 * (zero-initialize `w` before the first call). Refuses (EMB_ERR_FORMAT,
 * message naming file and tensor): header length beyond the file or absurd
 * (> 100 MB), invalid JSON, missing/ill-typed fields, unknown dtypes,
 * data_offsets out of range, reversed, overlapping, or not matching
 * dtype size × product(shape) (overflow-checked), duplicate names. */
emb_status cv_weights_add_file(cv_weights *w, const char *path);

/* Open the checkpoint in an HF folder: model.safetensors, else
 * model.safetensors.index.json and its shards (each shard opened once; every
 * tensor of the weight_map must be found in the shard it names).
 * EMB_ERR_IO with a clear message when neither exists; a folder with only
 * pytorch_model.bin (pickle) is refused with EMB_ERR_UNSUPPORTED and a hint
 * to convert it to safetensors. Shard names must be plain file names of the
 * folder (no '/', no ".."). On failure `w` is left empty (closed). */
emb_status cv_weights_open_dir(cv_weights *w, const char *dir);
void cv_weights_close(cv_weights *w);

/* Append the tensors of a sentence-transformers module folder
 * (<dir>/<module>/model.safetensors), each renamed "<prefix><name>" (e.g.
 * "st_dense.0.linear.weight"). EMB_ERR_IO when the folder has no
 * model.safetensors, EMB_ERR_UNSUPPORTED when it has only
 * pytorch_model.bin, else as cv_weights_add_file. */
emb_status cv_weights_add_module(cv_weights *w, const char *dir, const char *module,
                                 const char *prefix);

/* The weights of the folder's sentence-transformers Dense modules
 * (modules.json order; cv_read_config read their configs): the k-th
 * Dense folder's tensors appended to `w` as "st_dense.<k>.<name>"
 * ("st_dense.0.linear.weight", "st_dense.0.linear.bias"). Nothing when the
 * folder has no modules.json or no Dense module. */
emb_status cv_read_dense_weights(const char *dir, cv_weights *w);
const cv_tensor *cv_weights_find(const cv_weights *w, const char *name);

/* Up-convert a tensor's data to f32 (F32/F16/BF16 only; exact for f16/bf16). */
emb_status cv_tensor_to_f32(const cv_tensor *t, float *out);

/* ------------------------------------------------------- the folder's config */

/* The input policy read from the sentence-transformers files is the one the
 * model file stores: fmt_policy (format/policy.h; fmt_policy_free frees its
 * strings). */

/* Zero `cfg` and `pol` and set the defaults every reader starts from:
 * pad_token_id -1 (none), rope_theta 10000, mean pooling, no
 * normalization; strip 0 (as sentence-transformers 6.x), include_prompt 1,
 * max_tokens 0 (no limit). */
void cv_config_defaults(mdl_config *cfg, fmt_policy *pol);

/* Read config.json into `cfg` (architecture from model_type; refuses unknown
 * ones and absurd sizes) and modules.json / 1_Pooling/config.json /
 * sentence_bert_config.json / config_sentence_transformers.json /
 * tokenizer_config.json into cfg->pooling, cfg->normalize and `pol`.
 * Keys missing from config.json take the transformers config class's
 * default for that model_type (e.g. Qwen3 head_dim 128, Mistral
 * num_key_value_heads 8; null num_key_value_heads = heads).
 * modules.json: a Transformer, a Pooling (its modes, concatenated when
 * several, and include_prompt), Dense modules (cfg->dense; their weights
 * come from cv_read_dense_weights), a Normalize, Dropouts (ignored); any
 * other module is EMB_ERR_UNSUPPORTED naming its type and folder.
 * Without modules.json: mean pooling for the encoders, last-token for
 * decoders, no normalization. max_tokens = sentence_bert_config.json
 * max_seq_length, else tokenizer_config.json model_max_length (huge
 * sentinels ignored), capped by the position limit (max_position_embeddings,
 * minus padding_idx + 1 for xlm-roberta, roberta, camembert and mpnet) and by an
 * active sliding window (decoders; ModernBERT's local layers limit nothing).
 * Errors: EMB_ERR_IO (config.json or a named Pooling config missing),
 * EMB_ERR_FORMAT (invalid JSON with line/column, wrong-typed or absurd
 * field, named), EMB_ERR_UNSUPPORTED (model_type, rope_scaling, pooling
 * mode, extra modules, ...). On failure `pol` holds nothing to free. */
emb_status cv_read_config(const char *dir, mdl_config *cfg, fmt_policy *pol);

/* Read the tokenizer of an HF folder: tokenizer.json, or vocab.txt (+
 * tokenizer_config.json) for WordPiece folders that have nothing else. */
emb_status cv_read_tokenizer(const char *dir, tok_spec *spec);

/* Read a JSON file of the folder (path relative to dir, at most 1 GiB) into
 * a jansson object; *out = NULL and EMB_OK when the file does not exist and
 * `optional` is set. The only JSON file loader of convert/. The integers of
 * tokenizer_config.json and special_tokens_map.json are always read as reals
 * (json_is_number, not json_is_integer): transformers writes
 * model_max_length = int(1e30) there, beyond int64; every other file keeps
 * integers (ids, sizes). Errors: EMB_ERR_IO (cannot open, not a regular
 * file), EMB_ERR_FORMAT (too large; invalid JSON, with line and column).
 * (Declared as void* to keep jansson out of this header.) */
emb_status cv_json_load(const char *dir, const char *rel, int optional, void **out);
/* Same, with extra jansson decoding flags (JSON_ALLOW_NUL for the tokenizer
 * files, whose vocabularies may hold "\u0000"). */
emb_status cv_json_load_ex(const char *dir, const char *rel, int optional, size_t flags,
                           void **out);

/* The id of the folder's EOS token (tokenizer_config.json, then
 * special_tokens_map.json "eos_token"), or -1 when it names none. */
emb_status cv_read_eos_id(const char *dir, const tok_spec *spec, int32_t *id);

/* ----------------------------------------------- the model's view of it */

/* The checkpoint's weights as model tensors: each is_weight tensor of rank
 * <= 4, under its stored name (fmt_strip_prefix); t[j] is w->t[from[j]].
 * with_data 0: shapes only (data NULL; what mdl_linear_weights checks);
 * 1: data in place when the kernels can read it there (f32 64-byte
 * aligned, 16-bit matrices 2-byte aligned), else an aligned f32 copy the
 * view owns. Names and in-place data point into `w`, which must outlive the
 * view. Free with cv_model_view_free (also after a failed build). */
typedef struct cv_model_view {
    mdl_weights w; /* { n, t } */
    mdl_tensor *t;
    size_t *from;
    float **owned;
    size_t n_owned;
} cv_model_view;
emb_status cv_model_view_build(const cv_weights *w, int with_data, cv_model_view *v);
void cv_model_view_free(cv_model_view *v);

/* ------------------------------------------------------- int8 calibration */

/* The built-in calibration texts (calibration_texts.c): questions, passages
 * of several lengths, other languages and scripts, code, numbers, URLs,
 * very short texts and the empty string. */
extern const char *const cv_calibration_texts[];
extern const size_t cv_calibration_count;

/* Calibration for `--dtype int8` with outlier features (format 1.2): run the
 * fp32 model of cfg over the calibration texts — the built-in ones, or the
 * lines of the UTF-8 file texts_path (one text per line, "\r\n" or "\n")
 * when not NULL — and record, for each Linear weight w->t[i] (linear[i] =
 * 1, from mdl_linear_weights), amax[i][c] = the largest |x| its input
 * feature c reached (amax[i] malloc'ed, `in` floats; NULL for the other
 * tensors). Each text is tokenized with the specials after the model's
 * query prompt (even texts) or passage prompt (odd ones) when it has them,
 * else its default prompt, cut to the model's maximum length (no strip,
 * no lowercase: the records only pick the features). The same records
 * whatever the thread count (rt_default_threads() are used). amax: w->n
 * pointers, free them with cv_calibration_free. Errors: EMB_ERR_IO
 * (texts_path unreadable), EMB_ERR_INVALID_ARGUMENT (an empty or too large
 * file), EMB_ERR_INVALID_UTF8 (a line, named), EMB_ERR_NO_MEMORY; on
 * failure amax holds nothing to free. */
emb_status cv_calibrate(const mdl_config *cfg, const fmt_policy *pol, const tok_spec *tok,
                        const cv_weights *w, const unsigned char *linear, const char *texts_path,
                        float **amax);
void cv_calibration_free(float **amax, size_t n);

/* When tokenizer_config.json names a Llama-class tokenizer (LlamaTokenizer,
 * CodeLlama, Gemma), set the specials as transformers' fast class does:
 * [bos if add_bos_token (default true)] text [eos if add_eos_token (default
 * false)], replacing the tokenizer.json post-processor's. */
emb_status cv_apply_tokenizer_class(const char *dir, tok_spec *spec);

#endif
