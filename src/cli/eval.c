/* emb eval -m MODEL.h5 --corpus corpus.jsonl --queries queries.jsonl
 *          --qrels qrels.tsv [--json] [--top K] [--batch N] [--keep-identical-ids]
 *
 * Dense retrieval on a BEIR-format set and its standard metrics, computed
 * as BEIR computes them through pytrec_eval (trec_eval 9): nDCG@10,
 * recall@10, recall@100 and MRR@10 (docs/evaluate.md has the exact
 * definitions; metrics.c computes them). Queries are embedded as queries
 * (EMB_KIND_QUERY), documents as passages (EMB_KIND_PASSAGE) from
 * (title + " " + text).strip(), as BEIR's SentenceBERT.encode_corpus builds
 * them; the score is the cosine. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* ------------------------------------------------------------ the data */

typedef struct item {
    char *id;
    char *text; /* what is embedded */
    size_t len;
    size_t line;
} item;

typedef struct items {
    size_t n, cap;
    item *v;
    size_t *by_id; /* indices sorted by id, for lookup */
} items;

static void items_free(items *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].text);
    }
    free(s->v);
    free(s->by_id);
    memset(s, 0, sizeof *s);
}

/* Python's str.isspace() code points, which str.strip() removes */
static int py_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

/* UTF-8 code point starting at s[i] (jansson has validated the text) */
static uint32_t utf8_at(const unsigned char *s, size_t i, size_t len, size_t *n)
{
    unsigned char c = s[i];
    size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (i + k > len)
        k = len - i;
    uint32_t v = k == 1 ? c : k == 2 ? (c & 0x1fu) : k == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (size_t j = 1; j < k; j++)
        v = (v << 6) | (s[i + j] & 0x3fu);
    *n = k;
    return v;
}

/* As Python's str.strip(): the [*b, *e) range without surrounding whitespace */
static void py_strip(const char *text, size_t len, size_t *b, size_t *e)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, j = len, k;
    while (i < j && py_space(utf8_at(s, i, len, &k)))
        i += k;
    while (j > i) {
        size_t start = j - 1;
        while (start > i && (s[start] & 0xc0) == 0x80)
            start--;
        if (!py_space(utf8_at(s, start, len, &k)))
            break;
        j = start;
    }
    *b = i;
    *e = j;
}

static const items *sort_ctx;
static int by_item_id(const void *a, const void *b)
{
    const item *x = &sort_ctx->v[*(const size_t *)a], *y = &sort_ctx->v[*(const size_t *)b];
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Index of the item with this id, or -1. */
static long items_find(const items *s, const char *id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[s->by_id[mid]].id, id);
        if (c == 0)
            return (long)s->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Reads a BEIR corpus (corpus = 1: {"_id", "title", "text"}, embedded as
 * (title + " " + text).strip()) or query file ({"_id", "text"}, embedded as
 * given). Ids must be unique; an integer _id is taken as its decimal text. */
static int read_jsonl(const char *path, int corpus, items *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "emb eval: cannot open '%s'\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)got, JSON_ALLOW_NUL, &err);
        json_t *jid = json_is_object(j) ? json_object_get(j, "_id") : NULL;
        json_t *jtext = json_is_object(j) ? json_object_get(j, "text") : NULL;
        json_t *jtitle = json_is_object(j) ? json_object_get(j, "title") : NULL;
        char idbuf[32];
        const char *id = NULL;
        if (json_is_string(jid))
            id = json_string_value(jid);
        else if (json_is_integer(jid)) {
            snprintf(idbuf, sizeof idbuf, "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
            id = idbuf;
        }
        const char *why = NULL;
        if (!j)
            why = strspn(line, " \t\r\n") == (size_t)got ? "blank line" : "not valid JSON";
        else if (!json_is_object(j))
            why = "expected a JSON object";
        else if (!id || !*id)
            why = "missing or empty \"_id\" (a string)";
        else if (!json_is_string(jtext))
            why = "missing \"text\" (a string)";
        else if (corpus && jtitle && !json_is_string(jtitle) && !json_is_null(jtitle))
            why = "\"title\" must be a string";
        else if (strlen(id) != (json_is_string(jid) ? json_string_length(jid) : strlen(id)))
            why = "\"_id\" contains U+0000";
        if (why) {
            fprintf(stderr, "emb eval: %s:%zu: %s%s%s\n", path, lineno, why,
                    !j && *err.text ? ": " : "", !j ? err.text : "");
            json_decref(j);
            rc = -1;
            break;
        }
        const char *text = json_string_value(jtext);
        size_t tlen = json_string_length(jtext);
        char *emb = NULL;
        size_t elen = 0;
        if (corpus) {
            const char *title = json_is_string(jtitle) ? json_string_value(jtitle) : "";
            size_t ilen = json_is_string(jtitle) ? json_string_length(jtitle) : 0;
            char *joined = malloc(ilen + 1 + tlen + 1);
            if (joined) {
                memcpy(joined, title, ilen);
                joined[ilen] = ' ';
                memcpy(joined + ilen + 1, text, tlen);
                size_t b, e;
                py_strip(joined, ilen + 1 + tlen, &b, &e);
                emb = cli_strndup(joined + b, e - b);
                elen = e - b;
                free(joined);
            }
        } else {
            emb = cli_strndup(text, tlen);
            elen = tlen;
        }
        char *idc = cli_strndup(id, strlen(id));
        json_decref(j);
        if (out->n == out->cap && emb && idc) {
            size_t ncap = out->cap ? 2 * out->cap : 256;
            item *v = realloc(out->v, ncap * sizeof *v);
            if (v) {
                out->v = v;
                out->cap = ncap;
            }
        }
        if (!emb || !idc || out->n == out->cap) {
            free(emb);
            free(idc);
            fprintf(stderr, "emb eval: out of memory reading '%s'\n", path);
            rc = -1;
            break;
        }
        out->v[out->n++] = (item){ idc, emb, elen, lineno };
    }
    free(line);
    fclose(f);
    if (rc == 0 && out->n == 0) {
        fprintf(stderr, "emb eval: %s: no entries\n", path);
        rc = -1;
    }
    if (rc == 0) {
        out->by_id = malloc(out->n * sizeof *out->by_id);
        if (!out->by_id) {
            fprintf(stderr, "emb eval: out of memory\n");
            rc = -1;
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < out->n; i++)
            out->by_id[i] = i;
        sort_ctx = out;
        qsort(out->by_id, out->n, sizeof *out->by_id, by_item_id);
        for (size_t i = 1; i < out->n; i++) {
            const item *a = &out->v[out->by_id[i - 1]], *b = &out->v[out->by_id[i]];
            if (!strcmp(a->id, b->id)) {
                fprintf(stderr, "emb eval: %s:%zu: duplicate \"_id\" '%s' (first on line %zu)\n",
                        path, b->line, b->id, a->line);
                rc = -1;
                break;
            }
        }
    }
    if (rc != 0)
        items_free(out);
    return rc;
}

typedef struct judgment {
    size_t query; /* index into the queries */
    char *doc;
    long grade;
    size_t line;
} judgment;

static int by_query_doc_line(const void *a, const void *b)
{
    const judgment *x = a, *y = b;
    if (x->query != y->query)
        return x->query < y->query ? -1 : 1;
    int c = strcmp(x->doc, y->doc);
    if (c)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

/* Reads BEIR qrels: a header line, then "query-id<TAB>corpus-id<TAB>score"
 * with an integer score. Returns judgments sorted by (query, doc), a
 * repeated (query, doc) keeping its last line as BEIR's dict does. */
static int read_qrels(const char *path, const items *queries, judgment **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "emb eval: cannot open '%s'\n", path);
        return -1;
    }
    judgment *v = NULL;
    size_t n = 0, cap = 0, lineno = 0, linecap = 0;
    char *line = NULL;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        size_t len = cli_chomp(line, (size_t)got);
        line[len] = '\0';
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        char *end = NULL;
        long grade = 0;
        const char *why = NULL;
        if (strlen(line) != len)
            why = "contains a NUL byte";
        else if (!t1 || !t2 || strchr(t2 + 1, '\t'))
            why = "expected query-id<TAB>corpus-id<TAB>score";
        else {
            *t1 = *t2 = '\0';
            if (!*line || !t1[1])
                why = "empty query-id or corpus-id";
            else {
                grade = strtol(t2 + 1, &end, 10);
                if (end == t2 + 1 || *end || grade < -1000000 || grade > 1000000)
                    why = "the score must be an integer";
            }
        }
        if (lineno == 1) { /* the header, skipped as BEIR does */
            if (!why)
                fprintf(stderr, "emb eval: warning: %s:1 looks like a judgment, but the first "
                                "line is the header and is skipped\n", path);
            continue;
        }
        if (why) {
            fprintf(stderr, "emb eval: %s:%zu: %s\n", path, lineno, why);
            rc = -1;
            break;
        }
        long q = items_find(queries, line);
        if (q < 0) {
            fprintf(stderr, "emb eval: %s:%zu: query id '%s' is not in the queries file\n", path,
                    lineno, line);
            rc = -1;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            judgment *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = -1;
                fprintf(stderr, "emb eval: out of memory\n");
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[n].doc = cli_strndup(t1 + 1, strlen(t1 + 1));
        if (!v[n].doc) {
            rc = -1;
            fprintf(stderr, "emb eval: out of memory\n");
            break;
        }
        v[n].query = (size_t)q;
        v[n].grade = grade;
        v[n].line = lineno;
        n++;
    }
    free(line);
    fclose(f);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "emb eval: %s: no judgments after the header line\n", path);
        rc = -1;
    }
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i].doc);
        free(v);
        return -1;
    }
    qsort(v, n, sizeof *v, by_query_doc_line);
    size_t m = 0; /* keep the last of each (query, doc) run */
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && v[i + 1].query == v[i].query && !strcmp(v[i + 1].doc, v[i].doc)) {
            free(v[i].doc);
            continue;
        }
        v[m++] = v[i];
    }
    *out = v;
    *n_out = m;
    return 0;
}

/* grade of `doc` among the query's judgments v[0..n) (sorted by doc), or 0 */
static long grade_of(const judgment *v, size_t n, const char *doc)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid].doc, doc);
        if (c == 0)
            return v[mid].grade;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ------------------------------------------------------------ the run */

typedef struct eval_result {
    cli_ir_metrics mean;
    size_t evaluated, without_relevant, unjudged_queries, missing_docs;
    size_t texts, tokens;
    double seconds;
} eval_result;

static emb_status encode_items(const emb_model *m, const items *s, emb_kind kind, size_t batch,
                               float *out, const char *label, eval_result *r)
{
    emb_text *t = malloc(s->n * sizeof *t);
    if (!t)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < s->n; i++)
        t[i] = (emb_text){ s->v[i].text, s->v[i].len };
    emb_status st = cli_count_tokens(m, t, s->n, kind, &r->tokens);
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = kind;
    cli_progress p;
    cli_progress_start(&p, label, s->n);
    if (st == EMB_OK)
        st = cli_encode_timed(m, t, s->n, &o, batch, out, &p, &r->seconds);
    cli_progress_end(&p);
    r->texts += s->n;
    free(t);
    return st;
}

static int evaluate(const emb_model *m, const items *corpus, const items *queries,
                    const judgment *qrels, size_t n_qrels, size_t depth, size_t batch,
                    int keep_identical, eval_result *r)
{
    size_t dim = emb_model_dim(m), nd = corpus->n, nq = queries->n;
    float *dv = NULL, *qv = NULL, *scores = NULL;
    size_t *order = NULL;
    long *rel = NULL, *judged = NULL;
    const char **ids = NULL;
    cli_ir_metrics sum = { 0, 0, 0, 0 };
    size_t qi = 0; /* row of qv */
    int rc = -1;
    emb_status st = EMB_OK;
    if (dim == 0) {
        fprintf(stderr, "emb eval: the model has no weights (tokenizer-only)\n");
        return -1;
    }
    if (nd > ((size_t)-1 / sizeof(float)) / dim || nq > ((size_t)-1 / sizeof(float)) / dim) {
        fprintf(stderr, "emb eval: the set is too large\n");
        return -1;
    }
    dv = malloc(nd * dim * sizeof *dv);
    qv = malloc(nq * dim * sizeof *qv);
    scores = malloc(nd * sizeof *scores);
    order = malloc(nd * sizeof *order);
    rel = malloc(nd * sizeof *rel);
    judged = malloc(n_qrels * sizeof *judged);
    ids = malloc(nd * sizeof *ids);
    if (!dv || !qv || !scores || !order || !rel || !judged || !ids) {
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    for (size_t i = 0; i < nd; i++)
        ids[i] = corpus->v[i].id;
    for (size_t i = 0; i < n_qrels; i++)
        if (items_find(corpus, qrels[i].doc) < 0)
            r->missing_docs++;
    /* only judged queries are embedded and evaluated, as in BEIR */
    st = encode_items(m, corpus, EMB_KIND_PASSAGE, batch, dv, "corpus", r);
    if (st != EMB_OK)
        goto fail;
    {
        items judged_q = { 0, 0, NULL, NULL };
        judged_q.v = malloc(nq * sizeof *judged_q.v);
        if (!judged_q.v) {
            st = EMB_ERR_NO_MEMORY;
            goto fail;
        }
        size_t k = 0;
        for (size_t i = 0; i < n_qrels; i++)
            if (i == 0 || qrels[i].query != qrels[i - 1].query)
                judged_q.v[k++] = queries->v[qrels[i].query];
        judged_q.n = k;
        st = encode_items(m, &judged_q, EMB_KIND_QUERY, batch, qv, "queries", r);
        free(judged_q.v);
        if (st != EMB_OK)
            goto fail;
        r->unjudged_queries = nq - k;
    }
    for (size_t i = 0; i < n_qrels; qi++) {
        size_t j = i;
        while (j < n_qrels && qrels[j].query == qrels[i].query)
            j++;
        const item *q = &queries->v[qrels[i].query];
        for (size_t d = 0; d < nd && st == EMB_OK; d++)
            st = emb_cosine(qv + qi * dim, dv + d * dim, dim, &scores[d]);
        if (st != EMB_OK)
            goto fail;
        long n_ranked = cli_ir_rank(ids, scores, nd, depth, keep_identical ? NULL : q->id, order);
        if (n_ranked < 0) {
            st = EMB_ERR_NO_MEMORY;
            goto fail;
        }
        for (long k = 0; k < n_ranked; k++)
            rel[k] = grade_of(qrels + i, j - i, ids[order[k]]);
        size_t n_rel = 0;
        for (size_t k = i; k < j; k++) {
            judged[k - i] = qrels[k].grade;
            n_rel += qrels[k].grade >= 1;
        }
        cli_ir_metrics one;
        if (cli_ir_query_metrics(rel, (size_t)n_ranked, judged, j - i, &one) != 0) {
            st = EMB_ERR_NO_MEMORY;
            goto fail;
        }
        sum.ndcg_at_10 += one.ndcg_at_10;
        sum.recall_at_10 += one.recall_at_10;
        sum.recall_at_100 += one.recall_at_100;
        sum.mrr_at_10 += one.mrr_at_10;
        r->evaluated++;
        r->without_relevant += n_rel == 0;
        i = j;
    }
    double n = (double)r->evaluated;
    r->mean.ndcg_at_10 = sum.ndcg_at_10 / n;
    r->mean.recall_at_10 = sum.recall_at_10 / n;
    r->mean.recall_at_100 = sum.recall_at_100 / n;
    r->mean.mrr_at_10 = sum.mrr_at_10 / n;
    rc = 0;
fail:
    if (st != EMB_OK) {
        cli_fail("eval", st);
        rc = -1;
    }
    free(dv);
    free(qv);
    free(scores);
    free(order);
    free(rel);
    free(judged);
    free(ids);
    return rc;
}

/* ----------------------------------------------------------------- output */

static void print_result(int json, const char *model_path, size_t n_docs, size_t depth,
                         const eval_result *r)
{
    double tps = r->seconds > 0 ? (double)r->texts / r->seconds : 0.0;
    double kps = r->seconds > 0 ? (double)r->tokens / r->seconds : 0.0;
    if (json) {
        printf("{\"model\": ");
        cli_json_string(stdout, model_path, strlen(model_path));
        printf(", \"ndcg_at_10\": %.6f, \"recall_at_10\": %.6f, \"recall_at_100\": %.6f"
               ", \"mrr_at_10\": %.6f, \"queries_evaluated\": %zu"
               ", \"queries_without_relevant\": %zu, \"queries_unjudged_skipped\": %zu"
               ", \"corpus_docs\": %zu, \"judged_docs_missing_from_corpus\": %zu"
               ", \"depth\": %zu, \"texts\": %zu, \"tokens\": %zu, \"encode_seconds\": %.6f"
               ", \"texts_per_second\": %.1f, \"tokens_per_second\": %.1f}\n",
               r->mean.ndcg_at_10, r->mean.recall_at_10, r->mean.recall_at_100,
               r->mean.mrr_at_10, r->evaluated, r->without_relevant, r->unjudged_queries,
               n_docs, r->missing_docs, depth, r->texts, r->tokens, r->seconds, tps, kps);
        return;
    }
    printf("model       %s\n", model_path);
    printf("queries     %zu evaluated", r->evaluated);
    if (r->without_relevant)
        printf(" (%zu without a relevant document, scored 0)", r->without_relevant);
    if (r->unjudged_queries)
        printf("; %zu without judgments skipped", r->unjudged_queries);
    printf("\ncorpus      %zu documents", n_docs);
    if (r->missing_docs)
        printf(" (%zu judged ids not in the corpus)", r->missing_docs);
    printf("\n\nnDCG@10     %.4f\nrecall@10   %.4f\nrecall@100  %.4f\nMRR@10      %.4f\n\n",
           r->mean.ndcg_at_10, r->mean.recall_at_10, r->mean.recall_at_100, r->mean.mrr_at_10);
    printf("encode      %zu texts, %zu tokens in %.2f s (%.1f texts/s, %.0f tokens/s)\n",
           r->texts, r->tokens, r->seconds, tps, kps);
}

/* ------------------------------------------------------------ subcommand */

int cli_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "corpus", required_argument, NULL, 'c' },
        { "queries", required_argument, NULL, 'q' },
        { "qrels", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "top", required_argument, NULL, 'k' },
        { "batch", required_argument, NULL, 'b' },
        { "keep-identical-ids", no_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    const char *model = NULL, *corpus_path = NULL, *queries_path = NULL, *qrels_path = NULL;
    int json = 0, keep_identical = 0, c;
    long depth = 1000, batch = 32;
    while ((c = getopt_long(argc, argv, "m:k:b:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'c': corpus_path = optarg; break;
        case 'q': queries_path = optarg; break;
        case 'r': qrels_path = optarg; break;
        case 'j': json = 1; break;
        case 'i': keep_identical = 1; break;
        case 'k':
        case 'b': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1) {
                fprintf(stderr, "emb eval: --%s must be a whole number >= 1\n",
                        c == 'k' ? "top" : "batch");
                return 2;
            }
            *(c == 'k' ? &depth : &batch) = v;
            break;
        }
        default: return 2;
        }
    }
    if (optind != argc || !corpus_path || !queries_path || !qrels_path) {
        fprintf(stderr, "usage: emb eval [-m MODEL] --corpus corpus.jsonl --queries queries.jsonl "
                        "--qrels qrels.tsv [--json] [--top K] [--batch N] "
                        "[--keep-identical-ids]\n");
        return 2;
    }
    items corpus, queries;
    judgment *qrels = NULL;
    size_t n_qrels = 0;
    if (read_jsonl(corpus_path, 1, &corpus) != 0)
        return 1;
    if (read_jsonl(queries_path, 0, &queries) != 0) {
        items_free(&corpus);
        return 1;
    }
    int rc = 1;
    emb_model *m = NULL;
    if (read_qrels(qrels_path, &queries, &qrels, &n_qrels) != 0)
        goto done;
    m = cli_open_model(model);
    if (!m)
        goto done;
    eval_result r;
    memset(&r, 0, sizeof r);
    if (evaluate(m, &corpus, &queries, qrels, n_qrels, (size_t)depth, (size_t)batch,
                 keep_identical, &r) != 0)
        goto done;
    print_result(json, cli_model_path(model), corpus.n, (size_t)depth, &r);
    rc = 0;
done:
    emb_model_close(m);
    for (size_t i = 0; i < n_qrels; i++)
        free(qrels[i].doc);
    free(qrels);
    items_free(&corpus);
    items_free(&queries);
    return rc;
}
