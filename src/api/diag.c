/* Diagnostics for benchmarks (`emb bench`): the fp32 GEMM rate this machine
 * gives the library's own kernel path and the BLAS, measured in the same run
 * so that model throughput can be read against the machine's peak, and the
 * parameter count a model's forward pass multiplies per token. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "kernels/kernels.h"
#include "runtime/runtime.h"

/* the reference shape: y[M, N] = x[M, K] · w[N, K]^T, e5-base's FFN up
 * projection over 2048 tokens */
#define DIAG_M 2048
#define DIAG_N 3072
#define DIAG_K 768
/* rows per task of the own path: output rows split into fixed blocks, as the
 * library splits work (over output tiles, never over k) */
#define DIAG_ROWS 128
#define DIAG_MIN_SECONDS 0.4
#define DIAG_MIN_REPS 3
#define DIAG_MAX_REPS 20

typedef struct diag_gemm {
    const float *x, *w, *packed;
    float *y;
} diag_gemm;

static void own_rows(void *arg, size_t index)
{
    const diag_gemm *g = arg;
    size_t r0 = index * DIAG_ROWS;
    size_t rows = DIAG_M - r0 < DIAG_ROWS ? DIAG_M - r0 : DIAG_ROWS;
    /* [rows, K] · packed [N, K]^T -> [rows, N] */
    kern_gemm_packed(rows, DIAG_N, DIAG_K, g->x + r0 * DIAG_K, DIAG_K, g->packed, DIAG_K, NULL,
                     g->y + r0 * DIAG_N, DIAG_N);
}

static void own_gemm(const diag_gemm *g, int n_threads)
{
    rt_parallel_for(n_threads, (DIAG_M + DIAG_ROWS - 1) / DIAG_ROWS, own_rows, (void *)g);
}

static void blas_gemm(const diag_gemm *g)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, DIAG_M, DIAG_N, DIAG_K, 1.0f, g->x, DIAG_K,
                g->w, DIAG_K, 0.0f, g->y, DIAG_N);
}

static void fill_random(float *p, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        p[i] = (float)((double)(s >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
    }
}

emb_status emb_diag_gemm_gflops(int use_blas, int n_threads, double *gflops)
{
    rt_error_clear();
    if (!gflops)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_diag_gemm_gflops: NULL gflops");
    *gflops = 0.0;
    if (n_threads < 0 || n_threads > RT_MAX_THREADS)
        return rt_error(EMB_ERR_INVALID_ARGUMENT,
                        "emb_diag_gemm_gflops: n_threads %d out of range 0..%d", n_threads,
                        RT_MAX_THREADS);
    if (n_threads == 0)
        n_threads = rt_default_threads();

    emb_status st = EMB_OK;
    diag_gemm g = { NULL, NULL, NULL, NULL };
    float *x = rt_alloc((size_t)DIAG_M * DIAG_K, sizeof *x);
    float *w = rt_alloc((size_t)DIAG_N * DIAG_K, sizeof *w);
    float *y = rt_alloc((size_t)DIAG_M * DIAG_N, sizeof *y);
    float *packed = NULL;
    int blas_threads = 0;
    if (!x || !w || !y) {
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    fill_random(x, (size_t)DIAG_M * DIAG_K, 88172645463325252ull);
    fill_random(w, (size_t)DIAG_N * DIAG_K, 2463534242ull);
    if (!use_blas) {
        size_t floats = kern_pack_nt_size(DIAG_N, DIAG_K);
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        packed = floats ? aligned_alloc(64, bytes) : NULL;
        if (!packed) {
            st = rt_error(EMB_ERR_NO_MEMORY, "emb_diag_gemm_gflops: packing buffer");
            goto fail;
        }
        kern_pack_nt(DIAG_N, DIAG_K, w, DIAG_K, packed);
    } else {
        blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(n_threads);
    }
    g.x = x;
    g.w = w;
    g.packed = packed;
    g.y = y;

    /* one warm-up call, then the best of at least DIAG_MIN_REPS calls and
     * DIAG_MIN_SECONDS: the least disturbed call on a shared machine */
    double best = 1e30, start = 0.0;
    for (int rep = -1; rep < DIAG_MAX_REPS; rep++) {
        if (rep == 0)
            start = rt_now();
        if (rep >= DIAG_MIN_REPS && rt_now() - start >= DIAG_MIN_SECONDS)
            break;
        double t0 = rt_now();
        if (use_blas)
            blas_gemm(&g);
        else
            own_gemm(&g, n_threads);
        double dt = rt_now() - t0;
        if (rep >= 0 && dt < best)
            best = dt;
    }
    if (use_blas)
        openblas_set_num_threads(blas_threads);
    if (best <= 0.0 || best >= 1e30) {
        st = rt_error(EMB_ERR_INTERNAL, "emb_diag_gemm_gflops: the clock did not advance");
        goto fail;
    }
    *gflops = 2.0 * DIAG_M * DIAG_N * DIAG_K / best * 1e-9;

fail:
    free(x);
    free(w);
    free(y);
    free(packed);
    return st;
}

emb_status emb_diag_model_params(const emb_model *model, uint64_t *non_embedding)
{
    rt_error_clear();
    if (!model || !non_embedding)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_diag_model_params: NULL %s",
                        !model ? "model" : "non_embedding");
    *non_embedding = 0;
    if (!model->mdl)
        return rt_error(EMB_ERR_NO_WEIGHTS,
                        "emb_diag_model_params: this model file holds only a tokenizer");
    *non_embedding = mdl_params(model->mdl); /* counted as the model bound its tensors */
    return EMB_OK;
}
