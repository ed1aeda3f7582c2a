/* Shared helpers for the cmocka tests (tests/testutil.c). Tests run from the
 * project root; fixtures live under tests/fixtures/. */
#ifndef EMB_TESTUTIL_H
#define EMB_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "emb.h"

/* Fail unless `got` is `want` (printing both names and emb_last_error());
 * an error status must come with a non-empty emb_last_error(). */
void tu_expect_status(emb_status got, emb_status want);

/* Read a whole file (NUL-terminated copy; *len without the NUL). NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/* Parse a JSON-lines file into an array of objects (caller json_decref's).
 * Fails the test if the file is missing or a line does not parse. */
json_t *tu_read_jsonl(const char *path);

/* Write `len` bytes to `path` (created or truncated); fails the test on error. */
void tu_write_file(const char *path, const void *data, size_t len);

/* A cmocka group setup / teardown pair for a test file that works in one
 * temporary directory, tu_tmp (created by the setup, removed with its
 * contents by the teardown). */
extern char *tu_tmp;
int tu_tmp_setup(void **state);
int tu_tmp_teardown(void **state);

/* Set `key` of the JSON object in the file dir/rel to value (NULL: delete
 * it; the reference is stolen); fails the test on error. */
void tu_patch_json(const char *dir, const char *rel, const char *key, json_t *value);

/* Write the string `text` to dir/rel; fails the test on error. */
void tu_write_text(const char *dir, const char *rel, const char *text);

/* Copy the file `from` to `dir`/`name`; fails the test on error. */
void tu_copy_file(const char *from, const char *dir, const char *name);

/* A fresh temporary directory (removed by tu_rmtree); path in static-free
 * malloc'ed memory. */
char *tu_tmpdir(void);
void tu_rmtree(const char *path);

/* Convert an HF folder into a model file inside a temp dir; returns the
 * .h5 path (malloc'ed). Fails the test on error, printing emb_last_error(). */
char *tu_convert(const char *hf_dir, const char *tmpdir, const char *name,
                 const emb_convert_options *opts);

/* Compare two float vectors; if max |a-b| > tol, print the label, the worst
 * index, got and expected, and fail the test. Returns the max abs diff. */
double tu_assert_close(const float *got, const float *expected, size_t n, double tol,
                       const char *label);

/* Run a shell command (printf-style) from the project root; returns its
 * exit status (as pclose) and, when out is not NULL, its standard output
 * (malloc'ed, NUL-terminated). */
int tu_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* In the model file at `path`, /config attribute `name` deleted, then
 * (kind 'i': int64 v; 's': the string sv; 'a': int32 [2] {v, 0}) written
 * again; kind 0: only deleted. Fails the test on an HDF5 error. */
void tu_h5_config_attr(const char *path, const char *name, char kind, int64_t v, const char *sv);

/* The emb program under test: $EMB_BIN (set by `make test`), else bin/emb. */
const char *tu_emb_bin(void);

/* Fill a float array from a JSON array of numbers; returns the count. */
size_t tu_json_floats(json_t *arr, float *out, size_t cap);
/* Fill an int32 array from a JSON array of numbers; returns the count. */
size_t tu_json_ints(json_t *arr, int32_t *out, size_t cap);

/* The input kind of a golden case's "kind" string: "query", "passage",
 * anything else none. */
emb_kind tu_golden_kind(const char *kind);

/* Whether the real checkpoint folder `dir` (models/<name>, left by `make
 * models`) is there. When it is not: with EMB_OFFLINE=1 the calling test is
 * skipped with a message; otherwise the test fails, saying how to fetch it.
 * Returns 1 when present (0 only after skip()). */
int tu_real_model_present(const char *dir);

#endif
