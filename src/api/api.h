/* api/ — the public functions of include/emb.h: argument checks, the input
 * policy (prompt, template, strip rule), and the loop over texts. */
#ifndef EMB_API_H
#define EMB_API_H

#include <stddef.h>

#include "emb.h"
#include "format/format.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#define API_MAX_META 32

struct emb_model {
    fmt_model file;
    char *path;          /* as given to emb_model_open (emb_model_file_sha256) */
    tok_tokenizer *tok;
    mdl_model *mdl;      /* NULL for a tokenizer-only file */
    size_t dim;
    size_t max_tokens;   /* 0 = no limit (tokenizer-only files) */
    int n_threads;
    size_t n_meta;
    char *meta_keys[API_MAX_META];
    char *meta_vals[API_MAX_META];
};

/* The input string for one text: prompt + text (or the template around
 * them), then Python str.strip() when the model's policy says so.
 * `prompt` NULL means "the model's prompt for `kind`". *out is malloc'ed. */
emb_status api_build_input(const emb_model *m, emb_kind kind, const char *prompt,
                           size_t prompt_len, const char *text, size_t len, char **out,
                           size_t *out_len);

/* The number of leading tokens a text's pooling leaves out: 0 unless the
 * model's Pooling has include_prompt false (and no template) and a prompt
 * applies (`prompt` as api_build_input's); then, as sentence-transformers,
 * the token count of the prompt alone (policy, specials, truncation as the
 * text's), less one when its last token is special (the trailing [SEP],
 * </s>, ...). */
emb_status api_prompt_skip(const emb_model *m, emb_kind kind, const char *prompt,
                           size_t prompt_len, size_t *skip);

/* Read a caller's option struct (`in`, may be NULL; its first member is
 * size_t struct_size) over `out`, which already holds this version's
 * defaults: fields beyond the caller's struct_size keep them, and
 * out->struct_size becomes out_size. EMB_ERR_INVALID_ARGUMENT ("<what>
 * options not initialized (call emb_<what>_options_init)") when struct_size
 * is implausible, i.e. the caller never initialized the struct. */
emb_status api_options_read(const void *in, void *out, size_t out_size, const char *what);

/* api_convert's int8_outliers for emb_convert: as many input features per
 * int8 Linear kept in fp32, chosen by calibration (format 1.2; at most the
 * layer's inputs), as the architecture table gives (mdl_int8_outliers:
 * measured per model_type, e.g. 16 for bert, 64 for mpnet). */
#define API_INT8_OUTLIERS_ARCH ((size_t)-1)

/* emb_convert with `int8_outliers` features per int8 Linear (at most
 * KERN_I8_MAX_OUTLIERS), API_INT8_OUTLIERS_ARCH, or 0: int8 files as format
 * 1.1 wrote them (no calibration, no outliers; what a 1.1 reader takes — for
 * tests). */
emb_status api_convert(const char *hf_dir, const char *out_path, const emb_convert_options *opts,
                       size_t int8_outliers);

/* Python's str.isspace() for one code point (used by the strip rule). */
int api_py_isspace(uint32_t cp);

#endif
