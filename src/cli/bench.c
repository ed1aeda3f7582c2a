/* emb bench -m MODEL.h5 [--batch B] [--seq S | --lengths L1,L2,...] [--threads T]
 *           [--reps R] [--warmup W] [--json] [--peak]
 * Encodes one batch of synthetic token sequences of exactly the given lengths
 * with emb_encode_tokens (no tokenizer time), R times after W warm-up calls,
 * and reports the batch's tokens, ms per batch (median, min), tokens/s and
 * achieved GFLOP/s (both from the median), the model's open time and the
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
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

#define BENCH_MAX_SEQS 65536
#define BENCH_MAX_REPS 100000

static const char *bench_usage =
    "usage: emb bench -m MODEL.h5 [--batch B] [--seq S | --lengths L1,L2,...] [--threads T]\n"
    "                 [--reps R] [--warmup W] [--json] [--peak] [--compute f32|bf16]\n"
    "defaults: --batch 1 --seq 128 --reps 5 --warmup 1 --compute f32, threads as emb_model_open\n"
    "(EMB_NUM_THREADS or the CPU affinity mask); see docs/performance.md\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

/* Threads the library uses for n_threads = 0 (as emb_open_options says:
 * EMB_NUM_THREADS, else the CPU affinity mask) — for the report only. */
static int default_threads(void)
{
    const char *env = getenv("EMB_NUM_THREADS");
    if (env && *env) {
        long v = strtol(env, NULL, 10);
        if (v >= 1 && v <= 1024)
            return (int)v;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1)
        return CPU_COUNT(&set);
    return 1;
}

int cli_bench(int argc, char **argv)
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
        { NULL, 0, NULL, 0 },
    };
    const char *model = NULL;
    long batch = -1, seq = -1, threads = 0, reps = 5, warmup = 1;
    int json = 0, peak = 0;
    emb_compute compute = EMB_COMPUTE_F32;
    size_t *len = NULL, n = 0;
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'b':
            if ((batch = parse_count("--batch", optarg, BENCH_MAX_SEQS)) < 0)
                goto usage;
            break;
        case 's':
            if ((seq = parse_count("--seq", optarg, INT_MAX)) < 0)
                goto usage;
            break;
        case 'l':
            free(len);
            len = NULL;
            if (parse_lengths(optarg, &len, &n) != 0)
                goto usage;
            break;
        case 't':
            if ((threads = parse_count("--threads", optarg, 1024)) < 0)
                goto usage;
            break;
        case 'r':
            if ((reps = parse_count("--reps", optarg, BENCH_MAX_REPS)) < 0)
                goto usage;
            break;
        case 'w':
            if (!strcmp(optarg, "0"))
                warmup = 0;
            else if ((warmup = parse_count("--warmup", optarg, BENCH_MAX_REPS)) < 0)
                goto usage;
            break;
        case 'j': json = 1; break;
        case 'p': peak = 1; break;
        case 'c':
            if (cli_parse_compute(optarg, &compute) != 0)
                goto usage;
            break;
        default: goto usage;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "emb bench: unexpected argument '%s'\n", argv[optind]);
        goto usage;
    }
    if (!model) {
        fprintf(stderr, "emb bench: -m MODEL.h5 is required\n");
        goto usage;
    }
    if (len && (seq > 0 || batch > 0)) {
        fprintf(stderr, "emb bench: --lengths gives the batch; it excludes --batch and --seq\n");
        goto usage;
    }
    if (!len) {
        n = (size_t)(batch > 0 ? batch : 1);
        len = malloc(n * sizeof *len);
        if (!len) {
            fprintf(stderr, "emb bench: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < n; i++)
            len[i] = (size_t)(seq > 0 ? seq : 128);
    }

    int rc = 1;
    emb_model *m = NULL;
    int32_t **ids = NULL;
    float *out = NULL;
    double *ms = NULL;
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = (int)threads;
    oo.compute = compute;
    double t0 = now_s();
    emb_status st = emb_model_open(model, &oo, &m);
    double open_ms = (now_s() - t0) * 1e3;
    if (st != EMB_OK) {
        cli_fail("cannot open model", st);
        goto done;
    }
    double rss_open = peak_rss_mb();
    size_t dim = emb_model_dim(m), max_tokens = emb_model_max_tokens(m);
    long vocab = meta_long(m, "vocab_size"), layers = meta_long(m, "num_layers"),
         hidden = meta_long(m, "hidden_size");
    if (dim == 0 || vocab < 10 || layers < 1 || hidden < 1) {
        fprintf(stderr, "emb bench: %s: not a model with weights (tokenizer-only file?)\n", model);
        goto done;
    }
    uint64_t params = 0;
    if ((st = emb_diag_model_params(m, &params)) != EMB_OK) {
        cli_fail("parameter count", st);
        goto done;
    }

    /* the batch: lengths checked against the model before anything runs */
    size_t tokens = 0, min_len = (size_t)-1, max_len = 0;
    double flops = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (max_tokens && len[i] > max_tokens) {
            fprintf(stderr, "emb bench: sequence %zu has %zu tokens; %s accepts at most %zu\n", i,
                    len[i], model, max_tokens);
            rc = 2;
            goto done;
        }
        tokens += len[i];
        min_len = len[i] < min_len ? len[i] : min_len;
        max_len = len[i] > max_len ? len[i] : max_len;
        double s = (double)len[i];
        flops += 2.0 * (double)params * s + 4.0 * (double)layers * s * s * (double)hidden;
    }
    int32_t lead = 0, trail = 0;
    int has_lead = 0, has_trail = 0;
    if ((st = model_specials(m, &lead, &has_lead, &trail, &has_trail)) != EMB_OK) {
        cli_fail("tokenize", st);
        goto done;
    }
    ids = calloc(n, sizeof *ids);
    out = malloc(n * dim * sizeof *out);
    ms = malloc((size_t)reps * sizeof *ms);
    int ok = ids && out && ms;
    for (size_t i = 0; ok && i < n; i++)
        ok = (ids[i] = malloc(len[i] * sizeof **ids)) != NULL;
    if (!ok) {
        fprintf(stderr, "emb bench: out of memory\n");
        goto done;
    }
    fill_ids(ids, len, n, (size_t)vocab, lead, has_lead, trail, has_trail);

    for (long r = -warmup; r < reps; r++) {
        double s0 = now_s();
        st = emb_encode_tokens(m, (const int32_t *const *)ids, len, n, out);
        double dt = (now_s() - s0) * 1e3;
        if (st != EMB_OK) {
            cli_fail("encode", st);
            goto done;
        }
        if (r >= 0)
            ms[r] = dt;
    }
    double rss_peak = peak_rss_mb(); /* before --peak's GEMM buffers */
    qsort(ms, (size_t)reps, sizeof *ms, cmp_double);
    double ms_median = reps % 2 ? ms[reps / 2] : 0.5 * (ms[reps / 2 - 1] + ms[reps / 2]);
    double ms_min = ms[0];
    double tok_s = (double)tokens / (ms_median * 1e-3);
    double gflops = flops / (ms_median * 1e-3) * 1e-9;

    double own = 0.0, blas = 0.0;
    int n_thr = threads > 0 ? (int)threads : default_threads();
    if (peak) {
        if ((st = emb_diag_gemm_gflops(0, n_thr, &own)) != EMB_OK ||
            (st = emb_diag_gemm_gflops(1, n_thr, &blas)) != EMB_OK) {
            cli_fail("peak GEMM", st);
            goto done;
        }
    }
    struct stat sb;
    double file_mb = stat(model, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0.0;
    const char *arch = emb_model_meta(m, "architecture");
    const char *dtype = emb_model_meta(m, "weights_dtype");
    arch = arch ? arch : "";
    dtype = dtype ? dtype : "";

    if (json) {
        printf("{\"model\": ");
        cli_json_string(stdout, model, strlen(model));
        printf(", \"architecture\": ");
        cli_json_string(stdout, arch, strlen(arch));
        printf(", \"weights_dtype\": ");
        cli_json_string(stdout, dtype, strlen(dtype));
        printf(", \"layers\": %ld, \"hidden\": %ld, \"non_embedding_params\": %llu",
               layers, hidden, (unsigned long long)params);
        printf(", \"threads\": %d, \"batch\": %zu, \"tokens\": %zu, \"min_len\": %zu, "
               "\"max_len\": %zu, \"reps\": %ld, \"warmup\": %ld, \"compute\": \"%s\"",
               n_thr, n, tokens, min_len, max_len, reps, warmup,
               compute == EMB_COMPUTE_BF16 ? "bf16" : "f32");
        printf(", \"ms_median\": %.4f, \"ms_min\": %.4f, \"tokens_per_s\": %.2f, \"gflops\": %.3f, "
               "\"flops_per_batch\": %.6g",
               ms_median, ms_min, tok_s, gflops, flops);
        printf(", \"open_ms\": %.3f, \"rss_after_open_mb\": %.1f, \"peak_rss_mb\": %.1f, "
               "\"model_file_mb\": %.1f",
               open_ms, rss_open, rss_peak, file_mb);
        if (peak)
            printf(", \"peak_gflops\": {\"own\": %.3f, \"blas\": %.3f}", own, blas);
        else
            printf(", \"peak_gflops\": null");
        printf("}\n");
    } else {
        printf("model       %s (%s, %s weights, %ld layers, hidden %ld, %.1fM non-embedding "
               "params, %.0f MB file)\n",
               model, arch, dtype, layers, hidden, (double)params * 1e-6, file_mb);
        printf("batch       %zu sequences, %zu tokens (lengths %zu..%zu), %d threads%s\n", n,
               tokens, min_len, max_len, n_thr,
               compute == EMB_COMPUTE_BF16 ? ", bf16 compute" : "");
        printf("open        %.1f ms\n", open_ms);
        printf("encode      median %.2f ms, min %.2f ms per batch (%ld reps, %ld warm-up)\n",
               ms_median, ms_min, reps, warmup);
        printf("throughput  %.0f tokens/s, %.1f GFLOP/s\n", tok_s, gflops);
        printf("memory      peak RSS %.1f MB (%.1f MB after open)\n", rss_peak, rss_open);
        if (peak)
            printf("peak GEMM   own %.1f GFLOP/s, BLAS %.1f GFLOP/s (fp32 2048x3072x768, %d "
                   "threads)\n",
                   own, blas, n_thr);
    }
    rc = 0;

done:
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(out);
    free(ms);
    free(len);
    emb_model_close(m);
    return rc;

usage:
    free(len);
    fputs(bench_usage, stderr);
    return 2;
}
