/* Decoders with RoPE scaling and sliding-window attention (model/rope.c,
 * the window of kern_attention_rows_window) against the transformers
 * goldens of five fixtures: llama-rope-linear (transformers 4 spelling
 * rope_scaling/type), llama-rope-llama3, mistral-window-dynamic (window 8 on
 * every layer, dynamic NTK past max_position 32), qwen2-window-yarn (window on
 * the layers from max_window_layers, YaRN's ramp and attention factor),
 * qwen3-layer-types (window on the layers layer_types names). Also: each
 * feature changes the vectors (a graph that ignores it cannot pass), the
 * window kernel, and the model file's 1.4 attributes round trip. */
#include <hdf5.h>

#include "model_golden.h"

#include "format/format.h"
#include "kernels/kernels.h"

static const char *const fixtures[] = { "llama-rope-linear", "llama-rope-llama3",
                                        "mistral-window-dynamic", "qwen2-window-yarn",
                                        "qwen3-layer-types" };
#define N_FIXTURES (sizeof fixtures / sizeof *fixtures)

/* What the converter read from each fixture's config.json. */
static void test_configs(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "llama-rope-linear", -1, -1);
    assert_int_equal(g.cfg.rope_type, MDL_ROPE_LINEAR);
    assert_true(g.cfg.rope_factor == 2.0);
    assert_int_equal(g.cfg.sliding_window, 0);
    mg_free(&g);

    mg_load(&g, "llama-rope-llama3", -1, -1);
    assert_int_equal(g.cfg.rope_type, MDL_ROPE_LLAMA3);
    assert_true(g.cfg.rope_factor == 8.0 && g.cfg.rope_low_freq == 1.0 &&
                g.cfg.rope_high_freq == 4.0);
    assert_int_equal(g.cfg.rope_original_max, 64);
    mg_free(&g);

    mg_load(&g, "mistral-window-dynamic", -1, -1);
    assert_int_equal(g.cfg.rope_type, MDL_ROPE_DYNAMIC);
    assert_int_equal(g.cfg.sliding_window, 8);
    assert_true(mdl_window_layer(&g.cfg, 0) && mdl_window_layer(&g.cfg, 1));
    assert_int_equal(g.pol.max_tokens, 128); /* max_seq_length, past max_position 32 */
    mg_free(&g);

    mg_load(&g, "qwen2-window-yarn", -1, -1);
    assert_int_equal(g.cfg.rope_type, MDL_ROPE_YARN);
    assert_true(g.cfg.rope_theta == 100.0 && g.cfg.rope_factor == 4.0);
    assert_int_equal(g.cfg.rope_original_max, 32);
    assert_true(fabs(g.cfg.rope_attn_factor - (0.1 * log(4.0) + 1.0)) < 1e-15);
    assert_true(g.cfg.rope_beta_fast == 32 && g.cfg.rope_beta_slow == 1 && g.cfg.rope_truncate);
    assert_int_equal(g.cfg.sliding_window, 8);
    assert_true(!mdl_window_layer(&g.cfg, 0) && mdl_window_layer(&g.cfg, 1));
    mg_free(&g);

    mg_load(&g, "qwen3-layer-types", -1, -1);
    assert_int_equal(g.cfg.rope_type, MDL_ROPE_DEFAULT);
    assert_true(g.cfg.rope_theta == 1e6);
    assert_int_equal(g.cfg.sliding_window, 6);
    assert_true(mdl_window_layer(&g.cfg, 0) && !mdl_window_layer(&g.cfg, 1));
    mg_free(&g);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* The longest golden case of `name` encoded with cfg changed by `edit`
 * differs from its golden vector by more than 1e-3: the feature matters. */
static void check_matters(const char *name, void (*edit)(mdl_config *), const char *what)
{
    mg_model g;
    mg_load(&g, name, -1, -1);
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/models/%s/golden/cases.jsonl", name);
    json_t *cases = tu_read_jsonl(path);
    json_t *last = json_array_get(cases, json_array_size(cases) - 1);
    json_t *jids = json_object_get(last, "ids");
    size_t n = json_array_size(jids);
    int32_t *ids = malloc(n * sizeof *ids);
    float *want = malloc(g.dim * sizeof *want), *got = malloc(g.dim * sizeof *got);
    tu_json_ints(jids, ids, n);
    assert_int_equal(tu_json_floats(json_object_get(last, "vector"), want, g.dim), g.dim);
    mdl_config c = g.cfg;
    edit(&c);
    mdl_model *m = NULL;
    assert_int_equal(mdl_create(&c, &g.w, &m), EMB_OK);
    assert_int_equal(mdl_encode(m, ids, n, got), EMB_OK);
    double d = max_abs_diff(got, want, g.dim);
    print_message("%s without %s: max-abs diff %.3g on %zu tokens\n", name, what, d, n);
    assert_true(d > 1e-3);
    mdl_free(m);
    free(ids), free(want), free(got);
    json_decref(cases);
    mg_free(&g);
}

static void no_window(mdl_config *c)
{
    c->sliding_window = 0;
}

static void no_scaling(mdl_config *c)
{
    c->rope_type = MDL_ROPE_DEFAULT;
}

static void window_all_layers(mdl_config *c)
{
    memset(c->window_layers, 0xff, sizeof c->window_layers);
}

static void yarn_no_attention_factor(mdl_config *c)
{
    c->rope_attn_factor = 1.0;
}

static void test_each_feature_matters(void **state)
{
    (void)state;
    check_matters("mistral-window-dynamic", no_window, "the window");
    check_matters("mistral-window-dynamic", no_scaling, "dynamic RoPE");
    check_matters("qwen2-window-yarn", no_window, "the window");
    check_matters("qwen2-window-yarn", window_all_layers, "max_window_layers");
    check_matters("qwen2-window-yarn", no_scaling, "YaRN");
    check_matters("qwen2-window-yarn", yarn_no_attention_factor, "YaRN's attention factor");
    check_matters("qwen3-layer-types", no_window, "the window");
    check_matters("qwen3-layer-types", window_all_layers, "layer_types");
    check_matters("llama-rope-linear", no_scaling, "linear RoPE");
    check_matters("llama-rope-llama3", no_scaling, "llama3 RoPE");
}

/* Dynamic NTK: up to max_position_embeddings the frequencies are the
 * unscaled ones; past it they grow with the text's length. */
static void test_dynamic_frequencies(void **state)
{
    (void)state;
    mdl_config c;
    memset(&c, 0, sizeof c);
    c.head_dim = 8;
    c.max_position = 32;
    c.rope_theta = 10000.0;
    c.rope_factor = 2.0;
    float base[4], at[4], past[4], longer[4], s;
    c.rope_type = MDL_ROPE_DEFAULT;
    mdl_rope_freqs(&c, 100, base, &s);
    assert_true(s == 1.0f);
    c.rope_type = MDL_ROPE_DYNAMIC;
    mdl_rope_freqs(&c, 32, at, &s);
    assert_memory_equal(at, base, sizeof base);
    mdl_rope_freqs(&c, 33, past, &s);
    mdl_rope_freqs(&c, 64, longer, &s);
    assert_true(past[0] == base[0]); /* exponent 0 */
    for (int i = 1; i < 4; i++)
        assert_true(longer[i] < past[i] && past[i] < base[i]);
}

/* Window 1: each row sees only itself, so the output is its value row; a
 * window as long as the text is the plain causal mask, bitwise; the
 * blocked kernel agrees with the reference one. */
static void test_window_kernel(void **state)
{
    (void)state;
    size_t n = 150, hd = 8; /* several KERN_ATTN_ROWS blocks */
    float *q = malloc(n * hd * sizeof *q), *k = malloc(n * hd * sizeof *k);
    float *v = malloc(n * hd * sizeof *v), *o1 = malloc(n * hd * sizeof *o1);
    float *o2 = malloc(n * hd * sizeof *o2), *ref = malloc(n * n * sizeof *ref);
    float *scratch = malloc(kern_attention_scratch(n, hd) * sizeof *scratch);
    for (size_t i = 0; i < n * hd; i++) {
        q[i] = (float)sin((double)i * 0.37);
        k[i] = (float)cos((double)i * 0.11);
        v[i] = (float)sin((double)i * 0.05 + 1.0);
    }
    float scale = 1.0f / sqrtf((float)hd);
    kern_attention_pack(n, hd, k, hd, v, hd, scratch);
    kern_attention_rows_window(n, 0, n, hd, q, hd, o1, hd, scale, 1, 1, scratch);
    assert_memory_equal(o1, v, n * hd * sizeof *v);
    kern_attention_rows_window(n, 0, n, hd, q, hd, o1, hd, scale, 1, n, scratch);
    kern_attention_rows(n, 0, n, hd, q, hd, o2, hd, scale, 1, scratch);
    assert_memory_equal(o1, o2, n * hd * sizeof *o1);
    kern_attention_rows_window(n, 0, n, hd, q, hd, o1, hd, scale, 1, 8, scratch);
    kern_attention_head_window_ref(n, hd, q, hd, k, hd, v, hd, o2, hd, scale, 1, 8, ref);
    tu_assert_close(o1, o2, n * hd, 1e-5, "window 8 vs reference");
    /* row 20 with window 8 equals row 7 of the text starting at 13 */
    kern_attention_pack(8, hd, k + 13 * hd, hd, v + 13 * hd, hd, scratch);
    kern_attention_rows(8, 7, 1, hd, q + 13 * hd, hd, o2, hd, scale, 1, scratch);
    tu_assert_close(o1 + 20 * hd, o2 + 7 * hd, hd, 1e-6, "window 8 row 20");
    free(q), free(k), free(v), free(o1), free(o2), free(ref), free(scratch);
}

static int64_t file_minor(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t a = H5Aopen(f, "format_version_minor", H5P_DEFAULT);
    int64_t v = -1;
    assert_true(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

/* emb convert writes the 1.4 attributes (minor 4 only for files that need
 * it) and the reader gives back the same config. */
static void test_file_round_trip(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    for (size_t i = 0; i < N_FIXTURES; i++) {
        mg_model g;
        mg_load(&g, fixtures[i], -1, -1);
        char dir[512];
        snprintf(dir, sizeof dir, "tests/fixtures/models/%s", fixtures[i]);
        char *path = tu_convert(dir, tmp, fixtures[i], NULL);
        assert_int_equal(file_minor(path), 4);
        fmt_model fm;
        assert_int_equal(fmt_load(path, &fm), EMB_OK);
        const mdl_config *a = &g.cfg, *b = &fm.cfg;
        assert_int_equal(a->rope_type, b->rope_type);
        assert_true(a->rope_factor == b->rope_factor && a->rope_theta == b->rope_theta);
        assert_int_equal(a->rope_original_max, b->rope_original_max);
        assert_true(a->rope_attn_factor == b->rope_attn_factor &&
                    a->rope_beta_fast == b->rope_beta_fast && a->rope_beta_slow == b->rope_beta_slow);
        assert_int_equal(a->rope_truncate, b->rope_truncate);
        assert_true(a->rope_low_freq == b->rope_low_freq && a->rope_high_freq == b->rope_high_freq);
        assert_int_equal(a->sliding_window, b->sliding_window);
        assert_memory_equal(a->window_layers, b->window_layers, sizeof a->window_layers);
        assert_int_equal(fm.pol.max_tokens, g.pol.max_tokens);
        fmt_model_free(&fm);
        free(path);
        mg_free(&g);
    }
    /* without either feature the file stays at the minor it had */
    char *path = tu_convert("tests/fixtures/models/qwen2-gte", tmp, "plain", NULL);
    assert_int_equal(file_minor(path), 0);
    free(path);
    /* nor with a window or dynamic RoPE that no input can reach: mistral-e5's
     * window 4096 with max_seq_length 128; max_seq_length 8 with window 8 and
     * dynamic RoPE up to 32 positions */
    path = tu_convert("tests/fixtures/models/mistral-e5", tmp, "e5", NULL);
    assert_int_equal(file_minor(path), 0);
    free(path);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/short-src", tmp);
    assert_int_equal(tu_run(NULL, "cp -r tests/fixtures/models/mistral-window-dynamic '%s'", dir), 0);
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 8}");
    path = tu_convert(dir, tmp, "short", NULL);
    assert_int_equal(file_minor(path), 0);
    fmt_model fm;
    assert_int_equal(fmt_load(path, &fm), EMB_OK);
    assert_int_equal(fm.cfg.sliding_window, 0);
    assert_int_equal(fm.cfg.rope_type, MDL_ROPE_DEFAULT);
    assert_int_equal(fm.pol.max_tokens, 8);
    fmt_model_free(&fm);
    free(path);
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 9}");
    path = tu_convert(dir, tmp, "nine", NULL); /* 9 tokens reach the window */
    assert_int_equal(file_minor(path), 4);
    assert_int_equal(fmt_load(path, &fm), EMB_OK);
    assert_int_equal(fm.cfg.sliding_window, 8);
    assert_int_equal(fm.cfg.rope_type, MDL_ROPE_DEFAULT);
    fmt_model_free(&fm);
    free(path);
    tu_rmtree(tmp);
    free(tmp);
}

/* Through the API on the converted files: all texts of a fixture in one
 * emb_encode call are within 1e-4 of the single-text goldens and bitwise
 * the vectors of one call per text (dynamic RoPE from each text's own
 * length, not the batch's). */
static void test_api_batch(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    for (size_t f = 0; f < N_FIXTURES; f++) {
        char dir[256], path[512];
        snprintf(dir, sizeof dir, "tests/fixtures/models/%s", fixtures[f]);
        snprintf(path, sizeof path, "%s/golden/cases.jsonl", dir);
        char *file = tu_convert(dir, tmp, fixtures[f], NULL);
        emb_model *m = NULL;
        assert_int_equal(emb_model_open(file, NULL, &m), EMB_OK);
        size_t dim = emb_model_dim(m);
        static const char *const rope_meta[N_FIXTURES] = { "linear factor 2", "llama3 factor 8",
                                                           "dynamic factor 2", "yarn factor 4",
                                                           NULL };
        static const char *const window_meta[N_FIXTURES] = { NULL, NULL, "8 on 2 of 2 layers",
                                                             "8 on 1 of 2 layers",
                                                             "6 on 1 of 2 layers" };
        const char *rm = emb_model_meta(m, "rope_scaling"), *wm = emb_model_meta(m, "sliding_window");
        assert_true(rope_meta[f] ? rm && !strcmp(rm, rope_meta[f]) : !rm);
        assert_true(window_meta[f] ? wm && !strcmp(wm, window_meta[f]) : !wm);
        json_t *cases = tu_read_jsonl(path);
        size_t nc = json_array_size(cases);
        emb_text *texts = calloc(nc, sizeof *texts);
        float *batch = malloc(nc * dim * sizeof *batch), *one = malloc(dim * sizeof *one);
        float *want = malloc(dim * sizeof *want);
        for (size_t c = 0; c < nc; c++) {
            json_t *t = json_object_get(json_array_get(cases, c), "text");
            texts[c].data = json_string_value(t);
            texts[c].len = json_string_length(t);
        }
        assert_int_equal(emb_encode(m, texts, nc, NULL, batch), EMB_OK);
        for (size_t c = 0; c < nc; c++) {
            assert_int_equal(emb_encode(m, &texts[c], 1, NULL, one), EMB_OK);
            assert_memory_equal(one, batch + c * dim, dim * sizeof *one);
            assert_int_equal(tu_json_floats(json_object_get(json_array_get(cases, c), "vector"),
                                            want, dim), dim);
            char label[256];
            snprintf(label, sizeof label, "%s batch case %zu", fixtures[f], c);
            tu_assert_close(batch + c * dim, want, dim, 1e-4, label);
        }
        free(texts), free(batch), free(one), free(want);
        json_decref(cases);
        emb_model_close(m);
        free(file);
    }
    tu_rmtree(tmp);
    free(tmp);
}

/* A 1.4 file's attributes, damaged one at a time, are refused at open with
 * a status and a message naming them. */
static void test_file_attributes_refused(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    char *good = tu_convert("tests/fixtures/models/qwen2-window-yarn", tmp, "good", NULL);
    static const struct {
        const char *name;
        char kind;
        int64_t v;
        const char *sv;
        emb_status want;
        const char *msg;
    } cases[] = {
        { "rope_type", 's', 0, "longrope", EMB_ERR_UNSUPPORTED, "rope_type 'longrope'" },
        { "rope_factor", 0, 0, NULL, EMB_ERR_FORMAT, "rope_factor" },
        { "rope_beta_fast", 0, 0, NULL, EMB_ERR_FORMAT, "rope_beta_fast" },
        { "rope_original_max_position", 'i', 0, NULL, EMB_ERR_FORMAT, "original_max_position" },
        { "sliding_layers", 'a', 2, NULL, EMB_ERR_FORMAT, "sliding_layers[0] = 2" },
        { "sliding_layers", 0, 0, NULL, EMB_ERR_FORMAT, "sliding_layers" },
        { "sliding_window", 'i', -3, NULL, EMB_ERR_FORMAT, "sliding_window -3" },
    };
    char bad[1024];
    snprintf(bad, sizeof bad, "%s/bad.h5", tmp);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(tu_run(NULL, "cp '%s' '%s'", good, bad), 0);
        tu_h5_config_attr(bad, cases[i].name, cases[i].kind, cases[i].v, cases[i].sv);
        emb_model *m = NULL;
        emb_status st = emb_model_open(bad, NULL, &m);
        if (st != cases[i].want || !strstr(emb_last_error(), cases[i].msg)) {
            print_error("%s: status %d, message \"%s\" (expected %d, \"%s\")\n", cases[i].name,
                        (int)st, emb_last_error(), (int)cases[i].want, cases[i].msg);
            fail();
        }
        assert_null(m);
    }
    free(good);
    tu_rmtree(tmp);
    free(tmp);
}

/* Hostile values a model file could carry are refused by mdl_config_check. */
static void test_config_check(void **state)
{
    (void)state;
    mg_model g;
    mg_load(&g, "qwen2-window-yarn", -1, -1);
    mdl_config c = g.cfg;
    assert_int_equal(mdl_config_check(&c), EMB_OK);
    c.rope_type = 9;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = g.cfg;
    c.rope_factor = NAN;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = g.cfg;
    c.rope_original_max = 0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = g.cfg;
    c.rope_beta_slow = 0;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = g.cfg;
    c.sliding_window = -1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    c = g.cfg;
    c.bidirectional = 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "sliding window"));
    c = g.cfg;
    c.rope_type = MDL_ROPE_LLAMA3;
    c.rope_low_freq = 4, c.rope_high_freq = 1;
    assert_int_equal(mdl_config_check(&c), EMB_ERR_FORMAT);
    mg_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        MG_FIXTURE("llama-rope-linear", "llama", NULL),
        MG_FIXTURE("llama-rope-llama3", "llama", NULL),
        MG_FIXTURE("mistral-window-dynamic", "mistral", NULL),
        MG_FIXTURE("qwen2-window-yarn", "qwen2", NULL),
        MG_FIXTURE("qwen3-layer-types", "qwen3", NULL),
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_each_feature_matters),
        cmocka_unit_test(test_dynamic_frequencies),
        cmocka_unit_test(test_window_kernel),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_api_batch),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_file_attributes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
