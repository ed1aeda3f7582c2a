/* The fork-join helpers: rt_parallel_for spreads independent sequences over
 * cores, starting its threads per call (encode calls are long compared with
 * thread start-up); rt_parallel_run splits one forward pass's GEMMs and
 * attention on a persistent pool (per-GEMM thread starts would cost more than
 * a small GEMM). Idle pool workers and callers waiting for a job to finish
 * spin for at most RT_SPIN_NS before they sleep: one forward pass forks and
 * joins about five times per layer, and waking a sleeping thread costs
 * 10-20 us on a VM, as much as the GEMM of a short query. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

int rt_cpu_max_parse(const char *text)
{
    if (!text)
        return 0;
    char *end = NULL;
    errno = 0;
    long long quota = strtoll(text, &end, 10);
    if (end == text || errno || quota <= 0) /* "max", garbage, -1 (v1 unlimited) */
        return 0;
    const char *p = end;
    while (*p == ' ' || *p == '\t')
        p++;
    long long period = strtoll(p, &end, 10);
    if (end == p || errno || period <= 0)
        return 0;
    long long cpus = quota / period + (quota % period != 0);
    return cpus > RT_MAX_THREADS ? RT_MAX_THREADS : (int)cpus;
}

/* The first line of a small file into buf, or 0 bytes. */
static int read_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    return ok;
}

/* The cgroup quota in CPUs (v2, else v1), or 0 when none is set. */
static int cgroup_cpus(void)
{
    char a[128], b[64];
    if (read_line("/sys/fs/cgroup/cpu.max", a, sizeof a))
        return rt_cpu_max_parse(a);
    if (read_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", a, sizeof a) &&
        read_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us", b, sizeof b)) {
        char line[200];
        snprintf(line, sizeof line, "%.*s %s", (int)strcspn(a, "\n"), a, b);
        return rt_cpu_max_parse(line);
    }
    return 0;
}

int rt_default_threads(void)
{
    const char *env = getenv("EMB_NUM_THREADS");
    if (env && *env) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end && *end == '\0' && v >= 1 && v <= RT_MAX_THREADS)
            return (int)v;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    int quota = cgroup_cpus();
    if (quota >= 1 && (n < 1 || quota < n))
        n = quota;
    return rt_threads_clamp(n);
}

typedef struct pf_shared {
    rt_task_fn fn;
    void *arg;
    size_t n;
    size_t next;
    pthread_mutex_t lock;
} pf_shared;

static void *pf_worker(void *p)
{
    pf_shared *s = p;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        size_t i = s->next < s->n ? s->next++ : s->n;
        pthread_mutex_unlock(&s->lock);
        if (i >= s->n)
            break;
        s->fn(s->arg, i);
    }
    return NULL;
}

int rt_parallel_for(int n_threads, size_t n, rt_task_fn fn, void *arg)
{
    pf_shared s = { .fn = fn, .arg = arg, .n = n, .next = 0 };
    pthread_mutex_init(&s.lock, NULL);
    size_t extra = (size_t)rt_threads_clamp(n_threads) - 1;
    if (extra > n - (n > 0))
        extra = n > 0 ? n - 1 : 0;
    pthread_t tids[RT_MAX_THREADS - 1];
    size_t started = 0;
    int rc = 0;
    for (; started < extra; started++) {
        if (pthread_create(&tids[started], NULL, pf_worker, &s) != 0) {
            rc = -1;
            break;
        }
    }
    pf_worker(&s);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&s.lock);
    return rc;
}

/* ------------------------------------------------ persistent worker pool */

typedef struct pool_job {
    rt_task_fn fn;
    void *arg;
    size_t n, next, done;
    int helpers;           /* workers that may still join */
    int active;            /* workers inside the job */
    atomic_int finished;   /* done == n && active == 0 (set under pool_lock) */
    struct pool_job *link; /* next job in the pool's list */
} pool_job;

#define RT_SPIN_NS 50000.0 /* 50 us: a few GEMMs of a short query */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER; /* workers sleep here */
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER; /* callers sleep here */
static pool_job *pool_jobs;
static int pool_workers;
static atomic_uint pool_posted; /* bumped whenever a job is posted */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* With pool_lock held: release it and spin until *flag differs from `seen`
 * (unsigned) or is nonzero (int), at most RT_SPIN_NS; then take it again. */
static void spin_unsigned(const atomic_uint *flag, unsigned seen)
{
    pthread_mutex_unlock(&pool_lock);
    double t0 = rt_now();
    for (int i = 0; atomic_load_explicit(flag, memory_order_acquire) == seen; i++)
        if ((i & 63) == 63 && (rt_now() - t0) * 1e9 > RT_SPIN_NS)
            break;
        else
            cpu_relax();
    pthread_mutex_lock(&pool_lock);
}

static void spin_flag(const atomic_int *flag)
{
    pthread_mutex_unlock(&pool_lock);
    double t0 = rt_now();
    for (int i = 0; !atomic_load_explicit(flag, memory_order_acquire); i++)
        if ((i & 63) == 63 && (rt_now() - t0) * 1e9 > RT_SPIN_NS)
            break;
        else
            cpu_relax();
    pthread_mutex_lock(&pool_lock);
}

/* Run indices of j until none is left (pool_lock held on entry and exit). */
static void pool_drain(pool_job *j)
{
    while (j->next < j->n) {
        size_t i = j->next++;
        pthread_mutex_unlock(&pool_lock);
        j->fn(j->arg, i);
        pthread_mutex_lock(&pool_lock);
        j->done++;
    }
}

static void *pool_worker(void *unused)
{
    (void)unused;
    int spun = 0;
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        pool_job *j = pool_jobs;
        while (j && !(j->next < j->n && j->helpers > 0))
            j = j->link;
        if (!j) {
            if (!spun) { /* a next job usually follows within microseconds */
                spun = 1;
                spin_unsigned(&pool_posted, atomic_load(&pool_posted));
                continue;
            }
            pthread_cond_wait(&pool_work, &pool_lock);
            continue;
        }
        spun = 0;
        j->helpers--;
        j->active++;
        pool_drain(j);
        j->active--;
        if (j->done == j->n && j->active == 0) {
            atomic_store_explicit(&j->finished, 1, memory_order_release);
            pthread_cond_broadcast(&pool_done);
        }
    }
    return NULL;
}

void rt_parallel_run(int n_threads, size_t n, rt_task_fn fn, void *arg)
{
    if (n == 0)
        return;
    /* workers besides the caller: at most RT_MAX_THREADS - 1 */
    size_t want = (size_t)rt_threads_clamp(n_threads) - 1;
    if (want > n - 1)
        want = n - 1;
    if (want == 0) {
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    pool_job job = { .fn = fn, .arg = arg, .n = n, .helpers = (int)want };
    pthread_mutex_lock(&pool_lock);
    while (pool_workers < (int)want) {
        pthread_t tid;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0)
            break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* workers take no signals (they inherit the mask): the caller's
         * threads keep whatever signal handling the program set up */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&tid, &attr, pool_worker, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break; /* fewer helpers: the caller runs the rest */
        pool_workers++;
    }
    job.link = pool_jobs;
    pool_jobs = &job;
    atomic_fetch_add_explicit(&pool_posted, 1, memory_order_release);
    if (want == 1)
        pthread_cond_signal(&pool_work);
    else
        pthread_cond_broadcast(&pool_work);
    pool_drain(&job);
    if (job.done < job.n || job.active > 0)
        spin_flag(&job.finished);
    while (job.done < job.n || job.active > 0)
        pthread_cond_wait(&pool_done, &pool_lock);
    pool_job **pp = &pool_jobs;
    while (*pp != &job)
        pp = &(*pp)->link;
    *pp = job.link;
    pthread_mutex_unlock(&pool_lock);
}
