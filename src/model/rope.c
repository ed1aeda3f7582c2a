/* RoPE frequencies of the decoders, as transformers 5's rotary embedding
 * (LlamaRotaryEmbedding with ROPE_INIT_FUNCTIONS of modeling_rope_utils)
 * computes them: the same formulas in the same precision (float32 tensors,
 * Python doubles for the scalars), so the angles agree to the last bit or
 * two. Also the sliding-window layer flags. */
#include <math.h>
#include <string.h>

#include "model/model.h"

static const char *const rope_names[MDL_ROPE_TYPES] = { "default", "linear", "dynamic", "yarn",
                                                        "llama3" };

const char *mdl_rope_name(int32_t type)
{
    return type >= 0 && type < MDL_ROPE_TYPES ? rope_names[type] : NULL;
}

int32_t mdl_rope_parse(const char *name)
{
    for (int32_t i = 0; name && i < MDL_ROPE_TYPES; i++)
        if (strcmp(rope_names[i], name) == 0)
            return i;
    return -1;
}

/* 1 / (base ** (arange(0, dim, 2).float() / dim)): base a Python float */
static void rope_default(double base, size_t dim, float *inv)
{
    for (size_t i = 0; i < dim / 2; i++)
        inv[i] = 1.0f / powf((float)base, (float)(2 * i) / (float)dim);
}

/* _compute_yarn_parameters' correction dimension (Python doubles) */
static double yarn_dim(double rotations, size_t dim, double base, double max_pos)
{
    return ((double)dim * log(max_pos / (rotations * 2 * M_PI))) / (2 * log(base));
}

static void rope_yarn(const mdl_config *c, size_t dim, float *inv)
{
    size_t half = dim / 2;
    double base = c->rope_theta, orig = (double)c->rope_original_max;
    float factor = (float)c->rope_factor;
    double low = yarn_dim(c->rope_beta_fast, dim, base, orig);
    double high = yarn_dim(c->rope_beta_slow, dim, base, orig);
    if (c->rope_truncate) {
        low = floor(low);
        high = ceil(high);
    }
    if (low < 0)
        low = 0;
    if (high > (double)(dim - 1))
        high = (double)(dim - 1);
    if (low == high)
        high += 0.001; /* linear_ramp_factor's singularity guard */
    for (size_t i = 0; i < half; i++) {
        float pos = powf((float)base, (float)(2 * i) / (float)dim);
        float extra = 1.0f / pos, inter = 1.0f / (factor * pos);
        float ramp = ((float)i - (float)low) / (float)(high - low);
        ramp = ramp < 0.0f ? 0.0f : ramp > 1.0f ? 1.0f : ramp;
        float ef = 1.0f - ramp; /* inv_freq_extrapolation_factor */
        inv[i] = inter * (1.0f - ef) + extra * ef;
    }
}

static void rope_llama3(const mdl_config *c, size_t dim, float *inv)
{
    double old = (double)c->rope_original_max;
    float factor = (float)c->rope_factor;
    float low_wl = (float)(old / c->rope_low_freq), high_wl = (float)(old / c->rope_high_freq);
    rope_default(c->rope_theta, dim, inv);
    for (size_t i = 0; i < dim / 2; i++) {
        float wl = (float)(2 * M_PI) / inv[i];
        float f = wl > low_wl ? inv[i] / factor : inv[i];
        if (!(wl < high_wl) && !(wl > low_wl)) {
            float smooth = ((float)old / wl - (float)c->rope_low_freq) /
                           (float)(c->rope_high_freq - c->rope_low_freq);
            f = (1.0f - smooth) * f / factor + smooth * f;
        }
        inv[i] = f;
    }
}

void mdl_rope_freqs(const mdl_config *c, size_t n, float *inv, float *attn_scale)
{
    size_t dim = (size_t)c->head_dim;
    *attn_scale = 1.0f;
    switch (c->rope_type) {
    case MDL_ROPE_LINEAR:
        rope_default(c->rope_theta, dim, inv);
        for (size_t i = 0; i < dim / 2; i++)
            inv[i] /= (float)c->rope_factor;
        break;
    case MDL_ROPE_DYNAMIC: {
        double ex = (double)dim / (double)(dim - 2), m = (double)c->max_position;
        if ((double)n > m) { /* the float32 tensor path of a grown seq_len */
            float f = (float)c->rope_factor;
            float r = f * (float)n / (float)m - (float)(c->rope_factor - 1);
            float base = (float)c->rope_theta * powf(r, (float)ex);
            for (size_t i = 0; i < dim / 2; i++)
                inv[i] = 1.0f / powf(base, (float)(2 * i) / (float)dim);
        } else { /* at init: seq_len = max_position, in Python doubles */
            double r = c->rope_factor * m / m - (c->rope_factor - 1);
            rope_default(c->rope_theta * pow(r, ex), dim, inv);
        }
        break;
    }
    case MDL_ROPE_YARN:
        rope_yarn(c, dim, inv);
        *attn_scale = (float)c->rope_attn_factor;
        break;
    case MDL_ROPE_LLAMA3:
        rope_llama3(c, dim, inv);
        break;
    default:
        rope_default(c->rope_theta, dim, inv);
    }
}

int mdl_window_layer(const mdl_config *cfg, size_t l)
{
    return cfg->sliding_window > 0 && l < (size_t)MDL_MAX_LAYERS &&
           (cfg->window_layers[l / 8] >> (l % 8) & 1);
}

size_t mdl_window_reach(const mdl_config *cfg)
{
    return (size_t)cfg->sliding_window / 2 + 1;
}
