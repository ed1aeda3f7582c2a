/* CPU feature detection (once) and a monotonic clock. Kernels dispatch on
 * these flags at run time, so a binary built here also runs on CPUs (or
 * valgrind) without AVX-512. */
#include <pthread.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "runtime/runtime.h"

static rt_cpu cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    cpu.avx2 = __builtin_cpu_supports("avx2");
    cpu.fma = __builtin_cpu_supports("fma");
    cpu.avx512f = __builtin_cpu_supports("avx512f");
    cpu.avx512bw = __builtin_cpu_supports("avx512bw");
    cpu.avx512vl = __builtin_cpu_supports("avx512vl");
    cpu.avx512_vnni = __builtin_cpu_supports("avx512vnni");
    /* gcc 12's __builtin_cpu_supports cannot query AVX512_BF16: cpuid leaf 7
     * subleaf 1, EAX bit 5 (the OS saving zmm state is implied by avx512f) */
    unsigned a = 0, b = 0, c = 0, d = 0;
    cpu.avx512_bf16 = cpu.avx512f && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1u);
#endif
}

const rt_cpu *rt_cpu_features(void)
{
    pthread_once(&cpu_once, cpu_detect);
    return &cpu;
}

double rt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
