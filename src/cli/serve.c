/* emb serve -m MODEL.h5 [--host H] [--port N] [--compute f32|bf16] ...: an
 * OpenAI-compatible embeddings endpoint (POST /v1/embeddings, GET /v1/models,
 * GET /health).
 *
 * HTTP is libmicrohttpd's (one thread per connection); JSON is jansson's.
 * Handler threads parse and check a request (serve_json.c), count its
 * tokens, then hand its texts to the batching worker (serve_queue.c) and
 * sleep until it has encoded them; every vector is bitwise the one that
 * emb_encode() gives for that text alone. This file: routing, the handlers,
 * shutdown on SIGINT/SIGTERM, start-up. See docs/server.md. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <microhttpd.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/serve.h"

#define SRV_MAX_CONNECTIONS 256u
#define SRV_TIMEOUT_SECONDS 60u
#define SRV_DRAIN_SECONDS 30      /* at shutdown, for the requests in flight */

/* --------------------------------------------------------------- server */

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
            return srv_fail(e, st == EMB_ERR_NO_MEMORY ? MHD_HTTP_INTERNAL_SERVER_ERROR
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
    srv_queue_run(&s->queue, &job);
    if (job.status != EMB_OK) {
        int client = job.status == EMB_ERR_INVALID_UTF8 || job.status == EMB_ERR_INVALID_ARGUMENT ||
                     job.status == EMB_ERR_TOO_LONG;
        return srv_fail(e, client ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                        client ? "input" : NULL, client ? "invalid_input" : "encode_failed",
                        "%s: %s", emb_status_string(job.status), job.message);
    }
    for (size_t i = 0; i < p->n; i++) {
        for (size_t k = 0; k < s->dim; k++)
            if (!isfinite(vec[i * s->dim + k]))
                return srv_fail(e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "encode_failed",
                                "input %zu: the model produced a non-finite value", i);
        if (p->keep < s->dim)
            shorten(vec + i * s->dim, p->keep);
    }
    return 0;
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
        srv_fail(&e, MHD_HTTP_CONTENT_TOO_LARGE, NULL, "request_too_large",
                 "the request body is larger than %zu bytes (--max-body)", s->max_body);
        goto fail;
    }
    root = json_loadb(r->body ? r->body : "", r->len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            srv_fail(&e, MHD_HTTP_BAD_REQUEST, NULL, "invalid_utf8",
                     "the request body is not valid UTF-8 (at byte %d)", jerr.position);
        else
            srv_fail(&e, MHD_HTTP_BAD_REQUEST, NULL, "invalid_json",
                     "the request body is not valid JSON: %s (line %d, column %d)", jerr.text,
                     jerr.line, jerr.column);
        goto fail;
    }
    if (srv_read_params(s, root, &p, &e) != 0)
        goto fail;
    vec = malloc(p.n * s->dim * sizeof *vec); /* n <= --max-inputs, checked at start-up */
    if (!vec) {
        srv_fail(&e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
        goto fail;
    }
    if (embed(s, &p, vec, &tokens, &e) != 0)
        goto fail;
    body = srv_embeddings_body(s, &p, vec, tokens, &len);
    if (!body) {
        srv_fail(&e, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out_of_memory", "out of memory");
        goto fail;
    }
    free(vec);
    srv_params_free(&p);
    json_decref(root);
    return send_body(c, MHD_HTTP_OK, body, len, NULL);
fail:
    free(vec);
    srv_params_free(&p);
    json_decref(root);
    return send_error(c, &e, NULL);
}

static json_t *model_object(const srv_state *s)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", s->model_id, "object", "model", "created",
                     (json_int_t)s->created, "owned_by", "libemb");
}

/* The first call for a request (headers only): count it as active, route
 * it, and size its body buffer from Content-Length; a body announced above
 * --max-body is marked too large (and answered at once to a client waiting
 * for "100 Continue"). */
static enum MHD_Result request_begin(srv_state *s, struct MHD_Connection *c, const char *url,
                                     const char *method, void **con_cls)
{
    srv_request *r = calloc(1, sizeof *r);
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

/* Body data: kept for /v1/embeddings up to --max-body (past it the request
 * is marked too large and what came is dropped), else read and dropped, so
 * that the client always gets to read our answer. */
static enum MHD_Result request_upload(const srv_state *s, srv_request *r, const char *upload,
                                      size_t n)
{
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

/* The whole request is in: answer it by its route. */
static enum MHD_Result request_answer(srv_state *s, struct MHD_Connection *c, const char *url,
                                      const char *method, srv_request *r)
{
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
        srv_fail(&e, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "method_not_allowed",
                 "%s is not allowed on %s (allowed: %s)", method, url, r->allow);
        return send_error(c, &e, r->allow);
    default:
        srv_fail(&e, MHD_HTTP_NOT_FOUND, NULL, "not_found",
                 "no such endpoint: %s %s (this server has POST /v1/embeddings, GET /v1/models, "
                 "GET /v1/models/%s and GET /health)", method, url, s->model_id);
        return send_error(c, &e, NULL);
    }
}

/* libmicrohttpd's handler, called for the headers, for each piece of body
 * and once more when the body is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    srv_state *s = cls;
    srv_request *r = *con_cls;
    (void)version;
    if (!r)
        return request_begin(s, c, url, method, con_cls);
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return request_upload(s, r, upload, n);
    }
    return request_answer(s, c, url, method, r);
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

/* What the command line asks for, beside the limits kept in srv_state. */
typedef struct srv_args {
    const char *model_path, *host, *name;
    size_t port, threads;
    emb_compute compute;
} srv_args;

/* Parse the options into `a`, and --kind, --max-body and --max-inputs into
 * `s` (zeroed first): 0, or 2 (message printed). */
static int serve_parse_args(int argc, char **argv, srv_args *a, srv_state *s)
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
    *a = (srv_args){ .host = "127.0.0.1", .port = 8080, .compute = EMB_COMPUTE_F32 };
    memset(s, 0, sizeof *s);
    s->kind = EMB_KIND_NONE;
    s->max_body = 4u << 20;
    s->max_inputs = 2048;
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': a->model_path = optarg; break;
        case 'H': a->host = optarg; break;
        case 'p': bad = parse_size("--port", optarg, 0, 65535, &a->port); break;
        case 'k': bad = cli_parse_kind(optarg, &s->kind); break;
        case 'b': bad = parse_size("--max-body", optarg, 2, (size_t)1 << 40, &s->max_body); break;
        case 'i': bad = parse_size("--max-inputs", optarg, 1, 1u << 20, &s->max_inputs); break;
        case 't': /* the upper bound is the library's: emb_model_open refuses more */
            bad = parse_size("--threads", optarg, 0, INT_MAX, &a->threads);
            break;
        case 'n': a->name = optarg; break;
        case 'c': bad = cli_parse_compute(optarg, &a->compute); break;
        default: return 2;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "emb serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* --host and --port as socket addresses (*addr, freeaddrinfo() it): 0, or
 * 2 (message printed). */
static int serve_resolve(const srv_args *a, struct addrinfo **addr)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port_str[16];
    snprintf(port_str, sizeof port_str, "%zu", a->port);
    int gai = getaddrinfo(a->host, port_str, &hints, addr);
    if (gai != 0 || !*addr) {
        fprintf(stderr, "emb serve: cannot use host '%s': %s\n", a->host, gai_strerror(gai));
        return 2;
    }
    return 0;
}

/* Open the model and fill what the handlers read about it: its dim, its id
 * (as a JSON literal too), the kind for exact token counts, the start time.
 * 0, or the exit status (message printed; 2 for an option the library
 * refuses); what was set is freed by the caller either way. */
static int serve_open_model(srv_state *s, const char *path, const srv_args *a)
{
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = (int)a->threads;
    oo.compute = a->compute;
    emb_status st = emb_model_open(path, &oo, &s->model);
    if (st != EMB_OK) {
        cli_fail("cannot open model", st);
        return st == EMB_ERR_INVALID_ARGUMENT ? 2 : 1;
    }
    s->dim = emb_model_dim(s->model);
    if (s->dim == 0) {
        fprintf(stderr, "emb serve: %s holds only a tokenizer; it cannot embed\n", path);
        return 1;
    }
    if (s->max_inputs > SIZE_MAX / sizeof(float) / s->dim / SRV_BATCH_JOBS) {
        fprintf(stderr, "emb serve: --max-inputs too large for this model's dimension\n");
        return 1;
    }
    char *id = a->name ? strdup(a->name) : model_id_from_path(path);
    json_t *jid = id ? json_string(id) : NULL;
    s->model_id_json = jid ? json_dumps(jid, JSON_ENCODE_ANY) : NULL;
    json_decref(jid);
    s->model_id = id;
    if (!s->model_id_json) {
        fprintf(stderr, "emb serve: the model name must be valid UTF-8\n");
        return 1;
    }
    s->free_kind = find_free_kind(s->model);
    s->created = (long long)time(NULL);
    return 0;
}

/* Start libmicrohttpd on `addr` with the handlers above and print the
 * address it listens on (with --port 0, the port the system chose); NULL
 * (message printed) when it cannot listen. */
static struct MHD_Daemon *serve_listen(srv_state *s, const struct addrinfo *addr,
                                       const srv_args *a)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t)a->port, NULL, NULL, on_request, s,
                         MHD_OPTION_SOCK_ADDR, addr->ai_addr,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                         MHD_OPTION_CONNECTION_LIMIT, SRV_MAX_CONNECTIONS,
                         MHD_OPTION_CONNECTION_TIMEOUT, SRV_TIMEOUT_SECONDS,
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "emb serve: cannot listen on %s port %zu\n", a->host, a->port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : (unsigned)a->port;
    int v6 = strchr(a->host, ':') != NULL;
    printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", a->host, v6 ? "]" : "", bound);
    fflush(stdout);
    return d;
}

/* Serve until SIGINT/SIGTERM, then stop accepting connections and give the
 * requests in flight SRV_DRAIN_SECONDS. Returns the listening socket, which
 * the caller closes after stopping the daemon. */
static MHD_socket serve_until_signal(srv_state *s, struct MHD_Daemon *d)
{
    int sig;
    while ((sig = signal_wait(-1)) == 0)
        ;
    fprintf(stderr, "emb serve: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    MHD_socket listener = MHD_quiesce_daemon(d); /* no new connections */
    drain(s, SRV_DRAIN_SECONDS);
    return listener;
}

int cli_serve(int argc, char **argv)
{
    srv_args a;
    srv_state s;
    int rc = serve_parse_args(argc, argv, &a, &s);
    if (rc != 0)
        return rc;
    const char *path = cli_model_path(a.model_path);
    if (!path)
        return 1;
    struct addrinfo *addr = NULL;
    if (serve_resolve(&a, &addr) != 0)
        return 2;
    if (signals_install() != 0) {
        fprintf(stderr, "emb serve: cannot install signal handlers: %s\n", strerror(errno));
        freeaddrinfo(addr);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    int active_mu_ready = 0;
    struct MHD_Daemon *d = NULL;
    MHD_socket listener = MHD_INVALID_SOCKET;
    if ((rc = serve_open_model(&s, path, &a)) != 0)
        goto done;
    rc = 1;
    pthread_mutex_init(&s.active_mu, NULL);
    active_mu_ready = 1;
    if (srv_queue_start(&s.queue, s.model, s.dim) != 0) {
        fprintf(stderr, "emb serve: cannot start the batching thread\n");
        goto done;
    }
    if (!(d = serve_listen(&s, addr, &a)))
        goto done;
    listener = serve_until_signal(&s, d);
    rc = 0;
done:
    if (d)
        MHD_stop_daemon(d); /* closes the connections, waits for their threads */
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    srv_queue_stop(&s.queue); /* after the daemon: no handler is waiting any more */
    if (active_mu_ready)
        pthread_mutex_destroy(&s.active_mu);
    free(s.model_id_json);
    free((char *)s.model_id);
    emb_model_close(s.model);
    freeaddrinfo(addr);
    return rc;
}
