/* libemb — the names of enumerated values, one list each (X-macros).
 *
 * Every place that spells these values as text uses these lists: the CLI
 * flags (--kind, --dtype, --compute), the server's "kind", the SQLite
 * extension's kind argument, the model file's attributes and the
 * emb_model_meta() strings ("pooling", "tokenizer"). Each list is written
 * once, as libuv's UV_ERRNO_MAP:
 *
 *     #define EMB_POOLING_MAP(X) X(MEAN, "mean") X(CLS, "cls") ...
 *
 * and expanded into enums and into the name <-> value functions below.
 *
 * This header only names values of include/emb.h's enums (and the strings
 * emb.h documents), so every layer and every integration may include it.
 * It defines no exported symbol (the functions are static inline, the
 * prefix is embn_ so they never clash with a future emb_* function) and
 * adds nothing to the ABI; it is not installed. The lists' order is part
 * of the model file format where a value is stored as a number (never
 * reorder; append). */
#ifndef EMB_NAMES_H
#define EMB_NAMES_H

#include <string.h>

#include "emb.h"

/* emb_kind: the prompt kinds. "document" is also accepted for PASSAGE
 * (sentence-transformers' name in some models' prompts). */
#define EMB_KIND_MAP(X) \
    X(NONE, "none")     \
    X(QUERY, "query")   \
    X(PASSAGE, "passage")

/* emb_dtype: the weight dtypes emb_convert writes (EMB_DTYPE_AUTO has no
 * name: it is the absence of a choice). */
#define EMB_DTYPE_MAP(X) \
    X(F32, "f32")        \
    X(F16, "f16")        \
    X(BF16, "bf16")      \
    X(INT8, "int8")

/* emb_compute: the compute types of emb_open_options. */
#define EMB_COMPUTE_MAP(X) \
    X(F32, "f32")          \
    X(BF16, "bf16")

/* Poolings, in the order of their stored value (model/model.h expands this
 * into mdl_pooling, numbered from 0): emb_convert_options.pooling and the
 * "pooling" metadata spell them so (several modes, concatenated as
 * sentence-transformers' Pooling does, are joined with '+': "cls+mean").
 * MAX, WEIGHTEDMEAN and MEAN_SQRT_LEN were added in format 1.3. */
#define EMB_POOLING_MAP(X)                  \
    X(MEAN, "mean")                         \
    X(CLS, "cls")                           \
    X(LASTTOKEN, "lasttoken")               \
    X(LASTTOKEN_LOGITS, "lasttoken-logits") \
    X(MAX, "max")                           \
    X(WEIGHTEDMEAN, "weightedmean")         \
    X(MEAN_SQRT_LEN, "mean-sqrt-len")

/* Activations of sentence-transformers Dense modules (format 1.3), in the
 * order of their stored value: the model file's "dense_<i>_activation"
 * spells them so. The converter maps torch class names onto them
 * (torch.nn.modules.activation.Tanh -> "tanh", ...). */
#define EMB_DENSE_ACT_MAP(X)  \
    X(IDENTITY, "identity")   \
    X(TANH, "tanh")           \
    X(RELU, "relu")           \
    X(GELU, "gelu")           \
    X(SILU, "silu")           \
    X(SIGMOID, "sigmoid")

/* Tokenizer models, numbered from 1 (0 is "none": no tokenizer model):
 * the /tokenizer "model" attribute and the "tokenizer" metadata. */
#define EMB_TOKENIZER_MAP(X)  \
    X(WORDPIECE, "wordpiece") \
    X(BPE, "bpe")             \
    X(UNIGRAM, "unigram")

/* ------------------------------------------------ name <-> value functions */

#define EMBN_NAME_CASE_(prefix, id, name) \
    case prefix##id:                      \
        return name;
#define EMBN_PARSE_IF_(prefix, id, name) \
    if (strcmp(s, name) == 0) {          \
        *out = prefix##id;               \
        return 0;                        \
    }

#define EMBN_KIND_CASE_(id, name) EMBN_NAME_CASE_(EMB_KIND_, id, name)
#define EMBN_KIND_IF_(id, name) EMBN_PARSE_IF_(EMB_KIND_, id, name)
#define EMBN_DTYPE_CASE_(id, name) EMBN_NAME_CASE_(EMB_DTYPE_, id, name)
#define EMBN_DTYPE_IF_(id, name) EMBN_PARSE_IF_(EMB_DTYPE_, id, name)
#define EMBN_COMPUTE_CASE_(id, name) EMBN_NAME_CASE_(EMB_COMPUTE_, id, name)
#define EMBN_COMPUTE_IF_(id, name) EMBN_PARSE_IF_(EMB_COMPUTE_, id, name)

/* The name of a kind; NULL for a value outside the enum. */
static inline const char *embn_kind_name(emb_kind k)
{
    switch (k) {
        EMB_KIND_MAP(EMBN_KIND_CASE_)
    }
    return NULL;
}

/* 0 and *out set, or -1 for an unknown name ("document" = PASSAGE). */
static inline int embn_kind_parse(const char *s, emb_kind *out)
{
    EMB_KIND_MAP(EMBN_KIND_IF_)
    if (strcmp(s, "document") == 0) {
        *out = EMB_KIND_PASSAGE;
        return 0;
    }
    return -1;
}

/* The name of a dtype; NULL for EMB_DTYPE_AUTO or a value outside the enum. */
static inline const char *embn_dtype_name(emb_dtype d)
{
    switch (d) {
        EMB_DTYPE_MAP(EMBN_DTYPE_CASE_)
    case EMB_DTYPE_AUTO:
        break;
    }
    return NULL;
}

/* 0 and *out set, or -1 for an unknown name. */
static inline int embn_dtype_parse(const char *s, emb_dtype *out)
{
    EMB_DTYPE_MAP(EMBN_DTYPE_IF_)
    return -1;
}

/* The name of a compute type; NULL for a value outside the enum. */
static inline const char *embn_compute_name(emb_compute c)
{
    switch (c) {
        EMB_COMPUTE_MAP(EMBN_COMPUTE_CASE_)
    }
    return NULL;
}

/* 0 and *out set, or -1 for an unknown name. */
static inline int embn_compute_parse(const char *s, emb_compute *out)
{
    EMB_COMPUTE_MAP(EMBN_COMPUTE_IF_)
    return -1;
}

/* Pooling and tokenizer names by stored number (as the enums the library
 * expands from the lists): NULL outside the list. */
#define EMBN_NAME_ITEM_(id, name) name,
static inline const char *embn_pooling_name(unsigned v)
{
    static const char *const names[] = { EMB_POOLING_MAP(EMBN_NAME_ITEM_) };
    return v < sizeof names / sizeof *names ? names[v] : NULL;
}

/* The index of s in names[n] into *out (0), or -1 when it is not there. */
static inline int embn_find_(const char *const *names, unsigned n, const char *s, unsigned *out)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

/* 0 and *out set to the stored number, or -1 for an unknown name. */
static inline int embn_pooling_parse(const char *s, unsigned *out)
{
    static const char *const names[] = { EMB_POOLING_MAP(EMBN_NAME_ITEM_) };
    return embn_find_(names, sizeof names / sizeof *names, s, out);
}

/* Dense activations by stored number: NULL outside the list. */
static inline const char *embn_dense_act_name(unsigned v)
{
    static const char *const names[] = { EMB_DENSE_ACT_MAP(EMBN_NAME_ITEM_) };
    return v < sizeof names / sizeof *names ? names[v] : NULL;
}

/* 0 and *out set to the stored number, or -1 for an unknown name. */
static inline int embn_dense_act_parse(const char *s, unsigned *out)
{
    static const char *const names[] = { EMB_DENSE_ACT_MAP(EMBN_NAME_ITEM_) };
    return embn_find_(names, sizeof names / sizeof *names, s, out);
}

/* Tokenizer models are numbered from 1: 0 and unknown numbers are NULL. */
static inline const char *embn_tokenizer_name(unsigned v)
{
    static const char *const names[] = { EMB_TOKENIZER_MAP(EMBN_NAME_ITEM_) };
    return v >= 1 && v <= sizeof names / sizeof *names ? names[v - 1] : NULL;
}

/* 0 and *out set to the number (from 1), or -1 for an unknown name. */
static inline int embn_tokenizer_parse(const char *s, unsigned *out)
{
    static const char *const names[] = { EMB_TOKENIZER_MAP(EMBN_NAME_ITEM_) };
    if (embn_find_(names, sizeof names / sizeof *names, s, out) != 0)
        return -1;
    *out += 1;
    return 0;
}

#endif
