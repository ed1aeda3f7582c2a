/*
 * libemb as an SQLite loadable extension: embeddings and cosine similarity
 * in SQL, using only the public API (include/emb.h).
 *
 *   SELECT load_extension('lib/libemb_sqlite');
 *   SELECT emb_model('e5', 'e5-small-v2.h5');          -- register; returns dim
 *   SELECT emb_embed('e5', 'how do plants eat', 'query'); -- BLOB of LE float32
 *   SELECT emb_cosine(a, b);                            -- REAL
 *   SELECT emb_dim('e5');                               -- INTEGER
 *
 * Models are registered per connection under a name and closed when the
 * connection closes (or when the name is registered again). A registry is
 * shared by the extension's functions with a reference count, so that it
 * lives exactly as long as the last of them. SQLite serializes the calls on
 * one connection, so the registry needs no lock of its own; an emb_model
 * handle is thread-safe anyway. Bad input gives an SQL error with a message
 * (sqlite3_result_error), never a crash. See docs/sqlite.md.
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "emb.h"
#include "emb_names.h"

#if defined(__GNUC__)
#define EMB_SQLITE_EXPORT __attribute__((visibility("default")))
#else
#define EMB_SQLITE_EXPORT
#endif

/* One registered model. */
typedef struct reg_model {
    char *name;
    emb_model *model;
    struct reg_model *next;
} reg_model;

/* The models of one connection, shared by the extension's functions. */
typedef struct registry {
    reg_model *head;
    int refs; /* one per function registered with it */
} registry;

static void registry_unref(void *p)
{
    registry *r = p;
    if (--r->refs > 0)
        return;
    reg_model *m = r->head;
    while (m) {
        reg_model *next = m->next;
        emb_model_close(m->model);
        sqlite3_free(m->name);
        sqlite3_free(m);
        m = next;
    }
    sqlite3_free(r);
}

static reg_model *registry_find(registry *r, const char *name)
{
    for (reg_model *m = r->head; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

/* "fn: EMB_ERR_IO: input/output error: detail" as the SQL error. */
static void result_emb_error(sqlite3_context *ctx, const char *fn, emb_status st)
{
    const char *detail = emb_last_error();
    char *msg = sqlite3_mprintf("%s: %s%s%s", fn, emb_status_string(st), *detail ? ": " : "", detail);
    if (!msg) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_error(ctx, msg, -1);
    sqlite3_free(msg);
}

/* The model named by argument `arg` (TEXT), or NULL with an SQL error set. */
static reg_model *arg_model(sqlite3_context *ctx, const char *fn, sqlite3_value *arg)
{
    registry *r = sqlite3_user_data(ctx);
    if (sqlite3_value_type(arg) != SQLITE_TEXT) {
        char *msg = sqlite3_mprintf("%s: the model name must be TEXT (registered with emb_model)", fn);
        sqlite3_result_error(ctx, msg ? msg : fn, -1);
        sqlite3_free(msg);
        return NULL;
    }
    const char *name = (const char *)sqlite3_value_text(arg);
    if (!name) {
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    reg_model *m = registry_find(r, name);
    if (!m) {
        char *msg = sqlite3_mprintf("%s: no model named '%s' (register it first with "
                                    "emb_model('%s', 'path.h5'))", fn, name, name);
        sqlite3_result_error(ctx, msg ? msg : fn, -1);
        sqlite3_free(msg);
    }
    return m;
}

/* emb_model(name, path [, n_threads]) -> the model's dim. Opens the file and
 * registers it under `name`, replacing (and closing) a model of that name. */
static void fn_model(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    registry *r = sqlite3_user_data(ctx);
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT || sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
        sqlite3_result_error(ctx, "emb_model: expected emb_model(name TEXT, path TEXT [, threads INTEGER])", -1);
        return;
    }
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    const char *path = (const char *)sqlite3_value_text(argv[1]);
    if (!name || !path) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!*name) {
        sqlite3_result_error(ctx, "emb_model: the model name must not be empty", -1);
        return;
    }
    emb_open_options opts;
    emb_open_options_init(&opts);
    if (argc > 2) {
        if (sqlite3_value_type(argv[2]) != SQLITE_INTEGER) {
            sqlite3_result_error(ctx, "emb_model: threads must be an INTEGER (0 = automatic)", -1);
            return;
        }
        sqlite3_int64 t = sqlite3_value_int64(argv[2]);
        if (t < 0 || t > INT_MAX) { /* the library refuses more than its cap itself */
            sqlite3_result_error(ctx, "emb_model: threads must be between 0 and the library's "
                                      "limit (0 = automatic)", -1);
            return;
        }
        opts.n_threads = (int)t;
    }
    emb_model *model = NULL;
    emb_status st = emb_model_open(path, &opts, &model);
    if (st != EMB_OK) {
        result_emb_error(ctx, "emb_model", st);
        return;
    }
    reg_model *m = registry_find(r, name);
    if (m) { /* replace: no statement of this connection is using it now */
        emb_model_close(m->model);
        m->model = model;
    } else {
        m = sqlite3_malloc(sizeof *m);
        char *copy = sqlite3_mprintf("%s", name);
        if (!m || !copy) {
            sqlite3_free(m);
            sqlite3_free(copy);
            emb_model_close(model);
            sqlite3_result_error_nomem(ctx);
            return;
        }
        m->name = copy;
        m->model = model;
        m->next = r->head;
        r->head = m;
    }
    sqlite3_result_int64(ctx, (sqlite3_int64)emb_model_dim(model));
}

/* emb_dim(name) -> INTEGER: floats per vector of a registered model. */
static void fn_dim(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    reg_model *m = arg_model(ctx, "emb_dim", argv[0]);
    if (m)
        sqlite3_result_int64(ctx, (sqlite3_int64)emb_model_dim(m->model));
}

/* Store float32 values little-endian whatever the host's byte order. */
static void put_le32(unsigned char *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        dst[4 * i + 0] = (unsigned char)(u & 0xffu);
        dst[4 * i + 1] = (unsigned char)((u >> 8) & 0xffu);
        dst[4 * i + 2] = (unsigned char)((u >> 16) & 0xffu);
        dst[4 * i + 3] = (unsigned char)((u >> 24) & 0xffu);
    }
}

static void get_le32(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                     (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &u, 4);
    }
}

/* emb_embed(name, text [, kind]) -> BLOB of dim little-endian float32.
 * kind: 'query', 'passage', 'none' (default, also NULL). */
static void fn_embed(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    reg_model *m = arg_model(ctx, "emb_embed", argv[0]);
    if (!m)
        return;
    int type = sqlite3_value_type(argv[1]);
    if (type == SQLITE_NULL) {
        sqlite3_result_error(ctx, "emb_embed: the text is NULL", -1);
        return;
    }
    emb_encode_options opts;
    emb_encode_options_init(&opts);
    if (argc > 2 && sqlite3_value_type(argv[2]) != SQLITE_NULL) {
        if (sqlite3_value_type(argv[2]) != SQLITE_TEXT) {
            sqlite3_result_error(ctx, "emb_embed: kind must be 'query', 'passage' or 'none'", -1);
            return;
        }
        const char *kind = (const char *)sqlite3_value_text(argv[2]);
        if (!kind) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        if (embn_kind_parse(kind, &opts.kind) != 0) {
            char *msg = sqlite3_mprintf("emb_embed: unknown kind '%s' (expected 'query', "
                                        "'passage' or 'none')", kind);
            sqlite3_result_error(ctx, msg ? msg : "emb_embed: unknown kind", -1);
            sqlite3_free(msg);
            return;
        }
    }
    /* TEXT as UTF-8 (the byte count includes any U+0000); a BLOB is taken as
     * UTF-8 bytes; numbers as SQLite renders them */
    const char *data = type == SQLITE_BLOB ? (const char *)sqlite3_value_blob(argv[1])
                                           : (const char *)sqlite3_value_text(argv[1]);
    int nbytes = sqlite3_value_bytes(argv[1]);
    if (!data && nbytes > 0) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t dim = emb_model_dim(m->model);
    if (dim == 0) {
        sqlite3_result_error(ctx, "emb_embed: the model is tokenizer-only (no weights)", -1);
        return;
    }
    if (dim > (size_t)INT32_MAX / 4) {
        sqlite3_result_error_toobig(ctx);
        return;
    }
    float *vec = sqlite3_malloc64(dim * sizeof *vec);
    unsigned char *blob = sqlite3_malloc64(dim * 4);
    if (!vec || !blob) {
        sqlite3_free(vec);
        sqlite3_free(blob);
        sqlite3_result_error_nomem(ctx);
        return;
    }
    emb_text t = { data ? data : "", (size_t)nbytes };
    emb_status st = emb_encode(m->model, &t, 1, &opts, vec);
    if (st != EMB_OK) {
        sqlite3_free(vec);
        sqlite3_free(blob);
        result_emb_error(ctx, "emb_embed", st);
        return;
    }
    put_le32(blob, vec, dim);
    sqlite3_free(vec);
    sqlite3_result_blob(ctx, blob, (int)(dim * 4), sqlite3_free);
}

/* emb_cosine(a, b) -> REAL for two BLOBs of little-endian float32 of the
 * same length; NULL when either is NULL (a row without a vector). */
static void fn_cosine(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return; /* NULL result */
    if (sqlite3_value_type(argv[0]) != SQLITE_BLOB || sqlite3_value_type(argv[1]) != SQLITE_BLOB) {
        sqlite3_result_error(ctx, "emb_cosine: expected two BLOBs of float32 (from emb_embed)", -1);
        return;
    }
    const unsigned char *a = sqlite3_value_blob(argv[0]);
    int na = sqlite3_value_bytes(argv[0]);
    const unsigned char *b = sqlite3_value_blob(argv[1]);
    int nb = sqlite3_value_bytes(argv[1]);
    if (na != nb) {
        char *msg = sqlite3_mprintf("emb_cosine: the vectors have different lengths "
                                    "(%d and %d bytes)", na, nb);
        sqlite3_result_error(ctx, msg ? msg : "emb_cosine: different lengths", -1);
        sqlite3_free(msg);
        return;
    }
    if (na <= 0 || na % 4 != 0 || !a || !b) {
        char *msg = sqlite3_mprintf("emb_cosine: a vector of %d bytes is not a non-empty "
                                    "array of float32 (a multiple of 4 bytes)", na);
        sqlite3_result_error(ctx, msg ? msg : "emb_cosine: bad blob length", -1);
        sqlite3_free(msg);
        return;
    }
    size_t dim = (size_t)na / 4;
    float *va = sqlite3_malloc64(2 * dim * sizeof *va);
    if (!va) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    float *vb = va + dim;
    get_le32(va, a, dim); /* also aligns: blobs need not be 4-byte aligned */
    get_le32(vb, b, dim);
    float cos = 0.0f;
    emb_status st = emb_cosine(va, vb, dim, &cos);
    sqlite3_free(va);
    if (st != EMB_OK) {
        result_emb_error(ctx, "emb_cosine", st);
        return;
    }
    sqlite3_result_double(ctx, (double)cos);
}

/* emb_version() -> the library's version string. */
static void fn_version(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_text(ctx, emb_version(), -1, SQLITE_STATIC);
}

#ifndef SQLITE_DIRECTONLY
#define SQLITE_DIRECTONLY 0x000080000
#endif
#ifndef SQLITE_INNOCUOUS
#define SQLITE_INNOCUOUS 0x000200000
#endif

/* Entry point for load_extension('.../libemb_sqlite') (SQLite derives
 * "sqlite3_embsqlite_init" from the file name). */
EMB_SQLITE_EXPORT int sqlite3_embsqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    SQLITE_EXTENSION_INIT2(api);
    registry *r = sqlite3_malloc(sizeof *r);
    if (!r)
        return SQLITE_NOMEM;
    r->head = NULL;
    r->refs = 1; /* held by this function until the registrations are done */
    static const struct {
        const char *name;
        int n_arg;
        int flags;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {
        /* opening files from SQL is not allowed inside triggers and views */
        { "emb_model", 2, SQLITE_DIRECTONLY, fn_model },
        { "emb_model", 3, SQLITE_DIRECTONLY, fn_model },
        /* deterministic within a statement, so that a constant query vector
         * (emb_embed('m', 'question', 'query')) is computed once, not per row */
        { "emb_embed", 2, SQLITE_DETERMINISTIC, fn_embed },
        { "emb_embed", 3, SQLITE_DETERMINISTIC, fn_embed },
        { "emb_dim", 1, SQLITE_DETERMINISTIC, fn_dim },
        { "emb_cosine", 2, SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, fn_cosine },
        { "emb_version", 0, SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, fn_version },
    };
    int rc = SQLITE_OK;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0] && rc == SQLITE_OK; i++) {
        r->refs++;
        rc = sqlite3_create_function_v2(db, fns[i].name, fns[i].n_arg, SQLITE_UTF8 | fns[i].flags, r,
                                        fns[i].fn, NULL, NULL, registry_unref);
        /* on failure SQLite has already called registry_unref */
    }
    if (rc != SQLITE_OK && err)
        *err = sqlite3_mprintf("libemb_sqlite: cannot register functions: %s", sqlite3_errmsg(db));
    registry_unref(r);
    return rc;
}
