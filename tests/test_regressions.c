/* Regressions for what fuzzing and the corruption tests found
 * (docs/security.md, "Fuzzing"), and the resource limits that keep hostile
 * input bounded. Each test names the finding it guards against. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "api/api.h"
#include "format/format.h"

#define BERT "tests/fixtures/models/bert-e5"

static char *tmp;
static char *bert_path;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    bert_path = tu_convert(BERT, tmp, "bert.h5", NULL);
    return bert_path ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(bert_path);
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* fuzz_policy: a model file's template ending in a truncated UTF-8 lead byte
 * ("\xf0") made the strip rule decode past the end of the input buffer.
 * Such a file is now refused at open (test_open_refuses_invalid_utf8_prompt
 * below), and api_build_input, which no longer checks UTF-8 again (its parts
 * were checked at the boundaries), decodes with tok_utf8_next, which never
 * reads past the buffer whatever the bytes: under ASan an over-read fails
 * here. */
static void test_policy_invalid_utf8_template(void **state)
{
    (void)state;
    static const char *const templates[] = { "{text}\xf0", "\xe2\x80{text}", "{text} \xc3" };
    for (size_t i = 0; i < sizeof templates / sizeof *templates; i++) {
        emb_model *m = calloc(1, sizeof *m);
        assert_non_null(m);
        m->file.pol.strip = 1;
        m->file.pol.template_ = strdup(templates[i]);
        char *out = NULL;
        size_t out_len = 0;
        emb_status st = api_build_input(m, EMB_KIND_NONE, NULL, 0, " text ", 6, &out, &out_len);
        assert_int_equal(st, EMB_OK);
        assert_non_null(out);
        assert_true(out_len <= 6 + strlen(templates[i]));
        assert_non_null(memmem(out, out_len, "text", 4));
        free(out);
        free(m->file.pol.template_);
        free(m);
    }
    /* valid input still strips as Python's str.strip() */
    emb_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->file.pol.strip = 1;
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(api_build_input(m, EMB_KIND_PASSAGE, NULL, 0, "\xe3\x80\x80 a b\xc2\xa0", 9,
                                     &out, &out_len),
                     EMB_OK);
    assert_int_equal(out_len, 3);
    assert_memory_equal(out, "a b", 3);
    free(out);
    free(m);
}

/* Write fm's policy and tokenizer (no weights) as `name` in tmp, free fm,
 * and check that opening the file is refused as EMB_ERR_FORMAT with a message
 * containing `needle`. */
static void expect_open_refused(fmt_model *fm, const char *name, const char *needle)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    fmt_write_input in = { .cfg = NULL, .pol = &fm->pol, .tok = &fm->tok, .weights = NULL,
                           .dtype = EMB_DTYPE_AUTO, .source = "regression" };
    assert_int_equal(fmt_write(path, &in), EMB_OK);
    fmt_model_free(fm);
    emb_model *m = (emb_model *)(uintptr_t)1;
    assert_int_equal(emb_model_open(path, NULL, &m), EMB_ERR_FORMAT);
    assert_null(m);
    assert_non_null(strstr(emb_last_error(), needle));
}

/* The same file refused at open: a model file whose prompt or template is
 * not UTF-8 is corrupt (EMB_ERR_FORMAT), written here through the format
 * layer. The template is the fuzz_policy finding above, now refused where
 * the file is read. */
static void test_open_refuses_invalid_utf8_prompt(void **state)
{
    (void)state;
    static const struct {
        const char *file, *bad;
    } cases[] = { { "bad-prompt.h5", "query: \xff" }, { "bad-template.h5", "{text}\xf0" } };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fmt_model fm;
        assert_int_equal(fmt_load(bert_path, &fm), EMB_OK);
        char **slot = i == 0 ? &fm.pol.prompt_query : &fm.pol.template_;
        free(*slot);
        *slot = strdup(cases[i].bad);
        expect_open_refused(&fm, cases[i].file, "not valid UTF-8");
    }
}

/* Limits: a model file's vocabulary entry longer than 64 KiB (what convert
 * accepts) is refused at open; WordPiece/Unigram matching costs grow with
 * the longest entry, so a hostile file must not choose it. */
static void test_open_refuses_huge_vocab_entry(void **state)
{
    (void)state;
    fmt_model fm;
    assert_int_equal(fmt_load(bert_path, &fm), EMB_OK);
    tok_spec *t = &fm.tok;
    size_t old_bytes = (size_t)t->vocab_off[t->n_vocab], extra = (64u << 10) + 1;
    t->vocab_bytes = realloc(t->vocab_bytes, old_bytes + extra + 1);
    t->vocab_off = realloc(t->vocab_off, (t->n_vocab + 2) * sizeof *t->vocab_off);
    assert_non_null(t->vocab_bytes);
    assert_non_null(t->vocab_off);
    memset(t->vocab_bytes + old_bytes, 'a', extra);
    t->vocab_bytes[old_bytes + extra] = '\0';
    t->n_vocab++;
    t->vocab_off[t->n_vocab] = old_bytes + extra;
    expect_open_refused(&fm, "huge-token.h5", "longer than");
}

/* test_corruption: HDF5 1.10 freed an uninitialized pointer (SIGBUS / "free():
 * invalid pointer") reading a corrupt link table of a group in "dense"
 * storage, whose fractal-heap blocks carry no checksum. The writer now keeps
 * every group compact and uses HDF5 1.8+ structures, so all metadata is
 * checksummed: check both on a converted file. */
static void test_writer_keeps_metadata_checksummed(void **state)
{
    (void)state;
    hid_t f = H5Fopen(bert_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    H5F_info2_t fi;
    assert_true(H5Fget_info2(f, &fi) >= 0);
    assert_true(fi.super.version >= 2); /* superblock v2+: checksummed */
    static const char *const groups[] = { "/", "/config", "/tokenizer", "/weights",
                                          "/tokenizer/normalizers", "/tokenizer/pretokenizers" };
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++) {
        H5G_info_t gi;
        assert_true(H5Gget_info_by_name(f, groups[i], &gi, H5P_DEFAULT) >= 0);
        if (gi.storage_type != H5G_STORAGE_TYPE_COMPACT) {
            print_error("group %s: storage type %d, expected compact\n", groups[i],
                        (int)gi.storage_type);
            fail();
        }
        H5O_info_t oi;
        assert_true(H5Oget_info_by_name2(f, groups[i], &oi, H5O_INFO_HDR | H5O_INFO_NUM_ATTRS,
                                         H5P_DEFAULT) >= 0);
        assert_int_equal(oi.hdr.version, 2); /* object header v2: checksummed */
        if (oi.num_attrs > 0) /* attributes inside the header, not in a dense heap */
            assert_int_equal(oi.meta_size.attr.heap_size, 0);
    }
    H5G_info_t wi;
    assert_true(H5Gget_info_by_name(f, "/weights", &wi, H5P_DEFAULT) >= 0);
    assert_true(wi.nlinks > 8); /* more than HDF5's default compact limit */
    H5Fclose(f);
}

/* Limits: a text far longer than the model can use is cut to a byte bound
 * before tokenizing (src/api/encode.c: max(1 MiB, 256 bytes x max_tokens)),
 * so its vector equals that of its first part; with truncation off it is
 * refused as too long without being tokenized. */
static void test_huge_text_is_bounded(void **state)
{
    (void)state;
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(bert_path, NULL, &m), EMB_OK);
    size_t dim = emb_model_dim(m);
    size_t big = (size_t)3 << 20; /* 3 MiB, three times the bound for bert-e5 */
    char *text = malloc(big);
    assert_non_null(text);
    static const char word[] = "plants make food ";
    for (size_t i = 0; i < big; i++)
        text[i] = word[i % (sizeof word - 1)];
    text[(1u << 20) - 1] = '\xc3'; /* a 2-byte character across the bound */
    text[1u << 20] = '\xa9';
    float *a = malloc(dim * sizeof *a), *b = malloc(dim * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    emb_text t = { text, big };
    assert_int_equal(emb_encode(m, &t, 1, NULL, a), EMB_OK);
    emb_text head = { text, 4096 };
    assert_int_equal(emb_encode(m, &head, 1, NULL, b), EMB_OK);
    tu_assert_close(a, b, dim, 0.0, "3 MiB text vs its first 4 KiB (both truncated to 64 tokens)");
    emb_encode_options o;
    emb_encode_options_init(&o);
    o.truncate = 0;
    assert_int_equal(emb_encode(m, &t, 1, &o, a), EMB_ERR_TOO_LONG);
    assert_non_null(strstr(emb_last_error(), "bytes"));
    /* invalid UTF-8 past the bound is still reported */
    text[big - 1] = '\xff';
    assert_int_equal(emb_encode(m, &t, 1, NULL, a), EMB_ERR_INVALID_UTF8);
    free(a);
    free(b);
    free(text);
    emb_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_invalid_utf8_template),
        cmocka_unit_test(test_open_refuses_invalid_utf8_prompt),
        cmocka_unit_test(test_open_refuses_huge_vocab_entry),
        cmocka_unit_test(test_writer_keeps_metadata_checksummed),
        cmocka_unit_test(test_huge_text_is_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
