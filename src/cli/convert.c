/* emb convert HF_DIR OUT.h5 [options] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "dtype", required_argument, NULL, 'd' },
        { "tokenizer-only", no_argument, NULL, 't' },
        { "pooling", required_argument, NULL, 'p' },
        { "normalize", required_argument, NULL, 'n' },
        { "template", required_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    emb_convert_options o;
    emb_convert_options_init(&o);
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (!strcmp(optarg, "f32"))
                o.dtype = EMB_DTYPE_F32;
            else if (!strcmp(optarg, "f16"))
                o.dtype = EMB_DTYPE_F16;
            else if (!strcmp(optarg, "bf16"))
                o.dtype = EMB_DTYPE_BF16;
            else {
                fprintf(stderr, "emb convert: --dtype must be f32, f16 or bf16\n");
                return 2;
            }
            break;
        case 't': o.tokenizer_only = 1; break;
        case 'p': o.pooling = optarg; break;
        case 'n':
            if (!strcmp(optarg, "yes") || !strcmp(optarg, "1") || !strcmp(optarg, "true"))
                o.normalize = 1;
            else if (!strcmp(optarg, "no") || !strcmp(optarg, "0") || !strcmp(optarg, "false"))
                o.normalize = 0;
            else {
                fprintf(stderr, "emb convert: --normalize must be yes or no\n");
                return 2;
            }
            break;
        case 'T': o.template_ = optarg; break;
        default: return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: emb convert HF_DIR OUT.h5 [--dtype f32|f16|bf16] "
                        "[--tokenizer-only] [--pooling P] [--normalize yes|no] [--template T]\n");
        return 2;
    }
    emb_status st = emb_convert(argv[optind], argv[optind + 1], &o);
    if (st != EMB_OK)
        return cli_fail("convert", st);
    return 0;
}
