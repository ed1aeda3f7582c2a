/* Shared helpers for the libFuzzer harnesses in fuzz/ (see docs/security.md,
 * "Fuzzing"). Each harness is one .c file with LLVMFuzzerTestOneInput; this
 * header gives them a private temp directory, file writing, splitting an
 * input into parts, and the project root (fixtures are read from there). */
#ifndef EMB_FUZZ_COMMON_H
#define EMB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_ROOT
#define FUZZ_ROOT "."
#endif

/* Separator between the parts of a multi-part input (the .dict files name it). */
#define FUZZ_SEP "\n=#=\n"
#define FUZZ_SEP_LEN 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_tmpdir[256];

static inline void fuzz_rmdir_atexit(void)
{
    if (fuzz_tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_tmpdir);
        if (system(cmd) != 0) {
            /* best effort */
        }
    }
}

/* A private directory under $TMPDIR (or /tmp), removed at exit. */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_tmpdir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_tmpdir, sizeof fuzz_tmpdir, "%s/emb-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_rmdir_atexit);
    }
    return fuzz_tmpdir;
}

/* Write `n` bytes to `path` (created/truncated); aborts on failure, which is
 * the harness's fault, never the library's. */
static inline void fuzz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Split data into at most max_parts parts at FUZZ_SEP; returns the count.
 * Part i is data[off[i] .. off[i] + len[i]). */
static inline size_t fuzz_split(const uint8_t *data, size_t size, size_t max_parts, size_t *off,
                         size_t *len)
{
    size_t n = 0, start = 0;
    while (n + 1 < max_parts) {
        const uint8_t *hit = NULL;
        if (size - start >= FUZZ_SEP_LEN)
            hit = memmem(data + start, size - start, FUZZ_SEP, FUZZ_SEP_LEN);
        if (!hit)
            break;
        off[n] = start;
        len[n] = (size_t)(hit - (data + start));
        n++;
        start = (size_t)(hit - data) + FUZZ_SEP_LEN;
    }
    off[n] = start;
    len[n] = size - start;
    return n + 1;
}

/* A NUL-terminated copy of n bytes (aborts when out of memory). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

#endif
