/* cli/bulk — `emb embed --out VECTORS.h5`: a corpus to a vectors file
 * (docs/format.md, "Vectors file"), through a resumable journal
 * VECTORS.h5.partial. Private to the bulk_*.c files and embed.c. */
#ifndef EMB_CLI_BULK_H
#define EMB_CLI_BULK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"

typedef enum bulk_format { BULK_LINES, BULK_JSONL, BULK_TSV } bulk_format;

/* What `emb embed --out` was asked to do (the command line). */
typedef struct bulk_args {
    const char *model, *input, *out, *id_field, *text_field;
    bulk_format format;
    int store_text, quant_int8, quant_binary;
    size_t batch;
    emb_compute compute;
    emb_encode_options enc;
} bulk_args;

int bulk_run(const bulk_args *a); /* the exit status: 0, 1, 130 (SIGINT) */

/* ---- input records (bulk_input.c) ---- */

/* One input record: its id and text (malloc'ed, NUL-terminated), its 1-based
 * line, and the FNV-1a 64 hash of the raw line as read (newline included). */
typedef struct bulk_rec {
    char *id, *text;
    size_t id_len, text_len;
    uint64_t line, raw_hash;
} bulk_rec;

/* FNV-1a 64 over len bytes, continuing from h (start: BULK_FNV_BASIS). */
#define BULK_FNV_BASIS 0xcbf29ce484222325ULL
uint64_t bulk_fnv(uint64_t h, const void *data, size_t len);

/* Parse one raw line (len bytes without its newline) of line number `line`
 * into *r (id, text). Returns 1 for a record, 0 for a blank line (skipped),
 * -1 on bad input with a message in msg[cap] ("line N: ..."). */
int bulk_parse_line(bulk_format f, const char *id_field, const char *text_field, const char *s,
                    size_t len, uint64_t line, bulk_rec *r, char *msg, size_t cap);
void bulk_rec_free(bulk_rec *r);

/* ---- the journal (bulk_journal.c) ---- */

/* A journal record as read back: views into the reader's buffer. */
typedef struct bulk_jrec {
    uint64_t index, line, raw_hash;
    const char *id, *text;
    uint32_t id_len, text_len;
    const float *vec; /* dim floats (unaligned data copied into an aligned buffer) */
} bulk_jrec;

/* Create `path` holding only the header (the identity JSON), atomically
 * (written to path.tmp, synced, renamed). 0 or -1 (message printed). */
int bulk_journal_create(const char *path, const char *identity);
/* Read the header's identity JSON (malloc'ed) from an open journal; the file
 * position is left at the first record. NULL (message printed) when it is not
 * a journal. */
char *bulk_journal_identity(FILE *f, const char *path);
/* Call fn for each intact record from the current position of f; stop at the
 * first torn or corrupt one. *end receives the offset after the last intact
 * record; returns the number of records, or -1 (fn returned nonzero, or out of
 * memory; message printed). */
typedef int (*bulk_jrec_fn)(const bulk_jrec *r, void *arg);
long long bulk_journal_scan(FILE *f, size_t dim, bulk_jrec_fn fn, void *arg, long *end);
/* Append one record to buf (grown as needed): the bytes of a journal record. */
int bulk_journal_encode(char **buf, size_t *len, size_t *cap, uint64_t index, const bulk_rec *r,
                        int store_text, const float *vec, size_t dim);

/* Write buf[0..len) at the end of the journal open as fd, then fdatasync:
 * 0, or -1 (message printed). */
int bulk_journal_append(int fd, const char *buf, size_t len);

/* ---- identity (bulk_identity.c) ---- */

/* The identity of a run as a JSON object: model (sha256, source, dtype, dim,
 * normalize, probe vector), kind, prompt, truncate, compute, input format and
 * fields, stored texts, quantizations, libemb version; "model_path" is kept
 * for information and not compared. NULL (message printed) on failure. */
json_t *bulk_identity_make(const emb_model *m, const bulk_args *a);
/* Print to stderr what differs between `was` (from a file) and `now`, each
 * key by name; returns the number of differing keys (0: the same run). */
int bulk_identity_diff(const char *what, json_t *was, json_t *now);

/* ---- the vectors file (bulk_h5.c) ---- */

/* Write the vectors file `path` (via path.tmp and a rename) from the
 * journal's records at the current position of jf. 0 or -1 (message). */
int bulk_h5_write(const char *path, FILE *jf, json_t *identity, const char *input_sha256,
                  size_t count);
/* Read a complete vectors file's identity JSON and input_sha256: 0, or -1
 * when it is not a vectors file written by `emb embed` (message printed). */
int bulk_h5_identity(const char *path, json_t **identity, char input_sha256[65], uint64_t *count);

#endif
