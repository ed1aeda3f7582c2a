/* Shared helpers for the cmocka tests; see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[size] = '\0';
        if (len)
            *len = (size_t)size;
    }
    return buf;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        print_error("cannot create %s\n", path);
        fail();
    }
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *tu_tmp;

int tu_tmp_setup(void **state)
{
    (void)state;
    tu_tmp = tu_tmpdir();
    return tu_tmp ? 0 : -1;
}

int tu_tmp_teardown(void **state)
{
    (void)state;
    tu_rmtree(tu_tmp);
    free(tu_tmp);
    tu_tmp = NULL;
    return 0;
}

void tu_patch_json(const char *dir, const char *rel, const char *key, json_t *value)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    json_error_t err;
    json_t *root = json_load_file(p, 0, &err);
    if (!root) {
        print_error("%s: %s\n", p, err.text);
        fail();
    }
    if (value)
        json_object_set_new(root, key, value);
    else
        json_object_del(root, key);
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
}

void tu_write_text(const char *dir, const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    tu_write_file(p, text, strlen(text));
}

void tu_copy_file(const char *from, const char *dir, const char *name)
{
    size_t n = 0;
    char *data = tu_read_file(from, &n);
    assert_non_null(data);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tu_write_file(path, data, n);
    free(data);
}

json_t *tu_read_jsonl(const char *path)
{
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    if (!text) {
        print_error("cannot read %s\n", path);
        fail();
    }
    json_t *arr = json_array();
    char *line = text;
    while (line < text + len) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end)
            end = text + len;
        if (end > line) {
            json_error_t err;
            json_t *obj = json_loadb(line, (size_t)(end - line), JSON_ALLOW_NUL, &err);
            if (!obj) {
                print_error("%s: bad JSON line: %s\n", path, err.text);
                free(text);
                fail();
            }
            json_array_append_new(arr, obj);
        }
        line = end + 1;
    }
    free(text);
    return arr;
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/embtest.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void tu_rmtree(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                tu_rmtree(sub);
            else
                unlink(sub);
        }
        closedir(dir);
    }
    rmdir(path);
}

char *tu_convert(const char *hf_dir, const char *tmpdir, const char *name,
                 const emb_convert_options *opts)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    emb_status st = emb_convert(hf_dir, path, opts);
    if (st != EMB_OK) {
        print_error("emb_convert(%s) failed: %s: %s\n", hf_dir, emb_status_string(st),
                    emb_last_error());
        fail();
    }
    return strdup(path);
}

double tu_assert_close(const float *got, const float *expected, size_t n, double tol,
                       const char *label)
{
    double worst = 0.0;
    size_t worst_i = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)expected[i]);
        if (d > worst || d != d) {
            worst = d;
            worst_i = i;
        }
    }
    if (!(worst <= tol)) {
        print_error("%s: max abs diff %.3g > %.3g at index %zu: got %.9g expected %.9g\n",
                    label, worst, tol, worst_i, (double)got[worst_i],
                    (double)expected[worst_i]);
        fail();
    }
    return worst;
}

size_t tu_json_floats(json_t *arr, float *out, size_t cap)
{
    size_t n = json_array_size(arr);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)json_number_value(json_array_get(arr, i));
    return n;
}

size_t tu_json_ints(json_t *arr, int32_t *out, size_t cap)
{
    size_t n = json_array_size(arr);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        out[i] = (int32_t)json_integer_value(json_array_get(arr, i));
    return n;
}

int tu_run(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - 1 - n, p)) > 0) {
        n += got;
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    int rc = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return rc;
}

const char *tu_emb_bin(void)
{
    const char *b = getenv("EMB_BIN");
    return b && *b ? b : "bin/emb";
}

int tu_real_model_present(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (access(path, R_OK) == 0)
        return 1;
    const char *offline = getenv("EMB_OFFLINE");
    if (offline && !strcmp(offline, "1")) {
        printf("# %s: not fetched (EMB_OFFLINE=1): real-checkpoint test skipped\n", dir);
        skip();
        return 0;
    }
    print_error("%s is missing: run `make models` (scripts/fetch-models.py) to fetch the real "
                "checkpoints, or set EMB_OFFLINE=1 to skip their tests\n", dir);
    fail();
    return 0;
}

emb_kind tu_golden_kind(const char *kind)
{
    if (!strcmp(kind, "query"))
        return EMB_KIND_QUERY;
    if (!strcmp(kind, "passage"))
        return EMB_KIND_PASSAGE;
    return EMB_KIND_NONE;
}

void tu_h5_config_attr(const char *path, const char *name, char kind, int64_t v, const char *sv)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t g = H5Gopen2(f, "config", H5P_DEFAULT);
    assert_true(g >= 0);
    if (H5Aexists(g, name) > 0)
        assert_true(H5Adelete(g, name) >= 0);
    hid_t type = -1, space = -1;
    if (kind == 'i') {
        type = H5Tcopy(H5T_NATIVE_INT64);
        space = H5Screate(H5S_SCALAR);
    } else if (kind == 's') {
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, strlen(sv) + 1);
        space = H5Screate(H5S_SCALAR);
    } else if (kind == 'a') {
        hsize_t two = 2;
        type = H5Tcopy(H5T_NATIVE_INT32);
        space = H5Screate_simple(1, &two, NULL);
    }
    if (kind) {
        int32_t arr[2] = { (int32_t)v, 0 };
        const void *data = kind == 'i' ? (const void *)&v : kind == 's' ? (const void *)sv : arr;
        hid_t a = H5Acreate2(g, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        assert_true(a >= 0 && H5Awrite(a, type, data) >= 0);
        H5Aclose(a);
        H5Sclose(space);
        H5Tclose(type);
    }
    H5Gclose(g);
    H5Fclose(f);
}

void tu_expect_status(emb_status got, emb_status want)
{
    if (got != want) {
        print_error("status %s, expected %s (%s)\n", emb_status_string(got),
                    emb_status_string(want), emb_last_error());
        fail();
    }
    if (want != EMB_OK)
        assert_true(strlen(emb_last_error()) > 0);
}
