/* Single-thread GFLOP/s of kern_linear (weights packed per call from their
 * stored type) against the old path (kern_gemm_packed / kern_gemm_bf16 on a
 * weight packed once), on the e5-small and Qwen3-0.6B Linear shapes; and
 * kern_linear_i8 (int8 weights, "i8 int8" rows) against kern_linear on bf16
 * weights with bf16 math (its "old" column), GFLOP-equivalent/s. Each
 * call reads a different copy of the weights (~96 MiB in rotation), so the
 * weights come from DRAM as in a real forward pass.
 *
 * Build and run from the project root (after `make lib`):
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc bench/linear_bench.c lib/libemb.a \
 *      $(pkg-config --libs hdf5 openblas libutf8proc libpcre2-8 jansson) -lm -lpthread \
 *      -o build/linear_bench && ./build/linear_bench [filter]
 * Optional argument: only shapes whose label contains it. LINEAR_BENCH_MIB=0:
 * weights in cache.
 *
 * `./build/linear_bench i8p [filter]`: instead, kern_linear_i8 (weights
 * packed to VNNI panels on every call) against kern_linear_i8p (the same
 * panels packed once, read in place) on the e5-small and e5-base Linear
 * shapes at m = 1, 16, 128, 4096: medians of interleaved trials (order
 * alternating), and the median of the per-trial ratios.
 *
 * `./build/linear_bench avx2 [filter]`: the AVX2 paths (as on a CPU without
 * AVX-512): kern_linear_isa(KERN_ISA_AVX2) on fp32 weights against
 * kern_linear_i8_isa and kern_linear_i8p_isa(KERN_ISA_AVX2) on the same
 * shapes (GFLOP-equivalent/s, medians of interleaved trials, and the median
 * per-trial ratio i8p / fp32).
 *
 * `./build/linear_bench outliers [filter]`: kern_linear_i8p on the active
 * path without and with 16 fp32 outlier features (format 1.2's
 * kern_i8_outliers, their [16, n] weights in rotation with the panels) on
 * the same shapes: the cost of the decomposition (median per-trial ratio
 * of the rates, with / without). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

/* Bytes of weight copies in rotation: 96 MiB, or $LINEAR_BENCH_MIB (0: one
 * copy, the weights stay in cache: the compute-bound rate). */
static size_t rotation_bytes(void)
{
    const char *e = getenv("LINEAR_BENCH_MIB");
    return (e ? (size_t)strtoul(e, NULL, 10) : 96) << 20;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

typedef struct shape {
    const char *model;
    size_t m, n, k;
} shape;

static const shape shapes[] = {
    {"e5-small", 4096, 384, 384},  {"e5-small", 4096, 1536, 384}, {"e5-small", 4096, 384, 1536},
    {"e5-small", 4096, 1152, 384}, {"e5-small", 128, 1152, 384},  {"e5-small", 128, 384, 384},
    {"e5-small", 128, 1536, 384},  {"e5-small", 128, 384, 1536},  {"e5-small", 16, 1152, 384},
    {"e5-small", 16, 384, 384},    {"e5-small", 16, 1536, 384},   {"e5-small", 16, 384, 1536},
    {"qwen3", 1024, 2048, 1024},   {"qwen3", 1024, 1024, 2048},   {"qwen3", 1024, 3072, 1024},
    {"qwen3", 1024, 1024, 3072},   {"qwen3", 16, 2048, 1024},     {"qwen3", 16, 1024, 2048},
    {"qwen3", 16, 3072, 1024},     {"qwen3", 16, 1024, 3072},
    {"e5-base", 16, 768, 768},     {"e5-base", 16, 3072, 768},    {"e5-base", 16, 768, 3072},
    {"e5-small", 1, 1536, 384},    {"qwen3", 1, 3072, 1024},      {"qwen3", 5, 1024, 3072},
};

/* Seconds per call of one run of `fn` over rotating weight copies. */
typedef struct run {
    int old;            /* 1: packed once; 0: kern_linear; 2: kern_linear_i8 */
    int bf16;           /* compute type */
    kern_wtype wt;      /* stored type (kern_linear) */
    size_t m, n, k;
    const float *x, *bias;
    float *y;
    unsigned char *w;   /* copies, `stride` bytes apart */
    size_t stride, copies;
    const float *ws;    /* kern_linear_i8: column scales */
} run;

static void call(const run *r, size_t c)
{
    const unsigned char *w = r->w + c * r->stride;
    if (r->old == 2) {
        if (kern_linear_i8(r->m, r->n, r->k, r->x, r->k, (const int8_t *)(const void *)w, r->k,
                           r->ws, r->bias, r->y, r->n) != 0)
            abort();
    } else if (r->old && r->bf16)
        kern_gemm_bf16(r->m, r->n, r->k, r->x, r->k, (const uint16_t *)(const void *)w, r->bias,
                       r->y, r->n);
    else if (r->old)
        kern_gemm_packed(r->m, r->n, r->k, r->x, r->k, (const float *)(const void *)w, r->k,
                         r->bias, r->y, r->n);
    else if (kern_linear(r->m, r->n, r->k, r->x, r->k, w, r->wt, r->k, r->bf16, r->bias, r->y,
                         r->n) != 0)
        abort();
}

/* GFLOP/s of one timed trial (~0.1 s at 250 GFLOP/s). */
static double time_run(const run *r, int trial)
{
    double flops = 2.0 * (double)r->m * (double)r->n * (double)r->k;
    size_t reps = (size_t)(0.25e9 * 0.1 / flops) + 3;
    call(r, 0);
    double t0 = now();
    for (size_t i = 0; i < reps; i++)
        call(r, (i + 1 + (size_t)trial * reps) % r->copies);
    return flops / ((now() - t0) / (double)reps) * 1e-9;
}

/* Best of TRIALS interleaved trials of each run (the machine is shared). */
#define TRIALS 5
static void time_runs(const run *runs, size_t count, double *best)
{
    for (size_t i = 0; i < count; i++)
        best[i] = 0;
    for (int trial = 0; trial < TRIALS; trial++)
        for (size_t i = 0; i < count; i++) {
            double gf = time_run(&runs[i], trial);
            if (gf > best[i])
                best[i] = gf;
        }
}

/* ------------------------------------------- int8: per-call pack vs pre-packed */

typedef struct i8run {
    int packed;              /* 0: kern_linear_i8 on w [n, k]; 1: kern_linear_i8p on panels;
                              * 2: kern_linear on fp32 w [n, k]; 3: kern_linear_i8p with
                              * 16 outlier features (cols below, weights at w + o_off) */
    kern_isa isa;            /* the path (packed 1, 2 and 0) */
    size_t m, n, k;
    const float *x, *ws, *bias;
    float *y;
    const unsigned char *w; /* copies, `stride` bytes apart */
    size_t stride, copies;
    const int32_t *cols;    /* packed 3: the outlier features */
    size_t o_off;           /* packed 3: their [16, n] f32 weights in each copy */
} i8run;

#define BENCH_OUTLIERS 16

/* GFLOP/s of one trial: calls on rotating copies for at least ~30 ms. */
static double time_i8(const i8run *r, size_t *next)
{
    double flops = 2.0 * (double)r->m * (double)r->n * (double)r->k, t0 = now(), t;
    size_t calls = 0;
    do {
        const unsigned char *w = r->w + (*next)++ % r->copies * r->stride;
        kern_i8_outliers o = { BENCH_OUTLIERS, r->cols,
                               (const float *)(const void *)(w + r->o_off), r->n };
        int rc = r->packed == 3   ? kern_linear_i8p_isa(r->isa, r->m, r->n, r->k, r->x, r->k, w,
                                                        r->ws, &o, r->bias, r->y, r->n)
                 : r->packed == 2 ? kern_linear_isa(r->isa, r->m, r->n, r->k, r->x, r->k, w,
                                                    KERN_W_F32, r->k, 0, r->bias, r->y, r->n)
                 : r->packed == 1 ? kern_linear_i8p_isa(r->isa, r->m, r->n, r->k, r->x, r->k, w,
                                                        r->ws, NULL, r->bias, r->y, r->n)
                                  : kern_linear_i8_isa(r->isa, r->m, r->n, r->k, r->x, r->k,
                                                       (const int8_t *)(const void *)w, r->k,
                                                       r->ws, r->bias, r->y, r->n);
        if (rc != 0)
            abort();
        calls++;
        t = now() - t0;
    } while (calls < 3 || t < 0.03);
    return flops * (double)calls / t * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t count)
{
    qsort(v, count, sizeof *v, cmp_double);
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

#define I8P_TRIALS 7
/* avx2 = 0: kern_linear_i8 vs kern_linear_i8p on the active path; 1: the
 * AVX2 path's fp32 kern_linear vs kern_linear_i8 vs kern_linear_i8p;
 * outliers = 1 (avx2 = 0): kern_linear_i8p without vs with 16 outlier
 * features. */
static int bench_i8p(const char *filter, int avx2, int outliers)
{
    static const struct {
        const char *model;
        size_t n, k;
    } ws_shapes[] = {{"e5-small", 1152, 384}, {"e5-small", 384, 384},  {"e5-small", 1536, 384},
                     {"e5-small", 384, 1536}, {"e5-base", 2304, 768}, {"e5-base", 768, 3072}};
    static const size_t ms[] = {1, 16, 128, 4096};
    unsigned seed = 7;
    kern_isa isa = avx2 ? KERN_ISA_AVX2 : kern_isa_active();
    if (avx2 && !kern_isa_supported(KERN_ISA_AVX2)) {
        fprintf(stderr, "linear_bench: no AVX2 on this CPU\n");
        return 1;
    }
    if (avx2)
        printf("%-9s %5s %5s %5s  %9s %9s %9s %8s\n", "model", "m", "n", "k", "f32 GF/s",
               "i8 GF/s", "i8p GF/s", "i8p/f32");
    else if (outliers)
        printf("%-9s %5s %5s %5s  %9s %9s %8s\n", "model", "m", "n", "k", "i8p GF/s",
               "+out GF/s", "out/i8p");
    else
        printf("%-9s %5s %5s %5s  %9s %9s %8s\n", "model", "m", "n", "k", "i8 GF/s", "i8p GF/s",
               "i8p/i8");
    for (size_t s = 0; s < sizeof ws_shapes / sizeof ws_shapes[0]; s++) {
        size_t n = ws_shapes[s].n, k = ws_shapes[s].k;
        float *wf = malloc(n * k * sizeof *wf), *ws = malloc(n * sizeof *ws);
        float *bias = malloc(n * sizeof *bias);
        size_t qbytes = (n * k + 4095) / 4096 * 4096;
        size_t o_off = kern_i8_panels_size(n, k); /* outlier weights after the panels */
        size_t pbytes = (o_off + BENCH_OUTLIERS * n * sizeof(float) + 4095) / 4096 * 4096;
        int32_t cols[BENCH_OUTLIERS];
        for (size_t t = 0; t < BENCH_OUTLIERS; t++)
            cols[t] = (int32_t)(t * (k / BENCH_OUTLIERS) + k / 37);
        size_t qcopies = rotation_bytes() ? rotation_bytes() / qbytes + 2 : 1;
        size_t pcopies = rotation_bytes() ? rotation_bytes() / pbytes + 2 : 1;
        unsigned char *qb = aligned_alloc(4096, qcopies * qbytes);
        unsigned char *pb = aligned_alloc(4096, pcopies * pbytes);
        size_t fbytes = (n * k * sizeof(float) + 4095) / 4096 * 4096;
        size_t fcopies = !avx2 ? 0 : rotation_bytes() ? rotation_bytes() / fbytes + 2 : 1;
        unsigned char *fb = avx2 ? aligned_alloc(4096, fcopies * fbytes) : NULL;
        if (!wf || !ws || !bias || !qb || !pb || (avx2 && !fb))
            abort();
        for (size_t i = 0; i < n * k; i++)
            wf[i] = frand(&seed);
        for (size_t j = 0; j < n; j++) {
            bias[j] = frand(&seed);
            if (kern_quant_i8_row(k, wf + j * k, (int8_t *)(void *)(qb + j * k), &ws[j]) != 0)
                abort();
        }
        kern_pack_i8_panels(n, k, (const int8_t *)(const void *)qb, k, pb);
        for (size_t i = 0; i < BENCH_OUTLIERS * n; i++) {
            float v = frand(&seed);
            memcpy(pb + o_off + i * sizeof v, &v, sizeof v);
        }
        for (size_t c = 1; c < qcopies; c++)
            memcpy(qb + c * qbytes, qb, n * k);
        for (size_t c = 1; c < pcopies; c++)
            memcpy(pb + c * pbytes, pb, pbytes);
        for (size_t c = 0; c < fcopies; c++)
            memcpy(fb + c * fbytes, wf, n * k * sizeof(float));
        for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++) {
            size_t m = ms[a];
            char label[64];
            snprintf(label, sizeof label, "%s m=%zu n=%zu k=%zu", ws_shapes[s].model, m, n, k);
            if (filter && !strstr(label, filter))
                continue;
            float *x = malloc(m * k * sizeof *x), *y = malloc(m * n * sizeof *y);
            if (!x || !y)
                abort();
            for (size_t i = 0; i < m * k; i++)
                x[i] = frand(&seed);
            i8run runs[3] = {{0, isa, m, n, k, x, ws, bias, y, qb, qbytes, qcopies, cols, o_off},
                             {1, isa, m, n, k, x, ws, bias, y, pb, pbytes, pcopies, cols, o_off},
                             {2, isa, m, n, k, x, ws, bias, y, fb, fbytes, fcopies, cols, o_off}};
            if (outliers) /* run 0: the same panels, with the outlier features */
                runs[0] = (i8run){3, isa, m, n, k, x, ws, bias, y, pb, pbytes, pcopies, cols, o_off};
            int nruns = avx2 ? 3 : 2;
            double gf[3][I8P_TRIALS], ratio[I8P_TRIALS];
            size_t next[3] = {1, 1, 1};
            for (int r = 0; r < nruns; r++)
                (void)time_i8(&runs[r], &next[r]); /* warm up */
            for (int t = 0; t < I8P_TRIALS; t++) {
                for (int o = 0; o < nruns; o++) {
                    int r = (t + o) % nruns;
                    gf[r][t] = time_i8(&runs[r], &next[r]);
                }
                ratio[t] = outliers ? gf[0][t] / gf[1][t] : gf[1][t] / gf[avx2 ? 2 : 0][t];
            }
            if (avx2)
                printf("%-9s %5zu %5zu %5zu  %9.1f %9.1f %9.1f %8.3f\n", ws_shapes[s].model, m, n,
                       k, median(gf[2], I8P_TRIALS), median(gf[0], I8P_TRIALS),
                       median(gf[1], I8P_TRIALS), median(ratio, I8P_TRIALS));
            else if (outliers)
                printf("%-9s %5zu %5zu %5zu  %9.1f %9.1f %8.3f\n", ws_shapes[s].model, m, n, k,
                       median(gf[1], I8P_TRIALS), median(gf[0], I8P_TRIALS),
                       median(ratio, I8P_TRIALS));
            else
                printf("%-9s %5zu %5zu %5zu  %9.1f %9.1f %8.3f\n", ws_shapes[s].model, m, n, k,
                       median(gf[0], I8P_TRIALS), median(gf[1], I8P_TRIALS),
                       median(ratio, I8P_TRIALS));
            fflush(stdout);
            free(x), free(y);
        }
        free(wf), free(ws), free(bias), free(qb), free(pb), free(fb);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "i8p") == 0 || strcmp(argv[1], "avx2") == 0 ||
                     strcmp(argv[1], "outliers") == 0))
        return bench_i8p(argc > 2 ? argv[2] : NULL, strcmp(argv[1], "avx2") == 0,
                         strcmp(argv[1], "outliers") == 0);
    const char *filter = argc > 1 ? argv[1] : NULL;
    unsigned seed = 1;
    printf("%-9s %5s %5s %5s  %-4s %-5s  %9s %9s %7s\n", "model", "m", "n", "k", "w", "math",
           "old GF/s", "new GF/s", "new/old");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *sh = &shapes[s];
        char label[64];
        snprintf(label, sizeof label, "%s m=%zu n=%zu k=%zu", sh->model, sh->m, sh->n, sh->k);
        if (filter && !strstr(label, filter))
            continue;
        size_t m = sh->m, n = sh->n, k = sh->k;
        float *x = malloc(m * k * sizeof *x), *y = malloc(m * n * sizeof *y);
        float *bias = malloc(n * sizeof *bias), *wf = malloc(n * k * sizeof *wf);
        for (size_t i = 0; i < m * k; i++)
            x[i] = frand(&seed);
        for (size_t i = 0; i < n; i++)
            bias[i] = frand(&seed);
        for (size_t i = 0; i < n * k; i++)
            wf[i] = frand(&seed);
        uint16_t *wb = malloc(n * k * sizeof *wb);
        for (size_t i = 0; i < n * k; i++)
            wb[i] = kern_f32_to_bf16(wf[i]);
        for (int bf16 = 0; bf16 <= 1; bf16++) {
            run runs[3];
            unsigned char *bufs[3];
            /* old: packed once */
            size_t pbytes = bf16 ? kern_pack_bf16_size(n, k) * 2 : kern_pack_nt_size(n, k) * 4;
            pbytes = (pbytes + 4095) / 4096 * 4096;
            size_t copies = rotation_bytes() ? rotation_bytes() / pbytes + 2 : 1;
            bufs[0] = aligned_alloc(4096, copies * pbytes);
            for (size_t c = 0; c < copies; c++) {
                if (bf16)
                    kern_pack_bf16(n, k, wf, k, (uint16_t *)(void *)(bufs[0] + c * pbytes));
                else
                    kern_pack_nt(n, k, wf, k, (float *)(void *)(bufs[0] + c * pbytes));
            }
            runs[0] =
                (run){1, bf16, KERN_W_F32, m, n, k, x, bias, y, bufs[0], pbytes, copies, NULL};
            for (int t = 0; t < 2; t++) {
                kern_wtype wt = t ? KERN_W_BF16 : KERN_W_F32;
                size_t wbytes = (n * k * kern_wtype_size(wt) + 4095) / 4096 * 4096;
                copies = rotation_bytes() ? rotation_bytes() / wbytes + 2 : 1;
                bufs[1 + t] = aligned_alloc(4096, copies * wbytes);
                for (size_t c = 0; c < copies; c++)
                    memcpy(bufs[1 + t] + c * wbytes, t ? (const void *)wb : (const void *)wf,
                           n * k * kern_wtype_size(wt));
                runs[1 + t] =
                    (run){0, bf16, wt, m, n, k, x, bias, y, bufs[1 + t], wbytes, copies, NULL};
            }
            double gf[3];
            time_runs(runs, 3, gf);
            for (int t = 0; t < 2; t++)
                printf("%-9s %5zu %5zu %5zu  %-4s %-5s  %9.1f %9.1f %7.3f\n", sh->model, m, n, k,
                       t ? "bf16" : "f32", bf16 ? "bf16" : "fp32", gf[0], gf[1 + t],
                       gf[1 + t] / gf[0]);
            fflush(stdout);
            for (int b = 0; b < 3; b++)
                free(bufs[b]);
        }
        /* int8 weights (kern_quant_i8_row) against bf16 weights and math */
        {
            size_t bbytes = (n * k * 2 + 4095) / 4096 * 4096, qbytes = (n * k + 4095) / 4096 * 4096;
            size_t bcopies = rotation_bytes() ? rotation_bytes() / bbytes + 2 : 1;
            size_t qcopies = rotation_bytes() ? rotation_bytes() / qbytes + 2 : 1;
            unsigned char *bb = aligned_alloc(4096, bcopies * bbytes);
            unsigned char *qb = aligned_alloc(4096, qcopies * qbytes);
            float *ws = malloc(n * sizeof *ws);
            for (size_t j = 0; j < n; j++)
                if (kern_quant_i8_row(k, wf + j * k, (int8_t *)(void *)(qb + j * k), &ws[j]) != 0)
                    abort();
            for (size_t c = 0; c < bcopies; c++)
                memcpy(bb + c * bbytes, wb, n * k * 2);
            for (size_t c = 1; c < qcopies; c++)
                memcpy(qb + c * qbytes, qb, n * k);
            run runs[2] = {
                {0, 1, KERN_W_BF16, m, n, k, x, bias, y, bb, bbytes, bcopies, NULL},
                {2, 0, KERN_W_F32, m, n, k, x, bias, y, qb, qbytes, qcopies, ws},
            };
            double gf[2];
            time_runs(runs, 2, gf);
            printf("%-9s %5zu %5zu %5zu  %-4s %-5s  %9.1f %9.1f %7.3f\n", sh->model, m, n, k, "i8",
                   "int8", gf[0], gf[1], gf[1] / gf[0]);
            fflush(stdout);
            free(bb), free(qb), free(ws);
        }
        free(x), free(y), free(bias), free(wf), free(wb);
    }
    return 0;
}
