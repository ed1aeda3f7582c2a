/* tokenizer/ — the Hugging Face tokenizers pipeline in C:
 * added tokens → normalizers → pre-tokenizers → model (WordPiece, BPE,
 * Unigram) → post-processor (specials) → truncation.
 *
 * A tokenizer is built from a tok_spec: plain data that the converter fills
 * from tokenizer.json (src/convert) and the model file stores and loads
 * (src/format). Nothing here parses JSON. This header is the folder's only
 * door. */
#ifndef EMB_TOKENIZER_H
#define EMB_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "emb.h"
#include "emb_names.h"

/* TOK_MODEL_NONE, then EMB_TOKENIZER_MAP (include/emb_names.h) numbered
 * from 1: TOK_MODEL_WORDPIECE, TOK_MODEL_BPE, TOK_MODEL_UNIGRAM. */
#define TOK_MODEL_ITEM_(id, name) TOK_MODEL_##id,
typedef enum tok_model_kind { TOK_MODEL_NONE = 0, EMB_TOKENIZER_MAP(TOK_MODEL_ITEM_) } tok_model_kind;

/* One normalizer or pre-tokenizer step, named by its Hugging Face "type".
 * Parameters by type (unused fields are 0 / NULL):
 *
 * normalizers
 *   "BertNormalizer"  i[0]=clean_text i[1]=handle_chinese_chars
 *                     i[2]=strip_accents (-1 = null: follows lowercase, 0, 1)
 *                     i[3]=lowercase
 *   "NFC" "NFD" "NFKC" "NFKD" "Lowercase" "StripAccents"   (no parameters)
 *   "Strip"           i[0]=left i[1]=right
 *   "Prepend"         s[0]=prepend
 *   "Replace"         s[0]=pattern s[1]=content i[0]=1 if pattern is a regex
 *   "Precompiled"     blob=precompiled_charsmap bytes (decoded from base64)
 * pre-tokenizers
 *   "BertPreTokenizer" "Whitespace" "WhitespaceSplit"      (no parameters)
 *   "ByteLevel"       i[0]=add_prefix_space i[1]=use_regex
 *   "Split"           s[0]=pattern i[0]=1 if regex; i[1]=behavior
 *                     (0 Removed, 1 Isolated, 2 MergedWithPrevious,
 *                      3 MergedWithNext, 4 Contiguous); i[2]=invert
 *   "Metaspace"       s[0]=replacement (UTF-8); i[0]=prepend_scheme
 *                     (0 always, 1 first, 2 never); i[1]=split
 *   "Digits"          i[0]=individual_digits
 *   "Punctuation"     i[0]=behavior (as Split)
 */
typedef struct tok_step {
    char type[32];
    int32_t i[8];
    char *s[3];
    size_t s_len[3];
    uint8_t *blob;
    size_t blob_len;
} tok_step;

/* An added token (tokenizer.json "added_tokens"), matched in the raw text
 * (normalized == 0) or in the normalized text (normalized == 1) before the
 * pre-tokenizer runs, exactly as HF's AddedVocabulary. */
typedef struct tok_added {
    char *content;
    size_t len;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tok_added;

/* Everything a tokenizer is made of. Owned memory: every pointer is from
 * malloc and released by tok_spec_free(). */
typedef struct tok_spec {
    tok_model_kind model;

    /* vocabulary: token i is vocab_bytes[vocab_off[i] .. vocab_off[i+1]).
     * Ids the model does not define (holes) are empty strings, never
     * matched. Added tokens may have ids >= n_vocab (tok_vocab_size counts
     * them). Equal strings: the later id wins, as HF's HashMap. */
    uint32_t n_vocab;
    char *vocab_bytes;
    uint64_t *vocab_off;     /* n_vocab + 1 entries */
    float *scores;           /* Unigram log-probabilities [n_vocab], else NULL */

    /* BPE merges by rank: (left id, right id, merged id) triples */
    uint32_t n_merges;
    int32_t *merges;         /* 3 * n_merges */

    int32_t unk_id;          /* -1 when the model has none */
    char *subword_prefix;    /* WordPiece "##" / BPE continuing_subword_prefix, or NULL */
    char *word_suffix;       /* BPE end_of_word_suffix, or NULL */
    int32_t max_input_chars_per_word; /* WordPiece (HF default 100) */
    int32_t byte_fallback, fuse_unk, ignore_merges;

    size_t n_normalizers;
    tok_step *normalizers;   /* applied in order */
    size_t n_pretokenizers;
    tok_step *pretokenizers; /* applied in order */

    size_t n_added;
    tok_added *added;

    /* post-processor for a single sequence: prefix ids, the text, suffix ids */
    size_t n_prefix, n_suffix;
    int32_t *prefix_ids;
    int32_t *suffix_ids;
} tok_spec;

void tok_spec_free(tok_spec *spec);

/* A built tokenizer: immutable, shareable across threads. */
typedef struct tok_tokenizer tok_tokenizer;

/* Build a tokenizer from `spec` (copied: the spec may be freed afterwards).
 * @return EMB_OK, EMB_ERR_UNSUPPORTED (a step type or model this build does
 * not implement — the message names it), EMB_ERR_FORMAT (inconsistent spec:
 * ids out of range, ...), EMB_ERR_NO_MEMORY. */
emb_status tok_create(const tok_spec *spec, tok_tokenizer **out);
void tok_free(tok_tokenizer *tok);

/* A growable id list (caller owns ids; free with free()). */
typedef struct tok_ids {
    int32_t *ids;
    size_t n, cap;
} tok_ids;

/* Tokenize `len` bytes of UTF-8. With add_special the post-processor's
 * prefix/suffix ids are added. With max_tokens > 0 the result is cut to at
 * most max_tokens ids, cutting the text's ids (from the right) and keeping
 * the specials, as HF truncation does. `out` is reset (n = 0) first.
 * @return EMB_OK, EMB_ERR_INVALID_UTF8, EMB_ERR_NO_MEMORY. */
emb_status tok_encode(const tok_tokenizer *tok, const char *text, size_t len,
                      int add_special, size_t max_tokens, tok_ids *out);
/* tok_encode of text the caller has already checked with tok_utf8_valid at
 * its own boundary (emb_encode and emb_tokenize check each text, prompt and
 * model-file string once): the same, without checking again. Invalid
 * UTF-8 here is the caller's bug.
 * @return EMB_OK, EMB_ERR_NO_MEMORY. */
emb_status tok_encode_valid(const tok_tokenizer *tok, const char *text, size_t len,
                            int add_special, size_t max_tokens, tok_ids *out);

/* Number of special ids the post-processor adds to one sequence. */
size_t tok_n_special(const tok_tokenizer *tok);
/* max(n_vocab, largest added-token id + 1): every id tok_encode can return
 * is below it. */
size_t tok_vocab_size(const tok_tokenizer *tok);

/* 1 if `len` bytes at `s` are valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
int tok_utf8_valid(const char *s, size_t len);

/* Decode one code point of valid UTF-8 at s (n > 0 bytes left); returns its
 * byte length. Never reads past s[n - 1], even on invalid bytes (then the
 * code point is meaningless). The one UTF-8 decoder of the library. */
static inline size_t tok_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80 || n < 2) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xE0) {
        *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3Fu);
        return 2;
    }
    if (n < 3) { /* truncated: never read past the end */
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xF0 || n < 4) {
        *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3Fu);
        return 3;
    }
    *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
          ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3Fu);
    return 4;
}

#endif
