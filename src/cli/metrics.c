/* The retrieval metrics of `emb compare` and `emb eval` (declared in cli.h,
 * defined in docs/evaluate.md): pure functions of scores and grades, no I/O,
 * tested directly by tests/test_compare.c and tests/test_eval.c. The eval
 * metrics reproduce trec_eval 9 as BEIR runs it through pytrec_eval. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* --------------------------------------------- emb compare: pair metrics */

void cli_pair_metrics_compute(const float *sim, size_t n, cli_pair_metrics *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return;
    double rel = 0, irrel = 0, rr = 0;
    size_t top1 = 0;
    for (size_t i = 0; i < n; i++) {
        const float *row = sim + i * n;
        float own = row[i];
        size_t ahead = 0; /* answers scoring >= the own answer: ties count against */
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            irrel += (double)row[j];
            if (row[j] >= own)
                ahead++;
        }
        rel += (double)own;
        if (ahead == 0)
            top1++;
        rr += 1.0 / (double)(ahead + 1);
    }
    out->mean_relevant = rel / (double)n;
    out->mean_irrelevant = n > 1 ? irrel / ((double)n * (double)(n - 1)) : 0.0;
    out->margin = out->mean_relevant - out->mean_irrelevant;
    out->accuracy_at_1 = (double)top1 / (double)n;
    out->mrr = rr / (double)n;
}

/* ------------------------------------------- emb eval: ranking metrics */

typedef struct ranked {
    float score;
    const char *id;
    size_t index;
} ranked;

/* trec_eval's comp_sim_docno: score descending, then docno descending */
static int trec_order(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score > y->score)
        return -1;
    if (x->score < y->score)
        return 1;
    return strcmp(y->id, x->id);
}

long cli_ir_rank(const char *const *ids, const float *scores, size_t n, size_t depth,
                 const char *exclude_id, size_t *order)
{
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (exclude_id && !strcmp(ids[i], exclude_id))
            continue;
        r[m].score = isnan(scores[i]) ? -1.0f : scores[i];
        r[m].id = ids[i];
        r[m].index = i;
        m++;
    }
    qsort(r, m, sizeof *r, trec_order);
    if (m > depth)
        m = depth;
    for (size_t i = 0; i < m; i++)
        order[i] = r[i].index;
    free(r);
    return (long)m;
}

static int by_grade_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x > y ? -1 : x < y;
}

int cli_ir_query_metrics(const long *ranked_rel, size_t n_ranked, const long *judged,
                         size_t n_judged, cli_ir_metrics *out)
{
    memset(out, 0, sizeof *out);
    long *pos = malloc((n_judged ? n_judged : 1) * sizeof *pos);
    if (!pos)
        return -1;
    size_t n_rel = 0;
    for (size_t i = 0; i < n_judged; i++)
        if (judged[i] >= 1)
            pos[n_rel++] = judged[i];
    if (n_rel == 0) { /* as trec_eval: every measure stays 0 */
        free(pos);
        return 0;
    }
    qsort(pos, n_rel, sizeof *pos, by_grade_desc);
    /* nDCG@10 (m_ndcg_cut.c): gain = grade, discount log2(rank + 1) */
    double dcg = 0, idcg = 0;
    for (size_t r = 0; r < n_ranked && r < 10; r++)
        if (ranked_rel[r] > 0)
            dcg += (double)ranked_rel[r] / log2((double)r + 2.0);
    for (size_t r = 0; r < n_rel && r < 10; r++)
        idcg += (double)pos[r] / log2((double)r + 2.0);
    out->ndcg_at_10 = dcg / idcg;
    /* recall@k (m_recall.c) and the reciprocal rank within the top 10 */
    size_t hits = 0;
    for (size_t r = 0; r < n_ranked && r < 100; r++) {
        if (ranked_rel[r] < 1)
            continue;
        hits++;
        if (r < 10 && out->mrr_at_10 == 0)
            out->mrr_at_10 = 1.0 / (double)(r + 1);
        if (r < 10)
            out->recall_at_10 = (double)hits / (double)n_rel;
    }
    out->recall_at_100 = (double)hits / (double)n_rel;
    free(pos);
    return 0;
}
