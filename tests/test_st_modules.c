/* sentence-transformers modules beyond Transformer/Pooling/Normalize,
 * through the public API: Dense modules and pooling modes in the model file
 * (format 1.3) and its metadata; include_prompt false leaving the prompt's
 * tokens out; pooling edge cases (nothing left after the prompt); and the
 * converter's refusals (an unknown module or activation, named). The
 * goldens of the bert-dense / bert-noprompt fixtures are checked by
 * test_golden. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "runtime/runtime.h"
#include "testutil.h"

#define FIX "tests/fixtures/models/"

/* A copy of fixture `name` under tu_tmp as `as`; returns its path (free it). */
static char *copy_fixture(const char *name, const char *as)
{
    char *dir = malloc(1024);
    assert_non_null(dir);
    snprintf(dir, 1024, "%s/%s", tu_tmp, as);
    char *out = NULL;
    assert_int_equal(tu_run(&out, "rm -rf '%s' && cp -r " FIX "%s '%s'", dir, name, dir), 0);
    free(out);
    return dir;
}


/* emb_convert of dir fails with st and a message holding each of the
 * NULL-terminated strings. */
static void convert_fails(const char *dir, emb_status want, ...)
{
    char out[1024];
    snprintf(out, sizeof out, "%s/refused.h5", tu_tmp);
    emb_status st = emb_convert(dir, out, NULL);
    if (st != want) {
        print_error("%s: got status %d (%s), expected %d\n", dir, (int)st, emb_last_error(),
                    (int)want);
        fail();
    }
    va_list ap;
    va_start(ap, want);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!strstr(emb_last_error(), s)) {
            print_error("message \"%s\" lacks \"%s\"\n", emb_last_error(), s);
            fail();
        }
    va_end(ap);
}

static emb_model *open_model(const char *path)
{
    emb_model *m = NULL;
    if (emb_model_open(path, NULL, &m) != EMB_OK) {
        print_error("open %s: %s\n", path, emb_last_error());
        fail();
    }
    return m;
}

static void encode(const emb_model *m, const char *text, emb_kind kind, const char *prompt,
                   float *out)
{
    emb_text t = { text, strlen(text) };
    emb_encode_options eo;
    emb_encode_options_init(&eo);
    eo.kind = kind;
    if (prompt) {
        eo.prompt = prompt;
        eo.prompt_len = strlen(prompt);
    }
    assert_int_equal(emb_encode(m, &t, 1, &eo, out), EMB_OK);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* The Dense fixture's file: format 1.3, its modules in the metadata, the
 * dimension the last Dense's; a model without the new content stays 1.0. */
static void test_dense_metadata(void **state)
{
    (void)state;
    char *path = tu_convert(FIX "bert-dense", tu_tmp, "dense.h5", NULL);
    emb_model *m = open_model(path);
    assert_int_equal(emb_model_dim(m), 16);
    assert_string_equal(emb_model_meta(m, "format_version"), "1.3");
    assert_string_equal(emb_model_meta(m, "pooling"), "max");
    assert_string_equal(emb_model_meta(m, "dense"), "32->64 tanh, 64->16 identity");
    assert_string_equal(emb_model_meta(m, "include_prompt"), "true");
    emb_model_close(m);
    free(path);

    path = tu_convert(FIX "bert-noprompt", tu_tmp, "noprompt.h5", NULL);
    m = open_model(path);
    assert_int_equal(emb_model_dim(m), 128);
    assert_string_equal(emb_model_meta(m, "pooling"), "cls+mean+mean-sqrt-len+weightedmean");
    assert_string_equal(emb_model_meta(m, "include_prompt"), "false");
    assert_null(emb_model_meta(m, "dense"));
    emb_model_close(m);
    free(path);

    path = tu_convert(FIX "bert-e5", tu_tmp, "e5.h5", NULL);
    m = open_model(path);
    assert_string_equal(emb_model_meta(m, "format_version"), "1.0");
    emb_model_close(m);
    free(path);
}

/* include_prompt false: the same folder with include_prompt true gives
 * other vectors for prompted texts and the same for texts without a
 * prompt; an explicit prompt is left out like the model's own. */
static void test_include_prompt(void **state)
{
    (void)state;
    char *path = tu_convert(FIX "bert-noprompt", tu_tmp, "noprompt.h5", NULL);
    char *dir = copy_fixture("bert-noprompt", "with-prompt");
    tu_patch_json(dir, "1_Pooling/config.json", "include_prompt", json_true());
    char *path_inc = tu_convert(dir, tu_tmp, "with-prompt.h5", NULL);
    emb_model *m = open_model(path), *inc = open_model(path_inc);
    assert_string_equal(emb_model_meta(inc, "format_version"), "1.3"); /* several modes */
    float a[128], b[128], c[128];
    const char *text = "how much protein should a female eat";
    encode(m, text, EMB_KIND_QUERY, NULL, a);
    encode(inc, text, EMB_KIND_QUERY, NULL, b);
    assert_true(max_abs_diff(a, b, 128) > 1e-3); /* the prompt's tokens were pooled */
    encode(m, text, EMB_KIND_NONE, NULL, a);
    encode(inc, text, EMB_KIND_NONE, NULL, b);
    assert_true(max_abs_diff(a, b, 128) == 0.0); /* no prompt: every token */
    /* an explicit prompt equal to the query prompt: the same vector */
    encode(m, text, EMB_KIND_QUERY, NULL, a);
    encode(m, text, EMB_KIND_NONE, "query: ", c);
    assert_memory_equal(a, c, sizeof a);
    /* the cls part (first 32 floats) is the first token after the prompt:
     * "query: x" and "x" differ, but not in whether cls is [CLS] */
    encode(m, "", EMB_KIND_QUERY, NULL, a); /* only [SEP] is left */
    for (size_t j = 0; j < 32; j++) /* cls and mean of one token agree */
        assert_true(a[j] == a[32 + j]);
    emb_model_close(m);
    emb_model_close(inc);
    free(path);
    free(path_inc);
    free(dir);
}

/* --pooling cls+mean on a mean model: the vector is [cls | mean], each
 * part what the single mode gives (normalization off to compare parts). */
static void test_pooling_override(void **state)
{
    (void)state;
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.normalize = 0;
    co.pooling = "cls+mean";
    char *both = tu_convert(FIX "bert-e5", tu_tmp, "both.h5", &co);
    co.pooling = "cls";
    char *cls = tu_convert(FIX "bert-e5", tu_tmp, "cls.h5", &co);
    co.pooling = "mean";
    char *mean = tu_convert(FIX "bert-e5", tu_tmp, "mean.h5", &co);
    emb_model *mb = open_model(both), *mc = open_model(cls), *mm = open_model(mean);
    assert_int_equal(emb_model_dim(mb), 64);
    float vb[64], vc[32], vm[32];
    encode(mb, "summit define", EMB_KIND_PASSAGE, NULL, vb);
    encode(mc, "summit define", EMB_KIND_PASSAGE, NULL, vc);
    encode(mm, "summit define", EMB_KIND_PASSAGE, NULL, vm);
    assert_memory_equal(vb, vc, sizeof vc);
    assert_memory_equal(vb + 32, vm, sizeof vm);
    emb_model_close(mb), emb_model_close(mc), emb_model_close(mm);
    free(both), free(cls), free(mean);

    char out[1024];
    snprintf(out, sizeof out, "%s/bad.h5", tu_tmp);
    static const char *const bad[] = { "max+", "+max", "max++cls", "max+median",
                                       "cls+cls+cls+cls+cls+cls+cls", "lasttoken-logits+cls" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        co.pooling = bad[i];
        emb_status st = emb_convert(FIX "bert-e5", out, &co);
        assert_true(st == EMB_ERR_INVALID_ARGUMENT || st == EMB_ERR_UNSUPPORTED);
    }
}

/* Refused at convert time, naming what was met. */
static void test_refusals(void **state)
{
    (void)state;
    char *dir = copy_fixture("bert-dense", "refuse");
    const char *tr = "{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}";
    const char *po = "{\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}";
    char buf[2048];

    /* an unknown module: its type and folder, and the supported ones */
    snprintf(buf, sizeof buf,
             "[%s, %s, {\"path\": \"2_WLP\", \"type\": "
             "\"sentence_transformers.models.WeightedLayerPooling\"}]", tr, po);
    tu_write_text(dir, "modules.json", buf);
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "WeightedLayerPooling", "'2_WLP'",
                  "Transformer, Pooling, Dense, Normalize, Dropout", NULL);
    snprintf(buf, sizeof buf, "[%s, %s, {\"path\": \"x\", \"type\": \"custom_module.MyHead\"}]",
             tr, po);
    tu_write_text(dir, "modules.json", buf);
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "custom_module.MyHead", NULL);

    /* the Transformer not first; a Transformer twice */
    snprintf(buf, sizeof buf, "[%s, %s]", po, tr);
    tu_write_text(dir, "modules.json", buf);
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "first module", "Pooling", "'1_Pooling'", NULL);
    snprintf(buf, sizeof buf, "[%s, %s, %s]", tr, po, tr);
    tu_write_text(dir, "modules.json", buf);
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "Transformer module must come first", NULL);

    /* Dense after Normalize; Dense before Pooling */
    snprintf(buf, sizeof buf,
             "[%s, %s, {\"path\": \"4_Normalize\", \"type\": "
             "\"sentence_transformers.models.Normalize\"}, {\"path\": \"2_Dense\", \"type\": "
             "\"sentence_transformers.models.Dense\"}]", tr, po);
    tu_write_text(dir, "modules.json", buf);
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "Dense module after Normalize", NULL);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"2_Dense\", \"type\": \"sentence_transformers.models.Dense\"}, %s]",
             tr, po);
    tu_write_text(dir, "modules.json", buf);
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "Dense module before Pooling", NULL);

    /* newer module paths and Dropouts are accepted; one Dense in, 64 out */
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"d\", \"type\": "
             "\"sentence_transformers.sentence_transformer.modules.dropout.Dropout\"}, %s, "
             "{\"path\": \"2_Dense\", \"type\": \"sentence_transformers.base.modules.dense.Dense\"}]",
             tr, po);
    tu_write_text(dir, "modules.json", buf);
    char *path = tu_convert(dir, tu_tmp, "one-dense.h5", NULL);
    emb_model *m = open_model(path);
    assert_int_equal(emb_model_dim(m), 64);
    assert_string_equal(emb_model_meta(m, "normalize"), "false");
    emb_model_close(m);
    free(path);

    /* the second Dense's input does not match the first's output */
    snprintf(buf, sizeof buf,
             "[%s, %s, {\"path\": \"3_Dense\", \"type\": \"sentence_transformers.models.Dense\"}]",
             tr, po);
    tu_write_text(dir, "modules.json", buf);
    convert_fails(dir, EMB_ERR_FORMAT, "3_Dense/config.json", "in_features 64", "32 dimensions",
                  NULL);
    snprintf(buf, sizeof buf,
             "[%s, %s, {\"path\": \"2_Dense\", \"type\": \"sentence_transformers.models.Dense\"}]",
             tr, po);
    tu_write_text(dir, "modules.json", buf);

    /* an activation we do not have, named; residual; other input */
    tu_patch_json(dir, "2_Dense/config.json", "activation_function",
          json_string("torch.nn.modules.activation.Mish"));
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "2_Dense/config.json",
                  "torch.nn.modules.activation.Mish", "Tanh", NULL);
    tu_patch_json(dir, "2_Dense/config.json", "activation_function", json_string("mylib.Swish"));
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "mylib.Swish", NULL);
    tu_patch_json(dir, "2_Dense/config.json", "activation_function", NULL); /* default Tanh */
    path = tu_convert(dir, tu_tmp, "default-act.h5", NULL);
    m = open_model(path);
    assert_string_equal(emb_model_meta(m, "dense"), "32->64 tanh");
    emb_model_close(m);
    free(path);
    tu_patch_json(dir, "2_Dense/config.json", "use_residual", json_true());
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "use_residual", NULL);
    tu_patch_json(dir, "2_Dense/config.json", "use_residual", NULL);
    tu_patch_json(dir, "2_Dense/config.json", "module_input_name", json_string("token_embeddings"));
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "module_input_name 'token_embeddings'", NULL);
    tu_patch_json(dir, "2_Dense/config.json", "module_input_name", NULL);

    /* weights: a missing bias, then only pytorch_model.bin */
    tu_patch_json(dir, "2_Dense/config.json", "bias", json_false());
    path = tu_convert(dir, tu_tmp, "no-bias-used.h5", NULL); /* present but unused: fine */
    free(path);
    tu_patch_json(dir, "2_Dense/config.json", "bias", json_true());
    tu_patch_json(dir, "2_Dense/config.json", "out_features", json_integer(63));
    convert_fails(dir, EMB_ERR_FORMAT, "st_dense.0.linear", NULL);
    tu_patch_json(dir, "2_Dense/config.json", "out_features", json_integer(64));
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s/2_Dense/model.safetensors", dir);
    snprintf(to, sizeof to, "%s/2_Dense/pytorch_model.bin", dir);
    assert_int_equal(rename(from, to), 0);
    convert_fails(dir, EMB_ERR_UNSUPPORTED, "2_Dense", "pytorch_model.bin", NULL);
    free(dir);
}

/* Set an attribute of /config in a copy of the model file at `path`:
 * an int64 (s NULL) or a string. */
static char *copy_with_config_attr(const char *path, const char *name, int64_t v, const char *s)
{
    size_t len = 0;
    char *bytes = tu_read_file(path, &len);
    assert_non_null(bytes);
    char *copy = malloc(1024);
    snprintf(copy, 1024, "%s/patched-%s.h5", tu_tmp, name);
    tu_write_file(copy, bytes, len);
    free(bytes);
    tu_h5_config_attr(copy, name, s ? 's' : 'i', v, s);
    return copy;
}

/* A hostile 1.3 file: every new attribute is checked at open. */
static void test_format_checks(void **state)
{
    (void)state;
    char *path = tu_convert(FIX "bert-dense", tu_tmp, "dense.h5", NULL);
    static const struct {
        const char *name;
        int64_t v;
        const char *s;
        emb_status st;
        const char *msg;
    } cases[] = {
        { "dense_count", 9, NULL, EMB_ERR_FORMAT, "dense_count 9" },
        { "dense_count", -1, NULL, EMB_ERR_FORMAT, "dense_count -1" },
        { "dense_count", 3, NULL, EMB_ERR_FORMAT, "dense_2_in_features" },
        { "dense_0_activation", 0, "mish", EMB_ERR_UNSUPPORTED, "'mish'" },
        { "dense_1_in_features", 32, NULL, EMB_ERR_FORMAT, "Dense module 1 has in_features 32" },
        { "dense_1_out_features", 0, NULL, EMB_ERR_FORMAT, "out_features 0" },
        { "pooling", 0, "max+median", EMB_ERR_UNSUPPORTED, "max+median" },
        { "pooling", 0, "cls+max", EMB_ERR_FORMAT, "in_features 32, expected 64" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *copy = copy_with_config_attr(path, cases[i].name, cases[i].v, cases[i].s);
        emb_model *m = NULL;
        emb_status st = emb_model_open(copy, NULL, &m);
        if (st != cases[i].st || !strstr(emb_last_error(), cases[i].msg)) {
            print_error("%s: got %d (%s), expected %d with \"%s\"\n", cases[i].name, (int)st,
                        emb_last_error(), (int)cases[i].st, cases[i].msg);
            fail();
        }
        assert_null(m);
        free(copy);
    }
    free(path);
}

/* Pooling with tokens left out (model/pooling.c): skip 1 of 3 rows, and
 * nothing left (skip >= n) as sentence-transformers gives it. */
static void test_pool_skip(void **state)
{
    (void)state;
    mdl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.pooling = MDL_POOL_CLS;
    cfg.n_pool_extra = 5;
    const mdl_pooling extra[5] = { MDL_POOL_MEAN, MDL_POOL_MAX, MDL_POOL_WEIGHTEDMEAN,
                                   MDL_POOL_MEAN_SQRT_LEN, MDL_POOL_LASTTOKEN };
    memcpy(cfg.pool_extra, extra, sizeof extra);
    const float h[3 * 2] = { 1, -1, 2, 4, 6, -2 }; /* rows [1,-1] [2,4] [6,-2] */
    float out[12];
    size_t lo, hi;
    mdl_pool_rows(&cfg, 3, 1, &lo, &hi);
    assert_int_equal(lo, 1), assert_int_equal(hi, 3);
    mdl_pool(&cfg, h, 3, 1, 2, 2, out);
    const float want[12] = { 2, 4,                        /* cls: row 1 */
                             4, 1,                        /* mean of rows 1, 2 */
                             6, 4,                        /* max */
                             (2 * 2 + 3 * 6) / 5.0f, (2 * 4 + 3 * -2) / 5.0f, /* weights 2, 3 */
                             8 / sqrtf(2), 2 / sqrtf(2),  /* sum / sqrt(2) */
                             6, -2 };                     /* last token */
    tu_assert_close(out, want, 12, 1e-6, "skip 1");
    mdl_pool_rows(&cfg, 3, 3, &lo, &hi);
    assert_int_equal(lo, 0), assert_int_equal(hi, 3);
    mdl_pool(&cfg, h, 3, 3, 2, 2, out);
    assert_true(out[0] == 1 && out[1] == -1); /* cls: token 0 */
    for (size_t j = 2; j < 12; j++) {
        if (j == 4 || j == 5)
            assert_true(isinf(out[j]) && out[j] < 0); /* max over nothing */
        else
            assert_true(out[j] == 0.0f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_metadata),   cmocka_unit_test(test_include_prompt),
        cmocka_unit_test(test_pooling_override), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_format_checks),    cmocka_unit_test(test_pool_skip),
    };
    return cmocka_run_group_tests_name("st_modules", tests, tu_tmp_setup, tu_tmp_teardown);
}
