/* Helper of bench/index_search.sh: this machine's memory read bandwidth,
 * the limit of an exact scan over stored vectors. Streams a buffer much
 * larger than the caches (default 1 GiB) with 32-byte loads summed into
 * 8 lanes, on 1..T threads (each its own contiguous part), best of 5;
 * prints "threads GB/s" lines. Plain C with GCC vector extensions. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef float v8 __attribute__((vector_size(32)));

typedef struct part {
    const v8 *p;
    size_t n;
    float sum;
} part;

static void *stream(void *arg)
{
    part *t = arg;
    v8 a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
    for (size_t i = 0; i + 4 <= t->n; i += 4) {
        a += t->p[i];
        b += t->p[i + 1];
        c += t->p[i + 2];
        d += t->p[i + 3];
    }
    a += b + c + d;
    t->sum = a[0] + a[7];
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t bytes = (argc > 1 ? (size_t)atol(argv[1]) : 1024) << 20;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    size_t n = bytes / sizeof(v8);
    v8 *buf = aligned_alloc(64, n * sizeof(v8));
    if (!buf)
        return 1;
    memset(buf, 1, n * sizeof(v8));
    for (int t = 1; t <= threads; t++) {
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            pthread_t th[64];
            part parts[64];
            double t0 = now();
            for (int i = 0; i < t; i++) {
                parts[i] = (part){ buf + n * (size_t)i / (size_t)t, n / (size_t)t, 0 };
                pthread_create(&th[i], NULL, stream, &parts[i]);
            }
            for (int i = 0; i < t; i++)
                pthread_join(th[i], NULL);
            double gbs = (double)bytes / (now() - t0) / 1e9;
            best = gbs > best ? gbs : best;
        }
        printf("%d %.2f\n", t, best);
    }
    free(buf);
    return 0;
}
