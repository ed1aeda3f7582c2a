/* emb embed [-m MODEL] [--kind K] [--prompt TEXT] [--jsonl] [--batch N]
 *           [--format jsonl|f32] [--no-truncate] [--compute f32|bf16]:
 * one vector per input line to stdout; with --input FILE|- --out
 * VECTORS.h5 [--id-field NAME] [--text-field NAME] [--format-in
 * jsonl|tsv|lines] [--no-text] [--quantize int8,binary], a corpus to a
 * resumable vectors file (bulk.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bulk.h"

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

/* --quantize int8,binary (either or both) */
static int parse_quantize(const char *s, bulk_args *a)
{
    char *copy = strdup(s), *save = NULL;
    int bad = !copy;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "int8"))
            a->quant_int8 = 1;
        else if (!strcmp(t, "binary"))
            a->quant_binary = 1;
        else
            bad = 1;
    }
    free(copy);
    if (bad || (!a->quant_int8 && !a->quant_binary)) {
        fprintf(stderr, "emb embed: --quantize takes int8, binary or int8,binary (got '%s')\n", s);
        return -1;
    }
    return 0;
}

/* --format-in, else the input's extension: .jsonl, .tsv, anything else lines */
static int parse_format_in(const char *s, const char *input, bulk_format *f)
{
    if (!s) {
        size_t n = strlen(input);
        *f = n > 6 && !strcmp(input + n - 6, ".jsonl") ? BULK_JSONL
             : n > 4 && !strcmp(input + n - 4, ".tsv") ? BULK_TSV
                                                       : BULK_LINES;
        return 0;
    }
    if (!strcmp(s, "jsonl"))
        *f = BULK_JSONL;
    else if (!strcmp(s, "tsv"))
        *f = BULK_TSV;
    else if (!strcmp(s, "lines"))
        *f = BULK_LINES;
    else {
        fprintf(stderr, "emb embed: --format-in must be jsonl, tsv or lines (got '%s')\n", s);
        return -1;
    }
    return 0;
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
        { "input", required_argument, NULL, 'i' },
        { "out", required_argument, NULL, 'o' },
        { "id-field", required_argument, NULL, 'I' },
        { "text-field", required_argument, NULL, 'X' },
        { "format-in", required_argument, NULL, 'F' },
        { "no-text", no_argument, NULL, 'N' },
        { "quantize", required_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 },
    };
    const char *model = NULL;
    int jsonl = 0, raw = 0;
    long batch = 32;
    emb_compute compute = EMB_COMPUTE_F32;
    emb_encode_options o;
    emb_encode_options_init(&o);
    bulk_args ba = { .id_field = "id", .text_field = "text", .store_text = 1 };
    const char *format_in = NULL;
    int bulk_only = 0; /* an option that needs --out was given */
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
        case 'i': ba.input = optarg; break;
        case 'o': ba.out = optarg; break;
        case 'I': ba.id_field = optarg; bulk_only = 1; break;
        case 'X': ba.text_field = optarg; bulk_only = 1; break;
        case 'F': format_in = optarg; bulk_only = 1; break;
        case 'N': ba.store_text = 0; bulk_only = 1; break;
        case 'q':
            if (parse_quantize(optarg, &ba) != 0)
                return 2;
            bulk_only = 1;
            break;
        default: return 2;
        }
    }
    if (ba.out || ba.input || bulk_only) {
        if (!ba.out || !ba.input || optind < argc || jsonl || raw) {
            fprintf(stderr, "emb embed: a vectors file needs --input FILE|- and --out VECTORS.h5 "
                            "(and neither --jsonl nor --format)\n");
            return 2;
        }
        if (parse_format_in(format_in, ba.input, &ba.format) != 0)
            return 2;
        ba.model = model;
        ba.batch = (size_t)batch;
        ba.compute = compute;
        ba.enc = o;
        return bulk_run(&ba);
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
