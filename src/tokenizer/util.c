/* Shared helpers of the tokenizer: growable buffers, UTF-8, Unicode classes
 * (as the Rust crates HF tokenizers uses), hash maps and piece lists. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tokenizer/tok_internal.h"

/* ------------------------------------------------------------ byte buffer */

int tk_buf_reserve(tk_buf *b, size_t extra)
{
    size_t need;
    if (rt_add_overflow(b->n, extra, &need))
        return rt_error(EMB_ERR_NO_MEMORY, "tokenizer: buffer size overflows"), -1;
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need + 1) {
        if (cap > SIZE_MAX / 2)
            return rt_error(EMB_ERR_NO_MEMORY, "tokenizer: buffer size overflows"), -1;
        cap *= 2;
    }
    char *p = rt_realloc(b->p, cap, 1);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int tk_buf_put(tk_buf *b, const void *s, size_t n)
{
    if (tk_buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int tk_buf_putcp(tk_buf *b, uint32_t c)
{
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6));
        u[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12));
        u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18));
        u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    return tk_buf_put(b, u, n);
}

void tk_buf_free(tk_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

size_t tk_utf8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

int tok_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1; cp = c & 0x1Fu; min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2; cp = c & 0x0Fu; min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3; cp = c & 0x07u; min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((u[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (u[i + j] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* --------------------------------------------------------- Unicode classes */

int tk_is_whitespace(uint32_t c)
{
    /* Unicode White_Space, as Rust's char::is_whitespace */
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

int tk_is_bert_whitespace(uint32_t c)
{
    return c == '\t' || c == '\n' || c == '\r' || tk_is_whitespace(c);
}

int tk_is_bert_control(uint32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    /* unicode_categories' is_other: Cc Cf Co Cs (unassigned Cn is kept) */
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
           cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS;
}

int tk_is_bert_punc(uint32_t c)
{
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

int tk_is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int tk_is_mn(uint32_t c)
{
    if (c < 0x300)
        return 0;
    return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN;
}

int tk_is_alnum(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

int tk_is_word_char(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
    if (c == 0x200C || c == 0x200D)
        return 1;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME) ||
           cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_PC;
}

int tk_lower_cp(tk_buf *b, uint32_t c)
{
    if (c < 0x80) {
        char ch = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        return tk_buf_put(b, &ch, 1);
    }
    if (c == 0x130) /* SpecialCasing: the one unconditional multi-char lowercase */
        return tk_buf_put(b, "i\xCC\x87", 3);
    return tk_buf_putcp(b, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
}

int tk_unicode_normalize(const char *s, size_t n, int form, tk_buf *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            break;
    if (i == n) /* ASCII is invariant under every form */
        return tk_buf_put(out, s, n);
    if (n > (size_t)0x3FFFFFFF)
        return rt_error(EMB_ERR_NO_MEMORY, "tokenizer: text too long to normalize"), -1;
    int opt = UTF8PROC_STABLE;
    switch (form) {
    case 'C': opt |= UTF8PROC_COMPOSE; break;
    case 'D': opt |= UTF8PROC_DECOMPOSE; break;
    case 'c': opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    default: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                      (utf8proc_option_t)opt);
    if (r < 0) {
        free(dst);
        return rt_error(EMB_ERR_NO_MEMORY, "tokenizer: unicode normalization failed: %s",
                        utf8proc_errmsg(r)), -1;
    }
    int rc = tk_buf_put(out, dst, (size_t)r);
    free(dst);
    return rc;
}

/* ------------------------------------------------------------- hash maps */

static uint64_t tk_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static size_t tk_table_size(size_t n)
{
    size_t cap = 16;
    while (cap < n * 2 + 1)
        cap *= 2;
    return cap;
}

int tk_strmap_build(tk_strmap *m, const char *bytes, const uint64_t *off, uint32_t n)
{
    size_t cap = tk_table_size(n);
    m->slots = rt_calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return -1;
    m->mask = cap - 1;
    m->bytes = bytes;
    m->off = off;
    for (uint32_t i = 0; i < n; i++) {
        const char *s = bytes + off[i];
        size_t len = (size_t)(off[i + 1] - off[i]);
        size_t h = (size_t)tk_hash_bytes(s, len) & m->mask;
        for (;;) {
            uint32_t v = m->slots[h];
            if (!v) {
                m->slots[h] = i + 1;
                break;
            }
            size_t vlen = (size_t)(off[v] - off[v - 1]);
            if (vlen == len && memcmp(bytes + off[v - 1], s, len) == 0) {
                m->slots[h] = i + 1; /* later entry wins */
                break;
            }
            h = (h + 1) & m->mask;
        }
    }
    return 0;
}

int32_t tk_strmap_get(const tk_strmap *m, const char *s, size_t len)
{
    if (!m->slots)
        return -1;
    size_t h = (size_t)tk_hash_bytes(s, len) & m->mask;
    for (;;) {
        uint32_t v = m->slots[h];
        if (!v)
            return -1;
        size_t vlen = (size_t)(m->off[v] - m->off[v - 1]);
        if (vlen == len && memcmp(m->bytes + m->off[v - 1], s, len) == 0)
            return (int32_t)(v - 1);
        h = (h + 1) & m->mask;
    }
}

void tk_strmap_free(tk_strmap *m)
{
    free(m->slots);
    m->slots = NULL;
}

static uint64_t tk_hash_u64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

int tk_pairmap_build(tk_pairmap *m, const int32_t *triples, uint32_t n)
{
    size_t cap = tk_table_size(n);
    m->keys = rt_calloc(cap, sizeof *m->keys);
    m->rank = rt_alloc(cap, sizeof *m->rank);
    m->merged = rt_alloc(cap, sizeof *m->merged);
    if (!m->keys || !m->rank || !m->merged)
        return -1;
    m->mask = cap - 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key = (((uint64_t)(uint32_t)triples[3 * i] << 32) | (uint32_t)triples[3 * i + 1]) + 1;
        size_t h = (size_t)tk_hash_u64(key) & m->mask;
        while (m->keys[h] && m->keys[h] != key)
            h = (h + 1) & m->mask;
        m->keys[h] = key; /* a repeated pair: the later rank wins, as HF's HashMap collect */
        m->rank[h] = (int32_t)i;
        m->merged[h] = triples[3 * i + 2];
    }
    return 0;
}

int tk_pairmap_get(const tk_pairmap *m, int32_t left, int32_t right, int32_t *rank, int32_t *merged)
{
    if (!m->keys)
        return 0;
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    size_t h = (size_t)tk_hash_u64(key) & m->mask;
    for (;;) {
        uint64_t k = m->keys[h];
        if (!k)
            return 0;
        if (k == key) {
            *rank = m->rank[h];
            *merged = m->merged[h];
            return 1;
        }
        h = (h + 1) & m->mask;
    }
}

void tk_pairmap_free(tk_pairmap *m)
{
    free(m->keys);
    free(m->rank);
    free(m->merged);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ pieces */

int tk_pieces_add(tk_pieces *p, size_t off, size_t len, int32_t id, int at_start)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        tk_piece *v = rt_realloc(p->v, cap, sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n].off = off;
    p->v[p->n].len = len;
    p->v[p->n].id = id;
    p->v[p->n].at_start = (uint8_t)(at_start != 0);
    p->n++;
    return 0;
}

int tk_pieces_add_text(tk_pieces *p, const char *s, size_t len, int at_start)
{
    size_t off = p->text.n;
    if (tk_buf_put(&p->text, s, len))
        return -1;
    return tk_pieces_add(p, off, len, -1, at_start);
}

void tk_pieces_reset(tk_pieces *p)
{
    p->n = 0;
    p->text.n = 0;
}

void tk_pieces_free(tk_pieces *p)
{
    free(p->v);
    tk_buf_free(&p->text);
    memset(p, 0, sizeof *p);
}

int tk_ids_push(tok_ids *o, int32_t id)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        int32_t *v = rt_realloc(o->ids, cap, sizeof *v);
        if (!v)
            return -1;
        o->ids = v;
        o->cap = cap;
    }
    o->ids[o->n++] = id;
    return 0;
}
