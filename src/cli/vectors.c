/* Reading a vectors file (docs/format.md, "Vectors files"), for `emb search
 * --index`: the root attributes, the `vectors` / `vectors_int8` /
 * `vectors_binary` matrices mapped in place (mmap of the contiguous dataset
 * at H5Dget_offset, so a 1.5 GB file is not copied; read with H5Dread when
 * the dataset is chunked or filtered), and single `ids` / `texts` strings.
 * Every check names the file and what was expected; nothing here trusts the
 * file's sizes before comparing them with the file's length. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#define VEC_VERSION 1

static int vec_error(const cli_vectors *v, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "emb search: %s: ", v->path);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

/* Close whichever of an attribute (or dataset, is_attr 0), its type and
 * its dataspace were opened (ids < 0 were not). */
static void close_ids(hid_t obj, int is_attr, hid_t t, hid_t sp)
{
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (obj >= 0)
        is_attr ? H5Aclose(obj) : H5Dclose(obj);
}

/* Open root attribute `name` with its type and space: 0, or -1 (missing or
 * unreadable; nothing left open). */
static int attr_open(hid_t file, const char *name, hid_t *a, hid_t *t, hid_t *sp)
{
    *a = *t = *sp = -1;
    if (H5Aexists(file, name) <= 0 || (*a = H5Aopen(file, name, H5P_DEFAULT)) < 0 ||
        (*t = H5Aget_type(*a)) < 0 || (*sp = H5Aget_space(*a)) < 0) {
        close_ids(*a, 1, *t, *sp);
        return -1;
    }
    return 0;
}

/* One string of type `t` (variable or fixed length) read by `rd` into a
 * malloc'ed copy; NULL on failure. The one string reader of attributes
 * and datasets. */
typedef struct str_source {
    hid_t obj, msp, fsp; /* msp < 0: an attribute */
} str_source;

static herr_t str_read(const str_source *src, hid_t mt, void *buf)
{
    return src->msp < 0 ? H5Aread(src->obj, mt, buf)
                        : H5Dread(src->obj, mt, src->msp, src->fsp, H5P_DEFAULT, buf);
}

static char *read_string(hid_t t, const str_source *src)
{
    if (H5Tget_class(t) != H5T_STRING)
        return NULL;
    char *out = NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (str_read(src, mt, &s) >= 0)
            out = strdup(s ? s : "");
        if (s)
            H5free_memory(s);
    } else {
        size_t n = H5Tget_size(t);
        H5Tset_size(mt, n + 1);
        out = n < (1u << 24) ? calloc(1, n + 2) : NULL;
        if (out && str_read(src, mt, out) < 0) {
            free(out);
            out = NULL;
        }
    }
    H5Tclose(mt);
    return out;
}

/* A scalar string root attribute, malloc'ed; NULL when missing or not a
 * string. */
static char *attr_string(hid_t file, const char *name)
{
    hid_t a, t, sp;
    if (attr_open(file, name, &a, &t, &sp))
        return NULL;
    str_source src = { a, -1, -1 };
    char *out = H5Sget_simple_extent_npoints(sp) == 1 ? read_string(t, &src) : NULL;
    close_ids(a, 1, t, sp);
    return out;
}

/* A numeric root attribute of `n` values converted to `mem` (H5T_NATIVE_*)
 * into out; 0, or -1 when missing, not numbers or not n of them. */
static int attr_numbers(hid_t file, const char *name, hid_t mem, size_t n, void *out)
{
    hid_t a, t, sp;
    if (attr_open(file, name, &a, &t, &sp))
        return -1;
    int rc = (H5Tget_class(t) == H5T_INTEGER || H5Tget_class(t) == H5T_FLOAT) &&
                     H5Sget_simple_extent_npoints(sp) == (hssize_t)n && H5Aread(a, mem, out) >= 0
                 ? 0 : -1;
    close_ids(a, 1, t, sp);
    return rc;
}

static int attr_number(hid_t file, const char *name, hid_t mem, void *out)
{
    return attr_numbers(file, name, mem, 1, out);
}

int cli_vectors_open(const char *path, cli_vectors *v)
{
    memset(v, 0, sizeof *v);
    v->path = path;
    v->file = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages, not HDF5's stack */
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "emb search: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (H5Fis_hdf5(path) <= 0 || (v->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return vec_error(v, "not an HDF5 file (or truncated)%s%s", "", "");
    hid_t f = v->file;
    int version;
    if (attr_number(f, "emb_vectors_version", H5T_NATIVE_INT, &version) != 0)
        return vec_error(v, "not a vectors file: no emb_vectors_version attribute%s%s", "", "");
    if (version > VEC_VERSION || version < 1) {
        fprintf(stderr, "emb search: %s: emb_vectors_version %d; this emb reads version %d (a newer "
                        "emb wrote it?)\n", path, version, VEC_VERSION);
        return 1;
    }
    unsigned long long count, dim;
    if (attr_number(f, "count", H5T_NATIVE_ULLONG, &count) != 0 ||
        attr_number(f, "dim", H5T_NATIVE_ULLONG, &dim) != 0)
        return vec_error(v, "attribute count or dim missing or not a number%s%s", "", "");
    if (dim == 0 || dim > (1u << 20) || count > ((unsigned long long)1 << 40))
        return vec_error(v, "implausible count or dim%s%s", "", "");
    v->count = (size_t)count;
    v->dim = (size_t)dim;
    int normalized = 0;
    if (attr_number(f, "normalized", H5T_NATIVE_INT, &normalized) != 0)
        return vec_error(v, "attribute normalized missing%s%s", "", "");
    v->normalized = normalized != 0;
    v->model_source = attr_string(f, "model_source");
    v->model_sha256 = attr_string(f, "model_sha256");
    v->model_path = attr_string(f, "model_path");
    if (!v->model_source || !v->model_sha256)
        return vec_error(v, "attribute model_source or model_sha256 missing%s%s", "", "");
    if (!(v->probe = malloc(v->dim * sizeof *v->probe)) ||
        attr_numbers(f, "model_probe", H5T_NATIVE_FLOAT, v->dim, v->probe))
        return vec_error(v, "attribute model_probe missing or not float[dim]%s%s", "", "");
    if ((v->fd = open(path, O_RDONLY)) < 0) {
        fprintf(stderr, "emb search: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int cli_vectors_has(const cli_vectors *v, const char *name)
{
    return H5Lexists(v->file, name, H5P_DEFAULT) > 0;
}

/* Check that dataset `d` is a [count, cols] matrix of `want` (H5T_FLOAT of
 * 4 bytes, or a 1-byte H5T_INTEGER of sign `sign`). */
static int check_matrix(const cli_vectors *v, hid_t d, const char *name, size_t cols,
                        H5T_class_t want, H5T_sign_t sign)
{
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t dims[2] = { 0, 0 };
    int ok = t >= 0 && sp >= 0 && H5Tget_class(t) == want &&
             H5Tget_size(t) == (want == H5T_FLOAT ? 4u : 1u) &&
             (want == H5T_FLOAT || H5Tget_sign(t) == sign) && H5Sget_simple_extent_ndims(sp) == 2 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) == 2 && dims[0] == v->count &&
             dims[1] == cols;
    close_ids(-1, 0, t, sp);
    if (!ok) {
        fprintf(stderr, "emb search: %s: dataset %s is not a [%zu, %zu] %s matrix (count, %s)\n",
                v->path, name, v->count, cols,
                want == H5T_FLOAT ? "float32" : sign == H5T_SGN_2 ? "int8" : "uint8",
                want == H5T_FLOAT || sign == H5T_SGN_2 ? "dim" : "ceil(dim / 8)");
        return 1;
    }
    return 0;
}

int cli_vectors_matrix(cli_vectors *v, const char *name, size_t cols, cli_matrix *out)
{
    memset(out, 0, sizeof *out);
    H5T_class_t cls = strcmp(name, "vectors") == 0 ? H5T_FLOAT : H5T_INTEGER;
    H5T_sign_t sign = strcmp(name, "vectors_int8") == 0 ? H5T_SGN_2 : H5T_SGN_NONE;
    hid_t mem = cls == H5T_FLOAT ? H5T_NATIVE_FLOAT : sign == H5T_SGN_2 ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR;
    size_t elem = cls == H5T_FLOAT ? 4 : 1;
    if (!cli_vectors_has(v, name)) {
        fprintf(stderr, "emb search: %s: no dataset %s\n", v->path, name);
        return 1;
    }
    hid_t d = H5Dopen2(v->file, name, H5P_DEFAULT);
    if (d < 0 || check_matrix(v, d, name, cols, cls, sign)) {
        if (d >= 0)
            H5Dclose(d);
        else
            fprintf(stderr, "emb search: %s: cannot open dataset %s\n", v->path, name);
        return 1;
    }
    size_t bytes = v->count * cols * elem; /* count < 2^40, cols <= 2^20: no overflow */
    int rc = 0;
    if (bytes == 0)
        goto done;
    hid_t dcpl = H5Dget_create_plist(d);
    int plain = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS && H5Pget_nfilters(dcpl) == 0;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    haddr_t off = plain ? H5Dget_offset(d) : HADDR_UNDEF;
    hid_t t = H5Dget_type(d);
    int native = t >= 0 && H5Tget_order(t) == H5Tget_order(mem);
    if (t >= 0)
        H5Tclose(t);
    struct stat st;
    if (off != HADDR_UNDEF && native && fstat(v->fd, &st) == 0) {
        if ((unsigned long long)off + bytes > (unsigned long long)st.st_size) {
            fprintf(stderr, "emb search: %s: dataset %s runs past the end of the file (truncated?)\n",
                    v->path, name);
            rc = 1;
            goto done;
        }
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t lead = (size_t)(off % page);
        void *p = mmap(NULL, bytes + lead, PROT_READ, MAP_SHARED, v->fd, (off_t)(off - lead));
        if (p != MAP_FAILED) {
            out->map = p;
            out->map_len = bytes + lead;
            out->data = (const char *)p + lead;
            goto done;
        }
    }
    /* chunked, filtered, foreign byte order or not mappable: read it */
    if (!(out->owned = malloc(bytes))) {
        fprintf(stderr, "emb search: %s: out of memory reading %s (%zu bytes)\n", v->path, name, bytes);
        rc = 1;
    } else if (H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->owned) < 0) {
        fprintf(stderr, "emb search: %s: cannot read dataset %s (truncated or corrupt file?)\n",
                v->path, name);
        rc = 1;
    } else {
        out->data = out->owned;
    }
done:
    H5Dclose(d);
    if (rc)
        cli_matrix_free(out);
    return rc;
}

void cli_matrix_free(cli_matrix *m)
{
    if (m->map)
        munmap(m->map, m->map_len);
    free(m->owned);
    memset(m, 0, sizeof *m);
}

int cli_vectors_ranges(cli_vectors *v, float *ranges)
{
    hid_t d = cli_vectors_has(v, "int8_ranges") ? H5Dopen2(v->file, "int8_ranges", H5P_DEFAULT) : -1;
    hid_t sp = d < 0 ? -1 : H5Dget_space(d);
    hsize_t dims[2] = { 0, 0 };
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 2 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) == 2 && dims[0] == 2 && dims[1] == v->dim &&
             H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ranges) >= 0;
    close_ids(d, 0, -1, sp);
    if (!ok)
        fprintf(stderr, "emb search: %s: int8_ranges missing or not a [2, %zu] float32 matrix\n",
                v->path, v->dim);
    return ok ? 0 : 1;
}

int cli_vectors_check_strings(cli_vectors *v, const char *name)
{
    hid_t d = H5Dopen2(v->file, name, H5P_DEFAULT);
    hid_t t = d < 0 ? -1 : H5Dget_type(d), sp = d < 0 ? -1 : H5Dget_space(d);
    hsize_t n = 0;
    int ok = t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_STRING &&
             H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1 &&
             n == v->count;
    close_ids(d, 0, t, sp);
    if (!ok)
        fprintf(stderr, "emb search: %s: dataset %s missing or not %zu strings\n", v->path, name,
                v->count);
    return ok ? 0 : 1;
}

char *cli_vectors_string(cli_vectors *v, const char *name, size_t row)
{
    char *out = NULL;
    hid_t d = H5Dopen2(v->file, name, H5P_DEFAULT);
    hid_t t = d < 0 ? -1 : H5Dget_type(d), fsp = d < 0 ? -1 : H5Dget_space(d);
    hsize_t one = 1, start = row;
    hid_t msp = H5Screate_simple(1, &one, NULL);
    if (t >= 0 && fsp >= 0 && msp >= 0 &&
        H5Sselect_hyperslab(fsp, H5S_SELECT_SET, &start, NULL, &one, NULL) >= 0) {
        str_source src = { d, msp, fsp };
        out = read_string(t, &src);
    }
    if (msp >= 0)
        H5Sclose(msp);
    close_ids(d, 0, t, fsp);
    if (!out)
        fprintf(stderr, "emb search: %s: cannot read %s[%zu]\n", v->path, name, row);
    return out;
}

void cli_vectors_close(cli_vectors *v)
{
    if (v->file >= 0)
        H5Fclose(v->file);
    if (v->fd > 0)
        close(v->fd);
    free(v->model_source);
    free(v->model_sha256);
    free(v->model_path);
    free(v->probe);
    memset(v, 0, sizeof *v);
    v->file = -1;
}

int8_t cli_quantize_int8(float x, float lo, float hi)
{
    float step = (hi - lo) / 255.0f;
    if (step == 0.0f)
        step = 1.0f;
    float c = floorf((x - lo) / step);
    c = !(c >= 0.0f) ? 0.0f : c > 255.0f ? 255.0f : c; /* NaN: 0 */
    return (int8_t)((int)c - 128);
}

void cli_pack_bits(const float *x, size_t dim, uint8_t *bits)
{
    memset(bits, 0, (dim + 7) / 8);
    for (size_t j = 0; j < dim; j++)
        if (x[j] > 0.0f)
            bits[j / 8] |= (uint8_t)(0x80u >> (j % 8));
}
