/* The input policy: which prompt goes in front of a text, the template
 * around it, and the strip rule — the string the tokenizer then sees.
 * sentence-transformers up to 5.3 built (prompt + text).strip() with
 * Python's str.strip(), 5.4 and later use it as is; the model file's
 * `strip` flag says which (the converter's default: as is). */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "api/api.h"
#include "runtime/runtime.h"

/* Python's str.isspace(): bidirectional class WS, B or S, or category Zs. */
int api_py_isspace(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 ||
           cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Length of the code point that ends at s[end-1]. */
static size_t utf8_before(const unsigned char *s, size_t end)
{
    size_t k = 1;
    while (k < end && k < 4 && (s[end - k] & 0xc0) == 0x80)
        k++;
    return k;
}

static void py_strip(const char *s, size_t len, size_t *begin, size_t *end)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t b = 0, e = len;
    uint32_t cp;
    while (b < e) {
        size_t k = tok_utf8_next(s + b, e - b, &cp);
        if (!api_py_isspace(cp))
            break;
        b += k;
    }
    while (e > b) {
        size_t k = utf8_before(u, e);
        tok_utf8_next(s + e - k, k, &cp);
        if (!api_py_isspace(cp))
            break;
        e -= k;
    }
    *begin = b;
    *end = e;
}

/* Python's str.lower() for sentence-transformers' do_lower_case: simple
 * per-code-point lowercase (utf8proc), plus U+0130 -> "i\u0307" as Python
 * does; a lowercase code point never needs more than 4 bytes, and U+0130
 * (2 bytes) becomes 3, so the result needs at most 1.5x the input. */
static emb_status py_lower(char **buf, size_t *n)
{
    char *out = rt_alloc(*n + *n / 2 + 1, 1);
    if (!out)
        return EMB_ERR_NO_MEMORY;
    size_t o = 0;
    for (size_t i = 0; i < *n;) {
        uint32_t cp;
        i += tok_utf8_next(*buf + i, *n - i, &cp);
        if (cp == 0x130) {
            memcpy(out + o, "i\xcc\x87", 3);
            o += 3;
            continue;
        }
        utf8proc_int32_t lo = utf8proc_tolower((utf8proc_int32_t)cp);
        o += (size_t)utf8proc_encode_char(lo, (utf8proc_uint8_t *)out + o);
    }
    out[o] = '\0';
    free(*buf);
    *buf = out;
    *n = o;
    return EMB_OK;
}

static const char *model_prompt(const emb_model *m, emb_kind kind)
{
    const fmt_policy *p = &m->file.pol;
    switch (kind) {
    case EMB_KIND_QUERY: return p->prompt_query;
    case EMB_KIND_PASSAGE: return p->prompt_passage;
    default: return p->prompt_default;
    }
}

emb_status api_build_input(const emb_model *m, emb_kind kind, const char *prompt,
                           size_t prompt_len, const char *text, size_t len, char **out,
                           size_t *out_len)
{
    *out = NULL;
    if (!prompt) {
        prompt = model_prompt(m, kind);
        prompt_len = prompt ? strlen(prompt) : 0;
    }
    const char *tmpl = m->file.pol.template_;
    const char *hole = tmpl ? strstr(tmpl, "{text}") : NULL;
    size_t pre = hole ? (size_t)(hole - tmpl) : 0;
    size_t post = hole ? strlen(hole + 6) : 0;
    size_t total;
    if (rt_add_overflow(prompt_len, len, &total) || rt_add_overflow(total, pre + post, &total))
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "text too long");
    char *buf = rt_alloc(total + 1, 1);
    if (!buf)
        return EMB_ERR_NO_MEMORY;
    size_t n = 0;
    if (pre)
        memcpy(buf + n, tmpl, pre), n += pre;
    if (prompt_len)
        memcpy(buf + n, prompt, prompt_len), n += prompt_len;
    if (len)
        memcpy(buf + n, text, len), n += len;
    if (post)
        memcpy(buf + n, hole + 6, post), n += post;
    buf[n] = '\0';
    /* valid UTF-8 without a check here: the text and an explicit prompt were
     * checked by emb_encode / emb_tokenize, the model file's prompts and
     * template by fmt_load, and the template is cut at an ASCII "{text}".
     * Were it not, the decoding below still never reads past the buffer. */
    if (m->file.pol.strip) {
        size_t b, e;
        py_strip(buf, n, &b, &e);
        memmove(buf, buf + b, e - b);
        n = e - b;
        buf[n] = '\0';
    }
    if (m->file.pol.lowercase) {
        emb_status st = py_lower(&buf, &n);
        if (st != EMB_OK) {
            free(buf);
            return st;
        }
    }
    *out = buf;
    *out_len = n;
    return EMB_OK;
}

/* Whether id is one of the tokenizer's special tokens (transformers'
 * all_special_ids: the added tokens marked special, and the ids the
 * post-processor puts around a sequence). */
static int is_special_id(const tok_spec *t, int32_t id)
{
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].id == id && t->added[i].special)
            return 1;
    for (size_t i = 0; i < t->n_prefix; i++)
        if (t->prefix_ids[i] == id)
            return 1;
    for (size_t i = 0; i < t->n_suffix; i++)
        if (t->suffix_ids[i] == id)
            return 1;
    return 0;
}

emb_status api_prompt_skip(const emb_model *m, emb_kind kind, const char *prompt,
                           size_t prompt_len, size_t *skip)
{
    *skip = 0;
    if (m->file.pol.include_prompt || m->file.pol.template_)
        return EMB_OK;
    if (!prompt) {
        prompt = model_prompt(m, kind);
        prompt_len = prompt ? strlen(prompt) : 0;
    }
    if (!prompt_len) /* no prompt (an empty one is none, as Python's `if prompt`) */
        return EMB_OK;
    /* as sentence-transformers' Transformer._get_prompt_length: the prompt
     * tokenized alone as the model's input (policy, specials, truncation),
     * without its last token when that one is special */
    char *input = NULL;
    size_t input_len = 0;
    tok_ids ids = { 0 };
    emb_status st;
    RT_TRY_GOTO(st, api_build_input(m, kind, prompt, prompt_len, "", 0, &input, &input_len), done);
    RT_TRY_GOTO(st, tok_encode(m->tok, input, input_len, 1, m->max_tokens, &ids), done);
    *skip = ids.n && is_special_id(&m->file.tok, ids.ids[ids.n - 1]) ? ids.n - 1 : ids.n;
done:
    free(ids.ids);
    free(input);
    return st;
}
