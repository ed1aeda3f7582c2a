/* emb — command-line front end of libemb. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: emb COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  convert HF_DIR OUT.h5 [--dtype f32|f16|bf16|int8] [--tokenizer-only]\n"
            "          [--pooling mean|cls|lasttoken|lasttoken-logits|max|weightedmean|mean-sqrt-len[+...]] [--normalize yes|no]\n"
            "          [--template 'TEXT {text} TEXT'] [--prompt KIND=TEXT]...\n"
            "          [--attention causal|bidirectional] [--append-eos yes|no]\n"
            "                                            convert a Hugging Face folder\n"
            "  search [-m MODEL] [--top K] [--jsonl] [--compute f32|bf16] QUERY < passages.txt\n"
            "  search [-m MODEL] --index VECTORS.h5 [--top K] [--jsonl] [--using f32|int8|binary]\n"
            "         [--rescore N] [--timing] QUERY...\n"
            "                                            rank the lines of stdin for QUERY\n"
            "  embed [-m MODEL] [--kind query|passage|none] [--prompt TEXT] [--jsonl]\n"
            "        [--batch N] [--format jsonl|f32] [--compute f32|bf16]\n"
            "                                            embed each line of stdin\n"
            "  similarity [-m MODEL] [--kind K] [--compute f32|bf16] A B  cosine of two texts\n"
            "  tokenize [-m MODEL] [--no-special] [--jsonl] [--kind K] [--truncate]\n"
            "                                            token ids of each line of stdin\n"
            "  info [-m MODEL]                           model metadata as JSON\n"
            "  compare -m A.h5 -m B.h5 --pairs P.tsv [--json]  compare models on question<TAB>answer\n"
            "  eval [-m MODEL] --corpus C --queries Q --qrels R [--json] [--top K]  BEIR metrics\n"
            "  serve [-m MODEL] [--host H] [--port N] [--compute f32|bf16]\n"
            "                                            OpenAI-compatible HTTP endpoint\n"
            "  bench -m MODEL [--batch B] [--seq S | --lengths L,...] [--threads T] [--reps R]\n"
            "        [--warmup W] [--json] [--peak] [--compute f32|bf16]\n"
            "                                            throughput on synthetic token ids\n"
            "  version                                   library version\n"
            "\n"
            "MODEL defaults to $EMB_MODEL, then all-MiniLM-L6-v2.h5 (fetched by 'make models'),\n"
            "then the built-in demo model wordnet-mini.h5, in <prefix>/share/emb or models/.\n"
            "--compute bf16: Linear layers in bf16 with fp32 accumulation (AVX512_BF16 CPUs).\n"
            "See docs/cli.md.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "convert"))
        return cli_convert(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize"))
        return cli_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "embed"))
        return cli_embed(argc - 1, argv + 1);
    if (!strcmp(cmd, "similarity"))
        return cli_similarity(argc - 1, argv + 1);
    if (!strcmp(cmd, "info"))
        return cli_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "search"))
        return cli_search(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return cli_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval"))
        return cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return cli_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench"))
        return cli_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("emb %s (libemb %s)\n", EMB_VERSION_STRING, emb_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "emb: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
