/* Linear over int8 weights (kern_linear_i8): the x rows quantized on the fly
 * to u8 (kern_quant_u8_row, ONNX Runtime's DynamicQuantizeLinear), exact
 * int32 products with the int8 weights, one float rescale per element. The
 * portable path here is plain loops; the AVX512_VNNI path
 * (gemm_i8_avx512.c) and the AVX2 path (gemm_i8_avx2.c, for the active
 * ISA AVX2, or AVX-512 without VNNI) give bitwise the same numbers, since every integer
 * sum is exact and the float steps are the same operations in the same
 * order. kern_linear_i8p is the same product on weights pre-packed in the
 * VNNI kernel's panel layout (kern_pack_i8_panels), optionally with a few
 * outlier features of x taken out and multiplied in fp32
 * (kern_i8_outliers: the split of each row and the fp32 sums are here, in
 * plain C, for every path). Also the converter's symmetric weight
 * quantizer (kern_quant_i8_row). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------------ quantizers */

/* One element: clamp(round(v / s) + z, 0, 255). v / s is clamped to
 * [-512, 512] before rounding (no undefined conversion; the clamp to
 * [0, 255] gives the same byte for anything outside). */
static uint8_t quant_u8(float v, float s, int32_t z)
{
    float q = v / s;
    q = q < -512.0f ? -512.0f : q > 512.0f ? 512.0f : q;
    int32_t u = (int32_t)rintf(q) + z;
    return (uint8_t)(u < 0 ? 0 : u > 255 ? 255 : u);
}

void kern_quant_u8_row(size_t k, const float *x, uint8_t *u, float *scale, int32_t *zero)
{
    float lo = 0.0f, hi = 0.0f;
    int finite = 1;
    for (size_t i = 0; i < k; i++) {
        float v = x[i];
        if (!isfinite(v))
            finite = 0;
        else if (v < lo)
            lo = v;
        else if (v > hi)
            hi = v;
    }
    float s;
    int32_t z;
    if (!kern_quant_u8_params(lo, hi, finite, &s, &z)) {
        memset(u, 0, k);
    } else {
        for (size_t i = 0; i < k; i++)
            u[i] = quant_u8(x[i], s, z);
    }
    *scale = s;
    *zero = z;
}

int kern_quant_i8_row(size_t k, const float *w, int8_t *q, float *scale)
{
    float amax = 0.0f;
    for (size_t i = 0; i < k; i++) {
        if (!isfinite(w[i]))
            return -1;
        float a = fabsf(w[i]);
        if (a > amax)
            amax = a;
    }
    float s = amax / 127.0f;
    *scale = s;
    if (s == 0.0f) { /* zero row, or one whose scale underflows */
        memset(q, 0, k);
        return 0;
    }
    for (size_t i = 0; i < k; i++) {
        float v = w[i] / s;
        v = v < -127.0f ? -127.0f : v > 127.0f ? 127.0f : v;
        q[i] = (int8_t)rintf(v);
    }
    return 0;
}

/* ------------------------------------------------------ pre-packed panels */

#define PANEL_COLS 32 /* columns per panel; a panel's k quad is 32 dwords, 128 bytes */

size_t kern_i8_panels_size(size_t n, size_t k)
{
    if (n == 0 || k == 0 || n > SIZE_MAX - (PANEL_COLS - 1) || k > SIZE_MAX - 3)
        return 0;
    size_t cols = (n + PANEL_COLS - 1) / PANEL_COLS * PANEL_COLS, kp = (k + 3) / 4 * 4;
    if (cols > SIZE_MAX / kp)
        return 0;
    return cols * kp;
}

void kern_pack_i8_panels(size_t n, size_t k, const int8_t *w, size_t ldw, uint8_t *dst)
{
    size_t kq = k / 4 + (k % 4 != 0), panels = n / PANEL_COLS + (n % PANEL_COLS != 0);
    for (size_t p = 0; p < panels; p++)
        for (size_t q = 0; q < kq; q++)
            for (size_t c = 0; c < PANEL_COLS; c++)
                for (size_t b = 0; b < 4; b++) {
                    size_t j = PANEL_COLS * p + c, t = 4 * q + b;
                    dst[(p * kq + q) * 4 * PANEL_COLS + 4 * c + b] =
                        j < n && t < k ? (uint8_t)w[j * ldw + t] : 0;
                }
}

/* ------------------------------------------------------ outlier features */

void kern_i8_split_row(size_t k, const float *x, const kern_i8_outliers *out, float *xm,
                       float *xo)
{
    memcpy(xm, x, k * sizeof *xm);
    for (size_t t = 0; t < out->count; t++) {
        size_t c = (size_t)out->cols[t];
        float v = x[c];
        xo[t] = v;
        if (isfinite(v)) /* else left in: the row quantizes to NaN */
            xm[c] = 0.0f;
    }
}

void kern_i8_outliers_add_ref(size_t m, size_t n, size_t count, const float *xo, const float *w,
                              size_t ldw, float *y, size_t ldy)
{
    for (size_t i = 0; i < m; i++) {
        const float *xi = xo + i * count;
        for (size_t j = 0; j < n; j++) {
            float o = xi[0] * w[j];
            for (size_t t = 1; t < count; t++)
                o = o + xi[t] * w[t * ldw + j];
            y[i * ldy + j] = y[i * ldy + j] + o;
        }
    }
}

/* ------------------------------------------------------------ dispatch */

int kern_i8_vnni_supported(void)
{
#if defined(__x86_64__) || defined(__i386__)
    const rt_cpu *cpu = rt_cpu_features();
    return cpu->avx512f && cpu->avx512bw && cpu->avx512vl && cpu->avx512_vnni;
#else
    return 0;
#endif
}

int kern_i8_avx2_supported(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return rt_cpu_features()->avx2 != 0;
#else
    return 0;
#endif
}

/* The portable path, on w [n, k] (row stride ldw) or, when `panels` is not
 * NULL, on its pre-packed panels: per row, quantize into the scratch (with
 * outliers: the row split first), then each element as one exact int32
 * sum (Σ (u - z)·w is the contract's Σ u·w − z·Σ w, the same integer,
 * every partial sum inside int32 for k <= KERN_I8_MAX_K), then the row's
 * outlier sums. */
static int linear_i8_ref(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                         const int8_t *w, size_t ldw, const uint8_t *panels, const float *ws,
                         const kern_i8_outliers *out, const float *bias, float *y, size_t ldy)
{
    size_t no = out ? out->count : 0; /* <= KERN_I8_MAX_OUTLIERS */
    size_t ubytes = (k + 63) / 64 * 64;
    unsigned char *buf = kern_linear_scratch(ubytes + (no ? (k + no) * sizeof(float) : 0));
    if (!buf)
        return -1;
    uint8_t *u = buf;
    float *xm = (float *)(void *)(buf + ubytes), *xo = xm + k;
    size_t kq = k / 4 + (k % 4 != 0);
    for (size_t i = 0; i < m; i++) {
        float s;
        int32_t z;
        const float *xi = x + i * ldx;
        if (no) {
            kern_i8_split_row(k, xi, out, xm, xo);
            xi = xm;
        }
        kern_quant_u8_row(k, xi, u, &s, &z);
        for (size_t j = 0; j < n; j++) {
            int32_t acc = 0;
            if (panels) { /* w[j, t] at panel j/32, quad t/4, column j%32, byte t%4 */
                const uint8_t *pj =
                    panels + (j / PANEL_COLS * kq * PANEL_COLS + j % PANEL_COLS) * 4;
                for (size_t t = 0; t < k; t++)
                    acc += ((int32_t)u[t] - z) *
                           (int32_t)(int8_t)pj[t / 4 * 4 * PANEL_COLS + t % 4];
            } else {
                const int8_t *wj = w + j * ldw;
                for (size_t t = 0; t < k; t++)
                    acc += ((int32_t)u[t] - z) * (int32_t)wj[t];
            }
            float v = (float)acc * (s * ws[j]);
            if (bias)
                v = v + bias[j];
            y[i * ldy + j] = v;
        }
        if (no)
            kern_i8_outliers_add_ref(1, n, no, xo, out->w, out->ldw, y + i * ldy, ldy);
    }
    return 0;
}

/* Both products on the path `isa` selects: w [n, k] (row stride ldw), or
 * its pre-packed panels when `panels` is not NULL; out NULL or count 0:
 * no outlier features. */
static int linear_i8_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                         const int8_t *w, size_t ldw, const uint8_t *panels, const float *ws,
                         const kern_i8_outliers *out, const float *bias, float *y, size_t ldy)
{
    if (k > KERN_I8_MAX_K)
        return -1;
    if (out && out->count == 0)
        out = NULL;
    if (out && (out->count > KERN_I8_MAX_OUTLIERS || out->count > k))
        return -1;
    if (m == 0 || n == 0)
        return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (isa == KERN_ISA_AVX512 && kern_i8_vnni_supported())
        return kern_linear_i8_vnni(m, n, k, x, ldx, w, ldw, panels, ws, out, bias, y, ldy);
    if ((isa == KERN_ISA_AVX512 || isa == KERN_ISA_AVX2) && kern_i8_avx2_supported())
        return kern_linear_i8_avx2(m, n, k, x, ldx, w, ldw, panels, ws, out, bias, y, ldy);
#endif
    return linear_i8_ref(m, n, k, x, ldx, w, ldw, panels, ws, out, bias, y, ldy);
}

int kern_linear_i8_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                       const int8_t *w, size_t ldw, const float *ws, const float *bias, float *y,
                       size_t ldy)
{
    return linear_i8_isa(isa, m, n, k, x, ldx, w, ldw, NULL, ws, NULL, bias, y, ldy);
}

int kern_linear_i8(size_t m, size_t n, size_t k, const float *x, size_t ldx, const int8_t *w,
                   size_t ldw, const float *ws, const float *bias, float *y, size_t ldy)
{
    return kern_linear_i8_isa(kern_isa_active(), m, n, k, x, ldx, w, ldw, ws, bias, y, ldy);
}

int kern_linear_i8p_isa(kern_isa isa, size_t m, size_t n, size_t k, const float *x, size_t ldx,
                        const uint8_t *panels, const float *ws, const kern_i8_outliers *out,
                        const float *bias, float *y, size_t ldy)
{
    return linear_i8_isa(isa, m, n, k, x, ldx, NULL, 0, panels, ws, out, bias, y, ldy);
}

int kern_linear_i8p(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                    const uint8_t *panels, const float *ws, const kern_i8_outliers *out,
                    const float *bias, float *y, size_t ldy)
{
    return kern_linear_i8p_isa(kern_isa_active(), m, n, k, x, ldx, panels, ws, out, bias, y,
                               ldy);
}
