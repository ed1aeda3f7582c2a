/* emb similarity [-m MODEL] [--kind K] [--compute f32|bf16] A B: the cosine
 * of two texts. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_similarity(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "kind", required_argument, NULL, 'k' },
        { "compute", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    const char *model = NULL;
    emb_compute compute = EMB_COMPUTE_F32;
    emb_encode_options o;
    emb_encode_options_init(&o);
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        if (c == 'm')
            model = optarg;
        else if (c == 'k') {
            if (cli_parse_kind(optarg, &o.kind) != 0)
                return 2;
        } else if (c == 'c') {
            if (cli_parse_compute(optarg, &compute) != 0)
                return 2;
        } else
            return 2;
    }
    if (argc - optind != 2) {
        fprintf(stderr,
                "usage: emb similarity [-m MODEL] [--kind K] [--compute f32|bf16] TEXT_A TEXT_B\n");
        return 2;
    }
    emb_model *m = cli_open_model_compute(model, compute);
    if (!m)
        return 1;
    size_t dim = emb_model_dim(m);
    float *v = malloc(2 * (dim ? dim : 1) * sizeof *v);
    emb_text t[2] = { { argv[optind], strlen(argv[optind]) },
                      { argv[optind + 1], strlen(argv[optind + 1]) } };
    int rc = 0;
    emb_status st = v ? emb_encode(m, t, 2, &o, v) : EMB_ERR_NO_MEMORY;
    float cos = 0;
    if (st == EMB_OK)
        st = emb_cosine(v, v + dim, dim, &cos);
    if (st != EMB_OK)
        rc = cli_fail("similarity", st);
    else
        printf("%.6f\n", (double)cos);
    free(v);
    emb_model_close(m);
    return rc;
}
