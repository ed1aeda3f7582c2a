/* Kernel and forward-pass micro-benchmarks (not a test): GEMM paths against
 * cblas_sgemm, one attention head, and mdl_encode on a random e5-small-sized
 * BERT. Single-threaded numbers (libemb never threads inside a sequence),
 * OpenBLAS (cblas_sgemm) with 1 thread on the same operands; times are the
 * thread's CPU time, so neighbours on a shared machine disturb them less.
 *   usage: bench_kernels [seconds-per-case [gemm|attention|bert|decoder]]   (bench/kernels.sh builds and runs it) */
#include <cblas.h>
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model.h"
#include "runtime/runtime.h"

void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

static double min_time = 0.3;
static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

static float *rbuf(size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    if (!p)
        exit(1);
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}

typedef void (*bench_fn)(void *ctx);

/* CPU seconds of the calling thread: on a shared machine, wall time mostly
 * measures the neighbours. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds per call: the fastest of repeated batches (each >= 20 ms) */
static double timeit(bench_fn fn, void *ctx)
{
    fn(ctx); /* warm-up */
    double best = 1e30, start = rt_now();
    int reps = 1;
    while (rt_now() - start < min_time || best > 1e29) {
        double t0 = cpu_now();
        for (int i = 0; i < reps; i++)
            fn(ctx);
        double dt = cpu_now() - t0;
        if (dt / reps < best)
            best = dt / reps;
        if (dt < 0.02)
            reps *= 2;
    }
    return best;
}

typedef struct gemm_ctx {
    size_t m, n, k;
    const float *x, *w, *bias;
    float *y;
    kern_isa isa;
    float *packed;
} gemm_ctx;

static void run_packed(void *p)
{
    gemm_ctx *c = p;
    kern_gemm_packed_isa(c->isa, c->m, c->n, c->k, c->x, c->k, c->packed, c->k, c->bias, c->y, c->n);
}

static void run_own(void *p) /* weights in place, as the models run them */
{
    gemm_ctx *c = p;
    kern_linear_isa(c->isa, c->m, c->n, c->k, c->x, c->k, c->w, KERN_W_F32, c->k, 0, c->bias, c->y,
                    c->n);
}

static void run_blas(void *p)
{
    gemm_ctx *c = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->m, (int)c->n, (int)c->k, 1.0f,
                c->x, (int)c->k, c->w, (int)c->k, 0.0f, c->y, (int)c->n);
}

static void bench_gemm(size_t m, size_t n, size_t k)
{
    gemm_ctx c = {m, n, k, rbuf(m * k, 1), rbuf(n * k, 1), rbuf(n, 1), rbuf(m * n, 1), KERN_ISA_GENERIC,
                  NULL};
    c.packed = aligned_alloc(64, (kern_pack_nt_size(n, k) * sizeof(float) + 63) / 64 * 64);
    kern_pack_nt(n, k, c.w, k, c.packed);
    double flop = 2.0 * (double)m * (double)n * (double)k;
    printf("linear %5zu x %5zu x %5zu  ", m, n, k);
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        if (!kern_isa_supported((kern_isa)isa))
            continue;
        c.isa = (kern_isa)isa;
        printf(" %s %6.1f", kern_isa_name(c.isa), flop / timeit(run_own, &c) * 1e-9);
        printf(" packed-%s %6.1f", kern_isa_name(c.isa), flop / timeit(run_packed, &c) * 1e-9);
    }
    int def = openblas_get_num_threads();
    openblas_set_num_threads(1);
    printf("  openblas %6.1f GFLOP/s\n", flop / timeit(run_blas, &c) * 1e-9);
    openblas_set_num_threads(def);
    free((void *)c.x), free((void *)c.w), free((void *)c.bias), free(c.y), free(c.packed);
}

typedef struct attn_ctx {
    size_t n, hd;
    int causal;
    float *q, *k, *v, *o, *scratch;
} attn_ctx;

static void run_attn(void *p)
{
    attn_ctx *c = p;
    kern_attention_head(c->n, 0, c->n, c->hd, c->q, c->hd, c->k, c->hd, c->v, c->hd, c->o, c->hd,
                        1.0f / sqrtf((float)c->hd), c->causal, c->scratch);
}

static void bench_attention(size_t n, size_t hd, int causal)
{
    attn_ctx c = {n, hd, causal, rbuf(n * hd, 1), rbuf(n * hd, 1), rbuf(n * hd, 1), rbuf(n * hd, 1),
                  rbuf(kern_attention_scratch(n, hd), 1)};
    double flop = 4.0 * (double)n * (double)n * (double)hd * (causal ? 0.5 : 1.0);
    double t = timeit(run_attn, &c);
    printf("attention head n=%5zu hd=%3zu %s  %8.3f ms  %6.1f GFLOP/s\n", n, hd,
           causal ? "causal" : "full  ", t * 1e3, flop / t * 1e-9);
    free(c.q), free(c.k), free(c.v), free(c.o), free(c.scratch);
}

/* ---- a random BERT of e5-small-v2's shape (12 layers, 384, 12 heads, 1536) */

typedef struct enc_ctx {
    mdl_model *m;
    int32_t *ids;
    size_t n;
    float *out;
} enc_ctx;

static void run_encode(void *p)
{
    enc_ctx *c = p;
    if (mdl_encode(c->m, c->ids, c->n, c->out) != EMB_OK)
        exit(1);
}

static void bench_bert(void)
{
    mdl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "bert");
    snprintf(cfg.act, sizeof cfg.act, "gelu");
    cfg.vocab_size = 30522, cfg.hidden = 384, cfg.layers = 12, cfg.heads = 12, cfg.kv_heads = 12;
    cfg.head_dim = 32, cfg.intermediate = 1536, cfg.max_position = 512, cfg.type_vocab_size = 2;
    cfg.norm_eps = 1e-12, cfg.pooling = MDL_POOL_MEAN, cfg.normalize = 1;
    size_t h = 384, in = 1536;
    mdl_tensor t[8 + 16 * 12];
    char names[8 + 16 * 12][96];
    size_t nt = 0;
#define T1(nm, d0)                                                                                \
    do {                                                                                          \
        snprintf(names[nt], 96, "%s", nm);                                                        \
        t[nt] = (mdl_tensor){names[nt], 1, {(int64_t)(d0)}, rbuf(d0, 0.1f), KERN_W_F32};          \
        nt++;                                                                                     \
    } while (0)
#define T2(nm, d0, d1)                                                                            \
    do {                                                                                          \
        snprintf(names[nt], 96, "%s", nm);                                                        \
        t[nt] = (mdl_tensor){names[nt], 2, {(int64_t)(d0), (int64_t)(d1)},                        \
                             rbuf((size_t)(d0) * (d1), 0.05f), KERN_W_F32};                       \
        nt++;                                                                                     \
    } while (0)
    T2("embeddings.word_embeddings.weight", 30522, h);
    T2("embeddings.position_embeddings.weight", 512, h);
    T2("embeddings.token_type_embeddings.weight", 2, h);
    T1("embeddings.LayerNorm.weight", h);
    T1("embeddings.LayerNorm.bias", h);
    for (int l = 0; l < 12; l++) {
        char nm[96];
        static const char *lin[] = {"attention.self.query", "attention.self.key",
                                    "attention.self.value", "attention.output.dense"};
        for (int j = 0; j < 4; j++) {
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.weight", l, lin[j]);
            T2(nm, h, h);
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.bias", l, lin[j]);
            T1(nm, h);
        }
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.weight", l);
        T2(nm, in, h);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.bias", l);
        T1(nm, in);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.weight", l);
        T2(nm, h, in);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.bias", l);
        T1(nm, h);
        static const char *ln[] = {"attention.output.LayerNorm", "output.LayerNorm"};
        for (int j = 0; j < 2; j++) {
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.weight", l, ln[j]);
            T1(nm, h);
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.bias", l, ln[j]);
            T1(nm, h);
        }
    }
    mdl_weights w = {nt, t};
    mdl_model *m;
    if (mdl_create(&cfg, &w, &m) != EMB_OK) {
        fprintf(stderr, "mdl_create: %s\n", rt_last_error());
        exit(1);
    }
    static const size_t lens[] = {16, 128, 512};
    for (size_t i = 0; i < 3; i++) {
        enc_ctx c = {m, malloc(lens[i] * sizeof(int32_t)), lens[i], malloc(h * sizeof(float))};
        for (size_t j = 0; j < lens[i]; j++)
            c.ids[j] = (int32_t)(1000 + j * 37 % 20000);
        double tm = timeit(run_encode, &c);
        printf("e5-small-shaped BERT, one %3zu-token sequence, 1 thread: %8.2f ms  %7.0f tok/s\n",
               lens[i], tm * 1e3, (double)lens[i] / tm);
        free(c.ids), free(c.out);
    }
    mdl_free(m);
    for (size_t i = 0; i < nt; i++)
        free((void *)t[i].data);
}

/* ---- a random decoder of Qwen3-0.6B's layer shape (hidden 1024, 16/8 heads,
 * head_dim 128, q/k norms, SwiGLU 3072), 4 layers, small vocabulary */

static void bench_decoder(void)
{
    mdl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "qwen3");
    snprintf(cfg.act, sizeof cfg.act, "silu");
    cfg.vocab_size = 4096, cfg.hidden = 1024, cfg.layers = 4, cfg.heads = 16, cfg.kv_heads = 8;
    cfg.head_dim = 128, cfg.intermediate = 3072, cfg.max_position = 40960;
    cfg.norm_eps = 1e-6, cfg.rope_theta = 1e6, cfg.pooling = MDL_POOL_LASTTOKEN, cfg.normalize = 1;
    size_t h = 1024, qd = 2048, kd = 1024, in = 3072, hd = 128;
    enum { MAXT = 4 + 11 * 4 };
    mdl_tensor t[MAXT];
    char names[MAXT][96];
    size_t nt = 0;
    T2("embed_tokens.weight", 4096, h);
    T1("norm.weight", h);
    for (int l = 0; l < 4; l++) {
        char nm[96];
#define LAYER2(suffix, d0, d1)                                                                    \
    do {                                                                                          \
        snprintf(nm, sizeof nm, "layers.%d.%s", l, suffix);                                       \
        T2(nm, d0, d1);                                                                           \
    } while (0)
#define LAYER1(suffix, d0)                                                                        \
    do {                                                                                          \
        snprintf(nm, sizeof nm, "layers.%d.%s", l, suffix);                                       \
        T1(nm, d0);                                                                               \
    } while (0)
        LAYER1("input_layernorm.weight", h);
        LAYER1("post_attention_layernorm.weight", h);
        LAYER1("self_attn.q_norm.weight", hd);
        LAYER1("self_attn.k_norm.weight", hd);
        LAYER2("self_attn.q_proj.weight", qd, h);
        LAYER2("self_attn.k_proj.weight", kd, h);
        LAYER2("self_attn.v_proj.weight", kd, h);
        LAYER2("self_attn.o_proj.weight", h, qd);
        LAYER2("mlp.gate_proj.weight", in, h);
        LAYER2("mlp.up_proj.weight", in, h);
        LAYER2("mlp.down_proj.weight", h, in);
    }
    mdl_weights w = {nt, t};
    mdl_model *m;
    if (mdl_create(&cfg, &w, &m) != EMB_OK) {
        fprintf(stderr, "mdl_create: %s\n", rt_last_error());
        exit(1);
    }
    static const size_t lens[] = {16, 512, 2048};
    for (size_t i = 0; i < 3; i++) {
        enc_ctx c = {m, malloc(lens[i] * sizeof(int32_t)), lens[i], malloc(h * sizeof(float))};
        for (size_t j = 0; j < lens[i]; j++)
            c.ids[j] = (int32_t)(j * 37 % 4096);
        double tm = timeit(run_encode, &c);
        printf("Qwen3-0.6B-layer-shaped decoder (4 layers), one %4zu-token sequence, 1 thread: "
               "%8.2f ms  %7.0f tok/s\n", lens[i], tm * 1e3, (double)lens[i] / tm);
        free(c.ids), free(c.out);
    }
    mdl_free(m);
    for (size_t i = 0; i < nt; i++)
        free((void *)t[i].data);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        min_time = atof(argv[1]);
    printf("kernel path: %s (EMB_CPU=generic forces the portable path); OpenBLAS core: %s\n",
           kern_isa_name(kern_isa_active()), openblas_get_corename());
    const char *only = argc > 2 ? argv[2] : "";
    if (!*only || !strcmp(only, "gemm")) {
        bench_gemm(1, 4096, 1024);
        bench_gemm(16, 768, 768);
        bench_gemm(128, 768, 768);
        bench_gemm(128, 3072, 768);
        bench_gemm(128, 768, 3072);
        bench_gemm(512, 1536, 384);
    }
    if (!*only || !strcmp(only, "attention")) {
        bench_attention(128, 64, 0);
        bench_attention(512, 64, 0);
        bench_attention(2048, 128, 1);
    }
    if (!*only || !strcmp(only, "bert"))
        bench_bert();
    if (!*only || !strcmp(only, "decoder"))
        bench_decoder();
    return 0;
}
