/* Measuring a run, for `emb compare` and `emb eval` (cli.h): a progress bar
 * on stderr, emb_encode() in timed batches, and the number of tokens the
 * model runs for a set of texts. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

/* ------------------------------------------------------------ progress bar */

void cli_progress_start(cli_progress *p, const char *label, size_t total)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->shown = -1;
    p->on = total > 0 && isatty(STDERR_FILENO);
    cli_progress_add(p, 0);
}

void cli_progress_add(cli_progress *p, size_t n)
{
    if (!p || !p->on)
        return;
    p->done += n;
    if (p->done > p->total)
        p->done = p->total;
    const int width = 30;
    int filled = (int)((double)width * (double)p->done / (double)p->total);
    int pct = (int)(100.0 * (double)p->done / (double)p->total);
    if (pct == p->shown)
        return;
    p->shown = pct;
    fprintf(stderr, "\r%s [", p->label);
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%% %zu/%zu", pct, p->done, p->total);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
    if (!p || !p->on)
        return;
    fputs("\r\033[K", stderr); /* erase the bar: the results go below */
    fflush(stderr);
    p->on = 0;
}

/* ------------------------------------------------------ encoding, tokens */

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

emb_status cli_encode_timed(const emb_model *m, const emb_text *texts, size_t n,
                            const emb_encode_options *o, size_t batch, float *out,
                            cli_progress *progress, double *seconds)
{
    size_t dim = emb_model_dim(m);
    if (batch == 0)
        batch = 1;
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        double t0 = cli_now();
        emb_status st = emb_encode(m, texts + i, k, o, out + i * dim);
        *seconds += cli_now() - t0;
        if (st != EMB_OK)
            return st;
        cli_progress_add(progress, k);
    }
    return EMB_OK;
}

emb_status cli_count_tokens(const emb_model *m, const emb_text *texts, size_t n,
                            emb_kind kind, size_t *total)
{
    emb_tokenize_options o;
    emb_tokenize_options_init(&o);
    o.add_special = 1;
    o.apply_prompt = 1;
    o.kind = kind;
    o.truncate = 1; /* what emb_encode() runs by default */
    size_t cap = emb_model_max_tokens(m) + 16;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids)
        return EMB_ERR_NO_MEMORY;
    emb_status st = EMB_OK;
    for (size_t i = 0; i < n && st == EMB_OK; i++) {
        size_t got = 0;
        st = cli_tokenize_grow(m, &texts[i], &o, &ids, &cap, &got);
        if (st == EMB_OK)
            *total += got;
    }
    free(ids);
    return st;
}
