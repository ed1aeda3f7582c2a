/* Fuzz the HTTP server's request-body handling (emb serve, POST
 * /v1/embeddings). src/cli/serve.c keeps the encode step static, so this
 * harness includes the file (and is linked with serve_queue.c and
 * serve_json.c) and runs exactly what handle_embeddings() does between
 * libmicrohttpd handing over the body and the response going out:
 * json_loadb → srv_read_params → embed (through the real batching worker)
 * → srv_embeddings_body. The model is the bert-e5 fixture, converted once.
 * The input is one request body. */
#include "fuzz_common.h"

#include "cli/serve.c"

static srv_state st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char path[512];
    snprintf(path, sizeof path, "%s/serve.h5", fuzz_dir());
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = 1;
    if (emb_convert(FUZZ_ROOT "/tests/fixtures/models/bert-e5", path, NULL) != EMB_OK ||
        emb_model_open(path, &oo, &st.model) != EMB_OK) {
        fprintf(stderr, "fuzz_serve: %s\n", emb_last_error());
        abort();
    }
    /* as cli_serve() sets it up with the default options */
    st.kind = EMB_KIND_NONE;
    st.max_body = 4u << 20;
    st.max_inputs = 2048;
    st.dim = emb_model_dim(st.model);
    st.model_id = "bert-e5";
    st.model_id_json = strdup("\"bert-e5\"");
    st.free_kind = find_free_kind(st.model);
    pthread_mutex_init(&st.active_mu, NULL);
    if (!st.model_id_json || srv_queue_start(&st.queue, st.model, st.dim) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > st.max_body)
        return 0; /* the server answers 413 before parsing */
    /* an exact-size copy, as the server's body buffer (ASan sees overreads) */
    char *body = malloc(size ? size : 1);
    if (!body)
        abort();
    memcpy(body, data, size);
    srv_error e;
    srv_params p = { 0 };
    json_error_t jerr;
    json_t *root = json_loadb(body, size, JSON_ALLOW_NUL, &jerr);
    if (root && srv_read_params(&st, root, &p, &e) == 0) {
        float *vec = malloc((p.n ? p.n : 1) * st.dim * sizeof *vec);
        size_t tokens = 0, len = 0;
        if (!vec)
            abort();
        if (embed(&st, &p, vec, &tokens, &e) == 0) {
            char *out = srv_embeddings_body(&st, &p, vec, tokens, &len);
            if (!out || len == 0)
                abort();
            json_t *check = json_loadb(out, len, 0, NULL);
            if (!check)
                abort(); /* the response must be valid JSON */
            json_decref(check);
            free(out);
        }
        free(vec);
    }
    srv_params_free(&p);
    json_decref(root);
    free(body);
    return 0;
}
