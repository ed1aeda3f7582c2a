/* Private to the Hugging Face tokenizer readers of convert/ (cv_read_tokenizer):
 *   hf_tokenizer.c           the entry point, tokenizer.json top level, added tokens
 *   hf_tokenizer_model.c     the "model" section; vocabulary, map and merges building
 *   hf_tokenizer_pipeline.c  normalizer, pre_tokenizer and post_processor steps
 *   hf_tokenizer_legacy.c    folders without tokenizer.json (vocab.txt; vocab.json + merges.txt)
 * Everything else in the library goes through convert/convert.h. Every
 * function here records its error (rt_error) where it finds it. */
#ifndef EMB_CONVERT_HF_TOKENIZER_H
#define EMB_CONVERT_HF_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "emb.h"
#include "tokenizer/tokenizer.h"

#define HT_MAX_VOCAB  (4u << 20)      /* 4M entries */
#define HT_MAX_MERGES (4u << 20)
#define HT_MAX_TOKEN  (64u << 10)     /* 64 KiB */
#define HT_MAX_STEPS  64
#define HT_MAX_SPECIAL 64

/* ------------------------------------------------ json and file helpers */

/* o[key] if it is a JSON boolean, else def (o may be NULL). */
int ht_bool(json_t *o, const char *key, int def);
/* malloc'ed NUL-terminated copy of s[0..n), or NULL (no error recorded). */
char *ht_strdup_n(const char *s, size_t n);
/* malloc'ed "dir/rel", or NULL. */
char *ht_path(const char *dir, const char *rel);
/* 1 when the file can be opened for reading. */
int ht_readable(const char *path);
/* JSON files are read with cv_json_load_ex (convert/convert.h), with
 * JSON_ALLOW_NUL: vocabularies and token contents may hold "\u0000" (read
 * with json_string_length). */

/* --------------------------------------------------- vocabulary building */

typedef struct ht_entry {
    const char *s;
    size_t len;
    int64_t id;
    double score;
} ht_entry;

/* Fill spec vocab from (string, id) entries (sorted here by id); ids must be
 * unique, >= 0 and < 4M; holes become empty strings. with_scores: also
 * spec->scores (Unigram). */
emb_status ht_vocab_from_entries(const char *file, ht_entry *e, size_t n, int with_scores,
                                 tok_spec *spec);
/* A {"token": id} object (WordPiece, BPE, vocab.json) into spec's vocabulary. */
emb_status ht_vocab_dict(const char *file, json_t *vocab, tok_spec *spec);

/* String -> id over a built spec vocabulary (open addressing; a string
 * listed twice maps to its highest id). Free m->slot. */
typedef struct ht_map {
    uint32_t *slot;
    size_t mask;
    const tok_spec *spec;
} ht_map;

int ht_map_build(ht_map *m, const tok_spec *spec); /* 0, or -1 out of memory */
int32_t ht_map_get(const ht_map *m, const char *s, size_t len); /* -1 if absent */

/* BPE merges ("a b" strings or [a, b] pairs; NULL = none) into spec->merges
 * id triples; every part and result must be in the vocabulary. */
emb_status ht_bpe_merges(const char *file, json_t *merges, const ht_map *m, tok_spec *spec);

/* tokenizer.json "model": WordPiece, BPE or Unigram (type tag or untagged). */
emb_status ht_model(const char *file, json_t *model, tok_spec *spec);

/* ------------------------------------------------------- pipeline steps */

typedef struct ht_steps {
    tok_step *v;
    size_t n, cap;
} ht_steps;

/* Append a zeroed step of `type`; NULL on error (recorded when over
 * HT_MAX_STEPS). */
tok_step *ht_steps_new(ht_steps *s, const char *file, const char *type);
/* Hand norm's and pre's steps over to spec (they are left empty). */
emb_status ht_finish_steps(ht_steps *norm, ht_steps *pre, tok_spec *spec);
void ht_steps_free(ht_steps *s);

/* tokenizer.json "normalizer" / "pre_tokenizer" (NULL or null: none),
 * Sequences flattened into `out`; depth: Sequence nesting so far. */
emb_status ht_normalizer(const char *file, json_t *o, ht_steps *out, int depth);
emb_status ht_pretokenizer(const char *file, json_t *o, ht_steps *out, int depth);
/* tokenizer.json "post_processor" into spec's prefix_ids / suffix_ids. */
emb_status ht_post(const char *file, json_t *o, tok_spec *spec, int depth);
/* Append an id to a prefix/suffix list (at most HT_MAX_SPECIAL); 0, or -1. */
int ht_push_id(int32_t **v, size_t *n, int64_t id);

/* ------------------------------------------------------------- specials */

/* Append an added token to spec->added (content copied). */
emb_status ht_add_token(tok_spec *spec, const char *s, size_t len, int64_t id, int special,
                        int lstrip, int rstrip, int single_word, int normalized);

/* -------------------------------------- folders without tokenizer.json */

emb_status ht_read_vocab_txt(const char *dir, tok_spec *spec);
emb_status ht_read_vocab_merges(const char *dir, tok_spec *spec);

#endif
