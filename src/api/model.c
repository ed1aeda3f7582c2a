/* emb_model_open / close and metadata. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "runtime/runtime.h"


static emb_status meta_add(emb_model *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static emb_status meta_add(emb_model *m, const char *key, const char *fmt, ...)
{
    if (m->n_meta >= API_MAX_META)
        return rt_error(EMB_ERR_INTERNAL, "too many metadata keys");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *val = n >= 0 ? rt_alloc((size_t)n + 1, 1) : NULL;
    char *k = strdup(key);
    if (!val || !k) {
        free(val);
        free(k);
        return rt_error(EMB_ERR_NO_MEMORY, "out of memory");
    }
    va_start(ap, fmt);
    vsnprintf(val, (size_t)n + 1, fmt, ap);
    va_end(ap);
    m->meta_keys[m->n_meta] = k;
    m->meta_vals[m->n_meta] = val;
    m->n_meta++;
    return EMB_OK;
}

/* The model's own keys (architecture and shape), when it has weights. */
/* "pooling" (its modes joined with '+'), "include_prompt", and with Dense
 * modules "dense": each one's "<in>-><out> <activation>", comma-separated. */
static emb_status head_meta(emb_model *m, const mdl_config *c)
{
    char buf[MDL_MAX_DENSE * 48];
    RT_FAIL_IF(fmt_pooling_list_name(c, buf, sizeof buf) != 0, EMB_ERR_INTERNAL,
               "pooling list too long");
    RT_TRY(meta_add(m, "pooling", "%s", buf));
    RT_TRY(meta_add(m, "include_prompt", "%s", m->file.pol.include_prompt ? "true" : "false"));
    if (!c->n_dense)
        return EMB_OK;
    size_t used = 0;
    for (int32_t i = 0; i < c->n_dense; i++) {
        const mdl_dense *d = &c->dense[i];
        const char *act = embn_dense_act_name((unsigned)d->act);
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%lld->%lld %s",
                                 i ? ", " : "", (long long)d->in, (long long)d->out,
                                 act ? act : "?");
    }
    return meta_add(m, "dense", "%s", buf);
}

static emb_status fill_meta_weights(emb_model *m)
{
    const fmt_model *f = &m->file;
    const mdl_config *c = &f->cfg;
    RT_TRY(head_meta(m, c));
    RT_TRY(meta_add(m, "normalize", "%s", c->normalize ? "true" : "false"));
    RT_TRY(meta_add(m, "weights_dtype", "%s", f->weights_dtype ? f->weights_dtype : ""));
    RT_TRY(meta_add(m, "model_vocab_size", "%lld", (long long)c->vocab_size));
    RT_TRY(meta_add(m, "hidden_size", "%lld", (long long)c->hidden));
    RT_TRY(meta_add(m, "num_layers", "%lld", (long long)c->layers));
    RT_TRY(meta_add(m, "num_heads", "%lld", (long long)c->heads));
    const mdl_arch *arch = mdl_arch_of(c);
    if (!arch || arch->family != MDL_FAMILY_BERT)
        RT_TRY(meta_add(m, "attention", "%s", c->bidirectional ? "bidirectional" : "causal"));
    if (c->rope_type != MDL_ROPE_DEFAULT && mdl_rope_name(c->rope_type))
        RT_TRY(meta_add(m, "rope_scaling", "%s factor %g", mdl_rope_name(c->rope_type),
                        c->rope_factor));
    if (c->sliding_window > 0) {
        size_t on = 0;
        for (size_t l = 0; l < (size_t)c->layers; l++)
            on += (size_t)mdl_window_layer(c, l);
        RT_TRY(meta_add(m, "sliding_window", "%lld on %zu of %lld layers",
                        (long long)c->sliding_window, on, (long long)c->layers));
    }
    return EMB_OK;
}

static emb_status fill_meta(emb_model *m)
{
    const fmt_model *f = &m->file;
    RT_TRY(meta_add(m, "format_version", "%d.%d", f->version_major, f->version_minor));
    RT_TRY(meta_add(m, "source", "%s", f->source ? f->source : ""));
    RT_TRY(meta_add(m, "architecture", "%s", f->has_weights ? f->cfg.arch : "none"));
    RT_TRY(meta_add(m, "dim", "%zu", m->dim));
    RT_TRY(meta_add(m, "max_tokens", "%zu", m->max_tokens));
    RT_TRY(meta_add(m, "tokenizer", "%s", fmt_tokenizer_name(f->tok.model)));
    RT_TRY(meta_add(m, "vocab_size", "%zu", tok_vocab_size(m->tok)));
    if (f->has_weights)
        RT_TRY(fill_meta_weights(m));
    if (f->pol.prompt_query)
        RT_TRY(meta_add(m, "prompt.query", "%s", f->pol.prompt_query));
    if (f->pol.prompt_passage)
        RT_TRY(meta_add(m, "prompt.passage", "%s", f->pol.prompt_passage));
    if (f->pol.prompt_default)
        RT_TRY(meta_add(m, "prompt.default", "%s", f->pol.prompt_default));
    if (f->pol.template_)
        RT_TRY(meta_add(m, "template", "%s", f->pol.template_));
    RT_TRY(meta_add(m, "strip", "%s", f->pol.strip ? "true" : "false"));
    RT_TRY(meta_add(m, "lowercase", "%s", f->pol.lowercase ? "true" : "false"));
    /* what emb_encode runs on: n_threads, or the default for 0 */
    return meta_add(m, "threads", "%d", m->n_threads);
}

/* The forward pass of a model file with weights, in the compute type asked. */
static emb_status open_weights(emb_model *m, const emb_open_options *opts)
{
    RT_TRY(mdl_config_check(&m->file.cfg));
    mdl_weights w = {m->file.n_tensors, m->file.tensors};
    emb_compute compute = EMB_COMPUTE_F32;
    if (opts && opts->struct_size >= offsetof(emb_open_options, compute) + sizeof compute)
        compute = opts->compute;
    RT_FAIL_IF(compute != EMB_COMPUTE_F32 && compute != EMB_COMPUTE_BF16, EMB_ERR_INVALID_ARGUMENT,
               "compute %d unknown, expected EMB_COMPUTE_F32 or EMB_COMPUTE_BF16", (int)compute);
    RT_TRY(mdl_create_compute(&m->file.cfg, &w,
                              compute == EMB_COMPUTE_BF16 ? MDL_COMPUTE_BF16 : MDL_COMPUTE_F32,
                              &m->mdl));
    m->dim = mdl_output_dim(&m->file.cfg);
    return EMB_OK;
}

/* Everything after the file is loaded: tokenizer, model, threads, metadata. */
static emb_status open_loaded(emb_model *m, const emb_open_options *opts)
{
    RT_TRY(tok_create(&m->file.tok, &m->tok));
    if (m->file.has_weights)
        RT_TRY(open_weights(m, opts));
    m->max_tokens = (size_t)m->file.pol.max_tokens;
    int want = 0;
    if (opts && opts->struct_size >= offsetof(emb_open_options, n_threads) + sizeof(int))
        want = opts->n_threads;
    RT_FAIL_IF(want < 0 || want > RT_MAX_THREADS, EMB_ERR_INVALID_ARGUMENT,
               "n_threads %d out of range 0..%d", want, RT_MAX_THREADS);
    m->n_threads = want > 0 ? want : rt_default_threads();
    return fill_meta(m);
}

emb_status emb_model_open(const char *path, const emb_open_options *opts, emb_model **out)
{
    rt_error_clear();
    if (out)
        *out = NULL;
    if (!path || !out)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_model_open: NULL %s", !path ? "path" : "out");
    if (opts && opts->struct_size < sizeof(size_t))
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "emb_model_open: options not initialized "
                                                  "(call emb_open_options_init)");
    emb_model *m = rt_calloc(1, sizeof *m);
    if (!m)
        return EMB_ERR_NO_MEMORY;
    emb_status st = fmt_load(path, &m->file);
    if (st != EMB_OK) {
        free(m);
        return st;
    }
    m->path = strdup(path);
    st = m->path ? open_loaded(m, opts) : rt_error(EMB_ERR_NO_MEMORY, "out of memory");
    if (st != EMB_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", rt_last_error());
        emb_model_close(m);
        return rt_error(st, "%s: %s", path, msg);
    }
    *out = m;
    return EMB_OK;
}

void emb_model_close(emb_model *m)
{
    if (!m)
        return;
    mdl_free(m->mdl);
    tok_free(m->tok);
    fmt_model_free(&m->file);
    free(m->path);
    for (size_t i = 0; i < m->n_meta; i++) {
        free(m->meta_keys[i]);
        free(m->meta_vals[i]);
    }
    free(m);
}

size_t emb_model_dim(const emb_model *m)
{
    return m ? m->dim : 0;
}

size_t emb_model_max_tokens(const emb_model *m)
{
    return m ? m->max_tokens : 0;
}

const char *emb_model_meta(const emb_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_keys[i], key) == 0)
            return m->meta_vals[i];
    return NULL;
}

size_t emb_model_meta_count(const emb_model *m)
{
    return m ? m->n_meta : 0;
}

const char *emb_model_meta_key(const emb_model *m, size_t index)
{
    return m && index < m->n_meta ? m->meta_keys[index] : NULL;
}
