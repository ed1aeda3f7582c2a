/* emb embed [-m MODEL] [--kind K] [--prompt TEXT] [--jsonl] [--batch N]
 *           [--format jsonl|f32] [--no-truncate] [--compute f32|bf16]:
 * one vector per input line. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Encode the texts `batch` at a time and write each vector to stdout as it
 * comes: a JSON array a line, or (raw) its dim little-endian floats. 0, or
 * 1 (message printed). */
static int embed_all(const emb_model *m, const cli_texts *texts, const emb_encode_options *o,
                     size_t batch, int raw)
{
    size_t dim = emb_model_dim(m);
    float *vec = malloc(batch * (dim ? dim : 1) * sizeof *vec);
    int rc = vec ? 0 : 1;
    for (size_t i = 0; rc == 0 && i < texts->n; i += batch) {
        size_t n = texts->n - i < batch ? texts->n - i : batch;
        emb_status st = emb_encode(m, texts->t + i, n, o, vec);
        if (st != EMB_OK) {
            rc = cli_fail("embed", st);
            break;
        }
        for (size_t k = 0; k < n; k++) {
            if (raw) {
                fwrite(vec + k * dim, sizeof *vec, dim, stdout);
            } else {
                cli_json_floats(stdout, vec + k * dim, dim);
                putchar('\n');
            }
        }
    }
    free(vec);
    return rc;
}

int cli_embed(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "kind", required_argument, NULL, 'k' },
        { "prompt", required_argument, NULL, 'p' },
        { "jsonl", no_argument, NULL, 'j' },
        { "batch", required_argument, NULL, 'b' },
        { "format", required_argument, NULL, 'f' },
        { "no-truncate", no_argument, NULL, 'T' },
        { "compute", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    const char *model = NULL;
    int jsonl = 0, raw = 0;
    long batch = 32;
    emb_compute compute = EMB_COMPUTE_F32;
    emb_encode_options o;
    emb_encode_options_init(&o);
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'k':
            if (cli_parse_kind(optarg, &o.kind) != 0)
                return 2;
            break;
        case 'p':
            o.prompt = optarg;
            o.prompt_len = strlen(optarg);
            break;
        case 'j': jsonl = 1; break;
        case 'b':
            batch = strtol(optarg, NULL, 10);
            if (batch < 1 || batch > 1 << 20) {
                fprintf(stderr, "emb embed: --batch must be 1..1048576\n");
                return 2;
            }
            break;
        case 'f':
            if (!strcmp(optarg, "f32"))
                raw = 1;
            else if (strcmp(optarg, "jsonl") != 0) {
                fprintf(stderr, "emb embed: --format must be jsonl or f32\n");
                return 2;
            }
            break;
        case 'T': o.truncate = 0; break;
        case 'c':
            if (cli_parse_compute(optarg, &compute) != 0)
                return 2;
            break;
        default: return 2;
        }
    }
    emb_model *m;
    cli_texts texts;
    if (cli_open_with_texts_compute(model, compute, stdin, jsonl, &m, &texts) != 0)
        return 1;
    int rc = embed_all(m, &texts, &o, (size_t)batch, raw);
    cli_texts_free(&texts);
    emb_model_close(m);
    return rc;
}
