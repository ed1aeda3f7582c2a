/* emb_encode and emb_tokenize: the loop over texts. Each text is built
 * (policy), tokenized and encoded on its own, so its vector never depends on
 * the other texts of the call; texts are spread over the model's threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "runtime/runtime.h"



/* Options as seen by this library version: fields beyond the caller's
 * struct_size keep their defaults. */
static emb_status read_encode_opts(const emb_encode_options *in, emb_encode_options *o)
{
    emb_encode_options_init(o);
    emb_status st = api_options_read(in, o, sizeof *o, "encode");
    if (st != EMB_OK || !in)
        return st;
    if (o->kind != EMB_KIND_NONE && o->kind != EMB_KIND_QUERY && o->kind != EMB_KIND_PASSAGE)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "unknown kind %d", (int)o->kind);
    if (o->prompt && !tok_utf8_valid(o->prompt, o->prompt_len))
        return rt_error(EMB_ERR_INVALID_UTF8, "the prompt is not valid UTF-8");
    if (!o->prompt && o->prompt_len)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "prompt is NULL but prompt_len is %zu",
                        o->prompt_len);
    return EMB_OK;
}

/* Bytes of one text that are tokenized at most, when the model has a token
 * limit (docs/security.md, "Limits"): max(1 MiB, 256 bytes per token of the
 * limit). Ids past the limit are dropped by truncation anyway; the bound
 * keeps a huge text from costing time and memory in proportion to its size.
 * Only a text whose first max_tokens tokens span more than this many bytes
 * (runs of whitespace or control characters) can tokenize differently from
 * Hugging Face, which tokenizes everything before truncating. */
#define API_TEXT_BYTES_MIN ((size_t)1 << 20)
#define API_TEXT_BYTES_PER_TOKEN ((size_t)256)

static size_t text_byte_limit(const emb_model *m)
{
    size_t tokens = m->max_tokens;
    if (!tokens && m->mdl)
        tokens = mdl_max_tokens(&m->file.cfg);
    if (!tokens)
        return SIZE_MAX; /* tokenizer-only file without a limit */
    size_t bytes;
    if (rt_mul_overflow(tokens, API_TEXT_BYTES_PER_TOKEN, &bytes))
        return SIZE_MAX;
    return bytes > API_TEXT_BYTES_MIN ? bytes : API_TEXT_BYTES_MIN;
}

/* Tokenize one text with the model's policy. */
static emb_status ids_for_text(const emb_model *m, emb_kind kind, const char *prompt,
                               size_t prompt_len, int apply_prompt, int add_special,
                               int truncate, int refuse_long, const char *text, size_t len,
                               tok_ids *ids)
{
    if (!tok_utf8_valid(text, len))
        return rt_error(EMB_ERR_INVALID_UTF8, "text is not valid UTF-8");
    size_t cap = (truncate || refuse_long) ? text_byte_limit(m) : SIZE_MAX;
    if (len > cap) {
        if (refuse_long)
            return rt_error(EMB_ERR_TOO_LONG, "text is %zu bytes; with truncation off at most "
                                              "%zu bytes are accepted", len, cap);
        len = cap; /* cut at a character boundary */
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
            len--;
    }
    char *input = NULL;
    size_t input_len = len;
    const char *src = text;
    if (apply_prompt) {
        emb_status st = api_build_input(m, kind, prompt, prompt_len, text, len, &input, &input_len);
        if (st != EMB_OK)
            return st;
        src = input;
    }
    size_t limit = truncate ? m->max_tokens : 0;
    emb_status st = tok_encode_valid(m->tok, src, input_len, add_special, limit, ids);
    free(input);
    if (st == EMB_OK && refuse_long && m->max_tokens && ids->n > m->max_tokens) {
        st = rt_error(EMB_ERR_TOO_LONG, "input has %zu tokens; the model accepts %zu",
                      ids->n, m->max_tokens);
    }
    return st;
}

/* Per-item results of a parallel loop: the status of each item and the
 * message its worker thread recorded (last-error is thread-local). */
typedef struct item_results {
    emb_status *status;
    char (*msg)[256];
} item_results;

static emb_status results_alloc(item_results *r, size_t n)
{
    r->status = rt_calloc(n, sizeof *r->status);
    r->msg = rt_calloc(n, sizeof *r->msg);
    if (!r->status || !r->msg) {
        free(r->status);
        free(r->msg);
        return EMB_ERR_NO_MEMORY;
    }
    return EMB_OK;
}

static void results_set(item_results *r, size_t i, emb_status st)
{
    r->status[i] = st;
    if (st != EMB_OK)
        snprintf(r->msg[i], sizeof r->msg[i], "%s", rt_last_error());
}

/* The first failing item (lowest index) decides; frees the results. */
static emb_status results_finish(item_results *r, size_t n, const char *what)
{
    emb_status st = EMB_OK;
    for (size_t i = 0; i < n; i++) {
        if (r->status[i] != EMB_OK) {
            st = rt_error(r->status[i], "%s %zu: %s", what, i, r->msg[i]);
            break;
        }
    }
    free(r->status);
    free(r->msg);
    return st;
}

/* Run fn over n items on the model's threads (never more threads than
 * items). With fewer items than threads, each item's forward pass gets the
 * spare ones: *inner = threads / items (mdl_encode_threads; the vectors are
 * the same bitwise), so at most the model's threads are ever busy. */
static void run_items(const emb_model *m, size_t n, rt_task_fn fn, void *arg, int *inner)
{
    int threads = m->n_threads;
    *inner = 1;
    if ((size_t)threads > n) {
        *inner = threads / (int)n;
        threads = (int)n;
    }
    rt_parallel_for(threads, n, fn, arg);
}

typedef struct encode_job {
    const emb_model *m;
    const emb_text *texts;
    const emb_encode_options *o;
    float *out;
    item_results res;
    int inner;   /* threads per forward pass */
    size_t skip; /* include_prompt false: the prompt's tokens, the same for every text */
} encode_job;

static void encode_one(void *arg, size_t i)
{
    encode_job *job = arg;
    const emb_model *m = job->m;
    tok_ids ids = { 0 };
    emb_status st = ids_for_text(m, job->o->kind, job->o->prompt, job->o->prompt_len, 1, 1,
                                 job->o->truncate, !job->o->truncate, job->texts[i].data,
                                 job->texts[i].len, &ids);
    if (st == EMB_OK)
        st = mdl_encode_skip(m->mdl, ids.ids, ids.n, job->skip, job->inner,
                             job->out + i * m->dim);
    free(ids.ids);
    results_set(&job->res, i, st);
}

emb_status emb_encode(const emb_model *m, const emb_text *texts, size_t n_texts,
                      const emb_encode_options *opts, float *out)
{
    rt_error_clear();
    if (!m)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_encode: NULL model");
    if (n_texts == 0)
        return EMB_OK;
    if (!texts || !out)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_encode: NULL %s", !texts ? "texts" : "out");
    if (!m->mdl)
        return rt_error(EMB_ERR_NO_WEIGHTS, "emb_encode: this model file holds only a tokenizer");
    size_t total;
    if (rt_mul_overflow(n_texts, m->dim, &total))
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_encode: n_texts %zu too large", n_texts);
    for (size_t i = 0; i < n_texts; i++)
        if (!texts[i].data && texts[i].len)
            return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_encode: text %zu has NULL data", i);
    emb_encode_options o;
    emb_status st = read_encode_opts(opts, &o);
    if (st != EMB_OK)
        return st;

    encode_job job = { m, texts, &o, out, { NULL, NULL }, 1, 0 };
    /* the prompt is tokenized once per call, not once per text */
    RT_TRY(api_prompt_skip(m, o.kind, o.prompt, o.prompt_len, &job.skip));
    if (results_alloc(&job.res, n_texts) != EMB_OK)
        return EMB_ERR_NO_MEMORY;
    run_items(m, n_texts, encode_one, &job, &job.inner);
    return results_finish(&job.res, n_texts, "text");
}

typedef struct ids_job {
    const emb_model *m;
    const int32_t *const *ids;
    const size_t *n_ids;
    float *out;
    item_results res;
    int inner; /* threads per forward pass */
} ids_job;

static void encode_ids_one(void *arg, size_t i)
{
    ids_job *job = arg;
    results_set(&job->res, i,
                mdl_encode_threads(job->m->mdl, job->ids[i], job->n_ids[i], job->inner,
                                   job->out + i * job->m->dim));
}

emb_status emb_encode_tokens(const emb_model *m, const int32_t *const *ids, const size_t *n_ids,
                             size_t n_seqs, float *out)
{
    rt_error_clear();
    if (!m)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_encode_tokens: NULL model");
    if (n_seqs == 0)
        return EMB_OK;
    if (!ids || !n_ids || !out)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_encode_tokens: NULL %s",
                        !ids ? "ids" : !n_ids ? "n_ids" : "out");
    if (!m->mdl)
        return rt_error(EMB_ERR_NO_WEIGHTS, "emb_encode_tokens: this model file holds only a tokenizer");
    size_t total, vocab = (size_t)m->file.cfg.vocab_size;
    if (rt_mul_overflow(n_seqs, m->dim, &total))
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_encode_tokens: n_seqs %zu too large", n_seqs);
    for (size_t i = 0; i < n_seqs; i++) {
        if (!ids[i] || n_ids[i] == 0)
            return rt_error(EMB_ERR_INVALID_ARGUMENT, "sequence %zu is empty or NULL", i);
        if (m->max_tokens && n_ids[i] > m->max_tokens)
            return rt_error(EMB_ERR_TOO_LONG, "sequence %zu has %zu tokens; the model accepts %zu",
                            i, n_ids[i], m->max_tokens);
        for (size_t k = 0; k < n_ids[i]; k++)
            if (ids[i][k] < 0 || (size_t)ids[i][k] >= vocab)
                return rt_error(EMB_ERR_INVALID_ARGUMENT,
                                "sequence %zu: id %d at %zu is outside the vocabulary (%zu)", i,
                                ids[i][k], k, vocab);
    }
    ids_job job = { m, ids, n_ids, out, { NULL, NULL }, 1 };
    if (results_alloc(&job.res, n_seqs) != EMB_OK)
        return EMB_ERR_NO_MEMORY;
    run_items(m, n_seqs, encode_ids_one, &job, &job.inner);
    return results_finish(&job.res, n_seqs, "sequence");
}

emb_status emb_tokenize(const emb_model *m, const char *text, size_t len,
                        const emb_tokenize_options *opts, int32_t *ids, size_t cap,
                        size_t *n_ids)
{
    rt_error_clear();
    if (n_ids)
        *n_ids = 0;
    if (!m || !n_ids || (!text && len) || (!ids && cap))
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_tokenize: NULL %s",
                        !m ? "model" : !n_ids ? "n_ids" : (!text && len) ? "text" : "ids");
    emb_tokenize_options o;
    emb_tokenize_options_init(&o);
    emb_status st = api_options_read(opts, &o, sizeof o, "tokenize");
    if (st != EMB_OK)
        return st;
    tok_ids out = { 0 };
    st = ids_for_text(m, o.kind, NULL, 0, o.apply_prompt, o.add_special, o.truncate, 0,
                                 text ? text : "", len, &out);
    if (st == EMB_OK) {
        *n_ids = out.n;
        if (out.n > cap)
            st = rt_error(EMB_ERR_BUFFER_TOO_SMALL, "emb_tokenize: %zu ids, buffer holds %zu",
                          out.n, cap);
        else if (out.n)
            memcpy(ids, out.ids, out.n * sizeof *ids);
    }
    free(out.ids);
    return st;
}
