/* emb tokenize [-m MODEL] [--no-special] [--jsonl] [--kind K] [--truncate]:
 * one JSON array of ids per input line. */
#include <getopt.h>
#include <stdlib.h>

#include "cli/cli.h"

int cli_tokenize(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "no-special", no_argument, NULL, 'n' },
        { "jsonl", no_argument, NULL, 'j' },
        { "kind", required_argument, NULL, 'k' },
        { "truncate", no_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *model = NULL;
    int jsonl = 0;
    emb_tokenize_options o;
    emb_tokenize_options_init(&o);
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'n': o.add_special = 0; break;
        case 'j': jsonl = 1; break;
        case 'k':
            if (cli_parse_kind(optarg, &o.kind) != 0)
                return 2;
            o.apply_prompt = 1;
            break;
        case 't': o.truncate = 1; break;
        default: return 2;
        }
    }
    emb_model *m;
    cli_texts texts;
    if (cli_open_with_texts(model, stdin, jsonl, &m, &texts) != 0)
        return 1;
    int rc = 0;
    size_t cap = 256;
    int32_t *ids = malloc(cap * sizeof *ids);
    for (size_t i = 0; ids && i < texts.n; i++) {
        size_t n = 0;
        emb_status st = cli_tokenize_grow(m, &texts.t[i], &o, &ids, &cap, &n);
        if (st != EMB_OK) {
            fprintf(stderr, "emb tokenize: input %zu: ", i + 1);
            rc = cli_fail("tokenize", st);
            break;
        }
        putchar('[');
        for (size_t k = 0; k < n; k++)
            printf(k ? ",%d" : "%d", ids[k]);
        puts("]");
    }
    if (!ids)
        rc = 1;
    free(ids);
    cli_texts_free(&texts);
    emb_model_close(m);
    return rc;
}
