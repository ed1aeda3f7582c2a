/* Header-only helpers shared by the tokenizer tests (test_wordpiece.c,
 * test_bpe.c, test_unigram.c): load an HF tokenizer folder through the
 * converter, compare ids with the reference files, report the first
 * differing index. Included by exactly one translation unit per program. */
#ifndef EMB_TOK_GOLDEN_H
#define EMB_TOK_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "convert/convert.h"
#include "runtime/runtime.h"
#include "tokenizer/tokenizer.h"

#define TG_TEXTS "tests/fixtures/tokenizers/texts.jsonl"

static inline tok_tokenizer *tg_load(const char *dir)
{
    tok_spec spec;
    emb_status rc = cv_read_tokenizer(dir, &spec);
    if (rc != EMB_OK) {
        print_error("cv_read_tokenizer(%s): %d %s\n", dir, (int)rc, rt_last_error());
        fail();
    }
    tok_tokenizer *t = NULL;
    rc = tok_create(&spec, &t);
    tok_spec_free(&spec);
    if (rc != EMB_OK) {
        print_error("tok_create(%s): %d %s\n", dir, (int)rc, rt_last_error());
        fail();
    }
    return t;
}

/* Compare got[0..n) with the JSON array `want`; on mismatch print the label,
 * the first differing index and the ids around it; returns 1 if equal. */
static inline int tg_same(const char *label, const int32_t *got, size_t n, json_t *want, json_t *tokens)
{
    size_t m = json_array_size(want);
    size_t i = 0;
    while (i < n && i < m && got[i] == (int32_t)json_integer_value(json_array_get(want, i)))
        i++;
    if (i == n && i == m)
        return 1;
    print_error("%s: first difference at index %zu (got %zu ids, expected %zu)\n", label, i, n, m);
    size_t a = i > 3 ? i - 3 : 0;
    print_error("   got:     ");
    for (size_t k = a; k < n && k < i + 4; k++)
        print_error(" %d", got[k]);
    print_error("\n   expected:");
    for (size_t k = a; k < m && k < i + 4; k++) {
        const char *tk = json_string_value(json_array_get(tokens, k));
        print_error(" %d", (int)json_integer_value(json_array_get(want, k)));
        if (tk)
            print_error("(%s)", tk);
    }
    print_error("\n");
    return 0;
}

/* Every text of texts.jsonl against NAME/expected.jsonl (`ids` with the
 * specials, `ids_no_special` without). */
static inline void tg_check_expected(const tok_tokenizer *t, const char *expected_path)
{
    json_t *texts = tu_read_jsonl(TG_TEXTS);
    json_t *exp = tu_read_jsonl(expected_path);
    assert_int_equal(json_array_size(texts), json_array_size(exp));
    assert_true(json_array_size(texts) > 100);
    tok_ids ids = {0};
    int bad = 0;
    for (size_t i = 0; i < json_array_size(texts); i++) {
        json_t *tx = json_object_get(json_array_get(texts, i), "text");
        json_t *e = json_array_get(exp, i);
        char label[512];
        for (int spec = 1; spec >= 0; spec--) {
            emb_status rc = tok_encode(t, json_string_value(tx), json_string_length(tx), spec, 0, &ids);
            snprintf(label, sizeof label, "%s text %zu (%s)", expected_path, i, spec ? "ids" : "ids_no_special");
            if (rc != EMB_OK) {
                print_error("%s: tok_encode failed: %s\n", label, rt_last_error());
                bad++;
                continue;
            }
            if (!tg_same(label, ids.ids, ids.n, json_object_get(e, spec ? "ids" : "ids_no_special"),
                         spec ? json_object_get(e, "tokens") : NULL))
                bad++;
        }
    }
    free(ids.ids);
    json_decref(texts);
    json_decref(exp);
    if (bad)
        print_error("%s: %d mismatches\n", expected_path, bad);
    assert_int_equal(bad, 0);
}

/* llama.cpp's .inp/.out pairs, compared without specials (see llamacpp/README.md) */
static inline void tg_check_llamacpp(const tok_tokenizer *t, const char *prefix)
{
    char path[512];
    size_t ilen, olen;
    snprintf(path, sizeof path, "tests/fixtures/tokenizers/llamacpp/%s.inp", prefix);
    char *inp = tu_read_file(path, &ilen);
    snprintf(path, sizeof path, "tests/fixtures/tokenizers/llamacpp/%s.out", prefix);
    char *out = tu_read_file(path, &olen);
    assert_non_null(inp);
    assert_non_null(out);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t seplen = sizeof sep - 1;
    char *p = inp, *o = out;
    int n_tests = 0, bad = 0;
    tok_ids ids = {0};
    int32_t *want = malloc(100000 * sizeof *want);
    assert_non_null(want);
    while (p < inp + ilen) {
        char *e = memmem(p, (size_t)(inp + ilen - p), sep, seplen);
        assert_non_null(e);
        char *ol = memchr(o, '\n', (size_t)(out + olen - o));
        assert_non_null(ol);
        *ol = 0;
        size_t nw = 0;
        for (char *q = o; *q;) {
            while (*q == ' ')
                q++;
            if (!*q)
                break;
            want[nw++] = (int32_t)strtol(q, &q, 10);
        }
        assert_int_equal(tok_encode(t, p, (size_t)(e - p), 0, 0, &ids), EMB_OK);
        size_t i = 0;
        while (i < ids.n && i < nw && ids.ids[i] == want[i])
            i++;
        if (i != ids.n || i != nw) {
            print_error("%s test %d: first difference at index %zu (got %zu ids, expected %zu): got %d expected %d\n",
                        prefix, n_tests, i, ids.n, nw, i < ids.n ? ids.ids[i] : -1, i < nw ? want[i] : -1);
            bad++;
        }
        n_tests++;
        p = e + seplen;
        o = ol + 1;
    }
    free(want);
    free(ids.ids);
    free(inp);
    free(out);
    assert_int_equal(n_tests, 46);
    assert_int_equal(bad, 0);
}

/* A model fixture's golden/cases.jsonl: `input` encoded with specials and
 * cut to the longest golden case must give `ids`. */
static inline void tg_check_cases(const tok_tokenizer *t, const char *cases_path, size_t max_tokens)
{
    json_t *cases = tu_read_jsonl(cases_path);
    assert_true(json_array_size(cases) > 0);
    tok_ids ids = {0};
    int bad = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        json_t *in = json_object_get(c, "input");
        assert_true(json_is_string(in));
        assert_int_equal(tok_encode(t, json_string_value(in), json_string_length(in), 1, max_tokens, &ids), EMB_OK);
        char label[400];
        snprintf(label, sizeof label, "%.300s case %zu", cases_path, i);
        if (!tg_same(label, ids.ids, ids.n, json_object_get(c, "ids"), NULL))
            bad++;
    }
    free(ids.ids);
    json_decref(cases);
    assert_int_equal(bad, 0);
}

/* Random texts (valid UTF-8 from a mix of ASCII, whitespace, controls,
 * combining marks, CJK, emoji, noncharacters; and random bytes): encode must
 * succeed on valid text, refuse invalid text with EMB_ERR_INVALID_UTF8, and
 * return only ids below tok_vocab_size. Deterministic (xorshift). */
static inline void tg_fuzz(const tok_tokenizer *t, uint64_t seed, int rounds)
{
    static const uint32_t pool[] = {' ', '\t', '\n', '\r', 0, 0x85, 0xA0, 0x300, 0x301, 0x1F600, 0x200D,
                                    0x4E00, 0x3042, 0xFFFD, 0xFDD0, 0xE000, 0x130, 0x2581, 0xAC00, 0x0E01,
                                    '<', '>', '[', ']', '|', '\'', '#', '0', '7', 's', 'A', 'z', 0xE9, 0x10FFFF};
    char buf[600];
    tok_ids ids = {0};
    size_t vs = tok_vocab_size(t);
    uint64_t x = seed | 1;
    for (int r = 0; r < rounds; r++) {
        size_t n = 0;
        int raw = r % 5 == 4;
        size_t len = (size_t)(x % 120);
        for (size_t i = 0; i < len && n + 4 < sizeof buf; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            if (raw) {
                buf[n++] = (char)(x & 0xFF);
                continue;
            }
            uint32_t c = (x >> 8) % 3 ? pool[(x >> 16) % (sizeof pool / sizeof *pool)]
                                      : (uint32_t)(0x20 + (x >> 20) % 0x2FF0);
            if (c >= 0xD800 && c <= 0xDFFF)
                c = 'x';
            if (c < 0x80) buf[n++] = (char)c;
            else if (c < 0x800) { buf[n++] = (char)(0xC0 | (c >> 6)); buf[n++] = (char)(0x80 | (c & 0x3F)); }
            else if (c < 0x10000) { buf[n++] = (char)(0xE0 | (c >> 12)); buf[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
                                    buf[n++] = (char)(0x80 | (c & 0x3F)); }
            else { buf[n++] = (char)(0xF0 | (c >> 18)); buf[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
                   buf[n++] = (char)(0x80 | ((c >> 6) & 0x3F)); buf[n++] = (char)(0x80 | (c & 0x3F)); }
        }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        emb_status rc = tok_encode(t, buf, n, (int)(x & 1), (x >> 1) % 4 ? 0 : 8, &ids);
        if (tok_utf8_valid(buf, n)) {
            if (rc != EMB_OK)
                print_error("fuzz round %d: %s\n", r, rt_last_error());
            assert_int_equal(rc, EMB_OK);
            for (size_t i = 0; i < ids.n; i++)
                assert_true(ids.ids[i] >= 0 && (size_t)ids.ids[i] < vs);
        } else {
            assert_int_equal(rc, EMB_ERR_INVALID_UTF8);
        }
    }
    free(ids.ids);
}

#endif
