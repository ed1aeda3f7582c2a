/* The public API's contract on bad and edge input: every case returns its
 * documented status with a message, nothing crashes (the suite also runs
 * under ASan+UBSan). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "testutil.h"

#include "runtime/runtime.h"

#define BERT "tests/fixtures/models/bert-e5"

static char *tmp;
static char *model_path;
static emb_model *model;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    model_path = tu_convert(BERT, tmp, "bert.h5", NULL);
    return emb_model_open(model_path, NULL, &model) == EMB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    emb_model_close(model);
    free(model_path);
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

static void test_status_strings(void **state)
{
    (void)state;
    for (int s = 0; s <= EMB_ERR_INTERNAL; s++)
        assert_non_null(strstr(emb_status_string((emb_status)s), "EMB_"));
    assert_non_null(emb_status_string((emb_status)999));
    assert_string_equal(emb_version(), EMB_VERSION_STRING);
}

static void test_open_errors(void **state)
{
    (void)state;
    emb_model *m = (emb_model *)1;
    tu_expect_status(emb_model_open(NULL, NULL, &m), EMB_ERR_INVALID_ARGUMENT);
    assert_null(m);
    tu_expect_status(emb_model_open(model_path, NULL, NULL), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_model_open("/nonexistent/model.h5", NULL, &m), EMB_ERR_IO);
    assert_null(m);
    assert_non_null(strstr(emb_last_error(), "/nonexistent/model.h5"));

    /* a text file */
    char path[1024];
    snprintf(path, sizeof path, "%s/not-hdf5.h5", tmp);
    FILE *f = fopen(path, "w");
    fputs("this is not an HDF5 file\n", f);
    fclose(f);
    tu_expect_status(emb_model_open(path, NULL, &m), EMB_ERR_FORMAT);
    assert_non_null(strstr(emb_last_error(), "not an HDF5 file"));

    /* an empty file */
    snprintf(path, sizeof path, "%s/empty.h5", tmp);
    f = fopen(path, "w");
    fclose(f);
    tu_expect_status(emb_model_open(path, NULL, &m), EMB_ERR_FORMAT);

    /* a directory */
    tu_expect_status(emb_model_open(tmp, NULL, &m), EMB_ERR_IO);

    /* an HDF5 file that is not a libemb model */
    snprintf(path, sizeof path, "%s/other.h5", tmp);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(file >= 0);
    H5Fclose(file);
    tu_expect_status(emb_model_open(path, NULL, &m), EMB_ERR_FORMAT);
    assert_non_null(strstr(emb_last_error(), "not a libemb model"));

    /* a truncated model file */
    size_t len = 0;
    char *bytes = tu_read_file(model_path, &len);
    assert_non_null(bytes);
    snprintf(path, sizeof path, "%s/truncated.h5", tmp);
    f = fopen(path, "wb");
    fwrite(bytes, 1, len / 2, f);
    fclose(f);
    free(bytes);
    emb_status st = emb_model_open(path, NULL, &m);
    assert_true(st == EMB_ERR_FORMAT || st == EMB_ERR_IO);
    assert_null(m);

    /* options not initialized */
    emb_open_options oo;
    memset(&oo, 0, sizeof oo);
    tu_expect_status(emb_model_open(model_path, &oo, &m), EMB_ERR_INVALID_ARGUMENT);
}

/* Rewrite one integer attribute of the root group of a copy of the model. */
static char *copy_with_attr(const char *name, int64_t value)
{
    size_t len = 0;
    char *bytes = tu_read_file(model_path, &len);
    assert_non_null(bytes);
    char *path = malloc(1024);
    snprintf(path, 1024, "%s/%s-%lld.h5", tmp, name, (long long)value);
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, len, f);
    fclose(f);
    free(bytes);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
    assert_true(attr >= 0);
    assert_true(H5Awrite(attr, H5T_NATIVE_INT64, &value) >= 0);
    H5Aclose(attr);
    H5Fclose(file);
    return path;
}

static void test_newer_format_version(void **state)
{
    (void)state;
    char *path = copy_with_attr("format_version_major", 2);
    emb_model *m = NULL;
    tu_expect_status(emb_model_open(path, NULL, &m), EMB_ERR_VERSION);
    assert_null(m);
    assert_non_null(strstr(emb_last_error(), "version 2"));
    free(path);
    /* a file's minor version is the oldest reader that computes it right:
     * a newer one is refused (format 1.3 on), the current one opens */
    path = copy_with_attr("format_version_minor", 7);
    tu_expect_status(emb_model_open(path, NULL, &m), EMB_ERR_VERSION);
    assert_null(m);
    assert_non_null(strstr(emb_last_error(), "1.7 needs a newer libemb"));
    free(path);
    path = copy_with_attr("format_version_minor", 3);
    assert_int_equal(emb_model_open(path, NULL, &m), EMB_OK);
    assert_string_equal(emb_model_meta(m, "format_version"), "1.3");
    emb_model_close(m);
    free(path);
}

static void test_metadata(void **state)
{
    (void)state;
    assert_int_equal(emb_model_dim(model), 32);
    assert_int_equal(emb_model_max_tokens(model), 64);
    assert_string_equal(emb_model_meta(model, "architecture"), "bert");
    assert_string_equal(emb_model_meta(model, "pooling"), "mean");
    assert_string_equal(emb_model_meta(model, "normalize"), "true");
    assert_string_equal(emb_model_meta(model, "prompt.query"), "query: ");
    assert_string_equal(emb_model_meta(model, "prompt.passage"), "passage: ");
    assert_string_equal(emb_model_meta(model, "tokenizer"), "wordpiece");
    assert_string_equal(emb_model_meta(model, "weights_dtype"), "f32");
    assert_null(emb_model_meta(model, "no-such-key"));
    assert_null(emb_model_meta(NULL, "dim"));
    size_t n = emb_model_meta_count(model);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++)
        assert_non_null(emb_model_meta(model, emb_model_meta_key(model, i)));
    assert_null(emb_model_meta_key(model, n));
    assert_int_equal(emb_model_dim(NULL), 0);
}

/* The model's thread count, read back as "threads": the library's one
 * default (rt_default_threads) for n_threads = 0, the request up to
 * RT_MAX_THREADS (same vectors, bitwise), EMB_ERR_INVALID_ARGUMENT above it
 * — as emb_diag_gemm_gflops. */
static void test_thread_count(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%d", rt_default_threads());
    assert_string_equal(emb_model_meta(model, "threads"), want);

    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = RT_MAX_THREADS;
    emb_model *m = NULL;
    tu_expect_status(emb_model_open(model_path, &oo, &m), EMB_OK);
    snprintf(want, sizeof want, "%d", RT_MAX_THREADS);
    assert_string_equal(emb_model_meta(m, "threads"), want);
    const emb_text texts[2] = { { "a cat", 5 }, { "the dog runs", 12 } };
    float got[2 * 32], ref[2 * 32];
    tu_expect_status(emb_encode(m, texts, 2, NULL, got), EMB_OK);
    tu_expect_status(emb_encode(model, texts, 2, NULL, ref), EMB_OK);
    assert_memory_equal(got, ref, sizeof got);
    emb_model_close(m);

    oo.n_threads = RT_MAX_THREADS + 1;
    m = (emb_model *)1;
    tu_expect_status(emb_model_open(model_path, &oo, &m), EMB_ERR_INVALID_ARGUMENT);
    assert_null(m);
    char says[64];
    snprintf(says, sizeof says, "n_threads %d out of range 0..%d", RT_MAX_THREADS + 1,
             RT_MAX_THREADS);
    assert_non_null(strstr(emb_last_error(), says));
    double g = 1.0;
    tu_expect_status(emb_diag_gemm_gflops(0, RT_MAX_THREADS + 1, &g), EMB_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(emb_last_error(), "out of range 0..1024"));
}

static void test_encode_bad_arguments(void **state)
{
    (void)state;
    float v[64];
    emb_text t = { "hello", 5 };
    tu_expect_status(emb_encode(NULL, &t, 1, NULL, v), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_encode(model, NULL, 1, NULL, v), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_encode(model, &t, 1, NULL, NULL), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_encode(model, NULL, 0, NULL, NULL), EMB_OK);
    emb_text bad = { NULL, 3 };
    tu_expect_status(emb_encode(model, &bad, 1, NULL, v), EMB_ERR_INVALID_ARGUMENT);
    emb_encode_options o;
    memset(&o, 0, sizeof o);
    tu_expect_status(emb_encode(model, &t, 1, &o, v), EMB_ERR_INVALID_ARGUMENT);
    emb_encode_options_init(&o);
    o.kind = (emb_kind)7;
    tu_expect_status(emb_encode(model, &t, 1, &o, v), EMB_ERR_INVALID_ARGUMENT);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xff", "abc\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80" "b",
    };
    float v[2 * 32];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        emb_text t[2] = { { "fine", 4 }, { bad[i], strlen(bad[i]) } };
        tu_expect_status(emb_encode(model, t, 2, NULL, v), EMB_ERR_INVALID_UTF8);
        assert_string_equal(emb_last_error(), "text 1: text is not valid UTF-8");
        int32_t ids[8];
        size_t n = 0;
        tu_expect_status(emb_tokenize(model, bad[i], strlen(bad[i]), NULL, ids, 8, &n),
                     EMB_ERR_INVALID_UTF8);
        assert_string_equal(emb_last_error(), "text is not valid UTF-8");
    }
    /* checked once, where the text enters (emb_encode / emb_tokenize); the
     * status and message are those of that one check */
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.prompt = "\xfe";
    o.prompt_len = 1;
    emb_text t = { "fine", 4 };
    tu_expect_status(emb_encode(model, &t, 1, &o, v), EMB_ERR_INVALID_UTF8);
    assert_string_equal(emb_last_error(), "the prompt is not valid UTF-8");
}

static void test_empty_and_nul(void **state)
{
    (void)state;
    int32_t ids[8];
    size_t n = 0;
    tu_expect_status(emb_tokenize(model, "", 0, NULL, ids, 8, &n), EMB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 101);
    assert_int_equal(ids[1], 102);
    tu_expect_status(emb_tokenize(model, NULL, 0, NULL, ids, 8, &n), EMB_OK);
    assert_int_equal(n, 2);

    float v[3 * 32];
    emb_text t[3] = { { "", 0 }, { NULL, 0 }, { "a\0b", 3 } };
    tu_expect_status(emb_encode(model, t, 3, NULL, v), EMB_OK);
    assert_memory_equal(v, v + 32, 32 * sizeof(float));
    /* U+0000 is a character of the text, not its end */
    float w[32];
    emb_text a = { "a", 1 };
    tu_expect_status(emb_encode(model, &a, 1, NULL, w), EMB_OK);
    assert_memory_not_equal(w, v + 64, 32 * sizeof(float));
}

static void test_long_text(void **state)
{
    (void)state;
    size_t len = 100000;
    char *text = malloc(len);
    for (size_t i = 0; i < len; i++)
        text[i] = (i % 6 == 5) ? ' ' : (char)('a' + i % 7);
    emb_text t = { text, len };
    float v[32];
    tu_expect_status(emb_encode(model, &t, 1, NULL, v), EMB_OK);
    int32_t ids[64];
    size_t n = 0;
    emb_tokenize_options to;
    emb_tokenize_options_init(&to);
    to.truncate = 1;
    tu_expect_status(emb_tokenize(model, text, len, &to, ids, 64, &n), EMB_OK);
    assert_int_equal(n, 64);
    assert_int_equal(ids[0], 101);
    assert_int_equal(ids[63], 102);
    /* without truncation the buffer is too small, and the size is reported */
    tu_expect_status(emb_tokenize(model, text, len, NULL, ids, 64, &n), EMB_ERR_BUFFER_TOO_SMALL);
    assert_true(n > 10000);
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.truncate = 0;
    tu_expect_status(emb_encode(model, &t, 1, &o, v), EMB_ERR_TOO_LONG);
    free(text);
}

static void test_prompt_override(void **state)
{
    (void)state;
    float a[32], b[32], c[32];
    emb_text t = { "how much protein should a female eat", 36 };
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = EMB_KIND_QUERY;
    tu_expect_status(emb_encode(model, &t, 1, &o, a), EMB_OK);
    emb_encode_options_init(&o);
    o.prompt = "query: ";
    o.prompt_len = 7;
    tu_expect_status(emb_encode(model, &t, 1, &o, b), EMB_OK);
    assert_memory_equal(a, b, sizeof a);
    o.prompt = "passage: ";
    o.prompt_len = 9;
    tu_expect_status(emb_encode(model, &t, 1, &o, c), EMB_OK);
    assert_memory_not_equal(a, c, sizeof a);
}

/* An older caller's smaller option struct: init writes only its bytes, and
 * encode uses the library defaults for the fields it lacks. */
static void test_options_abi(void **state)
{
    (void)state;
    unsigned char buf[sizeof(emb_encode_options) + 16];
    memset(buf, 0xab, sizeof buf);
    size_t small = offsetof(emb_encode_options, kind) + sizeof(emb_kind);
    emb_encode_options_init_size((emb_encode_options *)(void *)buf, small);
    for (size_t i = small; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xab);
    emb_encode_options o;
    memcpy(&o, buf, sizeof o);
    assert_int_equal(o.struct_size, small);
    o.kind = EMB_KIND_QUERY;
    memcpy(buf, &o, small);
    float a[32], b[32];
    emb_text t = { "a long text", 11 };
    tu_expect_status(emb_encode(model, &t, 1, (emb_encode_options *)(void *)buf, a), EMB_OK);
    emb_encode_options full;
    emb_encode_options_init(&full);
    assert_int_equal(full.struct_size, sizeof full);
    assert_int_equal(full.truncate, 1);
    full.kind = EMB_KIND_QUERY;
    tu_expect_status(emb_encode(model, &t, 1, &full, b), EMB_OK);
    assert_memory_equal(a, b, sizeof a);
    /* a newer caller's larger struct: the extra bytes are zeroed, the size
     * recorded is the library's */
    memset(buf, 0xab, sizeof buf);
    emb_encode_options_init_size((emb_encode_options *)(void *)buf, sizeof buf);
    memcpy(&o, buf, sizeof o);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(buf[sizeof buf - 1], 0);
    emb_encode_options_init_size(NULL, sizeof o); /* ignored */
}

static void test_cosine(void **state)
{
    (void)state;
    float a[3] = { 1, 0, 0 }, b[3] = { 1, 1, 0 }, z[3] = { 0, 0, 0 }, out = -5;
    tu_expect_status(emb_cosine(a, b, 3, &out), EMB_OK);
    assert_float_equal(out, 0.70710678f, 1e-6);
    tu_expect_status(emb_cosine(a, z, 3, &out), EMB_OK);
    assert_float_equal(out, 0.0f, 0);
    tu_expect_status(emb_cosine(NULL, b, 3, &out), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_cosine(a, b, 3, NULL), EMB_ERR_INVALID_ARGUMENT);
}

static size_t count_entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_convert_errors(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/out.h5", out);
    tu_expect_status(emb_convert(NULL, path, NULL), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_convert("/nonexistent/folder", path, NULL), EMB_ERR_IO);
    /* a tokenizer folder has no config.json: refused unless tokenizer-only */
    emb_status st = emb_convert("tests/fixtures/tokenizers/bert-uncased", path, NULL);
    assert_int_equal(st, EMB_ERR_IO);
    assert_non_null(strstr(emb_last_error(), "config.json"));
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.pooling = "max-of-everything";
    tu_expect_status(emb_convert(BERT, path, &o), EMB_ERR_INVALID_ARGUMENT);
    emb_convert_options_init(&o);
    o.template_ = "no placeholder";
    tu_expect_status(emb_convert(BERT, path, &o), EMB_ERR_INVALID_ARGUMENT);
    /* nothing, not even a temporary file, is left behind by failures */
    assert_int_equal(count_entries(out), 0);
    /* the destination directory must exist */
    snprintf(path, sizeof path, "%s/missing-dir/out.h5", out);
    tu_expect_status(emb_convert(BERT, path, NULL), EMB_ERR_IO);
    tu_rmtree(out);
    free(out);
}

static void test_spiece_only_refused(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char cmd[1200], out[1100];
    snprintf(cmd, sizeof cmd, "cp tests/fixtures/tokenizers/t5-unigram/spiece.model %s/", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.tokenizer_only = 1;
    tu_expect_status(emb_convert(dir, out, &o), EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(emb_last_error(), "spiece.model"));
    assert_non_null(strstr(emb_last_error(), "tokenizer.json"));
    assert_int_equal(access(out, F_OK), -1);
    tu_rmtree(dir);
    free(dir);
}

/* emb_encode_tokens on the ids emb_tokenize gives equals emb_encode */
static void test_encode_tokens(void **state)
{
    (void)state;
    const char *texts[2] = { "query: how do plants make food", "a violin has four strings" };
    int32_t ids[2][64];
    size_t n[2];
    emb_text t[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(emb_tokenize(model, texts[i], strlen(texts[i]), NULL, ids[i], 64, &n[i]),
                         EMB_OK);
        t[i].data = texts[i];
        t[i].len = strlen(texts[i]);
    }
    const int32_t *seqs[2] = { ids[0], ids[1] };
    float a[64], b[64];
    tu_expect_status(emb_encode_tokens(model, seqs, n, 2, a), EMB_OK);
    tu_expect_status(emb_encode(model, t, 2, NULL, b), EMB_OK);
    assert_memory_equal(a, b, sizeof a);
    tu_expect_status(emb_encode_tokens(model, NULL, n, 2, a), EMB_ERR_INVALID_ARGUMENT);
    tu_expect_status(emb_encode_tokens(model, seqs, n, 0, NULL), EMB_OK);
    size_t zero[1] = { 0 };
    tu_expect_status(emb_encode_tokens(model, seqs, zero, 1, a), EMB_ERR_INVALID_ARGUMENT);
    int32_t bad[3] = { 101, 5000, 102 }; /* vocab_size is 5000 */
    const int32_t *bs[1] = { bad };
    size_t bn[1] = { 3 };
    tu_expect_status(emb_encode_tokens(model, bs, bn, 1, a), EMB_ERR_INVALID_ARGUMENT);
    bad[1] = -1;
    tu_expect_status(emb_encode_tokens(model, bs, bn, 1, a), EMB_ERR_INVALID_ARGUMENT);
    int32_t many[65];
    for (int i = 0; i < 65; i++)
        many[i] = 1000;
    const int32_t *ms[1] = { many };
    size_t mn[1] = { 65 };
    tu_expect_status(emb_encode_tokens(model, ms, mn, 1, a), EMB_ERR_TOO_LONG);
}

static void test_tokenizer_only(void **state)
{
    (void)state;
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.tokenizer_only = 1;
    char *path = tu_convert("tests/fixtures/tokenizers/bert-uncased", tmp, "tok.h5", &o);
    emb_model *m = NULL;
    tu_expect_status(emb_model_open(path, NULL, &m), EMB_OK);
    assert_int_equal(emb_model_dim(m), 0);
    assert_string_equal(emb_model_meta(m, "architecture"), "none");
    float v[4];
    emb_text t = { "hello world", 11 };
    tu_expect_status(emb_encode(m, &t, 1, NULL, v), EMB_ERR_NO_WEIGHTS);
    int32_t ids[8];
    size_t n = 0;
    tu_expect_status(emb_tokenize(m, "hello world", 11, NULL, ids, 8, &n), EMB_OK);
    assert_int_equal(n, 4);
    int32_t want[4] = { 101, 7592, 2088, 102 };
    assert_memory_equal(ids, want, sizeof want);
    emb_model_close(m);
    free(path);
}

static void test_dtype_conversion(void **state)
{
    (void)state;
    /* f32 checkpoint stored as f16 / bf16: close to the f32 vectors */
    static const emb_dtype dtypes[] = { EMB_DTYPE_F16, EMB_DTYPE_BF16 };
    static const char *const names[] = { "f16", "bf16" };
    static const double tol[] = { 2e-3, 2e-2 };
    emb_text t = { "the quick brown fox", 19 };
    float ref[32], v[32];
    assert_int_equal(emb_encode(model, &t, 1, NULL, ref), EMB_OK);
    for (int i = 0; i < 2; i++) {
        emb_convert_options o;
        emb_convert_options_init(&o);
        o.dtype = dtypes[i];
        char name[32];
        snprintf(name, sizeof name, "bert-%s.h5", names[i]);
        char *path = tu_convert(BERT, tmp, name, &o);
        emb_model *m = NULL;
        assert_int_equal(emb_model_open(path, NULL, &m), EMB_OK);
        assert_string_equal(emb_model_meta(m, "weights_dtype"), names[i]);
        assert_int_equal(emb_encode(m, &t, 1, NULL, v), EMB_OK);
        tu_assert_close(v, ref, 32, tol[i], names[i]);
        emb_model_close(m);
        free(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_newer_format_version),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_thread_count),
        cmocka_unit_test(test_encode_bad_arguments),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_empty_and_nul),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_prompt_override),
        cmocka_unit_test(test_options_abi),
        cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_convert_errors),
        cmocka_unit_test(test_tokenizer_only),
        cmocka_unit_test(test_spiece_only_refused),
        cmocka_unit_test(test_encode_tokens),
        cmocka_unit_test(test_dtype_conversion),
    };
    return cmocka_run_group_tests_name("api", tests, setup, teardown);
}
