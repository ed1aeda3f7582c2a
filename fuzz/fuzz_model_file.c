/* Fuzz the model-file loader (emb_model_open → fmt_load, the HDF5 reader,
 * tok_create, weight binding). The input is one model file (seeds are
 * files written by emb convert). A file that opens must also tokenize and
 * encode a short text. */
#include "fuzz_common.h"

#include "emb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/model.h5", fuzz_dir());
    fuzz_write(path, data, size);
    emb_open_options oo;
    emb_open_options_init(&oo);
    oo.n_threads = 1;
    emb_model *m = NULL;
    emb_status st = emb_model_open(path, &oo, &m);
    if (st != EMB_OK) {
        if (m)
            abort(); /* *out must be NULL on failure */
        return 0;
    }
    static const char text[] = "query: how do plants make food?";
    int32_t ids[64];
    size_t n_ids = 0;
    emb_tokenize_options to;
    emb_tokenize_options_init(&to);
    to.apply_prompt = 1;
    to.kind = EMB_KIND_QUERY;
    emb_tokenize(m, text, sizeof text - 1, &to, ids, 64, &n_ids);
    for (size_t i = 0; i < emb_model_meta_count(m); i++)
        if (!emb_model_meta_key(m, i))
            abort();
    size_t dim = emb_model_dim(m);
    if (dim && dim <= (1u << 20)) {
        float *v = malloc(dim * sizeof *v);
        if (!v)
            abort();
        emb_text t = { text, sizeof text - 1 };
        emb_encode_options eo;
        emb_encode_options_init(&eo);
        eo.kind = EMB_KIND_PASSAGE;
        emb_encode(m, &t, 1, &eo, v);
        free(v);
    }
    emb_model_close(m);
    return 0;
}
