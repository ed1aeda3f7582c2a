/* emb convert HF_DIR OUT.h5 [options] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* --OPTION yes|no into *out (1 or 0); anything else is a usage error. */
static int yes_no(const char *option, const char *arg, int *out)
{
    if (!strcmp(arg, "yes") || !strcmp(arg, "1") || !strcmp(arg, "true"))
        *out = 1;
    else if (!strcmp(arg, "no") || !strcmp(arg, "0") || !strcmp(arg, "false"))
        *out = 0;
    else {
        fprintf(stderr, "emb convert: --%s must be yes or no\n", option);
        return -1;
    }
    return 0;
}

int cli_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "dtype", required_argument, NULL, 'd' },
        { "tokenizer-only", no_argument, NULL, 't' },
        { "pooling", required_argument, NULL, 'p' },
        { "normalize", required_argument, NULL, 'n' },
        { "template", required_argument, NULL, 'T' },
        { "prompt", required_argument, NULL, 'P' },
        { "attention", required_argument, NULL, 'a' },
        { "append-eos", required_argument, NULL, 'e' },
        { "calibration", required_argument, NULL, 'c' },
        { "strip", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    emb_convert_options o;
    emb_convert_options_init(&o);
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (embn_dtype_parse(optarg, &o.dtype) != 0) {
                fprintf(stderr, "emb convert: --dtype must be f32, f16, bf16 or int8\n");
                return 2;
            }
            break;
        case 't': o.tokenizer_only = 1; break;
        case 'p': o.pooling = optarg; break;
        case 'n':
            if (yes_no("normalize", optarg, &o.normalize) != 0)
                return 2;
            break;
        case 's':
            if (yes_no("strip", optarg, &o.strip) != 0)
                return 2;
            break;
        case 'T': o.template_ = optarg; break;
        case 'c': o.calibration = optarg; break;
        case 'P': {
            /* --prompt KIND=TEXT, KIND one of query, passage (document), none */
            char *eq = strchr(optarg, '=');
            emb_kind kind = EMB_KIND_NONE;
            if (eq)
                *eq = '\0';
            if (!eq) {
                fprintf(stderr, "emb convert: --prompt takes KIND=TEXT\n");
                return 2;
            } else if (embn_kind_parse(optarg, &kind) == 0)
                *(kind == EMB_KIND_QUERY     ? &o.prompt_query
                  : kind == EMB_KIND_PASSAGE ? &o.prompt_passage
                                             : &o.prompt_none) = eq + 1;
            else {
                fprintf(stderr, "emb convert: --prompt KIND must be query, passage or none\n");
                return 2;
            }
            break;
        }
        case 'a':
            if (!strcmp(optarg, "causal"))
                o.attention = 0;
            else if (!strcmp(optarg, "bidirectional"))
                o.attention = 1;
            else {
                fprintf(stderr, "emb convert: --attention must be causal or bidirectional\n");
                return 2;
            }
            break;
        case 'e':
            if (yes_no("append-eos", optarg, &o.append_eos) != 0)
                return 2;
            break;
        default: return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: emb convert HF_DIR OUT.h5 [--dtype f32|f16|bf16|int8] "
                        "[--tokenizer-only] [--pooling P] [--normalize yes|no] [--template T]\n"
                        "       [--prompt KIND=TEXT]... [--attention causal|bidirectional] "
                        "[--append-eos yes|no] [--strip yes|no]\n"
                        "       [--calibration TEXTS.txt (int8: one text per line)]\n");
        return 2;
    }
    emb_status st = emb_convert(argv[optind], argv[optind + 1], &o);
    if (st != EMB_OK)
        return cli_fail("convert", st);
    return 0;
}
