/* cli/bulk: a run's identity — which model, prompt, options and input layout
 * made a vectors file or journal — and what differs between two of them, so
 * that a rerun continues only the same job and names what changed. */
#include <stdlib.h>
#include <string.h>

#include "cli/bulk.h"

/* the fixed text of the "model_probe" attribute (docs/format.md) */
#define BULK_PROBE_TEXT "libemb model probe"

static const char *kind_name(emb_kind k)
{
    return k == EMB_KIND_QUERY ? "query" : k == EMB_KIND_PASSAGE ? "passage" : "none";
}

static const char *format_name(bulk_format f)
{
    return f == BULK_JSONL ? "jsonl" : f == BULK_TSV ? "tsv" : "lines";
}

/* The prompt emb_encode() puts in front of each text: --prompt, else the
 * model's prompt for the kind (the default prompt for "none"), else "". */
static const char *prompt_used(const emb_model *m, const bulk_args *a)
{
    if (a->enc.prompt)
        return a->enc.prompt;
    const char *key = a->enc.kind == EMB_KIND_QUERY     ? "prompt.query"
                      : a->enc.kind == EMB_KIND_PASSAGE ? "prompt.passage"
                                                        : "prompt.default";
    const char *p = emb_model_meta(m, key);
    return p ? p : "";
}

json_t *bulk_identity_make(const emb_model *m, const bulk_args *a)
{
    size_t dim = emb_model_dim(m);
    char sha[65];
    emb_status st = emb_model_file_sha256(m, sha);
    if (st != EMB_OK) {
        cli_fail("embed", st);
        return NULL;
    }
    float *probe = malloc((dim ? dim : 1) * sizeof *probe);
    char *hex = malloc(dim * 8 + 1);
    emb_text t = { BULK_PROBE_TEXT, strlen(BULK_PROBE_TEXT) };
    st = probe && hex ? emb_encode(m, &t, 1, NULL, probe) : EMB_ERR_NO_MEMORY;
    json_t *j = NULL;
    if (st != EMB_OK) {
        cli_fail("embed", st);
        goto done;
    }
    /* the probe's float32 bytes in hex: compared bitwise */
    const unsigned char *pb = (const unsigned char *)probe;
    for (size_t i = 0; i < dim * 4; i++)
        snprintf(hex + 2 * i, 3, "%02x", pb[i]);
    hex[dim * 8] = '\0';
    const char *src = emb_model_meta(m, "source"), *dtype = emb_model_meta(m, "weights_dtype");
    const char *norm = emb_model_meta(m, "normalize");
    const char *quant = a->quant_int8 && a->quant_binary ? "int8,binary"
                        : a->quant_int8                  ? "int8"
                        : a->quant_binary                ? "binary"
                                                         : "";
    j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:b, "
                  "s:s, s:s}",
                  "model_sha256", sha, "model_source", src ? src : "", "model_dtype",
                  dtype ? dtype : "", "model_path", cli_model_path(a->model), "dim",
                  (json_int_t)dim, "normalized", norm && !strcmp(norm, "true"), "probe", hex,
                  "kind", kind_name(a->enc.kind), "prompt", prompt_used(m, a), "truncate",
                  a->enc.truncate != 0, "compute",
                  a->compute == EMB_COMPUTE_BF16 ? "bf16" : "f32", "input_format",
                  format_name(a->format), "id_field", a->format == BULK_JSONL ? a->id_field : "",
                  "text_field", a->format == BULK_JSONL ? a->text_field : "", "texts",
                  a->store_text, "quantize", quant, "libemb_version", emb_version());
    if (!j)
        fprintf(stderr, "emb embed: out of memory\n");
done:
    free(probe);
    free(hex);
    return j;
}

int bulk_identity_diff(const char *what, json_t *was, json_t *now)
{
    int n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(now, key, v) {
        if (!strcmp(key, "model_path"))
            continue; /* where the model is, not which */
        json_t *w = json_object_get(was, key);
        if (w && json_equal(w, v))
            continue;
        if (n++ == 0)
            fprintf(stderr, "emb embed: %s was made by a different run:\n", what);
        if (!strcmp(key, "probe")) {
            fprintf(stderr, "  probe: the model's probe vector differs\n");
            continue;
        }
        char *a = w ? json_dumps(w, JSON_ENCODE_ANY) : NULL, *b = json_dumps(v, JSON_ENCODE_ANY);
        fprintf(stderr, "  %s: %s there, %s now\n", key, a ? a : "(absent)", b ? b : "?");
        free(a);
        free(b);
    }
    return n;
}
