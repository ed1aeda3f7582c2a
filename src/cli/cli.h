/* cli/ — the `emb` program: one file per subcommand, using only the public
 * API (include/emb.h). */
#ifndef EMB_CLI_H
#define EMB_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "emb.h"
#include "emb_names.h"

/* subcommands: argc/argv start at the subcommand name; return exit status */
int cli_convert(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_embed(int argc, char **argv);
int cli_similarity(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_search(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_bench(int argc, char **argv);

/* Which model file to use: `explicit_path` (-m) first, then $EMB_MODEL, then
 * the real model all-MiniLM-L6-v2.h5, then the demo model wordnet-mini.h5,
 * each looked for in the installed data directory (<exe>/../share/emb/) and
 * then the source tree's (<exe>/../models/): a real model anywhere beats the
 * demo. Falling back to the demo prints one notice on stderr saying why; the
 * default is resolved once per process. Returns a static string or NULL
 * (after printing a message). */
const char *cli_model_path(const char *explicit_path);

/* Open the model or print the library's message; NULL on failure. */
emb_model *cli_open_model(const char *explicit_path);
/* The same with the Linear layers' precision of --compute (EMB_COMPUTE_BF16
 * fails with EMB_ERR_UNSUPPORTED on a CPU without AVX512_BF16). */
emb_model *cli_open_model_compute(const char *explicit_path, emb_compute compute);

/* Print "emb: <what>: <status>: <last error>" to stderr; returns 1. */
int cli_fail(const char *what, emb_status st);

/* Parse --kind query|passage|none. Returns 0 or -1 (message printed). */
int cli_parse_kind(const char *s, emb_kind *out);

/* Parse --compute f32|bf16 (emb_open_options.compute), the one copy every
 * command that opens a model uses. Returns 0 or -1 (message printed; the
 * caller exits with status 2). */
int cli_parse_compute(const char *s, emb_compute *out);

/* Input texts: one per line of `f` (a trailing "\r" dropped), or with
 * jsonl, one JSON string or object with "text" per line. */
typedef struct cli_texts {
    size_t n, cap;
    emb_text *t;
} cli_texts;
int cli_read_texts(FILE *f, int jsonl, cli_texts *out);
void cli_texts_free(cli_texts *t);

/* cli_open_model_compute(model_path, compute), then cli_read_texts(in,
 * jsonl, texts): 0, or 1 (the exit status; message printed, nothing left
 * open). cli_open_with_texts() opens with EMB_COMPUTE_F32. */
int cli_open_with_texts_compute(const char *model_path, emb_compute compute, FILE *in, int jsonl,
                                emb_model **m, cli_texts *texts);
int cli_open_with_texts(const char *model_path, FILE *in, int jsonl, emb_model **m,
                        cli_texts *texts);

/* Length of line[0..len) without a trailing "\n", then a trailing "\r". */
size_t cli_chomp(const char *line, size_t len);
/* malloc'ed copy of s[0..len) with a NUL appended, or NULL. */
char *cli_strndup(const char *s, size_t len);
/* An array `v` of n elements of `size` bytes with room for *cap, made
 * ready for one more: v itself while n < *cap, else realloc'ed to twice
 * *cap (`first` when 0) and *cap updated. The one growth rule of the
 * CLI's lists; NULL when out of memory (v and *cap left as they were). */
void *cli_grow(void *v, size_t *cap, size_t n, size_t size, size_t first);

/* emb_tokenize() of one text into *ids (room for *cap), growing the buffer
 * (realloc, *cap updated) when the text needs more; *n ids on EMB_OK. */
emb_status cli_tokenize_grow(const emb_model *m, const emb_text *t, const emb_tokenize_options *o,
                             int32_t **ids, size_t *cap, size_t *n);

/* Write `len` bytes as a JSON string literal. */
void cli_json_string(FILE *f, const char *s, size_t len);
/* Write a float array as a JSON array with 9 significant digits. */
void cli_json_floats(FILE *f, const float *v, size_t n);

/* ---- measuring a run, for compare.c and eval.c (defined in measure.c) ---- */

/* Monotonic time in seconds. */
double cli_now(void);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct cli_progress {
    const char *label;
    size_t total, done;
    int shown; /* last percentage drawn */
    int on;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, size_t total);
void cli_progress_add(cli_progress *p, size_t n); /* p may be NULL */
void cli_progress_end(cli_progress *p);           /* erases the bar */

/* emb_encode() in calls of `batch` texts into out[n * dim], advancing
 * `progress` (may be NULL) and adding the wall-clock seconds spent inside
 * emb_encode() to *seconds. Results do not depend on `batch`. */
emb_status cli_encode_timed(const emb_model *m, const emb_text *texts, size_t n,
                            const emb_encode_options *o, size_t batch, float *out,
                            cli_progress *progress, double *seconds);

/* Adds to *total the number of tokens the model runs for each text of
 * `kind`: emb_tokenize() with the prompt applied, specials, and truncation
 * to emb_model_max_tokens() as emb_encode() does by default. */
emb_status cli_count_tokens(const emb_model *m, const emb_text *texts, size_t n,
                            emb_kind kind, size_t *total);

/* ---- retrieval metrics (defined in metrics.c) ---- */

/* `emb compare` metrics over sim[i * n + j] = cos(question i, answer j),
 * answer i being the only relevant one for question i (docs/evaluate.md):
 * rank_i = 1 + #{j != i : sim[i][j] >= sim[i][i]} (ties count against);
 * accuracy_at_1 = share of rank_i == 1; mrr = mean 1/rank_i;
 * mean_relevant = mean sim[i][i]; mean_irrelevant = mean over i != j. */
typedef struct cli_pair_metrics {
    double mean_relevant, mean_irrelevant, margin, accuracy_at_1, mrr;
} cli_pair_metrics;
void cli_pair_metrics_compute(const float *sim, size_t n, cli_pair_metrics *out);

/* `emb eval` ranking metrics, as trec_eval 9 / pytrec_eval compute them;
 * see docs/evaluate.md. */

/* Orders documents as trec_eval does: score descending (NaN as -1, as
 * BEIR), equal scores by id descending (strcmp). Documents whose id equals
 * `exclude_id` are left out (BEIR's ignore_identical_ids; NULL keeps all).
 * Writes the first min(n, depth) indices into order[] (room for n) and
 * returns that count; -1 if out of memory. */
long cli_ir_rank(const char *const *ids, const float *scores, size_t n, size_t depth,
                 const char *exclude_id, size_t *order);

/* One query's metrics from the grades of the ranked documents
 * (ranked_rel[r] = qrels grade of the document at rank r + 1, 0 when not
 * judged) and all grades judged for the query (including documents absent
 * from the corpus). Relevant means grade >= 1. A query without relevant
 * documents scores 0 everywhere. */
typedef struct cli_ir_metrics {
    double ndcg_at_10, recall_at_10, recall_at_100, mrr_at_10;
} cli_ir_metrics;
int cli_ir_query_metrics(const long *ranked_rel, size_t n_ranked, const long *judged,
                         size_t n_judged, cli_ir_metrics *out); /* 0, or -1 out of memory */

/* ---- vectors files, for `emb search --index` (defined in vectors.c) ---- */

/* An open vectors file (docs/format.md, "Vectors files"): the root
 * attributes search needs, checked by cli_vectors_open. */
typedef struct cli_vectors {
    const char *path;
    int64_t file; /* HDF5 file id (hid_t) */
    int fd;       /* the same file, for mmap */
    size_t count, dim;
    int normalized;
    char *model_source, *model_sha256, *model_path; /* model_path may be NULL */
    float *probe;                                   /* model_probe [dim] */
} cli_vectors;

/* A [count, cols] matrix of the file: mapped in place (map != NULL) or read
 * into `owned`; `data` points at row 0 either way (NULL when count is 0). */
typedef struct cli_matrix {
    const void *data;
    void *map, *owned;
    size_t map_len;
} cli_matrix;

/* Each returns 0, or 1 after printing "emb search: PATH: what is wrong". */
int cli_vectors_open(const char *path, cli_vectors *v); /* v closable either way */
int cli_vectors_has(const cli_vectors *v, const char *name);
/* `name`: "vectors" (float32, cols = dim), "vectors_int8" (int8, dim) or
 * "vectors_binary" (uint8, ceil(dim / 8)). */
int cli_vectors_matrix(cli_vectors *v, const char *name, size_t cols, cli_matrix *out);
void cli_matrix_free(cli_matrix *m);
int cli_vectors_ranges(cli_vectors *v, float *ranges); /* int8_ranges [2, dim] */
/* Whether dataset `name` holds `count` strings. */
int cli_vectors_check_strings(cli_vectors *v, const char *name);
/* name[row] as a malloc'ed string, or NULL (message printed). */
char *cli_vectors_string(cli_vectors *v, const char *name, size_t row);
void cli_vectors_close(cli_vectors *v);
/* The compact forms of a vector, for the file's rows (emb embed --out) and
 * for a query (emb search --using) alike. int8: sentence-transformers'
 * quantize_embeddings(precision="int8") of component x with its dimension's
 * range [lo, hi], in float32: step = (hi - lo) / 255 (1 where 0), code =
 * clip(floor((x - lo) / step), 0, 255) - 128 (NaN: -128). Binary:
 * numpy.packbits(x > 0) into ceil(dim / 8) bytes, the first component the
 * top bit of byte 0. */
int8_t cli_quantize_int8(float x, float lo, float hi);
void cli_pack_bits(const float *x, size_t dim, uint8_t *bits);

/* `emb search --index` (search_index.c), after search.c parsed the options. */
typedef enum cli_form { CLI_FORM_F32, CLI_FORM_INT8, CLI_FORM_BINARY } cli_form;
typedef struct cli_search_args {
    const char *model, *index; /* model NULL: the index's model_path, else the default */
    size_t top, rescore;       /* rescore 0: 4 * top */
    int jsonl;
    int timing;                /* print where the time went on stderr */
    cli_form form;
    emb_compute compute;
    char **queries;
    size_t n_queries;
} cli_search_args;
int cli_search_index(const cli_search_args *a);

#endif
