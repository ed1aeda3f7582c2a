/* The added vocabulary, as HF tokenizers' tokenizer/added_vocabulary.rs:
 * leftmost-longest matching of the added tokens' contents (a byte trie stands
 * in for aho-corasick LeftmostLongest), with single_word, lstrip and rstrip.
 * A skipped single_word match is consumed like aho-corasick's iterator does:
 * the search resumes after it. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

static int32_t tk_trie_new(tk_trie *t, unsigned char byte)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        tk_trie_node *v = rt_realloc(t->nodes, cap, sizeof *v);
        if (!v)
            return -1;
        t->nodes = v;
        t->cap = cap;
    }
    t->nodes[t->n] = (tk_trie_node){-1, -1, -1, byte};
    return (int32_t)t->n++;
}

static int32_t tk_trie_child(const tk_trie *t, int32_t node, unsigned char byte)
{
    if (node == 0)
        return t->root[byte];
    for (int32_t c = t->nodes[node].first_child; c >= 0; c = t->nodes[c].next_sibling)
        if (t->nodes[c].byte == byte)
            return c;
    return -1;
}

int tk_trie_insert(tk_trie *t, const char *s, size_t n, int32_t tok)
{
    if (n == 0)
        return 0;
    if (t->n == 0) {
        if (tk_trie_new(t, 0) < 0)
            return -1;
        for (int k = 0; k < 256; k++)
            t->root[k] = -1;
    }
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        int32_t c = tk_trie_child(t, node, b);
        if (c < 0) {
            c = tk_trie_new(t, b);
            if (c < 0)
                return -1;
            t->nodes[c].next_sibling = t->nodes[node].first_child;
            t->nodes[node].first_child = c;
            if (node == 0)
                t->root[b] = c;
        }
        node = c;
    }
    if (t->nodes[node].token < 0)
        t->nodes[node].token = tok;
    return 0;
}

/* Longest token starting at s[i]: returns its end and sets *tok, or 0. */
static size_t tk_trie_longest(const tk_trie *t, const char *s, size_t n, size_t i, int32_t *tok)
{
    int32_t node = 0;
    size_t best = 0;
    for (size_t j = i; j < n; j++) {
        node = tk_trie_child(t, node, (unsigned char)s[j]);
        if (node < 0)
            break;
        if (t->nodes[node].token >= 0) {
            best = j + 1;
            *tok = t->nodes[node].token;
        }
    }
    return best;
}

static uint32_t tk_last_cp(const char *s, size_t n)
{
    size_t j = n - 1;
    while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
        j--;
    uint32_t c;
    tok_utf8_next(s + j, n - j, &c);
    return c;
}

emb_status tk_added_split(const tok_tokenizer *t, const tk_trie *trie, const char *s, size_t n,
                          int at_start, tk_pieces *out)
{
    size_t start_off = 0, pos = 0;
    if (trie->n == 0 || n == 0) {
        if (n && tk_pieces_add_text(out, s, n, at_start))
            return EMB_ERR_NO_MEMORY;
        return EMB_OK;
    }
    while (pos < n) {
        int32_t tok = -1;
        size_t stop = tk_trie_longest(trie, s, n, pos, &tok);
        if (!stop) {
            pos++;
            continue;
        }
        size_t start = pos;
        pos = stop; /* the matcher resumes after this match whatever happens */
        const tok_added *a = &t->spec.added[tok];
        if (a->single_word) {
            uint32_t c;
            int start_space = start == 0 || !tk_is_word_char(tk_last_cp(s, start));
            int stop_space = stop == n || (tok_utf8_next(s + stop, n - stop, &c), !tk_is_word_char(c));
            if (!start_space || !stop_space)
                continue;
        }
        if (a->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t j = ns - 1;
                while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
                    j--;
                uint32_t c;
                tok_utf8_next(s + j, ns - j, &c);
                if (!tk_is_whitespace(c))
                    break;
                ns = j;
            }
            start = ns > start_off ? ns : start_off;
        }
        if (a->rstrip) {
            while (stop < n) {
                uint32_t c;
                size_t k = tok_utf8_next(s + stop, n - stop, &c);
                if (!tk_is_whitespace(c))
                    break;
                stop += k;
            }
        }
        if (stop > pos)
            pos = stop;
        if (start_off < start &&
            tk_pieces_add_text(out, s + start_off, start - start_off, at_start && start_off == 0))
            return EMB_ERR_NO_MEMORY;
        if (tk_pieces_add(out, 0, 0, a->id, 0))
            return EMB_ERR_NO_MEMORY;
        start_off = stop;
    }
    if (start_off < n &&
        tk_pieces_add_text(out, s + start_off, n - start_off, at_start && start_off == 0))
        return EMB_ERR_NO_MEMORY;
    return EMB_OK;
}
