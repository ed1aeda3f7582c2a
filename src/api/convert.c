/* emb_convert: HF folder -> one model file, written under a temporary name
 * in the destination directory and renamed into place only when complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "convert/convert.h"
#include "runtime/runtime.h"


/* Replace a prompt of the policy ("" = no prompt). */
static emb_status set_prompt(char **slot, const char *value)
{
    if (!value)
        return EMB_OK;
    if (!tok_utf8_valid(value, strlen(value)))
        return rt_error(EMB_ERR_INVALID_UTF8, "prompt override is not valid UTF-8");
    free(*slot);
    *slot = NULL;
    if (*value && !(*slot = strdup(value)))
        return rt_error(EMB_ERR_NO_MEMORY, "out of memory");
    return EMB_OK;
}

/* --append-eos. no: drop what the post-processor appends after the text;
 * yes: keep it when there is something (Qwen3-Embedding's <|endoftext|>),
 * else append the folder's eos_token (e5-mistral's recipe). */
static emb_status set_append_eos(const char *dir, int mode, tok_spec *tok)
{
    if (mode == -1)
        return EMB_OK;
    if (mode != 0 && mode != 1)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "append_eos must be -1, 0 or 1");
    if (mode == 0) {
        tok->n_suffix = 0;
        return EMB_OK;
    }
    if (tok->n_suffix)
        return EMB_OK;
    int32_t eos = -1;
    RT_TRY(cv_read_eos_id(dir, tok, &eos));
    RT_FAIL_IF(eos < 0, EMB_ERR_FORMAT,
               "%s: append_eos: the folder names no eos_token that the vocabulary holds", dir);
    int32_t *p = rt_realloc(tok->suffix_ids, 1, sizeof *p);
    if (!p)
        return EMB_ERR_NO_MEMORY;
    p[0] = eos;
    tok->suffix_ids = p;
    tok->n_suffix = 1;
    return EMB_OK;
}

/* Apply the caller's overrides (pooling, normalize, template) to what the
 * folder says. A template means the input is exactly template(text): no
 * strip. */
static emb_status apply_overrides(const emb_convert_options *o, mdl_config *cfg, fmt_policy *pol)
{
    if (o->pooling && fmt_pooling_list_parse(o->pooling, cfg) != 0)
        return rt_error(EMB_ERR_INVALID_ARGUMENT,
                        "pooling '%s' unknown (mean, cls, lasttoken, lasttoken-logits, max, "
                        "weightedmean, mean-sqrt-len, or several joined with '+')", o->pooling);
    if (o->normalize == 0 || o->normalize == 1)
        cfg->normalize = o->normalize;
    else if (o->normalize != -1)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "normalize must be -1, 0 or 1");
    /* -1: the reference's (causal; gemma3_text: its use_bidirectional_attention) */
    if (o->attention == 0 || o->attention == 1)
        cfg->bidirectional = o->attention;
    else if (o->attention != -1)
        return rt_error(EMB_ERR_INVALID_ARGUMENT,
                        "attention must be -1 (as the reference), 0 (causal) or 1 (bidirectional)");
    const mdl_arch *arch = mdl_arch_of(cfg);
    if (o->attention == 1 && arch && arch->family == MDL_FAMILY_BERT)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "attention override applies to decoders only");
    RT_TRY(set_prompt(&pol->prompt_query, o->prompt_query));
    RT_TRY(set_prompt(&pol->prompt_passage, o->prompt_passage));
    RT_TRY(set_prompt(&pol->prompt_default, o->prompt_none));
    if (o->template_) {
        if (!strstr(o->template_, "{text}"))
            return rt_error(EMB_ERR_INVALID_ARGUMENT, "template '%s' has no {text}", o->template_);
        if (!tok_utf8_valid(o->template_, strlen(o->template_)))
            return rt_error(EMB_ERR_INVALID_UTF8, "template is not valid UTF-8");
        free(pol->template_);
        pol->template_ = strdup(o->template_);
        if (!pol->template_)
            return rt_error(EMB_ERR_NO_MEMORY, "out of memory");
        pol->strip = 0;
    }
    /* -1: as sentence-transformers 5.4 and later (the converter's default, no strip) */
    if (o->strip != -1 && o->strip != 0 && o->strip != 1)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "strip must be -1, 0 or 1");
    if (o->strip == 1 && o->template_)
        return rt_error(EMB_ERR_INVALID_ARGUMENT,
                        "strip 1 with a template: a templated input is used exactly");
    if (o->strip == 1)
        pol->strip = 1;
    return EMB_OK;
}

/* The writer's view of each checkpoint tensor (*out: w->n entries, the
 * caller frees it); integer buffers are marked as not weights. */
static emb_status writer_views(const cv_weights *w, fmt_tensor_in **out)
{
    fmt_tensor_in *v = rt_calloc(w->n ? w->n : 1, sizeof *v);
    if (!v)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < w->n; i++) {
        const cv_tensor *t = &w->t[i];
        v[i].name = t->name;
        v[i].is_weight = t->is_weight;
        v[i].dtype = t->dtype;
        v[i].ndim = t->ndim;
        memcpy(v[i].shape, t->shape, sizeof v[i].shape);
        v[i].data = t->data;
        v[i].nbytes = t->nbytes;
    }
    *out = v;
    return EMB_OK;
}

/* Shapes of the checkpoint's tensors (no data) under their stored names,
 * checked against what the architecture needs; linear[i] (w->n bytes) = 1
 * for each tensor w->t[i] the model uses as a Linear weight. */
static emb_status check_checkpoint(const mdl_config *cfg, const cv_weights *w,
                                   unsigned char *linear)
{
    cv_model_view v;
    unsigned char *marks = NULL;
    emb_status st;
    RT_TRY_GOTO(st, cv_model_view_build(w, 0, &v), done);
    if (!(marks = rt_calloc(v.w.n ? v.w.n : 1, 1))) {
        st = EMB_ERR_NO_MEMORY;
        goto done;
    }
    RT_TRY_GOTO(st, mdl_linear_weights(cfg, &v.w, marks), done);
    memset(linear, 0, w->n);
    for (size_t i = 0; i < v.w.n; i++)
        linear[v.from[i]] = marks[i];
done:
    cv_model_view_free(&v);
    free(marks);
    return st;
}

/* The largest id the tokenizer can produce must index the embedding table. */
static emb_status check_vocab(const mdl_config *cfg, const tok_spec *tok)
{
    int64_t max_id = (int64_t)tok->n_vocab - 1;
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].id > max_id)
            max_id = tok->added[i].id;
    if (max_id >= cfg->vocab_size)
        return rt_error(EMB_ERR_FORMAT,
                        "the tokenizer produces ids up to %lld but the model's vocab_size is %lld",
                        (long long)max_id, (long long)cfg->vocab_size);
    return EMB_OK;
}

static const char *base_name(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *b = dir + n;
    while (b > dir && b[-1] != '/')
        b--;
    return b;
}

/* What one conversion holds; released by convert_free. */
typedef struct convert_job {
    mdl_config cfg;
    fmt_policy pol;
    tok_spec tok;
    cv_weights w;
    char *tmp;             /* the temporary file, renamed into place at the end */
    unsigned char *linear; /* w->n flags: a Linear weight */
    fmt_tensor_in *views;  /* w's tensors as the writer takes them */
    float **amax;          /* int8: the calibration's records per tensor */
} convert_job;

static void convert_free(convert_job *j)
{
    free(j->tmp);
    free(j->linear);
    free(j->views);
    if (j->amax)
        cv_calibration_free(j->amax, j->w.n);
    free(j->amax);
    cv_weights_close(&j->w);
    tok_spec_free(&j->tok);
    fmt_policy_free(&j->pol);
}

/* The tokenizer of the folder, with the caller's EOS choice; it must build
 * (unsupported steps are refused here, not at open). */
static emb_status convert_tokenizer(const char *hf_dir, const emb_convert_options *o, tok_spec *tok)
{
    RT_TRY(cv_read_tokenizer(hf_dir, tok));
    RT_TRY(cv_apply_tokenizer_class(hf_dir, tok));
    RT_TRY(set_append_eos(hf_dir, o->append_eos, tok));
    tok_tokenizer *probe = NULL;
    emb_status st = tok_create(tok, &probe);
    tok_free(probe);
    return st;
}

/* Config, overrides and checks, the checkpoint, its Linear weights and (int8
 * with outliers) the calibration; *int8_outliers API_INT8_OUTLIERS_ARCH
 * becomes the architecture's count. */
static emb_status convert_model(const char *hf_dir, const emb_convert_options *o,
                                size_t *int8_outliers, convert_job *j)
{
    RT_TRY(cv_read_config(hf_dir, &j->cfg, &j->pol));
    if (*int8_outliers == API_INT8_OUTLIERS_ARCH)
        *int8_outliers = mdl_int8_outliers(&j->cfg);
    RT_TRY(apply_overrides(o, &j->cfg, &j->pol));
    RT_TRY(mdl_config_check(&j->cfg));
    RT_FAIL_IF(o->dtype == EMB_DTYPE_INT8 && !mdl_int8_ok(&j->cfg), EMB_ERR_UNSUPPORTED,
               "--dtype int8 is for encoders (bert, xlm-roberta, roberta, camembert, mpnet, "
               "distilbert, modernbert); %s runs the decoder graph, whose int8 vectors are "
               "not shown to stay within cosine 0.999 of fp32 (last-token decoders drift "
               "below it): use --dtype bf16 and bf16 compute",
               j->cfg.arch);
    RT_TRY(check_vocab(&j->cfg, &j->tok));
    RT_TRY(cv_weights_open_dir(&j->w, hf_dir));
    RT_TRY(cv_read_dense_weights(hf_dir, &j->w));
    if (!(j->linear = rt_calloc(j->w.n ? j->w.n : 1, 1)))
        return EMB_ERR_NO_MEMORY;
    RT_TRY(check_checkpoint(&j->cfg, &j->w, j->linear));
    if (o->dtype == EMB_DTYPE_INT8 && *int8_outliers) {
        /* which input features each Linear keeps in fp32 (format 1.2) */
        if (!(j->amax = rt_calloc(j->w.n ? j->w.n : 1, sizeof *j->amax)))
            return EMB_ERR_NO_MEMORY;
        RT_TRY(cv_calibrate(&j->cfg, &j->pol, &j->tok, &j->w, j->linear, o->calibration, j->amax));
    }
    return writer_views(&j->w, &j->views);
}

/* An empty temporary file beside out_path (*tmp its name). */
static emb_status temp_file(const char *out_path, char **tmp)
{
    size_t n = strlen(out_path) + 16;
    char *name = rt_alloc(n, 1);
    if (!name)
        return EMB_ERR_NO_MEMORY;
    snprintf(name, n, "%s.tmpXXXXXX", out_path);
    int fd = mkstemp(name);
    if (fd < 0) {
        free(name);
        return rt_error(EMB_ERR_IO, "%s: cannot create: %s", out_path, strerror(errno));
    }
    close(fd);
    *tmp = name;
    return EMB_OK;
}

/* Write the file under j->tmp and rename it into place. */
static emb_status convert_write(const char *hf_dir, const char *out_path,
                                const emb_convert_options *o, size_t int8_outliers, convert_job *j)
{
    RT_TRY(temp_file(out_path, &j->tmp));
    fmt_write_input in = {.cfg = o->tokenizer_only ? NULL : &j->cfg,
                          .pol = &j->pol,
                          .tok = &j->tok,
                          .weights = j->views,
                          .n_weights = j->views ? j->w.n : 0,
                          .dtype = o->dtype,
                          .source = base_name(hf_dir),
                          .linear = j->linear,
                          .outliers = j->amax ? int8_outliers : 0,
                          .amax = (const float *const *)j->amax};
    RT_TRY(fmt_write(j->tmp, &in));
    mode_t mask = umask(0);
    umask(mask);
    chmod(j->tmp, 0666 & ~mask);
    RT_FAIL_IF(rename(j->tmp, out_path) != 0, EMB_ERR_IO, "%s: cannot rename into place: %s",
               out_path, strerror(errno));
    return EMB_OK;
}

emb_status emb_convert(const char *hf_dir, const char *out_path, const emb_convert_options *opts)
{
    return api_convert(hf_dir, out_path, opts, API_INT8_OUTLIERS_ARCH);
}

emb_status api_convert(const char *hf_dir, const char *out_path, const emb_convert_options *opts,
                       size_t int8_outliers)
{
    rt_error_clear();
    if (!hf_dir || !out_path)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_convert: NULL %s", !hf_dir ? "hf_dir" : "out_path");
    emb_convert_options o;
    emb_convert_options_init(&o);
    RT_TRY(api_options_read(opts, &o, sizeof o, "convert"));
    RT_FAIL_IF((unsigned)o.dtype > EMB_DTYPE_INT8, EMB_ERR_INVALID_ARGUMENT, "unknown dtype %d",
               (int)o.dtype);
    struct stat sb;
    RT_FAIL_IF(stat(hf_dir, &sb) != 0 || !S_ISDIR(sb.st_mode), EMB_ERR_IO, "%s: not a directory",
               hf_dir);

    convert_job j;
    memset(&j, 0, sizeof j);
    emb_status st;
    RT_TRY_GOTO(st, convert_tokenizer(hf_dir, &o, &j.tok), done);
    if (!o.tokenizer_only) {
        RT_TRY_GOTO(st, convert_model(hf_dir, &o, &int8_outliers, &j), done);
    } else {
        j.pol.strip = 1;
        j.pol.include_prompt = 1;
        j.pol.max_tokens = 0;
    }
    st = convert_write(hf_dir, out_path, &o, int8_outliers, &j);
done:
    if (j.tmp && st != EMB_OK)
        unlink(j.tmp);
    convert_free(&j);
    return st;
}
