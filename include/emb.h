/*
 * libemb — text embeddings on the CPU, with the numbers the reference stack
 * (Hugging Face tokenizers + transformers + sentence-transformers) gives.
 *
 * Copyright 2026 the libemb authors. Licensed under the Apache License 2.0.
 *
 * This header is the whole public API. It compiles as C99 and as C++.
 *
 * Simple API
 * ----------
 *     emb_model *m;
 *     if (emb_model_open("model.h5", NULL, &m) != EMB_OK) {
 *         fprintf(stderr, "%s\n", emb_last_error());
 *         return 1;
 *     }
 *     emb_text t = { "how do plants make food?", 24 };
 *     float *v = malloc(emb_model_dim(m) * sizeof *v);
 *     emb_encode_options o;
 *     emb_encode_options_init(&o);
 *     o.kind = EMB_KIND_QUERY;
 *     emb_encode(m, &t, 1, &o, v);
 *     emb_model_close(m);
 *
 * Rules that hold for every function (see docs/api.md):
 *  - Every function that can fail returns an emb_status; on failure a
 *    message for the calling thread is available from emb_last_error().
 *  - The library never prints, never aborts, never exits.
 *  - Texts are pointer + byte length (they may contain U+0000) and must be
 *    valid UTF-8.
 *  - Option structs start with `size_t struct_size` and are filled by their
 *    *_init() macro (over *_init_size(), which is told the caller's struct
 *    size), so fields can be added without breaking the ABI.
 *  - An emb_model is immutable after emb_model_open(): one handle may be
 *    shared by any number of threads calling emb_encode()/emb_tokenize().
 */
#ifndef EMB_H
#define EMB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EMB_API __attribute__((visibility("default")))
#else
#define EMB_API
#endif

/* ---------------------------------------------------------------- version */

#define EMB_VERSION_MAJOR 1
#define EMB_VERSION_MINOR 0
#define EMB_VERSION_PATCH 0
#define EMB_VERSION_STRING "1.0.0"

/* The library's version string ("1.0.0"), which may differ from the header
 * the caller was compiled with. Never NULL. Added in v1.0.0. */
EMB_API const char *emb_version(void);

/* ----------------------------------------------------------------- status */

/* Status codes. Values are fixed forever; new codes are only appended. */
typedef enum emb_status {
    EMB_OK = 0,
    EMB_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, bad option value */
    EMB_ERR_NO_MEMORY = 2,        /* an allocation failed */
    EMB_ERR_IO = 3,               /* file missing, unreadable, or a write failed */
    EMB_ERR_FORMAT = 4,           /* not HDF5, not a libemb model, corrupt or
                                     inconsistent file (also a bad HF folder) */
    EMB_ERR_VERSION = 5,          /* model file written by a newer format major */
    EMB_ERR_UNSUPPORTED = 6,      /* architecture, tokenizer or option not supported */
    EMB_ERR_INVALID_UTF8 = 7,     /* a text (or prompt) is not valid UTF-8 */
    EMB_ERR_TOO_LONG = 8,         /* input longer than the model's maximum and
                                     truncation was switched off */
    EMB_ERR_BUFFER_TOO_SMALL = 9, /* caller's output buffer is too small; the
                                     needed size is reported */
    EMB_ERR_NO_WEIGHTS = 10,      /* a tokenizer-only model file was asked to encode */
    EMB_ERR_INTERNAL = 11         /* a bug in libemb: please report it */
} emb_status;

/* A constant English name for a status ("EMB_ERR_IO: input/output error").
 * Never NULL, also for unknown values. Added in v1.0.0. */
EMB_API const char *emb_status_string(emb_status status);

/* The detailed message of the last failure on the calling thread (file,
 * tensor, shape, what was expected), or "" if none. The pointer stays valid
 * until the next libemb call on the same thread. Added in v1.0.0. */
EMB_API const char *emb_last_error(void);

/* ------------------------------------------------------------------ model */

/* An opened model file: configuration, tokenizer and weights. Opaque,
 * immutable, shareable across threads. */
typedef struct emb_model emb_model;

/* Precision of the Linear layers' arithmetic (emb_open_options.compute). */
typedef enum emb_compute {
    EMB_COMPUTE_F32 = 0,  /* fp32 math over f32 weights (the default; goldens
                             within 1e-4 of transformers) */
    EMB_COMPUTE_BF16 = 1  /* bf16 products, fp32 accumulation: weights (read
                             in place) and activations rounded to bf16 as each
                             Linear runs, no copy kept; norms, attention and
                             pooling stay fp32. Fastest from a bf16 model file
                             (half the bytes to read).
                             Vectors within cosine 0.999 of EMB_COMPUTE_F32's
                             and still bitwise deterministic. Needs a CPU with
                             AVX512_BF16, else emb_model_open fails with
                             EMB_ERR_UNSUPPORTED. Added in v1.0.0. */
    /* A model file converted with EMB_DTYPE_INT8 runs its Linear layers in
     * int8 whatever `compute` says: each input row quantized to u8 on the fly
     * (ONNX Runtime's DynamicQuantizeLinear), exact int32 sums (AVX512_VNNI;
     * a portable, slower path on other CPUs gives bitwise the same vectors),
     * still deterministic. */
} emb_compute;

typedef struct emb_open_options {
    size_t struct_size; /* set by emb_open_options_init() */
    int n_threads;      /* worker threads for emb_encode(); 0 = from the CPU
                           affinity mask lowered to the cgroup CPU quota, or
                           the EMB_NUM_THREADS environment variable when set */
    emb_compute compute; /* default EMB_COMPUTE_F32 */
} emb_open_options;

/* Option structs: emb_X_options_init(&o) fills `o` with the defaults. It is a
 * macro over emb_X_options_init_size(&o, sizeof o), which writes at most
 * `struct_size` bytes and records min(struct_size, the library's size) in
 * o.struct_size — so a caller built against an older (smaller) or newer
 * (larger) header is always safe; bindings call the _size function with
 * their own struct size. Added in v1.0.0. */
EMB_API void emb_open_options_init_size(emb_open_options *opts, size_t struct_size);
#define emb_open_options_init(opts) emb_open_options_init_size((opts), sizeof *(opts))

/* Open a model file written by emb_convert(). `opts` may be NULL.
 * Weight matrices are mapped from the file and read in their stored type
 * (f32, f16, bf16, int8) without copying; only 1-D 16-bit tensors (norms,
 * biases) are widened to f32 here.
 * @return EMB_OK and *out set; or EMB_ERR_INVALID_ARGUMENT (NULL path/out),
 *   EMB_ERR_IO (cannot open/read), EMB_ERR_FORMAT (not HDF5, not a libemb
 *   model, corrupt), EMB_ERR_VERSION (newer format), EMB_ERR_UNSUPPORTED,
 *   EMB_ERR_NO_MEMORY. On failure *out is NULL. Added in v1.0.0. */
EMB_API emb_status emb_model_open(const char *path, const emb_open_options *opts,
                                  emb_model **out);

/* Release a model. NULL is allowed. No other thread may be using it. */
EMB_API void emb_model_close(emb_model *model);

/* Embedding dimension (floats per vector); 0 for NULL or a tokenizer-only
 * model. Added in v1.0.0. */
EMB_API size_t emb_model_dim(const emb_model *model);

/* Maximum number of tokens per input (specials included) the model accepts;
 * longer inputs are truncated (or refused, see emb_encode_options). */
EMB_API size_t emb_model_max_tokens(const emb_model *model);

/* Metadata as key/value strings: "architecture", "pooling" (modes joined
 * with '+'), "include_prompt", "dense" (sentence-transformers Dense modules,
 * "32->64 tanh, 64->16 identity"; absent without), "normalize",
 * "dim", "max_tokens", "vocab_size", "tokenizer", "weights_dtype",
 * "prompt.query", "prompt.passage", "format_version", "source",
 * decoders' "attention" ("causal" / "bidirectional"), "rope_scaling"
 * ("yarn factor 4"; absent for plain RoPE), "sliding_window" ("4096 on 28
 * of 28 layers"; absent without), ...
 * emb_model_meta() returns NULL for an unknown key. Keys are enumerated with
 * emb_model_meta_count()/emb_model_meta_key(). Strings are owned by the model
 * and live until emb_model_close(). Added in v1.0.0. */
EMB_API const char *emb_model_meta(const emb_model *model, const char *key);
EMB_API size_t emb_model_meta_count(const emb_model *model);
EMB_API const char *emb_model_meta_key(const emb_model *model, size_t index);

/* SHA-256 (FIPS 180-4) of the model FILE's bytes as 64 lowercase hex
 * digits and a NUL into hex[65]: what `sha256sum MODEL.h5` prints, to
 * identify the exact weights a set of stored vectors came from (`emb embed
 * --out`). Computed on every call, not cached: it reads the whole file (the
 * mapped copy the model uses; a tokenizer-only file is read again from the
 * path it was opened with) at about 200-400 MB/s on one core, i.e. ~0.3 s
 * for a 90 MB model.
 * @return EMB_OK; EMB_ERR_INVALID_ARGUMENT (NULL model or hex); EMB_ERR_IO
 *   (a tokenizer-only file that can no longer be read). Thread-safe.
 *   Added in v1.0.0. */
EMB_API emb_status emb_model_file_sha256(const emb_model *model, char hex[65]);

/* An incremental SHA-256 hasher for data that arrives in pieces (an input
 * stream): open, update any number of times, final (which writes the digest
 * and starts over), close. The hasher is owned by the caller; one hasher must
 * not be used by two threads at once. Added in v1.0.0. */
typedef struct emb_sha256 emb_sha256;
/* @return EMB_OK and *out; EMB_ERR_INVALID_ARGUMENT (NULL out);
 *   EMB_ERR_NO_MEMORY. */
EMB_API emb_status emb_sha256_open(emb_sha256 **out);
/* Hash `len` more bytes at `data` (data may be NULL when len is 0). */
EMB_API void emb_sha256_update(emb_sha256 *hasher, const void *data, size_t len);
/* The digest of everything hashed since open (or the last final) as 64
 * lowercase hex digits and a NUL; the hasher then starts over. */
EMB_API void emb_sha256_final(emb_sha256 *hasher, char hex[65]);
/* Free the hasher (NULL is a no-op). */
EMB_API void emb_sha256_close(emb_sha256 *hasher);

/* ----------------------------------------------------------------- encode */

/* A text: `len` bytes of UTF-8 at `data` (no terminator needed; may
 * contain U+0000). */
typedef struct emb_text {
    const char *data;
    size_t len;
} emb_text;

/* Which of the model's prompts is put in front of the text. */
typedef enum emb_kind {
    EMB_KIND_NONE = 0,    /* no prompt (or the model's default prompt, if it has one) */
    EMB_KIND_QUERY = 1,   /* the model's query prompt */
    EMB_KIND_PASSAGE = 2  /* the model's passage/document prompt */
} emb_kind;

typedef struct emb_encode_options {
    size_t struct_size;  /* set by emb_encode_options_init() */
    emb_kind kind;       /* default EMB_KIND_NONE */
    const char *prompt;  /* when not NULL: this prompt replaces the model's for
                            every text of the call (prompt_len bytes of UTF-8) */
    size_t prompt_len;
    int truncate;        /* 1 (default): cut inputs to emb_model_max_tokens()
                            keeping the special tokens, as sentence-transformers
                            does; 0: refuse them with EMB_ERR_TOO_LONG */
} emb_encode_options;

EMB_API void emb_encode_options_init_size(emb_encode_options *opts, size_t struct_size);
#define emb_encode_options_init(opts) emb_encode_options_init_size((opts), sizeof *(opts))

/* Embed `n_texts` texts into `out`, which must hold n_texts * emb_model_dim()
 * floats (row i is text i). `opts` may be NULL (defaults). A text's vector
 * never depends on the other texts of the call. n_texts == 0 is a no-op that
 * returns EMB_OK (texts and out may then be NULL).
 * @return EMB_OK; EMB_ERR_INVALID_ARGUMENT (NULL model/texts/out, a text with
 *   NULL data and len > 0), EMB_ERR_INVALID_UTF8, EMB_ERR_TOO_LONG,
 *   EMB_ERR_NO_WEIGHTS, EMB_ERR_NO_MEMORY. On failure `out` is left
 *   unspecified. Thread-safe. Added in v1.0.0. */
EMB_API emb_status emb_encode(const emb_model *model, const emb_text *texts,
                              size_t n_texts, const emb_encode_options *opts,
                              float *out);

/* Embed `n_seqs` sequences given as token ids (what emb_tokenize returns
 * with add_special: the specials must already be there; no prompt, no
 * truncation). Sequence i is ids[i][0 .. n_ids[i]); out receives
 * n_seqs * emb_model_dim() floats. For callers that tokenize themselves
 * (servers taking token arrays, benchmarks without tokenizer time).
 * @return EMB_OK; EMB_ERR_INVALID_ARGUMENT (NULL pointers, an empty sequence,
 *   an id outside the vocabulary); EMB_ERR_TOO_LONG (a sequence longer than
 *   emb_model_max_tokens()); EMB_ERR_NO_WEIGHTS; EMB_ERR_NO_MEMORY.
 * Thread-safe. Added in v1.0.0. */
EMB_API emb_status emb_encode_tokens(const emb_model *model, const int32_t *const *ids,
                                     const size_t *n_ids, size_t n_seqs, float *out);

/* Cosine similarity of two vectors of `dim` floats, into *out (0 when either
 * vector is all zeros). @return EMB_OK or EMB_ERR_INVALID_ARGUMENT. */
EMB_API emb_status emb_cosine(const float *a, const float *b, size_t dim, float *out);

/* ----------------------------------------------------------------- search */

/* Exact top-k search of one query over `n_rows` stored vectors (row i at
 * rows + i * dim elements; rows need no alignment), with the library's own
 * kernels (AVX-512 / AVX2 / portable, chosen at run time):
 *   emb_topk_f32     float dot products, or cosines when opts->cosine;
 *   emb_topk_i8      int32 dot products of int8 codes (exact), e.g. of a
 *                    sentence-transformers "int8" quantized index;
 *   emb_topk_binary  Hamming distances over packed bits (`n_bytes` bytes a
 *                    row, exact), e.g. of a "ubinary" index — smaller is
 *                    better.
 * The best min(k, n_rows) rows are written to idx[] (and their scores or
 * distances to score[] / distance[], which may be NULL), best first; equal
 * scores rank the lower row index first, and a NaN score ranks below every
 * number. Entries past min(k, n_rows) are left untouched. The result never
 * depends on opts->n_threads. k == 0 or n_rows == 0 is a no-op returning
 * EMB_OK (idx, and rows, may then be NULL).
 * @return EMB_OK; EMB_ERR_INVALID_ARGUMENT (NULL query/rows/idx when there
 *   is something to write, dim or n_bytes 0, n_rows * dim overflowing,
 *   emb_topk_i8 with dim above 65536 (its int32 sums could overflow),
 *   opts->n_threads outside 0..1024, opts not initialized);
 *   EMB_ERR_NO_MEMORY. Thread-safe (the inputs are only read).
 * Added in v1.0.0. */
typedef struct emb_topk_options {
    size_t struct_size;     /* set by emb_topk_options_init() */
    int cosine;             /* emb_topk_f32 only: 1 ranks by cosine
                               q·r / (|q| |r|) (0 when either norm is 0)
                               instead of the dot product (default 0) */
    const float *row_norms; /* emb_topk_f32 with cosine: NULL (default)
                               computes each |r| on the fly; else n_rows
                               precomputed norms |r_i| (sqrt of the row's
                               dot product with itself) */
    int n_threads;          /* threads over row ranges: 0 (default) = the
                               default thread count (as emb_model_open:
                               EMB_NUM_THREADS, else the CPU affinity mask
                               and cgroup quota); 1 = the calling thread */
} emb_topk_options;

EMB_API void emb_topk_options_init_size(emb_topk_options *opts, size_t struct_size);
#define emb_topk_options_init(opts) emb_topk_options_init_size((opts), sizeof *(opts))

EMB_API emb_status emb_topk_f32(const float *query, const float *rows, size_t n_rows,
                                size_t dim, size_t k, const emb_topk_options *opts,
                                size_t *idx, float *score);
EMB_API emb_status emb_topk_i8(const int8_t *query, const int8_t *rows, size_t n_rows,
                               size_t dim, size_t k, const emb_topk_options *opts,
                               size_t *idx, int32_t *score);
EMB_API emb_status emb_topk_binary(const uint8_t *query, const uint8_t *rows, size_t n_rows,
                                   size_t n_bytes, size_t k, const emb_topk_options *opts,
                                   size_t *idx, uint32_t *distance);

/* --------------------------------------------------------------- tokenize */

typedef struct emb_tokenize_options {
    size_t struct_size;  /* set by emb_tokenize_options_init() */
    int add_special;     /* 1 (default): the post-processor's specials ([CLS] … [SEP]) */
    int apply_prompt;    /* 0 (default): tokenize the text as given; 1: first
                            build the model's input string for `kind` (prompt
                            and strip rule), exactly as emb_encode() does */
    emb_kind kind;
    int truncate;        /* 0 (default): all ids; 1: cut to emb_model_max_tokens() */
} emb_tokenize_options;

EMB_API void emb_tokenize_options_init_size(emb_tokenize_options *opts, size_t struct_size);
#define emb_tokenize_options_init(opts) emb_tokenize_options_init_size((opts), sizeof *(opts))

/* Token ids of one text into ids[0 .. cap). *n_ids receives the number of
 * ids (also when the buffer is too small). `opts` may be NULL.
 * @return EMB_OK; EMB_ERR_BUFFER_TOO_SMALL (call again with *n_ids room);
 *   EMB_ERR_INVALID_ARGUMENT; EMB_ERR_INVALID_UTF8. Thread-safe. */
EMB_API emb_status emb_tokenize(const emb_model *model, const char *text, size_t len,
                                const emb_tokenize_options *opts, int32_t *ids,
                                size_t cap, size_t *n_ids);

/* ---------------------------------------------------------------- convert */

typedef enum emb_dtype {
    EMB_DTYPE_AUTO = 0, /* keep the checkpoint's dtype (f32, f16 or bf16) */
    EMB_DTYPE_F32 = 1,
    EMB_DTYPE_F16 = 2,
    EMB_DTYPE_BF16 = 3,
    EMB_DTYPE_INT8 = 4  /* the Linear layers' weights as int8 with one f32
                           scale per output row (symmetric: max|w| / 127),
                           except the 16 input features per layer that
                           reach the largest |x| on calibration texts (the
                           fp32 model is run over them at convert time),
                           kept in f32 (format 1.2);
                           embedding tables, norms and biases keep the
                           checkpoint's dtype. Such a file always runs its
                           Linear layers in int8 compute (see
                           emb_open_options.compute): vectors within cosine
                           0.999 of the fp32 ones, about a quarter of the
                           weight bytes. Encoders only. Added in v1.0.0. */
} emb_dtype;

typedef struct emb_convert_options {
    size_t struct_size;     /* set by emb_convert_options_init() */
    emb_dtype dtype;        /* weight dtype written; default EMB_DTYPE_AUTO */
    int tokenizer_only;     /* 1: write only the tokenizer (no config.json or
                               weights needed) */
    const char *pooling;    /* NULL = from the folder; else "mean", "cls",
                               "lasttoken", "lasttoken-logits", "max",
                               "weightedmean", "mean-sqrt-len", or several
                               joined with '+' ("cls+mean": concatenated) */
    int normalize;          /* -1 (default) = from the folder; 0 or 1 */
    const char *template_;  /* NULL = none; else an input template with one
                               "{text}", e.g. "[INST] {text} [/INST]"; the
                               input is then used exactly (no strip) */
    const char *prompt_query;   /* NULL = from the folder; else the prompt for
                                   EMB_KIND_QUERY ("" = none) */
    const char *prompt_passage; /* likewise for EMB_KIND_PASSAGE */
    const char *prompt_none;    /* likewise for EMB_KIND_NONE (the default prompt) */
    int attention;          /* decoders: -1 (default) = as the reference:
                               causal, or for gemma3_text the folder's
                               use_bidirectional_attention; 0 = causal;
                               1 = bidirectional (no causal mask). (The
                               default was 0 before gemma3_text, which was
                               the same as -1 for every decoder then.) */
    int append_eos;         /* -1 (default) = as the tokenizer's post-processor
                               does; 0 = drop the special token(s) the
                               post-processor appends after the text; 1 = keep
                               them, or append the folder's eos_token when the
                               post-processor appends nothing */
    const char *calibration; /* EMB_DTYPE_INT8: NULL (default) = the built-in
                               calibration texts; else a UTF-8 text file, one
                               text per line, run through the fp32 model in
                               their place to choose each Linear layer's
                               input features kept in fp32 (the ones that
                               reach the largest |x|). Ignored for other
                               dtypes. Added in v1.0.0. */
} emb_convert_options;

EMB_API void emb_convert_options_init_size(emb_convert_options *opts, size_t struct_size);
#define emb_convert_options_init(opts) emb_convert_options_init_size((opts), sizeof *(opts))

/* Convert a Hugging Face model folder (as downloaded: config.json,
 * model.safetensors or sharded, tokenizer.json or vocab.txt, the
 * sentence-transformers files) into one libemb model file at out_path.
 * The file is written under a temporary name and renamed into place: a
 * failed conversion leaves no output file.
 * @return EMB_OK; EMB_ERR_INVALID_ARGUMENT, EMB_ERR_IO (missing file, write
 *   failure), EMB_ERR_FORMAT (malformed or hostile file), EMB_ERR_UNSUPPORTED
 *   (unknown architecture/tokenizer/dtype), EMB_ERR_NO_MEMORY.
 * Not thread-safe with other emb_convert() calls. Added in v1.0.0. */
EMB_API emb_status emb_convert(const char *hf_dir, const char *out_path,
                               const emb_convert_options *opts);

/* ------------------------------------------------------------ diagnostics */

/* For benchmarks (`emb bench --peak`, docs/performance.md). Not needed to
 * embed anything. */

/* The best fp32 GEMM rate, in GFLOP/s, of y[2048, 3072] = x[2048, 768] ·
 * w[3072, 768]^T on this machine, over `n_threads` threads (0 = the default
 * thread count, as emb_model_open): use_blas = 0 times the library's own
 * kernel path (the packed-weight GEMM the models run, rows split over the
 * threads), use_blas = 1 times cblas_sgemm of the linked BLAS (OpenBLAS set to
 * n_threads for the call, then restored). A warm-up call, then the fastest of
 * at least 3 calls and 0.4 s. Allocates about 50 MB for the call.
 * @return EMB_OK and *gflops; EMB_ERR_INVALID_ARGUMENT (NULL gflops,
 *   n_threads outside 0..1024); EMB_ERR_NO_MEMORY. Not thread-safe with other
 *   users of the BLAS thread count. Added in v1.0.0. */
EMB_API emb_status emb_diag_gemm_gflops(int use_blas, int n_threads, double *gflops);

/* The number of weights a forward pass multiplies each token by, counted
 * from the tensors the model bound at open: every Linear layer's weights and
 * biases and every norm's weights (the embedding LayerNorm of an encoder and
 * the final norm of a decoder included); not the token, position and
 * token-type embedding tables, an lm_head or sentence-transformers Dense
 * modules (they multiply one row per text), nor the BERT pooler, which sentence-transformers' models carry but never
 * run (so all-MiniLM-L6-v2: 10 647 552 of its 22 713 216 parameters). This
 * is transformers' num_parameters(exclude_embeddings=True) of the AutoModel
 * less its pooler, the same for a model's fp32, 16-bit and int8 files.
 * 2 · this · tokens is a pass's FLOP count without attention's
 * (docs/performance.md).
 * @return EMB_OK and *non_embedding; EMB_ERR_INVALID_ARGUMENT (NULL);
 *   EMB_ERR_NO_WEIGHTS (tokenizer-only file). Thread-safe. Added in v1.0.0. */
EMB_API emb_status emb_diag_model_params(const emb_model *model, uint64_t *non_embedding);

#ifdef __cplusplus
}
#endif

#endif /* EMB_H */
