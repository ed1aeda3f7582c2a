/* Typed HDF5 helpers for format/ (see h5io.h). */
#include "format/h5io.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

static pthread_mutex_t h5_mutex = PTHREAD_MUTEX_INITIALIZER;
static H5E_auto2_t saved_func;
static void *saved_data;

void h5_lock(void)
{
    pthread_mutex_lock(&h5_mutex);
    /* the library never prints: switch HDF5's automatic error stack
     * printing off while we use it, and restore the caller's setting */
    H5Eget_auto2(H5E_DEFAULT, &saved_func, &saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5_unlock(void)
{
    H5Eset_auto2(H5E_DEFAULT, saved_func, saved_data);
    pthread_mutex_unlock(&h5_mutex);
}

static emb_status put_scalar(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = space < 0 ? -1 : H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, v);
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return rc < 0 ? rt_error(EMB_ERR_IO, "cannot write attribute '%s'", name) : EMB_OK;
}

emb_status h5_attr_put_i64(hid_t loc, const char *name, int64_t v)
{
    return put_scalar(loc, name, H5T_NATIVE_INT64, &v);
}

emb_status h5_attr_put_f64(hid_t loc, const char *name, double v)
{
    return put_scalar(loc, name, H5T_NATIVE_DOUBLE, &v);
}

emb_status h5_attr_put_str(hid_t loc, const char *name, const char *s, size_t len)
{
    if (memchr(s, '\0', len))
        return rt_error(EMB_ERR_UNSUPPORTED, "string attribute '%s' contains U+0000", name);
    hid_t type = H5Tcopy(H5T_C_S1);
    char *buf = rt_calloc(len + 1, 1);
    if (type < 0 || !buf) {
        free(buf);
        if (type >= 0)
            H5Tclose(type);
        return EMB_ERR_NO_MEMORY;
    }
    memcpy(buf, s, len);
    H5Tset_size(type, len + 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    H5Tset_cset(type, H5T_CSET_UTF8);
    emb_status st = put_scalar(loc, name, type, buf);
    H5Tclose(type);
    free(buf);
    return st;
}

emb_status h5_attr_put_i32s(hid_t loc, const char *name, const int32_t *v, size_t n)
{
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t attr = space < 0 ? -1
                           : H5Acreate2(loc, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, H5T_NATIVE_INT32, v);
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return rc < 0 ? rt_error(EMB_ERR_IO, "cannot write attribute '%s'", name) : EMB_OK;
}

/* Open attribute `name`; EMB_OK with *attr = -1 when absent and optional. */
static emb_status open_attr(hid_t loc, const char *where, const char *name, int required,
                            hid_t *attr)
{
    *attr = -1;
    htri_t exists = H5Aexists(loc, name);
    if (exists < 0)
        return rt_error(EMB_ERR_FORMAT, "%s: cannot query attribute '%s'", where, name);
    if (!exists)
        return required ? rt_error(EMB_ERR_FORMAT, "%s: attribute '%s' is missing", where, name)
                        : EMB_OK;
    *attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (*attr < 0)
        return rt_error(EMB_ERR_FORMAT, "%s: cannot open attribute '%s'", where, name);
    return EMB_OK;
}

/* Read a scalar numeric attribute of class `cls` converted to mem_type. */
static emb_status get_scalar(hid_t loc, const char *where, const char *name, int required,
                             H5T_class_t cls, hid_t mem_type, void *v)
{
    hid_t attr;
    emb_status st = open_attr(loc, where, name, required, &attr);
    if (st != EMB_OK || attr < 0)
        return st;
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    hssize_t npoints = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (type < 0 || H5Tget_class(type) != cls || npoints != 1)
        st = rt_error(EMB_ERR_FORMAT, "%s: attribute '%s' has the wrong type or size", where,
                      name);
    else if (H5Aread(attr, mem_type, v) < 0)
        st = rt_error(EMB_ERR_FORMAT, "%s: cannot read attribute '%s'", where, name);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(attr);
    return st;
}

emb_status h5_attr_get_i64(hid_t loc, const char *where, const char *name, int required, int64_t *v)
{
    return get_scalar(loc, where, name, required, H5T_INTEGER, H5T_NATIVE_INT64, v);
}

emb_status h5_attr_get_f64(hid_t loc, const char *where, const char *name, int required, double *v)
{
    return get_scalar(loc, where, name, required, H5T_FLOAT, H5T_NATIVE_DOUBLE, v);
}

emb_status h5_attr_get_str(hid_t loc, const char *where, const char *name, int required, char **s,
                           size_t *len)
{
    *s = NULL;
    if (len)
        *len = 0;
    hid_t attr;
    emb_status st = open_attr(loc, where, name, required, &attr);
    if (st != EMB_OK || attr < 0)
        return st;
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    size_t size = type < 0 ? 0 : H5Tget_size(type);
    hssize_t npoints = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (type < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) != 0 ||
        npoints != 1 || size == 0 || size > (64u << 20)) {
        st = rt_error(EMB_ERR_FORMAT, "%s: attribute '%s' is not a fixed-length string", where,
                      name);
    } else {
        char *buf = rt_calloc(size + 1, 1);
        if (!buf)
            st = EMB_ERR_NO_MEMORY;
        else if (H5Aread(attr, type, buf) < 0) {
            free(buf);
            st = rt_error(EMB_ERR_FORMAT, "%s: cannot read attribute '%s'", where, name);
        } else {
            *s = buf;
            if (len)
                *len = strlen(buf);
        }
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(attr);
    return st;
}

emb_status h5_attr_get_i32s(hid_t loc, const char *where, const char *name, int32_t *v, size_t n)
{
    hid_t attr;
    emb_status st = open_attr(loc, where, name, 1, &attr);
    if (st != EMB_OK)
        return st;
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    hssize_t npoints = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (type < 0 || H5Tget_class(type) != H5T_INTEGER || npoints != (hssize_t)n)
        st = rt_error(EMB_ERR_FORMAT, "%s: attribute '%s' must hold %zu integers", where, name, n);
    else if (H5Aread(attr, H5T_NATIVE_INT32, v) < 0)
        st = rt_error(EMB_ERR_FORMAT, "%s: cannot read attribute '%s'", where, name);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(attr);
    return st;
}

emb_status h5_data_put(hid_t loc, const char *name, hid_t mem_type, const void *data, size_t n,
                       size_t elem_size)
{
    (void)elem_size;
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* no modification time in the object header: the same input gives the
     * same file bytes */
    hid_t ds = space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0
                   ? -1
                   : H5Dcreate2(loc, name, mem_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : (n ? H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0);
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc < 0 ? rt_error(EMB_ERR_IO, "cannot write dataset '%s'", name) : EMB_OK;
}

emb_status h5_data_get(hid_t loc, const char *where, const char *name, hid_t mem_type,
                       size_t elem_size, size_t max_n, int required, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    htri_t exists = H5Lexists(loc, name, H5P_DEFAULT);
    if (exists <= 0)
        return required ? rt_error(EMB_ERR_FORMAT, "%s: dataset '%s' is missing", where, name)
                        : EMB_OK;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        return rt_error(EMB_ERR_FORMAT, "%s: cannot open dataset '%s'", where, name);
    emb_status st = EMB_OK;
    hid_t type = H5Dget_type(ds);
    hid_t space = H5Dget_space(ds);
    int ndims = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    hssize_t count = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (type < 0 || H5Tget_class(type) != H5Tget_class(mem_type) || ndims != 1 || count < 0) {
        st = rt_error(EMB_ERR_FORMAT, "%s: dataset '%s' has the wrong type or rank", where, name);
    } else if ((size_t)count > max_n) {
        st = rt_error(EMB_ERR_FORMAT, "%s: dataset '%s' has %lld elements (limit %zu)", where,
                      name, (long long)count, max_n);
    } else {
        /* one zeroed element more than stored: byte arrays come back
         * NUL-terminated (the tokenizer relies on it for vocab_bytes) */
        void *buf = rt_calloc((size_t)count + 1, elem_size);
        if (!buf)
            st = EMB_ERR_NO_MEMORY;
        else if (count && H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            free(buf);
            st = rt_error(EMB_ERR_FORMAT, "%s: cannot read dataset '%s'", where, name);
        } else {
            *out = buf;
            *n = (size_t)count;
        }
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(ds);
    return st;
}
