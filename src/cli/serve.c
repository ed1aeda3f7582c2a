/* emb serve -m MODEL.h5 [--host H] [--port N] [--compute f32|bf16] ...: an OpenAI-compatible
 * embeddings endpoint (POST /v1/embeddings, GET /v1/models, GET /health).
 *
 * HTTP is libmicrohttpd's (one thread per connection); JSON is jansson's.
 * Handler threads parse and check a request, count its tokens, then hand
 * its texts to one batching worker and sleep: the worker takes every
 * request that is waiting, encodes the texts of those that share the same
 * options in ONE emb_encode() call (token-id inputs, OpenAI's other form of
 * "input", in one emb_encode_tokens() call, the ids used as given) and
 * wakes their handlers. A text's vector
 * never depends on its batch (libemb's guarantee), so every vector is
 * bitwise the one that emb_encode() gives for that text alone. See
 * docs/server.md. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define SRV_MAX_CONNECTIONS 256u
#define SRV_TIMEOUT_SECONDS 60u
#define SRV_DRAIN_SECONDS 30      /* at shutdown, for the requests in flight */
#define SRV_BATCH_JOBS 256        /* requests per worker round at most */
#define SRV_BATCH_TEXTS 4096      /* texts per worker round (a request is never split) */

/* ------------------------------------------------------------ batching */

/* One request's texts (or token-id sequences), waiting for the worker.
 * Owned by the handler thread (on its stack); the worker writes
 * out/status/message and then done. */
typedef struct srv_job {
    const emb_text *texts;    /* n texts, or NULL when `ids` is set */
    const int32_t *const *ids; /* n token-id sequences (emb_encode_tokens) */
    const size_t *n_ids;
    size_t n;
    emb_encode_options opts;
    float *out;               /* n * dim floats */
    emb_status status;
    char message[256];
    int done;
    struct srv_job *next;
} srv_job;

typedef struct srv_queue {
    pthread_mutex_t mu;
    pthread_cond_t work;      /* worker: jobs arrived or stopping */
    pthread_cond_t done;      /* handlers: some job finished */
    srv_job *head, *tail;
    int stopping;
    const emb_model *model;
    size_t dim;
} srv_queue;

/* Whether two jobs can share one encode call: token-id jobs with each
 * other (no options apply to them), text jobs with identical options. */
static int same_group(const srv_job *x, const srv_job *y)
{
    const emb_encode_options *a = &x->opts, *b = &y->opts;
    if (!x->ids != !y->ids)
        return 0;
    if (x->ids)
        return 1;
    if (a->kind != b->kind || a->truncate != b->truncate || !a->prompt != !b->prompt)
        return 0;
    return !a->prompt || (a->prompt_len == b->prompt_len &&
                          memcmp(a->prompt, b->prompt, a->prompt_len) == 0);
}

static void encode_alone(srv_queue *q, srv_job *job)
{
    if (job->ids)
        job->status = emb_encode_tokens(q->model, job->ids, job->n_ids, job->n, job->out);
    else
        job->status = emb_encode(q->model, job->texts, job->n, &job->opts, job->out);
    if (job->status != EMB_OK)
        snprintf(job->message, sizeof job->message, "%s", emb_last_error());
}

/* Encode jobs[0..n) (one group, see same_group) in one emb_encode() or
 * emb_encode_tokens() call. If that call fails, each job is encoded on its
 * own, so that one bad request does not fail the others. */
static void encode_group(srv_queue *q, srv_job **jobs, size_t n)
{
    if (n == 1) {
        encode_alone(q, jobs[0]);
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += jobs[i]->n; /* bounded: SRV_BATCH_JOBS requests of --max-inputs texts */
    int tokens = jobs[0]->ids != NULL;
    emb_text *texts = tokens ? NULL : malloc(total * sizeof *texts);
    const int32_t **ids = tokens ? malloc(total * sizeof *ids) : NULL;
    size_t *n_ids = tokens ? malloc(total * sizeof *n_ids) : NULL;
    float *out = malloc(total * q->dim * sizeof *out);
    emb_status st = EMB_ERR_NO_MEMORY;
    if (tokens && ids && n_ids && out) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(ids + k, jobs[i]->ids, jobs[i]->n * sizeof *ids);
            memcpy(n_ids + k, jobs[i]->n_ids, jobs[i]->n * sizeof *n_ids);
            k += jobs[i]->n;
        }
        st = emb_encode_tokens(q->model, ids, n_ids, total, out);
    } else if (!tokens && texts && out) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(texts + k, jobs[i]->texts, jobs[i]->n * sizeof *texts);
            k += jobs[i]->n;
        }
        st = emb_encode(q->model, texts, total, &jobs[0]->opts, out);
    }
    if (st == EMB_OK) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(jobs[i]->out, out + k * q->dim, jobs[i]->n * q->dim * sizeof *out);
            jobs[i]->status = EMB_OK;
            k += jobs[i]->n;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            encode_alone(q, jobs[i]);
    }
    free(texts);
    free(ids);
    free(n_ids);
    free(out);
}

static void *worker_main(void *arg)
{
    srv_queue *q = arg;
    srv_job *batch[SRV_BATCH_JOBS], *group[SRV_BATCH_JOBS];
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->work, &q->mu);
        if (!q->head)
            break;
        /* take every waiting request, up to the round's limits */
        size_t n = 0, texts = 0;
        while (q->head && n < SRV_BATCH_JOBS && (n == 0 || texts + q->head->n <= SRV_BATCH_TEXTS)) {
            batch[n++] = q->head;
            texts += q->head->n;
            q->head = q->head->next;
        }
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->mu);

        /* one encode call per group: token-id jobs, and texts with identical options */
        for (size_t i = 0; i < n; i++) {
            if (!batch[i])
                continue;
            size_t g = 0;
            group[g++] = batch[i];
            for (size_t j = i + 1; j < n; j++) {
                if (batch[j] && same_group(batch[i], batch[j])) {
                    group[g++] = batch[j];
                    batch[j] = NULL;
                }
            }
            batch[i] = NULL;
            encode_group(q, group, g);
            pthread_mutex_lock(&q->mu);
            for (size_t j = 0; j < g; j++)
                group[j]->done = 1;
            pthread_cond_broadcast(&q->done);
            pthread_mutex_unlock(&q->mu);
        }
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* Queue a job and wait until the worker has encoded it. */
static void queue_run(srv_queue *q, srv_job *job)
{
    job->done = 0;
    job->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    pthread_cond_signal(&q->work);
    while (!job->done)
        pthread_cond_wait(&q->done, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

/* ------------------------------------------------------------- output */

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

/* --------------------------------------------------------------- server */

typedef struct srv_state {
    emb_model *model;
    size_t dim;
    char *model_id_json;      /* the served model's id as a JSON string literal */
    const char *model_id;
    emb_kind kind;            /* --kind */
    int free_kind;            /* a kind without a model prompt, or -1 (token counts) */
    size_t max_body, max_inputs;
    long long created;
    srv_queue queue;
    pthread_mutex_t active_mu;
    size_t active;            /* requests begun and not completed (for shutdown) */
} srv_state;

typedef enum srv_route {
    ROUTE_EMBEDDINGS,
    ROUTE_MODELS,
    ROUTE_MODEL,              /* /v1/models/{id} */
    ROUTE_HEALTH,
    ROUTE_NOT_FOUND,
    ROUTE_BAD_METHOD
} srv_route;

/* Per-request state kept by libmicrohttpd between calls of the handler. */
typedef struct srv_request {
    srv_route route;
    const char *allow;        /* Allow header of a 405 */
    char *body;
    size_t len, cap;
    int too_large;
} srv_request;

/* An error answer in the making: HTTP status, OpenAI's param and code. */
typedef struct srv_error {
    unsigned status;
    const char *param, *code;
    char message[512];
} srv_error;

/* Fill `e`; returns -1 so that callers can `return fail(...)`. */
static int fail(srv_error *e, unsigned status, const char *param, const char *code,
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

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, char *text,
                                 size_t len, const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Send `j` (reference stolen). */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j,
                                 const char *allow)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return MHD_NO;
    return send_body(c, status, s, strlen(s), allow);
}

/* OpenAI's error object: {"error":{"message","type","param","code"}}. */
static enum MHD_Result send_error(struct MHD_Connection *c, const srv_error *e, const char *allow)
{
    const char *type = e->status >= 500 ? "server_error" : "invalid_request_error";
    const char *fmt = "{s:{s:s,s:s,s:s?,s:s?}}";
    json_t *j = json_pack(fmt, "error", "message", e->message, "type", type, "param", e->param,
                          "code", e->code);
    if (!j) /* the message was not valid UTF-8 (a cut URL): say less */
        j = json_pack(fmt, "error", "message", "invalid request", "type", type, "param",
                      e->param, "code", e->code);
    return send_json(c, e->status, j, allow);
}

static void route_request(const srv_state *s, const char *url, const char *method,
                          srv_request *r)
{
    static const char models[] = "/v1/models/";
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    r->route = ROUTE_BAD_METHOD;
    r->allow = "GET, HEAD";
    if (!strcmp(url, "/v1/embeddings")) {
        r->allow = "POST";
        if (!strcmp(method, "POST"))
            r->route = ROUTE_EMBEDDINGS;
    } else if (!strcmp(url, "/v1/models")) {
        if (get)
            r->route = ROUTE_MODELS;
    } else if (!strncmp(url, models, sizeof models - 1) &&
               !strcmp(url + sizeof models - 1, s->model_id)) {
        if (get)
            r->route = ROUTE_MODEL;
    } else if (!strcmp(url, "/health")) {
        if (get)
            r->route = ROUTE_HEALTH;
    } else {
        r->route = ROUTE_NOT_FOUND;
    }
}

static int parse_kind_name(const char *s, emb_kind *out)
{
    if (!strcmp(s, "query"))
        *out = EMB_KIND_QUERY;
    else if (!strcmp(s, "passage") || !strcmp(s, "document"))
        *out = EMB_KIND_PASSAGE;
    else if (!strcmp(s, "none"))
        *out = EMB_KIND_NONE;
    else
        return -1;
    return 0;
}

/* Tokens the model sees for one text (prompt, template, specials,
 * truncation), for "usage". A request's own prompt is counted exactly when
 * the model has a kind without a prompt of its own (then the library builds
 * template(prompt + text) for us); else as plain prompt + text. */
static emb_status count_tokens(const srv_state *s, const emb_text *t,
                               const emb_encode_options *o, size_t *n)
{
    emb_tokenize_options to;
    emb_tokenize_options_init(&to);
    to.truncate = 1;
    to.apply_prompt = 1;
    to.kind = o->kind;
    const char *text = t->data;
    size_t len = t->len;
    char *joined = NULL;
    if (o->prompt) {
        if (len > SIZE_MAX - o->prompt_len - 1 || !(joined = malloc(o->prompt_len + len + 1)))
            return EMB_ERR_NO_MEMORY;
        memcpy(joined, o->prompt, o->prompt_len);
        memcpy(joined + o->prompt_len, text, len);
        text = joined;
        len += o->prompt_len;
        to.apply_prompt = s->free_kind >= 0;
        to.kind = s->free_kind >= 0 ? (emb_kind)s->free_kind : EMB_KIND_NONE;
    }
    emb_status st = emb_tokenize(s->model, text, len, &to, NULL, 0, n);
    free(joined);
    return st == EMB_ERR_BUFFER_TOO_SMALL ? EMB_OK : st;
}

/* Truncate a vector to its first `keep` values and L2-normalize them (norm
 * in double), as OpenAI's `dimensions` does for matryoshka models. */
static void shorten(float *v, size_t keep)
{
    double ss = 0.0;
    for (size_t i = 0; i < keep; i++)
        ss += (double)v[i] * (double)v[i];
    if (ss <= 0.0)
        return;
    double norm = sqrt(ss);
    for (size_t i = 0; i < keep; i++)
        v[i] = (float)((double)v[i] / norm);
}

/* A parsed POST /v1/embeddings. Texts point into the JSON document. */
typedef struct srv_params {
    emb_text *texts;          /* n, owned; NULL for token-id input */
    int32_t **ids;            /* token-id input: n sequences, pointing into id_store */
    size_t *n_ids;            /* n lengths */
    int32_t *id_store;        /* all ids, owned */
    size_t n;
    size_t keep;              /* "dimensions", else the model's */
    int base64;
    emb_encode_options opts;  /* kind and prompt */
} srv_params;

static void params_free(srv_params *p)
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
            return fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type", "%s ('input[%zu]' is "
                        "not an array of token ids)", msg, i);
        size_t len = json_array_size(seq);
        if (len == 0)
            return fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_value",
                        "'input[%zu]' is an empty token array", i);
        for (size_t k = 0; k < len; k++) {
            json_t *id = json_array_get(seq, k);
            char where[64];
            if (flat)
                snprintf(where, sizeof where, "input[%zu]", k);
            else
                snprintf(where, sizeof where, "input[%zu][%zu]", i, k);
            if (!json_is_integer(id))
                return fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type",
                            "%s ('%s' is not an integer)", msg, where);
            json_int_t v = json_integer_value(id);
            if (v < 0 || v > INT32_MAX)
                return fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_value",
                            "token id %" JSON_INTEGER_FORMAT " at '%s' is outside the model's "
                            "vocabulary", v, where);
        }
        if (max_tokens && len > max_tokens)
            return fail(e, MHD_HTTP_BAD_REQUEST, "input", "context_length_exceeded",
                        "'input[%zu]' has %zu tokens; this model accepts at most %zu. Token "
                        "arrays are used as given and cannot be truncated: shorten them", i, len,
                        max_tokens);
        total += len; /* no overflow: bounded by the body size */
    }
    p->ids = malloc(n * sizeof *p->ids);
    p->n_ids = malloc(n * sizeof *p->n_ids);
    p->id_store = malloc(total * sizeof *p->id_store);
    if (!p->ids || !p->n_ids || !p->id_store)
        return fail(e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
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
        return fail(e, MHD_HTTP_BAD_REQUEST, "input", "missing_required_parameter",
                    "'input' is required: a string or an array of strings");
    if (!json_is_string(input) && !json_is_array(input))
        return fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type", "%s", msg);
    size_t n = json_is_string(input) ? 1 : json_array_size(input);
    if (n == 0)
        return fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_value",
                    "'input' must not be an empty array");
    json_t *first = json_is_array(input) ? json_array_get(input, 0) : NULL;
    if (json_is_integer(first) || json_is_array(first)) {
        if (json_is_array(first) && n > s->max_inputs)
            return fail(e, MHD_HTTP_BAD_REQUEST, "input", "too_many_inputs",
                        "'input' has %zu items; this server accepts at most %zu (--max-inputs)",
                        n, s->max_inputs);
        return read_token_input(s, input, p, e);
    }
    if (n > s->max_inputs)
        return fail(e, MHD_HTTP_BAD_REQUEST, "input", "too_many_inputs",
                    "'input' has %zu items; this server accepts at most %zu (--max-inputs)", n,
                    s->max_inputs);
    for (size_t i = 0; json_is_array(input) && i < n; i++) {
        if (!json_is_string(json_array_get(input, i)))
            return fail(e, MHD_HTTP_BAD_REQUEST, "input", "invalid_type",
                        "'input[%zu]' must be a string (an array mixes strings and token ids, "
                        "or holds another type)", i);
    }
    p->texts = malloc(n * sizeof *p->texts);
    if (!p->texts)
        return fail(e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_is_string(input) ? input : json_array_get(input, i);
        p->texts[i].data = json_string_value(item);
        p->texts[i].len = json_string_length(item);
    }
    p->n = n;
    return 0;
}

/* Check the fields of the request object into `p`. */
static int read_params(const srv_state *s, json_t *root, srv_params *p, srv_error *e)
{
    memset(p, 0, sizeof *p);
    p->keep = s->dim;
    emb_encode_options_init(&p->opts);
    p->opts.kind = s->kind;
    if (!json_is_object(root))
        return fail(e, MHD_HTTP_BAD_REQUEST, NULL, "invalid_json",
                    "the request body must be a JSON object");
    json_t *model = json_object_get(root, "model");
    if (model && !json_is_null(model) && !json_is_string(model))
        return fail(e, MHD_HTTP_BAD_REQUEST, "model", "invalid_type", "'model' must be a string");
    json_t *fmt = json_object_get(root, "encoding_format");
    if (fmt && !json_is_null(fmt)) {
        const char *f = json_string_value(fmt);
        if (!f || (strcmp(f, "float") != 0 && strcmp(f, "base64") != 0))
            return fail(e, MHD_HTTP_BAD_REQUEST, "encoding_format", "invalid_value",
                        "'encoding_format' must be \"float\" or \"base64\"");
        p->base64 = !strcmp(f, "base64");
    }
    json_t *dims = json_object_get(root, "dimensions");
    if (dims && !json_is_null(dims)) {
        json_int_t d = json_is_integer(dims) ? json_integer_value(dims) : 0;
        if (d < 1 || (unsigned long long)d > (unsigned long long)s->dim)
            return fail(e, MHD_HTTP_BAD_REQUEST, "dimensions", "invalid_value",
                        "'dimensions' must be an integer from 1 to %zu (the model's dimension)",
                        s->dim);
        p->keep = (size_t)d;
    }
    json_t *kind = json_object_get(root, "kind");
    if (kind && !json_is_null(kind) &&
        (!json_is_string(kind) || parse_kind_name(json_string_value(kind), &p->opts.kind) != 0))
        return fail(e, MHD_HTTP_BAD_REQUEST, "kind", "invalid_value",
                    "'kind' must be \"query\", \"passage\" (or \"document\") or \"none\"");
    json_t *prompt = json_object_get(root, "prompt");
    if (prompt && !json_is_null(prompt)) {
        if (!json_is_string(prompt))
            return fail(e, MHD_HTTP_BAD_REQUEST, "prompt", "invalid_type",
                        "'prompt' must be a string");
        p->opts.prompt = json_string_value(prompt);
        p->opts.prompt_len = json_string_length(prompt);
    }
    if (read_input(s, json_object_get(root, "input"), p, e) != 0)
        return -1;
    /* token ids are used as given: a prompt cannot be put in front of them
     * (the server's --kind does not apply to them either) */
    if (p->ids && ((kind && !json_is_null(kind)) || p->opts.prompt))
        return fail(e, MHD_HTTP_BAD_REQUEST, p->opts.prompt ? "prompt" : "kind", "invalid_value",
                    "'%s' cannot be applied to token-id input: the ids are used as given "
                    "(tokenize the text with its prompt first)",
                    p->opts.prompt ? "prompt" : "kind");
    return 0;
}

/* Count the tokens, have the worker encode the texts into vec[n * dim],
 * apply "dimensions". */
static int embed(srv_state *s, const srv_params *p, float *vec, size_t *tokens, srv_error *e)
{
    *tokens = 0;
    for (size_t i = 0; p->ids && i < p->n; i++)
        *tokens += p->n_ids[i];
    for (size_t i = 0; !p->ids && i < p->n; i++) {
        size_t k = 0;
        emb_status st = count_tokens(s, &p->texts[i], &p->opts, &k);
        if (st != EMB_OK)
            return fail(e, st == EMB_ERR_NO_MEMORY ? MHD_HTTP_INTERNAL_SERVER_ERROR
                                                   : MHD_HTTP_BAD_REQUEST,
                        "input", "invalid_input", "input %zu: %s: %s", i, emb_status_string(st),
                        emb_last_error());
        *tokens += k;
    }
    srv_job job;
    memset(&job, 0, sizeof job);
    job.texts = p->texts;
    job.ids = (const int32_t *const *)p->ids;
    job.n_ids = p->n_ids;
    job.n = p->n;
    job.opts = p->opts;
    job.out = vec;
    queue_run(&s->queue, &job);
    if (job.status != EMB_OK) {
        int client = job.status == EMB_ERR_INVALID_UTF8 || job.status == EMB_ERR_INVALID_ARGUMENT ||
                     job.status == EMB_ERR_TOO_LONG;
        return fail(e, client ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                    client ? "input" : NULL, client ? "invalid_input" : "encode_failed", "%s: %s",
                    emb_status_string(job.status), job.message);
    }
    for (size_t i = 0; i < p->n; i++) {
        for (size_t k = 0; k < s->dim; k++)
            if (!isfinite(vec[i * s->dim + k]))
                return fail(e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "encode_failed",
                            "input %zu: the model produced a non-finite value", i);
        if (p->keep < s->dim)
            shorten(vec + i * s->dim, p->keep);
    }
    return 0;
}

/* The response body, in OpenAI's shape. NULL when out of memory. */
static char *embeddings_body(const srv_state *s, const srv_params *p, const float *vec,
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

static enum MHD_Result handle_embeddings(srv_state *s, struct MHD_Connection *c, srv_request *r)
{
    srv_error e;
    srv_params p = { 0 };
    float *vec = NULL;
    char *body = NULL;
    size_t tokens = 0, len = 0;
    json_error_t jerr;
    json_t *root = NULL;
    if (r->too_large) {
        fail(&e, MHD_HTTP_CONTENT_TOO_LARGE, NULL, "request_too_large",
             "the request body is larger than %zu bytes (--max-body)", s->max_body);
        goto fail;
    }
    root = json_loadb(r->body ? r->body : "", r->len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            fail(&e, MHD_HTTP_BAD_REQUEST, NULL, "invalid_utf8",
                 "the request body is not valid UTF-8 (at byte %d)", jerr.position);
        else
            fail(&e, MHD_HTTP_BAD_REQUEST, NULL, "invalid_json",
                 "the request body is not valid JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        goto fail;
    }
    if (read_params(s, root, &p, &e) != 0)
        goto fail;
    vec = malloc(p.n * s->dim * sizeof *vec); /* n <= --max-inputs, checked at start-up */
    if (!vec) {
        fail(&e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
        goto fail;
    }
    if (embed(s, &p, vec, &tokens, &e) != 0)
        goto fail;
    body = embeddings_body(s, &p, vec, tokens, &len);
    if (!body) {
        fail(&e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
        goto fail;
    }
    free(vec);
    params_free(&p);
    json_decref(root);
    return send_body(c, MHD_HTTP_OK, body, len, NULL);
fail:
    free(vec);
    params_free(&p);
    json_decref(root);
    return send_error(c, &e, NULL);
}

static json_t *model_object(const srv_state *s)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", s->model_id, "object", "model", "created",
                     (json_int_t)s->created, "owned_by", "libemb");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    srv_state *s = cls;
    srv_request *r = *con_cls;
    (void)version;
    if (!r) {
        /* first call: headers only */
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        pthread_mutex_lock(&s->active_mu);
        s->active++;
        pthread_mutex_unlock(&s->active_mu);
        route_request(s, url, method, r);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (r->route == ROUTE_EMBEDDINGS && cl) {
            char *end;
            errno = 0;
            unsigned long long want = strtoull(cl, &end, 10);
            if (errno || *end || want > s->max_body) {
                r->too_large = 1;
                /* a client waiting for "100 Continue" gets the answer now */
                const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_EXPECT);
                if (ex && !strcasecmp(ex, "100-continue"))
                    return handle_embeddings(s, c, r);
            } else if (want > 0) {
                size_t first = want < (1u << 20) ? (size_t)want : (size_t)1 << 20;
                r->body = malloc(first);
                r->cap = r->body ? first : 0;
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        /* body data: kept for /v1/embeddings up to --max-body, else read and
         * dropped, so that the client always gets to read our answer */
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->route != ROUTE_EMBEDDINGS || r->too_large)
            return MHD_YES;
        if (n > s->max_body - r->len) {
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (n > r->cap - r->len) {
            size_t cap = r->cap ? r->cap : 65536;
            while (cap - r->len < n)
                cap = cap > s->max_body / 2 ? s->max_body : 2 * cap;
            char *grown = realloc(r->body, cap);
            if (!grown)
                return MHD_NO;
            r->body = grown;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    srv_error e;
    switch (r->route) {
    case ROUTE_EMBEDDINGS:
        return handle_embeddings(s, c, r);
    case ROUTE_MODELS:
        return send_json(c, MHD_HTTP_OK,
                         json_pack("{s:s,s:[o]}", "object", "list", "data", model_object(s)),
                         NULL);
    case ROUTE_MODEL:
        return send_json(c, MHD_HTTP_OK, model_object(s), NULL);
    case ROUTE_HEALTH:
        return send_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"), NULL);
    case ROUTE_BAD_METHOD:
        fail(&e, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "method_not_allowed",
             "%s is not allowed on %s (allowed: %s)", method, url, r->allow);
        return send_error(c, &e, r->allow);
    default:
        fail(&e, MHD_HTTP_NOT_FOUND, NULL, "not_found",
             "no such endpoint: %s %s (this server has POST /v1/embeddings, GET /v1/models, "
             "GET /v1/models/%s and GET /health)", method, url, s->model_id);
        return send_error(c, &e, NULL);
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    srv_state *s = cls;
    (void)c;
    (void)why;
    srv_request *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
        *con_cls = NULL;
        pthread_mutex_lock(&s->active_mu);
        s->active--;
        pthread_mutex_unlock(&s->active_mu);
    }
}

/* SIGINT/SIGTERM reach a handler that writes the signal number into a pipe
 * (a self-pipe): the main thread waits on it. Blocking the signals and
 * sigwait()ing is not enough, because threads that libraries start before
 * main() (OpenBLAS's pool) do not inherit a mask set later, and a signal
 * delivered to such a thread would kill the process. */
static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* the pipe is full: a signal is pending already */
    }
    errno = saved;
}

static int signals_install(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    return 0;
}

/* The next signal number, waiting up to timeout_ms (-1: forever); 0 if none. */
static int signal_wait(int timeout_ms)
{
    struct pollfd p = { sig_pipe[0], POLLIN, 0 };
    int r = poll(&p, 1, timeout_ms);
    unsigned char b;
    if (r > 0 && read(sig_pipe[0], &b, 1) == 1)
        return b;
    return 0;
}

/* After SIGINT/SIGTERM: stop accepting connections and give the requests
 * in flight up to `seconds` to be answered; a second signal cuts it short. */
static void drain(srv_state *s, int seconds)
{
    for (long i = 0; i < (long)seconds * 50; i++) {
        pthread_mutex_lock(&s->active_mu);
        size_t active = s->active;
        pthread_mutex_unlock(&s->active_mu);
        if (active == 0)
            return;
        if (signal_wait(20) > 0) {
            fprintf(stderr, "emb serve: second signal, not waiting for %zu request(s)\n",
                    active);
            return;
        }
    }
    fprintf(stderr, "emb serve: %d s passed, not waiting any longer\n", seconds);
}

/* ------------------------------------------------------------- startup */

static int parse_size(const char *opt, const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < lo || v > hi) {
        fprintf(stderr, "emb serve: %s must be an integer from %zu to %zu (got '%s')\n", opt, lo,
                hi, s);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* The model's id in /v1/models and responses: --model-name, else the file
 * name without its directory and ".h5". */
static char *model_id_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".h5"))
        n -= 3;
    return strndup(base, n);
}

/* A kind whose model prompt is absent or empty (for exact token counts of
 * a request's own prompt), or -1. */
static int find_free_kind(const emb_model *m)
{
    static const char *keys[] = { "prompt.default", "prompt.query", "prompt.passage" };
    static const emb_kind kinds[] = { EMB_KIND_NONE, EMB_KIND_QUERY, EMB_KIND_PASSAGE };
    for (int i = 0; i < 3; i++) {
        const char *p = emb_model_meta(m, keys[i]);
        if (!p || !*p)
            return (int)kinds[i];
    }
    return -1;
}

int cli_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "kind", required_argument, NULL, 'k' },
        { "max-body", required_argument, NULL, 'b' },
        { "max-inputs", required_argument, NULL, 'i' },
        { "threads", required_argument, NULL, 't' },
        { "model-name", required_argument, NULL, 'n' },
        { "compute", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    const char *model_path = NULL, *host = "127.0.0.1", *name = NULL;
    size_t port = 8080, threads = 0;
    emb_compute compute = EMB_COMPUTE_F32;
    srv_state s;
    memset(&s, 0, sizeof s);
    s.kind = EMB_KIND_NONE;
    s.max_body = 4u << 20;
    s.max_inputs = 2048;
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'H': host = optarg; break;
        case 'p': bad = parse_size("--port", optarg, 0, 65535, &port); break;
        case 'k': bad = cli_parse_kind(optarg, &s.kind); break;
        case 'b': bad = parse_size("--max-body", optarg, 2, (size_t)1 << 40, &s.max_body); break;
        case 'i': bad = parse_size("--max-inputs", optarg, 1, 1u << 20, &s.max_inputs); break;
        case 't': bad = parse_size("--threads", optarg, 0, 1024, &threads); break;
        case 'n': name = optarg; break;
        case 'c': bad = cli_parse_compute(optarg, &compute); break;
        default: return 2;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "emb serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    const char *path = cli_model_path(model_path);
    if (!path)
        return 1;

    struct addrinfo hints, *addr = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port_str[16];
    snprintf(port_str, sizeof port_str, "%zu", port);
    int gai = getaddrinfo(host, port_str, &hints, &addr);
    if (gai != 0 || !addr) {
        fprintf(stderr, "emb serve: cannot use host '%s': %s\n", host, gai_strerror(gai));
        return 2;
    }

    if (signals_install() != 0) {
        fprintf(stderr, "emb serve: cannot install signal handlers: %s\n", strerror(errno));
        freeaddrinfo(addr);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    int rc = 1, worker_started = 0;
    struct MHD_Daemon *d = NULL;
    MHD_socket listener = MHD_INVALID_SOCKET;
    pthread_t worker;
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = (int)threads;
    oo.compute = compute;
    emb_status st = emb_model_open(path, &oo, &s.model);
    if (st != EMB_OK) {
        cli_fail("cannot open model", st);
        goto fail;
    }
    s.dim = emb_model_dim(s.model);
    if (s.dim == 0) {
        fprintf(stderr, "emb serve: %s holds only a tokenizer; it cannot embed\n", path);
        goto fail;
    }
    if (s.max_inputs > SIZE_MAX / sizeof(float) / s.dim / SRV_BATCH_JOBS) {
        fprintf(stderr, "emb serve: --max-inputs too large for this model's dimension\n");
        goto fail;
    }
    char *id = name ? strdup(name) : model_id_from_path(path);
    json_t *jid = id ? json_string(id) : NULL;
    s.model_id_json = jid ? json_dumps(jid, JSON_ENCODE_ANY) : NULL;
    json_decref(jid);
    s.model_id = id;
    if (!s.model_id_json) {
        fprintf(stderr, "emb serve: the model name must be valid UTF-8\n");
        goto fail;
    }
    s.free_kind = find_free_kind(s.model);
    s.created = (long long)time(NULL);
    s.queue.model = s.model;
    s.queue.dim = s.dim;
    pthread_mutex_init(&s.queue.mu, NULL);
    pthread_mutex_init(&s.active_mu, NULL);
    pthread_cond_init(&s.queue.work, NULL);
    pthread_cond_init(&s.queue.done, NULL);
    if (pthread_create(&worker, NULL, worker_main, &s.queue) != 0) {
        fprintf(stderr, "emb serve: cannot start the batching thread\n");
        goto fail;
    }
    worker_started = 1;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, &s,
                         MHD_OPTION_SOCK_ADDR, addr->ai_addr,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
                         MHD_OPTION_CONNECTION_LIMIT, SRV_MAX_CONNECTIONS,
                         MHD_OPTION_CONNECTION_TIMEOUT, SRV_TIMEOUT_SECONDS,
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "emb serve: cannot listen on %s port %zu\n", host, port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : (unsigned)port;
    int v6 = strchr(host, ':') != NULL;
    printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "", bound);
    fflush(stdout);

    int sig;
    while ((sig = signal_wait(-1)) == 0)
        ;
    fprintf(stderr, "emb serve: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    listener = MHD_quiesce_daemon(d); /* no new connections */
    drain(&s, SRV_DRAIN_SECONDS);
    rc = 0;
fail:
    if (d)
        MHD_stop_daemon(d); /* closes the connections, waits for their threads */
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    if (worker_started) {
        pthread_mutex_lock(&s.queue.mu);
        s.queue.stopping = 1;
        pthread_cond_signal(&s.queue.work);
        pthread_mutex_unlock(&s.queue.mu);
        pthread_join(worker, NULL);
    }
    if (s.queue.model) {
        pthread_cond_destroy(&s.queue.done);
        pthread_cond_destroy(&s.queue.work);
        pthread_mutex_destroy(&s.queue.mu);
        pthread_mutex_destroy(&s.active_mu);
    }
    free(s.model_id_json);
    free((char *)s.model_id);
    emb_model_close(s.model);
    freeaddrinfo(addr);
    return rc;
}
