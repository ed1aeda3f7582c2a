/* Fuzz tok_create and tok_encode with hostile tokenizer specs: what a
 * crafted model file's /tokenizer group can hold (the byte-level model-file
 * harness rarely gets past HDF5's metadata checksums to the attributes).
 * The input is decoded into a tok_spec: model kind, a small vocabulary,
 * scores, merges, unk id, prefixes, flags, normalizer and pre-tokenizer
 * steps with arbitrary parameters, added tokens, post-processor ids; the
 * rest of the input is the text. A spec tok_create accepts must encode any
 * valid UTF-8 into ids inside the vocabulary. */
#include "fuzz_common.h"

#include "tokenizer/tokenizer.h"

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t u8(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static int16_t i16(reader *r)
{
    uint16_t lo = u8(r), hi = u8(r);
    return (int16_t)(lo | (uint16_t)(hi << 8));
}

/* A malloc'ed string of up to max bytes (NUL-terminated), its length in *len. */
static char *str(reader *r, size_t max, size_t *len)
{
    size_t n = u8(r) % (max + 1);
    if (n > r->n)
        n = r->n;
    char *s = fuzz_strndup(r->p, n);
    r->p += n;
    r->n -= n;
    if (len)
        *len = n;
    return s;
}

static const char *const norm_types[] = {
    "BertNormalizer", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents",
    "Strip", "Prepend", "Replace", "Precompiled", "Bogus",
};
static const char *const pre_types[] = {
    "BertPreTokenizer", "Whitespace", "WhitespaceSplit", "ByteLevel", "Split",
    "Metaspace", "Digits", "Punctuation", "Bogus",
};

static tok_step *steps(reader *r, const char *const *types, size_t n_types, size_t *n_out)
{
    size_t n = u8(r) % 4;
    *n_out = n;
    if (!n)
        return NULL;
    tok_step *s = calloc(n, sizeof *s);
    if (!s)
        abort();
    for (size_t k = 0; k < n; k++) {
        snprintf(s[k].type, sizeof s[k].type, "%s", types[u8(r) % n_types]);
        for (int j = 0; j < 8; j++)
            s[k].i[j] = (int8_t)u8(r) % 6; /* small, also negative */
        for (int j = 0; j < 3; j++)
            s[k].s[j] = u8(r) & 1 ? str(r, 8, &s[k].s_len[j]) : NULL;
        if (!strcmp(s[k].type, "Precompiled")) {
            size_t len = 0;
            s[k].blob = (uint8_t *)str(r, 255, &len);
            s[k].blob_len = len;
        }
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = { data, size };
    tok_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.model = (tok_model_kind)(u8(&r) % 4); /* NONE too */
    sp.n_vocab = u8(&r) % 48;
    sp.vocab_off = calloc(sp.n_vocab + 1, sizeof *sp.vocab_off);
    sp.vocab_bytes = malloc(sp.n_vocab * 8 + 1);
    if (!sp.vocab_off || !sp.vocab_bytes)
        abort();
    size_t at = 0;
    for (uint32_t i = 0; i < sp.n_vocab; i++) {
        size_t len = 0;
        char *t = str(&r, 8, &len);
        memcpy(sp.vocab_bytes + at, t, len);
        free(t);
        at += len;
        sp.vocab_off[i + 1] = at;
    }
    sp.vocab_bytes[at] = '\0';
    if (u8(&r) & 1) {
        sp.scores = malloc((sp.n_vocab ? sp.n_vocab : 1) * sizeof *sp.scores);
        if (!sp.scores)
            abort();
        for (uint32_t i = 0; i < sp.n_vocab; i++)
            sp.scores[i] = (float)(int8_t)u8(&r) / 4.0f;
    }
    sp.n_merges = u8(&r) % 32;
    sp.merges = malloc((sp.n_merges ? sp.n_merges : 1) * 3 * sizeof *sp.merges);
    if (!sp.merges)
        abort();
    for (uint32_t i = 0; i < 3 * sp.n_merges; i++)
        sp.merges[i] = (int8_t)u8(&r);
    sp.unk_id = (int8_t)u8(&r);
    uint8_t flags = u8(&r);
    sp.subword_prefix = flags & 1 ? str(&r, 4, NULL) : NULL;
    sp.word_suffix = flags & 2 ? str(&r, 4, NULL) : NULL;
    sp.byte_fallback = (flags >> 2) & 1;
    sp.fuse_unk = (flags >> 3) & 1;
    sp.ignore_merges = (flags >> 4) & 1;
    sp.max_input_chars_per_word = i16(&r);
    sp.normalizers = steps(&r, norm_types, sizeof norm_types / sizeof *norm_types,
                           &sp.n_normalizers);
    sp.pretokenizers = steps(&r, pre_types, sizeof pre_types / sizeof *pre_types,
                             &sp.n_pretokenizers);
    sp.n_added = u8(&r) % 4;
    sp.added = sp.n_added ? calloc(sp.n_added, sizeof *sp.added) : NULL;
    for (size_t i = 0; i < sp.n_added; i++) {
        tok_added *a = &sp.added[i];
        a->content = str(&r, 6, &a->len);
        a->id = i16(&r);
        uint8_t f = u8(&r);
        a->special = f & 1;
        a->lstrip = (f >> 1) & 1;
        a->rstrip = (f >> 2) & 1;
        a->single_word = (f >> 3) & 1;
        a->normalized = (f >> 4) & 1;
    }
    sp.n_prefix = u8(&r) % 3;
    sp.n_suffix = u8(&r) % 3;
    sp.prefix_ids = calloc(sp.n_prefix + 1, sizeof *sp.prefix_ids);
    sp.suffix_ids = calloc(sp.n_suffix + 1, sizeof *sp.suffix_ids);
    if (!sp.prefix_ids || !sp.suffix_ids)
        abort();
    for (size_t i = 0; i < sp.n_prefix; i++)
        sp.prefix_ids[i] = i16(&r);
    for (size_t i = 0; i < sp.n_suffix; i++)
        sp.suffix_ids[i] = i16(&r);

    tok_tokenizer *tok = NULL;
    if (tok_create(&sp, &tok) == EMB_OK) {
        /* the rest is the text, as an exact-size copy */
        char *text = malloc(r.n ? r.n : 1);
        if (!text)
            abort();
        memcpy(text, r.p, r.n);
        tok_ids ids = { 0 };
        emb_status st = tok_encode(tok, text, r.n, 1, 0, &ids);
        if (st == EMB_OK) {
            size_t vocab = tok_vocab_size(tok);
            for (size_t i = 0; i < ids.n; i++)
                if (ids.ids[i] < 0 || (size_t)ids.ids[i] >= vocab)
                    abort(); /* an id outside the vocabulary */
        }
        /* else: INVALID_UTF8, or UNSUPPORTED for a Unigram model without unk
         * meeting an unknown character (HF fails there too) */
        free(ids.ids);
        free(text);
        tok_free(tok);
    }
    tok_spec_free(&sp);
    return 0;
}
