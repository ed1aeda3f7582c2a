/* Calibration for `emb convert --dtype int8` (format 1.2): the fp32 model of
 * the checkpoint runs over calibration texts and each Linear layer records
 * the largest |x| every input feature reaches (mdl_create_calibration); the
 * writer then keeps the features with the largest records out of the int8
 * product, in fp32 (kern_i8_outliers; LLM.int8()'s outlier decomposition).
 * The records have to come from real forward passes: features chosen from
 * the LayerNorm weights or the weight columns' norms left all-MiniLM-L6-v2's
 * worst text at cosine 0.9966-0.9969 (simulated), against 0.9992 from
 * calibration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "format/format.h"
#include "runtime/runtime.h"

#define CALIB_MAX_BYTES ((size_t)64 << 20) /* a --calibration file, at most */

/* The lines of a UTF-8 text file (without "\n" or "\r\n"; a final newline
 * ends the last line, it does not start an empty one), pointing into
 * *data (owned by the caller). */
static emb_status read_lines(const char *path, char **data, const char ***lines, size_t **lens,
                             size_t *n)
{
    *data = NULL;
    *lines = NULL;
    *lens = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    RT_FAIL_IF(!f, EMB_ERR_IO, "%s: cannot open the calibration texts", path);
    char *buf = rt_alloc(CALIB_MAX_BYTES + 1, 1);
    size_t len = buf ? fread(buf, 1, CALIB_MAX_BYTES + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return EMB_ERR_NO_MEMORY;
    *data = buf;
    RT_FAIL_IF(err, EMB_ERR_IO, "%s: cannot read the calibration texts", path);
    RT_FAIL_IF(len > CALIB_MAX_BYTES, EMB_ERR_INVALID_ARGUMENT,
               "%s: calibration texts above %zu MiB", path, CALIB_MAX_BYTES >> 20);
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += buf[i] == '\n';
    count += len && buf[len - 1] != '\n';
    RT_FAIL_IF(count == 0, EMB_ERR_INVALID_ARGUMENT, "%s: no calibration texts (empty file)", path);
    *lines = rt_calloc(count, sizeof **lines);
    *lens = rt_calloc(count, sizeof **lens);
    if (!*lines || !*lens)
        return EMB_ERR_NO_MEMORY;
    size_t start = 0;
    for (size_t i = 0; i <= len && *n < count; i++) {
        if (i < len && buf[i] != '\n')
            continue;
        size_t e = i;
        if (e > start && buf[e - 1] == '\r')
            e--;
        (*lines)[*n] = buf + start;
        (*lens)[*n] = e - start;
        (*n)++;
        start = i + 1;
    }
    return EMB_OK;
}

/* One text through the calibration model: prompt + text tokenized with the
 * specials, cut to `limit` tokens, encoded (the records are taken on the
 * way). `input` is scratch grown as needed. */
static emb_status calibrate_text(const mdl_model *m, const tok_tokenizer *tk, const char *prompt,
                                 const char *text, size_t len, size_t limit, int threads,
                                 char **input, size_t *cap, tok_ids *ids, float *out)
{
    size_t pl = prompt ? strlen(prompt) : 0, total;
    RT_FAIL_IF(rt_add_overflow(pl, len, &total) || total == SIZE_MAX, EMB_ERR_INVALID_ARGUMENT,
               "calibration text too long");
    if (total + 1 > *cap) {
        char *p = realloc(*input, total + 1);
        RT_FAIL_IF(!p, EMB_ERR_NO_MEMORY, "out of memory");
        *input = p;
        *cap = total + 1;
    }
    if (pl)
        memcpy(*input, prompt, pl);
    if (len)
        memcpy(*input + pl, text, len);
    (*input)[total] = '\0';
    RT_TRY(tok_encode(tk, *input, total, 1, limit, ids));
    if (ids->n == 0) /* nothing to run: no specials and no text */
        return EMB_OK;
    return mdl_encode_threads(m, ids->ids, ids->n, threads, out);
}

void cv_calibration_free(float **amax, size_t n)
{
    for (size_t i = 0; amax && i < n; i++) {
        free(amax[i]);
        amax[i] = NULL;
    }
}

emb_status cv_calibrate(const mdl_config *cfg, const fmt_policy *pol, const tok_spec *tok,
                        const cv_weights *w, const unsigned char *linear, const char *texts_path,
                        float **amax)
{
    cv_model_view v;
    mdl_model *m = NULL;
    tok_tokenizer *tk = NULL;
    tok_ids ids = { NULL, 0, 0 };
    char *file = NULL, *input = NULL;
    const char **lines = NULL;
    size_t *lens = NULL, n_lines = 0, cap = 0;
    float **vamax = NULL, *out = NULL;
    memset(amax, 0, (w->n ? w->n : 1) * sizeof *amax);
    emb_status st;
    RT_TRY_GOTO(st, cv_model_view_build(w, 1, &v), done);
    vamax = rt_calloc(v.w.n ? v.w.n : 1, sizeof *vamax);
    out = rt_alloc(mdl_output_dim(cfg), sizeof *out);
    if (!vamax || !out) {
        st = EMB_ERR_NO_MEMORY;
        goto done;
    }
    for (size_t j = 0; j < v.w.n; j++) {
        size_t i = v.from[j];
        if (!linear[i])
            continue;
        /* a Linear weight [out, in] (mdl_linear_weights checked the shape) */
        if (!(amax[i] = rt_calloc((size_t)w->t[i].shape[1], sizeof **amax))) {
            st = EMB_ERR_NO_MEMORY;
            goto done;
        }
        vamax[j] = amax[i];
    }
    RT_TRY_GOTO(st, mdl_create_calibration(cfg, &v.w, vamax, &m), done);
    RT_TRY_GOTO(st, tok_create(tok, &tk), done);
    if (texts_path)
        RT_TRY_GOTO(st, read_lines(texts_path, &file, &lines, &lens, &n_lines), done);
    size_t limit = mdl_max_tokens(cfg);
    if (pol->max_tokens > 0 && (uint64_t)pol->max_tokens < (uint64_t)limit)
        limit = (size_t)pol->max_tokens;
    int threads = rt_default_threads();
    size_t n = texts_path ? n_lines : cv_calibration_count;
    for (size_t i = 0; i < n && st == EMB_OK; i++) {
        /* as queries and passages in turn when the model has such prompts */
        const char *prompt = i % 2 == 0 && pol->prompt_query     ? pol->prompt_query
                             : i % 2 == 1 && pol->prompt_passage ? pol->prompt_passage
                                                                 : pol->prompt_default;
        const char *text = texts_path ? lines[i] : cv_calibration_texts[i];
        size_t len = texts_path ? lens[i] : strlen(text);
        st = calibrate_text(m, tk, prompt, text, len, limit, threads, &input, &cap, &ids, out);
        if (st != EMB_OK && texts_path) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", rt_last_error());
            st = rt_error(st, "%s line %zu: %s", texts_path, i + 1, msg);
        }
    }
done:
    if (st != EMB_OK)
        cv_calibration_free(amax, w->n);
    mdl_free(m);
    tok_free(tk);
    free(ids.ids);
    free(input);
    free(file);
    free(lines);
    free(lens);
    free(vamax);
    free(out);
    cv_model_view_free(&v);
    return st;
}
