/* Run-time choice of the kernel ISA path: AVX-512F when the CPU has it, else
 * AVX2+FMA, else portable C; EMB_CPU=generic / EMB_CPU=avx2 caps the choice
 * (documented in docs/models.md; valgrind does not emulate AVX-512). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "runtime/runtime.h"

static kern_isa active = KERN_ISA_GENERIC;
static pthread_once_t active_once = PTHREAD_ONCE_INIT;

static void isa_detect(void)
{
    const char *env = getenv("EMB_CPU");
    int cap_generic = env && strcmp(env, "generic") == 0;
    int cap_avx2 = env && strcmp(env, "avx2") == 0;
    if (cap_generic)
        active = KERN_ISA_GENERIC;
    else if (!cap_avx2 && kern_isa_supported(KERN_ISA_AVX512))
        active = KERN_ISA_AVX512;
    else if (kern_isa_supported(KERN_ISA_AVX2))
        active = KERN_ISA_AVX2;
    else
        active = KERN_ISA_GENERIC;
}

kern_isa kern_isa_active(void)
{
    pthread_once(&active_once, isa_detect);
    return active;
}

int kern_isa_supported(kern_isa isa)
{
    const rt_cpu *cpu = rt_cpu_features();
    switch (isa) {
    case KERN_ISA_GENERIC:
        return 1;
    case KERN_ISA_AVX512:
        return cpu->avx512f != 0;
    case KERN_ISA_AVX2:
        return cpu->avx2 != 0 && cpu->fma != 0;
    }
    return 0;
}

const char *kern_isa_name(kern_isa isa)
{
    switch (isa) {
    case KERN_ISA_GENERIC:
        return "generic";
    case KERN_ISA_AVX512:
        return "avx512";
    case KERN_ISA_AVX2:
        return "avx2";
    }
    return "?";
}
