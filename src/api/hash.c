/* SHA-256 for callers: of a model's file (emb_model_file_sha256) and of any
 * byte stream (emb_sha256_*), over runtime/'s FIPS 180-4 implementation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "runtime/runtime.h"

struct emb_sha256 {
    rt_sha256 s;
};

/* The file at `path` read through in 1 MiB pieces (a tokenizer-only model,
 * which keeps no mapping). */
static emb_status hash_path(const char *path, rt_sha256 *s)
{
    FILE *f = fopen(path, "rb");
    RT_FAIL_IF(!f, EMB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    enum { PIECE = 1 << 20 };
    char *buf = malloc(PIECE);
    if (!buf) {
        fclose(f);
        return rt_error(EMB_ERR_NO_MEMORY, "out of memory");
    }
    size_t got;
    while ((got = fread(buf, 1, PIECE, f)) > 0)
        rt_sha256_update(s, buf, got);
    int bad = ferror(f);
    free(buf);
    fclose(f);
    RT_FAIL_IF(bad, EMB_ERR_IO, "%s: read error", path);
    return EMB_OK;
}

emb_status emb_model_file_sha256(const emb_model *m, char hex[65])
{
    rt_error_clear();
    RT_FAIL_IF(!m || !hex, EMB_ERR_INVALID_ARGUMENT, "emb_model_file_sha256: NULL %s",
               !m ? "model" : "hex");
    rt_sha256 s;
    rt_sha256_init(&s);
    if (m->file.map)
        rt_sha256_update(&s, m->file.map, m->file.map_len);
    else
        RT_TRY(hash_path(m->path, &s));
    rt_sha256_final(&s, hex);
    return EMB_OK;
}

emb_status emb_sha256_open(emb_sha256 **out)
{
    rt_error_clear();
    RT_FAIL_IF(!out, EMB_ERR_INVALID_ARGUMENT, "emb_sha256_open: NULL out");
    *out = rt_alloc(1, sizeof **out);
    if (!*out)
        return EMB_ERR_NO_MEMORY;
    rt_sha256_init(&(*out)->s);
    return EMB_OK;
}

void emb_sha256_update(emb_sha256 *h, const void *data, size_t len)
{
    if (h && len)
        rt_sha256_update(&h->s, data, len);
}

void emb_sha256_final(emb_sha256 *h, char hex[65])
{
    if (h && hex)
        rt_sha256_final(&h->s, hex);
}

void emb_sha256_close(emb_sha256 *h)
{
    free(h);
}
