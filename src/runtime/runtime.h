/* runtime/ — errors, threads, CPU features, time. The bottom layer: every
 * other folder may include this header. */
#ifndef EMB_RUNTIME_H
#define EMB_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "emb.h"

/* Record `status` with a printf-style detail message as the calling thread's
 * last error and return `status`, so errors are set once where found:
 *     return rt_error(EMB_ERR_FORMAT, "%s: tensor %s has shape ...", path, name); */
emb_status rt_error(emb_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clear the calling thread's last error (done on entry to public calls). */
void rt_error_clear(void);

/* The calling thread's last error message ("" if none). */
const char *rt_last_error(void);

/* Checked size arithmetic: return 0 and store the result, or 1 on overflow. */
static inline int rt_mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline int rt_add_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* malloc/calloc/realloc that record EMB_ERR_NO_MEMORY in the last error when
 * they fail (the caller still checks for NULL). n * size is overflow-checked. */
void *rt_alloc(size_t n, size_t size);
void *rt_calloc(size_t n, size_t size);
void *rt_realloc(void *p, size_t n, size_t size);

/* The one cap on a thread count, everywhere: emb_open_options.n_threads and
 * emb_diag_gemm_gflops's n_threads above it are refused with
 * EMB_ERR_INVALID_ARGUMENT ("out of range 0..1024"), EMB_NUM_THREADS above it
 * is ignored (as any invalid value), a count from the machine (affinity mask,
 * cgroup quota) is lowered to it, and rt_parallel_for / rt_parallel_run and a
 * forward pass's budget (mdl_encode_threads) are capped to it
 * (rt_threads_clamp): at most this many threads, the caller's included. */
#define RT_MAX_THREADS 1024

/* n_threads within 1..RT_MAX_THREADS: how every thread budget is capped
 * (below 1: one thread, the caller's). */
static inline int rt_threads_clamp(int n_threads)
{
    return n_threads < 1 ? 1 : n_threads > RT_MAX_THREADS ? RT_MAX_THREADS : n_threads;
}

/* Number of threads to use by default: EMB_NUM_THREADS if set and valid
 * (1..RT_MAX_THREADS), else the CPU affinity mask's count, lowered to the
 * cgroup CPU quota when one is set (cgroup v2 /sys/fs/cgroup/cpu.max, else
 * v1 cpu.cfs_quota_us / cpu.cfs_period_us; rounded up), in
 * 1..RT_MAX_THREADS. The one default: emb_model_open (n_threads = 0, which
 * the model reports as its "threads" metadata) and emb_diag_gemm_gflops use
 * it. */
int rt_default_threads(void);
/* CPUs a cgroup quota allows, from a cgroup v2 cpu.max line ("max 100000",
 * "150000 100000"): ceil(quota / period) up to RT_MAX_THREADS, or 0 when
 * unlimited or unparsable. */
int rt_cpu_max_parse(const char *text);

/* A tiny fork-join pool: run fn(arg, i) for i in [0, n) over up to
 * min(n_threads, n, RT_MAX_THREADS) threads (the caller's thread included).
 * Order of completion is unspecified; each index runs exactly once. Returns
 * 0, or -1 if threads could not be started (then everything ran on the
 * caller's thread). */
typedef void (*rt_task_fn)(void *arg, size_t index);
int rt_parallel_for(int n_threads, size_t n, rt_task_fn fn, void *arg);

/* The same on a persistent process-wide pool, cheap enough to call per GEMM
 * (the forward pass of one sequence splits its work with it): fn(arg, i) for
 * i in [0, n) on the caller's thread plus up to n_threads - 1 pooled workers
 * (at most RT_MAX_THREADS - 1), started on first use and kept; an idle
 * worker spins (pause) for at most 50 us after its last task, then sleeps on
 * a condition variable; the caller, once its share is done, waits the same
 * way. Workers busy with other callers' jobs are not waited for: the caller
 * runs whatever no worker took, so concurrent callers never wait on each
 * other and never add busy threads beyond the pool. Each index runs exactly
 * once; returns when all have finished. */
void rt_parallel_run(int n_threads, size_t n, rt_task_fn fn, void *arg);

/* CPU features, detected once. */
typedef struct rt_cpu {
    int avx2, fma, avx512f, avx512bw, avx512vl, avx512_bf16, avx512_vnni;
} rt_cpu;
const rt_cpu *rt_cpu_features(void);

/* SHA-256 (FIPS 180-4), incremental: init, update any number of times,
 * final writes 64 lowercase hex digits and a NUL and re-initializes. */
typedef struct rt_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t buf[64];
    size_t nbuf;
} rt_sha256;
void rt_sha256_init(rt_sha256 *s);
void rt_sha256_update(rt_sha256 *s, const void *data, size_t len);
void rt_sha256_final(rt_sha256 *s, char hex[65]);

/* Monotonic time in seconds. */
double rt_now(void);

/* The error idiom (docs/design.md, "Errors"), as zstd's FORWARD_IF_ERROR.
 * Four macros, nothing else:
 *   RT_TRY(expr)                       evaluate an emb_status expression and
 *                                      return it if it is not EMB_OK;
 *   RT_FAIL_IF(cond, status, fmt, ...) if cond holds, set the message once
 *                                      (rt_error) and return status;
 * and, in a function that must release something on every path (a single
 * cleanup label, STYLE.md's "goto fail"), the same storing the status in the
 * function's variable `st` and jumping to the label instead of returning:
 *   RT_TRY_GOTO(st, expr, label)
 *   RT_FAIL_GOTO(st, cond, label, status, fmt, ...)
 * Only for errors (bad input, I/O, memory); an internal invariant is an
 * assert(). A failed rt_alloc has already recorded EMB_ERR_NO_MEMORY: return
 * that status plainly (no second message). */
#define RT_TRY(expr)                                                                               \
    do {                                                                                           \
        emb_status rt_try_st_ = (expr);                                                            \
        if (rt_try_st_ != EMB_OK)                                                                  \
            return rt_try_st_;                                                                     \
    } while (0)
#define RT_FAIL_IF(cond, status, ...)                                                              \
    do {                                                                                           \
        if (cond)                                                                                  \
            return rt_error((status), __VA_ARGS__);                                                \
    } while (0)
#define RT_TRY_GOTO(st, expr, label)                                                               \
    do {                                                                                           \
        if (((st) = (expr)) != EMB_OK)                                                             \
            goto label;                                                                            \
    } while (0)
#define RT_FAIL_GOTO(st, cond, label, status, ...)                                                 \
    do {                                                                                           \
        if (cond) {                                                                                \
            (st) = rt_error((status), __VA_ARGS__);                                                \
            goto label;                                                                            \
        }                                                                                          \
    } while (0)

#endif
