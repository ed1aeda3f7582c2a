/* emb compare -m A.h5 -m B.h5 [...] --pairs pairs.tsv [--json] [--batch N]
 *
 * Compares embedders on the user's own question/answer pairs: each line of
 * the pairs file is "question<TAB>answer", the answer being relevant to its
 * own question and to no other. Questions are embedded as queries
 * (EMB_KIND_QUERY), answers as passages (EMB_KIND_PASSAGE); for every model
 * the n x n cosine matrix S[i][j] = cos(question i, answer j) gives the
 * metrics of docs/evaluate.md (mean relevant/irrelevant cosine, margin,
 * accuracy@1, MRR; computed in metrics.c), next to the vector size and the
 * encode throughput measured in the same run (measure.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* ----------------------------------------------------------- pairs file */

typedef struct pairs {
    size_t n, cap;
    emb_text *q, *a; /* both point into lines[i] */
    char **lines;
} pairs;

static void pairs_free(pairs *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->lines[i]);
    free(p->lines);
    free(p->q);
    free(p->a);
    memset(p, 0, sizeof *p);
}

static int pairs_push(pairs *p, char *line, size_t tab, size_t len)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        char **l = realloc(p->lines, cap * sizeof *l);
        if (!l)
            return -1;
        p->lines = l;
        emb_text *q = realloc(p->q, cap * sizeof *q);
        if (!q)
            return -1;
        p->q = q;
        emb_text *a = realloc(p->a, cap * sizeof *a);
        if (!a)
            return -1;
        p->a = a;
        p->cap = cap;
    }
    p->lines[p->n] = line;
    p->q[p->n] = (emb_text){ line, tab };
    p->a[p->n] = (emb_text){ line + tab + 1, len - tab - 1 };
    p->n++;
    return 0;
}

/* Reads "question<TAB>answer" lines (a trailing "\r" dropped). Every line
 * must have exactly one TAB with non-empty text on both sides; otherwise a
 * message with the line number is printed and -1 returned. */
static int read_pairs(const char *path, pairs *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "emb compare: cannot open pairs file '%s'\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = cli_chomp(line, (size_t)got);
        const char *why = NULL;
        char *tab = memchr(line, '\t', len);
        if (strspn(line, " \t") >= len)
            why = "blank line";
        else if (memchr(line, '\0', len))
            why = "contains a NUL byte";
        else if (!tab)
            why = "no TAB: expected question<TAB>answer";
        else if (memchr(tab + 1, '\t', len - (size_t)(tab - line) - 1))
            why = "more than one TAB: expected question<TAB>answer";
        else if (tab == line)
            why = "empty question before the TAB";
        else if ((size_t)(tab - line) + 1 == len)
            why = "empty answer after the TAB";
        if (why) {
            fprintf(stderr, "emb compare: %s:%zu: %s\n", path, lineno, why);
            rc = -1;
            break;
        }
        char *copy = cli_strndup(line, len);
        if (!copy || pairs_push(out, copy, (size_t)(tab - line), len) != 0) {
            free(copy);
            fprintf(stderr, "emb compare: out of memory reading '%s'\n", path);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "emb compare: read error on '%s'\n", path);
        rc = -1;
    }
    if (rc == 0 && out->n < 2) {
        fprintf(stderr, "emb compare: %s: need at least 2 pairs (found %zu)\n", path, out->n);
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc != 0)
        pairs_free(out);
    return rc;
}

/* A warning (not an error): two identical answers tie for every question. */
static void warn_duplicate_answers(const char *path, const pairs *p)
{
    for (size_t i = 0; i < p->n; i++)
        for (size_t j = i + 1; j < p->n; j++)
            if (p->a[i].len == p->a[j].len && !memcmp(p->a[i].data, p->a[j].data, p->a[i].len)) {
                fprintf(stderr,
                        "emb compare: warning: %s: lines %zu and %zu have the same answer; "
                        "the tie counts as a miss for both questions\n",
                        path, i + 1, j + 1);
                return;
            }
}

/* ------------------------------------------------------------ one model */

typedef struct model_result {
    const char *path;
    size_t dim;
    cli_pair_metrics m;
    size_t tokens;
    double seconds;
} model_result;

static int run_model(const char *path, const pairs *p, size_t batch, model_result *r)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    emb_model *m = cli_open_model(path);
    if (!m)
        return 1;
    size_t n = p->n, dim = emb_model_dim(m);
    r->dim = dim;
    float *qv = NULL, *av = NULL, *sim = NULL;
    int rc = 1;
    if (dim == 0) {
        fprintf(stderr, "emb compare: %s: the model has no weights (tokenizer-only)\n", path);
        goto fail;
    }
    if (n > ((size_t)-1 / sizeof(float)) / (dim > n ? dim : n)) {
        fprintf(stderr, "emb compare: too many pairs\n");
        goto fail;
    }
    qv = malloc(n * dim * sizeof *qv);
    av = malloc(n * dim * sizeof *av);
    sim = malloc(n * n * sizeof *sim);
    if (!qv || !av || !sim) {
        fprintf(stderr, "emb compare: out of memory\n");
        goto fail;
    }
    emb_status st = cli_count_tokens(m, p->q, n, EMB_KIND_QUERY, &r->tokens);
    if (st == EMB_OK)
        st = cli_count_tokens(m, p->a, n, EMB_KIND_PASSAGE, &r->tokens);
    if (st != EMB_OK) {
        cli_fail("compare: tokenize", st);
        goto fail;
    }
    emb_encode_options o;
    emb_encode_options_init(&o);
    /* one untimed warm-up text, so that first-touch page faults of the
     * mapped weights are not charged to the throughput */
    o.kind = EMB_KIND_QUERY;
    st = emb_encode(m, p->q, 1, &o, qv);
    cli_progress prog;
    char label[96];
    const char *base = strrchr(path, '/');
    snprintf(label, sizeof label, "%.80s", base ? base + 1 : path);
    cli_progress_start(&prog, label, 2 * n);
    if (st == EMB_OK)
        st = cli_encode_timed(m, p->q, n, &o, batch, qv, &prog, &r->seconds);
    o.kind = EMB_KIND_PASSAGE;
    if (st == EMB_OK)
        st = cli_encode_timed(m, p->a, n, &o, batch, av, &prog, &r->seconds);
    cli_progress_end(&prog);
    for (size_t i = 0; st == EMB_OK && i < n; i++)
        for (size_t j = 0; st == EMB_OK && j < n; j++)
            st = emb_cosine(qv + i * dim, av + j * dim, dim, &sim[i * n + j]);
    if (st != EMB_OK) {
        cli_fail("compare: encode", st);
        goto fail;
    }
    cli_pair_metrics_compute(sim, n, &r->m);
    rc = 0;
fail:
    free(qv);
    free(av);
    free(sim);
    emb_model_close(m);
    return rc;
}

/* ----------------------------------------------------------------- output */

static double per_second(double count, double seconds)
{
    return seconds > 0 ? count / seconds : 0.0;
}

static void print_json(const char *pairs_path, size_t n, const model_result *r, size_t nr)
{
    printf("{\"pairs_file\": ");
    cli_json_string(stdout, pairs_path, strlen(pairs_path));
    printf(", \"pairs\": %zu, \"models\": [", n);
    for (size_t i = 0; i < nr; i++) {
        const model_result *x = &r[i];
        printf("%s{\"model\": ", i ? ", " : "");
        cli_json_string(stdout, x->path, strlen(x->path));
        printf(", \"dim\": %zu, \"bytes_per_vector\": %zu"
               ", \"mean_cos_relevant\": %.6f, \"mean_cos_irrelevant\": %.6f, \"margin\": %.6f"
               ", \"accuracy_at_1\": %.6f, \"mrr\": %.6f"
               ", \"texts\": %zu, \"tokens\": %zu, \"encode_seconds\": %.6f"
               ", \"texts_per_second\": %.1f, \"tokens_per_second\": %.1f}",
               x->dim, x->dim * sizeof(float), x->m.mean_relevant, x->m.mean_irrelevant,
               x->m.margin, x->m.accuracy_at_1, x->m.mrr, 2 * n, x->tokens, x->seconds,
               per_second(2.0 * (double)n, x->seconds),
               per_second((double)x->tokens, x->seconds));
    }
    printf("]}\n");
}

static void print_table(const char *pairs_path, size_t n, const model_result *r, size_t nr)
{
    int w = 5;
    for (size_t i = 0; i < nr; i++) {
        size_t l = strlen(r[i].path);
        if (l > (size_t)w)
            w = l > 60 ? 60 : (int)l;
    }
    printf("%zu pairs from %s (questions as queries, answers as passages)\n\n", n, pairs_path);
    printf("%-*s %7s %7s %7s %6s %6s %5s %5s %9s %9s\n", w, "model", "cos+", "cos-", "margin",
           "acc@1", "MRR", "dim", "bytes", "texts/s", "tokens/s");
    for (size_t i = 0; i < nr; i++) {
        const model_result *x = &r[i];
        printf("%-*.*s %7.4f %7.4f %7.4f %6.3f %6.3f %5zu %5zu %9.1f %9.0f\n", w, w, x->path,
               x->m.mean_relevant, x->m.mean_irrelevant, x->m.margin, x->m.accuracy_at_1,
               x->m.mrr, x->dim, x->dim * sizeof(float), per_second(2.0 * (double)n, x->seconds),
               per_second((double)x->tokens, x->seconds));
    }
    printf("\ncos+ / cos-: mean cosine of matching / non-matching question-answer pairs;\n"
           "acc@1: own answer strictly first; MRR: ties with another answer count against.\n"
           "See docs/evaluate.md.\n");
}

/* ------------------------------------------------------------ subcommand */

int cli_compare(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "pairs", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { "batch", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    const char *usage = "usage: emb compare -m MODEL.h5 [-m MODEL2.h5 ...] --pairs PAIRS.tsv "
                        "[--json] [--batch N]\n";
    char **models = calloc((size_t)argc, sizeof *models);
    size_t n_models = 0;
    const char *pairs_path = NULL;
    int json = 0;
    long batch = 32;
    int c;
    if (!models)
        return 1;
    while ((c = getopt_long(argc, argv, "m:p:b:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': models[n_models++] = optarg; break;
        case 'p': pairs_path = optarg; break;
        case 'j': json = 1; break;
        case 'b':
            batch = strtol(optarg, NULL, 10);
            if (batch < 1) {
                fprintf(stderr, "emb compare: --batch must be at least 1\n");
                free(models);
                return 2;
            }
            break;
        default: free(models); return 2;
        }
    }
    if (optind != argc || !pairs_path) {
        fputs(usage, stderr);
        free(models);
        return 2;
    }
    if (n_models == 0) {
        /* no -m: the default model ($EMB_MODEL or the built-in one) */
        const char *def = cli_model_path(NULL);
        if (!def) {
            free(models);
            return 1;
        }
        models[n_models++] = (char *)def;
    }
    pairs p;
    if (read_pairs(pairs_path, &p) != 0) {
        free(models);
        return 1;
    }
    warn_duplicate_answers(pairs_path, &p);
    model_result *res = calloc(n_models, sizeof *res);
    int rc = res ? 0 : 1;
    for (size_t i = 0; rc == 0 && i < n_models; i++)
        rc = run_model(models[i], &p, (size_t)batch, &res[i]);
    if (rc == 0) {
        if (json)
            print_json(pairs_path, p.n, res, n_models);
        else
            print_table(pairs_path, p.n, res, n_models);
    }
    free(res);
    pairs_free(&p);
    free(models);
    return rc;
}
