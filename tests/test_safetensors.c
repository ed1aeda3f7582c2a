/* Tests for src/convert/safetensors.c: the fixtures load, F16/BF16
 * up-conversion is exact, sharded checkpoints load the same tensors, and
 * hostile files are refused with EMB_ERR_FORMAT and a message. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "runtime/runtime.h"

#define FIX "tests/fixtures/models/"

static size_t numel(const cv_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

static float *to_f32(const cv_tensor *t)
{
    float *out = malloc(numel(t) * sizeof *out + 1);
    assert_non_null(out);
    assert_int_equal(cv_tensor_to_f32(t, out), EMB_OK);
    return out;
}

/* A safetensors file: 8-byte length `hlen` (as given, may lie), the header
 * text, then `data_len` bytes of data (i * 7). */
static void write_st_raw(const char *path, uint64_t hlen, const char *header, size_t header_len,
                         size_t data_len)
{
    size_t len = 8 + header_len + data_len;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + 8, header, header_len);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + header_len + i] = (uint8_t)(i * 7);
    tu_write_file(path, buf, len);
    free(buf);
}

static void write_st(const char *path, const char *header, size_t data_len)
{
    write_st_raw(path, strlen(header), header, strlen(header), data_len);
}

static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* ---------------------------------------------------------------- fixtures */

static void test_bert_fixture(void **state)
{
    (void)state;
    cv_weights w = {0};
    assert_int_equal(cv_weights_open_dir(&w, FIX "bert-e5"), EMB_OK);
    assert_int_equal(w.n, 39);
    assert_int_equal(w.n_maps, 1);

    const cv_tensor *t = cv_weights_find(&w, "embeddings.word_embeddings.weight");
    assert_non_null(t);
    assert_true(t->is_weight);
    assert_int_equal(t->dtype, KERN_W_F32);
    assert_string_equal(t->dtype_name, "F32");
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 5000);
    assert_int_equal(t->shape[1], 32);
    assert_int_equal(t->nbytes, 5000 * 32 * 4);

    t = cv_weights_find(&w, "embeddings.LayerNorm.bias");
    assert_non_null(t);
    assert_int_equal(t->ndim, 1);
    assert_int_equal(t->shape[0], 32);
    assert_int_equal(t->nbytes, 128);

    t = cv_weights_find(&w, "encoder.layer.1.intermediate.dense.weight");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 64);
    assert_int_equal(t->shape[1], 32);
    t = cv_weights_find(&w, "embeddings.token_type_embeddings.weight");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 2);
    assert_null(cv_weights_find(&w, "bert.embeddings.word_embeddings.weight"));
    assert_null(cv_weights_find(&w, "__metadata__"));

    /* every tensor's data lies inside the mapping, none overlaps the header */
    const uint8_t *base = w.maps[0];
    for (size_t i = 0; i < w.n; i++) {
        assert_true(w.t[i].data >= base + 8 + 4032);
        assert_true(w.t[i].data + w.t[i].nbytes <= base + w.map_lens[0]);
    }

    /* the F32 data is the file's bytes, as numpy reads them: the first
     * LayerNorm weight lies in U(0.5, 1.5) (README: weights randomized so) */
    t = cv_weights_find(&w, "embeddings.LayerNorm.weight");
    float *v = to_f32(t);
    for (size_t i = 0; i < 32; i++)
        assert_true(v[i] >= 0.5f && v[i] <= 1.5f);
    free(v);
    cv_weights_close(&w);
    assert_int_equal(w.n, 0);
    assert_null(w.t);
}

static void test_all_fixtures_open(void **state)
{
    (void)state;
    static const char *const dirs[] = {"bert-e5", "bert-e5-f16", "bge-cls", "mistral-e5",
                                       "mistral-lm", "qwen2-gte", "qwen3-emb", "qwen3-emb-bf16",
                                       "xlmr-me5"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, FIX "%s", dirs[i]);
        cv_weights w = {0};
        emb_status st = cv_weights_open_dir(&w, path);
        if (st != EMB_OK)
            print_error("%s: %s\n", path, rt_last_error());
        assert_int_equal(st, EMB_OK);
        assert_true(w.n > 10);
        for (size_t j = 0; j < w.n; j++) {
            float *v = to_f32(&w.t[j]);
            free(v);
        }
        cv_weights_close(&w);
    }
}

/* F16 fixture = F32 fixture rounded to nearest f16: the up-converted value
 * is within half an f16 ulp (2^-11 relative, 2^-25 absolute for f16
 * subnormals) of the f32 value, and f16-exact values come back exactly. */
static void test_f16_against_f32(void **state)
{
    (void)state;
    cv_weights a = {0}, b = {0};
    assert_int_equal(cv_weights_open_dir(&a, FIX "bert-e5"), EMB_OK);
    assert_int_equal(cv_weights_open_dir(&b, FIX "bert-e5-f16"), EMB_OK);
    assert_int_equal(a.n, b.n);
    size_t checked = 0;
    for (size_t i = 0; i < a.n; i++) {
        const cv_tensor *ta = &a.t[i];
        const cv_tensor *tb = cv_weights_find(&b, ta->name);
        assert_non_null(tb);
        assert_true(tb->is_weight);
        assert_int_equal(tb->dtype, KERN_W_F16);
        assert_int_equal(ta->ndim, tb->ndim);
        for (int d = 0; d < ta->ndim; d++)
            assert_int_equal(ta->shape[d], tb->shape[d]);
        size_t n = numel(ta);
        assert_int_equal(tb->nbytes, 2 * n);
        float *fa = to_f32(ta), *fb = to_f32(tb);
        double worst = 0;
        size_t worst_i = 0;
        for (size_t j = 0; j < n; j++) {
            double x = fa[j], y = fb[j];
            double tol = fmax(fabs(x) * ldexp(1.0, -11), ldexp(1.0, -25));
            double excess = fabs(x - y) / tol;
            if (excess > worst) {
                worst = excess;
                worst_i = j;
            }
        }
        if (worst > 1.0) {
            print_error("%s[%zu]: f32 %.9g, f16 up-converted %.9g\n", ta->name, worst_i,
                        (double)fa[worst_i], (double)fb[worst_i]);
            fail();
        }
        checked += n;
        free(fa);
        free(fb);
    }
    assert_true(checked > 100000);
    cv_weights_close(&a);
    cv_weights_close(&b);
}

/* BF16 fixture = F32 fixture rounded to nearest even bf16: exact check. */
static void test_bf16_against_f32(void **state)
{
    (void)state;
    cv_weights a = {0}, b = {0};
    assert_int_equal(cv_weights_open_dir(&a, FIX "qwen3-emb"), EMB_OK);
    assert_int_equal(cv_weights_open_dir(&b, FIX "qwen3-emb-bf16"), EMB_OK);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        const cv_tensor *ta = &a.t[i];
        const cv_tensor *tb = cv_weights_find(&b, ta->name);
        assert_non_null(tb);
        assert_true(tb->is_weight);
        assert_int_equal(tb->dtype, KERN_W_BF16);
        size_t n = numel(ta);
        assert_int_equal(tb->nbytes, 2 * n);
        float *fa = to_f32(ta), *fb = to_f32(tb);
        for (size_t j = 0; j < n; j++) {
            uint32_t bits;
            memcpy(&bits, &fa[j], 4);
            bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u; /* RNE to bf16 */
            float r;
            memcpy(&r, &bits, 4);
            if (r != fb[j]) {
                print_error("%s[%zu]: f32 %.9g rounds to bf16 %.9g, got %.9g\n", ta->name, j,
                            (double)fa[j], (double)r, (double)fb[j]);
                fail();
            }
        }
        free(fa);
        free(fb);
    }
    cv_weights_close(&a);
    cv_weights_close(&b);
}

/* Hand-made values: subnormals, ±0, ±inf, NaN, extremes. */
static void test_f16_bf16_special_values(void **state)
{
    (void)state;
    static const struct {
        uint16_t h;
        float f;
    } f16[] = {
        {0x0000, 0.0f},
        {0x3c00, 1.0f},
        {0xc000, -2.0f},
        {0x3555, 0x1.554p-2f},
        {0x7bff, 65504.0f},
        {0x0400, 0x1p-14f},           /* smallest normal */
        {0x0001, 0x1p-24f},           /* smallest subnormal */
        {0x03ff, 0x1.ff8p-15f},       /* largest subnormal: 1023 * 2^-24 */
        {0x0200, 0x1p-15f},
        {0x8001, -0x1p-24f},
        {0x0155, 341 * 0x1p-24f},
    };
    const size_t n16 = sizeof f16 / sizeof f16[0];
    uint8_t buf[64];
    float out[32];
    cv_tensor t = {0};
    t.name = "hand";
    t.is_weight = 1;
    t.dtype = KERN_W_F16;
    t.data = buf;
    for (size_t i = 0; i < n16; i++) {
        buf[2 * i] = (uint8_t)(f16[i].h & 0xff);
        buf[2 * i + 1] = (uint8_t)(f16[i].h >> 8);
    }
    t.nbytes = 2 * n16;
    assert_int_equal(cv_tensor_to_f32(&t, out), EMB_OK);
    for (size_t i = 0; i < n16; i++) {
        if (out[i] != f16[i].f) {
            print_error("f16 0x%04x: got %a expected %a\n", f16[i].h, (double)out[i],
                        (double)f16[i].f);
            fail();
        }
    }

    /* -0, ±inf, NaN (with payload and sign) by bits */
    static const struct {
        uint16_t h;
        uint32_t bits;
    } f16b[] = {
        {0x8000, 0x80000000u}, {0x7c00, 0x7f800000u}, {0xfc00, 0xff800000u},
        {0x7e00, 0x7fc00000u}, {0x7c01, 0x7f802000u}, {0xfe00, 0xffc00000u},
    };
    for (size_t i = 0; i < 6; i++) {
        buf[2 * i] = (uint8_t)(f16b[i].h & 0xff);
        buf[2 * i + 1] = (uint8_t)(f16b[i].h >> 8);
    }
    t.nbytes = 12;
    assert_int_equal(cv_tensor_to_f32(&t, out), EMB_OK);
    for (size_t i = 0; i < 6; i++) {
        uint32_t bits;
        memcpy(&bits, &out[i], 4);
        if (bits != f16b[i].bits) {
            print_error("f16 0x%04x: got bits 0x%08x expected 0x%08x\n", f16b[i].h, bits,
                        f16b[i].bits);
            fail();
        }
    }
    assert_true(isinf(out[1]) && out[1] > 0);
    assert_true(isnan(out[3]));

    /* every f16 value round-trips through the f32 value it converts to:
     * the conversion is monotonic and injective on non-NaN inputs */
    float prev = -INFINITY;
    for (uint32_t h = 0xfc00; h >= 0x8000; h--) { /* -inf .. -0 ascending */
        buf[0] = (uint8_t)(h & 0xff);
        buf[1] = (uint8_t)(h >> 8);
        t.nbytes = 2;
        assert_int_equal(cv_tensor_to_f32(&t, out), EMB_OK);
        if (h != 0xfc00)
            assert_true(out[0] > prev);
        prev = out[0];
    }
    for (uint32_t h = 0x0000; h <= 0x7c00; h++) { /* +0 .. inf ascending */
        buf[0] = (uint8_t)(h & 0xff);
        buf[1] = (uint8_t)(h >> 8);
        assert_int_equal(cv_tensor_to_f32(&t, out), EMB_OK);
        if (h != 0)
            assert_true(out[0] > prev);
        prev = out[0];
    }

    /* bf16: the top half of the f32 bits */
    static const uint16_t b16[] = {0x3f80, 0x7f80, 0xff80, 0x0001, 0x7fc1, 0x8000, 0xc2f7};
    t.dtype = KERN_W_BF16;
    for (size_t i = 0; i < 7; i++) {
        buf[2 * i] = (uint8_t)(b16[i] & 0xff);
        buf[2 * i + 1] = (uint8_t)(b16[i] >> 8);
    }
    t.nbytes = 14;
    assert_int_equal(cv_tensor_to_f32(&t, out), EMB_OK);
    for (size_t i = 0; i < 7; i++) {
        uint32_t bits;
        memcpy(&bits, &out[i], 4);
        assert_int_equal(bits, (uint32_t)b16[i] << 16);
    }
    assert_true(out[0] == 1.0f);
    assert_true(out[3] == 0x1p-133f);
    assert_true(out[6] == -123.5f);

    /* non-float dtypes and odd byte counts are refused */
    t.is_weight = 0;
    snprintf(t.dtype_name, sizeof t.dtype_name, "I64");
    t.nbytes = 8;
    assert_int_equal(cv_tensor_to_f32(&t, out), EMB_ERR_UNSUPPORTED);
    t.is_weight = 1;
    t.dtype = KERN_W_F16;
    t.nbytes = 3;
    assert_int_equal(cv_tensor_to_f32(&t, out), EMB_ERR_FORMAT);
}

/* ------------------------------------------------------------ small files */

static void test_small_valid_files(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p = join(dir, "ok.safetensors");
    cv_weights w = {0};

    /* empty checkpoint */
    write_st(p, "{}", 0);
    assert_int_equal(cv_weights_add_file(&w, p), EMB_OK);
    assert_int_equal(w.n, 0);
    cv_weights_close(&w);

    /* 0-size tensors, padding spaces, metadata, all byte dtypes */
    write_st(p,
             "{\"__metadata__\":{\"format\":\"pt\"},"
             "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
             "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
             "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[4,20]},"
             "\"half\":{\"dtype\":\"F16\",\"shape\":[2,1],\"data_offsets\":[20,24]},"
             "\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[24,27]},"
             "\"empty2\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[27,27]},"
             "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[27,28]}}    ",
             28);
    assert_int_equal(cv_weights_add_file(&w, p), EMB_OK);
    assert_int_equal(w.n, 7);
    const cv_tensor *t = cv_weights_find(&w, "empty");
    assert_non_null(t);
    assert_int_equal(t->nbytes, 0);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 0);
    assert_int_equal(t->shape[1], 5);
    float dummy;
    assert_int_equal(cv_tensor_to_f32(t, &dummy), EMB_OK);
    t = cv_weights_find(&w, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->nbytes, 4);
    t = cv_weights_find(&w, "ids");
    assert_false(t->is_weight);
    assert_string_equal(t->dtype_name, "I64");
    assert_int_equal(t->data[0], 4 * 7);
    t = cv_weights_find(&w, "f8");
    assert_string_equal(t->dtype_name, "F8_E4M3");

    /* the model's view: the F32/F16/BF16 tensors only, in order, shapes
     * only or with their values (in place or widened: the same numbers) */
    for (int with_data = 0; with_data <= 1; with_data++) {
        cv_model_view v;
        assert_int_equal(cv_model_view_build(&w, with_data, &v), EMB_OK);
        assert_int_equal(v.w.n, 4);
        assert_ptr_equal(v.w.t, v.t);
        static const char *const names[] = { "empty", "scalar", "half", "empty2" };
        for (size_t j = 0; j < v.w.n; j++) {
            const cv_tensor *ct = &w.t[v.from[j]];
            assert_string_equal(ct->name, names[j]);
            assert_string_equal(v.t[j].name, names[j]);
            assert_int_equal(v.t[j].ndim, ct->ndim);
            assert_memory_equal(v.t[j].shape, ct->shape, sizeof v.t[j].shape);
            if (!with_data) {
                assert_null(v.t[j].data);
                continue;
            }
            size_t count = (size_t)(ct->nbytes / kern_wtype_size(ct->dtype));
            float want[4], got[4];
            assert_true(count <= 4);
            assert_int_equal(cv_tensor_to_f32(ct, want), EMB_OK);
            if (count)
                kern_widen(v.t[j].data, v.t[j].dtype, count, got);
            assert_memory_equal(got, want, count * sizeof *got);
        }
        cv_model_view_free(&v);
    }

    /* the same file again: every name is a duplicate */
    assert_int_equal(cv_weights_add_file(&w, p), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "already defined"));
    assert_int_equal(w.n, 7); /* a refused file leaves `w` as it was */
    assert_int_equal(w.n_maps, 1);
    cv_weights_close(&w);

    free(p);
    tu_rmtree(dir);
    free(dir);
}

typedef struct hostile_case {
    const char *label;
    const char *header; /* NULL: raw bytes below */
    size_t data_len;
    const char *expect; /* substring of the message */
} hostile_case;

#define E(dt, sh, off) "{\"dtype\":" dt ",\"shape\":" sh ",\"data_offsets\":" off "}"

static const hostile_case hostile[] = {
    {"not JSON", "{abc", 0, "not valid JSON"},
    {"truncated JSON", "{\"a\":{\"dtype\":\"F32\"", 0, "not valid JSON"},
    {"array header", "[1, 2]", 0, "JSON object"},
    {"string header", "\"abc\"", 0, "JSON object"},
    {"leading space", " {}", 0, "JSON object"},
    {"entry not object", "{\"a\": 5}", 0, "tensor 'a': entry is not a JSON object"},
    {"missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': missing \"dtype\""},
    {"dtype number", "{\"a\":" E("4", "[1]", "[0,4]") "}", 4, "\"dtype\" is not a string"},
    {"unknown dtype", "{\"a\":" E("\"F17\"", "[1]", "[0,4]") "}", 4, "unknown dtype 'F17'"},
    {"lowercase dtype", "{\"a\":" E("\"f32\"", "[1]", "[0,4]") "}", 4, "unknown dtype 'f32'"},
    {"missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
     "missing \"shape\""},
    {"shape object", "{\"a\":" E("\"F32\"", "{}", "[0,4]") "}", 4, "\"shape\" is not an array"},
    {"shape negative", "{\"a\":" E("\"F32\"", "[-1]", "[0,4]") "}", 4,
     "shape[0] is not a non-negative integer"},
    {"shape float", "{\"a\":" E("\"F32\"", "[1.0]", "[0,4]") "}", 4,
     "shape[0] is not a non-negative integer"},
    {"shape string", "{\"a\":" E("\"F32\"", "[1,\"2\"]", "[0,8]") "}", 8,
     "shape[1] is not a non-negative integer"},
    {"shape 9 dims", "{\"a\":" E("\"F32\"", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4,
     "9 dimensions"},
    {"shape absurd dim", "{\"a\":" E("\"F32\"", "[0,1125899906842624]", "[0,0]") "}", 0,
     "shape[1] = 1125899906842624 is absurd"},
    {"shape count overflow",
     "{\"a\":" E("\"F32\"", "[1099511627776,1099511627776,1099511627776]", "[0,4]") "}", 4,
     "overflows"},
    {"shape overflow behind zero",
     "{\"a\":" E("\"F32\"", "[0,1099511627776,1099511627776]", "[0,0]") "}", 0, "overflows"},
    {"byte size overflow", "{\"a\":" E("\"F64\"", "[1099511627776,4194304]", "[0,4]") "}", 4,
     "byte size overflows"},
    {"integer too big for JSON", "{\"a\":" E("\"F32\"", "[99999999999999999999999]", "[0,4]") "}",
     4, "not valid JSON"},
    {"missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
     "missing \"data_offsets\""},
    {"data_offsets one value", "{\"a\":" E("\"F32\"", "[1]", "[4]") "}", 4,
     "\"data_offsets\" is not [begin, end]"},
    {"data_offsets three values", "{\"a\":" E("\"F32\"", "[1]", "[0,4,8]") "}", 4,
     "\"data_offsets\" is not [begin, end]"},
    {"data_offsets strings", "{\"a\":" E("\"F32\"", "[1]", "[\"0\",\"4\"]") "}", 4,
     "\"data_offsets\" is not [begin, end]"},
    {"data_offsets negative", "{\"a\":" E("\"F32\"", "[1]", "[-4,0]") "}", 4,
     "\"data_offsets\" is not [begin, end]"},
    {"data_offsets reversed", "{\"x\":" E("\"F32\"", "[1]", "[8,4]") "}", 8,
     "model.safetensors: tensor 'x': data_offsets [8, 4] reversed"},
    {"size mismatch", "{\"a\":" E("\"F32\"", "[2]", "[0,4]") "}", 4, "hold 4 bytes, dtype F32 x shape needs 8"},
    {"end beyond file", "{\"a\":" E("\"F32\"", "[4]", "[0,16]") "}", 8, "beyond the data buffer"},
    {"end far beyond file", "{\"a\":" E("\"U8\"", "[1]", "[9223372036854775806,9223372036854775807]") "}", 8,
     "beyond the data buffer"},
    {"overlap", "{\"a\":" E("\"F32\"", "[2]", "[0,8]") ",\"b\":" E("\"F32\"", "[2]", "[4,12]") "}",
     12, "overlap"},
    {"same range twice",
     "{\"a\":" E("\"F32\"", "[1]", "[0,4]") ",\"b\":" E("\"F32\"", "[1]", "[0,4]") "}", 4,
     "overlap"},
    {"gap", "{\"a\":" E("\"F32\"", "[1]", "[0,4]") ",\"b\":" E("\"F32\"", "[1]", "[8,12]") "}", 12,
     "gap"},
    {"trailing data", "{\"a\":" E("\"F32\"", "[1]", "[0,4]") "}", 9, "cover 4 bytes of a 9-byte"},
    {"duplicate names",
     "{\"a\":" E("\"F32\"", "[1]", "[0,4]") ",\"a\":" E("\"F32\"", "[1]", "[4,8]") "}", 8,
     "not valid JSON"},
    {"metadata not object", "{\"__metadata__\": [1]}", 0, "\"__metadata__\" is not an object"},
    {"metadata value number", "{\"__metadata__\": {\"format\": 1}}", 0,
     "\"__metadata__\" value 'format' is not a string"},
};

static void check_refused(const char *path, const char *label, const char *expect)
{
    cv_weights w = {0};
    emb_status st = cv_weights_add_file(&w, path);
    const char *msg = rt_last_error();
    if (st != EMB_ERR_FORMAT || !strstr(msg, expect) || !strstr(msg, "model.safetensors")) {
        print_error("case '%s': status %d, message \"%s\"; expected EMB_ERR_FORMAT and \"%s\"\n",
                    label, (int)st, msg, expect);
        fail();
    }
    assert_int_equal(w.n, 0);
    assert_int_equal(w.n_maps, 0);
    cv_weights_close(&w);
}

static void test_hostile_headers(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p = join(dir, "model.safetensors");
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        write_st(p, hostile[i].header, hostile[i].data_len);
        check_refused(p, hostile[i].label, hostile[i].expect);
    }
    free(p);
    tu_rmtree(dir);
    free(dir);
}

static void test_hostile_lengths(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p = join(dir, "model.safetensors");

    tu_write_file(p, "\x02\x00\x00", 3);
    check_refused(p, "3-byte file", "too short");
    tu_write_file(p, "", 0);
    check_refused(p, "empty file", "too short");
    write_st_raw(p, 100, "{}", 2, 0);
    check_refused(p, "length beyond file", "beyond the file");
    write_st_raw(p, 10, "{}", 2, 0);
    check_refused(p, "length just beyond file", "beyond the file");
    write_st_raw(p, (uint64_t)1 << 40, "{}", 2, 0);
    check_refused(p, "length absurd", "absurd");
    write_st_raw(p, UINT64_MAX, "{}", 2, 0);
    check_refused(p, "length 2^64-1", "absurd");
    write_st_raw(p, UINT64_MAX - 6, "{}", 2, 0);
    check_refused(p, "length wrapping 8+N", "absurd");
    write_st_raw(p, 100000001, "{}", 2, 0);
    check_refused(p, "length 1e8+1", "absurd");
    write_st_raw(p, 0, "", 0, 0);
    check_refused(p, "length 0", "JSON object");
    write_st_raw(p, 1, "{", 1, 0);
    check_refused(p, "length 1", "JSON object");
    write_st_raw(p, 4, "{}\0 ", 4, 0);
    check_refused(p, "NUL inside header", "not valid JSON");
    write_st_raw(p, 4, "{}\xff ", 4, 0);
    check_refused(p, "invalid UTF-8 after header", "not valid JSON");
    write_st(p, "{\"\xc3\x28\": 1}", 0);
    check_refused(p, "invalid UTF-8 in key", "not valid JSON");

    /* a long name is reported, not overflowed */
    char big[9000];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"");
    memset(big + n, 'n', 8000);
    n += 8000;
    snprintf(big + n, sizeof big - n, "\":" E("\"F32\"", "[1]", "[8,4]") "}");
    write_st(p, big, 8);
    check_refused(p, "long name", "reversed");

    cv_weights w = {0};
    char *missing = join(dir, "nope.safetensors");
    assert_int_equal(cv_weights_add_file(&w, missing), EMB_ERR_IO);
    assert_non_null(strstr(rt_last_error(), "nope.safetensors"));
    assert_int_equal(cv_weights_add_file(&w, dir), EMB_ERR_IO); /* a directory */
    free(missing);
    free(p);
    tu_rmtree(dir);
    free(dir);
}

/* Random byte flips in a valid small file must never crash (statuses may
 * be OK or FORMAT). */
static void test_fuzz_flips(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p = join(dir, "model.safetensors");
    const char *header = "{\"__metadata__\":{\"format\":\"pt\"},"
                         "\"a\":" E("\"F32\"", "[2,2]", "[0,16]") ","
                         "\"b\":" E("\"F16\"", "[3]", "[16,22]") ","
                         "\"c\":" E("\"BF16\"", "[1]", "[22,24]") "}";
    size_t hlen = strlen(header), len = 8 + hlen + 24;
    uint8_t *orig = malloc(len), *buf = malloc(len);
    assert_non_null(orig);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        orig[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(orig + 8, header, hlen);
    memset(orig + 8 + hlen, 0x3c, 24);
    tu_write_file(p, orig, len);
    cv_weights w = {0};
    assert_int_equal(cv_weights_add_file(&w, p), EMB_OK);
    cv_weights_close(&w);

    uint32_t seed = 12345;
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(buf, orig, len);
        int flips = 1 + iter % 3;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % (8 + hlen);
            seed = seed * 1103515245u + 12345u;
            buf[pos] = (uint8_t)(seed >> 16);
        }
        size_t flen = len - (size_t)(iter % 5 == 4 ? (seed >> 4) % 8 : 0);
        tu_write_file(p, buf, flen);
        emb_status st = cv_weights_add_file(&w, p);
        assert_true(st == EMB_OK || st == EMB_ERR_FORMAT);
        if (st == EMB_OK) {
            float out[64];
            for (size_t i = 0; i < w.n; i++)
                if (w.t[i].is_weight && w.t[i].nbytes <= sizeof out)
                    (void)cv_tensor_to_f32(&w.t[i], out);
        } else {
            assert_true(strlen(rt_last_error()) > 0);
        }
        cv_weights_close(&w);
    }
    free(orig);
    free(buf);
    free(p);
    tu_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ shards */

/* Write the tensors of `src` whose index is in [lo, hi) as a safetensors file. */
static void write_shard(const char *path, const cv_weights *src, size_t lo, size_t hi)
{
    json_t *h = json_object();
    uint64_t off = 0;
    for (size_t i = lo; i < hi; i++) {
        const cv_tensor *t = &src->t[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        json_object_set_new(h, t->name,
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", t->dtype_name, "shape", shape,
                                      "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + t->nbytes)));
        off += t->nbytes;
    }
    char *text = json_dumps(h, JSON_COMPACT);
    assert_non_null(text);
    size_t hlen = strlen(text);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    assert_int_equal(fwrite(lenb, 1, 8, f), 8);
    assert_int_equal(fwrite(text, 1, hlen, f), hlen);
    for (size_t i = lo; i < hi; i++)
        if (src->t[i].nbytes)
            assert_int_equal(fwrite(src->t[i].data, 1, src->t[i].nbytes, f), src->t[i].nbytes);
    assert_int_equal(fclose(f), 0);
    free(text);
    json_decref(h);
}

/* An index mapping tensor i to shard1 if i < split, else shard2; `bad`
 * replaces the shard name of tensor `bad_i` when non-NULL. */
static void write_index(const char *dir, const cv_weights *src, size_t split, size_t bad_i,
                        const char *bad)
{
    json_t *map = json_object();
    for (size_t i = 0; i < src->n; i++) {
        const char *s = i < split ? "model-00001-of-00002.safetensors"
                                  : "model-00002-of-00002.safetensors";
        if (bad && i == bad_i)
            s = bad;
        json_object_set_new(map, src->t[i].name, json_string(s));
    }
    json_t *root = json_pack("{s:{s:I},s:o}", "metadata", "total_size", (json_int_t)1, "weight_map",
                             map);
    char *p = join(dir, "model.safetensors.index.json");
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    free(p);
    json_decref(root);
}

static void test_sharded(void **state)
{
    (void)state;
    cv_weights ref = {0}, w = {0};
    assert_int_equal(cv_weights_open_dir(&ref, FIX "bert-e5"), EMB_OK);
    size_t split = ref.n / 2;
    char *dir = tu_tmpdir();
    char *s1 = join(dir, "model-00001-of-00002.safetensors");
    char *s2 = join(dir, "model-00002-of-00002.safetensors");
    write_shard(s1, &ref, 0, split);
    write_shard(s2, &ref, split, ref.n);
    write_index(dir, &ref, split, 0, NULL);

    emb_status st = cv_weights_open_dir(&w, dir);
    if (st != EMB_OK)
        print_error("%s\n", rt_last_error());
    assert_int_equal(st, EMB_OK);
    assert_int_equal(w.n, ref.n);
    assert_int_equal(w.n_maps, 2);
    for (size_t i = 0; i < ref.n; i++) {
        const cv_tensor *a = &ref.t[i], *b = cv_weights_find(&w, a->name);
        assert_non_null(b);
        assert_int_equal(a->is_weight, b->is_weight);
        assert_int_equal(a->dtype, b->dtype);
        assert_int_equal(a->ndim, b->ndim);
        for (int d = 0; d < a->ndim; d++)
            assert_int_equal(a->shape[d], b->shape[d]);
        assert_int_equal(a->nbytes, b->nbytes);
        assert_memory_equal(a->data, b->data, a->nbytes);
    }
    cv_weights_close(&w);

    /* the index names the wrong shard for one tensor */
    write_index(dir, &ref, split, 0, "model-00002-of-00002.safetensors");
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), ref.t[0].name));
    assert_non_null(strstr(rt_last_error(), "not in shard"));
    assert_int_equal(w.n, 0);

    /* path traversal and other non-plain shard names */
    static const char *const bad[] = {"../model.safetensors", "sub/model.safetensors",
                                      "/etc/passwd", "..", ".", "", "a\\b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_index(dir, &ref, split, 3, bad[i]);
        st = cv_weights_open_dir(&w, dir);
        if (st != EMB_ERR_FORMAT || !strstr(rt_last_error(), "not a file name")) {
            print_error("shard name '%s': status %d, %s\n", bad[i], (int)st, rt_last_error());
            fail();
        }
    }

    /* a shard named by the index is missing */
    write_index(dir, &ref, split, 3, "model-00003-of-00003.safetensors");
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_IO);
    assert_non_null(strstr(rt_last_error(), "model-00003-of-00003.safetensors"));

    /* a tensor present in both shards */
    write_shard(s2, &ref, split - 1, ref.n);
    write_index(dir, &ref, split, 0, NULL);
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "already defined"));
    assert_int_equal(w.n, 0);
    assert_int_equal(w.n_maps, 0);

    /* an index without weight_map, and invalid JSON */
    char *ip = join(dir, "model.safetensors.index.json");
    tu_write_file(ip, "{\"metadata\": {}}", 16);
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "weight_map"));
    tu_write_file(ip, "{\"weight_map\": {\"a\": 3}}", 24);
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "not a string"));
    tu_write_file(ip, "{\"weight_map\": ", 15);
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "invalid JSON"));

    free(ip);
    free(s1);
    free(s2);
    tu_rmtree(dir);
    free(dir);
    cv_weights_close(&ref);
}

/* Indexes with very many entries are refused (sorted lookups, no quadratic
 * scan; a shard-count cap), without a crash. */
static void test_huge_index(void **state)
{
    (void)state;
    cv_weights ref = {0}, w = {0};
    assert_int_equal(cv_weights_open_dir(&ref, FIX "bert-e5"), EMB_OK);
    char *dir = tu_tmpdir();
    char *s1 = join(dir, "model-00001-of-00002.safetensors");
    write_shard(s1, &ref, 0, ref.n);
    char *ip = join(dir, "model.safetensors.index.json");
    const size_t n = 100000;

    /* 100000 tensors named in the one shard that holds 39 */
    json_t *map = json_object();
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "t.%zu.weight", i);
        json_object_set_new(map, name, json_string("model-00001-of-00002.safetensors"));
    }
    json_t *root = json_pack("{s:o}", "weight_map", map);
    assert_int_equal(json_dump_file(root, ip, JSON_COMPACT), 0);
    json_decref(root);
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "not in shard"));

    /* 100000 distinct shard names */
    map = json_object();
    for (size_t i = 0; i < n; i++) {
        char name[64], shard[64];
        snprintf(name, sizeof name, "t.%zu.weight", i);
        snprintf(shard, sizeof shard, "model-%06zu.safetensors", i);
        json_object_set_new(map, name, json_string(shard));
    }
    root = json_pack("{s:o}", "weight_map", map);
    assert_int_equal(json_dump_file(root, ip, JSON_COMPACT), 0);
    json_decref(root);
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_FORMAT);
    assert_non_null(strstr(rt_last_error(), "100000 shard files"));

    free(ip);
    free(s1);
    tu_rmtree(dir);
    free(dir);
    cv_weights_close(&ref);
}

static void test_missing_and_pytorch(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cv_weights w = {0};
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_IO);
    assert_non_null(strstr(rt_last_error(), "model.safetensors"));

    char *p = join(dir, "pytorch_model.bin");
    tu_write_file(p, "PK\x03\x04", 4);
    assert_int_equal(cv_weights_open_dir(&w, dir), EMB_ERR_UNSUPPORTED);
    assert_non_null(strstr(rt_last_error(), "pytorch_model.bin"));
    assert_non_null(strstr(rt_last_error(), "safetensors"));
    free(p);
    tu_rmtree(dir);
    free(dir);

    assert_int_equal(cv_weights_open_dir(&w, "tests/fixtures/models/no-such-dir"), EMB_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bert_fixture),
        cmocka_unit_test(test_all_fixtures_open),
        cmocka_unit_test(test_f16_against_f32),
        cmocka_unit_test(test_bf16_against_f32),
        cmocka_unit_test(test_f16_bf16_special_values),
        cmocka_unit_test(test_small_valid_files),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_fuzz_flips),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_huge_index),
        cmocka_unit_test(test_missing_and_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
