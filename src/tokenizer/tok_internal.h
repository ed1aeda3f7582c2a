/* tokenizer/ private header: the built tokenizer's layout and the helpers the
 * pipeline stages share (byte buffers, UTF-8, Unicode classes, hash maps,
 * piece lists). Not included outside src/tokenizer/. */
#ifndef EMB_TOK_INTERNAL_H
#define EMB_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"
#include "tokenizer/tokenizer.h"

/* ------------------------------------------------------------ byte buffer */

typedef struct tk_buf {
    char *p;
    size_t n, cap;
} tk_buf;

/* Append; 0 on success, -1 when out of memory (error recorded). */
int tk_buf_put(tk_buf *b, const void *s, size_t n);
int tk_buf_putcp(tk_buf *b, uint32_t cp);   /* one code point as UTF-8 */
int tk_buf_reserve(tk_buf *b, size_t extra);
void tk_buf_free(tk_buf *b);

/* Byte length of the UTF-8 sequence starting with byte c. */
static inline size_t tk_utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

size_t tk_utf8_count(const char *s, size_t n);   /* code points in valid UTF-8 */

/* --------------------------------------------------------- Unicode classes
 * All as the Rust crates HF uses (char::is_whitespace, unicode_categories),
 * with utf8proc's tables. */
int tk_is_whitespace(uint32_t c);     /* Unicode White_Space (Rust char::is_whitespace) */
int tk_is_bert_whitespace(uint32_t c);/* HF bert.rs is_whitespace */
int tk_is_bert_control(uint32_t c);   /* HF bert.rs is_control: Cc Cf Co Cs minus \t\n\r */
int tk_is_bert_punc(uint32_t c);      /* ASCII punctuation or Unicode P* */
int tk_is_chinese(uint32_t c);        /* HF bert.rs is_chinese_char */
int tk_is_mn(uint32_t c);             /* general category Mn */
int tk_is_word_char(uint32_t c);      /* regex \w (Unicode) */
int tk_is_alnum(uint32_t c);          /* Rust char::is_alphanumeric */
/* Append Rust char::to_lowercase(c) (full mapping) to b. */
int tk_lower_cp(tk_buf *b, uint32_t c);
/* Unicode normalization of valid UTF-8 (form: 'C','D','c' = NFKC,'d' = NFKD). */
int tk_unicode_normalize(const char *s, size_t n, int form, tk_buf *out);

/* ------------------------------------------------------------- hash maps */

/* String -> id over a vocabulary stored as bytes + offsets (not owned).
 * On duplicate strings the later id wins, as HF's HashMap inserts. */
typedef struct tk_strmap {
    uint32_t *slots;   /* id + 1, 0 = empty */
    size_t mask;
    const char *bytes;
    const uint64_t *off;
} tk_strmap;

int tk_strmap_build(tk_strmap *m, const char *bytes, const uint64_t *off, uint32_t n);
int32_t tk_strmap_get(const tk_strmap *m, const char *s, size_t len);
void tk_strmap_free(tk_strmap *m);

/* (left id, right id) -> (rank, merged id), for BPE. */
typedef struct tk_pairmap {
    uint64_t *keys;    /* (left << 32 | right) + 1, 0 = empty */
    int32_t *rank;
    int32_t *merged;
    size_t mask;
} tk_pairmap;

int tk_pairmap_build(tk_pairmap *m, const int32_t *triples, uint32_t n);
int tk_pairmap_get(const tk_pairmap *m, int32_t left, int32_t right, int32_t *rank, int32_t *merged);
void tk_pairmap_free(tk_pairmap *m);

/* ------------------------------------------------------------ pieces */

/* A piece of the text on its way through the pipeline: either already a
 * token (id >= 0, from the added vocabulary) or a span of `text`. */
typedef struct tk_piece {
    size_t off, len;
    int32_t id;
    uint8_t at_start; /* starts at original offset 0 (Metaspace "first") */
} tk_piece;

typedef struct tk_pieces {
    tk_piece *v;
    size_t n, cap;
    tk_buf text;
} tk_pieces;

int tk_pieces_add(tk_pieces *p, size_t off, size_t len, int32_t id, int at_start);
/* Append bytes to text and a piece covering them. */
int tk_pieces_add_text(tk_pieces *p, const char *s, size_t len, int at_start);
void tk_pieces_free(tk_pieces *p);
void tk_pieces_reset(tk_pieces *p);

/* --------------------------------------------------------- added tokens */

typedef struct tk_trie_node {
    int32_t first_child, next_sibling;
    int32_t token;    /* index into the added list, or -1 */
    unsigned char byte;
} tk_trie_node;

typedef struct tk_trie {
    tk_trie_node *nodes;  /* node 0 is the root */
    size_t n, cap;
    int32_t root[256];    /* the root's children by byte (valid when n > 0) */
} tk_trie;

/* Insert `s` as added-token index `tok`; the first insertion of a string wins. */
int tk_trie_insert(tk_trie *t, const char *s, size_t n, int32_t tok);

/* ------------------------------------------------------- the tokenizer */

struct tk_regex;  /* compiled pcre2 pattern (pretokenizer.c) */

typedef struct tk_step_rt {
    tok_step step;         /* deep copy */
    void *re;              /* pcre2_code* for regex Split / Replace / ByteLevel */
    void *precompiled;     /* parsed charsmap (precompiled.c) */
} tk_step_rt;

struct tok_tokenizer {
    tok_spec spec;          /* deep copy, owns everything */
    tk_strmap vocab;
    tk_pairmap merges;
    tk_step_rt *norm;
    tk_step_rt *pretok;
    char **added_norm;      /* normalized content of each added token */
    size_t *added_norm_len;
    tk_trie trie_raw;       /* non-normalized added tokens */
    tk_trie trie_norm;      /* normalized added tokens (content normalized) */
    int32_t byte_ids[256];  /* BPE/Unigram byte fallback ids <0xNN>, -1 if missing */
    float unigram_min_score;
    size_t max_token_chars; /* Unigram: longest vocab piece in code points */
    size_t max_token_bytes; /* longest vocab entry in bytes */
    uint32_t *uni_sorted;   /* Unigram: non-empty vocab ids sorted bytewise, unique strings */
    size_t uni_n;
};

/* regex (pcre2, UTF + UCP): find the first match at or after `start`;
 * 1 and [*ms, *me) when found, 0 when none, -1 on a matching error.
 * `md` is a pcre2_match_data* owned by the caller (one per thread). */
void *tk_regex_compile(const char *pat, size_t len, int literal, char *err, size_t errlen);
void tk_regex_free(void *re);
void *tk_regex_md(void);
void tk_regex_md_free(void *md);
int tk_regex_find(const void *re, void *md, const char *s, size_t n, size_t start, size_t *ms,
                  size_t *me);

/* stages (each returns EMB_OK / EMB_ERR_NO_MEMORY) */
emb_status tk_normalize(const tok_tokenizer *t, const char *s, size_t n, tk_buf *out);
emb_status tk_pretokenize(const tok_tokenizer *t, tk_pieces *in, tk_pieces *tmp);
emb_status tk_added_split(const tok_tokenizer *t, const tk_trie *trie, const char *s, size_t n,
                          int at_start, tk_pieces *out);

emb_status tk_wordpiece_encode(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out);
emb_status tk_bpe_encode(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out);
emb_status tk_unigram_prepare(tok_tokenizer *t);
emb_status tk_unigram_encode(const tok_tokenizer *t, const char *s, size_t n, tok_ids *out);

int tk_ids_push(tok_ids *o, int32_t id);

/* step setup/teardown (pretokenizer.c / normalizer.c / precompiled.c) */
emb_status tk_step_prepare(tk_step_rt *st, int is_normalizer);
void tk_step_release(tk_step_rt *st);
emb_status tk_precompiled_parse(const uint8_t *blob, size_t len, void **out);
void tk_precompiled_free(void *pc);
emb_status tk_precompiled_apply(const void *pc, const char *s, size_t n, tk_buf *out);

#endif
