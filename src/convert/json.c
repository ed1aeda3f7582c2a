/* cv_json_load: read one small JSON file of an HF folder with jansson, with
 * errors that name the file (and line/column for syntax errors). The one
 * JSON file loader of convert/: the config and the tokenizer readers both go
 * through it, so a file reads the same whichever of them reads it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "convert/convert.h"
#include "runtime/runtime.h"

/* Larger than any config or tokenizer file seen in practice (the biggest
 * tokenizer.json files are a few tens of MB). */
#define CV_JSON_MAX_BYTES ((off_t)1 << 30)

/* transformers' save_pretrained writes model_max_length = int(1e30) =
 * 1000000000000000019884624838656 (VERY_LARGE_INTEGER) into
 * tokenizer_config.json when a model sets no limit, beyond json_int_t; that
 * file and special_tokens_map.json (written beside it) hold no id or size
 * that must stay an integer, so their integers are read as reals. Other
 * files (config.json, tokenizer.json, vocab.json: sizes and ids) keep
 * integers and refuse ones beyond int64. */
static size_t cv_json_number_flags(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    const char *name = slash ? slash + 1 : rel;
    if (strcmp(name, "tokenizer_config.json") == 0 || strcmp(name, "special_tokens_map.json") == 0)
        return JSON_DECODE_INT_AS_REAL;
    return 0;
}

emb_status cv_json_load_ex(const char *dir, const char *rel, int optional, size_t flags,
                           void **out)
{
    char *path = NULL;
    FILE *f = NULL;
    emb_status st = EMB_OK;

    if (!out)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "cv_json_load_ex: out is NULL");
    *out = NULL;
    if (!dir || !rel)
        return rt_error(EMB_ERR_INVALID_ARGUMENT, "cv_json_load_ex: dir or file name is NULL");

    size_t len = strlen(dir) + 1 + strlen(rel) + 1;
    path = rt_alloc(len, 1);
    if (!path)
        return EMB_ERR_NO_MEMORY;
    snprintf(path, len, "%s/%s", dir, rel);

    f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT && optional)
            goto done;
        st = rt_error(EMB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        st = rt_error(EMB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = rt_error(EMB_ERR_IO, "%s: not a regular file", path);
        goto done;
    }
    if (sb.st_size > CV_JSON_MAX_BYTES) {
        st = rt_error(EMB_ERR_FORMAT, "%s: %lld bytes is too large for a JSON file of a model folder",
                      path, (long long)sb.st_size);
        goto done;
    }

    json_error_t err;
    json_t *root = json_loadf(f, JSON_DECODE_ANY | cv_json_number_flags(rel) | flags, &err);
    if (!root) {
        if (ferror(f))
            st = rt_error(EMB_ERR_IO, "%s: read error", path);
        else
            st = rt_error(EMB_ERR_FORMAT, "%s: invalid JSON at line %d, column %d: %s", path,
                          err.line, err.column, err.text);
        goto done;
    }
    *out = root;

done:
    if (f)
        fclose(f);
    free(path);
    return st;
}

emb_status cv_json_load(const char *dir, const char *rel, int optional, void **out)
{
    return cv_json_load_ex(dir, rel, optional, 0, out);
}
