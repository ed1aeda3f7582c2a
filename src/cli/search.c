/* emb search [-m MODEL] [--top K] [--jsonl] [--compute f32|bf16] QUERY < passages.txt
 * Embeds QUERY as a query and each stdin line as a passage and prints the
 * top K lines, best first: "score<TAB>text" (or JSON lines).
 * emb search [-m MODEL] --index VECTORS.h5 [--top K] [--jsonl]
 *            [--using f32|int8|binary] [--rescore N] [--timing] QUERY...
 * searches a vectors file instead (search_index.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct hit {
    size_t index;
    float score;
} hit;

static int by_score(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Cosine of the query (as EMB_KIND_QUERY) to each passage (as
 * EMB_KIND_PASSAGE) into hits[0..n) in passage order; pv has room for
 * (n + 1) vectors. */
static emb_status search_score(const emb_model *m, const char *query, const cli_texts *texts,
                               float *pv, hit *hits)
{
    size_t dim = emb_model_dim(m);
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = EMB_KIND_QUERY;
    emb_text q = { query, strlen(query) };
    emb_status st = emb_encode(m, &q, 1, &o, pv);
    if (st == EMB_OK && texts->n) {
        o.kind = EMB_KIND_PASSAGE;
        st = emb_encode(m, texts->t, texts->n, &o, pv + dim);
    }
    for (size_t i = 0; st == EMB_OK && i < texts->n; i++) {
        hits[i].index = i;
        st = emb_cosine(pv, pv + (i + 1) * dim, dim, &hits[i].score);
    }
    return st;
}

/* The `top` best passages, best first (ties: earlier line first), as
 * "score<TAB>text" or JSON lines. */
static void search_print(const cli_texts *texts, hit *hits, size_t top, int jsonl)
{
    qsort(hits, texts->n, sizeof *hits, by_score);
    for (size_t i = 0; i < texts->n && i < top; i++) {
        const emb_text *t = &texts->t[hits[i].index];
        if (jsonl) {
            printf("{\"rank\": %zu, \"score\": %.6f, \"line\": %zu, \"text\": ", i + 1,
                   (double)hits[i].score, hits[i].index + 1);
            cli_json_string(stdout, t->data, t->len);
            puts("}");
        } else {
            printf("%.4f\t%.*s\n", (double)hits[i].score, (int)t->len, t->data);
        }
    }
}

/* A count option's value, or 0 after printing that it must be at least 1. */
static long at_least_one(const char *arg, const char *option)
{
    long v = strtol(arg, NULL, 10);
    if (v < 1) {
        fprintf(stderr, "emb search: %s must be at least 1\n", option);
        return 0;
    }
    return v;
}

int cli_search(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "top", required_argument, NULL, 'k' },
        { "jsonl", no_argument, NULL, 'j' },
        { "compute", required_argument, NULL, 'c' },
        { "index", required_argument, NULL, 'i' },
        { "using", required_argument, NULL, 'u' },
        { "rescore", required_argument, NULL, 'r' },
        { "timing", no_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    cli_search_args a = { .form = CLI_FORM_F32 };
    long rescore = 0;
    const char *model = NULL;
    long top = 5;
    int jsonl = 0;
    emb_compute compute = EMB_COMPUTE_F32;
    int c;
    while ((c = getopt_long(argc, argv, "m:k:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'k':
            if ((top = at_least_one(optarg, "--top")) < 1)
                return 2;
            break;
        case 'j': jsonl = 1; break;
        case 'c':
            if (cli_parse_compute(optarg, &compute) != 0)
                return 2;
            break;
        case 'i': a.index = optarg; break;
        case 't': a.timing = 1; break;
        case 'u':
            if (!strcmp(optarg, "f32"))
                a.form = CLI_FORM_F32;
            else if (!strcmp(optarg, "int8"))
                a.form = CLI_FORM_INT8;
            else if (!strcmp(optarg, "binary"))
                a.form = CLI_FORM_BINARY;
            else {
                fprintf(stderr, "emb search: --using must be f32, int8 or binary\n");
                return 2;
            }
            break;
        case 'r':
            if ((rescore = at_least_one(optarg, "--rescore")) < 1)
                return 2;
            break;
        default: return 2;
        }
    }
    if (a.index) {
        if (argc - optind < 1) {
            fprintf(stderr, "usage: emb search [-m MODEL] --index VECTORS.h5 [--top K] [--jsonl] "
                            "[--using f32|int8|binary] [--rescore N] [--timing] QUERY...\n");
            return 2;
        }
        if (rescore && rescore < top) {
            fprintf(stderr, "emb search: --rescore (%ld) must be at least --top (%ld)\n", rescore,
                    top);
            return 2;
        }
        a.model = model;
        a.top = (size_t)top;
        a.rescore = (size_t)rescore;
        a.jsonl = jsonl;
        a.compute = compute;
        a.queries = argv + optind;
        a.n_queries = (size_t)(argc - optind);
        return cli_search_index(&a);
    }
    if (argc - optind != 1 || rescore || a.form != CLI_FORM_F32 || a.timing) {
        fprintf(stderr, "usage: emb search [-m MODEL] [--top K] [--jsonl] [--compute f32|bf16] "
                        "QUERY < passages.txt\n"
                        "       emb search [-m MODEL] --index VECTORS.h5 [--top K] [--jsonl] "
                        "[--using f32|int8|binary] [--rescore N] [--timing] QUERY...\n");
        return 2;
    }
    const char *query = argv[optind];
    emb_model *m;
    cli_texts all, texts = { 0, 0, NULL };
    if (cli_open_with_texts_compute(model, compute, stdin, 0, &m, &all) != 0)
        return 1;
    /* blank lines are not passages */
    texts.t = malloc((all.n ? all.n : 1) * sizeof *texts.t);
    for (size_t i = 0; texts.t && i < all.n; i++)
        if (all.t[i].len > 0)
            texts.t[texts.n++] = all.t[i];
    size_t dim = emb_model_dim(m);
    float *pv = malloc((texts.n + 1) * (dim ? dim : 1) * sizeof *pv);
    hit *hits = malloc((texts.n ? texts.n : 1) * sizeof *hits);
    int rc = 0;
    emb_status st = (pv && hits && texts.t) ? EMB_OK : EMB_ERR_NO_MEMORY;
    if (st == EMB_OK)
        st = search_score(m, query, &texts, pv, hits);
    if (st != EMB_OK)
        rc = cli_fail("search", st);
    else
        search_print(&texts, hits, (size_t)top, jsonl);
    free(pv);
    free(hits);
    free(texts.t);
    cli_texts_free(&all);
    emb_model_close(m);
    return rc;
}
