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

/* A line's "_id": a string, or an integer as its decimal text (in idbuf);
 * NULL otherwise. */
static const char *entry_id(json_t *jid, char idbuf[32])
{
    if (json_is_string(jid))
        return json_string_value(jid);
    if (json_is_integer(jid)) {
        snprintf(idbuf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
        return idbuf;
    }
    return NULL;
}

/* Why a line (got bytes, j its JSON or NULL, id from entry_id) is not an
 * entry of a corpus / query file, or NULL when it is one. */
static const char *entry_problem(const char *line, ssize_t got, json_t *j, const char *id,
                                 int corpus)
{
    json_t *jid = json_object_get(j, "_id");
    json_t *jtitle = json_object_get(j, "title");
    if (!j)
        return strspn(line, " \t\r\n") == (size_t)got ? "blank line" : "not valid JSON";
    if (!json_is_object(j))
        return "expected a JSON object";
    if (!id || !*id)
        return "missing or empty \"_id\" (a string)";
    if (!json_is_string(json_object_get(j, "text")))
        return "missing \"text\" (a string)";
    if (corpus && jtitle && !json_is_string(jtitle) && !json_is_null(jtitle))
        return "\"title\" must be a string";
    if (strlen(id) != (json_is_string(jid) ? json_string_length(jid) : strlen(id)))
        return "\"_id\" contains U+0000";
    return NULL;
}

/* What an entry embeds: a query's "text"; a document's
 * (title + " " + text).strip() as BEIR. malloc'ed (*len bytes), or NULL. */
static char *entry_text(json_t *j, int corpus, size_t *len)
{
    json_t *jtext = json_object_get(j, "text"), *jtitle = json_object_get(j, "title");
    const char *text = json_string_value(jtext);
    size_t tlen = json_string_length(jtext);
    if (!corpus) {
        *len = tlen;
        return cli_strndup(text, tlen);
    }
    const char *title = json_is_string(jtitle) ? json_string_value(jtitle) : "";
    size_t ilen = json_is_string(jtitle) ? json_string_length(jtitle) : 0;
    char *joined = malloc(ilen + 1 + tlen + 1);
    if (!joined)
        return NULL;
    memcpy(joined, title, ilen);
    joined[ilen] = ' ';
    memcpy(joined + ilen + 1, text, tlen);
    size_t b, e;
    py_strip(joined, ilen + 1 + tlen, &b, &e);
    char *emb = cli_strndup(joined + b, e - b);
    *len = e - b;
    free(joined);
    return emb;
}

/* Append an item, taking id and text; -1 when out of memory (then nothing
 * is taken). */
static int items_push(items *s, char *id, char *text, size_t len, size_t line)
{
    item *v = cli_grow(s->v, &s->cap, s->n, sizeof *v, 256);
    if (!v)
        return -1;
    s->v = v;
    s->v[s->n++] = (item){ id, text, len, line };
    return 0;
}

/* One line of a corpus / query file into `out`: 0, or -1 (message
 * printed). */
static int read_entry(const char *path, size_t lineno, const char *line, ssize_t got, int corpus,
                      items *out)
{
    json_error_t err;
    json_t *j = json_loadb(line, (size_t)got, JSON_ALLOW_NUL, &err);
    json_t *jo = json_is_object(j) ? j : NULL;
    char idbuf[32];
    const char *id = entry_id(json_object_get(jo, "_id"), idbuf);
    const char *why = entry_problem(line, got, j, id, corpus);
    if (why) {
        fprintf(stderr, "emb eval: %s:%zu: %s%s%s\n", path, lineno, why,
                !j && *err.text ? ": " : "", !j ? err.text : "");
        json_decref(j);
        return -1;
    }
    size_t elen = 0;
    char *emb = entry_text(j, corpus, &elen);
    char *idc = cli_strndup(id, strlen(id));
    json_decref(j);
    if (!emb || !idc || items_push(out, idc, emb, elen, lineno) != 0) {
        free(emb);
        free(idc);
        fprintf(stderr, "emb eval: out of memory reading '%s'\n", path);
        return -1;
    }
    return 0;
}

/* out->by_id sorted by id (then line), each id once: 0, or -1 (message
 * printed). */
static int items_index(const char *path, items *out)
{
    out->by_id = malloc(out->n * sizeof *out->by_id);
    if (!out->by_id) {
        fprintf(stderr, "emb eval: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < out->n; i++)
        out->by_id[i] = i;
    sort_ctx = out;
    qsort(out->by_id, out->n, sizeof *out->by_id, by_item_id);
    for (size_t i = 1; i < out->n; i++) {
        const item *a = &out->v[out->by_id[i - 1]], *b = &out->v[out->by_id[i]];
        if (!strcmp(a->id, b->id)) {
            fprintf(stderr, "emb eval: %s:%zu: duplicate \"_id\" '%s' (first on line %zu)\n",
                    path, b->line, b->id, a->line);
            return -1;
        }
    }
    return 0;
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
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0)
        rc = read_entry(path, ++lineno, line, got, corpus, out);
    free(line);
    fclose(f);
    if (rc == 0 && out->n == 0) {
        fprintf(stderr, "emb eval: %s: no entries\n", path);
        rc = -1;
    }
    if (rc == 0)
        rc = items_index(path, out);
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

/* One qrels line (NUL-terminated at len, cut in place at its tabs): the
 * query id stays at `line`, *doc and *grade are set. NULL, or why the line
 * is not "query-id<TAB>corpus-id<TAB>score" with an integer score. */
static const char *qrels_parse_line(char *line, size_t len, char **doc, long *grade)
{
    char *t1 = strchr(line, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    char *end = NULL;
    *grade = 0;
    if (strlen(line) != len)
        return "contains a NUL byte";
    if (!t1 || !t2 || strchr(t2 + 1, '\t'))
        return "expected query-id<TAB>corpus-id<TAB>score";
    *t1 = *t2 = '\0';
    *doc = t1 + 1;
    if (!*line || !t1[1])
        return "empty query-id or corpus-id";
    *grade = strtol(t2 + 1, &end, 10);
    if (end == t2 + 1 || *end || *grade < -1000000 || *grade > 1000000)
        return "the score must be an integer";
    return NULL;
}

/* A growing array of judgments. */
typedef struct judgments {
    judgment *v;
    size_t n, cap;
} judgments;

/* Append a judgment (doc copied): 0, or -1 (message printed). */
static int judgments_push(judgments *j, size_t query, const char *doc, long grade, size_t line)
{
    judgment *nv = cli_grow(j->v, &j->cap, j->n, sizeof *nv, 256);
    if (!nv) {
        fprintf(stderr, "emb eval: out of memory\n");
        return -1;
    }
    j->v = nv;
    char *d = cli_strndup(doc, strlen(doc));
    if (!d) {
        fprintf(stderr, "emb eval: out of memory\n");
        return -1;
    }
    j->v[j->n++] = (judgment){ query, d, grade, line };
    return 0;
}

/* Sort by (query, doc) and keep the last line of each (query, doc), as
 * BEIR's dict does; the new count. */
static size_t judgments_dedupe(judgment *v, size_t n)
{
    qsort(v, n, sizeof *v, by_query_doc_line);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && v[i + 1].query == v[i].query && !strcmp(v[i + 1].doc, v[i].doc)) {
            free(v[i].doc);
            continue;
        }
        v[m++] = v[i];
    }
    return m;
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
    judgments js = { NULL, 0, 0 };
    size_t lineno = 0, linecap = 0;
    char *line = NULL;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        size_t len = cli_chomp(line, (size_t)got);
        line[len] = '\0';
        char *doc = NULL;
        long grade;
        const char *why = qrels_parse_line(line, len, &doc, &grade);
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
        if ((rc = judgments_push(&js, (size_t)q, doc, grade, lineno)) != 0)
            break;
    }
    free(line);
    fclose(f);
    if (rc == 0 && js.n == 0) {
        fprintf(stderr, "emb eval: %s: no judgments after the header line\n", path);
        rc = -1;
    }
    if (rc != 0) {
        for (size_t i = 0; i < js.n; i++)
            free(js.v[i].doc);
        free(js.v);
        return -1;
    }
    *out = js.v;
    *n_out = judgments_dedupe(js.v, js.n);
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

/* Only judged queries are embedded and evaluated, as in BEIR: each query
 * of qrels (sorted by query) once, in that order, into qv's rows. */
static emb_status encode_judged_queries(const emb_model *m, const items *queries,
                                        const judgment *qrels, size_t n_qrels, size_t batch,
                                        float *qv, eval_result *r)
{
    items judged_q = { 0, 0, NULL, NULL };
    judged_q.v = malloc(queries->n * sizeof *judged_q.v);
    if (!judged_q.v)
        return EMB_ERR_NO_MEMORY;
    size_t k = 0;
    for (size_t i = 0; i < n_qrels; i++)
        if (i == 0 || qrels[i].query != qrels[i - 1].query)
            judged_q.v[k++] = queries->v[qrels[i].query];
    judged_q.n = k;
    emb_status st = encode_items(m, &judged_q, EMB_KIND_QUERY, batch, qv, "queries", r);
    free(judged_q.v);
    if (st == EMB_OK)
        r->unjudged_queries = queries->n - k;
    return st;
}

/* Scratch of one evaluation, sized for the corpus and the judgments. */
typedef struct eval_scratch {
    float *dv, *qv;   /* [docs, dim], [queries, dim] */
    float *scores;    /* [docs] */
    size_t *order;    /* [docs] */
    long *rel;        /* [docs] */
    long *judged;     /* [judgments] */
    const char **ids; /* [docs], the corpus ids */
} eval_scratch;

static void eval_scratch_free(eval_scratch *s)
{
    free(s->dv);
    free(s->qv);
    free(s->scores);
    free(s->order);
    free(s->rel);
    free(s->judged);
    free(s->ids);
}

/* 0, or -1 with some left NULL (eval_scratch_free it either way). */
static int eval_scratch_alloc(eval_scratch *s, const items *corpus, size_t nq, size_t dim,
                              size_t n_qrels)
{
    size_t nd = corpus->n;
    s->dv = malloc(nd * dim * sizeof *s->dv);
    s->qv = malloc(nq * dim * sizeof *s->qv);
    s->scores = malloc(nd * sizeof *s->scores);
    s->order = malloc(nd * sizeof *s->order);
    s->rel = malloc(nd * sizeof *s->rel);
    s->judged = malloc(n_qrels * sizeof *s->judged);
    s->ids = malloc(nd * sizeof *s->ids);
    if (!s->dv || !s->qv || !s->scores || !s->order || !s->rel || !s->judged || !s->ids)
        return -1;
    for (size_t i = 0; i < nd; i++)
        s->ids[i] = corpus->v[i].id;
    return 0;
}

/* One query's metrics (*one) against the whole corpus: cosine to every
 * document (query row q, its judgments qrels[0..nj) sorted by doc), the
 * first `depth` in trec_eval's order, graded by the judgments; *n_rel its
 * relevant judgments. */
static emb_status score_query(const eval_scratch *s, size_t dim, size_t nd, size_t q,
                              const item *query, const judgment *qrels, size_t nj, size_t depth,
                              int keep_identical, cli_ir_metrics *one, size_t *n_rel)
{
    emb_status st = EMB_OK;
    for (size_t d = 0; d < nd && st == EMB_OK; d++)
        st = emb_cosine(s->qv + q * dim, s->dv + d * dim, dim, &s->scores[d]);
    if (st != EMB_OK)
        return st;
    long n_ranked = cli_ir_rank(s->ids, s->scores, nd, depth, keep_identical ? NULL : query->id,
                                s->order);
    if (n_ranked < 0)
        return EMB_ERR_NO_MEMORY;
    for (long k = 0; k < n_ranked; k++)
        s->rel[k] = grade_of(qrels, nj, s->ids[s->order[k]]);
    *n_rel = 0;
    for (size_t k = 0; k < nj; k++) {
        s->judged[k] = qrels[k].grade;
        *n_rel += qrels[k].grade >= 1;
    }
    if (cli_ir_query_metrics(s->rel, (size_t)n_ranked, s->judged, nj, one) != 0)
        return EMB_ERR_NO_MEMORY;
    return EMB_OK;
}

/* Embed the corpus and the judged queries, score every judged query and
 * average its metrics into r->mean: 0, or -1 (message printed). */
static int evaluate(const emb_model *m, const items *corpus, const items *queries,
                    const judgment *qrels, size_t n_qrels, size_t depth, size_t batch,
                    int keep_identical, eval_result *r)
{
    size_t dim = emb_model_dim(m), nd = corpus->n, nq = queries->n;
    eval_scratch s = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    cli_ir_metrics sum = { 0, 0, 0, 0 };
    emb_status st = EMB_OK;
    if (dim == 0) {
        fprintf(stderr, "emb eval: the model has no weights (tokenizer-only)\n");
        return -1;
    }
    if (nd > ((size_t)-1 / sizeof(float)) / dim || nq > ((size_t)-1 / sizeof(float)) / dim) {
        fprintf(stderr, "emb eval: the set is too large\n");
        return -1;
    }
    if (eval_scratch_alloc(&s, corpus, nq, dim, n_qrels) != 0)
        st = EMB_ERR_NO_MEMORY;
    for (size_t i = 0; st == EMB_OK && i < n_qrels; i++)
        if (items_find(corpus, qrels[i].doc) < 0)
            r->missing_docs++;
    if (st == EMB_OK)
        st = encode_items(m, corpus, EMB_KIND_PASSAGE, batch, s.dv, "corpus", r);
    if (st == EMB_OK)
        st = encode_judged_queries(m, queries, qrels, n_qrels, batch, s.qv, r);
    for (size_t i = 0, qi = 0; st == EMB_OK && i < n_qrels; qi++) {
        size_t j = i;
        while (j < n_qrels && qrels[j].query == qrels[i].query)
            j++;
        cli_ir_metrics one;
        size_t n_rel = 0;
        st = score_query(&s, dim, nd, qi, &queries->v[qrels[i].query], qrels + i, j - i, depth,
                         keep_identical, &one, &n_rel);
        if (st != EMB_OK)
            break;
        sum.ndcg_at_10 += one.ndcg_at_10;
        sum.recall_at_10 += one.recall_at_10;
        sum.recall_at_100 += one.recall_at_100;
        sum.mrr_at_10 += one.mrr_at_10;
        r->evaluated++;
        r->without_relevant += n_rel == 0;
        i = j;
    }
    eval_scratch_free(&s);
    if (st != EMB_OK) {
        cli_fail("eval", st);
        return -1;
    }
    double n = (double)r->evaluated;
    r->mean.ndcg_at_10 = sum.ndcg_at_10 / n;
    r->mean.recall_at_10 = sum.recall_at_10 / n;
    r->mean.recall_at_100 = sum.recall_at_100 / n;
    r->mean.mrr_at_10 = sum.mrr_at_10 / n;
    return 0;
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
