/* Private to format/: small typed wrappers over the HDF5 C API, each
 * returning an emb_status with a message that names the object. HDF5 is not
 * thread-safe in Debian's build, so every use is under h5_lock(). */
#ifndef EMB_FORMAT_H5IO_H
#define EMB_FORMAT_H5IO_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "emb.h"

void h5_lock(void);   /* also silences HDF5's own error printing */
void h5_unlock(void);

/* attributes on a group/file */
emb_status h5_attr_put_i64(hid_t loc, const char *name, int64_t v);
emb_status h5_attr_put_f64(hid_t loc, const char *name, double v);
emb_status h5_attr_put_str(hid_t loc, const char *name, const char *s, size_t len);
emb_status h5_attr_put_i32s(hid_t loc, const char *name, const int32_t *v, size_t n);

/* Readers: `required` 0 returns EMB_OK and leaves *v unchanged when absent. */
emb_status h5_attr_get_i64(hid_t loc, const char *where, const char *name, int required, int64_t *v);
emb_status h5_attr_get_f64(hid_t loc, const char *where, const char *name, int required, double *v);
/* *s = malloc'ed NUL-terminated copy (NULL when absent and optional). */
emb_status h5_attr_get_str(hid_t loc, const char *where, const char *name, int required, char **s,
                           size_t *len);
emb_status h5_attr_get_i32s(hid_t loc, const char *where, const char *name, int32_t *v, size_t n);

/* 1-D datasets of bytes / int32 / uint64 / float (written contiguous). */
emb_status h5_data_put(hid_t loc, const char *name, hid_t mem_type, const void *data, size_t n,
                       size_t elem_size);
/* Read a 1-D dataset whose element class must match mem_type; *out malloc'ed
 * with one extra zeroed element (byte arrays are NUL-terminated), *n elements; `max_n` bounds what a hostile file can make us allocate.
 * Absent and optional: *out = NULL, *n = 0. */
emb_status h5_data_get(hid_t loc, const char *where, const char *name, hid_t mem_type,
                       size_t elem_size, size_t max_n, int required, void **out, size_t *n);

#endif
