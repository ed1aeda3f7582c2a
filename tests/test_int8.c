/* int8 model files (emb convert --dtype int8, format 1.2): what the writer
 * stores — int8 panels with the calibration's outlier features kept in f32
 * beside them — that the outliers are the features the fp32 model's
 * calibration pass drives hardest, that conversion is deterministic to the
 * byte, that a hostile or inconsistent int8 file is refused at open with
 * EMB_ERR_FORMAT and a message naming the problem, and that format 1.1 int8
 * files (no outliers) still open. The vectors themselves are checked
 * against the goldens in test_golden.c; the kernel in test_linear_i8.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "testutil.h"

#include "api/api.h" /* api_convert: a format 1.1 int8 file */
#include "convert/convert.h" /* the built-in calibration texts */

#define BERT "tests/fixtures/models/bert-e5"
#define QUERY "encoder.layer.0.attention.self.query.weight"
#define OUTLIERS 16 /* bert's int8_outliers (model/arch.c); the fixture's layers have 32 or 64 inputs */

static char *tmp;
static char *f32_path, *i8_path, *v11_path;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    f32_path = tu_convert(BERT, tmp, "f32.h5", NULL);
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.dtype = EMB_DTYPE_INT8;
    i8_path = tu_convert(BERT, tmp, "int8.h5", &co);
    char path[1024];
    snprintf(path, sizeof path, "%s/int8-v1.1.h5", tmp);
    if (api_convert(BERT, path, &co, 0) == EMB_OK)
        v11_path = strdup(path);
    return f32_path && i8_path && v11_path ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(f32_path);
    free(i8_path);
    free(v11_path);
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* The dataset /weights/<name> of rank `rank` (1 or 2) as floats (int8 or
 * f32 in the file); dims[] its shape; *is_i8 (may be NULL) whether it is
 * stored as int8. */
static float *read_dataset(const char *path, const char *name, int rank, size_t *dims,
                           int *is_i8)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char where[256];
    snprintf(where, sizeof where, "/weights/%s", name);
    hid_t ds = H5Dopen2(f, where, H5P_DEFAULT);
    assert_true(ds >= 0);
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    hsize_t hd[2] = { 1, 1 };
    assert_int_equal(H5Sget_simple_extent_ndims(space), rank);
    H5Sget_simple_extent_dims(space, hd, NULL);
    dims[0] = (size_t)hd[0];
    if (rank == 2)
        dims[1] = (size_t)hd[1];
    if (is_i8)
        *is_i8 = H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 1 &&
                 H5Tget_sign(type) == H5T_SGN_2;
    float *out = calloc((size_t)(hd[0] * hd[1]), sizeof *out);
    assert_non_null(out);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(f);
    return out;
}

static float *read_matrix(const char *path, const char *name, size_t *rows, size_t *cols,
                          int *is_i8)
{
    size_t dims[2];
    float *out = read_dataset(path, name, 2, dims, is_i8);
    *rows = dims[0];
    *cols = dims[1];
    return out;
}

static float *read_vector(const char *path, const char *name, size_t *n)
{
    return read_dataset(path, name, 1, n, NULL);
}

/* The int64 attribute `name` of /weights/<ds> (ds "" for the root group)
 * in the file at path. */
static int64_t read_attr_i64(const char *path, const char *ds, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char where[256];
    snprintf(where, sizeof where, *ds ? "/weights/%s" : "/%s", ds);
    int64_t v = -1;
    hid_t a = H5Aopen_by_name(f, where, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

/* The string attribute "dtype" of /weights/<ds> (malloc'ed). */
static char *read_dtype(const char *path, const char *ds)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char where[256];
    snprintf(where, sizeof where, "/weights/%s", ds);
    hid_t a = H5Aopen_by_name(f, where, "dtype", H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    size_t n = H5Tget_size(t);
    char *v = calloc(n + 1, 1);
    assert_non_null(v);
    assert_true(H5Aread(a, t, v) >= 0);
    H5Tclose(t), H5Aclose(a), H5Fclose(f);
    return v;
}

/* Whether /weights/<ds> exists in the file at path. */
static int has_dataset(const char *path, const char *ds)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char where[256];
    snprintf(where, sizeof where, "/weights/%s", ds);
    int yes = H5Lexists(f, where, H5P_DEFAULT) > 0;
    H5Fclose(f);
    return yes;
}

/* The outlier columns of /weights/<ds> as int32 ("<ds>_outlier_cols"). */
static int32_t *read_outlier_cols(const char *path, const char *ds, size_t *n)
{
    char name[256];
    snprintf(name, sizeof name, "%s_outlier_cols", ds);
    float *f = read_vector(path, name, n);
    int32_t *c = malloc(*n * sizeof *c);
    assert_non_null(c);
    for (size_t i = 0; i < *n; i++)
        c[i] = (int32_t)f[i];
    free(f);
    return c;
}

/* Linear weights are int8 in [-127, 127], stored as 32-column VNNI panels
 * (byte (p·kq + q)·128 + 4c + b is w[32p + c, 4q + b], zero past the
 * weight) with the logical shape in "rows"/"cols"; format 1.2 (dtype
 * "i8-panels-outliers"): "outliers" = 16 columns, listed in increasing
 * order in "<name>_outlier_cols", whose f32 weights are "<name>_outlier_weight"
 * [16, rows] exactly and whose int8 weights are 0; a scale per row equal to
 * max|w| / 127 over the row's other columns, each of them within half a
 * step of the original; embedding tables and vectors keep the
 * checkpoint's f32. */
static void test_writer_quantizes_linear_weights_only(void **state)
{
    (void)state;
    size_t r2, c2, ns, pdims[2];
    int i8, f32_is_i8;
    assert_int_equal(read_attr_i64(i8_path, "", "format_version_minor"), 2);
    char *dtype = read_dtype(i8_path, QUERY);
    assert_string_equal(dtype, "i8-panels-outliers");
    free(dtype);
    float *panels = read_dataset(i8_path, QUERY, 2, pdims, &i8);
    float *w = read_matrix(f32_path, QUERY, &r2, &c2, &f32_is_i8);
    float *s = read_vector(i8_path, QUERY "_scale", &ns);
    assert_true(i8);
    assert_false(f32_is_i8);
    size_t rows = (size_t)read_attr_i64(i8_path, QUERY, "rows");
    size_t cols = (size_t)read_attr_i64(i8_path, QUERY, "cols");
    assert_int_equal(rows, r2);
    assert_int_equal(cols, c2);
    assert_int_equal(ns, rows);
    size_t k, wr, wc;
    int32_t *oc = read_outlier_cols(i8_path, QUERY, &k);
    assert_int_equal(k, OUTLIERS);
    assert_int_equal(read_attr_i64(i8_path, QUERY, "outliers"), OUTLIERS);
    float *ow = read_matrix(i8_path, QUERY "_outlier_weight", &wr, &wc, NULL);
    assert_int_equal(wr, k);
    assert_int_equal(wc, rows);
    unsigned char *is_out = calloc(cols, 1);
    assert_non_null(is_out);
    for (size_t t = 0; t < k; t++) {
        assert_true(oc[t] >= 0 && (size_t)oc[t] < cols);
        assert_true(t == 0 || oc[t] > oc[t - 1]);
        is_out[oc[t]] = 1;
        for (size_t r = 0; r < rows; r++)
            assert_true(ow[t * rows + r] == w[r * cols + (size_t)oc[t]]);
    }
    size_t kq = (cols + 3) / 4;
    assert_int_equal(pdims[0], (rows + 31) / 32);
    assert_int_equal(pdims[1], kq * 128);
    float *q = calloc(rows * cols, sizeof *q);
    assert_non_null(q);
    for (size_t b = 0; b < pdims[0] * pdims[1]; b++) {
        size_t p = b / (kq * 128), qq = b / 128 % kq, c = b % 128 / 4, j = 32 * p + c;
        size_t t = 4 * qq + b % 4;
        if (j < rows && t < cols)
            q[j * cols + t] = panels[b];
        else
            assert_true(panels[b] == 0.0f); /* padding */
    }
    free(panels);
    double worst = 0;
    size_t worst_at = 0;
    for (size_t r = 0; r < rows; r++) {
        float amax = 0;
        for (size_t c = 0; c < cols; c++)
            if (!is_out[c])
                amax = fmaxf(amax, fabsf(w[r * cols + c]));
        assert_float_equal(s[r], amax / 127.0f, 1e-6f * amax);
        int hit = 0;
        for (size_t c = 0; c < cols; c++) {
            float v = q[r * cols + c];
            if (is_out[c]) {
                assert_true(v == 0.0f);
                continue;
            }
            assert_true(v >= -127.0f && v <= 127.0f);
            hit |= fabsf(v) == 127.0f;
            double err = fabs((double)s[r] * (double)v - (double)w[r * cols + c]);
            double steps = s[r] > 0 ? err / (double)s[r] : err;
            if (steps > worst) {
                worst = steps;
                worst_at = r * cols + c;
            }
        }
        assert_true(hit || amax == 0.0f); /* the largest weight maps to ±127 */
    }
    if (worst > 0.5 + 1e-3) {
        print_error("weight %zu is %.3f quantization steps from the original (max 0.5)\n",
                    worst_at, worst);
        fail();
    }
    free(q), free(w), free(s), free(oc), free(ow), free(is_out);
    size_t er, ec;
    float *emb = read_matrix(i8_path, "embeddings.word_embeddings.weight", &er, &ec, &i8);
    assert_false(i8);
    free(emb);
}

/* A copy of the int8 file as `name`, opened read-write (H5Fclose it). */
static hid_t edit_copy(const char *from, const char *name, char *path, size_t cap)
{
    tu_copy_file(from, tmp, name);
    snprintf(path, cap, "%s/%s", tmp, name);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

/* Replace /weights/<name> by a contiguous dataset of `type` and shape dims
 * (rank nd) filled with `data` (in mem_type), with a "dtype" attribute. */
static void put_dataset(hid_t f, const char *name, hid_t type, hid_t mem_type, int nd,
                        const hsize_t *dims, const void *data, const char *dtype)
{
    char where[256];
    snprintf(where, sizeof where, "/weights/%s", name);
    if (H5Lexists(f, where, H5P_DEFAULT) > 0)
        assert_true(H5Ldelete(f, where, H5P_DEFAULT) >= 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(H5Pset_layout(dcpl, H5D_CONTIGUOUS) >= 0);
    assert_true(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) >= 0);
    hid_t space = H5Screate_simple(nd, dims, NULL);
    hid_t ds = H5Dcreate2(f, where, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, strlen(dtype));
    hid_t as = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(ds, "dtype", st, as, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, st, dtype) >= 0);
    H5Aclose(a), H5Sclose(as), H5Tclose(st);
    H5Dclose(ds), H5Sclose(space), H5Pclose(dcpl);
}

/* Set the int64 attribute `name` of /weights/<ds>. */
static void put_attr_i64(hid_t f, const char *ds, const char *name, int64_t v)
{
    char where[256];
    snprintf(where, sizeof where, "/weights/%s", ds);
    hid_t as = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(f, where, name, H5T_STD_I64LE, as, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a), H5Sclose(as);
}

static void expect_refused(const char *path, const char *needle)
{
    emb_model *m = (emb_model *)(uintptr_t)1;
    emb_status st = emb_model_open(path, NULL, &m);
    if (st != EMB_ERR_FORMAT || !strstr(emb_last_error(), needle)) {
        print_error("%s: got %s \"%s\", expected EMB_ERR_FORMAT mentioning \"%s\"\n", path,
                    emb_status_string(st), emb_last_error(), needle);
        fail();
    }
    assert_null(m);
}

static void test_open_refuses_missing_scale(void **state)
{
    (void)state;
    char path[1024];
    hid_t f = edit_copy(i8_path, "no-scale.h5", path, sizeof path);
    assert_true(H5Ldelete(f, "/weights/" QUERY "_scale", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    expect_refused(path, QUERY "_scale is missing");
}

static void test_open_refuses_bad_scales(void **state)
{
    (void)state;
    size_t n;
    float *s = read_vector(i8_path, QUERY "_scale", &n);
    static const float bad[] = { NAN, -1.0f, INFINITY };
    static const char *const names[] = { "nan-scale.h5", "negative-scale.h5", "inf-scale.h5" };
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        hid_t f = edit_copy(i8_path, names[i], path, sizeof path);
        float *t = malloc(n * sizeof *t);
        assert_non_null(t);
        memcpy(t, s, n * sizeof *t);
        t[n / 2] = bad[i];
        hsize_t dim = n;
        put_dataset(f, QUERY "_scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &dim, t, "f32");
        H5Fclose(f);
        expect_refused(path, "expected a finite scale >= 0");
        free(t);
    }
    /* one scale short */
    char path[1024];
    hid_t f = edit_copy(i8_path, "short-scale.h5", path, sizeof path);
    hsize_t dim = n - 1;
    put_dataset(f, QUERY "_scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &dim, s, "f32");
    H5Fclose(f);
    expect_refused(path, "has shape");
    free(s);
}

/* int8 is for Linear weights only: an int8 embedding table, an int8 vector,
 * an unknown 8-bit dtype, panels that do not fit their rows/cols (or lack
 * them), and a scale beside a float weight are refused. */
static void test_open_refuses_misplaced_int8(void **state)
{
    (void)state;
    static const char *const emb = "embeddings.position_embeddings.weight";
    size_t r, c;
    int i8;
    free(read_matrix(f32_path, emb, &r, &c, &i8));
    hsize_t dims[2] = { (r + 31) / 32, (c + 3) / 4 * 128 };
    int8_t *q = calloc(dims[0] * dims[1], 1);
    assert_non_null(q);
    char path[1024];
    hid_t f = edit_copy(i8_path, "int8-embedding.h5", path, sizeof path);
    put_dataset(f, emb, H5T_STD_I8LE, H5T_NATIVE_INT8, 2, dims, q, "i8-panels");
    put_attr_i64(f, emb, "rows", (int64_t)r);
    put_attr_i64(f, emb, "cols", (int64_t)c);
    H5Fclose(f);
    expect_refused(path, "only Linear weights may be");

    f = edit_copy(i8_path, "int8-vector.h5", path, sizeof path);
    put_dataset(f, "embeddings.LayerNorm.weight", H5T_STD_I8LE, H5T_NATIVE_INT8, 1, dims + 1, q,
                "i8-panels");
    H5Fclose(f);
    expect_refused(path, "must be a matrix");

    f = edit_copy(i8_path, "u8-dtype.h5", path, sizeof path);
    put_dataset(f, emb, H5T_STD_I8LE, H5T_NATIVE_INT8, 2, dims, q, "u8");
    H5Fclose(f);
    expect_refused(path, "8-bit dtype 'u8' unknown");

    /* the query weight's panels with a wrong row count, then without "cols" */
    size_t pd[2];
    float *panels = read_dataset(i8_path, QUERY, 2, pd, NULL);
    int8_t *raw = malloc(pd[0] * pd[1]);
    assert_non_null(raw);
    for (size_t i = 0; i < pd[0] * pd[1]; i++)
        raw[i] = (int8_t)panels[i];
    hsize_t qd[2] = { pd[0], pd[1] };
    int64_t rows = read_attr_i64(i8_path, QUERY, "rows"), cols = read_attr_i64(i8_path, QUERY, "cols");
    f = edit_copy(i8_path, "int8-misfit.h5", path, sizeof path);
    put_dataset(f, QUERY, H5T_STD_I8LE, H5T_NATIVE_INT8, 2, qd, raw, "i8-panels");
    put_attr_i64(f, QUERY, "rows", rows + 32);
    put_attr_i64(f, QUERY, "cols", cols);
    H5Fclose(f);
    expect_refused(path, "do not hold");
    f = edit_copy(i8_path, "int8-no-cols.h5", path, sizeof path);
    put_dataset(f, QUERY, H5T_STD_I8LE, H5T_NATIVE_INT8, 2, qd, raw, "i8-panels");
    put_attr_i64(f, QUERY, "rows", rows);
    H5Fclose(f);
    expect_refused(path, "cols");
    free(raw), free(panels);

    size_t n;
    float *s = read_vector(i8_path, QUERY "_scale", &n);
    f = edit_copy(f32_path, "f32-with-scale.h5", path, sizeof path);
    hsize_t dim = n;
    put_dataset(f, QUERY "_scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &dim, s, "f32");
    H5Fclose(f);
    expect_refused(path, "is present but");
    free(s), free(q);
}

/* Byte offset in `st` (a safetensors file) of tensor `name`'s data. */
static size_t tensor_offset(const char *st, size_t len, const char *name)
{
    uint64_t hl;
    assert_true(len > 8);
    memcpy(&hl, st, 8);
    json_error_t err;
    json_t *h = json_loadb(st + 8, (size_t)hl, 0, &err);
    assert_non_null(h);
    json_t *t = json_object_get(h, name);
    assert_non_null(t);
    size_t off = (size_t)json_integer_value(json_array_get(json_object_get(t, "data_offsets"), 0));
    json_decref(h);
    return 8 + (size_t)hl + off;
}

/* A checkpoint whose Linear weight holds a NaN cannot be quantized: the
 * conversion fails with EMB_ERR_FORMAT naming the tensor and leaves no file
 * (with --dtype f32 the same folder converts). */
static void test_convert_refuses_nan_weight(void **state)
{
    (void)state;
    char dir[512], src[1024], out[1024];
    snprintf(dir, sizeof dir, "%s/nan-model", tmp);
    assert_int_equal(tu_run(NULL, "cp -r '%s' '%s'", BERT, dir), 0);
    size_t len;
    char *st = tu_read_file(BERT "/model.safetensors", &len);
    assert_non_null(st);
    size_t off = tensor_offset(st, len, "encoder.layer.1.output.dense.weight");
    float nan = NAN;
    memcpy(st + off + 4 * 5, &nan, 4);
    snprintf(src, sizeof src, "%s/model.safetensors", dir);
    tu_write_file(src, st, len);
    free(st);

    emb_convert_options co;
    emb_convert_options_init(&co);
    co.dtype = EMB_DTYPE_INT8;
    snprintf(out, sizeof out, "%s/nan-int8.h5", tmp);
    if (emb_convert(dir, out, &co) != EMB_ERR_FORMAT) {
        print_error("convert: %s\n", emb_last_error());
        fail();
    }
    assert_non_null(strstr(emb_last_error(), "encoder.layer.1.output.dense.weight"));
    assert_non_null(strstr(emb_last_error(), "cannot quantize"));
    FILE *fp = fopen(out, "rb");
    assert_null(fp);
    co.dtype = EMB_DTYPE_F32;
    assert_int_equal(emb_convert(dir, out, &co), EMB_OK);
    co.dtype = (emb_dtype)5;
    assert_int_equal(emb_convert(dir, out, &co), EMB_ERR_INVALID_ARGUMENT);
}

/* ---------------------------------------------------- outlier features */

/* The outliers come from the fp32 model's forward pass over the built-in
 * calibration texts: layer 0's query, key and value read the embeddings'
 * LayerNorm output, which this test recomputes in double from the f32
 * file's tables for every calibration text (tokenized as the calibration
 * does: the query prompt before even texts, the passage prompt before odd
 * ones, specials, cut to the model's length) — the 16 chosen features
 * must be the 16 largest max |x| (up to float noise at the boundary), the
 * same for the three layers. */
static void test_outliers_from_calibration(void **state)
{
    (void)state;
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(f32_path, NULL, &m), EMB_OK);
    size_t vr, h, pr, pc, tr, tc;
    float *word = read_matrix(f32_path, "embeddings.word_embeddings.weight", &vr, &h, NULL);
    float *pos = read_matrix(f32_path, "embeddings.position_embeddings.weight", &pr, &pc, NULL);
    float *type = read_matrix(f32_path, "embeddings.token_type_embeddings.weight", &tr, &tc, NULL);
    size_t n1, n2;
    float *lw = read_vector(f32_path, "embeddings.LayerNorm.weight", &n1);
    float *lb = read_vector(f32_path, "embeddings.LayerNorm.bias", &n2);
    assert_int_equal(pc, h);
    assert_int_equal(n1, h);
    double *amax = calloc(h, sizeof *amax), *row = malloc(h * sizeof *row);
    int32_t ids[600];
    char input[8192];
    assert_non_null(amax);
    assert_non_null(row);
    emb_tokenize_options to;
    emb_tokenize_options_init(&to);
    to.truncate = 1;
    for (size_t i = 0; i < cv_calibration_count; i++) {
        snprintf(input, sizeof input, "%s%s", i % 2 ? "passage: " : "query: ",
                 cv_calibration_texts[i]);
        size_t n = 0;
        assert_int_equal(emb_tokenize(m, input, strlen(input), &to, ids, 600, &n), EMB_OK);
        for (size_t p = 0; p < n; p++) {
            double mean = 0, var = 0;
            for (size_t c = 0; c < h; c++) {
                row[c] = (double)word[(size_t)ids[p] * h + c] + (double)type[c] +
                         (double)pos[p * h + c];
                mean += row[c];
            }
            mean /= (double)h;
            for (size_t c = 0; c < h; c++)
                var += (row[c] - mean) * (row[c] - mean);
            var /= (double)h;
            for (size_t c = 0; c < h; c++) {
                double x = (row[c] - mean) / sqrt(var + 1e-12) * lw[c] + lb[c];
                amax[c] = fmax(amax[c], fabs(x));
            }
        }
    }
    static const char *const lin[] = { QUERY, "encoder.layer.0.attention.self.key.weight",
                                       "encoder.layer.0.attention.self.value.weight" };
    size_t k;
    int32_t *first = read_outlier_cols(i8_path, lin[0], &k);
    assert_int_equal(k, OUTLIERS);
    unsigned char *chosen = calloc(h, 1);
    assert_non_null(chosen);
    double lowest_in = INFINITY, highest_out = 0;
    for (size_t t = 0; t < k; t++)
        chosen[first[t]] = 1;
    for (size_t c = 0; c < h; c++) {
        if (chosen[c])
            lowest_in = fmin(lowest_in, amax[c]);
        else
            highest_out = fmax(highest_out, amax[c]);
    }
    if (lowest_in < highest_out * (1 - 1e-5)) {
        print_error("a chosen feature reached max |x| %.7g, an unchosen one %.7g\n", lowest_in,
                    highest_out);
        fail();
    }
    for (size_t l = 1; l < 3; l++) {
        size_t k2;
        int32_t *c2 = read_outlier_cols(i8_path, lin[l], &k2);
        assert_int_equal(k2, k);
        assert_memory_equal(c2, first, k * sizeof *c2);
        free(c2);
    }
    free(first), free(chosen), free(amax), free(row);
    free(word), free(pos), free(type), free(lw), free(lb);
    emb_model_close(m);
}

/* The same checkpoint converts to the same bytes every time (no clock in
 * the file, calibration deterministic); --calibration texts from a file
 * give another valid file; an empty, missing or non-UTF-8 file is refused
 * and leaves no output. */
static void test_convert_deterministic_and_calibration_file(void **state)
{
    (void)state;
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.dtype = EMB_DTYPE_INT8;
    char *again = tu_convert(BERT, tmp, "int8-again.h5", &co);
    size_t la, lb;
    char *a = tu_read_file(i8_path, &la), *b = tu_read_file(again, &lb);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a), free(b), free(again);

    char texts[1024], out[1024];
    snprintf(texts, sizeof texts, "%s/calibration.txt", tmp);
    static const char lines[] = "the cat sat on the mat\r\n\n1234567890 1234567890\n"
                                "une phrase en français";
    tu_write_file(texts, lines, sizeof lines - 1);
    co.calibration = texts;
    char *custom = tu_convert(BERT, tmp, "int8-custom.h5", &co);
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(custom, NULL, &m), EMB_OK);
    emb_model_close(m);
    size_t k;
    free(read_outlier_cols(custom, QUERY, &k));
    assert_int_equal(k, OUTLIERS);
    free(custom);

    static const struct {
        const char *content; /* NULL: no file */
        emb_status status;
        const char *needle;
    } bad[] = {
        { "", EMB_ERR_INVALID_ARGUMENT, "no calibration texts" },
        { NULL, EMB_ERR_IO, "cannot open the calibration texts" },
        { "fine\nbad \xff byte\n", EMB_ERR_INVALID_UTF8, "line 2" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(texts, sizeof texts, "%s/calibration-%zu.txt", tmp, i);
        if (bad[i].content)
            tu_write_file(texts, bad[i].content, strlen(bad[i].content));
        snprintf(out, sizeof out, "%s/refused-%zu.h5", tmp, i);
        emb_status st = emb_convert(BERT, out, &co);
        if (st != bad[i].status || !strstr(emb_last_error(), bad[i].needle)) {
            print_error("calibration file %zu: got %s \"%s\", expected %s mentioning \"%s\"\n", i,
                        emb_status_string(st), emb_last_error(), emb_status_string(bad[i].status),
                        bad[i].needle);
            fail();
        }
        assert_int_equal(access(out, F_OK), -1);
    }
}

/* Replace /weights/<name> by an int32 vector. */
static void put_i32(hid_t f, const char *name, const int32_t *v, size_t n)
{
    hsize_t dim = n;
    put_dataset(f, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &dim, v, "i32");
}

/* Hostile outlier data is refused at open with EMB_ERR_FORMAT naming it:
 * columns out of range (negative, = cols), a column twice, too few
 * columns or weight rows, a missing list or weight, an "outliers" count
 * that is 0, above the columns or missing, columns stored as floats,
 * outlier data beside a 1.1-style weight or a float weight, and int32
 * where a float tensor belongs. */
static void test_open_refuses_bad_outliers(void **state)
{
    (void)state;
    size_t k;
    int32_t *cols = read_outlier_cols(i8_path, QUERY, &k);
    int32_t *c = malloc(k * sizeof *c);
    assert_non_null(c);
    char path[1024];
    static const struct {
        size_t at;
        int32_t value;
        const char *needle;
    } edits[] = {
        { 3, -1, "expected a column in 0 .. 31" },
        { 15, 32, "expected a column in 0 .. 31" },
        { 5, -1000000, "expected a column" },
        { 9, 0, "twice" }, /* cols[0] is 0 or below cols[9] */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        memcpy(c, cols, k * sizeof *c);
        c[edits[i].at] = edits[i].at == 9 ? cols[0] : edits[i].value;
        char name[64];
        snprintf(name, sizeof name, "bad-outlier-cols-%zu.h5", i);
        hid_t f = edit_copy(i8_path, name, path, sizeof path);
        put_i32(f, QUERY "_outlier_cols", c, k);
        H5Fclose(f);
        expect_refused(path, edits[i].needle);
    }
    hid_t f = edit_copy(i8_path, "short-outlier-cols.h5", path, sizeof path);
    put_i32(f, QUERY "_outlier_cols", cols, k - 1);
    H5Fclose(f);
    expect_refused(path, "_outlier_cols has shape [15], expected [16]");

    size_t wr, wc;
    float *ow = read_matrix(i8_path, QUERY "_outlier_weight", &wr, &wc, NULL);
    hsize_t wd[2] = { wr, wc - 1 };
    f = edit_copy(i8_path, "short-outlier-weight.h5", path, sizeof path);
    put_dataset(f, QUERY "_outlier_weight", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, wd, ow, "f32");
    H5Fclose(f);
    expect_refused(path, "_outlier_weight has shape");

    static const char *const parts[] = { QUERY "_outlier_cols", QUERY "_outlier_weight" };
    for (size_t i = 0; i < 2; i++) {
        f = edit_copy(i8_path, i ? "no-outlier-weight.h5" : "no-outlier-cols.h5", path,
                      sizeof path);
        char where[256];
        snprintf(where, sizeof where, "/weights/%s", parts[i]);
        assert_true(H5Ldelete(f, where, H5P_DEFAULT) >= 0);
        H5Fclose(f);
        expect_refused(path, "is missing");
    }

    static const int64_t counts[] = { 0, 33, 300 };
    for (size_t i = 0; i < 3; i++) {
        f = edit_copy(i8_path, "bad-outlier-count.h5", path, sizeof path);
        char where[256];
        snprintf(where, sizeof where, "/weights/%s", QUERY);
        assert_true(H5Adelete_by_name(f, where, "outliers", H5P_DEFAULT) >= 0);
        put_attr_i64(f, QUERY, "outliers", counts[i]);
        H5Fclose(f);
        expect_refused(path, "outlier features, expected 1 ..");
    }
    f = edit_copy(i8_path, "no-outlier-count.h5", path, sizeof path);
    char where[256];
    snprintf(where, sizeof where, "/weights/%s", QUERY);
    assert_true(H5Adelete_by_name(f, where, "outliers", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    expect_refused(path, "outliers");

    float fc[OUTLIERS];
    for (size_t t = 0; t < k; t++)
        fc[t] = (float)cols[t];
    hsize_t kd = k;
    f = edit_copy(i8_path, "float-outlier-cols.h5", path, sizeof path);
    put_dataset(f, QUERY "_outlier_cols", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &kd, fc, "f32");
    H5Fclose(f);
    expect_refused(path, "must be int32 column indices");

    /* outlier data beside weights that have none */
    f = edit_copy(v11_path, "v11-with-outliers.h5", path, sizeof path);
    put_i32(f, QUERY "_outlier_cols", cols, k);
    H5Fclose(f);
    expect_refused(path, "is present but " QUERY " has no outlier features");
    f = edit_copy(f32_path, "f32-with-outliers.h5", path, sizeof path);
    wd[1] = wc;
    put_dataset(f, QUERY "_outlier_weight", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, wd, ow, "f32");
    H5Fclose(f);
    expect_refused(path, "has no outlier features");

    /* int32 where a LayerNorm weight belongs */
    size_t nl;
    float *ln = read_vector(f32_path, "embeddings.LayerNorm.weight", &nl);
    int32_t *li = calloc(nl, sizeof *li);
    assert_non_null(li);
    f = edit_copy(i8_path, "int32-vector.h5", path, sizeof path);
    put_i32(f, "embeddings.LayerNorm.weight", li, nl);
    H5Fclose(f);
    expect_refused(path, "is int32, but only int8 outlier columns may be");
    free(ln), free(li), free(ow), free(cols), free(c);
}

/* Format 1.1 int8 files (int8 weights without outliers, dtype
 * "i8-panels") still open and give vectors within cosine 0.999 of fp32;
 * format 1.2 weights carry a dtype that a 1.1 reader refused ("8-bit dtype
 * ... unknown"). */
static void test_reads_format_1_1(void **state)
{
    (void)state;
    assert_int_equal(read_attr_i64(v11_path, "", "format_version_minor"), 1);
    char *dtype = read_dtype(v11_path, QUERY);
    assert_string_equal(dtype, "i8-panels");
    free(dtype);
    assert_false(has_dataset(v11_path, QUERY "_outlier_cols"));
    assert_false(has_dataset(v11_path, QUERY "_outlier_weight"));
    emb_model *m = NULL, *ref = NULL;
    assert_int_equal(emb_model_open(v11_path, NULL, &m), EMB_OK);
    assert_string_equal(emb_model_meta(m, "format_version"), "1.1");
    assert_int_equal(emb_model_open(f32_path, NULL, &ref), EMB_OK);
    size_t dim = emb_model_dim(m);
    static const char *const texts[] = { "", "a short query", "passage: the mitochondria is the "
                                         "powerhouse of the cell" };
    float *a = malloc(dim * sizeof *a), *b = malloc(dim * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < 3; i++) {
        emb_text t = { texts[i], strlen(texts[i]) };
        assert_int_equal(emb_encode(m, &t, 1, NULL, a), EMB_OK);
        assert_int_equal(emb_encode(ref, &t, 1, NULL, b), EMB_OK);
        float cos = 0;
        assert_int_equal(emb_cosine(a, b, dim, &cos), EMB_OK);
        assert_true(cos >= 0.999f);
    }
    free(a), free(b);
    emb_model_close(m);
    emb_model_close(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_quantizes_linear_weights_only),
        cmocka_unit_test(test_open_refuses_missing_scale),
        cmocka_unit_test(test_open_refuses_bad_scales),
        cmocka_unit_test(test_open_refuses_misplaced_int8),
        cmocka_unit_test(test_convert_refuses_nan_weight),
        cmocka_unit_test(test_outliers_from_calibration),
        cmocka_unit_test(test_convert_deterministic_and_calibration_file),
        cmocka_unit_test(test_open_refuses_bad_outliers),
        cmocka_unit_test(test_reads_format_1_1),
    };
    return cmocka_run_group_tests_name("int8", tests, setup, teardown);
}
