/* emb serve's JSON: a POST /v1/embeddings body checked into srv_params
 * (every refusal an OpenAI-shaped srv_error naming the parameter), and the
 * response body written from the vectors (floats with 9 significant digits,
 * or base64 of little-endian float32). See docs/server.md. */
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/serve.h"

int srv_fail(srv_error *e, unsigned status, const char *param, const char *code,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->status = status;
    e->param = param;
    e->code = code;
    return -1;
}

/* ------------------------------------------------------------- request */

void srv_params_free(srv_params *p)
{
    free(p->texts);
    free(p->ids);
    free(p->n_ids);
    free(p->id_store);
}

/* An "input" holding token ids (OpenAI's token-array form): one array of
 * integers, or an array of such arrays. Checked here so that a bad request
 * gets a 400 that names the item; the library checks the vocabulary. The
 * ids are used as given: no prompt, no special tokens, no truncation. */
static int read_token_input(const srv_state *s, json_t *input, srv_params *p, srv_error *e)
{
    const char *msg = "'input' must be a string, an array of strings, an array of token ids "
                      "or an array of token-id arrays";
    int flat = json_is_integer(json_array_get(input, 0));
    size_t n = flat ? 1 : json_array_size(input), total = 0;
    size_t max_tokens = emb_model_max_tokens(s->model);
    for (size_t i = 0; i < n; i++) {
        json_t *seq = flat ? input : json_array_get(input, i);
        if (!json_is_array(seq))
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type", "%s ('input[%zu]' is "
                            "not an array of token ids)", msg, i);
        size_t len = json_array_size(seq);
        if (len == 0)
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_value",
                            "'input[%zu]' is an empty token array", i);
        for (size_t k = 0; k < len; k++) {
            json_t *id = json_array_get(seq, k);
            char where[64];
            if (flat)
                snprintf(where, sizeof where, "input[%zu]", k);
            else
                snprintf(where, sizeof where, "input[%zu][%zu]", i, k);
            if (!json_is_integer(id))
                return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type",
                                "%s ('%s' is not an integer)", msg, where);
            json_int_t v = json_integer_value(id);
            if (v < 0 || v > INT32_MAX)
                return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_value",
                                "token id %" JSON_INTEGER_FORMAT " at '%s' is outside the model's "
                                "vocabulary", v, where);
        }
        if (max_tokens && len > max_tokens)
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "context_length_exceeded",
                            "'input[%zu]' has %zu tokens; this model accepts at most %zu. Token "
                            "arrays are used as given and cannot be truncated: shorten them", i,
                            len, max_tokens);
        total += len; /* no overflow: bounded by the body size */
    }
    p->ids = malloc(n * sizeof *p->ids);
    p->n_ids = malloc(n * sizeof *p->n_ids);
    p->id_store = malloc(total * sizeof *p->id_store);
    if (!p->ids || !p->n_ids || !p->id_store)
        return srv_fail(e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *seq = flat ? input : json_array_get(input, i);
        size_t len = json_array_size(seq);
        p->ids[i] = p->id_store + at;
        p->n_ids[i] = len;
        for (size_t k = 0; k < len; k++)
            p->id_store[at++] = (int32_t)json_integer_value(json_array_get(seq, k));
    }
    p->n = n;
    return 0;
}

/* The texts of "input" into p->texts (or its token ids, see read_token_input). */
static int read_input(const srv_state *s, json_t *input, srv_params *p, srv_error *e)
{
    const char *msg = "'input' must be a string, an array of strings, an array of token ids "
                      "or an array of token-id arrays";
    if (!input || json_is_null(input))
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "missing_required_parameter",
                        "'input' is required: a string or an array of strings");
    if (!json_is_string(input) && !json_is_array(input))
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type", "%s", msg);
    size_t n = json_is_string(input) ? 1 : json_array_size(input);
    if (n == 0)
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_value",
                        "'input' must not be an empty array");
    json_t *first = json_is_array(input) ? json_array_get(input, 0) : NULL;
    if (json_is_integer(first) || json_is_array(first)) {
        if (json_is_array(first) && n > s->max_inputs)
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "too_many_inputs",
                            "'input' has %zu items; this server accepts at most %zu (--max-inputs)",
                            n, s->max_inputs);
        return read_token_input(s, input, p, e);
    }
    if (n > s->max_inputs)
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "too_many_inputs",
                        "'input' has %zu items; this server accepts at most %zu (--max-inputs)", n,
                        s->max_inputs);
    for (size_t i = 0; json_is_array(input) && i < n; i++) {
        if (!json_is_string(json_array_get(input, i)))
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type",
                            "'input[%zu]' must be a string (an array mixes strings and token ids, "
                            "or holds another type)", i);
    }
    p->texts = malloc(n * sizeof *p->texts);
    if (!p->texts)
        return srv_fail(e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_is_string(input) ? input : json_array_get(input, i);
        p->texts[i].data = json_string_value(item);
        p->texts[i].len = json_string_length(item);
    }
    p->n = n;
    return 0;
}

int srv_read_params(const srv_state *s, json_t *root, srv_params *p, srv_error *e)
{
    memset(p, 0, sizeof *p);
    p->keep = s->dim;
    emb_encode_options_init(&p->opts);
    p->opts.kind = s->kind;
    if (!json_is_object(root))
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, NULL, "invalid_json",
                        "the request body must be a JSON object");
    json_t *model = json_object_get(root, "model");
    if (model && !json_is_null(model) && !json_is_string(model))
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, "model", "invalid_type",
                        "'model' must be a string");
    json_t *fmt = json_object_get(root, "encoding_format");
    if (fmt && !json_is_null(fmt)) {
        const char *f = json_string_value(fmt);
        if (!f || (strcmp(f, "float") != 0 && strcmp(f, "base64") != 0))
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "encoding_format", "invalid_value",
                            "'encoding_format' must be \"float\" or \"base64\"");
        p->base64 = !strcmp(f, "base64");
    }
    json_t *dims = json_object_get(root, "dimensions");
    if (dims && !json_is_null(dims)) {
        json_int_t d = json_is_integer(dims) ? json_integer_value(dims) : 0;
        if (d < 1 || (unsigned long long)d > (unsigned long long)s->dim)
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "dimensions", "invalid_value",
                            "'dimensions' must be an integer from 1 to %zu (the model's dimension)",
                            s->dim);
        p->keep = (size_t)d;
    }
    json_t *kind = json_object_get(root, "kind");
    if (kind && !json_is_null(kind) &&
        (!json_is_string(kind) || embn_kind_parse(json_string_value(kind), &p->opts.kind) != 0))
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, "kind", "invalid_value",
                        "'kind' must be \"query\", \"passage\" (or \"document\") or \"none\"");
    json_t *prompt = json_object_get(root, "prompt");
    if (prompt && !json_is_null(prompt)) {
        if (!json_is_string(prompt))
            return srv_fail(e, MHD_HTTP_BAD_REQUEST, "prompt", "invalid_type",
                            "'prompt' must be a string");
        p->opts.prompt = json_string_value(prompt);
        p->opts.prompt_len = json_string_length(prompt);
    }
    if (read_input(s, json_object_get(root, "input"), p, e) != 0)
        return -1;
    /* token ids are used as given: a prompt cannot be put in front of them
     * (the server's --kind does not apply to them either) */
    if (p->ids && ((kind && !json_is_null(kind)) || p->opts.prompt))
        return srv_fail(e, MHD_HTTP_BAD_REQUEST, p->opts.prompt ? "prompt" : "kind",
                        "invalid_value", "'%s' cannot be applied to token-id input: the ids are "
                        "used as given (tokenize the text with its prompt first)",
                        p->opts.prompt ? "prompt" : "kind");
    return 0;
}

/* ------------------------------------------------------------ response */

/* A growable output buffer; `failed` is sticky after an allocation failure. */
typedef struct srv_buf {
    char *p;
    size_t len, cap;
    int failed;
} srv_buf;

static void buf_put(srv_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void buf_puts(srv_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

/* 9 significant digits: enough for every float32 to read back exactly (also
 * through a double), as `emb embed` prints them. */
static void buf_floats(srv_buf *b, const float *v, size_t n)
{
    char num[32];
    buf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(num, sizeof num, i ? ",%.9g" : "%.9g", (double)v[i]);
        buf_put(b, num, (size_t)k);
    }
    buf_put(b, "]", 1);
}

/* A JSON string holding the base64 of the floats as little-endian float32. */
static void buf_base64_floats(srv_buf *b, const float *v, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    buf_put(b, "\"", 1);
    uint32_t acc = 0;
    int bits = 0;
    char chunk[64];
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        for (int k = 0; k < 4; k++) {
            acc = (acc << 8) | ((u >> (8 * k)) & 0xffu);
            bits += 8;
            while (bits >= 6) {
                bits -= 6;
                chunk[c++] = tbl[(acc >> bits) & 0x3fu];
            }
            acc &= (1u << bits) - 1u;
            if (c > sizeof chunk - 8) {
                buf_put(b, chunk, c);
                c = 0;
            }
        }
    }
    if (bits > 0) {
        chunk[c++] = tbl[(acc << (6 - bits)) & 0x3fu];
        chunk[c++] = '=';
        if (bits == 2)
            chunk[c++] = '=';
    }
    buf_put(b, chunk, c);
    buf_put(b, "\"", 1);
}

char *srv_embeddings_body(const srv_state *s, const srv_params *p, const float *vec,
                          size_t tokens, size_t *len)
{
    srv_buf b = { 0 };
    char num[96];
    buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < p->n; i++) {
        snprintf(num, sizeof num, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":",
                 i ? "," : "", i);
        buf_puts(&b, num);
        if (p->base64)
            buf_base64_floats(&b, vec + i * s->dim, p->keep);
        else
            buf_floats(&b, vec + i * s->dim, p->keep);
        buf_put(&b, "}", 1);
    }
    buf_puts(&b, "],\"model\":");
    buf_puts(&b, s->model_id_json);
    snprintf(num, sizeof num, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", tokens,
             tokens);
    buf_puts(&b, num);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
