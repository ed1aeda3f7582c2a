/* Linear layers on weights read in place (kern_linear): the model file's
 * [n, k] tensors, f32, f16 or bf16, are never copied whole. Each call packs
 * groups of KERN_PACK_NR-column panels, widened to f32 (kern_pack_nt layout)
 * or rounded to bf16 pairs (kern_pack_bf16 layout), into a per-thread
 * scratch buffer sized to stay in L2, and runs the packed kernels on each
 * group. The packed kernels compute every element as one chain over k that
 * depends on nothing but its row and column, so the grouping changes no
 * number: results are bitwise those of packing the whole weight once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "runtime/runtime.h"

/* Bytes of packed weights per group: well inside a 1-2 MiB L2. */
#define GROUP_BYTES ((size_t)512 << 10)

/* ---------------------------------------------------- per-thread scratch */

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

typedef struct scratch {
    size_t cap;
    void *buf;
} scratch;

static void scratch_free(void *p)
{
    scratch *s = p;
    if (s) {
        free(s->buf);
        free(s);
    }
}

static void scratch_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* This thread's buffer of at least `bytes` (64-byte aligned), or NULL. */
void *kern_linear_scratch(size_t bytes)
{
    pthread_once(&scratch_once, scratch_init);
    if (!scratch_key_ok)
        return NULL;
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->cap < bytes) {
        size_t cap = (bytes + 63) / 64 * 64;
        void *buf = aligned_alloc(64, cap);
        if (!buf)
            return NULL;
        free(s->buf);
        s->buf = buf;
        s->cap = cap;
    }
    return s->buf;
}

/* ------------------------------------------------------------- packing */

/* Row j of w as fp32 into row[k] (widened exactly). */
static const float *w_row(const void *w, kern_wtype wt, size_t ldw, size_t j, size_t k, float *row)
{
    const unsigned char *p = (const unsigned char *)w + j * ldw * kern_wtype_size(wt);
    if (wt == KERN_W_F32 && ((uintptr_t)p % sizeof(float)) == 0)
        return (const float *)(const void *)p;
    kern_widen(p, wt, k, row);
    return row;
}

/* Columns [0, cols) of w into kern_pack_nt panels (f32) at dst. */
static void pack_f32(size_t cols, size_t k, const void *w, kern_wtype wt, size_t ldw, float *dst,
                     float *row)
{
    size_t panels = kern_pack_panels(cols);
    for (size_t p = 0; p < panels; p++) {
        float *d = dst + p * k * KERN_PACK_NR;
        size_t j0 = p * KERN_PACK_NR, nc = cols - j0 < KERN_PACK_NR ? cols - j0 : KERN_PACK_NR;
        if (nc < KERN_PACK_NR)
            memset(d, 0, k * KERN_PACK_NR * sizeof *d);
        for (size_t j = 0; j < nc; j++) {
            const float *src = w_row(w, wt, ldw, j0 + j, k, row);
            for (size_t kk = 0; kk < k; kk++)
                d[kk * KERN_PACK_NR + j] = src[kk];
        }
    }
}

/* Columns [0, cols) of w into kern_pack_bf16 panels at dst. */
static void pack_bf16(size_t cols, size_t k, const void *w, kern_wtype wt, size_t ldw,
                      uint16_t *dst, float *row)
{
    size_t pairs = k / 2 + k % 2, panels = kern_pack_panels(cols);
    memset(dst, 0, panels * pairs * KERN_PACK_NR * 2 * sizeof *dst);
    for (size_t p = 0; p < panels; p++) {
        uint16_t *d = dst + p * pairs * KERN_PACK_NR * 2;
        size_t j0 = p * KERN_PACK_NR, nc = cols - j0 < KERN_PACK_NR ? cols - j0 : KERN_PACK_NR;
        for (size_t j = 0; j < nc; j++) {
            const float *src = w_row(w, wt, ldw, j0 + j, k, row);
            for (size_t kk = 0; kk < k; kk++)
                d[(kk / 2) * KERN_PACK_NR * 2 + j * 2 + kk % 2] = kern_f32_to_bf16(src[kk]);
        }
    }
}

/* ----------------------------------------------------------------- GEMM */

int kern_linear_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                     const void *w, kern_wtype wt, size_t ldw, int bf16, const float *bias,
                     float *y, size_t ldy)
{
    if (wt == KERN_W_I8 || wt == KERN_W_I32)
        return -1; /* int8 weights run kern_linear_i8; int32 is never a weight */
    if (m == 0 || n == 0)
        return 0;
    if (isa == KERN_ISA_AVX512 && (!bf16 || kern_bf16_supported()))
        return kern_linear_avx512(m, n, k, x, ldx, w, wt, ldw, bf16, bias, y, ldy);
    /* bytes per column per k (bf16: per k pair) */
    size_t esz = bf16 ? 2 * sizeof(uint16_t) : sizeof(float);
    size_t kk = bf16 ? k / 2 + k % 2 : k;
    size_t panel_bytes, row_bytes;
    if (rt_mul_overflow(kk, KERN_PACK_NR * esz, &panel_bytes) ||
        rt_mul_overflow(k + 16, sizeof(float), &row_bytes))
        return -1; /* no scratch that large */
    size_t group = panel_bytes ? GROUP_BYTES / panel_bytes : 1;
    if (group < 1)
        group = 1;
    size_t panels = kern_pack_panels(n);
    if (group > panels)
        group = panels;
    /* scratch: the group's panels, then one widened row */
    /* group · panel_bytes <= max(GROUP_BYTES, panel_bytes): no overflow */
    size_t bytes = group * panel_bytes + row_bytes;
    if (bytes < row_bytes)
        return -1;
    unsigned char *buf = kern_linear_scratch(bytes);
    if (!buf)
        return -1;
    float *row = (float *)(void *)(buf + group * panel_bytes);
    for (size_t p0 = 0; p0 < panels; p0 += group) {
        size_t j0 = p0 * KERN_PACK_NR;
        size_t cols = n - j0 < group * KERN_PACK_NR ? n - j0 : group * KERN_PACK_NR;
        const void *wg = (const unsigned char *)w + j0 * ldw * kern_wtype_size(wt);
        const float *bg = bias ? bias + j0 : NULL;
        if (bf16) {
            pack_bf16(cols, k, wg, wt, ldw, (uint16_t *)(void *)buf, row);
            kern_gemm_bf16(m, cols, k, x, ldx, (const uint16_t *)(const void *)buf, bg, y + j0,
                           ldy);
        } else {
            pack_f32(cols, k, wg, wt, ldw, (float *)(void *)buf, row);
            kern_gemm_packed_isa(isa, m, cols, k, x, ldx, (const float *)(const void *)buf, k, bg,
                                 y + j0, ldy);
        }
    }
    return 0;
}

int kern_linear(size_t m, size_t n, size_t k, const float *x, size_t ldx, const void *w,
                kern_wtype wt, size_t ldw, int bf16, const float *bias, float *y, size_t ldy)
{
    return kern_linear_isa(kern_isa_active(), m, n, k, x, ldx, w, wt, ldw, bf16, bias, y, ldy);
}
