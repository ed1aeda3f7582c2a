/* Writing a libemb model file (layout: docs/format.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emb_names.h"
#include "format/format.h"
#include "format/h5io.h"
#include "kernels/kernels.h"
#include "runtime/runtime.h"

/* f32 -> IEEE binary16, round to nearest even (as torch's .half()). */
static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xffu) /* inf / nan */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))
        half++; /* may carry into the exponent: still correct */
    return (uint16_t)half;
}

/* Create a group whose links and attributes are kept in its object header
 * ("compact" storage, checksummed) however many there are: HDF5's dense
 * storage keeps them in fractal-heap blocks that carry no checksum, and
 * HDF5 1.10 mis-parses corrupt ones (docs/security.md). */
static hid_t group_create(hid_t loc, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0)
        return -1;
    hid_t g = -1;
    if (H5Pset_link_phase_change(gcpl, 65535, 65535) >= 0 &&
        H5Pset_attr_phase_change(gcpl, 65535, 65535) >= 0 &&
        H5Pset_obj_track_times(gcpl, 0) >= 0) /* no clock in the file: same bytes every time */
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

static emb_status put_str(hid_t loc, const char *name, const char *s)
{
    return s ? h5_attr_put_str(loc, name, s, strlen(s)) : EMB_OK;
}

/* Integer attributes, written in order. */
typedef struct int_attr {
    const char *name;
    int64_t v;
} int_attr;

static emb_status put_ints(hid_t g, const int_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        RT_TRY(h5_attr_put_i64(g, a[i].name, a[i].v));
    return EMB_OK;
}

/* The pooling modes ("pooling": names joined with '+') and (format 1.3)
 * the Dense modules: "dense_count" and per module i "dense_<i>_in_features",
 * "dense_<i>_out_features", "dense_<i>_bias", "dense_<i>_activation". */
static emb_status write_head(hid_t g, const mdl_config *cfg)
{
    char pooling[MDL_MAX_POOL_MODES * 24];
    RT_FAIL_IF(fmt_pooling_list_name(cfg, pooling, sizeof pooling) != 0,
               EMB_ERR_INVALID_ARGUMENT, "pooling: too many modes");
    RT_TRY(put_str(g, "pooling", pooling));
    if (cfg->n_dense == 0)
        return EMB_OK;
    RT_FAIL_IF(cfg->n_dense < 0 || cfg->n_dense > MDL_MAX_DENSE, EMB_ERR_INVALID_ARGUMENT,
               "%d Dense modules", (int)cfg->n_dense);
    RT_TRY(h5_attr_put_i64(g, "dense_count", cfg->n_dense));
    for (int i = 0; i < (int)cfg->n_dense; i++) {
        const mdl_dense *d = &cfg->dense[i];
        const char *act = embn_dense_act_name((unsigned)d->act);
        RT_FAIL_IF(!act, EMB_ERR_INVALID_ARGUMENT, "Dense module %d: activation %d unknown", i,
                   (int)d->act);
        char in[48], out[48], bias[48], act_key[48];
        snprintf(in, sizeof in, "dense_%d_in_features", i);
        snprintf(out, sizeof out, "dense_%d_out_features", i);
        snprintf(bias, sizeof bias, "dense_%d_bias", i);
        snprintf(act_key, sizeof act_key, "dense_%d_activation", i);
        const int_attr ints[] = { {in, d->in}, {out, d->out}, {bias, d->bias} };
        RT_TRY(put_ints(g, ints, sizeof ints / sizeof *ints));
        RT_TRY(put_str(g, act_key, act));
    }
    return EMB_OK;
}

/* (format 1.4) a decoder's RoPE scaling, when not the default, and its
 * sliding window, when it has one. */
static emb_status write_rope_window(hid_t g, const mdl_config *cfg)
{
    const char *type = mdl_rope_name(cfg->rope_type);
    RT_FAIL_IF(!type, EMB_ERR_INVALID_ARGUMENT, "rope_type %d", (int)cfg->rope_type);
    if (cfg->rope_type != MDL_ROPE_DEFAULT) {
        RT_TRY(put_str(g, "rope_type", type));
        RT_TRY(h5_attr_put_f64(g, "rope_factor", cfg->rope_factor));
    }
    if (cfg->rope_type == MDL_ROPE_YARN || cfg->rope_type == MDL_ROPE_LLAMA3)
        RT_TRY(h5_attr_put_i64(g, "rope_original_max_position", cfg->rope_original_max));
    if (cfg->rope_type == MDL_ROPE_YARN) {
        RT_TRY(h5_attr_put_f64(g, "rope_attention_factor", cfg->rope_attn_factor));
        RT_TRY(h5_attr_put_f64(g, "rope_beta_fast", cfg->rope_beta_fast));
        RT_TRY(h5_attr_put_f64(g, "rope_beta_slow", cfg->rope_beta_slow));
        RT_TRY(h5_attr_put_i64(g, "rope_truncate", cfg->rope_truncate));
    }
    if (cfg->rope_type == MDL_ROPE_LLAMA3) {
        RT_TRY(h5_attr_put_f64(g, "rope_low_freq_factor", cfg->rope_low_freq));
        RT_TRY(h5_attr_put_f64(g, "rope_high_freq_factor", cfg->rope_high_freq));
    }
    if (cfg->sliding_window <= 0)
        return EMB_OK;
    int32_t layers[MDL_MAX_LAYERS];
    size_t n = (size_t)cfg->layers;
    RT_FAIL_IF(n > (size_t)MDL_MAX_LAYERS, EMB_ERR_INVALID_ARGUMENT, "%zu layers", n);
    for (size_t l = 0; l < n; l++)
        layers[l] = mdl_window_layer(cfg, l);
    RT_TRY(h5_attr_put_i64(g, "sliding_window", cfg->sliding_window));
    return h5_attr_put_i32s(g, "sliding_layers", layers, n);
}

static emb_status write_model_config(hid_t g, const mdl_config *cfg, const char *dtype_name)
{
    const int_attr ints[] = {
        {"vocab_size", cfg->vocab_size},
        {"hidden_size", cfg->hidden},
        {"num_layers", cfg->layers},
        {"num_heads", cfg->heads},
        {"num_kv_heads", cfg->kv_heads},
        {"head_dim", cfg->head_dim},
        {"intermediate_size", cfg->intermediate},
        {"max_position", cfg->max_position},
        {"type_vocab_size", cfg->type_vocab_size},
        {"pad_token_id", cfg->pad_token_id},
        {"tie_embeddings", cfg->tie_embeddings},
        {"normalize", cfg->normalize},
        {"bidirectional", cfg->bidirectional},
    };
    RT_TRY(put_ints(g, ints, sizeof ints / sizeof *ints));
    RT_TRY(h5_attr_put_f64(g, "norm_eps", cfg->norm_eps));
    RT_TRY(h5_attr_put_f64(g, "rope_theta", cfg->rope_theta));
    RT_TRY(write_rope_window(g, cfg));
    if (cfg->rope_ntk != 0.0)
        RT_TRY(h5_attr_put_f64(g, "rope_ntk_factor", cfg->rope_ntk));
    /* gemma3_text, modernbert (1.5): the local layers' RoPE base */
    if (cfg->rope_local_theta != 0.0 || cfg->attn_scalar != 0.0) {
        RT_TRY(h5_attr_put_f64(g, "rope_local_theta", cfg->rope_local_theta));
        RT_TRY(h5_attr_put_f64(g, "query_pre_attn_scalar", cfg->attn_scalar));
    }
    RT_TRY(put_str(g, "architecture", cfg->arch));
    RT_TRY(put_str(g, "hidden_act", cfg->act));
    RT_TRY(write_head(g, cfg));
    return put_str(g, "weights_dtype", dtype_name);
}

static emb_status write_policy(hid_t g, const fmt_policy *pol)
{
    RT_TRY(h5_attr_put_i64(g, "max_tokens", pol->max_tokens));
    RT_TRY(h5_attr_put_i64(g, "strip", pol->strip));
    RT_TRY(h5_attr_put_i64(g, "include_prompt", pol->include_prompt));
    RT_TRY(h5_attr_put_i64(g, "lowercase", pol->lowercase));
    RT_TRY(put_str(g, "prompt_query", pol->prompt_query));
    RT_TRY(put_str(g, "prompt_passage", pol->prompt_passage));
    RT_TRY(put_str(g, "prompt_default", pol->prompt_default));
    return put_str(g, "template", pol->template_);
}

static emb_status write_config(hid_t file, const mdl_config *cfg, const fmt_policy *pol,
                               const char *dtype_name)
{
    hid_t g = group_create(file, "config");
    if (g < 0)
        return rt_error(EMB_ERR_IO, "cannot create group /config");
    emb_status st;
    RT_TRY_GOTO(st, h5_attr_put_i64(g, "has_weights", cfg != NULL), done);
    if (cfg)
        RT_TRY_GOTO(st, write_model_config(g, cfg, dtype_name), done);
    st = write_policy(g, pol);
done:
    H5Gclose(g);
    return st;
}

static emb_status write_step(hid_t g, const char *group, size_t k, const tok_step *step)
{
    char name[24];
    snprintf(name, sizeof name, "%03zu", k);
    hid_t s = group_create(g, name);
    if (s < 0)
        return rt_error(EMB_ERR_IO, "cannot create group /tokenizer/%s/%s", group, name);
    emb_status st;
    RT_TRY_GOTO(st, h5_attr_put_str(s, "type", step->type, strnlen(step->type, sizeof step->type)),
                done);
    RT_TRY_GOTO(st, h5_attr_put_i32s(s, "i", step->i, 8), done);
    for (int j = 0; j < 3; j++) {
        if (!step->s[j])
            continue;
        char sname[4] = {'s', (char)('0' + j), 0, 0};
        RT_TRY_GOTO(st, h5_data_put(s, sname, H5T_NATIVE_UINT8, step->s[j], step->s_len[j], 1),
                    done);
    }
    if (step->blob)
        st = h5_data_put(s, "blob", H5T_NATIVE_UINT8, step->blob, step->blob_len, 1);
done:
    H5Gclose(s);
    return st;
}

static emb_status write_steps(hid_t tok, const char *group, const tok_step *steps, size_t n)
{
    hid_t g = group_create(tok, group);
    if (g < 0)
        return rt_error(EMB_ERR_IO, "cannot create group /tokenizer/%s", group);
    emb_status st;
    RT_TRY_GOTO(st, h5_attr_put_i64(g, "count", (int64_t)n), done);
    for (size_t k = 0; k < n; k++)
        RT_TRY_GOTO(st, write_step(g, group, k, &steps[k]), done);
done:
    H5Gclose(g);
    return st;
}

static emb_status write_vocab(hid_t g, const tok_spec *t)
{
    RT_TRY(h5_data_put(g, "vocab_bytes", H5T_NATIVE_UINT8, t->vocab_bytes,
                       t->n_vocab ? (size_t)t->vocab_off[t->n_vocab] : 0, 1));
    RT_TRY(h5_data_put(g, "vocab_offsets", H5T_NATIVE_UINT64, t->vocab_off,
                       t->vocab_off ? (size_t)t->n_vocab + 1 : 0, 8));
    if (t->scores)
        RT_TRY(h5_data_put(g, "scores", H5T_NATIVE_FLOAT, t->scores, t->n_vocab, 4));
    if (t->n_merges)
        RT_TRY(h5_data_put(g, "merges", H5T_NATIVE_INT32, t->merges, (size_t)t->n_merges * 3, 4));
    RT_TRY(h5_data_put(g, "prefix_ids", H5T_NATIVE_INT32, t->prefix_ids, t->n_prefix, 4));
    return h5_data_put(g, "suffix_ids", H5T_NATIVE_INT32, t->suffix_ids, t->n_suffix, 4);
}

/* added tokens: concatenated contents + offsets, ids, 5 flag bytes each */
static emb_status write_added(hid_t g, const tok_spec *t)
{
    size_t total = 0;
    for (size_t i = 0; i < t->n_added; i++)
        total += t->added[i].len;
    char *bytes = rt_alloc(total ? total : 1, 1);
    uint64_t *off = rt_alloc(t->n_added + 1, sizeof *off);
    int32_t *ids = rt_alloc(t->n_added ? t->n_added : 1, sizeof *ids);
    uint8_t *flags = rt_alloc(t->n_added ? t->n_added : 1, 5);
    emb_status st = EMB_ERR_NO_MEMORY;
    if (!bytes || !off || !ids || !flags)
        goto done;
    size_t pos = 0;
    for (size_t i = 0; i < t->n_added; i++) {
        const tok_added *a = &t->added[i];
        off[i] = pos;
        memcpy(bytes + pos, a->content, a->len);
        pos += a->len;
        ids[i] = a->id;
        uint8_t f[5] = {a->special, a->lstrip, a->rstrip, a->single_word, a->normalized};
        memcpy(flags + 5 * i, f, 5);
    }
    off[t->n_added] = pos;
    RT_TRY_GOTO(st, h5_data_put(g, "added_bytes", H5T_NATIVE_UINT8, bytes, total, 1), done);
    RT_TRY_GOTO(st, h5_data_put(g, "added_offsets", H5T_NATIVE_UINT64, off, t->n_added + 1, 8),
                done);
    RT_TRY_GOTO(st, h5_data_put(g, "added_ids", H5T_NATIVE_INT32, ids, t->n_added, 4), done);
    st = h5_data_put(g, "added_flags", H5T_NATIVE_UINT8, flags, 5 * t->n_added, 1);
done:
    free(bytes);
    free(off);
    free(ids);
    free(flags);
    return st;
}

static emb_status write_tokenizer(hid_t file, const tok_spec *t)
{
    hid_t g = group_create(file, "tokenizer");
    if (g < 0)
        return rt_error(EMB_ERR_IO, "cannot create group /tokenizer");
    emb_status st;
    RT_TRY_GOTO(st, put_str(g, "model", fmt_tokenizer_name(t->model)), done);
    const int_attr ints[] = {
        { "unk_id", t->unk_id },
        { "max_input_chars_per_word", t->max_input_chars_per_word },
        { "byte_fallback", t->byte_fallback },
        { "fuse_unk", t->fuse_unk },
        { "ignore_merges", t->ignore_merges },
    };
    RT_TRY_GOTO(st, put_ints(g, ints, sizeof ints / sizeof *ints), done);
    RT_TRY_GOTO(st, put_str(g, "subword_prefix", t->subword_prefix), done);
    RT_TRY_GOTO(st, put_str(g, "word_suffix", t->word_suffix), done);
    RT_TRY_GOTO(st, write_vocab(g, t), done);
    RT_TRY_GOTO(st, write_added(g, t), done);
    RT_TRY_GOTO(st, write_steps(g, "normalizers", t->normalizers, t->n_normalizers), done);
    st = write_steps(g, "pretokenizers", t->pretokenizers, t->n_pretokenizers);
done:
    H5Gclose(g);
    return st;
}

/* t's count values widened to f32 (exact for f16/bf16), after checking that
 * its bytes are exactly count values of its dtype. */
static emb_status widen_tensor(const fmt_tensor_in *t, size_t count, float *out)
{
    size_t bytes;
    if (rt_mul_overflow(count, kern_wtype_size(t->dtype), &bytes) || t->nbytes != bytes)
        return rt_error(EMB_ERR_FORMAT, "tensor '%.200s': %llu bytes is not %zu values of its dtype",
                        t->name ? t->name : "?", (unsigned long long)t->nbytes, count);
    kern_widen(t->data, t->dtype, count, out);
    return EMB_OK;
}

/* The layout a (non-int8) tensor is stored in: the one asked (F32, F16,
 * BF16), else (AUTO, or INT8 for a tensor that is not a Linear weight) its
 * own. */
static kern_wtype target_dtype(const fmt_tensor_in *t, emb_dtype want)
{
    kern_wtype w;
    return want != EMB_DTYPE_INT8 && fmt_dtype_wtype(want, &w) == 0 ? w : t->dtype;
}

static emb_status write_tensor(hid_t g, hid_t dcpl, const fmt_tensor_in *t, const char *name,
                               kern_wtype out_dtype)
{
    size_t count = 1;
    hsize_t dims[8];
    for (int d = 0; d < t->ndim; d++) {
        dims[d] = (hsize_t)t->shape[d];
        if (rt_mul_overflow(count, (size_t)t->shape[d], &count))
            return rt_error(EMB_ERR_FORMAT, "tensor '%s': size overflows", t->name);
    }
    float *f32 = rt_alloc(count ? count : 1, sizeof *f32);
    uint16_t *u16 = out_dtype == KERN_W_F32 ? NULL : rt_alloc(count ? count : 1, 2);
    if (!f32 || (out_dtype != KERN_W_F32 && !u16)) {
        free(f32);
        free(u16);
        return EMB_ERR_NO_MEMORY;
    }
    emb_status st = EMB_OK;
    const void *data = f32;
    if (out_dtype != KERN_W_F32 && t->dtype == out_dtype) {
        memcpy(u16, t->data, count * 2); /* keep the checkpoint's bits */
        data = u16;
    } else {
        st = widen_tensor(t, count, f32);
        if (st == EMB_OK && out_dtype != KERN_W_F32) {
            for (size_t i = 0; i < count; i++)
                u16[i] = out_dtype == KERN_W_F16 ? f32_to_f16(f32[i]) : kern_f32_to_bf16(f32[i]);
            data = u16;
        }
    }
    hid_t file_type = out_dtype == KERN_W_F32 ? H5T_IEEE_F32LE : H5T_STD_U16LE;
    hid_t mem_type = out_dtype == KERN_W_F32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT16;
    hid_t space = -1, ds = -1;
    if (st != EMB_OK)
        goto done;
    space = t->ndim ? H5Screate_simple(t->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    ds = space < 0 ? -1 : H5Dcreate2(g, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    RT_FAIL_GOTO(
        st, ds < 0 || (count && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0),
        done, EMB_ERR_IO, "cannot write tensor '%s'", name);
    const char *dn = fmt_wtype_name(out_dtype);
    st = h5_attr_put_str(ds, "dtype", dn, strlen(dn));
done:
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    free(f32);
    free(u16);
    return st;
}

/* The k input features with the largest calibration maxima amax[cols]
 * (ties to the lower column; amax NULL: the first k), in increasing column
 * order: outliers[k]. O(k·cols), k <= KERN_I8_MAX_OUTLIERS. */
static emb_status pick_outliers(size_t cols, const float *amax, size_t k, int32_t *outliers)
{
    unsigned char *taken = rt_calloc(cols, 1);
    if (!taken)
        return EMB_ERR_NO_MEMORY;
    for (size_t t = 0; t < k; t++) {
        size_t best = cols;
        for (size_t c = 0; c < cols; c++)
            if (!taken[c] && (best == cols || (amax && amax[c] > amax[best])))
                best = c;
        taken[best] = 1;
    }
    for (size_t c = 0, t = 0; c < cols; c++)
        if (taken[c])
            outliers[t++] = (int32_t)c;
    free(taken);
    return EMB_OK;
}

/* "<name><suffix>" into buf, refused when it does not fit or the file has
 * a tensor of that name already (the checkpoint's own). */
static emb_status side_name(hid_t g, const char *name, const char *suffix, char *buf, size_t cap)
{
    if ((size_t)snprintf(buf, cap, "%s%s", name, suffix) >= cap)
        return rt_error(EMB_ERR_FORMAT, "tensor name '%.100s...' is too long", name);
    if (H5Lexists(g, buf, H5P_DEFAULT) > 0)
        return rt_error(EMB_ERR_FORMAT, "tensor '%s' appears twice (the int8 side data of %s)",
                        buf, name);
    return EMB_OK;
}

/* A Linear weight's K outlier features: their columns "<name>_outlier_cols"
 * (int32 [K]) and weight columns "<name>_outlier_weight" (f32 [K, rows],
 * row t = w[:, cols[t]]). */
static emb_status write_outliers(hid_t g, hid_t dcpl, const char *name, const int32_t *cols,
                                 size_t k, const float *wo, size_t rows)
{
    char cname[512], wname[512];
    RT_TRY(side_name(g, name, "_outlier_cols", cname, sizeof cname));
    RT_TRY(side_name(g, name, "_outlier_weight", wname, sizeof wname));
    emb_status st = EMB_OK;
    hsize_t dim = (hsize_t)k;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t ds = space < 0 ? -1
                         : H5Dcreate2(g, cname, H5T_STD_I32LE, space, H5P_DEFAULT, dcpl,
                                      H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, cols) < 0)
        st = rt_error(EMB_ERR_IO, "cannot write tensor '%s'", cname);
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    if (st != EMB_OK)
        return st;
    fmt_tensor_in ow = { .name = wname, .is_weight = 1, .dtype = KERN_W_F32, .ndim = 2,
                         .data = (const uint8_t *)wo, .nbytes = k * rows * sizeof *wo };
    ow.shape[0] = (int64_t)k;
    ow.shape[1] = (int64_t)rows;
    return write_tensor(g, dcpl, &ow, wname, KERN_W_F32);
}

/* A Linear weight [rows, cols] as int8 (kern_quant_i8_row per row) in the
 * VNNI panel layout kern_linear_i8p reads (kern_pack_i8_panels: a 2-D
 * dataset [ceil(rows/32), ceil(cols/4)·128], the logical shape in "rows"
 * and "cols"), and its scales as the f32 vector "<name>_scale". With
 * outliers > 0 (format 1.2, dtype "i8-panels-outliers", attribute
 * "outliers" = K): the K = min(outliers, cols) columns whose input
 * features reached the largest |x| in calibration (amax, NULL: none seen)
 * are kept in f32 beside it (write_outliers) and zeroed before the rows are
 * quantized, so that no row's scale is set by them; else (format 1.1)
 * dtype "i8-panels". A NaN or an infinity anywhere in the weight is
 * refused. */
static emb_status write_tensor_i8(hid_t g, hid_t dcpl, const fmt_tensor_in *t, const char *name,
                                  const float *amax, size_t outliers)
{
    size_t rows = (size_t)t->shape[0], cols = (size_t)t->shape[1], count;
    char scale_name[512];
    if (t->ndim != 2 || rt_mul_overflow(rows, cols, &count))
        return rt_error(EMB_ERR_FORMAT, "tensor '%s': not a [rows, cols] matrix", t->name);
    RT_TRY(side_name(g, name, "_scale", scale_name, sizeof scale_name));
    size_t packed_bytes = kern_i8_panels_size(rows, cols);
    if (packed_bytes == 0)
        return rt_error(EMB_ERR_FORMAT, "tensor '%s': empty or too large for int8", t->name);
    size_t k = outliers < cols ? outliers : cols; /* <= KERN_I8_MAX_OUTLIERS (fmt_write) */
    float *f32 = rt_alloc(count, sizeof *f32);
    int8_t *q = rt_alloc(count, 1);
    uint8_t *packed = rt_alloc(packed_bytes, 1);
    float *scale = rt_alloc(rows, sizeof *scale);
    int32_t *ocols = rt_alloc(k ? k : 1, sizeof *ocols);
    float *wo = rt_alloc(k ? k * rows : 1, sizeof *wo);
    emb_status st = EMB_ERR_NO_MEMORY;
    hid_t space = -1, ds = -1;
    if (!f32 || !q || !packed || !scale || !ocols || !wo)
        goto done;
    RT_TRY_GOTO(st, widen_tensor(t, count, f32), done);
    if (k)
        RT_TRY_GOTO(st, pick_outliers(cols, amax, k, ocols), done);
    for (size_t r = 0; r < rows; r++) {
        float *wr = f32 + r * cols;
        int finite = 1;
        for (size_t i = 0; i < k; i++) { /* out of the row before its scale is taken */
            float v = wr[ocols[i]];
            finite &= isfinite(v) != 0;
            wo[i * rows + r] = v;
            wr[ocols[i]] = 0.0f;
        }
        RT_FAIL_GOTO(st, !finite || kern_quant_i8_row(cols, wr, q + r * cols, &scale[r]) != 0, done,
                     EMB_ERR_FORMAT,
                     "tensor '%s' row %zu holds a NaN or an infinity: cannot quantize to int8",
                     t->name, r);
    }
    kern_pack_i8_panels(rows, cols, q, cols, packed);
    size_t panels = (rows + 31) / 32;
    hsize_t dims[2] = { (hsize_t)panels, (hsize_t)(packed_bytes / panels) };
    space = H5Screate_simple(2, dims, NULL);
    ds = space < 0 ? -1 : H5Dcreate2(g, name, H5T_STD_I8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    /* the packed bytes as stored (int8 in memory and in the file: no conversion) */
    RT_FAIL_GOTO(st,
                 ds < 0 || H5Dwrite(ds, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed) < 0,
                 done, EMB_ERR_IO, "cannot write tensor '%s'", name);
    const char *dtype = k ? "i8-panels-outliers" : "i8-panels";
    RT_TRY_GOTO(st, h5_attr_put_str(ds, "dtype", dtype, strlen(dtype)), done);
    RT_TRY_GOTO(st, h5_attr_put_i64(ds, "rows", (int64_t)rows), done);
    RT_TRY_GOTO(st, h5_attr_put_i64(ds, "cols", (int64_t)cols), done);
    if (k)
        RT_TRY_GOTO(st, h5_attr_put_i64(ds, "outliers", (int64_t)k), done);
    fmt_tensor_in s = {.name = scale_name,
                       .is_weight = 1,
                       .dtype = KERN_W_F32,
                       .ndim = 1,
                       .data = (const uint8_t *)scale,
                       .nbytes = rows * sizeof *scale};
    s.shape[0] = (int64_t)rows;
    RT_TRY_GOTO(st, write_tensor(g, dcpl, &s, scale_name, KERN_W_F32), done);
    if (k)
        st = write_outliers(g, dcpl, name, ocols, k, wo, rows);
done:
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    free(f32);
    free(q);
    free(packed);
    free(scale);
    free(ocols);
    free(wo);
    return st;
}

static emb_status write_weights(hid_t file, const fmt_write_input *in)
{
    const fmt_tensor_in *w = in->weights;
    emb_dtype want = in->dtype;
    const unsigned char *linear = in->linear;
    hid_t g = group_create(file, "weights");
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    emb_status st = EMB_OK;
    RT_FAIL_GOTO(st, g < 0 || dcpl < 0 || H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
                         H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
                         H5Pset_obj_track_times(dcpl, 0) < 0,
                 done, EMB_ERR_IO, "cannot create group /weights");
    for (size_t i = 0; i < in->n_weights; i++) {
        const fmt_tensor_in *t = &w[i];
        if (!t->is_weight)
            continue; /* integer buffers such as position_ids are not weights */
        const char *name = fmt_strip_prefix(t->name);
        RT_FAIL_GOTO(st, strchr(name, '/'), done, EMB_ERR_FORMAT, "tensor name '%s' contains '/'",
                     t->name);
        RT_FAIL_GOTO(st, H5Lexists(g, name, H5P_DEFAULT) > 0, done, EMB_ERR_FORMAT,
                     "tensor '%s' appears twice (after removing the prefix)", name);
        if (want == EMB_DTYPE_INT8 && linear && linear[i])
            RT_TRY_GOTO(st, write_tensor_i8(g, dcpl, t, name, in->amax ? in->amax[i] : NULL,
                                            in->outliers),
                        done);
        else
            RT_TRY_GOTO(st, write_tensor(g, dcpl, t, name, target_dtype(t, want)), done);
    }
done:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (g >= 0)
        H5Gclose(g);
    return st;
}

/* The dtype name recorded in /config: the one all stored tensors share. */
static const char *dtype_label(const fmt_tensor_in *w, size_t n, emb_dtype want)
{
    if (embn_dtype_name(want))
        return embn_dtype_name(want);
    int seen[3] = { 0, 0, 0 }; /* KERN_W_F32, KERN_W_F16, KERN_W_BF16 */
    for (size_t i = 0; w && i < n; i++)
        if (w[i].is_weight && w[i].dtype <= KERN_W_BF16)
            seen[w[i].dtype] = 1;
    if (seen[0] + seen[1] + seen[2] > 1)
        return "mixed";
    return fmt_wtype_name(seen[1] ? KERN_W_F16 : seen[2] ? KERN_W_BF16 : KERN_W_F32);
}

/* The file's attributes and groups, in order. */
static emb_status write_file(hid_t file, const fmt_write_input *in, int int8)
{
    mdl_config reach; /* without what no input can reach (fmt_reachable_config) */
    const mdl_config *cfg = in->cfg;
    if (cfg) {
        fmt_reachable_config(cfg, in->pol, &reach);
        cfg = &reach;
    }
    RT_TRY(put_str(file, "format", "libemb-model"));
    RT_TRY(h5_attr_put_i64(file, "format_version_major", FMT_VERSION_MAJOR));
    RT_TRY(h5_attr_put_i64(file, "format_version_minor",
                           fmt_minor_version(cfg, in->pol, int8, in->outliers > 0)));
    RT_TRY(put_str(file, "libemb_version", EMB_VERSION_STRING));
    RT_TRY(put_str(file, "source", in->source));
    RT_TRY(write_config(file, cfg, in->pol, dtype_label(in->weights, in->n_weights, in->dtype)));
    RT_TRY(write_tokenizer(file, in->tok));
    if (in->cfg && in->weights)
        RT_TRY(write_weights(file, in));
    return EMB_OK;
}

emb_status fmt_write(const char *path, const fmt_write_input *in)
{
    if (in->outliers > KERN_I8_MAX_OUTLIERS)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "%zu int8 outlier features, at most %d",
                        in->outliers, KERN_I8_MAX_OUTLIERS);
    int int8 = in->dtype == EMB_DTYPE_INT8 && in->weights && in->cfg;
    h5_lock();
    emb_status st = EMB_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    /* every object of the file starts on a 64-byte boundary, so mapped
     * weights are aligned for AVX-512 loads */
    /* ... and HDF5 1.8+ structures (superblock v2, object header v2, new-style
     * groups), which carry checksums of all file metadata: a corrupted or
     * truncated file is refused by HDF5 before it parses the damaged bytes
     * (docs/security.md) */
    /* ... and no modification times in object headers: the same input gives
     * the same file bytes */
    RT_FAIL_GOTO(st,
                 fapl < 0 || fcpl < 0 || H5Pset_alignment(fapl, 1, 64) < 0 ||
                     H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0 ||
                     H5Pset_obj_track_times(fcpl, 0) < 0,
                 done, EMB_ERR_IO, "%s: cannot set up HDF5 file access", path);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    RT_FAIL_GOTO(st, file < 0, done, EMB_ERR_IO, "%s: cannot create file", path);
    st = write_file(file, in, int8);
    if (H5Fclose(file) < 0 && st == EMB_OK)
        st = rt_error(EMB_ERR_IO, "%s: cannot finish writing the file", path);
done:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    h5_unlock();
    return st;
}
