/* Loading a libemb model file (layout: docs/format.md). Config, policy and
 * tokenizer are read through HDF5; weights are located through HDF5 (file
 * offset of each contiguous dataset) and then mapped from the file. Every
 * value read is treated as hostile: counts are bounded, offsets checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emb_names.h"
#include "format/format.h"
#include "format/h5io.h"
#include "kernels/kernels.h"
#include "runtime/runtime.h"

#define MAX_VOCAB (4u << 20)
#define MAX_BYTES (256u << 20)
#define MAX_STEPS 64u
#define MAX_ADDED (1u << 20)
#define MAX_TENSORS 100000u
#define MAX_TOKEN_BYTES (64u << 10) /* one vocabulary entry or added token, as convert */

/* Where one weight tensor lies in the file. */
typedef struct wloc {
    char *name;
    int ndim;
    int64_t shape[4];
    size_t count;
    haddr_t offset;
    kern_wtype dtype; /* KERN_W_F32, KERN_W_F16 or KERN_W_BF16 */
    int i8; /* int8 panels of a Linear weight; dtype is then unused */
    int64_t i8_rows, i8_cols; /* its logical shape [rows, cols] */
    int64_t i8_outliers;      /* its outlier features held in fp32 (format 1.2), or 0 */
    int i32; /* int32 (an int8 weight's outlier columns); dtype is then unused */
} wloc;

static emb_status get_i32(hid_t g, const char *where, const char *name, int required, int32_t *v)
{
    int64_t x = *v;
    RT_TRY(h5_attr_get_i64(g, where, name, required, &x));
    RT_FAIL_IF(x < INT32_MIN || x > INT32_MAX, EMB_ERR_FORMAT, "%s: attribute '%s' out of range",
               where, name);
    *v = (int32_t)x;
    return EMB_OK;
}

/* A string attribute copied into a fixed buffer (refused if it does not
 * fit); when not `required` and absent, buf is left as it is. */
static emb_status get_name_req(hid_t g, const char *where, const char *name, int required,
                               char *buf, size_t size)
{
    char *s = NULL;
    RT_TRY(h5_attr_get_str(g, where, name, required, &s, NULL));
    if (!s)
        return EMB_OK;
    size_t len = strlen(s);
    if (len >= size) {
        emb_status st = rt_error(EMB_ERR_FORMAT, "%s: %s '%.40s' is too long", where, name, s);
        free(s);
        return st;
    }
    memcpy(buf, s, len + 1);
    free(s);
    return EMB_OK;
}

static emb_status get_name(hid_t g, const char *where, const char *name, char *buf, size_t size)
{
    return get_name_req(g, where, name, 1, buf, size);
}

/* "pooling" (modes joined with '+') and the Dense modules (format 1.3;
 * "dense_count" absent = none), as write_head stores them. */
static emb_status read_head(hid_t g, const char *where, mdl_config *c)
{
    char *s = NULL;
    RT_TRY(h5_attr_get_str(g, where, "pooling", 1, &s, NULL));
    emb_status st = fmt_pooling_list_parse(s, c) != 0
                        ? rt_error(EMB_ERR_UNSUPPORTED, "%s: pooling '%.80s' is not supported",
                                   where, s)
                        : EMB_OK;
    free(s);
    RT_TRY(st);
    int64_t count = 0;
    RT_TRY(h5_attr_get_i64(g, where, "dense_count", 0, &count));
    RT_FAIL_IF(count < 0 || count > MDL_MAX_DENSE, EMB_ERR_FORMAT,
               "%s: dense_count %lld, expected 0 .. %d", where, (long long)count, MDL_MAX_DENSE);
    for (int i = 0; i < (int)count; i++) {
        mdl_dense *d = &c->dense[i];
        char key[48], act[16];
        snprintf(key, sizeof key, "dense_%d_in_features", i);
        RT_TRY(h5_attr_get_i64(g, where, key, 1, &d->in));
        snprintf(key, sizeof key, "dense_%d_out_features", i);
        RT_TRY(h5_attr_get_i64(g, where, key, 1, &d->out));
        snprintf(key, sizeof key, "dense_%d_bias", i);
        RT_TRY(get_i32(g, where, key, 1, &d->bias));
        snprintf(key, sizeof key, "dense_%d_activation", i);
        RT_TRY(get_name(g, where, key, act, sizeof act));
        unsigned a = 0;
        RT_FAIL_IF(embn_dense_act_parse(act, &a) != 0, EMB_ERR_UNSUPPORTED,
                   "%s: %s '%s' is not supported", where, key, act);
        d->act = (mdl_dense_act)a;
    }
    c->n_dense = (int32_t)count;
    return EMB_OK;
}

/* (format 1.4) RoPE scaling and the sliding window (write_rope_window);
 * absent: default RoPE, no window. Values are checked by mdl_config_check. */
static emb_status read_rope_window(hid_t g, const char *where, mdl_config *c)
{
    char type[16] = "default";
    RT_TRY(get_name_req(g, where, "rope_type", 0, type, sizeof type));
    c->rope_type = mdl_rope_parse(type);
    RT_FAIL_IF(c->rope_type < 0, EMB_ERR_UNSUPPORTED, "%s: rope_type '%s' is not supported", where,
               type);
    RT_TRY(h5_attr_get_f64(g, where, "rope_factor", c->rope_type != MDL_ROPE_DEFAULT,
                           &c->rope_factor));
    int yarn = c->rope_type == MDL_ROPE_YARN, llama3 = c->rope_type == MDL_ROPE_LLAMA3;
    RT_TRY(h5_attr_get_i64(g, where, "rope_original_max_position", yarn || llama3,
                           &c->rope_original_max));
    RT_TRY(h5_attr_get_f64(g, where, "rope_attention_factor", yarn, &c->rope_attn_factor));
    RT_TRY(h5_attr_get_f64(g, where, "rope_beta_fast", yarn, &c->rope_beta_fast));
    RT_TRY(h5_attr_get_f64(g, where, "rope_beta_slow", yarn, &c->rope_beta_slow));
    RT_TRY(get_i32(g, where, "rope_truncate", yarn, &c->rope_truncate));
    RT_TRY(h5_attr_get_f64(g, where, "rope_low_freq_factor", llama3, &c->rope_low_freq));
    RT_TRY(h5_attr_get_f64(g, where, "rope_high_freq_factor", llama3, &c->rope_high_freq));
    RT_TRY(h5_attr_get_i64(g, where, "sliding_window", 0, &c->sliding_window));
    if (c->sliding_window == 0)
        return EMB_OK;
    RT_FAIL_IF(c->layers < 1 || c->layers > MDL_MAX_LAYERS || c->sliding_window < 0,
               EMB_ERR_FORMAT, "%s: sliding_window %lld with %lld layers", where,
               (long long)c->sliding_window, (long long)c->layers);
    int32_t layers[MDL_MAX_LAYERS];
    RT_TRY(h5_attr_get_i32s(g, where, "sliding_layers", layers, (size_t)c->layers));
    for (size_t l = 0; l < (size_t)c->layers; l++) {
        RT_FAIL_IF(layers[l] != 0 && layers[l] != 1, EMB_ERR_FORMAT,
                   "%s: sliding_layers[%zu] = %d, expected 0 or 1", where, l, (int)layers[l]);
        if (layers[l])
            c->window_layers[l / 8] |= (uint8_t)(1u << (l % 8));
    }
    return EMB_OK;
}

static emb_status read_model_config(hid_t g, const char *where, fmt_model *m)
{
    mdl_config *c = &m->cfg;
    struct {
        const char *name;
        int64_t *v;
    } ints[] = {
        {"vocab_size", &c->vocab_size},
        {"hidden_size", &c->hidden},
        {"num_layers", &c->layers},
        {"num_heads", &c->heads},
        {"num_kv_heads", &c->kv_heads},
        {"head_dim", &c->head_dim},
        {"intermediate_size", &c->intermediate},
        {"max_position", &c->max_position},
        {"type_vocab_size", &c->type_vocab_size},
        {"pad_token_id", &c->pad_token_id},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        RT_TRY(h5_attr_get_i64(g, where, ints[i].name, 1, ints[i].v));
    RT_TRY(get_i32(g, where, "tie_embeddings", 1, &c->tie_embeddings));
    RT_TRY(get_i32(g, where, "normalize", 1, &c->normalize));
    RT_TRY(get_i32(g, where, "bidirectional", 0, &c->bidirectional));
    RT_TRY(h5_attr_get_f64(g, where, "norm_eps", 1, &c->norm_eps));
    RT_TRY(h5_attr_get_f64(g, where, "rope_theta", 1, &c->rope_theta));
    RT_TRY(read_rope_window(g, where, c));
    c->rope_ntk = 0.0; /* optional: only GTE files with NTK-scaled RoPE have it */
    RT_TRY(h5_attr_get_f64(g, where, "rope_ntk_factor", 0, &c->rope_ntk));
    RT_TRY(h5_attr_get_f64(g, where, "rope_local_theta", 0, &c->rope_local_theta));
    RT_TRY(h5_attr_get_f64(g, where, "query_pre_attn_scalar", 0, &c->attn_scalar));
    RT_TRY(get_name(g, where, "architecture", c->arch, sizeof c->arch));
    RT_TRY(get_name(g, where, "hidden_act", c->act, sizeof c->act));
    RT_TRY(read_head(g, where, c));
    return h5_attr_get_str(g, where, "weights_dtype", 1, &m->weights_dtype, NULL);
}

static emb_status read_policy(hid_t g, const char *where, fmt_policy *p)
{
    fmt_policy_defaults(p);
    RT_TRY(h5_attr_get_i64(g, where, "max_tokens", 1, &p->max_tokens));
    RT_TRY(get_i32(g, where, "strip", 0, &p->strip));
    RT_TRY(get_i32(g, where, "include_prompt", 0, &p->include_prompt));
    RT_TRY(get_i32(g, where, "lowercase", 0, &p->lowercase));
    RT_TRY(h5_attr_get_str(g, where, "prompt_query", 0, &p->prompt_query, NULL));
    RT_TRY(h5_attr_get_str(g, where, "prompt_passage", 0, &p->prompt_passage, NULL));
    RT_TRY(h5_attr_get_str(g, where, "prompt_default", 0, &p->prompt_default, NULL));
    RT_TRY(h5_attr_get_str(g, where, "template", 0, &p->template_, NULL));
    RT_FAIL_IF(p->max_tokens < 0 || p->max_tokens > (1 << 24), EMB_ERR_FORMAT,
               "%s: max_tokens %lld out of range", where, (long long)p->max_tokens);
    const char *const texts[] = {p->prompt_query, p->prompt_passage, p->prompt_default,
                                 p->template_};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        RT_FAIL_IF(texts[i] && !tok_utf8_valid(texts[i], strlen(texts[i])), EMB_ERR_FORMAT,
                   "%s: a prompt or the template is not valid UTF-8", where);
    return EMB_OK;
}

/* Group `name` of loc (`where`: its path, for the message), or -1 with
 * EMB_ERR_FORMAT recorded. */
static hid_t group_open(hid_t loc, const char *name, const char *where)
{
    hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
    if (g < 0)
        rt_error(EMB_ERR_FORMAT, "group %s is missing", where);
    return g;
}

/* A file's minor version is the oldest reader that computes it right
 * (fmt_minor_version): a larger one than this reader's is refused. */
static emb_status check_minor(const char *path, int64_t major, int64_t minor)
{
    if (major == FMT_VERSION_MAJOR && minor > FMT_VERSION_MINOR)
        return rt_error(EMB_ERR_VERSION,
                        "%s: model format version %lld.%lld needs a newer libemb (this libemb %s "
                        "reads up to %d.%d)", path, (long long)major, (long long)minor,
                        EMB_VERSION_STRING, FMT_VERSION_MAJOR, FMT_VERSION_MINOR);
    return EMB_OK;
}

static emb_status read_config(hid_t file, fmt_model *m)
{
    const char *where = "/config";
    hid_t g = group_open(file, "config", where);
    if (g < 0)
        return EMB_ERR_FORMAT;
    int64_t has_weights = 0;
    emb_status st;
    RT_TRY_GOTO(st, h5_attr_get_i64(g, where, "has_weights", 1, &has_weights), done);
    m->has_weights = has_weights != 0;
    if (m->has_weights)
        RT_TRY_GOTO(st, read_model_config(g, where, m), done);
    st = read_policy(g, where, &m->pol);
done:
    H5Gclose(g);
    return st;
}

static emb_status read_step(hid_t g, const char *where, size_t k, tok_step *step)
{
    char name[24], swhere[128];
    snprintf(name, sizeof name, "%03zu", k);
    snprintf(swhere, sizeof swhere, "%s/%s", where, name);
    hid_t s = group_open(g, name, swhere);
    if (s < 0)
        return EMB_ERR_FORMAT;
    char *type = NULL;
    size_t type_len = 0;
    emb_status st;
    RT_TRY_GOTO(st, h5_attr_get_str(s, swhere, "type", 1, &type, &type_len), done);
    RT_FAIL_GOTO(st, type_len >= sizeof step->type, done, EMB_ERR_FORMAT, "%s: type name too long",
                 swhere);
    memcpy(step->type, type, type_len + 1);
    RT_TRY_GOTO(st, h5_attr_get_i32s(s, swhere, "i", step->i, 8), done);
    for (int j = 0; j < 3; j++) {
        char sname[4] = {'s', (char)('0' + j), 0, 0};
        void *buf = NULL;
        size_t len = 0;
        RT_TRY_GOTO(
            st, h5_data_get(s, swhere, sname, H5T_NATIVE_UINT8, 1, MAX_BYTES, 0, &buf, &len), done);
        if (buf) { /* h5_data_get NUL-terminates byte arrays */
            step->s[j] = buf;
            step->s_len[j] = len;
        }
    }
    void *blob = NULL;
    st = h5_data_get(s, swhere, "blob", H5T_NATIVE_UINT8, 1, MAX_BYTES, 0, &blob, &step->blob_len);
    step->blob = blob;
done:
    free(type);
    H5Gclose(s);
    return st;
}

static emb_status read_steps(hid_t tok, const char *group, tok_step **out, size_t *n_out)
{
    char where[64];
    snprintf(where, sizeof where, "/tokenizer/%s", group);
    hid_t g = group_open(tok, group, where);
    if (g < 0)
        return EMB_ERR_FORMAT;
    int64_t count = 0;
    emb_status st;
    RT_TRY_GOTO(st, h5_attr_get_i64(g, where, "count", 1, &count), done);
    RT_FAIL_GOTO(st, count < 0 || count > MAX_STEPS, done, EMB_ERR_FORMAT,
                 "%s: %lld steps (limit %u)", where, (long long)count, MAX_STEPS);
    if (count > 0) {
        tok_step *steps = rt_calloc((size_t)count, sizeof *steps);
        if (!steps) {
            st = EMB_ERR_NO_MEMORY;
            goto done;
        }
        *out = steps;
        *n_out = (size_t)count;
    }
    for (size_t k = 0; k < (size_t)count; k++)
        RT_TRY_GOTO(st, read_step(g, where, k, &(*out)[k]), done);
done:
    H5Gclose(g);
    return st;
}

/* Offsets must cover the byte array in order, and no entry may be longer
 * than MAX_TOKEN_BYTES: the tokenizers' matching cost grows with the longest
 * entry, so a hostile file must not choose it. */
static emb_status check_offsets(const char *where, const uint64_t *off, size_t n_off,
                                size_t n_bytes)
{
    if (n_off == 0)
        return EMB_OK;
    if (off[0] != 0 || off[n_off - 1] != n_bytes)
        return rt_error(EMB_ERR_FORMAT, "%s: offsets do not cover the byte array", where);
    for (size_t i = 1; i < n_off; i++) {
        if (off[i] < off[i - 1])
            return rt_error(EMB_ERR_FORMAT, "%s: offsets decrease at %zu", where, i);
        if (off[i] - off[i - 1] > MAX_TOKEN_BYTES)
            return rt_error(EMB_ERR_FORMAT, "%s: entry %zu is longer than %u bytes", where, i - 1,
                            MAX_TOKEN_BYTES);
    }
    return EMB_OK;
}

/* A 1-D dataset of the tokenizer group into *dst (left NULL when absent and
 * optional). */
static emb_status get_array(hid_t g, const char *name, hid_t type, size_t elem, size_t max_n,
                            int required, void *dst, size_t *n)
{
    void *p = NULL;
    emb_status st = h5_data_get(g, "/tokenizer", name, type, elem, max_n, required, &p, n);
    memcpy(dst, &p, sizeof p);
    return st;
}

static emb_status read_vocab(hid_t g, const char *where, tok_spec *t)
{
    size_t n_bytes = 0, n_off = 0, n = 0;
    RT_TRY(
        get_array(g, "vocab_bytes", H5T_NATIVE_UINT8, 1, MAX_BYTES, 1, &t->vocab_bytes, &n_bytes));
    RT_TRY(get_array(g, "vocab_offsets", H5T_NATIVE_UINT64, 8, MAX_VOCAB + 1, 1, &t->vocab_off,
                     &n_off));
    RT_TRY(check_offsets("/tokenizer/vocab_offsets", t->vocab_off, n_off, n_bytes));
    t->n_vocab = n_off ? (uint32_t)(n_off - 1) : 0;
    RT_TRY(get_array(g, "scores", H5T_NATIVE_FLOAT, 4, MAX_VOCAB, 0, &t->scores, &n));
    RT_FAIL_IF(t->scores && n != t->n_vocab, EMB_ERR_FORMAT, "%s: %zu scores for %u tokens", where,
               n, t->n_vocab);
    RT_TRY(get_array(g, "merges", H5T_NATIVE_INT32, 4, 3 * (size_t)MAX_VOCAB, 0, &t->merges, &n));
    RT_FAIL_IF(n % 3, EMB_ERR_FORMAT, "%s: merges is not a list of triples", where);
    t->n_merges = (uint32_t)(n / 3);
    RT_TRY(get_array(g, "prefix_ids", H5T_NATIVE_INT32, 4, 64, 1, &t->prefix_ids, &t->n_prefix));
    return get_array(g, "suffix_ids", H5T_NATIVE_INT32, 4, 64, 1, &t->suffix_ids, &t->n_suffix);
}

static emb_status read_added(hid_t g, const char *where, tok_spec *t)
{
    char *bytes = NULL;
    uint64_t *off = NULL;
    int32_t *ids = NULL;
    uint8_t *flags = NULL;
    size_t n_bytes = 0, n_off = 0, n_ids = 0, n_flags = 0;
    emb_status st;
    RT_TRY_GOTO(
        st, get_array(g, "added_bytes", H5T_NATIVE_UINT8, 1, MAX_BYTES, 1, &bytes, &n_bytes), done);
    RT_TRY_GOTO(st,
                get_array(g, "added_offsets", H5T_NATIVE_UINT64, 8, MAX_ADDED + 1, 1, &off, &n_off),
                done);
    RT_TRY_GOTO(st, get_array(g, "added_ids", H5T_NATIVE_INT32, 4, MAX_ADDED, 1, &ids, &n_ids),
                done);
    RT_TRY_GOTO(st,
                get_array(g, "added_flags", H5T_NATIVE_UINT8, 1, 5 * (size_t)MAX_ADDED, 1, &flags,
                          &n_flags),
                done);
    RT_FAIL_GOTO(st, n_off != n_ids + 1 || n_flags != 5 * n_ids, done, EMB_ERR_FORMAT,
                 "%s: added token arrays disagree in length", where);
    RT_TRY_GOTO(st, check_offsets("/tokenizer/added_offsets", off, n_off, n_bytes), done);
    if (n_ids) {
        t->added = rt_calloc(n_ids, sizeof *t->added);
        if (!t->added) {
            st = EMB_ERR_NO_MEMORY;
            goto done;
        }
        t->n_added = n_ids;
    }
    for (size_t i = 0; i < n_ids; i++) {
        tok_added *a = &t->added[i];
        a->len = (size_t)(off[i + 1] - off[i]);
        a->content = rt_alloc(a->len + 1, 1);
        if (!a->content) {
            st = EMB_ERR_NO_MEMORY;
            goto done;
        }
        memcpy(a->content, bytes + off[i], a->len);
        a->content[a->len] = '\0';
        a->id = ids[i];
        a->special = flags[5 * i];
        a->lstrip = flags[5 * i + 1];
        a->rstrip = flags[5 * i + 2];
        a->single_word = flags[5 * i + 3];
        a->normalized = flags[5 * i + 4];
    }
done:
    free(bytes);
    free(off);
    free(ids);
    free(flags);
    return st;
}

static emb_status read_tokenizer_model(hid_t g, const char *where, tok_spec *t)
{
    char *model = NULL;
    RT_TRY(h5_attr_get_str(g, where, "model", 1, &model, NULL));
    unsigned kind = 0;
    emb_status st = embn_tokenizer_parse(model, &kind) == 0
                        ? EMB_OK
                        : rt_error(EMB_ERR_UNSUPPORTED,
                                   "%s: tokenizer model '%.40s' is not supported", where, model);
    t->model = (tok_model_kind)kind;
    free(model);
    return st;
}

static emb_status read_tokenizer(hid_t file, tok_spec *t)
{
    const char *where = "/tokenizer";
    hid_t g = group_open(file, "tokenizer", where);
    if (g < 0)
        return EMB_ERR_FORMAT;
    emb_status st;
    RT_TRY_GOTO(st, read_tokenizer_model(g, where, t), done);
    RT_TRY_GOTO(st, get_i32(g, where, "unk_id", 1, &t->unk_id), done);
    RT_TRY_GOTO(st, get_i32(g, where, "max_input_chars_per_word", 1, &t->max_input_chars_per_word),
                done);
    RT_TRY_GOTO(st, get_i32(g, where, "byte_fallback", 1, &t->byte_fallback), done);
    RT_TRY_GOTO(st, get_i32(g, where, "fuse_unk", 1, &t->fuse_unk), done);
    RT_TRY_GOTO(st, get_i32(g, where, "ignore_merges", 1, &t->ignore_merges), done);
    RT_TRY_GOTO(st, h5_attr_get_str(g, where, "subword_prefix", 0, &t->subword_prefix, NULL), done);
    RT_TRY_GOTO(st, h5_attr_get_str(g, where, "word_suffix", 0, &t->word_suffix, NULL), done);
    RT_TRY_GOTO(st, read_vocab(g, where, t), done);
    RT_TRY_GOTO(st, read_added(g, where, t), done);
    RT_TRY_GOTO(st, read_steps(g, "normalizers", &t->normalizers, &t->n_normalizers), done);
    st = read_steps(g, "pretokenizers", &t->pretokenizers, &t->n_pretokenizers);
done:
    H5Gclose(g);
    return st;
}

/* The dtype tag of a 16-bit dataset: f16 or bf16. */
static emb_status locate_16bit(hid_t ds, const char *where, wloc *w)
{
    char *dt = NULL;
    RT_TRY(h5_attr_get_str(ds, where, "dtype", 1, &dt, NULL));
    emb_dtype d;
    emb_status st = EMB_OK;
    if (embn_dtype_parse(dt, &d) != 0 || (d != EMB_DTYPE_F16 && d != EMB_DTYPE_BF16) ||
        fmt_dtype_wtype(d, &w->dtype) != 0)
        st = rt_error(EMB_ERR_FORMAT, "%s: 16-bit dtype '%.20s' unknown", where, dt);
    free(dt);
    return st;
}

/* int8 panels (kern_pack_i8_panels) of a [rows, cols] Linear weight: the
 * tag, the logical shape, the outlier count, and panels that hold it. */
static emb_status locate_i8(hid_t ds, const char *where, int ndim, const hsize_t *dims, wloc *w)
{
    char *dt = NULL;
    RT_TRY(h5_attr_get_str(ds, where, "dtype", 1, &dt, NULL));
    int outliers = strcmp(dt, "i8-panels-outliers") == 0;
    emb_status st = EMB_OK;
    if (!outliers && strcmp(dt, "i8-panels") != 0)
        st = rt_error(EMB_ERR_FORMAT, "%s: 8-bit dtype '%.20s' unknown", where, dt);
    else if (ndim != 2)
        st = rt_error(EMB_ERR_FORMAT, "%s: an int8 tensor must be a matrix, not rank %d", where,
                      ndim);
    free(dt);
    RT_TRY(st);
    RT_TRY(h5_attr_get_i64(ds, where, "rows", 1, &w->i8_rows));
    RT_TRY(h5_attr_get_i64(ds, where, "cols", 1, &w->i8_cols));
    if (outliers) {
        RT_TRY(h5_attr_get_i64(ds, where, "outliers", 1, &w->i8_outliers));
        RT_FAIL_IF(w->i8_outliers < 1 || w->i8_outliers > w->i8_cols ||
                       w->i8_outliers > (int64_t)KERN_I8_MAX_OUTLIERS,
                   EMB_ERR_FORMAT, "%s: %lld outlier features, expected 1 .. min(%zu, cols %lld)",
                   where, (long long)w->i8_outliers, (size_t)KERN_I8_MAX_OUTLIERS,
                   (long long)w->i8_cols);
    }
    size_t bytes = w->i8_rows > 0 && w->i8_cols > 0 && w->i8_cols <= (int64_t)KERN_I8_MAX_K
                       ? kern_i8_panels_size((size_t)w->i8_rows, (size_t)w->i8_cols)
                       : 0;
    size_t panels = bytes ? ((size_t)w->i8_rows + 31) / 32 : 0;
    RT_FAIL_IF(!bytes || dims[0] != (hsize_t)panels || dims[1] != (hsize_t)(bytes / panels),
               EMB_ERR_FORMAT,
               "%s: int8 panels [%llu, %llu] do not hold a [%lld, %lld] weight "
               "(at most %zu columns)",
               where, (unsigned long long)dims[0], (unsigned long long)dims[1],
               (long long)w->i8_rows, (long long)w->i8_cols, KERN_I8_MAX_K);
    w->i8 = 1;
    return EMB_OK;
}

/* Locate one weight dataset: contiguous, unfiltered, little-endian f32, u16
 * tagged f16/bf16, int8 panels tagged i8-panels (format 1.1) or
 * i8-panels-outliers (1.2, with the count of outlier features), or int32,
 * rank <= 4, storage exactly count * element size. */
static emb_status locate_tensor(hid_t g, const char *name, wloc *w)
{
    char where[320];
    snprintf(where, sizeof where, "/weights/%.300s", name);
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0)
        return rt_error(EMB_ERR_FORMAT, "%s: cannot open dataset", where);
    emb_status st = EMB_OK;
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
    int ndim = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    hsize_t dims[4] = { 0, 0, 0, 0 };
    RT_FAIL_GOTO(st, type < 0 || space < 0 || dcpl < 0 || ndim < 0 || ndim > 4, done,
                 EMB_ERR_FORMAT, "%s: unreadable, or rank above 4", where);
    H5Sget_simple_extent_dims(space, dims, NULL);
    RT_FAIL_GOTO(st, H5Pget_layout(dcpl) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl) != 0, done,
                 EMB_ERR_FORMAT, "%s: weights must be contiguous and uncompressed", where);
    size_t elem = H5Tget_size(type);
    H5T_class_t cls = H5Tget_class(type);
    RT_FAIL_GOTO(st, H5Tget_order(type) != H5T_ORDER_LE, done, EMB_ERR_FORMAT,
                 "%s: weights must be little-endian", where);
    if (cls == H5T_FLOAT && elem == 4)
        w->dtype = KERN_W_F32;
    else if (cls == H5T_INTEGER && elem == 2)
        RT_TRY_GOTO(st, locate_16bit(ds, where, w), done);
    else if (cls == H5T_INTEGER && elem == 1 && H5Tget_sign(type) == H5T_SGN_2)
        RT_TRY_GOTO(st, locate_i8(ds, where, ndim, dims, w), done);
    else if (cls == H5T_INTEGER && elem == 4 && H5Tget_sign(type) == H5T_SGN_2)
        w->i32 = 1; /* outlier columns: the binder checks shape and values */
    else
        RT_FAIL_GOTO(st, 1, done, EMB_ERR_FORMAT,
                     "%s: element type must be f32, f16, bf16, int8 or int32", where);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        RT_FAIL_GOTO(
            st, dims[d] > (hsize_t)INT64_MAX || rt_mul_overflow(count, (size_t)dims[d], &count),
            done, EMB_ERR_FORMAT, "%s: shape overflows", where);
        w->shape[d] = (int64_t)dims[d];
    }
    size_t bytes;
    RT_FAIL_GOTO(st,
                 rt_mul_overflow(count, elem, &bytes) || H5Dget_storage_size(ds) != (hsize_t)bytes,
                 done, EMB_ERR_FORMAT, "%s: stored size does not match its shape", where);
    w->ndim = ndim;
    w->count = count;
    if (w->i8) { /* the binder sees the weight's logical shape */
        w->shape[0] = w->i8_rows;
        w->shape[1] = w->i8_cols;
    }
    w->offset = count ? H5Dget_offset(ds) : 0;
    if (count && w->offset == HADDR_UNDEF)
        st = rt_error(EMB_ERR_FORMAT, "%s: data not allocated in the file", where);
done:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(ds);
    return st;
}

static emb_status locate_weights(hid_t file, wloc **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    hid_t g = H5Gopen2(file, "weights", H5P_DEFAULT);
    if (g < 0)
        return rt_error(EMB_ERR_FORMAT, "group /weights is missing");
    H5G_info_t info;
    emb_status st = EMB_OK;
    if (H5Gget_info(g, &info) < 0 || info.nlinks > MAX_TENSORS) {
        H5Gclose(g);
        return rt_error(EMB_ERR_FORMAT, "/weights: unreadable or more than %u tensors", MAX_TENSORS);
    }
    wloc *w = rt_calloc(info.nlinks ? (size_t)info.nlinks : 1, sizeof *w);
    if (!w) {
        H5Gclose(g);
        return EMB_ERR_NO_MEMORY;
    }
    size_t n = 0;
    for (hsize_t i = 0; i < info.nlinks; i++) {
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
        RT_FAIL_GOTO(st, len <= 0 || len > 1024, done, EMB_ERR_FORMAT,
                     "/weights: bad tensor name at %llu", (unsigned long long)i);
        char *name = rt_alloc((size_t)len + 1, 1);
        if (!name) {
            st = EMB_ERR_NO_MEMORY;
            goto done;
        }
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, (size_t)len + 1, H5P_DEFAULT);
        w[n].name = name;
        n++;
        RT_TRY_GOTO(st, locate_tensor(g, name, &w[n - 1]), done);
    }
done:
    H5Gclose(g);
    *out = w;
    *n_out = n;
    return st;
}

static void free_wlocs(wloc *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i].name);
    free(w);
}

/* Point each tensor into the mapped file (f32 and 16-bit matrices), or
 * up-convert it (16-bit vectors, misaligned tensors). */
static emb_status map_weights(const char *path, int fd, fmt_model *m, wloc *w, size_t n)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return rt_error(EMB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    m->map_len = (size_t)sb.st_size;
    if (m->map_len) {
        void *map = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
            return rt_error(EMB_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        m->map = map;
    }
    m->tensors = rt_calloc(n ? n : 1, sizeof *m->tensors);
    m->owned = rt_calloc(n ? n : 1, sizeof *m->owned);
    if (!m->tensors || !m->owned)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        size_t elem = w[i].i8 ? 1 : w[i].i32 || w[i].dtype == KERN_W_F32 ? 4 : 2;
        size_t bytes = w[i].count * elem, end;
        if (rt_add_overflow((size_t)w[i].offset, bytes, &end) || end > m->map_len)
            return rt_error(EMB_ERR_FORMAT, "%s: tensor '%s' lies beyond the end of the file",
                            path, w[i].name);
        mdl_tensor *t = &m->tensors[i];
        t->name = w[i].name;
        w[i].name = NULL; /* ownership moves to the model */
        m->n_tensors = i + 1;
        t->ndim = w[i].ndim;
        memcpy(t->shape, w[i].shape, sizeof t->shape);
        const uint8_t *src = (const uint8_t *)m->map + w[i].offset;
        if (w[i].i8) { /* a Linear weight, read in place (any alignment) */
            t->data = src;
            t->dtype = KERN_W_I8;
            t->outliers = w[i].i8_outliers;
            continue;
        }
        if (w[i].i32) { /* outlier columns: in place when aligned (always, as written) */
            t->dtype = KERN_W_I32;
            if ((uintptr_t)src % sizeof(int32_t) == 0) {
                t->data = src;
                continue;
            }
            float *buf = rt_alloc(w[i].count ? w[i].count : 1, sizeof(int32_t));
            if (!buf)
                return EMB_ERR_NO_MEMORY;
            m->owned[m->n_owned++] = buf;
            memcpy(buf, src, bytes);
            t->data = buf;
            continue;
        }
        if (w[i].dtype == KERN_W_F32 && ((uintptr_t)src % 64) == 0) {
            t->data = src;
            continue;
        }
        if (w[i].dtype != KERN_W_F32 && w[i].ndim == 2 && ((uintptr_t)src % 2) == 0) {
            /* a 16-bit matrix (Linear weight, embedding table): read in place,
             * widened by the kernels as they go */
            t->data = src;
            t->dtype = w[i].dtype;
            continue;
        }
        /* a 16-bit vector (or a misaligned tensor): an aligned f32 copy */
        size_t alloc_bytes;
        if (rt_mul_overflow(w[i].count ? w[i].count : 1, 4, &alloc_bytes))
            return rt_error(EMB_ERR_FORMAT, "%s: tensor '%s' too large", path, t->name);
        alloc_bytes = (alloc_bytes + 63) & ~(size_t)63;
        float *buf = aligned_alloc(64, alloc_bytes);
        if (!buf)
            return rt_error(EMB_ERR_NO_MEMORY, "out of memory up-converting '%s'", t->name);
        m->owned[m->n_owned++] = buf;
        kern_widen(src, w[i].dtype, w[i].count, buf); /* exact; any alignment */
        t->data = buf;
    }
    return EMB_OK;
}

emb_status fmt_load(const char *path, fmt_model *m)
{
    memset(m, 0, sizeof *m);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return rt_error(EMB_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return rt_error(EMB_ERR_IO, "%s: not a regular file", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rt_error(EMB_ERR_IO, "%s: %s", path, strerror(errno));

    emb_status st = EMB_OK;
    wloc *w = NULL;
    size_t n_w = 0;
    h5_lock();
    hid_t file = -1;
    RT_FAIL_GOTO(st, H5Fis_hdf5(path) <= 0, unlock, EMB_ERR_FORMAT,
                 "%s: not an HDF5 file (expected a model written by 'emb convert')", path);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    RT_FAIL_GOTO(st, file < 0, unlock, EMB_ERR_FORMAT,
                 "%s: HDF5 cannot open the file (truncated or corrupt?)", path);
    char *marker = NULL;
    if (h5_attr_get_str(file, path, "format", 0, &marker, NULL) != EMB_OK || !marker ||
        strcmp(marker, "libemb-model") != 0) {
        free(marker);
        st = rt_error(EMB_ERR_FORMAT, "%s: an HDF5 file, but not a libemb model (no format marker)",
                      path);
        goto unlock;
    }
    free(marker);
    int64_t major = 0, minor = 0;
    RT_TRY_GOTO(st, h5_attr_get_i64(file, path, "format_version_major", 1, &major), unlock);
    RT_TRY_GOTO(st, h5_attr_get_i64(file, path, "format_version_minor", 1, &minor), unlock);
    RT_FAIL_GOTO(st, major > FMT_VERSION_MAJOR || major < 1, unlock, EMB_ERR_VERSION,
                 "%s: model format version %lld.%lld; this libemb %s reads major version %d", path,
                 (long long)major, (long long)minor, EMB_VERSION_STRING, FMT_VERSION_MAJOR);
    RT_TRY_GOTO(st, check_minor(path, major, minor), unlock);
    m->version_major = (int32_t)major;
    m->version_minor = (int32_t)(minor > INT32_MAX ? INT32_MAX : minor < 0 ? 0 : minor);
    RT_TRY_GOTO(st, h5_attr_get_str(file, path, "source", 0, &m->source, NULL), unlock);
    RT_TRY_GOTO(st, read_config(file, m), unlock);
    RT_TRY_GOTO(st, read_tokenizer(file, &m->tok), unlock);
    if (m->has_weights)
        st = locate_weights(file, &w, &n_w);
unlock:
    if (file >= 0)
        H5Fclose(file);
    h5_unlock();
    if (st == EMB_OK && m->has_weights)
        st = map_weights(path, fd, m, w, n_w);
    free_wlocs(w, n_w);
    close(fd);
    if (st != EMB_OK)
        fmt_model_free(m);
    return st;
}

void fmt_model_free(fmt_model *m)
{
    if (!m)
        return;
    fmt_policy_free(&m->pol);
    tok_spec_free(&m->tok);
    free(m->source);
    free(m->weights_dtype);
    for (size_t i = 0; i < m->n_tensors; i++)
        free((char *)m->tensors[i].name);
    free(m->tensors);
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    if (m->map)
        munmap(m->map, m->map_len);
    memset(m, 0, sizeof *m);
}
