/* emb search --index VECTORS.h5 [--using f32|int8|binary] [--rescore N]
 * QUERY...: embeds only the queries and ranks the stored vectors with the
 * library's exact top-k (emb_topk_*). int8 / binary: the N best rows of the
 * compact form are the candidates, re-ranked by the float score over
 * `vectors`; the scores printed are always the float ones. The index's
 * model is checked with its model_probe before anything is searched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define PROBE_TEXT "libemb model probe"
#define PROBE_MIN_COSINE 0.99f

/* The model to search with: -m, else the index's model_path when that file
 * is readable, else the default model. Checks dim and the probe vector. */
static emb_model *open_checked(const cli_search_args *a, const cli_vectors *v)
{
    const char *path = a->model;
    if (!path && v->model_path && *v->model_path && access(v->model_path, R_OK) == 0)
        path = v->model_path;
    emb_model *m = cli_open_model_compute(path, a->compute);
    if (!m)
        return NULL;
    const char *shown = path ? path : cli_model_path(NULL);
    size_t dim = emb_model_dim(m);
    if (dim != v->dim) {
        fprintf(stderr, "emb search: %s holds %zu-dim vectors of %s (sha256 %s); the model %s gives "
                        "%zu: not the index's model\n",
                v->path, v->dim, v->model_source, v->model_sha256, shown, dim);
        goto fail;
    }
    float *probe = malloc(dim * sizeof *probe), cos = 0.0f;
    emb_text t = { PROBE_TEXT, strlen(PROBE_TEXT) };
    emb_status st = probe ? emb_encode(m, &t, 1, NULL, probe) : EMB_ERR_NO_MEMORY;
    if (st == EMB_OK)
        st = emb_cosine(probe, v->probe, dim, &cos);
    int same = st == EMB_OK && memcmp(probe, v->probe, dim * sizeof *probe) == 0;
    free(probe);
    if (st != EMB_OK) {
        cli_fail("search: model probe", st);
        goto fail;
    }
    if (!(cos >= PROBE_MIN_COSINE)) {
        fprintf(stderr, "emb search: %s was embedded with %s (sha256 %s); the model %s is another "
                        "model (probe cosine %.4f < %.2f): use -m with the index's model\n",
                v->path, v->model_source, v->model_sha256, shown, (double)cos,
                (double)PROBE_MIN_COSINE);
        goto fail;
    }
    if (!same)
        fprintf(stderr, "emb search: note: the model %s is not bitwise the index's %s (probe cosine "
                        "%.6f): a sibling (other dtype?) of the same weights\n",
                shown, v->model_source, (double)cos);
    return m;
fail:
    emb_model_close(m);
    return NULL;
}

/* The query's int8 codes with the file's int8_ranges [2, dim]. */
static void quantize_int8(const float *x, const float *ranges, size_t dim, int8_t *q)
{
    for (size_t j = 0; j < dim; j++)
        q[j] = cli_quantize_int8(x[j], ranges[j], ranges[dim + j]);
}

static int by_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The float ranking of candidate rows cand[0..nc) (sorted here, so that
 * ties still go to the lower row): top[0..*n) and score[]. */
static emb_status rescore(const float *q, const float *rows, size_t dim, size_t *cand, size_t nc,
                          size_t k, const emb_topk_options *o, size_t *top, float *score, size_t *n)
{
    qsort(cand, nc, sizeof *cand, by_index);
    float *sub = malloc((nc ? nc : 1) * dim * sizeof *sub);
    if (!sub)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < nc; i++)
        memcpy(sub + i * dim, rows + cand[i] * dim, dim * sizeof *sub);
    emb_status st = emb_topk_f32(q, sub, nc, dim, k, o, top, score);
    *n = k < nc ? k : nc;
    for (size_t i = 0; st == EMB_OK && i < *n; i++)
        top[i] = cand[top[i]];
    free(sub);
    return st;
}

/* Text for the tab-separated output: tabs and line breaks as spaces. */
static void print_field(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static int print_hits(cli_vectors *v, int has_texts, const cli_search_args *a, size_t qi,
                      const size_t *top, const float *score, size_t n)
{
    if (!a->jsonl && qi > 0)
        putchar('\n');
    for (size_t r = 0; r < n; r++) {
        char *id = cli_vectors_string(v, "ids", top[r]);
        char *text = has_texts && id ? cli_vectors_string(v, "texts", top[r]) : NULL;
        if (!id || (has_texts && !text)) {
            free(id);
            return 1;
        }
        if (a->jsonl) {
            fputs("{\"query\": ", stdout);
            cli_json_string(stdout, a->queries[qi], strlen(a->queries[qi]));
            printf(", \"rank\": %zu, \"score\": %.6f, \"id\": ", r + 1, (double)score[r]);
            cli_json_string(stdout, id, strlen(id));
            fputs(", \"text\": ", stdout);
            if (text)
                cli_json_string(stdout, text, strlen(text));
            else
                fputs("null", stdout);
            puts("}");
        } else {
            printf("%.4f\t", (double)score[r]);
            print_field(id);
            if (text) {
                putchar('\t');
                print_field(text);
            }
            putchar('\n');
        }
        free(id);
        free(text);
    }
    return 0;
}

int cli_search_index(const cli_search_args *a)
{
    cli_vectors v;
    cli_matrix mf = { 0 }, mc = { 0 };
    emb_model *m = NULL;
    float *qv = NULL, *score = NULL, *ranges = NULL;
    size_t *top = NULL, *cand = NULL;
    void *qc = NULL;
    int rc = 1;
    double t0 = cli_now(), t_open = 0, t_embed = 0, t_first = 0, t_rest = 0;
    if (cli_vectors_open(a->index, &v))
        goto done;
    const char *compact = a->form == CLI_FORM_INT8 ? "vectors_int8"
                          : a->form == CLI_FORM_BINARY ? "vectors_binary" : NULL;
    if (compact && !cli_vectors_has(&v, compact)) {
        fprintf(stderr, "emb search: %s holds no %s (written without --quantize %s): use --using "
                        "f32\n", v.path, compact, a->form == CLI_FORM_INT8 ? "int8" : "binary");
        goto done;
    }
    int has_texts = cli_vectors_has(&v, "texts");
    if (cli_vectors_check_strings(&v, "ids") || (has_texts && cli_vectors_check_strings(&v, "texts")))
        goto done;
    if (!(m = open_checked(a, &v)))
        goto done;
    size_t dim = v.dim, cols = a->form == CLI_FORM_BINARY ? (dim + 7) / 8 : dim;
    if (cli_vectors_matrix(&v, "vectors", dim, &mf) ||
        (compact && cli_vectors_matrix(&v, compact, cols, &mc)))
        goto done;
    size_t k = a->top < v.count ? a->top : v.count;
    size_t nc = a->rescore ? a->rescore : a->top > SIZE_MAX / 4 ? SIZE_MAX : 4 * a->top;
    nc = nc < v.count ? nc : v.count;
    qv = malloc(a->n_queries * dim * sizeof *qv);
    score = malloc((k + nc + 1) * sizeof *score);
    top = malloc((k + 1) * sizeof *top);
    cand = malloc((nc + 1) * sizeof *cand);
    qc = malloc(dim + 1);
    ranges = a->form == CLI_FORM_INT8 ? malloc(2 * dim * sizeof *ranges) : NULL;
    emb_status st = (qv && score && top && cand && qc && (ranges || a->form != CLI_FORM_INT8))
                        ? EMB_OK : EMB_ERR_NO_MEMORY;
    if (st == EMB_OK && ranges && cli_vectors_ranges(&v, ranges))
        goto done;
    emb_text *qt = malloc(a->n_queries * sizeof *qt);
    for (size_t i = 0; qt && i < a->n_queries; i++)
        qt[i] = (emb_text){ a->queries[i], strlen(a->queries[i]) };
    emb_encode_options eo;
    emb_encode_options_init(&eo);
    eo.kind = EMB_KIND_QUERY;
    t_open = cli_now();
    if (st == EMB_OK)
        st = qt ? emb_encode(m, qt, a->n_queries, &eo, qv) : EMB_ERR_NO_MEMORY;
    free(qt);
    t_embed = cli_now();
    emb_topk_options o;
    emb_topk_options_init(&o);
    o.cosine = !v.normalized; /* a normalizing model's dot product is its cosine */
    for (size_t qi = 0; st == EMB_OK && qi < a->n_queries; qi++) {
        const float *q = qv + qi * dim;
        size_t n = k;
        double ts = cli_now();
        if (a->form == CLI_FORM_F32) {
            st = emb_topk_f32(q, mf.data, v.count, dim, k, &o, top, score);
        } else {
            if (a->form == CLI_FORM_INT8) {
                quantize_int8(q, ranges, dim, qc);
                st = emb_topk_i8(qc, mc.data, v.count, dim, nc, &o, cand, NULL);
            } else {
                cli_pack_bits(q, dim, qc);
                st = emb_topk_binary(qc, mc.data, v.count, cols, nc, &o, cand, NULL);
            }
            if (st == EMB_OK)
                st = rescore(q, mf.data, dim, cand, nc, k, &o, top, score, &n);
        }
        *(qi ? &t_rest : &t_first) += cli_now() - ts;
        if (st == EMB_OK && print_hits(&v, has_texts, a, qi, top, score, n))
            goto done;
    }
    if (st != EMB_OK)
        cli_fail("search", st);
    else
        rc = 0;
    if (rc == 0 && a->timing) {
        fprintf(stderr, "emb search: timing: %zu rows x %zu, %zu queries (%s", v.count, dim,
                a->n_queries,
                a->form == CLI_FORM_F32 ? "f32" : a->form == CLI_FORM_INT8 ? "int8" : "binary");
        if (a->form != CLI_FORM_F32)
            fprintf(stderr, ", rescore %zu", nc);
        fprintf(stderr, "): open and model check %.1f ms, embedding the queries %.1f ms, search: "
                        "first query %.3f ms", (t_open - t0) * 1e3, (t_embed - t_open) * 1e3,
                t_first * 1e3);
        if (a->n_queries > 1)
            fprintf(stderr, ", then %.3f ms per query", t_rest * 1e3 / (double)(a->n_queries - 1));
        fputc('\n', stderr);
    }
done:
    free(qv), free(score), free(top), free(cand), free(qc), free(ranges);
    cli_matrix_free(&mf);
    cli_matrix_free(&mc);
    emb_model_close(m);
    cli_vectors_close(&v);
    return rc;
}
