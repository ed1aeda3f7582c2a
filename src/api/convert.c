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
    emb_status st = cv_read_eos_id(dir, tok, &eos);
    if (st != EMB_OK)
        return st;
    if (eos < 0)
        return rt_error(EMB_ERR_FORMAT, "%s: append_eos: the folder names no eos_token "
                                        "that the vocabulary holds", dir);
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
    if (o->attention == 0 || o->attention == 1)
        cfg->bidirectional = o->attention;
    else
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "attention must be 0 (causal) or 1 (bidirectional)");
    const mdl_arch *arch = mdl_arch_of(cfg);
    if (o->attention == 1 && arch && arch->family == MDL_FAMILY_BERT)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "attention override applies to decoders only");
    emb_status st = set_prompt(&pol->prompt_query, o->prompt_query);
    if (st == EMB_OK)
        st = set_prompt(&pol->prompt_passage, o->prompt_passage);
    if (st == EMB_OK)
        st = set_prompt(&pol->prompt_default, o->prompt_none);
    if (st != EMB_OK)
        return st;
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
        v[i].is_weight = t->dtype != CV_DTYPE_OTHER;
        v[i].dtype = t->dtype == CV_DTYPE_F16    ? KERN_W_F16
                     : t->dtype == CV_DTYPE_BF16 ? KERN_W_BF16
                                                 : KERN_W_F32;
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
    mdl_tensor *t = rt_calloc(w->n ? w->n : 1, sizeof *t);
    size_t *from = rt_calloc(w->n ? w->n : 1, sizeof *from);
    unsigned char *marks = rt_calloc(w->n ? w->n : 1, 1);
    emb_status st = EMB_ERR_NO_MEMORY;
    if (!t || !from || !marks)
        goto done;
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->t[i].dtype == CV_DTYPE_OTHER || w->t[i].ndim > 4)
            continue;
        t[n].name = fmt_strip_prefix(w->t[i].name);
        t[n].ndim = w->t[i].ndim;
        memcpy(t[n].shape, w->t[i].shape, sizeof t[n].shape);
        from[n++] = i;
    }
    mdl_weights mw = { n, t };
    st = mdl_linear_weights(cfg, &mw, marks);
    memset(linear, 0, w->n);
    for (size_t i = 0; st == EMB_OK && i < n; i++)
        linear[from[i]] = marks[i];
done:
    free(t);
    free(from);
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

emb_status emb_convert(const char *hf_dir, const char *out_path, const emb_convert_options *opts)
{
    return api_convert(hf_dir, out_path, opts, API_INT8_OUTLIERS);
}

emb_status api_convert(const char *hf_dir, const char *out_path, const emb_convert_options *opts,
                       size_t int8_outliers)
{
    rt_error_clear();
    if (!hf_dir || !out_path)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_convert: NULL %s", !hf_dir ? "hf_dir" : "out_path");
    emb_convert_options o;
    emb_convert_options_init(&o);
    emb_status st = api_options_read(opts, &o, sizeof o, "convert");
    if (st != EMB_OK)
        return st;
    if ((unsigned)o.dtype > EMB_DTYPE_INT8)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)o.dtype);
    struct stat sb;
    if (stat(hf_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return rt_error(EMB_ERR_IO, "%s: not a directory", hf_dir);

    mdl_config cfg;
    fmt_policy pol;
    tok_spec tok;
    cv_weights w;
    memset(&cfg, 0, sizeof cfg);
    memset(&pol, 0, sizeof pol);
    memset(&tok, 0, sizeof tok);
    memset(&w, 0, sizeof w);
    char *tmp = NULL;
    unsigned char *linear = NULL;
    fmt_tensor_in *views = NULL; /* w's tensors as the writer takes them */
    float **amax = NULL; /* int8: the calibration's records per tensor */
    st = cv_read_tokenizer(hf_dir, &tok);
    if (st == EMB_OK)
        st = cv_apply_tokenizer_class(hf_dir, &tok);
    if (st == EMB_OK)
        st = set_append_eos(hf_dir, o.append_eos, &tok);
    if (st == EMB_OK) {
        /* the tokenizer must build (unsupported steps are refused here, not at open) */
        tok_tokenizer *probe = NULL;
        st = tok_create(&tok, &probe);
        tok_free(probe);
    }
    if (st == EMB_OK && !o.tokenizer_only) {
        st = cv_read_config(hf_dir, &cfg, &pol);
        if (st == EMB_OK)
            st = apply_overrides(&o, &cfg, &pol);
        if (st == EMB_OK)
            st = mdl_config_check(&cfg);
        if (st == EMB_OK && o.dtype == EMB_DTYPE_INT8 && !mdl_int8_ok(&cfg))
            st = rt_error(EMB_ERR_UNSUPPORTED,
                          "--dtype int8 is for encoders (bert, xlm-roberta); a %s decoder's "
                          "last-token vectors drift below cosine 0.999 of fp32 with int8 "
                          "weights: use --dtype bf16 and bf16 compute",
                          cfg.arch);
        if (st == EMB_OK)
            st = check_vocab(&cfg, &tok);
        if (st == EMB_OK)
            st = cv_weights_open_dir(&w, hf_dir);
        if (st == EMB_OK)
            st = cv_read_dense_weights(hf_dir, &w);
        if (st == EMB_OK) {
            linear = rt_calloc(w.n ? w.n : 1, 1);
            st = linear ? check_checkpoint(&cfg, &w, linear) : EMB_ERR_NO_MEMORY;
        }
        if (st == EMB_OK && o.dtype == EMB_DTYPE_INT8 && int8_outliers) {
            /* which input features each Linear keeps in fp32 (format 1.2) */
            amax = rt_calloc(w.n ? w.n : 1, sizeof *amax);
            st = amax ? cv_calibrate(&cfg, &pol, &tok, &w, linear, o.calibration, amax)
                      : EMB_ERR_NO_MEMORY;
        }
    } else if (st == EMB_OK) {
        pol.strip = 1;
        pol.include_prompt = 1;
        pol.max_tokens = 0;
    }
    if (st == EMB_OK) {
        size_t n = strlen(out_path) + 16;
        tmp = rt_alloc(n, 1);
        if (!tmp) {
            st = EMB_ERR_NO_MEMORY;
        } else {
            snprintf(tmp, n, "%s.tmpXXXXXX", out_path);
            int fd = mkstemp(tmp);
            if (fd < 0) {
                st = rt_error(EMB_ERR_IO, "%s: cannot create: %s", out_path, strerror(errno));
                free(tmp);
                tmp = NULL;
            } else {
                close(fd);
            }
        }
    }
    if (st == EMB_OK && !o.tokenizer_only)
        st = writer_views(&w, &views);
    if (st == EMB_OK) {
        fmt_write_input in = { .cfg = o.tokenizer_only ? NULL : &cfg, .pol = &pol, .tok = &tok,
                               .weights = views, .n_weights = views ? w.n : 0,
                               .dtype = o.dtype, .source = base_name(hf_dir), .linear = linear,
                               .outliers = amax ? int8_outliers : 0,
                               .amax = (const float *const *)amax };
        st = fmt_write(tmp, &in);
    }
    if (st == EMB_OK) {
        mode_t mask = umask(0);
        umask(mask);
        chmod(tmp, 0666 & ~mask);
        if (rename(tmp, out_path) != 0)
            st = rt_error(EMB_ERR_IO, "%s: cannot rename into place: %s", out_path, strerror(errno));
    }
    if (tmp && st != EMB_OK)
        unlink(tmp);
    free(tmp);
    free(linear);
    free(views);
    if (amax)
        cv_calibration_free(amax, w.n);
    free(amax);
    cv_weights_close(&w);
    tok_spec_free(&tok);
    fmt_policy_free(&pol);
    return st;
}
