/* emb info [-m MODEL]: the model's metadata as one JSON object. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* Numbers and booleans are printed as JSON literals, the rest as strings. */
static int is_json_literal(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "false"))
        return 1;
    if (!*v)
        return 0;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return v[0] != '0' || v[1] == '\0';
}

int cli_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { NULL, 0, NULL, 0 },
    };
    const char *model = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
        if (c == 'm')
            model = optarg;
        else
            return 2;
    }
    emb_model *m = cli_open_model(model);
    if (!m)
        return 1;
    printf("{");
    cli_json_string(stdout, "path", 4);
    printf(": ");
    const char *path = cli_model_path(model);
    cli_json_string(stdout, path, strlen(path));
    for (size_t i = 0; i < emb_model_meta_count(m); i++) {
        const char *k = emb_model_meta_key(m, i);
        const char *v = emb_model_meta(m, k);
        printf(", ");
        cli_json_string(stdout, k, strlen(k));
        printf(": ");
        if (is_json_literal(v))
            fputs(v, stdout);
        else
            cli_json_string(stdout, v, strlen(v));
    }
    printf("}\n");
    emb_model_close(m);
    return 0;
}
