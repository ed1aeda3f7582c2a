/* Embed a question and two passages, print their cosine similarities.
 * cc hello.c $(pkg-config --cflags --libs emb) && ./a.out model.h5 */
#include <emb.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    emb_model *m;
    if (argc < 2 || emb_model_open(argv[1], NULL, &m) != EMB_OK)
        return fprintf(stderr, "open: %s\n", emb_last_error()), 1;
    const char *p[2] = { "A violin is a string instrument played with a bow.",
                         "Bread is baked from flour, water and yeast." };
    emb_text q = { "what instrument is played with a bow?", 37 };
    emb_text t[2] = { { p[0], strlen(p[0]) }, { p[1], strlen(p[1]) } };
    float qv[4096], pv[2 * 4096], cos;
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.kind = EMB_KIND_QUERY;
    if (emb_model_dim(m) > 4096 || emb_encode(m, &q, 1, &o, qv) != EMB_OK)
        return fprintf(stderr, "encode: %s\n", emb_last_error()), 1;
    o.kind = EMB_KIND_PASSAGE;
    if (emb_encode(m, t, 2, &o, pv) != EMB_OK)
        return fprintf(stderr, "encode: %s\n", emb_last_error()), 1;
    for (int i = 0; i < 2; i++) {
        emb_cosine(qv, pv + i * emb_model_dim(m), emb_model_dim(m), &cos);
        printf("%.4f  %s\n", cos, p[i]);
    }
    emb_model_close(m);
    return 0;
}
