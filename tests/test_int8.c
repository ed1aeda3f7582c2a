/* int8 model files (emb convert --dtype int8, format 1.1): what the writer
 * stores, and that a hostile or inconsistent int8 file is refused at open
 * with EMB_ERR_FORMAT and a message naming the problem. The vectors
 * themselves are checked against the goldens in test_golden.c; the kernel in
 * test_linear_i8.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "testutil.h"

#define BERT "tests/fixtures/models/bert-e5"
#define QUERY "encoder.layer.0.attention.self.query.weight"

static char *tmp;
static char *f32_path, *i8_path;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    f32_path = tu_convert(BERT, tmp, "f32.h5", NULL);
    emb_convert_options co;
    emb_convert_options_init(&co);
    co.dtype = EMB_DTYPE_INT8;
    i8_path = tu_convert(BERT, tmp, "int8.h5", &co);
    return f32_path && i8_path ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(f32_path);
    free(i8_path);
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

/* The int64 attribute `name` of /weights/<ds> in the file at path. */
static int64_t read_attr_i64(const char *path, const char *ds, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char where[256];
    snprintf(where, sizeof where, "/weights/%s", ds);
    int64_t v = -1;
    hid_t a = H5Aopen_by_name(f, where, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

/* Linear weights are int8 in [-127, 127], stored as 32-column VNNI panels
 * (byte (p·kq + q)·128 + 4c + b is w[32p + c, 4q + b], zero past the
 * weight) with the logical shape in "rows"/"cols", and a scale per row equal
 * to max|w| / 127 of the f32 row, each weight within half a step of the
 * original; embedding tables and vectors keep the checkpoint's f32. */
static void test_writer_quantizes_linear_weights_only(void **state)
{
    (void)state;
    size_t r2, c2, ns, pdims[2];
    int i8, f32_is_i8;
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
            amax = fmaxf(amax, fabsf(w[r * cols + c]));
        assert_float_equal(s[r], amax / 127.0f, 1e-6f * amax);
        int hit = 0;
        for (size_t c = 0; c < cols; c++) {
            float v = q[r * cols + c];
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
    free(q), free(w), free(s);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_quantizes_linear_weights_only),
        cmocka_unit_test(test_open_refuses_missing_scale),
        cmocka_unit_test(test_open_refuses_bad_scales),
        cmocka_unit_test(test_open_refuses_misplaced_int8),
        cmocka_unit_test(test_convert_refuses_nan_weight),
    };
    return cmocka_run_group_tests_name("int8", tests, setup, teardown);
}
