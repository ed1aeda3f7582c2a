/* cli/bulk: the journal VECTORS.h5.partial that `emb embed --out` appends
 * to while it runs (docs/format.md, "The journal"): a header with the run's
 * identity, then one self-checking record per text, synced after each batch,
 * so that a run killed at any moment resumes from its last intact record. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/bulk.h"

static const char MAGIC[8] = { 'E', 'M', 'B', 'J', 'R', 'N', 'L', '1' };
/* index, line, raw_hash (u64), id_len, text_len (u32) */
#define REC_FIXED (3 * 8 + 2 * 4)
/* a record's body is at most this long (ids and texts of up to 256 MiB) */
#define REC_MAX ((uint32_t)1 << 30)

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int bulk_journal_create(const char *path, const char *identity)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return -1;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "emb embed: cannot create %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    uint32_t n = (uint32_t)strlen(identity);
    uint64_t sum = bulk_fnv(BULK_FNV_BASIS, identity, n);
    int bad = write_all(fd, MAGIC, sizeof MAGIC) || write_all(fd, &n, sizeof n) ||
              write_all(fd, identity, n) || write_all(fd, &sum, sizeof sum) || fdatasync(fd);
    bad |= close(fd);
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "emb embed: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

char *bulk_journal_identity(FILE *f, const char *path)
{
    char magic[8];
    uint32_t n = 0;
    uint64_t sum = 0;
    char *id = NULL;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0 || fread(&n, sizeof n, 1, f) != 1 ||
        n > REC_MAX)
        goto bad;
    id = malloc((size_t)n + 1);
    if (!id || fread(id, 1, n, f) != n || fread(&sum, sizeof sum, 1, f) != 1 ||
        sum != bulk_fnv(BULK_FNV_BASIS, id, n))
        goto bad;
    id[n] = '\0';
    return id;
bad:
    free(id);
    fprintf(stderr, "emb embed: %s is not an emb embed journal (bad header); not touched: "
                    "remove it to start over\n", path);
    return NULL;
}

static void put(char *p, size_t *o, const void *v, size_t n)
{
    memcpy(p + *o, v, n);
    *o += n;
}

int bulk_journal_encode(char **buf, size_t *len, size_t *cap, uint64_t index, const bulk_rec *r,
                        int store_text, const float *vec, size_t dim)
{
    uint32_t id_len = (uint32_t)r->id_len, text_len = store_text ? (uint32_t)r->text_len : 0;
    size_t body = REC_FIXED + id_len + text_len + dim * sizeof(float);
    size_t need = *len + 4 + body + 8;
    if (body > REC_MAX)
        return -1;
    if (need > *cap) {
        size_t ncap = need * 2;
        char *g = realloc(*buf, ncap);
        if (!g)
            return -1;
        *buf = g;
        *cap = ncap;
    }
    char *p = *buf + *len;
    size_t o = 0;
    uint32_t b32 = (uint32_t)body;
    put(p, &o, &b32, 4);
    put(p, &o, &index, 8);
    put(p, &o, &r->line, 8);
    put(p, &o, &r->raw_hash, 8);
    put(p, &o, &id_len, 4);
    put(p, &o, &text_len, 4);
    put(p, &o, r->id, id_len);
    put(p, &o, r->text, text_len);
    put(p, &o, vec, dim * sizeof(float));
    uint64_t sum = bulk_fnv(BULK_FNV_BASIS, p + 4, body);
    put(p, &o, &sum, 8);
    *len += o;
    return 0;
}

static void get(const char *p, size_t *o, void *v, size_t n)
{
    memcpy(v, p + *o, n);
    *o += n;
}

long long bulk_journal_scan(FILE *f, size_t dim, bulk_jrec_fn fn, void *arg, long *end)
{
    char *buf = NULL;
    size_t cap = 0;
    float *vec = malloc((dim ? dim : 1) * sizeof *vec);
    long long n = 0;
    *end = ftell(f);
    if (!vec)
        goto oom;
    for (;;) {
        uint32_t body;
        uint64_t sum;
        if (fread(&body, 4, 1, f) != 1 || body < REC_FIXED + dim * sizeof(float) || body > REC_MAX)
            break;
        if (body > cap) {
            char *g = realloc(buf, body);
            if (!g)
                goto oom;
            buf = g;
            cap = body;
        }
        if (fread(buf, 1, body, f) != body || fread(&sum, 8, 1, f) != 1 ||
            sum != bulk_fnv(BULK_FNV_BASIS, buf, body))
            break;
        bulk_jrec r;
        size_t o = 0;
        get(buf, &o, &r.index, 8);
        get(buf, &o, &r.line, 8);
        get(buf, &o, &r.raw_hash, 8);
        get(buf, &o, &r.id_len, 4);
        get(buf, &o, &r.text_len, 4);
        if ((size_t)r.id_len + r.text_len + dim * sizeof(float) != body - REC_FIXED ||
            r.index != (uint64_t)n)
            break;
        r.id = buf + o;
        r.text = buf + o + r.id_len;
        memcpy(vec, buf + o + r.id_len + r.text_len, dim * sizeof(float));
        r.vec = vec;
        if (fn && fn(&r, arg) != 0) {
            n = -1;
            goto done;
        }
        n++;
        *end = ftell(f);
    }
done:
    free(buf);
    free(vec);
    return n;
oom:
    fprintf(stderr, "emb embed: out of memory reading the journal\n");
    n = -1;
    goto done;
}

int bulk_journal_append(int fd, const char *buf, size_t len)
{
    if (write_all(fd, buf, len) != 0 || fdatasync(fd) != 0) {
        fprintf(stderr, "emb embed: cannot append to the journal: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}
