/* The machine's limits, to read the benchmarks against (docs/performance.md,
 * "Roofline"): peak fp32 FMA rate (AVX-512 vfmadd, 12 independent chains per
 * thread), peak bf16 dot-product rate (AVX512_BF16 vdpbf16ps, counted as 2
 * FLOPs per product), peak int8 dot-product rate (AVX512_VNNI vpdpbusd, 2
 * ops per u8·s8 product), and the memory bandwidth of a streaming read of 1 GiB,
 * each on 1 and on N threads. Build and run: sh bench/roofline.sh [N]. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ITERS 100000000L
#define MAXT 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct job {
    int kind;          /* 0 fp32 FMA, 1 bf16 dot, 2 stream read, 3 int8 dot */
    const float *mem;  /* kind 2 */
    size_t lo, hi;     /* kind 2: float range */
    float sink;
} job;

/* 12 independent accumulator chains a_i = OP(a_i, b, c), ITERS times, summed
 * at the end (distinct starting values, or the compiler merges the chains). */
#define CHAINS(OP, b, c)                                                                          \
    __m512 a0 = _mm512_set1_ps(0.0f), a1 = _mm512_set1_ps(0.1f), a2 = _mm512_set1_ps(0.2f);     \
    __m512 a3 = _mm512_set1_ps(0.3f), a4 = _mm512_set1_ps(0.4f), a5 = _mm512_set1_ps(0.5f);     \
    __m512 a6 = _mm512_set1_ps(0.6f), a7 = _mm512_set1_ps(0.7f), a8 = _mm512_set1_ps(0.8f);     \
    __m512 a9 = _mm512_set1_ps(0.9f), a10 = _mm512_set1_ps(1.0f), a11 = _mm512_set1_ps(1.1f);   \
    for (long i = 0; i < ITERS; i++) {                                                            \
        a0 = OP(a0, b, c), a1 = OP(a1, b, c), a2 = OP(a2, b, c), a3 = OP(a3, b, c);               \
        a4 = OP(a4, b, c), a5 = OP(a5, b, c), a6 = OP(a6, b, c), a7 = OP(a7, b, c);               \
        a8 = OP(a8, b, c), a9 = OP(a9, b, c), a10 = OP(a10, b, c), a11 = OP(a11, b, c);           \
    }                                                                                             \
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),        \
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));       \
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));         \
    return _mm512_reduce_add_ps(s)

__attribute__((target("avx512f"))) static float fma_loop(void)
{
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    CHAINS(_mm512_fmadd_ps, b, c);
}

__attribute__((target("avx512f,avx512bf16"))) static float dot_loop(void)
{
    const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80), c = (__m512bh)_mm512_set1_epi16(0x3380);
    CHAINS(_mm512_dpbf16_ps, b, c);
}

/* 12 independent vpdpbusd chains (u8 · s8, 4 products per int32 lane). */
__attribute__((target("avx512f,avx512vnni"))) static float vnni_loop(void)
{
    const __m512i b = _mm512_set1_epi8(1), c = _mm512_set1_epi8(-1);
    __m512i a[12];
    for (int k = 0; k < 12; k++)
        a[k] = _mm512_set1_epi32(k);
    for (long i = 0; i < ITERS; i++) {
        a[0] = _mm512_dpbusd_epi32(a[0], b, c), a[1] = _mm512_dpbusd_epi32(a[1], b, c);
        a[2] = _mm512_dpbusd_epi32(a[2], b, c), a[3] = _mm512_dpbusd_epi32(a[3], b, c);
        a[4] = _mm512_dpbusd_epi32(a[4], b, c), a[5] = _mm512_dpbusd_epi32(a[5], b, c);
        a[6] = _mm512_dpbusd_epi32(a[6], b, c), a[7] = _mm512_dpbusd_epi32(a[7], b, c);
        a[8] = _mm512_dpbusd_epi32(a[8], b, c), a[9] = _mm512_dpbusd_epi32(a[9], b, c);
        a[10] = _mm512_dpbusd_epi32(a[10], b, c), a[11] = _mm512_dpbusd_epi32(a[11], b, c);
    }
    __m512i s = a[0];
    for (int k = 1; k < 12; k++)
        s = _mm512_add_epi32(s, a[k]);
    return (float)_mm512_reduce_add_epi32(s);
}

__attribute__((target("avx512f"))) static float stream_loop(const float *p, size_t lo, size_t hi)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = lo; i + 64 <= hi; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
        s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static void *run(void *arg)
{
    job *j = arg;
    j->sink = j->kind == 0   ? fma_loop()
              : j->kind == 1 ? dot_loop()
              : j->kind == 3 ? vnni_loop()
                             : stream_loop(j->mem, j->lo, j->hi);
    return NULL;
}

/* Seconds for `threads` threads each running kind (kind 2: n floats split). */
static double timed(int kind, int threads, const float *mem, size_t n)
{
    pthread_t tid[MAXT];
    job jobs[MAXT];
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){ kind, mem, n / (size_t)threads * (size_t)i, n / (size_t)threads * (size_t)(i + 1), 0 };
        if (pthread_create(&tid[i], NULL, run, &jobs[i]) != 0) {
            fprintf(stderr, "roofline: cannot start a thread\n");
            exit(1);
        }
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    return now() - t0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2;
    if (n < 1 || n > MAXT) {
        fprintf(stderr, "usage: roofline [threads 1..%d]\n", MAXT);
        return 2;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "roofline: needs AVX-512F\n");
        return 1;
    }
    int bf16 = __builtin_cpu_supports("avx512bf16");
    int vnni = __builtin_cpu_supports("avx512vnni");
    size_t floats = (size_t)1 << 28; /* 1 GiB */
    float *mem = aligned_alloc(64, floats * sizeof *mem);
    if (!mem)
        return 1;
    memset(mem, 0, floats * sizeof *mem);
    int counts[2] = { 1, n };
    for (int c = 0; c < (n > 1 ? 2 : 1); c++) {
        int t = counts[c];
        double fma_s = timed(0, t, NULL, 0);
        printf("threads %d: fp32 FMA peak %.1f GFLOP/s", t, 12.0 * 32 * ITERS * t / fma_s / 1e9);
        if (bf16) {
            double dot_s = timed(1, t, NULL, 0);
            printf(", bf16 dot peak %.1f GFLOP/s", 12.0 * 64 * ITERS * t / dot_s / 1e9);
        }
        if (vnni) {
            double i8_s = timed(3, t, NULL, 0);
            printf(", int8 dot peak %.1f GOP/s", 12.0 * 128 * ITERS * t / i8_s / 1e9);
        }
        double best = 1e30;
        for (int r = 0; r < 3; r++) {
            double s = timed(2, t, mem, floats);
            best = s < best ? s : best;
        }
        printf(", stream read %.1f GB/s\n", (double)floats * sizeof *mem / best / 1e9);
    }
    free(mem);
    return 0;
}
