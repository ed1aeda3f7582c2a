/* cli/serve*.c — `emb serve`'s parts, private to them: the batching queue
 * (serve_queue.c), the JSON of POST /v1/embeddings (serve_json.c) and the
 * HTTP server that joins them (serve.c). See docs/server.md. */
#ifndef EMB_CLI_SERVE_H
#define EMB_CLI_SERVE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

#define SRV_BATCH_JOBS 256        /* requests per worker round at most */
#define SRV_BATCH_TEXTS 4096      /* texts per worker round (a request is never split) */

/* ------------------------------------------- batching (serve_queue.c) */

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
    pthread_t worker;
    int running;              /* the worker was started and not yet joined */
} srv_queue;

/* Start the worker that encodes with `model` (vectors of `dim` floats).
 * 0, or -1 (the thread could not be started; nothing to stop). */
int srv_queue_start(srv_queue *q, const emb_model *model, size_t dim);
/* Queue a job and wait until the worker has encoded it (any thread). */
void srv_queue_run(srv_queue *q, srv_job *job);
/* Let the worker finish the jobs queued, join it, release the queue. A
 * queue that is not running is left alone. */
void srv_queue_stop(srv_queue *q);

/* ------------------------------------------------------- server state */

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

/* ------------------------------- request and response (serve_json.c) */

/* An error answer in the making: HTTP status, OpenAI's param and code. */
typedef struct srv_error {
    unsigned status;
    const char *param, *code;
    char message[512];
} srv_error;

/* Fill `e`; returns -1 so that callers can `return srv_fail(...)`. */
int srv_fail(srv_error *e, unsigned status, const char *param, const char *code,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

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

/* Check the fields of the request object `root` into `p` (which points into
 * `root`: keep it alive). 0, or -1 with `e` filled. Free `p` either way. */
int srv_read_params(const srv_state *s, json_t *root, srv_params *p, srv_error *e);
void srv_params_free(srv_params *p);

/* The response body for vec[p->n * s->dim], in OpenAI's shape (malloc'ed,
 * *len bytes, not NUL-terminated). NULL when out of memory. */
char *srv_embeddings_body(const srv_state *s, const srv_params *p, const float *vec,
                          size_t tokens, size_t *len);

#endif
