/* SHA-256 (runtime/sha256.c) against the FIPS 180-2 / NIST test vectors,
 * split into every piece size so the block buffering is exercised, and
 * emb_model_file_sha256 / emb_sha256_* against coreutils' sha256sum on
 * model files (a mapped one and a tokenizer-only one) of many blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "runtime/runtime.h"

static const char *const ABC448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char *const ABC896 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
    "mnopqrstnopqrstu";

static void hex_of(const char *msg, size_t len, size_t piece, char hex[65])
{
    rt_sha256 s;
    rt_sha256_init(&s);
    for (size_t i = 0; i < len; i += piece)
        rt_sha256_update(&s, msg + i, len - i < piece ? len - i : piece);
    rt_sha256_final(&s, hex);
}

static void test_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *hex;
    } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { NULL, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { NULL, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        const char *msg = v[i].msg ? v[i].msg : i == 2 ? ABC448 : ABC896;
        size_t len = strlen(msg);
        for (size_t piece = 1; piece <= len + 1; piece++) {
            char hex[65];
            hex_of(msg, len, piece, hex);
            if (strcmp(hex, v[i].hex) != 0)
                fail_msg("vector %zu (%zu bytes) in pieces of %zu: got %s, expected %s", i, len,
                         piece, hex, v[i].hex);
        }
    }
}

static void test_million_a(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    static const size_t pieces[] = { 1000000, 1, 63, 64, 65, 4096, 999999 };
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        char hex[65];
        hex_of(a, n, pieces[i], hex);
        assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
    /* the public hasher: the same digest, and it starts over after final */
    emb_sha256 *h = NULL;
    assert_int_equal(emb_sha256_open(&h), EMB_OK);
    emb_sha256_update(h, a, n);
    char hex[65];
    emb_sha256_final(h, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    emb_sha256_update(h, "abc", 3);
    emb_sha256_final(h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    emb_sha256_close(h);
    emb_sha256_close(NULL);
    assert_int_equal(emb_sha256_open(NULL), EMB_ERR_INVALID_ARGUMENT);
    free(a);
}

/* coreutils' digest of a file, the independent reference */
static void sha256sum(const char *path, char hex[65])
{
    char *out = NULL;
    assert_int_equal(tu_run(&out, "sha256sum '%s'", path), 0);
    assert_non_null(out);
    assert_true(strlen(out) >= 64);
    memcpy(hex, out, 64);
    hex[64] = '\0';
    free(out);
}

static void check_model_file(const char *path)
{
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(path, NULL, &m), EMB_OK);
    char got[65], want[65];
    assert_int_equal(emb_model_file_sha256(m, got), EMB_OK);
    sha256sum(path, want);
    if (strcmp(got, want) != 0)
        fail_msg("%s: emb_model_file_sha256 %s, sha256sum %s", path, got, want);
    assert_int_equal(emb_model_file_sha256(m, NULL), EMB_ERR_INVALID_ARGUMENT);
    emb_model_close(m);
}

static void test_model_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_convert("tests/fixtures/models/bert-e5", dir, "m.h5", NULL);
    check_model_file(path); /* mapped */
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.tokenizer_only = 1;
    char *tok = tu_convert("tests/fixtures/models/bert-e5", dir, "tok.h5", &o);
    check_model_file(tok); /* no mapping: read again from the path */
    char hex[65];
    assert_int_equal(emb_model_file_sha256(NULL, hex), EMB_ERR_INVALID_ARGUMENT);
    free(path);
    free(tok);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_model_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
