/* The legacy tokenizer folders, without a tokenizer.json: vocab.txt
 * (+ tokenizer_config.json, special_tokens_map.json) as transformers'
 * BertConverter builds BertTokenizerFast, and vocab.json + merges.txt as its
 * GPT2Converter does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "convert/convert.h"
#include "convert/hf_tokenizer.h"
#include "runtime/runtime.h"

/* ------------------------------------------------- vocab.txt (BERT) path */

/* a special token value: "str" or {"content": "str", ...} */
static const char *ht_special_str(json_t *v, size_t *len, json_t **obj)
{
    *obj = NULL;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    json_t *c = json_object_get(v, "content");
    if (json_is_object(v) && json_is_string(c)) {
        *obj = v;
        *len = json_string_length(c);
        return json_string_value(c);
    }
    return NULL;
}

/* The error for a folder without vocab.txt: a bare SentencePiece model is
 * refused with the way out (the runtime tokenizer reads the HF pipeline,
 * which only tokenizer.json states); else no tokenizer at all. */
static emb_status ht_no_vocab_txt(const char *dir)
{
    static const char *const spm[] = { "spiece.model", "tokenizer.model",
                                       "sentencepiece.bpe.model" };
    for (size_t i = 0; i < sizeof spm / sizeof *spm; i++) {
        char *p = ht_path(dir, spm[i]);
        int found = p && access(p, F_OK) == 0;
        free(p);
        if (found)
            return rt_error(EMB_ERR_UNSUPPORTED,
                            "%s: only a SentencePiece model (%s) and no tokenizer.json: libemb "
                            "reads the tokenizer.json that transformers writes; run "
                            "AutoTokenizer.from_pretrained(dir).save_pretrained(dir) once, then "
                            "convert again", dir, spm[i]);
    }
    return rt_error(EMB_ERR_IO, "%s: no tokenizer.json, vocab.txt or vocab.json + merges.txt in this folder", dir);
}

/* vocab.txt (open as f) read whole into *data (NUL-terminated, at most
 * 256 MiB) and cut into one entry per line, as HF load_vocab
 * (line.rstrip("\n")): ids are line numbers (*e, *n; both freed by the
 * caller). */
static emb_status ht_vocab_txt_lines(const char *path, FILE *f, char **data, ht_entry **e,
                                     size_t *n)
{
    if (fseek(f, 0, SEEK_END) != 0)
        return rt_error(EMB_ERR_IO, "%s: cannot read", path);
    long sz = ftell(f);
    if (sz < 0 || sz > (long)(256u << 20))
        return rt_error(EMB_ERR_FORMAT, "%s: size %ld is absurd for a vocabulary", path, sz);
    rewind(f);
    char *d = *data = rt_alloc((size_t)sz + 1, 1);
    if (!d)
        return EMB_ERR_NO_MEMORY;
    if (fread(d, 1, (size_t)sz, f) != (size_t)sz)
        return rt_error(EMB_ERR_IO, "%s: short read", path);
    d[sz] = 0;
    size_t lines = 0;
    for (long i = 0; i < sz; i++)
        lines += d[i] == '\n';
    lines += sz > 0 && d[sz - 1] != '\n';
    if (lines > HT_MAX_VOCAB)
        return rt_error(EMB_ERR_FORMAT, "%s: %zu lines (limit 4M)", path, lines);
    ht_entry *v = *e = rt_alloc(lines ? lines : 1, sizeof *v);
    if (!v)
        return EMB_ERR_NO_MEMORY;
    size_t k = 0;
    for (size_t i = 0; i < (size_t)sz;) {
        char *nl = memchr(d + i, '\n', (size_t)sz - i);
        size_t end = nl ? (size_t)(nl - d) : (size_t)sz;
        v[k].s = d + i;
        v[k].len = end - i;
        v[k].id = (int64_t)k;
        v[k].score = 0;
        k++;
        i = end + 1;
    }
    *n = k;
    return EMB_OK;
}

/* As BertConverter: BertNormalizer(clean_text, tokenize_chinese_chars,
 * strip_accents, do_lower_case) — the last three only when
 * do_basic_tokenize — and BertPreTokenizer. */
static emb_status ht_bert_steps(const char *path, json_t *cfg, ht_steps *norm, ht_steps *pre)
{
    int basic = ht_bool(cfg, "do_basic_tokenize", 1);
    tok_step *st = ht_steps_new(norm, path, "BertNormalizer");
    if (!st || !ht_steps_new(pre, path, "BertPreTokenizer"))
        return EMB_ERR_NO_MEMORY;
    st = &norm->v[0];
    st->i[0] = 1;
    st->i[1] = basic ? ht_bool(cfg, "tokenize_chinese_chars", 1) : 0;
    json_t *sa = json_object_get(cfg, "strip_accents");
    st->i[2] = basic ? (json_is_boolean(sa) ? json_is_true(sa) : -1) : 0;
    st->i[3] = basic ? ht_bool(cfg, "do_lower_case", 1) : 0;
    return EMB_OK;
}

/* Add a special token s[0..len) (flags from obj, may be NULL) at its
 * vocab.txt id, or at *next_id (then advanced) when vocab.txt lacks it:
 * transformers appends missing specials. *id = the id it got. */
static emb_status ht_bert_special(tok_spec *spec, const ht_map *m, const char *s, size_t len,
                                  json_t *obj, uint32_t *next_id, int32_t *id)
{
    *id = ht_map_get(m, s, len);
    if (*id < 0)
        *id = (int32_t)(*next_id)++;
    return ht_add_token(spec, s, len, *id, 1, ht_bool(obj, "lstrip", 0), ht_bool(obj, "rstrip", 0),
                        ht_bool(obj, "single_word", 0), ht_bool(obj, "normalized", 0));
}

/* The special tokens unk, sep, pad, cls, mask (ids[0..5) in that order):
 * the defaults [UNK] ..., overridden by tokenizer_config.json, overridden
 * by special_tokens_map.json; then additional_special_tokens. */
static emb_status ht_bert_specials(tok_spec *spec, json_t *cfg, json_t *smap, int32_t ids[5])
{
    static const char *keys[] = {"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
    static const char *defs[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    ht_map m = {0};
    if (ht_map_build(&m, spec))
        return EMB_ERR_NO_MEMORY;
    emb_status rc = EMB_OK;
    uint32_t next_id = spec->n_vocab;
    for (int i = 0; i < 5 && rc == EMB_OK; i++) {
        const char *s = defs[i];
        size_t len = strlen(s);
        json_t *obj = NULL, *v;
        if ((v = json_object_get(smap, keys[i])) || (v = json_object_get(cfg, keys[i]))) {
            size_t l2;
            const char *s2 = ht_special_str(v, &l2, &obj);
            if (s2) {
                s = s2;
                len = l2;
            }
        }
        rc = ht_bert_special(spec, &m, s, len, obj, &next_id, &ids[i]);
    }
    json_t *extra = json_object_get(smap ? smap : cfg, "additional_special_tokens");
    for (size_t i = 0; i < json_array_size(extra) && rc == EMB_OK; i++) {
        json_t *obj;
        size_t len;
        int32_t id;
        const char *s = ht_special_str(json_array_get(extra, i), &len, &obj);
        if (s)
            rc = ht_bert_special(spec, &m, s, len, obj, &next_id, &id);
    }
    free(m.slot);
    return rc;
}

/* tokenizer_config.json's added_tokens_decoder (newer files list every
 * added token with its flags): each id not added yet, as written. */
static emb_status ht_added_tokens_decoder(const char *cfg_path, json_t *cfg, tok_spec *spec)
{
    json_t *atd = json_object_get(cfg, "added_tokens_decoder");
    const char *akey;
    json_t *aval;
    json_object_foreach(atd, akey, aval) {
        char *endp = NULL;
        long long aid = strtoll(akey, &endp, 10);
        json_t *c = json_object_get(aval, "content");
        if (!endp || *endp || aid < 0 || !json_is_string(c))
            return rt_error(EMB_ERR_FORMAT, "%s: added_tokens_decoder entry \"%.40s\" is malformed",
                            cfg_path, akey);
        int dup = 0;
        for (size_t q = 0; q < spec->n_added; q++)
            dup |= spec->added[q].id == aid;
        if (dup)
            continue;
        int special = ht_bool(aval, "special", 0);
        emb_status rc = ht_add_token(spec, json_string_value(c), json_string_length(c), aid,
                                     special, ht_bool(aval, "lstrip", 0),
                                     ht_bool(aval, "rstrip", 0), ht_bool(aval, "single_word", 0),
                                     ht_bool(aval, "normalized", !special));
        if (rc != EMB_OK)
            return rc;
    }
    return EMB_OK;
}

/* As BertTokenizerFast's model: WordPiece with "##" continuations and at
 * most 100 characters a word. */
static emb_status ht_bert_wordpiece(tok_spec *spec)
{
    spec->model = TOK_MODEL_WORDPIECE;
    spec->max_input_chars_per_word = 100;
    spec->subword_prefix = ht_strdup_n("##", 2);
    return spec->subword_prefix ? EMB_OK : EMB_ERR_NO_MEMORY;
}

/* As BertTokenizerFast: unk from the specials (it must be in vocab.txt),
 * [CLS] text [SEP]. ids[] as ht_bert_specials. */
static emb_status ht_bert_template(const char *path, tok_spec *spec, const int32_t ids[5])
{
    spec->unk_id = ids[0] < (int32_t)spec->n_vocab ? ids[0] : -1;
    if (spec->unk_id < 0)
        return rt_error(EMB_ERR_FORMAT, "%s: unk token is not in vocab.txt", path);
    if (ht_push_id(&spec->prefix_ids, &spec->n_prefix, ids[3]) ||
        ht_push_id(&spec->suffix_ids, &spec->n_suffix, ids[1]))
        return EMB_ERR_NO_MEMORY;
    return EMB_OK;
}

/* A vocab.txt folder (+ tokenizer_config.json, special_tokens_map.json) as
 * transformers' BertConverter builds BertTokenizerFast. */
emb_status ht_read_vocab_txt(const char *dir, tok_spec *spec)
{
    char *path = ht_path(dir, "vocab.txt");
    char *cfg_path = ht_path(dir, "tokenizer_config.json");
    json_t *cfg = NULL, *smap = NULL;
    ht_entry *e = NULL;
    char *data = NULL;
    size_t n = 0;
    ht_steps norm = {0}, pre = {0};
    int32_t ids[5];
    emb_status rc = EMB_ERR_NO_MEMORY;
    FILE *f = NULL;
    if (!path || !cfg_path)
        goto done;
    f = fopen(path, "rb");
    if (!f) {
        rc = ht_no_vocab_txt(dir);
        goto done;
    }
    rc = ht_vocab_txt_lines(path, f, &data, &e, &n);
    /* a string on several lines keeps every line's id; lookups map it to
     * its last line (later duplicates win in a Python dict) */
    if (rc == EMB_OK)
        rc = ht_vocab_from_entries(path, e, n, 0, spec);
    if (rc == EMB_OK)
        rc = ht_bert_wordpiece(spec);
    if (rc == EMB_OK)
        rc = cv_json_load_ex(dir, "tokenizer_config.json", 1, JSON_ALLOW_NUL, (void **)&cfg);
    if (rc == EMB_OK)
        rc = cv_json_load_ex(dir, "special_tokens_map.json", 1, JSON_ALLOW_NUL, (void **)&smap);
    if (rc == EMB_OK)
        rc = ht_bert_steps(path, cfg, &norm, &pre);
    if (rc == EMB_OK)
        rc = ht_bert_specials(spec, cfg, smap, ids);
    if (rc == EMB_OK)
        rc = ht_added_tokens_decoder(cfg_path, cfg, spec);
    if (rc == EMB_OK)
        rc = ht_bert_template(path, spec, ids);
    if (rc == EMB_OK)
        rc = ht_finish_steps(&norm, &pre, spec);
done:
    if (f)
        fclose(f);
    free(path);
    free(cfg_path);
    free(data);
    free(e);
    ht_steps_free(&norm);
    ht_steps_free(&pre);
    json_decref(cfg);
    json_decref(smap);
    return rc;
}

/* ----------------------------------------- vocab.json + merges.txt (GPT-2) */

/* Read a whole small file; NULL with the error recorded. */
static char *ht_slurp(const char *path, size_t limit, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    if (!f) {
        rt_error(EMB_ERR_IO, "%s: cannot open", path);
        return NULL;
    }
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        sz = ftell(f);
    if (sz < 0 || (size_t)sz > limit) {
        rt_error(EMB_ERR_FORMAT, "%s: size %ld is absurd", path, sz);
        goto done;
    }
    rewind(f);
    data = rt_alloc((size_t)sz + 1, 1);
    if (data && fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        rt_error(EMB_ERR_IO, "%s: short read", path);
        free(data);
        data = NULL;
    }
    if (data) {
        data[sz] = 0;
        *len = (size_t)sz;
    }
done:
    fclose(f);
    return data;
}

/* merges.txt as GPT2Tokenizer reads it (at most 512 MiB): split on "\n",
 * drop the first line (#version) and the last piece; *merges is a new
 * array of the lines (at most HT_MAX_MERGES). */
static emb_status ht_merges_txt(const char *mpath, json_t **merges)
{
    size_t len = 0;
    char *text = ht_slurp(mpath, 512u << 20, &len);
    if (!text)
        return EMB_ERR_FORMAT;
    emb_status rc = EMB_ERR_NO_MEMORY;
    json_t *a = *merges = json_array();
    if (!a)
        goto done;
    char *first_nl = memchr(text, '\n', len);
    size_t pos = first_nl ? (size_t)(first_nl - text) + 1 : len;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            break; /* the last piece after the final "\n" is dropped */
        if (json_array_append_new(a, json_stringn(text + pos, (size_t)(nl - text) - pos)))
            goto done;
        if (json_array_size(a) > HT_MAX_MERGES) {
            rc = rt_error(EMB_ERR_FORMAT, "%s: more than 4M merges", mpath);
            goto done;
        }
        pos = (size_t)(nl - text) + 1;
    }
    rc = EMB_OK;
done:
    free(text);
    return rc;
}

/* A byte-level BPE tokenizer class's special tokens: the tokenizer_config.json
 * key and the class's default string (NULL: only when given). */
typedef struct ht_special_key {
    const char *key, *def;
} ht_special_key;

/* GPT-2: bos, eos and unk (each <|endoftext|>), pad only when given. */
static const ht_special_key gpt2_keys[] = {
    {"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"},
    {"unk_token", "<|endoftext|>"}, {"pad_token", NULL},
};
/* RobertaTokenizer (transformers 5.25); cls first and sep last in a sequence. */
enum { HT_ROBERTA_CLS = 3, HT_ROBERTA_SEP = 2 };
static const ht_special_key roberta_keys[] = {
    {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"sep_token", "</s>"}, {"cls_token", "<s>"},
    {"unk_token", "<unk>"}, {"pad_token", "<pad>"}, {"mask_token", "<mask>"},
};

/* The class's special tokens (`keys`, each string as tokenizer_config.json
 * says or its default, with the lstrip/rstrip/single_word/normalized of an
 * AddedToken object), each added once when the vocabulary has it; ids[i] =
 * key i's id or -1. */
static emb_status ht_bpe_specials(tok_spec *spec, const ht_map *m, json_t *cfg,
                                  const ht_special_key *keys, size_t n, int32_t *ids)
{
    for (size_t i = 0; i < n; i++) {
        json_t *obj = NULL, *v = json_object_get(cfg, keys[i].key);
        const char *sv = keys[i].def;
        size_t sl = sv ? strlen(sv) : 0;
        ids[i] = -1;
        if (v)
            sv = ht_special_str(v, &sl, &obj);
        if (!sv)
            continue;
        int32_t id = ht_map_get(m, sv, sl);
        if (id < 0)
            continue;
        ids[i] = id;
        int dup = 0;
        for (size_t k = 0; k < spec->n_added; k++)
            dup |= spec->added[k].id == id;
        if (!dup) {
            emb_status rc = ht_add_token(spec, sv, sl, id, 1, ht_bool(obj, "lstrip", 0),
                                         ht_bool(obj, "rstrip", 0), ht_bool(obj, "single_word", 0),
                                         ht_bool(obj, "normalized", 1));
            if (rc != EMB_OK)
                return rc;
        }
    }
    return EMB_OK;
}

/* The sequence's specials: GPT-2 <bos> first with add_bos_token; RoBERTa
 * (tokenizer_class RobertaTokenizer[Fast], as RobertaProcessing) cls first
 * and sep last, both required. */
static emb_status ht_bpe_post(const char *vpath, tok_spec *spec, const ht_map *m, json_t *cfg)
{
    const char *cls = json_string_value(json_object_get(cfg, "tokenizer_class"));
    int32_t ids[sizeof roberta_keys / sizeof *roberta_keys];
    if (cls && (!strcmp(cls, "RobertaTokenizer") || !strcmp(cls, "RobertaTokenizerFast"))) {
        RT_TRY(ht_bpe_specials(spec, m, cfg, roberta_keys, sizeof roberta_keys / sizeof *roberta_keys, ids));
        RT_FAIL_IF(ids[HT_ROBERTA_CLS] < 0 || ids[HT_ROBERTA_SEP] < 0, EMB_ERR_FORMAT,
                   "%s: %s without its cls or sep token in the vocabulary", vpath, cls);
        if (ht_push_id(&spec->prefix_ids, &spec->n_prefix, ids[HT_ROBERTA_CLS]) ||
            ht_push_id(&spec->suffix_ids, &spec->n_suffix, ids[HT_ROBERTA_SEP]))
            return EMB_ERR_NO_MEMORY;
        return EMB_OK;
    }
    RT_TRY(ht_bpe_specials(spec, m, cfg, gpt2_keys, sizeof gpt2_keys / sizeof *gpt2_keys, ids));
    if (ht_bool(cfg, "add_bos_token", 0) && ids[0] >= 0 &&
        ht_push_id(&spec->prefix_ids, &spec->n_prefix, ids[0]))
        return EMB_ERR_NO_MEMORY;
    return EMB_OK;
}

/* As transformers' GPT2Converter: BPE(vocab, merges, no unk) + ByteLevel
 * pre-tokenizer (add_prefix_space from tokenizer_config.json, default false),
 * ByteLevel post-processor (nothing added) or <bos> first with add_bos_token;
 * with tokenizer_class RobertaTokenizer, as transformers 5.25's
 * RobertaTokenizer on these files: its specials and RobertaProcessing
 * (<s> ... </s>). merges.txt is read as GPT2Tokenizer does (ht_merges_txt). */
emb_status ht_read_vocab_merges(const char *dir, tok_spec *spec)
{
    char *vpath = ht_path(dir, "vocab.json"), *mpath = ht_path(dir, "merges.txt");
    json_t *vocab = NULL, *cfg = NULL, *merges = NULL;
    ht_map m = {0};
    ht_steps norm = {0}, pre = {0};
    emb_status rc = EMB_ERR_NO_MEMORY;
    if (!vpath || !mpath)
        goto fail;
    rc = cv_json_load_ex(dir, "vocab.json", 0, JSON_ALLOW_NUL, (void **)&vocab);
    if (rc != EMB_OK)
        goto fail;
    if (!json_is_object(vocab)) {
        rc = rt_error(EMB_ERR_FORMAT, "%s: not an object", vpath);
        goto fail;
    }
    rc = cv_json_load_ex(dir, "tokenizer_config.json", 1, JSON_ALLOW_NUL, (void **)&cfg);
    if (rc != EMB_OK)
        goto fail;
    spec->model = TOK_MODEL_BPE;
    rc = ht_vocab_dict(vpath, vocab, spec);
    if (rc == EMB_OK)
        rc = ht_merges_txt(mpath, &merges);
    if (rc == EMB_OK && ht_map_build(&m, spec))
        rc = EMB_ERR_NO_MEMORY;
    if (rc == EMB_OK)
        rc = ht_bpe_merges(mpath, merges, &m, spec);
    if (rc != EMB_OK)
        goto fail;
    rc = EMB_ERR_NO_MEMORY;
    tok_step *st = ht_steps_new(&pre, vpath, "ByteLevel");
    if (!st)
        goto fail;
    st->i[0] = ht_bool(cfg, "add_prefix_space", 0);
    st->i[1] = 1;
    rc = ht_bpe_post(vpath, spec, &m, cfg);
    if (rc == EMB_OK)
        rc = ht_finish_steps(&norm, &pre, spec);
fail:
    free(vpath);
    free(mpath);
    free(m.slot);
    ht_steps_free(&norm);
    ht_steps_free(&pre);
    json_decref(vocab);
    json_decref(cfg);
    json_decref(merges);
    return rc;
}
