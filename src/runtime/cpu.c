/* CPU feature detection (once) and a monotonic clock. Kernels dispatch on
 * these flags at run time, so a binary built here also runs on CPUs (or
 * valgrind) without AVX-512. */
#include <pthread.h>
#include <time.h>

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
    cpu.avx512_bf16 = 0; /* gcc 12 cannot query it; kernels that need it check cpuid */
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
