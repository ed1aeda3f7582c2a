/* Fuzz the input policy (api_build_input: prompt, template, strip rule).
 * Every part is checked for UTF-8 before api_build_input runs (the text and
 * an explicit prompt by emb_encode, the model's prompts and template by
 * fmt_load), so inputs with a part that is not valid UTF-8 are skipped. Input: byte 0 = flags (strip, kind, explicit
 * prompt, template present), then parts separated by FUZZ_SEP: template,
 * query prompt, passage prompt, default prompt, explicit prompt, text.
 * Checked: an accepted result is valid UTF-8 and no longer than the parts
 * together. */
#include "fuzz_common.h"

#include "api/api.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    size_t off[6], len[6];
    memset(len, 0, sizeof len);
    memset(off, 0, sizeof off);
    size_t n = fuzz_split(data + 1, size - 1, 6, off, len);
    for (size_t i = 0; i < n; i++)
        off[i] += 1;
    const uint8_t *text = data + off[5];
    size_t text_len = n == 6 ? len[5] : 0;
    const uint8_t *prompt = data + off[4];
    size_t prompt_len = n >= 5 ? len[4] : 0;
    for (size_t i = 0; i < n; i++)
        if (!tok_utf8_valid((const char *)data + off[i], len[i]))
            return 0;

    emb_model *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    fmt_policy *p = &m->file.pol;
    p->strip = flags & 1;
    p->template_ = (flags & 2) && n >= 1 ? fuzz_strndup(data + off[0], len[0]) : NULL;
    p->prompt_query = n >= 2 ? fuzz_strndup(data + off[1], len[1]) : NULL;
    p->prompt_passage = n >= 3 ? fuzz_strndup(data + off[2], len[2]) : NULL;
    p->prompt_default = n >= 4 ? fuzz_strndup(data + off[3], len[3]) : NULL;
    emb_kind kind = (emb_kind)((flags >> 2) % 3);
    int explicit_prompt = (flags >> 4) & 1;

    /* the text as an exact-size copy, so ASan sees a read past its end */
    char *t = malloc(text_len ? text_len : 1);
    if (!t)
        abort();
    memcpy(t, text, text_len);
    char *out = NULL;
    size_t out_len = 0;
    emb_status st = api_build_input(m, kind, explicit_prompt ? (const char *)prompt : NULL,
                                    explicit_prompt ? prompt_len : 0, t, text_len, &out,
                                    &out_len);
    if (st == EMB_OK) {
        if (!out || out[out_len] != '\0' || !tok_utf8_valid(out, out_len))
            abort(); /* the tokenizer would get invalid UTF-8 */
        if (out_len > size)
            abort(); /* longer than all the parts together */
    } else if (out) {
        abort(); /* *out is NULL on failure */
    }
    free(out);
    free(t);
    fmt_policy_free(p);
    free(m);
    return 0;
}
