/* emb bench -m MODEL.h5 [--batch B] [--seq S | --lengths L1,L2,... | --input FILE [--jsonl]]
 *           [--threads T] [--reps R] [--warmup W] [--json] [--peak]
 * Encodes one batch of synthetic token sequences of exactly the given lengths
 * with emb_encode_tokens (no tokenizer time), R times after W warm-up calls,
 * or, with --input, the token ids of a file's texts (tokenized before any
 * timing, as emb_encode would: specials, truncation to the model's limit)
 * in calls of --batch sequences (default 32, emb embed's), and reports the
 * batch's tokens, ms per batch (median, min), tokens/s and achieved GFLOP/s (both from the median), the model's open time and the
 * process's peak RSS; with --peak also the fp32 GEMM rate of the library's own
 * kernels and of the BLAS in the same run. See docs/performance.md.
 *
 * The sequences: position 0 holds the model's leading special token (what
 * emb_tokenize("") puts before the text, e.g. [CLS]; none for Qwen3), the
 * last position its trailing special token (e.g. [SEP], Qwen3's
 * <|endoftext|>), every other position a pseudo-random id in
 * [vocab/10, 9·vocab/10) — away from the specials at either end of BERT and
 * BPE vocabularies — from a fixed xorshift seed, so every run encodes the
 * same ids. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

#define BENCH_MAX_SEQS 65536
#define BENCH_MAX_REPS 100000

static const char *bench_usage =
    "usage: emb bench -m MODEL.h5 [--batch B]\n"
    "                 [--seq S | --lengths L1,L2,... | --input FILE [--jsonl]]\n"
    "                 [--threads T] [--reps R] [--warmup W] [--json] [--peak] [--compute f32|bf16]\n"
    "defaults: --batch 1 --seq 128 --reps 5 --warmup 1 --compute f32, threads as emb_model_open\n"
    "(EMB_NUM_THREADS, or the CPU affinity mask lowered to the cgroup quota);\n"
    "--input: one text a line (--jsonl: a JSON string or {\"text\": ...} a line), tokenized\n"
    "before the timing, then encoded --batch (default 32) sequences a call; see\n"
    "docs/performance.md\n";

/* Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on
 * Linux). */
static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_maxrss / 1024.0;
}

/* A positive integer option in [1, max]; -1 (message printed) otherwise. */
static long parse_count(const char *opt, const char *s, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < 1 || v > max) {
        fprintf(stderr, "emb bench: %s must be an integer in 1..%ld (got '%s')\n", opt, max, s);
        return -1;
    }
    return v;
}

/* "16,32,256" -> lengths; 0, or -1 with a message. */
static int parse_lengths(const char *s, size_t **out, size_t *n_out)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    if (n > BENCH_MAX_SEQS) {
        fprintf(stderr, "emb bench: --lengths has %zu entries; at most %d\n", n, BENCH_MAX_SEQS);
        return -1;
    }
    size_t *len = malloc(n * sizeof *len);
    if (!len) {
        fprintf(stderr, "emb bench: out of memory\n");
        return -1;
    }
    const char *p = s;
    for (size_t i = 0; i < n; i++) {
        char *end = NULL;
        errno = 0;
        long v = (*p >= '0' && *p <= '9') ? strtol(p, &end, 10) : 0;
        if (errno || !end || end == p || (*end != ',' && *end != '\0') || v < 1 || v > INT_MAX) {
            fprintf(stderr,
                    "emb bench: --lengths must be positive integers separated by commas "
                    "(entry %zu of '%s')\n",
                    i + 1, s);
            free(len);
            return -1;
        }
        len[i] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    *out = len;
    *n_out = n;
    return 0;
}

/* The specials emb_tokenize puts before and after a text: the common prefix
 * of the ids of "" and "a" leads, the rest of ""'s ids trail. */
static emb_status model_specials(const emb_model *m, int32_t *lead, int *has_lead, int32_t *trail,
                                 int *has_trail)
{
    int32_t empty[16], one[32];
    size_t n_empty = 0, n_one = 0;
    emb_status st = emb_tokenize(m, "", 0, NULL, empty, 16, &n_empty);
    if (st == EMB_OK)
        st = emb_tokenize(m, "a", 1, NULL, one, 32, &n_one);
    if (st != EMB_OK)
        return st;
    size_t common = 0;
    while (common < n_empty && common < n_one && empty[common] == one[common])
        common++;
    *has_lead = common > 0;
    *lead = common > 0 ? empty[0] : 0;
    *has_trail = n_empty > common;
    *trail = n_empty > common ? empty[n_empty - 1] : 0;
    return EMB_OK;
}

/* Fill the sequences (see the file comment). */
static void fill_ids(int32_t **ids, const size_t *len, size_t n, size_t vocab, int32_t lead,
                     int has_lead, int32_t trail, int has_trail)
{
    size_t lo = vocab / 10, span = vocab - 2 * (vocab / 10);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < len[i]; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            ids[i][k] = (int32_t)(lo + (size_t)(s % span));
        }
        if (has_lead)
            ids[i][0] = lead;
        if (has_trail && (len[i] > 1 || !has_lead))
            ids[i][len[i] - 1] = trail;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long meta_long(const emb_model *m, const char *key)
{
    const char *v = emb_model_meta(m, key);
    return v ? strtol(v, NULL, 10) : 0;
}

/* What one run is asked to do, from the command line. */
typedef struct bench_args {
    const char *model;
    const char *input; /* --input FILE, or NULL: the batch is synthetic */
    int jsonl;
    size_t *len, n;  /* the batch: n sequence lengths (owned); with --input set
                        by bench_read_input */
    size_t per_call; /* sequences per emb_encode_tokens call (n unless --input) */
    long threads;    /* --threads, 0 = the library's default */
    long reps, warmup;
    int json, peak;
    emb_compute compute;
} bench_args;

/* The model's facts that the report and the FLOP count need. */
typedef struct bench_model {
    emb_model *m;
    double open_ms, rss_open;
    size_t dim, max_tokens;
    long vocab, layers, hidden;
    uint64_t params;
    int threads; /* what the library runs emb_encode on */
} bench_model;

/* The batch's totals, and the timings of the timed calls. */
typedef struct bench_result {
    size_t tokens, min_len, max_len;
    double flops;                /* per batch */
    double ms_median, ms_min;    /* per batch */
    double rss_peak;
    double own, blas;            /* --peak GEMM rates, GFLOP/s */
} bench_result;

/* The options' combination: -m given, --input (with --batch as the
 * sequences per call), --lengths alone or else the batch of --batch
 * sequences of --seq tokens (1 x 128 by default) made into a->len.
 * 0; 2 for bad usage (message printed, the caller prints the usage); 1 out
 * of memory. */
static int bench_check_args(bench_args *a, long batch, long seq)
{
    if (!a->model) {
        fprintf(stderr, "emb bench: -m MODEL.h5 is required\n");
        return 2;
    }
    if (a->jsonl && !a->input) {
        fprintf(stderr, "emb bench: --jsonl describes --input FILE; give it too\n");
        return 2;
    }
    if (a->input) {
        if (a->len || seq > 0) {
            fprintf(stderr, "emb bench: --input gives the sequences; it excludes --lengths and "
                            "--seq\n");
            return 2;
        }
        a->per_call = (size_t)(batch > 0 ? batch : 32);
        return 0;
    }
    if (a->len && (seq > 0 || batch > 0)) {
        fprintf(stderr, "emb bench: --lengths gives the batch; it excludes --batch and --seq\n");
        return 2;
    }
    if (!a->len) {
        a->n = (size_t)(batch > 0 ? batch : 1);
        a->len = malloc(a->n * sizeof *a->len);
        if (!a->len) {
            fprintf(stderr, "emb bench: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < a->n; i++)
            a->len[i] = (size_t)(seq > 0 ? seq : 128);
    }
    a->per_call = a->n;
    return 0;
}

/* Parse the options into `a` (a->len always set, owned by `a`): 0, or the
 * exit status (2 for bad usage, with the usage printed; 1 out of memory). */
static int bench_parse_args(int argc, char **argv, bench_args *a)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "batch", required_argument, NULL, 'b' },
        { "seq", required_argument, NULL, 's' },
        { "lengths", required_argument, NULL, 'l' },
        { "threads", required_argument, NULL, 't' },
        { "reps", required_argument, NULL, 'r' },
        { "warmup", required_argument, NULL, 'w' },
        { "json", no_argument, NULL, 'j' },
        { "peak", no_argument, NULL, 'p' },
        { "compute", required_argument, NULL, 'c' },
        { "input", required_argument, NULL, 'i' },
        { "jsonl", no_argument, NULL, 'J' },
        { NULL, 0, NULL, 0 },
    };
    long batch = -1, seq = -1;
    int rc = 2;
    *a = (bench_args){ .reps = 5, .warmup = 1, .compute = EMB_COMPUTE_F32 };
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'b':
            if ((batch = parse_count("--batch", optarg, BENCH_MAX_SEQS)) < 0)
                goto usage;
            break;
        case 's':
            if ((seq = parse_count("--seq", optarg, INT_MAX)) < 0)
                goto usage;
            break;
        case 'l':
            free(a->len);
            a->len = NULL;
            if (parse_lengths(optarg, &a->len, &a->n) != 0)
                goto usage;
            break;
        case 't':
            /* the upper bound is the library's: emb_model_open refuses more */
            if ((a->threads = parse_count("--threads", optarg, INT_MAX)) < 0)
                goto usage;
            break;
        case 'r':
            if ((a->reps = parse_count("--reps", optarg, BENCH_MAX_REPS)) < 0)
                goto usage;
            break;
        case 'w':
            if (!strcmp(optarg, "0"))
                a->warmup = 0;
            else if ((a->warmup = parse_count("--warmup", optarg, BENCH_MAX_REPS)) < 0)
                goto usage;
            break;
        case 'j': a->json = 1; break;
        case 'p': a->peak = 1; break;
        case 'c':
            if (cli_parse_compute(optarg, &a->compute) != 0)
                goto usage;
            break;
        case 'i': a->input = optarg; break;
        case 'J': a->jsonl = 1; break;
        default: goto usage;
        }
    }
    if (optind != argc)
        fprintf(stderr, "emb bench: unexpected argument '%s'\n", argv[optind]);
    else
        rc = bench_check_args(a, batch, seq);
    if (rc != 2)
        return rc;

usage:
    free(a->len);
    a->len = NULL;
    fputs(bench_usage, stderr);
    return 2;
}

/* Open the model (timed) and read what the run needs from it; the thread
 * count is the library's own (n_threads, or its default for 0), read back
 * from the "threads" metadata. 0, or the exit status (message printed;
 * 2 for a --threads the library refuses). */
static int bench_open(const bench_args *a, bench_model *bm)
{
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = (int)a->threads;
    oo.compute = a->compute;
    double t0 = cli_now();
    emb_status st = emb_model_open(a->model, &oo, &bm->m);
    bm->open_ms = (cli_now() - t0) * 1e3;
    if (st != EMB_OK) {
        cli_fail("cannot open model", st);
        return st == EMB_ERR_INVALID_ARGUMENT ? 2 : 1;
    }
    bm->rss_open = peak_rss_mb();
    bm->dim = emb_model_dim(bm->m);
    bm->max_tokens = emb_model_max_tokens(bm->m);
    bm->vocab = meta_long(bm->m, "vocab_size");
    bm->layers = meta_long(bm->m, "num_layers");
    bm->hidden = meta_long(bm->m, "hidden_size");
    bm->threads = (int)meta_long(bm->m, "threads");
    if (bm->dim == 0 || bm->vocab < 10 || bm->layers < 1 || bm->hidden < 1) {
        fprintf(stderr, "emb bench: %s: not a model with weights (tokenizer-only file?)\n",
                a->model);
        return 1;
    }
    if ((st = emb_diag_model_params(bm->m, &bm->params)) != EMB_OK)
        return cli_fail("parameter count", st);
    return 0;
}

/* The batch's tokens, shortest and longest sequence and FLOPs, every length
 * checked against the model before anything runs: 0, or 2 (message
 * printed). */
static int bench_batch_totals(const bench_args *a, const bench_model *bm, bench_result *r)
{
    r->tokens = 0;
    r->min_len = (size_t)-1;
    r->max_len = 0;
    r->flops = 0.0;
    for (size_t i = 0; i < a->n; i++) {
        size_t len = a->len[i];
        if (bm->max_tokens && len > bm->max_tokens) {
            fprintf(stderr, "emb bench: sequence %zu has %zu tokens; %s accepts at most %zu\n", i,
                    len, a->model, bm->max_tokens);
            return 2;
        }
        r->tokens += len;
        r->min_len = len < r->min_len ? len : r->min_len;
        r->max_len = len > r->max_len ? len : r->max_len;
        double s = (double)len;
        r->flops += 2.0 * (double)bm->params * s +
                    4.0 * (double)bm->layers * s * s * (double)bm->hidden;
    }
    return 0;
}

static void free_ids(int32_t **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

/* The batch's token ids (see the file comment), one array per sequence;
 * NULL (message printed) on failure. Free with free_ids(). */
static int32_t **bench_make_ids(const bench_args *a, const bench_model *bm)
{
    int32_t lead = 0, trail = 0;
    int has_lead = 0, has_trail = 0;
    emb_status st = model_specials(bm->m, &lead, &has_lead, &trail, &has_trail);
    if (st != EMB_OK) {
        cli_fail("tokenize", st);
        return NULL;
    }
    int32_t **ids = calloc(a->n, sizeof *ids);
    int ok = ids != NULL;
    for (size_t i = 0; ok && i < a->n; i++)
        ok = (ids[i] = malloc(a->len[i] * sizeof **ids)) != NULL;
    if (!ok) {
        fprintf(stderr, "emb bench: out of memory\n");
        free_ids(ids, a->n);
        return NULL;
    }
    fill_ids(ids, a->len, a->n, (size_t)bm->vocab, lead, has_lead, trail, has_trail);
    return ids;
}

/* --input: read the file's texts and tokenize each as emb_encode() runs it
 * by default (cli_count_tokens' options: specials, kind none, truncation to
 * the model's limit), into a->len / a->n and the returned ids (free with
 * free_ids()). NULL (message printed) on failure; a file without texts is
 * refused. */
static int32_t **bench_read_input(bench_args *a, const bench_model *bm)
{
    FILE *f = strcmp(a->input, "-") ? fopen(a->input, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "emb bench: cannot open --input %s: %s\n", a->input, strerror(errno));
        return NULL;
    }
    cli_texts texts;
    int rd = cli_read_texts(f, a->jsonl, &texts);
    if (f != stdin)
        fclose(f);
    if (rd != 0)
        return NULL;
    int32_t **ids = NULL, *scratch = NULL;
    if (texts.n == 0) {
        fprintf(stderr, "emb bench: --input %s holds no texts\n", a->input);
        goto done;
    }
    emb_tokenize_options o;
    emb_tokenize_options_init(&o);
    o.apply_prompt = 1;
    o.truncate = 1;
    ids = calloc(texts.n, sizeof *ids);
    a->len = malloc(texts.n * sizeof *a->len);
    if (!ids || !a->len) {
        fprintf(stderr, "emb bench: out of memory\n");
        goto fail;
    }
    a->n = texts.n;
    size_t cap = bm->max_tokens ? bm->max_tokens + 16 : 512;
    if (!(scratch = malloc(cap * sizeof *scratch))) {
        fprintf(stderr, "emb bench: out of memory\n");
        goto fail;
    }
    /* each text into the scratch buffer, then an exact-size copy, so that the
     * ids weigh in the peak RSS what they weigh */
    for (size_t i = 0; i < texts.n; i++) {
        size_t got = 0;
        emb_status st = cli_tokenize_grow(bm->m, &texts.t[i], &o, &scratch, &cap, &got);
        if (st != EMB_OK) {
            char what[64];
            snprintf(what, sizeof what, "tokenize --input text %zu", i + 1);
            cli_fail(what, st);
            goto fail;
        }
        if (got == 0) { /* a tokenizer without specials, an empty text */
            fprintf(stderr, "emb bench: --input %s: text %zu has no tokens\n", a->input, i + 1);
            goto fail;
        }
        if (!(ids[i] = malloc(got * sizeof **ids))) {
            fprintf(stderr, "emb bench: out of memory\n");
            goto fail;
        }
        memcpy(ids[i], scratch, got * sizeof **ids);
        a->len[i] = got;
    }
    goto done;
fail:
    free_ids(ids, texts.n);
    ids = NULL;
done:
    free(scratch);
    cli_texts_free(&texts);
    return ids;
}

/* Encode the batch a->warmup times untimed, then a->reps times timed: the
 * median and fastest ms per batch, and the peak RSS after them. 0, or 1
 * (message printed). */
static int bench_time_encode(const bench_args *a, const bench_model *bm, int32_t **ids,
                             bench_result *r)
{
    float *out = malloc(a->n * bm->dim * sizeof *out);
    double *ms = malloc((size_t)a->reps * sizeof *ms);
    int rc = 1;
    if (!out || !ms) {
        fprintf(stderr, "emb bench: out of memory\n");
        goto done;
    }
    for (long rep = -a->warmup; rep < a->reps; rep++) {
        double s0 = cli_now();
        for (size_t i = 0; i < a->n; i += a->per_call) {
            size_t k = a->n - i < a->per_call ? a->n - i : a->per_call;
            emb_status st = emb_encode_tokens(bm->m, (const int32_t *const *)ids + i, a->len + i,
                                              k, out + i * bm->dim);
            if (st != EMB_OK) {
                cli_fail("encode", st);
                goto done;
            }
        }
        double dt = (cli_now() - s0) * 1e3;
        if (rep >= 0)
            ms[rep] = dt;
    }
    r->rss_peak = peak_rss_mb(); /* before --peak's GEMM buffers */
    size_t reps = (size_t)a->reps;
    qsort(ms, reps, sizeof *ms, cmp_double);
    r->ms_median = reps % 2 ? ms[reps / 2] : 0.5 * (ms[reps / 2 - 1] + ms[reps / 2]);
    r->ms_min = ms[0];
    rc = 0;
done:
    free(out);
    free(ms);
    return rc;
}

/* --peak: the fp32 GEMM rate of the library's kernels and of the BLAS, on
 * the model's thread count. 0, or 1 (message printed). */
static int bench_peak_gemm(const bench_model *bm, bench_result *r)
{
    emb_status st;
    if ((st = emb_diag_gemm_gflops(0, bm->threads, &r->own)) != EMB_OK ||
        (st = emb_diag_gemm_gflops(1, bm->threads, &r->blas)) != EMB_OK)
        return cli_fail("peak GEMM", st);
    return 0;
}

/* The report as one JSON object (--json) or as text, on stdout. */
static void bench_report(const bench_args *a, const bench_model *bm, const bench_result *r)
{
    double tok_s = (double)r->tokens / (r->ms_median * 1e-3);
    double gflops = r->flops / (r->ms_median * 1e-3) * 1e-9;
    struct stat sb;
    double file_mb = stat(a->model, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0.0;
    const char *arch = emb_model_meta(bm->m, "architecture");
    const char *dtype = emb_model_meta(bm->m, "weights_dtype");
    arch = arch ? arch : "";
    dtype = dtype ? dtype : "";
    int bf16 = a->compute == EMB_COMPUTE_BF16;

    if (a->json) {
        printf("{\"model\": ");
        cli_json_string(stdout, a->model, strlen(a->model));
        printf(", \"architecture\": ");
        cli_json_string(stdout, arch, strlen(arch));
        printf(", \"weights_dtype\": ");
        cli_json_string(stdout, dtype, strlen(dtype));
        printf(", \"layers\": %ld, \"hidden\": %ld, \"non_embedding_params\": %llu",
               bm->layers, bm->hidden, (unsigned long long)bm->params);
        printf(", \"threads\": %d, \"batch\": %zu, \"tokens\": %zu, \"min_len\": %zu, "
               "\"max_len\": %zu, \"reps\": %ld, \"warmup\": %ld, \"compute\": \"%s\"",
               bm->threads, a->n, r->tokens, r->min_len, r->max_len, a->reps, a->warmup,
               bf16 ? "bf16" : "f32");
        printf(", \"per_call\": %zu, \"texts_per_s\": %.2f, \"input\": ", a->per_call,
               (double)a->n / (r->ms_median * 1e-3));
        if (a->input)
            cli_json_string(stdout, a->input, strlen(a->input));
        else
            printf("null");
        printf(", \"ms_median\": %.4f, \"ms_min\": %.4f, \"tokens_per_s\": %.2f, \"gflops\": %.3f, "
               "\"flops_per_batch\": %.6g",
               r->ms_median, r->ms_min, tok_s, gflops, r->flops);
        printf(", \"open_ms\": %.3f, \"rss_after_open_mb\": %.1f, \"peak_rss_mb\": %.1f, "
               "\"model_file_mb\": %.1f",
               bm->open_ms, bm->rss_open, r->rss_peak, file_mb);
        if (a->peak)
            printf(", \"peak_gflops\": {\"own\": %.3f, \"blas\": %.3f}", r->own, r->blas);
        else
            printf(", \"peak_gflops\": null");
        printf("}\n");
        return;
    }
    printf("model       %s (%s, %s weights, %ld layers, hidden %ld, %.1fM non-embedding "
           "params, %.0f MB file)\n",
           a->model, arch, dtype, bm->layers, bm->hidden, (double)bm->params * 1e-6, file_mb);
    printf("batch       %zu sequences, %zu tokens (lengths %zu..%zu), %d threads%s\n", a->n,
           r->tokens, r->min_len, r->max_len, bm->threads, bf16 ? ", bf16 compute" : "");
    if (a->input)
        printf("input       %s, tokenized before timing, %zu sequences a call\n", a->input,
               a->per_call);
    printf("open        %.1f ms\n", bm->open_ms);
    printf("encode      median %.2f ms, min %.2f ms per batch (%ld reps, %ld warm-up)\n",
           r->ms_median, r->ms_min, a->reps, a->warmup);
    printf("throughput  %.0f tokens/s, %.1f texts/s, %.1f GFLOP/s\n", tok_s,
           (double)a->n / (r->ms_median * 1e-3), gflops);
    printf("memory      peak RSS %.1f MB (%.1f MB after open)\n", r->rss_peak, bm->rss_open);
    if (a->peak)
        printf("peak GEMM   own %.1f GFLOP/s, BLAS %.1f GFLOP/s (fp32 2048x3072x768, %d "
               "threads)\n",
               r->own, r->blas, bm->threads);
}

int cli_bench(int argc, char **argv)
{
    bench_args a;
    int rc = bench_parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    bench_model bm = { 0 };
    bench_result r = { 0 };
    int32_t **ids = NULL;
    if ((rc = bench_open(&a, &bm)) == 0 && a.input && !(ids = bench_read_input(&a, &bm)))
        rc = 1;
    if (rc == 0 && (rc = bench_batch_totals(&a, &bm, &r)) == 0) {
        if (!ids)
            ids = bench_make_ids(&a, &bm);
        rc = ids ? bench_time_encode(&a, &bm, ids, &r) : 1;
    }
    if (rc == 0 && a.peak)
        rc = bench_peak_gemm(&bm, &r);
    if (rc == 0)
        bench_report(&a, &bm, &r);
    free_ids(ids, a.n);
    free(a.len);
    emb_model_close(bm.m);
    return rc;
}
