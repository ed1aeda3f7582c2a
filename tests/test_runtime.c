/* runtime/: the default thread count (EMB_NUM_THREADS, affinity, cgroup
 * quota), the one cap on thread counts (RT_MAX_THREADS), and the pool under
 * many back-to-back fork-joins from concurrent callers (the spin-then-sleep
 * handoff must never lose or repeat a task). */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "runtime/runtime.h"

static void test_cpu_max_parse(void **state)
{
    (void)state;
    assert_int_equal(rt_cpu_max_parse("max 100000\n"), 0);
    assert_int_equal(rt_cpu_max_parse("200000 100000\n"), 2);
    assert_int_equal(rt_cpu_max_parse("150000 100000"), 2); /* 1.5 CPUs: rounded up */
    assert_int_equal(rt_cpu_max_parse("50000 100000"), 1);
    assert_int_equal(rt_cpu_max_parse("-1 100000"), 0);    /* v1 "no quota" */
    assert_int_equal(rt_cpu_max_parse("100000 0"), 0);
    assert_int_equal(rt_cpu_max_parse("100000"), 0);
    assert_int_equal(rt_cpu_max_parse(""), 0);
    assert_int_equal(rt_cpu_max_parse("garbage"), 0);
    assert_int_equal(rt_cpu_max_parse(NULL), 0);
    assert_int_equal(rt_cpu_max_parse("99999999999999999999 1"), 0); /* overflow */
    assert_int_equal(rt_cpu_max_parse("1000000000 1"), RT_MAX_THREADS); /* capped */
    assert_int_equal(rt_cpu_max_parse("102500000 100000"), RT_MAX_THREADS);
}

static void test_default_threads(void **state)
{
    (void)state;
    const char *old = getenv("EMB_NUM_THREADS");
    char *saved = old ? strdup(old) : NULL;
    setenv("EMB_NUM_THREADS", "3", 1);
    assert_int_equal(rt_default_threads(), 3);
    setenv("EMB_NUM_THREADS", "0", 1); /* invalid: falls back to the machine */
    int machine = rt_default_threads();
    assert_true(machine >= 1);
    cpu_set_t set;
    CPU_ZERO(&set);
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    assert_true(machine <= CPU_COUNT(&set));
    setenv("EMB_NUM_THREADS", "12abc", 1);
    assert_int_equal(rt_default_threads(), machine);
    /* the one cap: up to RT_MAX_THREADS taken, above it ignored as invalid */
    char v[32];
    snprintf(v, sizeof v, "%d", RT_MAX_THREADS);
    setenv("EMB_NUM_THREADS", v, 1);
    assert_int_equal(rt_default_threads(), RT_MAX_THREADS);
    snprintf(v, sizeof v, "%d", RT_MAX_THREADS + 1);
    setenv("EMB_NUM_THREADS", v, 1);
    assert_int_equal(rt_default_threads(), machine);
    if (saved)
        setenv("EMB_NUM_THREADS", saved, 1);
    else
        unsetenv("EMB_NUM_THREADS");
    free(saved);
}

typedef struct once_counter {
    int hits[100];
} once_counter;

static void hit_once(void *arg, size_t i)
{
    ((once_counter *)arg)->hits[i]++; /* each index is written by one task only */
}

/* A thread count above RT_MAX_THREADS is capped, not an error: both
 * fork-joins still run every index exactly once. */
static void test_parallel_above_cap(void **state)
{
    (void)state;
    const int asks[] = { RT_MAX_THREADS + 1, INT_MAX };
    for (size_t k = 0; k < 2; k++) {
        once_counter a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        assert_int_equal(rt_parallel_for(asks[k], 100, hit_once, &a), 0);
        rt_parallel_run(asks[k], 100, hit_once, &b);
        for (size_t i = 0; i < 100; i++) {
            if (a.hits[i] != 1 || b.hits[i] != 1) {
                print_error("n_threads %d: index %zu ran %d times (for), %d (run)\n", asks[k],
                            i, a.hits[i], b.hits[i]);
                fail();
            }
        }
    }
}

#define ROUNDS 20000

typedef struct counter {
    int hits[ROUNDS][3];
} counter;

typedef struct round_arg {
    counter *c;
    size_t round;
} round_arg;

static void hit(void *arg, size_t i)
{
    round_arg *r = arg;
    r->c->hits[r->round][i]++; /* each (round, i) is written by one task only */
}

static void *caller(void *arg)
{
    counter *c = arg;
    for (size_t r = 0; r < ROUNDS; r++) {
        round_arg ra = { c, r };
        rt_parallel_run(2, 1 + r % 3, hit, &ra);
    }
    return NULL;
}

static void check(const counter *c, const char *who)
{
    for (size_t r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < 3; i++) {
            int want = i < 1 + r % 3 ? 1 : 0;
            if (c->hits[r][i] != want) {
                print_error("%s: round %zu index %zu ran %d times, expected %d\n", who, r, i,
                            c->hits[r][i], want);
                fail();
            }
        }
}

/* Back-to-back fork-joins (the pattern of a forward pass: one every few
 * microseconds), from one caller and then from two at once. */
static void test_pool_back_to_back(void **state)
{
    (void)state;
    counter *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    caller(a);
    check(a, "one caller");
    memset(a, 0, sizeof *a);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, caller, b), 0);
    caller(a);
    pthread_join(t, NULL);
    check(a, "caller 1 of 2");
    check(b, "caller 2 of 2");
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_max_parse),
        cmocka_unit_test(test_default_threads),
        cmocka_unit_test(test_parallel_above_cap),
        cmocka_unit_test(test_pool_back_to_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
