/* Shared by the subcommands: model lookup, input reading, JSON output. */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_fail(const char *what, emb_status st)
{
    const char *msg = emb_last_error();
    fprintf(stderr, "emb: %s: %s%s%s\n", what, emb_status_string(st), *msg ? ": " : "", msg);
    return 1;
}

static int readable(const char *p)
{
    return access(p, R_OK) == 0;
}

/* The default model files, best first: the real model that `make models`
 * fetches, then the demo model that `make` always builds (the last entry).
 * Each name is looked for in every directory of default_model_dirs before
 * the next name is tried, so a real model anywhere beats the demo. */
static const char *const default_model_names[] = { "all-MiniLM-L6-v2.h5", "wordnet-mini.h5" };
#define N_DEFAULT_MODEL_NAMES (sizeof default_model_names / sizeof *default_model_names)

/* Where they are looked for, under the directory above the program's
 * (<prefix>/bin/emb): the installed data directory, then the source tree's. */
static const char *const default_model_dirs[] = { "share/emb", "models" };
#define N_DEFAULT_MODEL_DIRS (sizeof default_model_dirs / sizeof *default_model_dirs)

/* <prefix> of this program, <prefix>/bin/emb, from /proc/self/exe (absolute,
 * symlinks resolved): "" when the program sits in "/bin" or "/". Returns 0 if
 * the program's path cannot be read. */
static int program_prefix(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0)
        return 0;
    out[n] = '\0';
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(out, '/');
        if (slash)
            *slash = '\0';
        else
            out[0] = '\0';
    }
    return 1;
}

/* "NAME or NAME" for the first n default names, then " not in DIR, DIR":
 * the tail of both messages below. */
static void print_names_not_in_dirs(size_t n, const char *prefix)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? " or " : "", default_model_names[i]);
    fprintf(stderr, " not in");
    for (size_t d = 0; d < N_DEFAULT_MODEL_DIRS; d++)
        fprintf(stderr, "%s %s/%s", d ? "," : "", prefix, default_model_dirs[d]);
}

/* The first default model file that is readable, or NULL (message printed).
 * Resolved once per process, so the notice about the demo model is printed
 * at most once however many times a subcommand asks. */
static const char *default_model_path(void)
{
    static int resolved;
    static const char *found;
    static char path[PATH_MAX + 64];
    if (resolved)
        return found;
    resolved = 1;
    char prefix[PATH_MAX];
    if (!program_prefix(prefix, sizeof prefix)) {
        fprintf(stderr, "emb: no model given: use -m MODEL.h5 or set EMB_MODEL "
                        "(cannot read /proc/self/exe to find the built-in model)\n");
        return NULL;
    }
    for (size_t i = 0; i < N_DEFAULT_MODEL_NAMES; i++) {
        for (size_t d = 0; d < N_DEFAULT_MODEL_DIRS; d++) {
            int len = snprintf(path, sizeof path, "%s/%s/%s", prefix, default_model_dirs[d],
                               default_model_names[i]);
            if (len < 0 || (size_t)len >= sizeof path || !readable(path))
                continue;
            if (i > 0) {
                /* a fallback: say which demo model is used and why */
                const char *demo = default_model_names[i];
                fprintf(stderr, "emb: using the demo model %.*s (%s): no real model found (",
                        (int)(strlen(demo) - strlen(".h5")), demo, path);
                print_names_not_in_dirs(i, prefix);
                fprintf(stderr, "); run 'make models' to fetch one, or pass -m MODEL.h5\n");
            }
            found = path;
            return found;
        }
    }
    fprintf(stderr, "emb: no model given: use -m MODEL.h5 or set EMB_MODEL (");
    print_names_not_in_dirs(N_DEFAULT_MODEL_NAMES, prefix);
    fprintf(stderr, ")\n");
    return NULL;
}

const char *cli_model_path(const char *explicit_path)
{
    if (explicit_path)
        return explicit_path;
    const char *env = getenv("EMB_MODEL");
    if (env && *env)
        return env;
    return default_model_path();
}

emb_model *cli_open_model_compute(const char *explicit_path, emb_compute compute)
{
    const char *path = cli_model_path(explicit_path);
    if (!path)
        return NULL;
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.compute = compute;
    emb_model *m = NULL;
    emb_status st = emb_model_open(path, &oo, &m);
    if (st != EMB_OK) {
        cli_fail("cannot open model", st);
        return NULL;
    }
    return m;
}

emb_model *cli_open_model(const char *explicit_path)
{
    return cli_open_model_compute(explicit_path, EMB_COMPUTE_F32);
}

int cli_parse_kind(const char *s, emb_kind *out)
{
    if (embn_kind_parse(s, out) != 0) {
        fprintf(stderr, "emb: --kind must be query, passage or none (got '%s')\n", s);
        return -1;
    }
    return 0;
}

int cli_parse_compute(const char *s, emb_compute *out)
{
    if (embn_compute_parse(s, out) != 0) {
        fprintf(stderr, "emb: --compute must be f32 or bf16 (got '%s')\n", s);
        return -1;
    }
    return 0;
}

size_t cli_chomp(const char *line, size_t len)
{
    if (len && line[len - 1] == '\n')
        len--;
    if (len && line[len - 1] == '\r')
        len--;
    return len;
}

char *cli_strndup(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void *cli_grow(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return v;
    size_t ncap = *cap ? 2 * *cap : first;
    if (ncap < *cap || ncap > SIZE_MAX / size)
        return NULL;
    void *grown = realloc(v, ncap * size);
    if (grown)
        *cap = ncap;
    return grown;
}

static int push_text(cli_texts *t, char *data, size_t len)
{
    emb_text *p = cli_grow(t->t, &t->cap, t->n, sizeof *p, 64);
    if (!p)
        return -1;
    t->t = p;
    t->t[t->n].data = data;
    t->t[t->n].len = len;
    t->n++;
    return 0;
}

int cli_read_texts(FILE *f, int jsonl, cli_texts *out)
{
    memset(out, 0, sizeof *out);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    size_t lineno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = cli_chomp(line, (size_t)got);
        char *data = NULL;
        size_t dlen = 0;
        if (jsonl) {
            json_error_t err;
            json_t *j = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
            json_t *s = j && json_is_object(j) ? json_object_get(j, "text") : j;
            if (!s || !json_is_string(s)) {
                fprintf(stderr, "emb: input line %zu: expected a JSON string or {\"text\": ...}\n",
                        lineno);
                json_decref(j);
                free(line);
                cli_texts_free(out);
                return -1;
            }
            dlen = json_string_length(s);
            data = cli_strndup(json_string_value(s), dlen);
            json_decref(j);
        } else {
            data = cli_strndup(line, len);
            dlen = len;
        }
        if (!data || push_text(out, data, dlen) != 0) {
            free(data);
            free(line);
            cli_texts_free(out);
            fprintf(stderr, "emb: out of memory reading input\n");
            return -1;
        }
    }
    free(line);
    return 0;
}

int cli_open_with_texts_compute(const char *model_path, emb_compute compute, FILE *in, int jsonl,
                                emb_model **m, cli_texts *texts)
{
    *m = cli_open_model_compute(model_path, compute);
    if (!*m)
        return 1;
    if (cli_read_texts(in, jsonl, texts) != 0) {
        emb_model_close(*m);
        *m = NULL;
        return 1;
    }
    return 0;
}

int cli_open_with_texts(const char *model_path, FILE *in, int jsonl, emb_model **m,
                        cli_texts *texts)
{
    return cli_open_with_texts_compute(model_path, EMB_COMPUTE_F32, in, jsonl, m, texts);
}

emb_status cli_tokenize_grow(const emb_model *m, const emb_text *t, const emb_tokenize_options *o,
                             int32_t **ids, size_t *cap, size_t *n)
{
    emb_status st = emb_tokenize(m, t->data, t->len, o, *ids, *cap, n);
    if (st != EMB_ERR_BUFFER_TOO_SMALL)
        return st;
    int32_t *bigger = realloc(*ids, *n * sizeof *bigger);
    if (!bigger)
        return EMB_ERR_NO_MEMORY;
    *ids = bigger;
    *cap = *n;
    return emb_tokenize(m, t->data, t->len, o, *ids, *cap, n);
}

void cli_texts_free(cli_texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free((char *)t->t[i].data);
    free(t->t);
    memset(t, 0, sizeof *t);
}

void cli_json_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

void cli_json_floats(FILE *f, const float *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ",%.9g" : "%.9g", (double)v[i]);
    fputc(']', f);
}
