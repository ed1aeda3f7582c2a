/* The model/ door: config validation, weight checking, and dispatch of
 * create / encode to the architecture family's graph (bert.c, rotary.c,
 * llama.c). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"
#include "runtime/runtime.h"

/* Longest decoder input accepted (RoPE has no table limit; this only keeps
 * scratch sizes sane). */
#define MDL_DECODER_MAX_TOKENS ((size_t)1 << 20)

int mdl_family_of(const mdl_config *cfg)
{
    const mdl_arch *a = mdl_arch_of(cfg);
    return a ? (int)a->family : -1;
}

static int in_range(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

/* The pooling modes and Dense modules: known modes, logits alone, each
 * Dense's in_features the size of what comes before it. */
static emb_status check_head(const mdl_config *cfg)
{
    if (!in_range(cfg->n_pool_extra, 0, MDL_MAX_POOL_MODES - 1))
        return rt_error(EMB_ERR_FORMAT, "config: %lld pooling modes, expected 1 .. %d",
                        (long long)cfg->n_pool_extra + 1, MDL_MAX_POOL_MODES);
    for (size_t i = 0; i <= (size_t)cfg->n_pool_extra; i++) {
        mdl_pooling p = mdl_pool_mode(cfg, i);
        if ((int)p < 0 || !embn_pooling_name((unsigned)p))
            return rt_error(EMB_ERR_FORMAT, "config: pooling %d unknown", (int)p);
        if (p == MDL_POOL_LASTTOKEN_LOGITS && (cfg->n_pool_extra || cfg->n_dense))
            return rt_error(EMB_ERR_UNSUPPORTED,
                            "config: lasttoken-logits pooling combines with no other pooling mode "
                            "and no Dense module");
    }
    if (!in_range(cfg->n_dense, 0, MDL_MAX_DENSE))
        return rt_error(EMB_ERR_FORMAT, "config: %lld Dense modules, expected at most %d",
                        (long long)cfg->n_dense, MDL_MAX_DENSE);
    int64_t in = (int64_t)(cfg->n_pool_extra + 1) * cfg->hidden;
    for (int32_t i = 0; i < cfg->n_dense; i++) {
        const mdl_dense *d = &cfg->dense[i];
        if (d->in != in)
            return rt_error(EMB_ERR_FORMAT,
                            "config: Dense module %d has in_features %lld, expected %lld (the "
                            "size of the vector before it)", (int)i, (long long)d->in,
                            (long long)in);
        if (!in_range(d->out, 1, MDL_MAX_INTERMEDIATE))
            return rt_error(EMB_ERR_FORMAT, "config: Dense module %d has out_features %lld, "
                            "expected 1 .. 2^20", (int)i, (long long)d->out);
        if (!embn_dense_act_name((unsigned)d->act))
            return rt_error(EMB_ERR_FORMAT, "config: Dense module %d has activation %d unknown",
                            (int)i, (int)d->act);
        in = d->out;
    }
    return EMB_OK;
}

/* ModernBERT's own fields: an even head_dim (RoPE), the global RoPE base,
 * the local window (sliding_window: local_attention) within the encoder
 * position limit; its local layers' base is check_local_layers'. */
static emb_status check_modernbert(const mdl_config *cfg)
{
    if (cfg->head_dim % 2 != 0)
        return rt_error(EMB_ERR_FORMAT, "config: head_dim %lld, expected even (RoPE)",
                        (long long)cfg->head_dim);
    if (!(cfg->rope_theta > 1.0 && cfg->rope_theta < 1e12))
        return rt_error(EMB_ERR_FORMAT, "config: rope_theta %g, expected 1 < theta < 1e12",
                        cfg->rope_theta);
    if (!in_range(cfg->sliding_window, 0, MDL_MAX_POSITIONS))
        return rt_error(EMB_ERR_FORMAT, "config: sliding_window (local_attention) %lld, "
                        "expected 0 .. 2^20", (long long)cfg->sliding_window);
    return EMB_OK;
}

/* A decoder's RoPE scaling and sliding window (format 1.4 fields); a window
 * with bidirectional attention only on an architecture with local layers
 * (Gemma3's half window). */
static emb_status mdl_rope_window_check(const mdl_config *cfg, const mdl_arch *arch)
{
    int32_t t = cfg->rope_type;
    int fin = 1;
    const double v[] = { cfg->rope_factor, cfg->rope_attn_factor, cfg->rope_beta_fast,
                         cfg->rope_beta_slow, cfg->rope_low_freq, cfg->rope_high_freq };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        fin = fin && isfinite(v[i]) && v[i] >= 0 && v[i] <= 1e30;
    if (!mdl_rope_name(t) || !fin)
        return rt_error(EMB_ERR_FORMAT, "config: rope_type %d or its parameters out of range",
                        (int)t);
    if (t != MDL_ROPE_DEFAULT && !(cfg->rope_factor > 0))
        return rt_error(EMB_ERR_FORMAT, "config: rope_factor %g, expected > 0", cfg->rope_factor);
    if ((t == MDL_ROPE_YARN || t == MDL_ROPE_LLAMA3) &&
        !in_range(cfg->rope_original_max, 1, MDL_MAX_ROPE_POSITIONS))
        return rt_error(EMB_ERR_FORMAT, "config: rope original_max_position %lld, expected 1 .. 2^24",
                        (long long)cfg->rope_original_max);
    if (t == MDL_ROPE_YARN && !(cfg->rope_attn_factor > 0 && cfg->rope_beta_fast > 0 &&
                                cfg->rope_beta_slow > 0))
        return rt_error(EMB_ERR_FORMAT, "config: yarn attention_factor / beta_fast / beta_slow "
                        "must be > 0");
    if (t == MDL_ROPE_LLAMA3 && !(cfg->rope_high_freq > cfg->rope_low_freq && cfg->rope_low_freq > 0))
        return rt_error(EMB_ERR_FORMAT, "config: llama3 high_freq_factor %g must be above "
                        "low_freq_factor %g > 0", cfg->rope_high_freq, cfg->rope_low_freq);
    if (t == MDL_ROPE_DYNAMIC && cfg->head_dim < 4)
        return rt_error(EMB_ERR_FORMAT, "config: dynamic RoPE needs head_dim >= 4");
    if (!in_range(cfg->sliding_window, 0, MDL_MAX_ROPE_POSITIONS))
        return rt_error(EMB_ERR_FORMAT, "config: sliding_window %lld, expected 0 .. 2^24",
                        (long long)cfg->sliding_window);
    if (cfg->sliding_window > 0 && cfg->bidirectional && !arch->local_layers)
        return rt_error(EMB_ERR_UNSUPPORTED,
                        "config: a sliding window with bidirectional attention is not supported");
    return EMB_OK;
}

/* The local layers' fields (mdl_config rope_local_theta; attn_scalar,
 * Gemma3's only): 0 unless the architecture has local layers (Gemma3,
 * ModernBERT); with a window, a local RoPE base like rope_theta, unscaled
 * RoPE; the attention scalar 0 (head_dim) or positive. */
static emb_status check_local_layers(const mdl_config *cfg, const mdl_arch *arch)
{
    int local = arch->local_layers || arch->modernbert;
    if (!(cfg->attn_scalar >= 0.0 && cfg->attn_scalar < 1e12))
        return rt_error(EMB_ERR_FORMAT, "config: query_pre_attn_scalar %g, expected 0 .. 1e12",
                        cfg->attn_scalar);
    if ((!local && cfg->rope_local_theta != 0.0) || (!arch->local_layers && cfg->attn_scalar != 0.0))
        return rt_error(EMB_ERR_FORMAT, "config: rope_local_theta or "
                        "query_pre_attn_scalar given for %s, which has none", cfg->arch);
    if (!local)
        return EMB_OK;
    if (cfg->rope_type != MDL_ROPE_DEFAULT)
        return rt_error(EMB_ERR_UNSUPPORTED, "config: RoPE scaling is not supported for %s",
                        cfg->arch);
    if (cfg->sliding_window > 0 && !(cfg->rope_local_theta > 1.0 && cfg->rope_local_theta < 1e12))
        return rt_error(EMB_ERR_FORMAT, "config: rope_local_theta %g (rope_local_base_freq, "
                        "local_rope_theta), expected 1 < theta < 1e12", cfg->rope_local_theta);
    return EMB_OK;
}

emb_status mdl_config_check(const mdl_config *cfg)
{
    if (!cfg)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: config is NULL");
    const mdl_arch *arch = mdl_arch_of(cfg);
    if (!arch)
        return rt_error(EMB_ERR_UNSUPPORTED,
                        "config: model_type \"%.16s\" is not supported (supported: %s)",
                        memchr(cfg->arch, '\0', sizeof cfg->arch) ? cfg->arch : "?",
                        mdl_arch_supported());
    mdl_family fam = arch->family;
    if (!in_range(cfg->vocab_size, 1, MDL_MAX_VOCAB))
        return rt_error(EMB_ERR_FORMAT, "config: vocab_size %lld, expected 1 .. 2^24",
                        (long long)cfg->vocab_size);
    if (!in_range(cfg->hidden, 1, MDL_MAX_HIDDEN))
        return rt_error(EMB_ERR_FORMAT, "config: hidden_size %lld, expected 1 .. %lld",
                        (long long)cfg->hidden, (long long)MDL_MAX_HIDDEN);
    if (!in_range(cfg->layers, 1, MDL_MAX_LAYERS))
        return rt_error(EMB_ERR_FORMAT, "config: num_hidden_layers %lld, expected 1 .. %lld",
                        (long long)cfg->layers, (long long)MDL_MAX_LAYERS);
    if (!in_range(cfg->heads, 1, cfg->hidden))
        return rt_error(EMB_ERR_FORMAT, "config: num_attention_heads %lld, expected 1 .. hidden_size",
                        (long long)cfg->heads);
    if (!in_range(cfg->kv_heads, 1, cfg->heads) || cfg->heads % cfg->kv_heads != 0)
        return rt_error(EMB_ERR_FORMAT,
                        "config: num_key_value_heads %lld, expected a divisor of num_attention_heads %lld",
                        (long long)cfg->kv_heads, (long long)cfg->heads);
    if (!in_range(cfg->head_dim, 1, MDL_MAX_HEAD_DIM))
        return rt_error(EMB_ERR_FORMAT, "config: head_dim %lld, expected 1 .. %lld",
                        (long long)cfg->head_dim, (long long)MDL_MAX_HEAD_DIM);
    if (!in_range(cfg->intermediate, 1, MDL_MAX_INTERMEDIATE))
        return rt_error(EMB_ERR_FORMAT, "config: intermediate_size %lld, expected 1 .. 2^20",
                        (long long)cfg->intermediate);
    if (!(cfg->norm_eps > 0.0 && cfg->norm_eps < 1.0))
        return rt_error(EMB_ERR_FORMAT, "config: layer_norm_eps / rms_norm_eps %g, expected 0 < eps < 1",
                        cfg->norm_eps);
    if (!memchr(cfg->act, '\0', sizeof cfg->act))
        return rt_error(EMB_ERR_FORMAT, "config: hidden_act is not a terminated string");
    emb_status st = check_head(cfg);
    if (st != EMB_OK)
        return st;
    if (cfg->rope_ntk != 0.0 &&
        (arch->rotary_encoder != MDL_ROTARY_GTE || !(cfg->rope_ntk > 0.0 && cfg->rope_ntk <= 1e6)))
        return rt_error(EMB_ERR_FORMAT, "config: rope_ntk_factor %g, expected 0 (none) or, for %s "
                        "(new, gte only), 0 < factor <= 1e6", cfg->rope_ntk, cfg->arch);
    if (fam == MDL_FAMILY_BERT) {
        if (cfg->hidden % cfg->heads != 0 || cfg->head_dim != cfg->hidden / cfg->heads)
            return rt_error(EMB_ERR_FORMAT,
                            "config: hidden_size %lld / num_attention_heads %lld, expected an exact "
                            "division equal to head_dim %lld", (long long)cfg->hidden,
                            (long long)cfg->heads, (long long)cfg->head_dim);
        if (cfg->kv_heads != cfg->heads)
            return rt_error(EMB_ERR_FORMAT, "config: num_key_value_heads must equal num_attention_heads for %s",
                            cfg->arch);
        if (!in_range(cfg->max_position, 1, MDL_MAX_POSITIONS))
            return rt_error(EMB_ERR_FORMAT, "config: max_position_embeddings %lld, expected 1 .. 2^20",
                            (long long)cfg->max_position);
        if (arch->type_vocab_size == 0 && cfg->type_vocab_size != 0)
            return rt_error(EMB_ERR_FORMAT, "config: type_vocab_size %lld, expected 0 (%s has no "
                            "token_type embeddings)", (long long)cfg->type_vocab_size, cfg->arch);
        if (arch->type_vocab_size != 0 &&
            !in_range(cfg->type_vocab_size, arch->rotary_encoder == MDL_ROTARY_GTE ? 0 : 1,
                      MDL_MAX_TYPE_VOCAB))
            return rt_error(EMB_ERR_FORMAT, "config: type_vocab_size %lld, expected 1 .. %lld",
                            (long long)cfg->type_vocab_size, (long long)MDL_MAX_TYPE_VOCAB);
        if (arch->rotary_encoder) {
            if (strcmp(cfg->act, arch->act) != 0) /* the gate's: one per variant */
                return rt_error(EMB_ERR_UNSUPPORTED,
                                "config: hidden_act \"%s\" not supported for %s (%s)", cfg->act,
                                cfg->arch, arch->act);
            if (cfg->head_dim % 2 != 0)
                return rt_error(EMB_ERR_FORMAT, "config: head_dim %lld is odd (RoPE needs an even "
                                "head_dim)", (long long)cfg->head_dim);
        } else if (strcmp(cfg->act, "gelu") && strcmp(cfg->act, "gelu_new") &&
            strcmp(cfg->act, "gelu_pytorch_tanh") && strcmp(cfg->act, "relu"))
            return rt_error(EMB_ERR_UNSUPPORTED,
                            "config: hidden_act \"%s\" not supported for %s (gelu, gelu_new, "
                            "gelu_pytorch_tanh, relu)", cfg->act, cfg->arch);
        if (cfg->pooling == MDL_POOL_LASTTOKEN_LOGITS)
            return rt_error(EMB_ERR_UNSUPPORTED, "config: lasttoken-logits pooling needs a decoder LM, not %s",
                            cfg->arch);
        if (arch->positions_after_pad && arch->padding_idx < 0 &&
            (!in_range(cfg->pad_token_id, 0, cfg->vocab_size - 1) ||
             cfg->max_position <= cfg->pad_token_id + 1))
            return rt_error(EMB_ERR_FORMAT,
                            "config: pad_token_id %lld, expected a token id below max_position_embeddings - 1",
                            (long long)cfg->pad_token_id);
        if (cfg->max_position <= mdl_first_position(cfg))
            return rt_error(EMB_ERR_FORMAT,
                            "config: max_position_embeddings %lld leaves no position (%s positions "
                            "start at %lld)", (long long)cfg->max_position, cfg->arch,
                            (long long)mdl_first_position(cfg));
        if (arch->modernbert) {
            emb_status mb = check_modernbert(cfg);
            if (mb != EMB_OK)
                return mb;
        }
    } else {
        if (!in_range(cfg->max_position, 1, MDL_MAX_ROPE_POSITIONS))
            return rt_error(EMB_ERR_FORMAT, "config: max_position_embeddings %lld, expected 1 .. 2^24",
                            (long long)cfg->max_position);
        if (cfg->head_dim % 2 != 0)
            return rt_error(EMB_ERR_FORMAT, "config: head_dim %lld, expected even (RoPE)",
                            (long long)cfg->head_dim);
        if (!(cfg->rope_theta > 1.0 && cfg->rope_theta < 1e12))
            return rt_error(EMB_ERR_FORMAT, "config: rope_theta %g, expected 1 < theta < 1e12",
                            cfg->rope_theta);
        emb_status rw = mdl_rope_window_check(cfg, arch);
        if (rw != EMB_OK)
            return rw;
        if (strcmp(cfg->act, "silu") && strcmp(cfg->act, "swish") &&
            strcmp(cfg->act, "gelu_pytorch_tanh") && strcmp(cfg->act, "gelu_new"))
            return rt_error(EMB_ERR_UNSUPPORTED, "config: hidden_act \"%s\" not supported for %s "
                            "(silu, gelu_pytorch_tanh, gelu_new)", cfg->act, cfg->arch);
    }
    return check_local_layers(cfg, arch);
}

size_t mdl_pooled_dim(const mdl_config *cfg)
{
    if (cfg->pooling == MDL_POOL_LASTTOKEN_LOGITS)
        return (size_t)cfg->vocab_size;
    return (size_t)(cfg->n_pool_extra + 1) * (size_t)cfg->hidden;
}

size_t mdl_output_dim(const mdl_config *cfg)
{
    if (cfg->n_dense > 0)
        return (size_t)cfg->dense[cfg->n_dense - 1].out;
    return mdl_pooled_dim(cfg);
}

int mdl_size_add(size_t *total, size_t a, size_t b)
{
    size_t p;
    return rt_mul_overflow(a, b, &p) || rt_add_overflow(*total, p, total);
}

struct mdl_scratch_pool {
    pthread_mutex_t lock;
    float *buf[MDL_SCRATCH_SLOTS]; /* idle buffers (data pointers) */
};

/* A scratch buffer is [size_t capacity in floats, padding to 64 bytes][data]. */
#define SCRATCH_HEADER (64 / sizeof(float))

static size_t scratch_cap(const float *data)
{
    size_t cap;
    memcpy(&cap, data - SCRATCH_HEADER, sizeof cap);
    return cap;
}

float *mdl_scratch_get(const mdl_model *m, size_t floats)
{
    mdl_scratch_pool *p = m->pool;
    float *buf = NULL;
    pthread_mutex_lock(&p->lock);
    size_t best = MDL_SCRATCH_SLOTS;
    for (size_t i = 0; i < MDL_SCRATCH_SLOTS; i++) /* the smallest idle buffer that fits */
        if (p->buf[i] && scratch_cap(p->buf[i]) >= floats &&
            (best == MDL_SCRATCH_SLOTS || scratch_cap(p->buf[i]) < scratch_cap(p->buf[best])))
            best = i;
    float *evict = NULL;
    if (best < MDL_SCRATCH_SLOTS) {
        buf = p->buf[best];
        p->buf[best] = NULL;
    } else {
        /* none fits: drop one idle (too small) buffer, so the pool holds
         * about one buffer per concurrent caller, not one per size seen */
        for (size_t i = 0; i < MDL_SCRATCH_SLOTS && !evict; i++)
            if (p->buf[i]) {
                evict = p->buf[i];
                p->buf[i] = NULL;
            }
    }
    pthread_mutex_unlock(&p->lock);
    if (evict)
        free(evict - SCRATCH_HEADER);
    if (buf)
        return buf;
    size_t total;
    if (rt_add_overflow(floats, SCRATCH_HEADER, &total)) {
        rt_error(EMB_ERR_NO_MEMORY, "model: scratch of %zu floats overflows", floats);
        return NULL;
    }
    float *raw = rt_alloc(total, sizeof(float));
    if (!raw)
        return NULL;
    memcpy(raw, &floats, sizeof floats);
    return raw + SCRATCH_HEADER;
}

void mdl_scratch_put(const mdl_model *m, float *buf)
{
    mdl_scratch_pool *p = m->pool;
    if (!buf)
        return;
    if (scratch_cap(buf) * sizeof(float) <= MDL_SCRATCH_KEEP) {
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < MDL_SCRATCH_SLOTS && buf; i++)
            if (!p->buf[i]) {
                p->buf[i] = buf;
                buf = NULL;
            }
        pthread_mutex_unlock(&p->lock);
    }
    if (buf) /* too big to keep, or every slot taken */
        free(buf - SCRATCH_HEADER);
}

static void scratch_pool_free(mdl_scratch_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < MDL_SCRATCH_SLOTS; i++)
        if (p->buf[i])
            free(p->buf[i] - SCRATCH_HEADER);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The family's graph into *arch, and the Dense modules into dense[n_dense]. */
/* The graph a config runs: bert.c, rotary.c, llama.c, modernbert.c (-1: unknown). */
enum { GRAPH_BERT, GRAPH_ROTARY, GRAPH_LLAMA, GRAPH_MODERNBERT };
static int graph_of(const mdl_config *cfg)
{
    const mdl_arch *a = mdl_arch_of(cfg);
    if (!a)
        return -1;
    if (a->family == MDL_FAMILY_LLAMA)
        return GRAPH_LLAMA;
    if (a->modernbert)
        return GRAPH_MODERNBERT;
    return a->rotary_encoder ? GRAPH_ROTARY : GRAPH_BERT;
}

static emb_status family_create(const mdl_config *cfg, const mdl_binder *b, void **arch,
                                mdl_linear *dense)
{
    int g = graph_of(cfg);
    emb_status st = g == GRAPH_BERT        ? mdl_bert_create(cfg, b, arch)
                    : g == GRAPH_ROTARY     ? mdl_rotary_create(cfg, b, arch)
                    : g == GRAPH_MODERNBERT ? mdl_modernbert_create(cfg, b, arch)
                                            : mdl_llama_create(cfg, b, arch);
    if (st == EMB_OK)
        st = mdl_dense_bind(cfg, b, dense);
    return st;
}

static void family_free(const mdl_config *cfg, void *arch)
{
    int g = graph_of(cfg);
    if (g == GRAPH_MODERNBERT)
        mdl_modernbert_free(arch);
    else if (g == GRAPH_BERT)
        mdl_bert_free(arch);
    else if (g == GRAPH_ROTARY)
        mdl_rotary_free(arch);
    else
        mdl_llama_free(arch);
}

emb_status mdl_linear_weights(const mdl_config *cfg, const mdl_weights *w, unsigned char *linear)
{
    emb_status st = mdl_config_check(cfg);
    if (st != EMB_OK)
        return st;
    if (!w || (w->n && !w->t))
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: weights are NULL");
    if (linear)
        memset(linear, 0, w->n);
    void *arch = NULL;
    const mdl_binder b = { w, 0, 0, linear, NULL, NULL };
    mdl_linear dense[MDL_MAX_DENSE];
    st = family_create(cfg, &b, &arch, dense);
    family_free(cfg, arch);
    return st;
}

int mdl_int8_ok(const mdl_config *cfg)
{
    return mdl_family_of(cfg) == MDL_FAMILY_BERT;
}

emb_status mdl_check_weights(const mdl_config *cfg, const mdl_weights *w)
{
    return mdl_linear_weights(cfg, w, NULL);
}

static emb_status create(const mdl_config *cfg, const mdl_weights *w, int bf16,
                         float *const *amax, mdl_model **out);

emb_status mdl_create(const mdl_config *cfg, const mdl_weights *w, mdl_model **out)
{
    return create(cfg, w, 0, NULL, out);
}

emb_status mdl_create_calibration(const mdl_config *cfg, const mdl_weights *w,
                                  float *const *amax, mdl_model **out)
{
    if (!amax) {
        if (out)
            *out = NULL;
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: calibration records are NULL");
    }
    return create(cfg, w, 0, amax, out);
}

emb_status mdl_create_compute(const mdl_config *cfg, const mdl_weights *w, mdl_compute compute,
                              mdl_model **out)
{
    if (out)
        *out = NULL;
    if (compute == MDL_COMPUTE_F32)
        return create(cfg, w, 0, NULL, out);
    if (compute != MDL_COMPUTE_BF16)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: unknown compute %d, expected 0 (f32) or 1 (bf16)",
                        (int)compute);
    if (!kern_bf16_supported())
        return rt_error(EMB_ERR_UNSUPPORTED, "model: bf16 compute needs a CPU with AVX512_BF16");
    return create(cfg, w, 1, NULL, out);
}

static emb_status create(const mdl_config *cfg, const mdl_weights *w, int bf16,
                         float *const *amax, mdl_model **out)
{
    if (!out)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: out is NULL");
    *out = NULL;
    emb_status st = mdl_check_weights(cfg, w);
    if (st != EMB_OK)
        return st;
    mdl_model *m = rt_calloc(1, sizeof *m);
    if (!m)
        return EMB_ERR_NO_MEMORY;
    m->cfg = *cfg;
    m->family = (mdl_family)mdl_family_of(cfg);
    m->pooled_dim = mdl_pooled_dim(cfg);
    m->out_dim = mdl_output_dim(cfg);
    m->pool = rt_calloc(1, sizeof *m->pool);
    m->dense = rt_calloc(MDL_MAX_DENSE, sizeof *m->dense);
    if (!m->pool || !m->dense) {
        free(m->pool);
        m->pool = NULL;
        st = EMB_ERR_NO_MEMORY;
        goto fail;
    }
    if (pthread_mutex_init(&m->pool->lock, NULL) != 0) {
        free(m->pool);
        m->pool = NULL;
        st = rt_error(EMB_ERR_INTERNAL, "model: cannot initialize a mutex");
        goto fail;
    }
    const mdl_binder b = { w, 1, bf16, NULL, amax, &m->params };
    st = family_create(cfg, &b, &m->arch, m->dense);
    if (st != EMB_OK)
        goto fail;
    *out = m;
    return EMB_OK;
fail:
    family_free(&m->cfg, m->arch);
    scratch_pool_free(m->pool);
    free(m->dense);
    free(m);
    return st;
}

void mdl_free(mdl_model *m)
{
    if (!m)
        return;
    family_free(&m->cfg, m->arch);
    scratch_pool_free(m->pool);
    free(m->dense);
    free(m);
}

uint64_t mdl_params(const mdl_model *m)
{
    return m->params;
}

size_t mdl_max_tokens(const mdl_config *cfg)
{
    return mdl_family_of(cfg) == MDL_FAMILY_BERT ? mdl_bert_max_tokens(cfg) : MDL_DECODER_MAX_TOKENS;
}

emb_status mdl_encode(const mdl_model *m, const int32_t *ids, size_t n, float *out)
{
    return mdl_encode_threads(m, ids, n, 1, out);
}

emb_status mdl_encode_threads(const mdl_model *m, const int32_t *ids, size_t n, int n_threads,
                              float *out)
{
    return mdl_encode_skip(m, ids, n, 0, n_threads, out);
}

/* The family's pooled vector of one sequence, through the Dense modules
 * (from a scratch buffer) when the model has them. */
static emb_status encode_head(const mdl_model *m, const mdl_exec *ex, const int32_t *ids,
                              size_t n, size_t skip, float *out)
{
    float *pooled = out;
    if (m->cfg.n_dense && !(pooled = mdl_scratch_get(m, m->pooled_dim)))
        return EMB_ERR_NO_MEMORY;
    int g = graph_of(&m->cfg);
    emb_status st = g == GRAPH_BERT        ? mdl_bert_encode(m, ex, ids, n, skip, pooled)
                    : g == GRAPH_ROTARY     ? mdl_rotary_encode(m, ex, ids, n, skip, pooled)
                    : g == GRAPH_MODERNBERT ? mdl_modernbert_encode(m, ex, ids, n, skip, pooled)
                                            : mdl_llama_encode(m, ex, ids, n, skip, pooled);
    if (m->cfg.n_dense) {
        if (st == EMB_OK)
            st = mdl_dense_apply(m, ex, pooled, out);
        mdl_scratch_put(m, pooled);
    }
    return st;
}

emb_status mdl_encode_skip(const mdl_model *m, const int32_t *ids, size_t n, size_t skip,
                           int n_threads, float *out)
{
    if (!m || !ids || !out)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: encode got a NULL argument");
    if (n == 0)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: encode needs at least one token");
    size_t max = mdl_max_tokens(&m->cfg);
    if (n > max)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: %zu tokens, the model takes at most %zu", n, max);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return rt_error(EMB_ERR_INVALID_ARGUMENT, "model: token id %ld at position %zu outside 0 .. %lld",
                            (long)ids[i], i, (long long)m->cfg.vocab_size - 1);
    const mdl_exec ex = { rt_threads_clamp(n_threads) };
    emb_status st = encode_head(m, &ex, ids, n, skip, out);
    if (st != EMB_OK)
        return st;
    if (m->cfg.normalize)
        mdl_l2_normalize(out, m->out_dim);
    return EMB_OK;
}

size_t mdl_exec_slots(const mdl_exec *ex, size_t units)
{
    size_t t = (size_t)ex->threads;
    return units < t ? (units ? units : 1) : t;
}
