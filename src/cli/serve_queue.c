/* emb serve's batching: handler threads queue their request's texts and
 * sleep; one worker thread takes every request that is waiting, encodes the
 * texts of those that share the same options in ONE emb_encode() call
 * (token-id inputs in one emb_encode_tokens() call, the ids used as given)
 * and wakes their handlers. A text's vector never depends on its batch
 * (libemb's guarantee), so every vector is bitwise the one that emb_encode()
 * gives for that text alone. See docs/server.md, "How it works". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/serve.h"

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

void srv_queue_run(srv_queue *q, srv_job *job)
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

int srv_queue_start(srv_queue *q, const emb_model *model, size_t dim)
{
    memset(q, 0, sizeof *q);
    q->model = model;
    q->dim = dim;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    if (pthread_create(&q->worker, NULL, worker_main, q) != 0) {
        pthread_cond_destroy(&q->done);
        pthread_cond_destroy(&q->work);
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    q->running = 1;
    return 0;
}

void srv_queue_stop(srv_queue *q)
{
    if (!q->running)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->worker, NULL);
    pthread_cond_destroy(&q->done);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->mu);
    q->running = 0;
}
