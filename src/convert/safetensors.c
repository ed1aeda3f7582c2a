/* Reading .safetensors checkpoints (single file or sharded with an index).
 *
 * Format (as the reference safetensors loader reads it): an 8-byte
 * little-endian header length N, N bytes of a JSON object
 *   {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *    "__metadata__": {str: str}}
 * then the data buffer; offsets are relative to the buffer's start. Like the
 * reference we require the tensors to tile the buffer exactly (no overlap, no
 * gap, no trailing bytes) and we additionally bound every size so a hostile
 * file is refused with a message instead of being trusted. Files are mapped
 * read-only; tensor data points into the mapping. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "convert/convert.h"
#include "kernels/kernels.h"
#include "runtime/runtime.h"

#define CV_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* as the reference loader */
#define CV_ST_MAX_DIM ((int64_t)1 << 40)
#define CV_ST_MAX_NDIM 8

/* The basename of a path, for messages ("model.safetensors: ..."). */
static const char *st_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

typedef struct st_dtype_info {
    const char *name;
    size_t size;
    int is_weight;    /* F32, F16, BF16: loaded as weights */
    kern_wtype dtype; /* then their layout */
} st_dtype_info;

/* The byte-sized dtypes of the safetensors spec. Sub-byte ones (F4, F6_*)
 * cannot describe weights we load and are refused as unknown. */
static const st_dtype_info st_dtypes[] = {
    {"F32", 4, 1, KERN_W_F32}, {"F16", 2, 1, KERN_W_F16}, {"BF16", 2, 1, KERN_W_BF16},
    {"F64", 8, 0, KERN_W_F32}, {"I64", 8, 0, KERN_W_F32}, {"U64", 8, 0, KERN_W_F32},
    {"I32", 4, 0, KERN_W_F32}, {"U32", 4, 0, KERN_W_F32}, {"I16", 2, 0, KERN_W_F32},
    {"U16", 2, 0, KERN_W_F32}, {"I8", 1, 0, KERN_W_F32},  {"U8", 1, 0, KERN_W_F32},
    {"BOOL", 1, 0, KERN_W_F32}, {"F8_E4M3", 1, 0, KERN_W_F32}, {"F8_E5M2", 1, 0, KERN_W_F32},
    {"F8_E8M0", 1, 0, KERN_W_F32},
};

static const st_dtype_info *st_find_dtype(const char *name)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, name) == 0)
            return &st_dtypes[i];
    return NULL;
}

/* A tensor's byte range inside the data buffer, for the tiling check. */
typedef struct st_range {
    uint64_t begin, end;
    const char *name;
} st_range;

static int st_range_cmp(const void *a, const void *b)
{
    const st_range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int st_name_cmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* Read a non-negative JSON integer; 0 on success. */
static int st_get_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t i = json_integer_value(v);
    if (i < 0)
        return -1;
    *out = (uint64_t)i;
    return 0;
}

/* An entry's "dtype": one of st_dtypes (into t->dtype, t->dtype_name). */
static emb_status st_entry_dtype(const char *file, const char *name, json_t *info, cv_tensor *t,
                                 const st_dtype_info **out)
{
    json_t *jd = json_object_get(info, "dtype");
    RT_FAIL_IF(!jd, EMB_ERR_FORMAT, "%s: tensor '%.200s': missing \"dtype\"", file, name);
    RT_FAIL_IF(!json_is_string(jd), EMB_ERR_FORMAT,
               "%s: tensor '%.200s': \"dtype\" is not a string", file, name);
    const st_dtype_info *dt = st_find_dtype(json_string_value(jd));
    RT_FAIL_IF(!dt, EMB_ERR_FORMAT, "%s: tensor '%.200s': unknown dtype '%.32s'", file, name,
               json_string_value(jd));
    t->is_weight = dt->is_weight;
    t->dtype = dt->dtype;
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->name);
    *out = dt;
    return EMB_OK;
}

/* An entry's "shape" (into t->ndim, t->shape): at most CV_ST_MAX_NDIM
 * dimensions of at most CV_ST_MAX_DIM, and *nbytes = product(shape) x the
 * dtype's size with every multiplication checked — also the product of the
 * non-zero dims, so that [0, 2^62, 2^62] is refused too. */
static emb_status st_entry_shape(const char *file, const char *name, json_t *info,
                                 const st_dtype_info *dt, cv_tensor *t, size_t *nbytes)
{
    json_t *js = json_object_get(info, "shape");
    RT_FAIL_IF(!js, EMB_ERR_FORMAT, "%s: tensor '%.200s': missing \"shape\"", file, name);
    RT_FAIL_IF(!json_is_array(js), EMB_ERR_FORMAT, "%s: tensor '%.200s': \"shape\" is not an array",
               file, name);
    size_t ndim = json_array_size(js);
    RT_FAIL_IF(ndim > CV_ST_MAX_NDIM, EMB_ERR_FORMAT,
               "%s: tensor '%.200s': %zu dimensions, at most %d supported", file, name, ndim,
               CV_ST_MAX_NDIM);
    t->ndim = (int)ndim;
    size_t count = 1, nonzero = 1;
    for (size_t d = 0; d < ndim; d++) {
        uint64_t dim;
        RT_FAIL_IF(st_get_u64(json_array_get(js, d), &dim) != 0, EMB_ERR_FORMAT,
                   "%s: tensor '%.200s': shape[%zu] is not a non-negative integer", file, name, d);
        RT_FAIL_IF(dim > (uint64_t)CV_ST_MAX_DIM, EMB_ERR_FORMAT,
                   "%s: tensor '%.200s': shape[%zu] = %llu is absurd", file, name, d,
                   (unsigned long long)dim);
        t->shape[d] = (int64_t)dim;
        if (rt_mul_overflow(count, (size_t)dim, &count) ||
            (dim && rt_mul_overflow(nonzero, (size_t)dim, &nonzero)))
            return rt_error(EMB_ERR_FORMAT, "%s: tensor '%.200s': shape's element count overflows",
                            file, name);
    }
    RT_FAIL_IF(rt_mul_overflow(count, dt->size, nbytes) ||
                   rt_mul_overflow(nonzero, dt->size, &nonzero),
               EMB_ERR_FORMAT, "%s: tensor '%.200s': shape's byte size overflows", file, name);
    return EMB_OK;
}

/* An entry's "data_offsets" [begin, end]: in order, inside the data buffer
 * and exactly `nbytes` long. */
static emb_status st_entry_offsets(const char *file, const char *name, json_t *info,
                                   uint64_t data_len, const st_dtype_info *dt, size_t nbytes,
                                   uint64_t *begin, uint64_t *end)
{
    json_t *jo = json_object_get(info, "data_offsets");
    RT_FAIL_IF(!jo, EMB_ERR_FORMAT, "%s: tensor '%.200s': missing \"data_offsets\"", file, name);
    if (!json_is_array(jo) || json_array_size(jo) != 2 ||
        st_get_u64(json_array_get(jo, 0), begin) != 0 ||
        st_get_u64(json_array_get(jo, 1), end) != 0)
        return rt_error(EMB_ERR_FORMAT,
                        "%s: tensor '%.200s': \"data_offsets\" is not [begin, end] of non-negative "
                        "integers",
                        file, name);
    RT_FAIL_IF(*begin > *end, EMB_ERR_FORMAT,
               "%s: tensor '%.200s': data_offsets [%llu, %llu] reversed", file, name,
               (unsigned long long)*begin, (unsigned long long)*end);
    RT_FAIL_IF(*end > data_len, EMB_ERR_FORMAT,
               "%s: tensor '%.200s': data_offsets [%llu, %llu] beyond the data buffer "
               "(%llu bytes)",
               file, name, (unsigned long long)*begin, (unsigned long long)*end,
               (unsigned long long)data_len);
    RT_FAIL_IF(*end - *begin != (uint64_t)nbytes, EMB_ERR_FORMAT,
               "%s: tensor '%.200s': data_offsets [%llu, %llu] hold %llu bytes, dtype %s "
               "x shape needs %zu",
               file, name, (unsigned long long)*begin, (unsigned long long)*end,
               (unsigned long long)(*end - *begin), dt->name, nbytes);
    return EMB_OK;
}

/* Parse one tensor entry into `t` (name already set) and its range. */
static emb_status st_parse_entry(const char *file, const char *name, json_t *info,
                                 uint64_t data_len, const uint8_t *data, cv_tensor *t,
                                 st_range *r)
{
    RT_FAIL_IF(!json_is_object(info), EMB_ERR_FORMAT,
               "%s: tensor '%.200s': entry is not a JSON object", file, name);
    const st_dtype_info *dt = NULL;
    size_t nbytes = 0;
    uint64_t begin = 0, end = 0;
    RT_TRY(st_entry_dtype(file, name, info, t, &dt));
    RT_TRY(st_entry_shape(file, name, info, dt, t, &nbytes));
    RT_TRY(st_entry_offsets(file, name, info, data_len, dt, nbytes, &begin, &end));
    t->data = data + begin;
    t->nbytes = end - begin;
    r->begin = begin;
    r->end = end;
    r->name = t->name;
    return EMB_OK;
}

/* Check that the ranges tile [0, data_len) exactly, as the reference does. */
static emb_status st_check_tiling(const char *file, st_range *r, size_t n, uint64_t data_len)
{
    if (n > 1)
        qsort(r, n, sizeof *r, st_range_cmp);
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        RT_FAIL_IF(r[i].begin < pos, EMB_ERR_FORMAT,
                   "%s: tensor '%.200s': data_offsets [%llu, %llu] overlap tensor '%.200s'", file,
                   r[i].name, (unsigned long long)r[i].begin, (unsigned long long)r[i].end,
                   r[i - 1].name);
        RT_FAIL_IF(r[i].begin > pos, EMB_ERR_FORMAT,
                   "%s: tensor '%.200s': data_offsets [%llu, %llu] leave a gap after byte %llu",
                   file, r[i].name, (unsigned long long)r[i].begin, (unsigned long long)r[i].end,
                   (unsigned long long)pos);
        pos = r[i].end;
    }
    RT_FAIL_IF(pos != data_len, EMB_ERR_FORMAT,
               "%s: the tensors cover %llu bytes of a %llu-byte data buffer", file,
               (unsigned long long)pos, (unsigned long long)data_len);
    return EMB_OK;
}

/* Refuse a name that is already in w->t[0 .. n_old) or twice among the new. */
static emb_status st_check_unique(const char *file, const cv_weights *w, size_t n_old)
{
    if (w->n < 2)
        return EMB_OK;
    const char **names = rt_alloc(w->n, sizeof *names);
    if (!names)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < w->n; i++)
        names[i] = w->t[i].name;
    qsort(names, w->n, sizeof *names, st_name_cmp);
    emb_status st = EMB_OK;
    for (size_t i = 1; i < w->n; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            st = rt_error(EMB_ERR_FORMAT, "%s: tensor '%.200s' is already defined%s", file, names[i],
                          n_old ? " (by another file of the checkpoint)" : "");
            break;
        }
    }
    free(names);
    return st;
}

/* Map `path` read-only (*map, *map_len): a regular file of at least the 8
 * bytes of a header length. Nothing is left open on failure. */
static emb_status st_map_file(const char *path, const char *file, void **map, size_t *map_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    RT_FAIL_IF(fd < 0, EMB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    emb_status st = EMB_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        st = rt_error(EMB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = rt_error(EMB_ERR_IO, "%s: not a regular file", path);
    else if (sb.st_size < 8)
        st = rt_error(EMB_ERR_FORMAT, "%s: %lld bytes, too short for a safetensors file", file,
                      (long long)sb.st_size);
    else if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX)
        st = rt_error(EMB_ERR_FORMAT, "%s: file too large to map", file);
    if (st == EMB_OK) {
        *map_len = (size_t)sb.st_size;
        *map = mmap(NULL, *map_len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*map == MAP_FAILED) {
            *map = NULL;
            st = rt_error(EMB_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    return st;
}

/* The mapped file's header as a JSON object (*root, with unique keys) and
 * the data buffer after it (*data, *data_len): the header length bounded by
 * CV_ST_MAX_HEADER and by the file. */
static emb_status st_read_header(const char *file, const uint8_t *base, size_t map_len,
                                 json_t **root, const uint8_t **data, uint64_t *data_len)
{
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | base[i];
    RT_FAIL_IF(hlen > CV_ST_MAX_HEADER, EMB_ERR_FORMAT,
               "%s: header length %llu is absurd (at most %llu)", file, (unsigned long long)hlen,
               (unsigned long long)CV_ST_MAX_HEADER);
    RT_FAIL_IF(hlen > (uint64_t)map_len - 8, EMB_ERR_FORMAT,
               "%s: header length %llu is beyond the file (%zu bytes)", file,
               (unsigned long long)hlen, map_len);
    if (hlen < 2 || base[8] != '{')
        return rt_error(EMB_ERR_FORMAT, "%s: header does not start with a JSON object", file);
    *data = base + 8 + hlen;
    *data_len = (uint64_t)map_len - 8 - hlen;

    json_error_t jerr;
    *root = json_loadb((const char *)base + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    RT_FAIL_IF(!*root, EMB_ERR_FORMAT, "%s: header is not valid JSON (column %d): %s", file,
               jerr.column, jerr.text);
    RT_FAIL_IF(!json_is_object(*root), EMB_ERR_FORMAT, "%s: header is not a JSON object", file);
    return EMB_OK;
}

/* The number of tensors in the header (*n), after checking that
 * "__metadata__", when there, is an object of strings. */
static emb_status st_count_tensors(const char *file, json_t *root, size_t *n)
{
    *n = json_object_size(root);
    json_t *meta = json_object_get(root, "__metadata__");
    if (!meta)
        return EMB_OK;
    (*n)--;
    RT_FAIL_IF(!json_is_object(meta), EMB_ERR_FORMAT, "%s: \"__metadata__\" is not an object",
               file);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v)
    {
        RT_FAIL_IF(!json_is_string(v), EMB_ERR_FORMAT,
                   "%s: \"__metadata__\" value '%.200s' is not a string", file, k);
    }
    return EMB_OK;
}

/* Room for n_new more tensors in w->t, their ranges (*ranges, NULL when
 * n_new is 0; the caller frees it) and one more mapping in w->maps /
 * w->map_lens. */
static emb_status st_grow(const char *file, cv_weights *w, size_t n_new, st_range **ranges)
{
    size_t total;
    RT_FAIL_IF(rt_add_overflow(w->n, n_new, &total), EMB_ERR_FORMAT, "%s: too many tensors", file);
    if (n_new) {
        cv_tensor *nt = rt_realloc(w->t, total, sizeof *nt);
        if (!nt)
            return EMB_ERR_NO_MEMORY;
        w->t = nt;
        *ranges = rt_alloc(n_new, sizeof **ranges);
        if (!*ranges)
            return EMB_ERR_NO_MEMORY;
    }
    void **nmaps = rt_realloc(w->maps, w->n_maps + 1, sizeof *nmaps);
    if (!nmaps)
        return EMB_ERR_NO_MEMORY;
    w->maps = nmaps;
    size_t *nlens = rt_realloc(w->map_lens, w->n_maps + 1, sizeof *nlens);
    if (!nlens)
        return EMB_ERR_NO_MEMORY;
    w->map_lens = nlens;
    return EMB_OK;
}

/* Every tensor entry of the header appended to w->t (w->n counts each one
 * whose name was copied, so that the caller can take them back), with its
 * range in ranges[0 .. *n_ranges). */
static emb_status st_add_entries(const char *file, cv_weights *w, json_t *root,
                                 const uint8_t *data, uint64_t data_len, st_range *ranges,
                                 size_t *n_ranges)
{
    const char *name;
    json_t *info;
    *n_ranges = 0;
    json_object_foreach(root, name, info)
    {
        if (strcmp(name, "__metadata__") == 0)
            continue;
        cv_tensor *t = &w->t[w->n];
        memset(t, 0, sizeof *t);
        t->name = strdup(name);
        RT_FAIL_IF(!t->name, EMB_ERR_NO_MEMORY, "out of memory copying tensor names");
        w->n++;
        RT_TRY(st_parse_entry(file, name, info, data_len, data, t, &ranges[*n_ranges]));
        (*n_ranges)++;
    }
    return EMB_OK;
}

emb_status cv_weights_add_file(cv_weights *w, const char *path)
{
    RT_FAIL_IF(!w || !path, EMB_ERR_INVALID_ARGUMENT, "cv_weights_add_file: NULL argument");
    const char *file = st_base(path);
    size_t n_old = w->n;
    void *map = NULL;
    size_t map_len = 0;
    RT_TRY(st_map_file(path, file, &map, &map_len));

    json_t *root = NULL;
    st_range *ranges = NULL;
    const uint8_t *data = NULL;
    uint64_t data_len = 0;
    size_t n_new = 0, n_ranges = 0;
    emb_status st;
    RT_TRY_GOTO(st, st_read_header(file, map, map_len, &root, &data, &data_len), fail);
    RT_TRY_GOTO(st, st_count_tensors(file, root, &n_new), fail);
    RT_TRY_GOTO(st, st_grow(file, w, n_new, &ranges), fail);
    RT_TRY_GOTO(st, st_add_entries(file, w, root, data, data_len, ranges, &n_ranges), fail);
    RT_TRY_GOTO(st, st_check_tiling(file, ranges, n_ranges, data_len), fail);
    RT_TRY_GOTO(st, st_check_unique(file, w, n_old), fail);

    w->maps[w->n_maps] = map;
    w->map_lens[w->n_maps] = map_len;
    w->n_maps++;
    free(ranges);
    json_decref(root);
    return EMB_OK;

fail:
    while (w->n > n_old) {
        w->n--;
        free(w->t[w->n].name);
        w->t[w->n].name = NULL;
    }
    free(ranges);
    json_decref(root);
    munmap(map, map_len);
    return st;
}

static int st_file_exists(const char *dir, const char *rel)
{
    char path[4096];
    int len = snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (len < 0 || (size_t)len >= sizeof path)
        return 0;
    return access(path, F_OK) == 0;
}

/* A shard file name from the index: a plain file name in the same folder. */
static int st_shard_name_ok(const char *s)
{
    return s[0] != '\0' && !strchr(s, '/') && !strchr(s, '\\') && !strstr(s, "..") &&
           strcmp(s, ".") != 0;
}

/* A tensor name and the shard it was read from, for the index check. */
typedef struct st_owner {
    const char *name;
    size_t shard;
} st_owner;

static int st_owner_cmp(const void *a, const void *b)
{
    const st_owner *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* More shards than any real checkpoint has (the largest have a few hundred). */
#define CV_ST_MAX_SHARDS 16384

/* The shard files the index's weight_map names (*shards, borrowed from
 * `map`; the caller frees the array): each a plain file name of the folder,
 * sorted, each once, at most CV_ST_MAX_SHARDS. */
static emb_status st_index_shards(const char *index_name, json_t *map, const char ***shards,
                                  size_t *n_shards)
{
    size_t n_entries = json_object_size(map);
    RT_FAIL_IF(n_entries == 0, EMB_ERR_FORMAT, "%s: \"weight_map\" is empty", index_name);
    const char **s = rt_alloc(n_entries, sizeof *s);
    if (!s)
        return EMB_ERR_NO_MEMORY;
    *shards = s;
    size_t n = 0;
    const char *tname;
    json_t *v;
    json_object_foreach(map, tname, v)
    {
        RT_FAIL_IF(!json_is_string(v), EMB_ERR_FORMAT, "%s: weight_map['%.200s'] is not a string",
                   index_name, tname);
        const char *shard = json_string_value(v);
        RT_FAIL_IF(!st_shard_name_ok(shard), EMB_ERR_FORMAT,
                   "%s: weight_map['%.200s'] = '%.200s' is not a file name in the model "
                   "folder",
                   index_name, tname, shard);
        s[n++] = shard;
    }
    qsort(s, n, sizeof *s, st_name_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(s[u - 1], s[i]) != 0)
            s[u++] = s[i];
    *n_shards = u;
    RT_FAIL_IF(u > CV_ST_MAX_SHARDS, EMB_ERR_FORMAT, "%s: %zu shard files, at most %d supported",
               index_name, u, CV_ST_MAX_SHARDS);
    return EMB_OK;
}

/* Add each shard's tensors to w, in the order given: shard i holds
 * w->t[first[i] .. first[i + 1]) (first has n_shards + 1 entries). */
static emb_status st_add_shards(cv_weights *w, const char *dir, const char **shards,
                                size_t n_shards, size_t *first)
{
    size_t dlen = strlen(dir);
    for (size_t i = 0; i < n_shards; i++) {
        size_t len = dlen + 1 + strlen(shards[i]) + 1;
        char *path = rt_alloc(len, 1);
        if (!path)
            return EMB_ERR_NO_MEMORY;
        snprintf(path, len, "%s/%s", dir, shards[i]);
        first[i] = w->n;
        emb_status st = cv_weights_add_file(w, path);
        free(path);
        if (st != EMB_OK)
            return st;
    }
    first[n_shards] = w->n;
    return EMB_OK;
}

/* Every tensor of the weight_map is in the shard that names it (tensor
 * names are unique: cv_weights_add_file checked). Sorted arrays + bsearch
 * keep a hostile index with millions of entries O(n log n). */
static emb_status st_check_owners(const char *index_name, const cv_weights *w, json_t *map,
                                  const char **shards, size_t n_shards, const size_t *first)
{
    st_owner *owners = rt_alloc(w->n ? w->n : 1, sizeof *owners);
    if (!owners)
        return EMB_ERR_NO_MEMORY;
    for (size_t i = 0; i < n_shards; i++)
        for (size_t j = first[i]; j < first[i + 1]; j++)
            owners[j] = (st_owner){w->t[j].name, i};
    if (w->n > 1)
        qsort(owners, w->n, sizeof *owners, st_owner_cmp);

    emb_status st = EMB_OK;
    const char *tname;
    json_t *v;
    json_object_foreach(map, tname, v)
    {
        const char *s = json_string_value(v);
        const char **sp = bsearch(&s, shards, n_shards, sizeof *shards, st_name_cmp);
        st_owner key = {tname, 0};
        const st_owner *o = w->n ? bsearch(&key, owners, w->n, sizeof *owners, st_owner_cmp) : NULL;
        if (!sp || !o || o->shard != (size_t)(sp - shards)) {
            st = rt_error(EMB_ERR_FORMAT, "%s: tensor '%.200s' is not in shard '%.200s' that names it",
                          index_name, tname, s);
            break;
        }
    }
    free(owners);
    return st;
}

/* model.safetensors.index.json: open each shard once (in name order), then
 * check that every tensor of the weight_map is in the shard that names it. */
static emb_status st_open_index(cv_weights *w, const char *dir)
{
    static const char index_name[] = "model.safetensors.index.json";
    json_t *root = NULL;
    const char **shards = NULL;
    size_t *first = NULL; /* shard s holds w->t[first[s] .. first[s+1]) */
    size_t n_shards = 0;
    RT_TRY(cv_json_load(dir, index_name, 0, (void **)&root));
    json_t *map = json_is_object(root) ? json_object_get(root, "weight_map") : NULL;
    emb_status st;
    RT_FAIL_GOTO(st, !json_is_object(map), done, EMB_ERR_FORMAT,
                 "%s: missing \"weight_map\" object", index_name);
    RT_TRY_GOTO(st, st_index_shards(index_name, map, &shards, &n_shards), done);
    if (!(first = rt_alloc(n_shards + 1, sizeof *first))) {
        st = EMB_ERR_NO_MEMORY;
        goto done;
    }
    RT_TRY_GOTO(st, st_add_shards(w, dir, shards, n_shards, first), done);
    st = st_check_owners(index_name, w, map, shards, n_shards, first);
done:
    free(shards);
    free(first);
    json_decref(root);
    return st;
}

/* Whether dir holds pytorch_model.bin weights (pickle), which we never load. */
static int st_pickle_only(const char *dir)
{
    return st_file_exists(dir, "pytorch_model.bin") ||
           st_file_exists(dir, "pytorch_model.bin.index.json");
}

static emb_status st_refuse_pickle(const char *dir)
{
    return rt_error(EMB_ERR_UNSUPPORTED,
                    "%s: only pytorch_model.bin weights (pickle) found; convert them to "
                    "model.safetensors first (e.g. save_pretrained(..., "
                    "safe_serialization=True) in transformers)",
                    dir);
}

emb_status cv_weights_add_module(cv_weights *w, const char *dir, const char *module,
                                 const char *prefix)
{
    size_t len = strlen(dir) + strlen(module) + sizeof "//model.safetensors";
    char *path = rt_alloc(len, 1);
    if (!path)
        return EMB_ERR_NO_MEMORY;
    emb_status st;
    snprintf(path, len, "%s/%s", dir, module);
    if (!st_file_exists(path, "model.safetensors")) {
        st = st_pickle_only(path) ? st_refuse_pickle(path)
                                  : rt_error(EMB_ERR_IO, "%s: no model.safetensors", path);
        goto done;
    }
    size_t first = w->n;
    snprintf(path, len, "%s/%s/model.safetensors", dir, module);
    RT_TRY_GOTO(st, cv_weights_add_file(w, path), done);
    for (size_t i = first; i < w->n; i++) {
        size_t n = strlen(prefix) + strlen(w->t[i].name) + 1;
        char *name = rt_alloc(n, 1);
        RT_TRY_GOTO(st, name ? EMB_OK : EMB_ERR_NO_MEMORY, done);
        snprintf(name, n, "%s%s", prefix, w->t[i].name);
        free(w->t[i].name);
        w->t[i].name = name;
    }
    st = EMB_OK;
done:
    free(path);
    return st;
}

emb_status cv_weights_open_dir(cv_weights *w, const char *dir)
{
    RT_FAIL_IF(!w || !dir, EMB_ERR_INVALID_ARGUMENT, "cv_weights_open_dir: NULL argument");
    memset(w, 0, sizeof *w);

    emb_status st;
    if (st_file_exists(dir, "model.safetensors")) {
        size_t len = strlen(dir) + sizeof "/model.safetensors";
        char *path = rt_alloc(len, 1);
        if (!path)
            return EMB_ERR_NO_MEMORY;
        snprintf(path, len, "%s/model.safetensors", dir);
        st = cv_weights_add_file(w, path);
        free(path);
    } else if (st_file_exists(dir, "model.safetensors.index.json")) {
        st = st_open_index(w, dir);
    } else if (st_pickle_only(dir)) {
        return st_refuse_pickle(dir);
    } else {
        return rt_error(EMB_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json",
                        dir);
    }
    if (st != EMB_OK)
        cv_weights_close(w);
    return st;
}

void cv_weights_close(cv_weights *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    for (size_t i = 0; i < w->n_maps; i++)
        munmap(w->maps[i], w->map_lens[i]);
    free(w->maps);
    free(w->map_lens);
    memset(w, 0, sizeof *w);
}

const cv_tensor *cv_weights_find(const cv_weights *w, const char *name)
{
    if (!w || !name)
        return NULL;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return &w->t[i];
    return NULL;
}

/* IEEE half -> single, exact (normals, subnormals, ±0, ±inf, NaN payload). */
emb_status cv_tensor_to_f32(const cv_tensor *t, float *out)
{
    RT_FAIL_IF(!t || (!out && t->nbytes), EMB_ERR_INVALID_ARGUMENT,
               "cv_tensor_to_f32: NULL argument");
    RT_FAIL_IF(!t->is_weight, EMB_ERR_UNSUPPORTED,
               "tensor '%.200s': dtype %s cannot be converted to f32", t->name ? t->name : "?",
               t->dtype_name);
    size_t size = kern_wtype_size(t->dtype);
    RT_FAIL_IF(t->nbytes % size, EMB_ERR_FORMAT,
               "tensor '%.200s': %llu bytes is not a whole number of %s values",
               t->name ? t->name : "?", (unsigned long long)t->nbytes, t->dtype_name);
    if (t->nbytes) /* exact; any alignment; little-endian host */
        kern_widen(t->data, t->dtype, (size_t)(t->nbytes / size), out);
    return EMB_OK;
}
