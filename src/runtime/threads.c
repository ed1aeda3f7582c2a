/* The fork-join helper used to spread independent sequences over cores.
 * Threads are started per call (encode calls are long compared with thread
 * start-up); idle threads never spin. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

int rt_default_threads(void)
{
    const char *env = getenv("EMB_NUM_THREADS");
    if (env && *env) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end && *end == '\0' && v >= 1 && v <= 1024)
            return (int)v;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n >= 1)
            return n;
    }
    return 1;
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
    size_t extra = n_threads > 1 ? (size_t)n_threads - 1 : 0;
    if (extra > n - (n > 0))
        extra = n > 0 ? n - 1 : 0;
    pthread_t tids[64];
    if (extra > 64)
        extra = 64;
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
