/* cli/ — the `emb` program: one file per subcommand, using only the public
 * API (include/emb.h). */
#ifndef EMB_CLI_H
#define EMB_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "emb.h"

/* subcommands: argc/argv start at the subcommand name; return exit status */
int cli_convert(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_embed(int argc, char **argv);
int cli_similarity(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_search(int argc, char **argv);

/* Which model file to use: `explicit_path` (-m) first, then $EMB_MODEL, then
 * the installed built-in model (<exe>/../share/emb/wordnet-mini.h5), then the
 * source tree's (<exe>/../models/wordnet-mini.h5). Returns a static string or
 * NULL (after printing a message). */
const char *cli_model_path(const char *explicit_path);

/* Open the model or print the library's message; NULL on failure. */
emb_model *cli_open_model(const char *explicit_path);

/* Print "emb: <what>: <status>: <last error>" to stderr; returns 1. */
int cli_fail(const char *what, emb_status st);

/* Parse --kind query|passage|none. Returns 0 or -1 (message printed). */
int cli_parse_kind(const char *s, emb_kind *out);

/* Input texts: one per line of `f` (a trailing "\r" dropped), or with
 * jsonl, one JSON string or object with "text" per line. */
typedef struct cli_texts {
    size_t n, cap;
    emb_text *t;
} cli_texts;
int cli_read_texts(FILE *f, int jsonl, cli_texts *out);
void cli_texts_free(cli_texts *t);

/* Write `len` bytes as a JSON string literal. */
void cli_json_string(FILE *f, const char *s, size_t len);
/* Write a float array as a JSON array with 9 significant digits. */
void cli_json_floats(FILE *f, const float *v, size_t n);

#endif
