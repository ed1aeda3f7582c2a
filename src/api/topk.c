/* emb_topk_f32 / _i8 / _binary: exact top-k over stored vectors. The rows
 * are split into contiguous ranges, one per task (tasks run on the runtime's
 * pool); each task scores blocks of TOPK_BLOCK rows with a kernels/score.c
 * kernel and keeps its best k in a heap; the heaps are then merged by one
 * total order (score descending, row index ascending). A row's score does
 * not depend on its range, so the result does not depend on the number of
 * tasks or threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "kernels/kernels.h"
#include "runtime/runtime.h"

#define TOPK_BLOCK 256 /* rows scored per kernel call (and the least per task) */
#define TOPK_I8_MAX_DIM 65536

typedef enum topk_form { TOPK_F32, TOPK_I8, TOPK_BINARY } topk_form;

/* One candidate: `key` orders (larger is better; a NaN score becomes
 * -inf), `value` is the score as computed. */
typedef struct topk_hit {
    double key, value;
    size_t idx;
} topk_hit;

typedef struct topk_job {
    topk_form form;
    const void *query, *rows;
    size_t n, width, k; /* width: floats / codes / bytes per row */
    int cosine;
    const float *row_norms;
    float qnorm;
    size_t n_tasks;
    topk_hit *heaps; /* n_tasks heaps of k */
    size_t *heap_n;
    float *scratch; /* n_tasks blocks of TOPK_BLOCK scores */
} topk_job;

static int worse(const topk_hit *a, const topk_hit *b)
{
    return a->key < b->key || (a->key == b->key && a->idx > b->idx);
}

/* Min-heap on `worse`: h[0] is the worst kept candidate. */
static void heap_sift_down(topk_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && worse(&h[l], &h[w]))
            w = l;
        if (r < n && worse(&h[r], &h[w]))
            w = r;
        if (w == i)
            return;
        topk_hit t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void heap_offer(topk_hit *h, size_t *n, size_t k, double value, size_t idx)
{
    topk_hit c = { isnan(value) ? -INFINITY : value, value, idx };
    if (*n < k) {
        size_t i = (*n)++;
        h[i] = c;
        while (i > 0 && worse(&h[i], &h[(i - 1) / 2])) {
            size_t p = (i - 1) / 2;
            topk_hit t = h[i];
            h[i] = h[p];
            h[p] = t;
            i = p;
        }
    } else if (worse(&h[0], &c)) {
        h[0] = c;
        heap_sift_down(h, *n, 0);
    }
}

/* Scores of rows [r0, r0 + m) as doubles into out (larger is better). */
static void topk_score_block(const topk_job *j, size_t r0, size_t m, float *buf, double *out)
{
    if (j->form == TOPK_F32) {
        const float *rows = (const float *)j->rows + r0 * j->width;
        kern_dot_rows_f32(j->query, rows, m, j->width, buf);
        for (size_t i = 0; i < m; i++) {
            float s = buf[i];
            if (j->cosine) {
                float rn;
                if (j->row_norms) {
                    rn = j->row_norms[r0 + i];
                } else {
                    const float *r = rows + i * j->width;
                    kern_dot_rows_f32(r, r, 1, j->width, &rn);
                    rn = sqrtf(rn);
                }
                s = (j->qnorm == 0.0f || rn == 0.0f) ? 0.0f : s / (j->qnorm * rn); /* NaN stays NaN */
            }
            out[i] = (double)s;
        }
    } else if (j->form == TOPK_I8) {
        int32_t *s = (int32_t *)(void *)buf;
        kern_dot_rows_i8(j->query, (const int8_t *)j->rows + r0 * j->width, m, j->width, s);
        for (size_t i = 0; i < m; i++)
            out[i] = (double)s[i];
    } else {
        uint32_t *d = (uint32_t *)(void *)buf;
        kern_hamming_rows(j->query, (const uint8_t *)j->rows + r0 * j->width, m, j->width, d);
        for (size_t i = 0; i < m; i++)
            out[i] = -(double)d[i];
    }
}

static void topk_task(void *arg, size_t t)
{
    topk_job *j = arg;
    size_t r0 = j->n * t / j->n_tasks, r1 = j->n * (t + 1) / j->n_tasks;
    topk_hit *h = j->heaps + t * j->k;
    float *buf = j->scratch + t * TOPK_BLOCK;
    double s[TOPK_BLOCK];
    size_t hn = 0;
    for (size_t b = r0; b < r1; b += TOPK_BLOCK) {
        size_t m = r1 - b < TOPK_BLOCK ? r1 - b : TOPK_BLOCK;
        topk_score_block(j, b, m, buf, s);
        for (size_t i = 0; i < m; i++) {
            /* a full heap keeps its worst unless beaten: an equal score
             * comes from a later row and loses (NaN never beats) */
            if (hn == j->k && !(s[i] > h[0].key))
                continue;
            heap_offer(h, &hn, j->k, s[i], b + i);
        }
    }
    j->heap_n[t] = hn;
}

static int by_rank(const void *a, const void *b)
{
    const topk_hit *x = a, *y = b;
    return worse(y, x) ? -1 : worse(x, y) ? 1 : 0;
}

/* Check the arguments, run the tasks, merge: the one path of the three
 * public functions. `out` receives min(k, n) hits, best first. */
static emb_status topk_run(const char *fn, topk_job *j, const emb_topk_options *opts,
                           const size_t *idx, topk_hit **out, size_t *n_out)
{
    emb_topk_options o;
    emb_topk_options_init(&o);
    RT_TRY(api_options_read(opts, &o, sizeof o, "topk"));
    *out = NULL;
    *n_out = 0;
    RT_FAIL_IF(o.n_threads < 0 || o.n_threads > RT_MAX_THREADS, EMB_ERR_INVALID_ARGUMENT,
               "%s: n_threads %d out of range 0..%d", fn, o.n_threads, RT_MAX_THREADS);
    RT_FAIL_IF(j->width == 0, EMB_ERR_INVALID_ARGUMENT, "%s: %s is 0", fn,
               j->form == TOPK_BINARY ? "n_bytes" : "dim");
    RT_FAIL_IF(j->form == TOPK_I8 && j->width > TOPK_I8_MAX_DIM, EMB_ERR_INVALID_ARGUMENT,
               "%s: dim %zu above %d (int32 sums could overflow)", fn, j->width, TOPK_I8_MAX_DIM);
    size_t total;
    RT_FAIL_IF(rt_mul_overflow(j->n, j->width, &total), EMB_ERR_INVALID_ARGUMENT,
               "%s: n_rows %zu x %zu overflows", fn, j->n, j->width);
    if (j->k == 0 || j->n == 0)
        return EMB_OK;
    RT_FAIL_IF(!j->query || !j->rows || !idx, EMB_ERR_INVALID_ARGUMENT, "%s: NULL %s", fn,
               !j->query ? "query" : !j->rows ? "rows" : "idx");
    if (j->k > j->n)
        j->k = j->n;
    j->cosine = j->form == TOPK_F32 && o.cosine;
    j->row_norms = o.row_norms;
    if (j->cosine) {
        kern_dot_rows_f32(j->query, j->query, 1, j->width, &j->qnorm);
        j->qnorm = sqrtf(j->qnorm);
    }
    int threads = o.n_threads ? o.n_threads : rt_default_threads();
    size_t most = (j->n + TOPK_BLOCK - 1) / TOPK_BLOCK;
    j->n_tasks = (size_t)threads < most ? (size_t)threads : most;
    size_t cells;
    RT_FAIL_IF(rt_mul_overflow(j->n_tasks, j->k, &cells), EMB_ERR_NO_MEMORY, "%s: k %zu too large",
               fn, j->k);
    emb_status st = EMB_OK;
    j->heaps = rt_alloc(cells, sizeof *j->heaps);
    j->heap_n = rt_alloc(j->n_tasks, sizeof *j->heap_n);
    j->scratch = rt_alloc(j->n_tasks * TOPK_BLOCK, sizeof *j->scratch);
    if (!j->heaps || !j->heap_n || !j->scratch) {
        st = EMB_ERR_NO_MEMORY;
        goto done;
    }
    if (j->n_tasks == 1)
        topk_task(j, 0);
    else
        rt_parallel_run(threads, j->n_tasks, topk_task, j);
    /* pack the heaps together, sort, keep the best k */
    size_t m = 0;
    for (size_t t = 0; t < j->n_tasks; t++) {
        memmove(j->heaps + m, j->heaps + t * j->k, j->heap_n[t] * sizeof *j->heaps);
        m += j->heap_n[t];
    }
    qsort(j->heaps, m, sizeof *j->heaps, by_rank);
    *out = j->heaps;
    *n_out = m < j->k ? m : j->k;
    j->heaps = NULL;
done:
    free(j->heaps);
    free(j->heap_n);
    free(j->scratch);
    return st;
}

/* The public calls: run, then copy the best rows and their scores (in the
 * form's type) out. */
static emb_status topk_call(topk_job *j, const char *fn, const emb_topk_options *opts, size_t *idx,
                            void *score)
{
    rt_error_clear();
    topk_hit *h;
    size_t m;
    RT_TRY(topk_run(fn, j, opts, idx, &h, &m));
    for (size_t i = 0; i < m; i++) {
        idx[i] = h[i].idx;
        if (!score)
            continue;
        if (j->form == TOPK_F32)
            ((float *)score)[i] = (float)h[i].value;
        else if (j->form == TOPK_I8)
            ((int32_t *)score)[i] = (int32_t)h[i].value;
        else
            ((uint32_t *)score)[i] = (uint32_t)-h[i].value;
    }
    free(h);
    return EMB_OK;
}

emb_status emb_topk_f32(const float *query, const float *rows, size_t n_rows, size_t dim,
                        size_t k, const emb_topk_options *opts, size_t *idx, float *score)
{
    topk_job j = { .form = TOPK_F32, .query = query, .rows = rows, .n = n_rows, .width = dim, .k = k };
    return topk_call(&j, "emb_topk_f32", opts, idx, score);
}

emb_status emb_topk_i8(const int8_t *query, const int8_t *rows, size_t n_rows, size_t dim,
                       size_t k, const emb_topk_options *opts, size_t *idx, int32_t *score)
{
    topk_job j = { .form = TOPK_I8, .query = query, .rows = rows, .n = n_rows, .width = dim, .k = k };
    return topk_call(&j, "emb_topk_i8", opts, idx, score);
}

emb_status emb_topk_binary(const uint8_t *query, const uint8_t *rows, size_t n_rows,
                           size_t n_bytes, size_t k, const emb_topk_options *opts, size_t *idx,
                           uint32_t *distance)
{
    topk_job j = { .form = TOPK_BINARY, .query = query, .rows = rows, .n = n_rows,
                   .width = n_bytes, .k = k };
    return topk_call(&j, "emb_topk_binary", opts, idx, distance);
}
