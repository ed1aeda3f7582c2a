/* Scaled dot-product attention for one head of one sequence. Keys are
 * packed once per head as the B panels of q·k^T (kern_pack_nt) and values as
 * the B panels of p·v (kern_pack_nn), so both products run on the packed GEMM.
 * Queries are processed in blocks of KERN_ATTN_ROWS rows, so the score
 * scratch is [KERN_ATTN_ROWS, n] — never [n, n] — and an 8192-token decoder
 * needs a few MB. The block partition depends only on n (and the first
 * pooled row), so every row's numbers do too; under the causal mask a row's
 * masked scores are exact zeros, which add nothing to its p·v chain. */
#include <math.h>

#include "kernels/kernels.h"
#include "runtime/runtime.h"

size_t kern_attention_scratch(size_t n, size_t hd)
{
    size_t pk = kern_pack_nt_size(n, hd), pv = kern_pack_nt_size(hd, n), sc, total;
    if (pk == 0 || pv == 0 || rt_mul_overflow(n, KERN_ATTN_ROWS, &sc) ||
        rt_add_overflow(pk, pv, &total) || rt_add_overflow(total, sc, &total))
        return 0;
    return total;
}

/* Scale, mask and softmax rows [r0, r0 + rows) of the score block s
 * (row stride lds, columns c0 .. cols - 1 computed, c0 at most the first
 * key any of these rows sees). With causal and window > 0, row r sees only
 * keys r - window + 1 .. r (transformers' sliding-window overlay kv > q -
 * window). With local != KERN_ATTN_NO_WINDOW (bidirectional), row r sees
 * only keys |j - r| <= local (transformers' sliding_window_bidirectional_
 * overlay, ModernBERT's local layers). Keys a row does not see get exact
 * zeros, as a -inf score would. With a relative bias rel [2n - 1] (n
 * keys), row r's scores are s·scale + rel[n - 1 + j - r] before the
 * softmax (as MPNet: scores / sqrt(hd) + position_bias). */
static void attn_softmax_block(float *s, size_t lds, size_t r0, size_t rows, size_t c0,
                               size_t cols, size_t n, float scale, int causal, size_t window,
                               size_t local, const float *rel, int ref)
{
    for (size_t i = 0; i < rows; i++) {
        float *si = s + i * lds;
        size_t r = r0 + i;
        size_t lo = 0, len = causal ? r + 1 : cols;
        if (causal && window > 0 && len > window)
            lo = len - window;
        if (local != KERN_ATTN_NO_WINDOW) {
            lo = r > local ? r - local : 0;
            if (local < len - r - 1) /* len > r: row r is always among the keys */
                len = r + local + 1;
        }
        float sc = scale;
        if (rel) {
            const float *ri = rel + (n - 1) - r; /* ri[j]: offset j - r */
            for (size_t j = lo; j < len; j++)
                si[j] = si[j] * scale + ri[j];
            sc = 1.0f;
        }
        if (ref)
            kern_softmax_scaled_ref(si + lo, len - lo, sc);
        else
            kern_softmax_scaled(si + lo, len - lo, sc);
        for (size_t j = c0; j < lo; j++)
            si[j] = 0.0f;
        for (size_t j = len; j < cols; j++)
            si[j] = 0.0f;
    }
}

void kern_attention_pack(size_t n, size_t hd, const float *k, size_t ldk, const float *v,
                         size_t ldv, float *scratch)
{
    float *pk = scratch;                       /* k as [n, hd] weight panels */
    float *pv = pk + kern_pack_nt_size(n, hd); /* v as [n, hd] row-major B panels */
    kern_pack_nt(n, hd, k, ldk, pk);
    kern_pack_nn(n, hd, v, ldv, pv);
}

/* kern_attention_rows with an optional causal window, bidirectional local
 * window and relative bias (attn_softmax_block). */
static void attn_rows(size_t n, size_t q0, size_t nq, size_t hd, const float *q, size_t ldq,
                      float *out, size_t ldo, float scale, int causal, size_t window,
                      size_t local, const float *rel, float *scratch)
{
    const float *pk = scratch;
    const float *pv = pk + kern_pack_nt_size(n, hd);
    float *s = scratch + kern_pack_nt_size(n, hd) + kern_pack_nt_size(hd, n); /* [ROWS, n] */
    size_t q1 = q0 + nq;
    for (size_t r0 = q0; r0 < q1; r0 += KERN_ATTN_ROWS) {
        size_t rows = q1 - r0 < KERN_ATTN_ROWS ? q1 - r0 : KERN_ATTN_ROWS;
        size_t c0 = 0, cols = causal ? r0 + rows : n;
        if (local != KERN_ATTN_NO_WINDOW) {
            /* only the keys some row of the block sees: [r0 - w, r0 + rows + w),
             * from a panel boundary (the columns of a packed product are the
             * same numbers whatever range is asked for) */
            c0 = r0 > local ? (r0 - local) / KERN_PACK_NR * KERN_PACK_NR : 0;
            if (local < cols - r0 - rows)
                cols = r0 + rows + local;
        }
        /* s[rows, c0..cols) = q[r0.., hd] · k[c0..cols, hd]^T */
        kern_gemm_packed(rows, cols - c0, hd, q + r0 * ldq, ldq, pk + c0 * hd, hd, NULL, s + c0,
                         n);
        attn_softmax_block(s, n, r0, rows, c0, cols, n, scale, causal, window, local, rel, 0);
        /* out[rows, hd] = s[rows, c0..cols) · v[c0..cols, hd]: the keys left
         * out weigh exactly 0 */
        kern_gemm_packed(rows, hd, cols - c0, s + c0, n, pv + c0 * KERN_PACK_NR, n, NULL,
                         out + r0 * ldo, ldo);
    }
}

void kern_attention_rows(size_t n, size_t q0, size_t nq, size_t hd, const float *q, size_t ldq,
                         float *out, size_t ldo, float scale, int causal, float *scratch)
{
    attn_rows(n, q0, nq, hd, q, ldq, out, ldo, scale, causal, 0, KERN_ATTN_NO_WINDOW, NULL,
              scratch);
}

/* kern_attention_rows_window's reach as attn_softmax_block's masks: causal,
 * the window (keys i - reach + 1 .. i); bidirectional, local = reach - 1
 * (|i - j| <= local). */
static size_t attn_reach_window(int causal, size_t reach)
{
    return causal ? reach : 0;
}

static size_t attn_reach_local(int causal, size_t reach)
{
    return causal || reach == 0 ? KERN_ATTN_NO_WINDOW : reach - 1;
}

void kern_attention_rows_window(size_t n, size_t q0, size_t nq, size_t hd, const float *q,
                                size_t ldq, float *out, size_t ldo, float scale, int causal,
                                size_t reach, float *scratch)
{
    attn_rows(n, q0, nq, hd, q, ldq, out, ldo, scale, causal, attn_reach_window(causal, reach),
              attn_reach_local(causal, reach), NULL, scratch);
}

void kern_attention_head(size_t n, size_t q0, size_t nq, size_t hd, const float *q, size_t ldq,
                         const float *k, size_t ldk, const float *v, size_t ldv, float *out,
                         size_t ldo, float scale, int causal, float *scratch)
{
    kern_attention_pack(n, hd, k, ldk, v, ldv, scratch);
    attn_rows(n, q0, nq, hd, q, ldq, out, ldo, scale, causal, 0, KERN_ATTN_NO_WINDOW, NULL,
              scratch);
}

void kern_attention_head_rel(size_t n, size_t q0, size_t nq, size_t hd, const float *q,
                             size_t ldq, const float *k, size_t ldk, const float *v, size_t ldv,
                             float *out, size_t ldo, float scale, const float *rel, float *scratch)
{
    kern_attention_pack(n, hd, k, ldk, v, ldv, scratch);
    attn_rows(n, q0, nq, hd, q, ldq, out, ldo, scale, 0, 0, KERN_ATTN_NO_WINDOW, rel, scratch);
}

/* The reference kernels over one full [n, n] score matrix; masks, rel as above. */
static void attn_head_ref(size_t n, size_t hd, const float *q, size_t ldq, const float *k,
                          size_t ldk, const float *v, size_t ldv, float *out, size_t ldo,
                          float scale, int causal, size_t window, size_t local,
                          const float *rel, float *scores)
{
    kern_gemm_nt_ref(n, n, hd, q, ldq, k, ldk, NULL, scores, n);
    attn_softmax_block(scores, n, 0, n, 0, n, n, scale, causal, window, local, rel, 1);
    kern_gemm_nn_ref(n, hd, n, scores, n, v, ldv, out, ldo);
}

void kern_attention_head_ref(size_t n, size_t hd, const float *q, size_t ldq, const float *k,
                             size_t ldk, const float *v, size_t ldv, float *out, size_t ldo,
                             float scale, int causal, float *scores)
{
    attn_head_ref(n, hd, q, ldq, k, ldk, v, ldv, out, ldo, scale, causal, 0, KERN_ATTN_NO_WINDOW,
                  NULL, scores);
}

void kern_attention_head_rel_ref(size_t n, size_t hd, const float *q, size_t ldq, const float *k,
                                 size_t ldk, const float *v, size_t ldv, float *out, size_t ldo,
                                 float scale, const float *rel, float *scores)
{
    attn_head_ref(n, hd, q, ldq, k, ldk, v, ldv, out, ldo, scale, 0, 0, KERN_ATTN_NO_WINDOW, rel,
                  scores);
}

void kern_attention_head_window_ref(size_t n, size_t hd, const float *q, size_t ldq,
                                    const float *k, size_t ldk, const float *v, size_t ldv,
                                    float *out, size_t ldo, float scale, int causal, size_t reach,
                                    float *scores)
{
    attn_head_ref(n, hd, q, ldq, k, ldk, v, ldv, out, ldo, scale, causal,
                  attn_reach_window(causal, reach), attn_reach_local(causal, reach), NULL, scores);
}
