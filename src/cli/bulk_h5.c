/* cli/bulk: the vectors file (docs/format.md, "Vectors file"), written from
 * the journal in blocks of rows, under a temporary name renamed into place,
 * without object timestamps so that the same inputs give the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/bulk.h"

#define BLOCK 1024 /* rows per H5Dwrite */

static hid_t str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static int attr(hid_t loc, const char *name, hid_t type, hsize_t n, const void *v)
{
    hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, type, v) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return bad ? -1 : 0;
}

static int attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = str_type();
    int bad = attr(loc, name, t, 0, &s);
    H5Tclose(t);
    return bad;
}

static const char *jstr(json_t *id, const char *key)
{
    const char *s = json_string_value(json_object_get(id, key));
    return s ? s : "";
}

typedef struct writer {
    hid_t ids, texts, vecs, bin, i8;
    size_t dim, nb, row, n;  /* nb: bytes per binary row; n rows buffered from `row` */
    int int8_pass;
    char **id, **text;
    float *vec, *mn, *mx;
    uint8_t *bits;
    int8_t *q;
    int bad;
} writer;

static int write_rows(hid_t d, hid_t memtype, size_t row, size_t n, size_t width, const void *buf)
{
    hsize_t start[2] = { row, 0 }, count[2] = { n, width };
    int rank = width ? 2 : 1;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(rank, count, NULL);
    int bad = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
              H5Dwrite(d, memtype, ms, fs, H5P_DEFAULT, buf) < 0;
    H5Sclose(ms);
    H5Sclose(fs);
    return bad ? -1 : 0;
}

static void flush(writer *w)
{
    if (!w->n)
        return;
    if (w->int8_pass) {
        w->bad |= write_rows(w->i8, H5T_NATIVE_INT8, w->row, w->n, w->dim, w->q);
    } else {
        hid_t st = str_type();
        w->bad |= write_rows(w->ids, st, w->row, w->n, 0, w->id);
        if (w->texts >= 0)
            w->bad |= write_rows(w->texts, st, w->row, w->n, 0, w->text);
        H5Tclose(st);
        w->bad |= write_rows(w->vecs, H5T_NATIVE_FLOAT, w->row, w->n, w->dim, w->vec);
        if (w->bin >= 0)
            w->bad |= write_rows(w->bin, H5T_NATIVE_UINT8, w->row, w->n, w->nb, w->bits);
        for (size_t i = 0; i < w->n; i++) {
            free(w->id[i]);
            free(w->text[i]);
            w->id[i] = w->text[i] = NULL;
        }
    }
    w->row += w->n;
    w->n = 0;
}

static int on_rec(const bulk_jrec *r, void *arg)
{
    writer *w = arg;
    size_t k = w->n, dim = w->dim;
    if (w->int8_pass) {
        for (size_t j = 0; j < dim; j++)
            w->q[k * dim + j] = cli_quantize_int8(r->vec[j], w->mn[j], w->mx[j]);
    } else {
        w->id[k] = cli_strndup(r->id, r->id_len);
        w->text[k] = cli_strndup(r->text, r->text_len);
        if (!w->id[k] || !w->text[k])
            return -1;
        memcpy(w->vec + k * dim, r->vec, dim * sizeof(float));
        cli_pack_bits(r->vec, dim, w->bits + k * w->nb);
        for (size_t j = 0; j < dim; j++) {
            float v = r->vec[j];
            if (w->row + k == 0 || v < w->mn[j])
                w->mn[j] = v;
            if (w->row + k == 0 || v > w->mx[j])
                w->mx[j] = v;
        }
    }
    if (++w->n == BLOCK)
        flush(w);
    return w->bad;
}

static hid_t dataset(hid_t f, const char *name, hid_t type, size_t rows, size_t width, hid_t dcpl)
{
    hsize_t dims[2] = { rows, width };
    hid_t sp = H5Screate_simple(width ? 2 : 1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(sp);
    return d;
}

/* the probe vector back from the identity's hex */
static int probe_floats(json_t *id, size_t dim, float *out)
{
    const char *hex = jstr(id, "probe");
    if (strlen(hex) != dim * 8)
        return -1;
    unsigned char *b = (unsigned char *)out;
    for (size_t i = 0; i < dim * 4; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        b[i] = (unsigned char)v;
    }
    return 0;
}

/* the root attributes of docs/format.md */
static int root_attrs(hid_t f, json_t *id, const char *input_sha256, size_t count, size_t dim)
{
    int32_t version = 1;
    uint64_t c = count, d = dim;
    int32_t norm = json_is_true(json_object_get(id, "normalized"));
    int32_t trunc = json_is_true(json_object_get(id, "truncate"));
    float *probe = malloc((dim ? dim : 1) * sizeof *probe);
    char *idtext = json_dumps(id, JSON_COMPACT | JSON_SORT_KEYS);
    int bad = !probe || !idtext || probe_floats(id, dim, probe) != 0;
    bad = bad || attr(f, "emb_vectors_version", H5T_NATIVE_INT32, 0, &version) ||
          attr(f, "count", H5T_NATIVE_UINT64, 0, &c) || attr(f, "dim", H5T_NATIVE_UINT64, 0, &d) ||
          attr_str(f, "model_source", jstr(id, "model_source")) ||
          attr_str(f, "model_sha256", jstr(id, "model_sha256")) ||
          attr_str(f, "model_dtype", jstr(id, "model_dtype")) ||
          (dim && attr(f, "model_probe", H5T_NATIVE_FLOAT, dim, probe)) ||
          attr_str(f, "model_path", jstr(id, "model_path")) ||
          attr_str(f, "kind", jstr(id, "kind")) || attr_str(f, "prompt", jstr(id, "prompt")) ||
          attr(f, "normalized", H5T_NATIVE_INT32, 0, &norm) ||
          attr(f, "truncate", H5T_NATIVE_INT32, 0, &trunc) ||
          attr_str(f, "input_sha256", input_sha256) ||
          attr_str(f, "libemb_version", jstr(id, "libemb_version")) ||
          attr_str(f, "identity", idtext);
    free(probe);
    free(idtext);
    return bad ? -1 : 0;
}

/* fsync the file at path, and the directory holding it */
static int sync_path(const char *path, int dir)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dir ? dirname(copy) : path, O_RDONLY);
    int bad = fd < 0 || fsync(fd) != 0;
    if (fd >= 0)
        close(fd);
    free(copy);
    return bad ? -1 : 0;
}

int bulk_h5_write(const char *path, FILE *jf, json_t *id, const char *input_sha256, size_t count)
{
    size_t dim = (size_t)json_integer_value(json_object_get(id, "dim"));
    const char *quant = jstr(id, "quantize");
    int int8 = strstr(quant, "int8") != NULL, binary = strstr(quant, "binary") != NULL;
    int texts = json_is_true(json_object_get(id, "texts"));
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    writer w = { .ids = -1, .texts = -1, .vecs = -1, .bin = -1, .i8 = -1, .dim = dim,
                 .nb = (dim + 7) / 8 };
    w.id = calloc(BLOCK, sizeof *w.id);
    w.text = calloc(BLOCK, sizeof *w.text);
    w.vec = malloc(BLOCK * (dim ? dim : 1) * sizeof *w.vec);
    w.bits = malloc(BLOCK * (w.nb ? w.nb : 1));
    w.q = malloc(BLOCK * (dim ? dim : 1));
    w.mn = calloc(dim ? dim : 1, sizeof *w.mn);
    w.mx = calloc(dim ? dim : 1, sizeof *w.mx);
    int rc = -1;
    hid_t f = -1, fcpl = H5Pcreate(H5P_FILE_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (!tmp || !w.id || !w.text || !w.vec || !w.bits || !w.q || !w.mn || !w.mx) {
        fprintf(stderr, "emb embed: out of memory\n");
        goto done;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our own messages, not HDF5's stack */
    /* no creation/modification times: the same run gives the same bytes */
    H5Pset_obj_track_times(fcpl, 0);
    H5Pset_obj_track_times(dcpl, 0);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "emb embed: cannot create %s\n", tmp);
        goto done;
    }
    hid_t st = str_type();
    w.ids = dataset(f, "ids", st, count, 0, dcpl);
    w.vecs = dataset(f, "vectors", H5T_IEEE_F32LE, count, dim, dcpl);
    if (texts)
        w.texts = dataset(f, "texts", st, count, 0, dcpl);
    if (binary)
        w.bin = dataset(f, "vectors_binary", H5T_STD_U8LE, count, w.nb, dcpl);
    if (int8)
        w.i8 = dataset(f, "vectors_int8", H5T_STD_I8LE, count, dim, dcpl);
    H5Tclose(st);
    long first = ftell(jf), end;
    int bad = w.ids < 0 || w.vecs < 0 || (texts && w.texts < 0) || (binary && w.bin < 0) ||
              (int8 && w.i8 < 0);
    bad = bad || bulk_journal_scan(jf, dim, on_rec, &w, &end) != (long long)count;
    flush(&w);
    if (!bad && int8) {
        w.int8_pass = 1;
        w.row = 0;
        bad = fseek(jf, first, SEEK_SET) != 0 ||
              bulk_journal_scan(jf, dim, on_rec, &w, &end) != (long long)count;
        flush(&w);
        float *ranges = malloc(2 * (dim ? dim : 1) * sizeof *ranges);
        bad = bad || !ranges;
        if (ranges) {
            memcpy(ranges, w.mn, dim * sizeof *ranges);
            memcpy(ranges + dim, w.mx, dim * sizeof *ranges);
            hid_t r = dataset(f, "int8_ranges", H5T_IEEE_F32LE, 2, dim, dcpl);
            bad = bad || r < 0 || write_rows(r, H5T_NATIVE_FLOAT, 0, 2, dim, ranges) != 0;
            if (r >= 0)
                H5Dclose(r);
            free(ranges);
        }
    }
    bad = bad || w.bad || root_attrs(f, id, input_sha256, count, dim) != 0;
    hid_t ds[] = { w.ids, w.texts, w.vecs, w.bin, w.i8 };
    for (size_t i = 0; i < sizeof ds / sizeof *ds; i++)
        if (ds[i] >= 0)
            H5Dclose(ds[i]);
    bad |= H5Fclose(f) < 0;
    f = -1;
    if (bad || sync_path(tmp, 0) != 0 || rename(tmp, path) != 0 || sync_path(path, 1) != 0) {
        fprintf(stderr, "emb embed: cannot write %s: %s\n", path, errno ? strerror(errno) : "HDF5 error");
        unlink(tmp);
        goto done;
    }
    rc = 0;
done:
    if (f >= 0)
        H5Fclose(f);
    H5Pclose(fcpl);
    H5Pclose(dcpl);
    for (size_t i = 0; w.id && i < BLOCK; i++) {
        free(w.id[i]);
        free(w.text[i]);
    }
    free(w.id);
    free(w.text);
    free(w.vec);
    free(w.bits);
    free(w.q);
    free(w.mn);
    free(w.mx);
    free(tmp);
    return rc;
}

/* a scalar string attribute into a malloc'ed string, or NULL */
static char *read_str_attr(hid_t f, const char *name)
{
    if (H5Aexists(f, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t t = str_type();
    char *v = NULL, *copy = NULL;
    if (a >= 0 && H5Aread(a, t, &v) >= 0 && v) {
        copy = strdup(v);
        H5free_memory(v);
    }
    H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return copy;
}

int bulk_h5_identity(const char *path, json_t **identity, char input_sha256[65], uint64_t *count)
{
    *identity = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *idtext = f >= 0 ? read_str_attr(f, "identity") : NULL;
    char *sha = f >= 0 ? read_str_attr(f, "input_sha256") : NULL;
    *count = 0;
    if (f >= 0 && H5Aexists(f, "count") > 0) {
        hid_t a = H5Aopen(f, "count", H5P_DEFAULT);
        H5Aread(a, H5T_NATIVE_UINT64, count);
        H5Aclose(a);
    }
    if (f >= 0)
        H5Fclose(f);
    if (idtext && sha && strlen(sha) == 64)
        *identity = json_loads(idtext, 0, NULL);
    if (*identity)
        memcpy(input_sha256, sha, 65);
    free(idtext);
    free(sha);
    if (!*identity) {
        fprintf(stderr, "emb embed: %s exists and is not a vectors file written by emb embed; "
                        "not overwritten\n", path);
        return -1;
    }
    return 0;
}
