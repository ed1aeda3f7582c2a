/* Corrupted model files (docs/security.md): every fixture model is
 * converted, then opened again truncated at many offsets and with seeded
 * random byte flips in its HDF5 metadata and in its weights. Expected:
 * emb_model_open refuses with a documented status (EMB_ERR_FORMAT / IO /
 * VERSION / UNSUPPORTED) and *out stays NULL; a file that still opens (a flip
 * in raw data that has no checksum: weights, tokenizer arrays, padding)
 * encodes without crashing; a flip inside weights only always opens and
 * encodes. The suite runs under ASan+UBSan (make asan), which turns any read
 * out of bounds into a failure. Also: a failed emb_convert leaves neither its
 * output nor a temporary file behind. */
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define N_TRUNC 40        /* evenly spread truncation points (plus fixed ones) */
#define N_META_FLIPS 400  /* random flips outside the weights */
#define N_WEIGHT_FLIPS 24 /* random flips inside the weights */

static const char *const models[] = {
    "bert-e5", "bge-cls", "qwen3-emb-bf16", "xlmr-me5", "mistral-e5",
};

static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* HDF5 1.10 loses small internal buffers on some of its error paths for
 * corrupt files: leaks made and lost inside libhdf5 (no libemb frame between
 * malloc and the leak, no pointer left anywhere). LeakSanitizer asks this
 * hook for suppressions; libemb's own leaks are still reported. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libhdf5_serial.so\n";
}

/* A reproducible generator (xorshift64*), so failures can be replayed. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

typedef struct range {
    uint64_t begin, end;
} range;

/* The byte ranges of the file that hold weight data (HDF5 raw data of the
 * /weights datasets), sorted by HDF5's name order. */
static size_t weight_ranges(const char *path, range *r, size_t cap)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t g = H5Gopen2(f, "weights", H5P_DEFAULT);
    assert_true(g >= 0);
    H5G_info_t info;
    assert_true(H5Gget_info(g, &info) >= 0);
    size_t n = 0;
    for (hsize_t i = 0; i < info.nlinks && n < cap; i++) {
        char name[512];
        assert_true(H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                       H5P_DEFAULT) > 0);
        hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
        assert_true(ds >= 0);
        haddr_t off = H5Dget_offset(ds);
        hsize_t size = H5Dget_storage_size(ds);
        if (off != HADDR_UNDEF && size > 0) {
            r[n].begin = off;
            r[n].end = off + size;
            n++;
        }
        H5Dclose(ds);
    }
    H5Gclose(g);
    H5Fclose(f);
    return n;
}

static int in_ranges(const range *r, size_t n, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        if (off >= r[i].begin && off < r[i].end)
            return 1;
    return 0;
}

static int documented_refusal(emb_status st)
{
    return st == EMB_ERR_FORMAT || st == EMB_ERR_IO || st == EMB_ERR_VERSION ||
           st == EMB_ERR_UNSUPPORTED;
}

static const char query[] = "how do plants make food?";

/* Open a damaged copy. must_refuse: any success is a failure;
 * must_open: any refusal is a failure. Returns 1 if it opened. */
static int try_open(const char *path, const char *what, int must_refuse, int must_open)
{
    emb_model *m = (emb_model *)(uintptr_t)1; /* must be reset to NULL on failure */
    emb_status st = emb_model_open(path, NULL, &m);
    /* whatever happened, the loader left no HDF5 object (file, group,
     * dataset, attribute) open */
    ssize_t open_ids = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_ids != 0) {
        print_error("%s: %zd HDF5 objects left open after emb_model_open (%s)\n", what,
                    open_ids, emb_status_string(st));
        fail();
    }
    if (st != EMB_OK) {
        if (m != NULL || !documented_refusal(st) || !*emb_last_error() || must_open) {
            print_error("%s: emb_model_open gave %s (%s)%s\n", what, emb_status_string(st),
                        emb_last_error(),
                        m ? ", *out not NULL" : must_open ? ", expected it to open" : "");
            fail();
        }
        return 0;
    }
    if (must_refuse) {
        print_error("%s: opened, expected a refusal\n", what);
        emb_model_close(m);
        fail();
    }
    /* it opened: it must encode (or refuse with a status) without crashing */
    size_t dim = emb_model_dim(m);
    float *v = malloc((dim ? dim : 1) * sizeof *v);
    assert_non_null(v);
    emb_text t = { query, sizeof query - 1 };
    st = emb_encode(m, &t, 1, NULL, v);
    if (must_open && st != EMB_OK) {
        print_error("%s: flip in weights only, but emb_encode gave %s (%s)\n", what,
                    emb_status_string(st), emb_last_error());
        fail();
    }
    int32_t ids[256];
    size_t n_ids = 0;
    emb_tokenize(m, query, sizeof query - 1, NULL, ids, 256, &n_ids);
    free(v);
    emb_model_close(m);
    return 1;
}

static void corrupt_model(const char *name)
{
    char src[512], good[1024], bad[1024], what[256];
    snprintf(src, sizeof src, "tests/fixtures/models/%s", name);
    snprintf(good, sizeof good, "%s.h5", name);
    char *path = tu_convert(src, tmp, good, NULL);
    snprintf(bad, sizeof bad, "%s/%s-bad.h5", tmp, name);
    size_t size = 0;
    unsigned char *data = (unsigned char *)tu_read_file(path, &size);
    assert_non_null(data);
    assert_true(size > 4096);
    range wr[1024];
    size_t n_wr = weight_ranges(path, wr, 1024);
    assert_true(n_wr > 0);
    rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)size;

    /* the intact file opens (sanity) */
    assert_int_equal(try_open(path, name, 0, 1), 1);

    /* truncations: fixed small sizes, the superblock, an even spread, the tail */
    size_t cuts[N_TRUNC + 12];
    size_t n_cuts = 0;
    static const size_t fixed[] = { 0, 1, 7, 8, 47, 48, 100, 512, 2048 };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        cuts[n_cuts++] = fixed[i];
    for (size_t i = 1; i <= N_TRUNC; i++)
        cuts[n_cuts++] = size * i / (N_TRUNC + 1);
    cuts[n_cuts++] = size - 8;
    cuts[n_cuts++] = size - 1;
    for (size_t i = 0; i < n_cuts; i++) {
        tu_write_file(bad, data, cuts[i]);
        snprintf(what, sizeof what, "%s truncated to %zu of %zu bytes", name, cuts[i], size);
        try_open(bad, what, 1, 0);
    }

    /* flips in the superblock (checksummed): always refused */
    for (size_t i = 0; i < 48; i += 3) {
        unsigned char x = (unsigned char)(1u + rng() % 255u);
        data[i] ^= x;
        tu_write_file(bad, data, size);
        data[i] ^= x;
        snprintf(what, sizeof what, "%s: byte %zu xor 0x%02x (superblock)", name, i, x);
        try_open(bad, what, 1, 0);
    }

    /* flips outside the weights: refused, or (raw tokenizer data, padding)
     * opened and encoded without crashing */
    size_t refused = 0;
    for (size_t k = 0; k < N_META_FLIPS; k++) {
        size_t off;
        do
            off = (size_t)(rng() % size);
        while (in_ranges(wr, n_wr, off));
        unsigned char x = (unsigned char)(1u + rng() % 255u);
        data[off] ^= x;
        tu_write_file(bad, data, size);
        data[off] ^= x;
        snprintf(what, sizeof what, "%s: byte %zu xor 0x%02x (metadata)", name, off, x);
        refused += !try_open(bad, what, 0, 0);
    }
    /* most of a converted file outside the weights is checksummed metadata
     * or tokenizer data that is validated: most flips must be caught */
    if (refused == 0) {
        print_error("%s: none of %d metadata flips was refused\n", name, N_META_FLIPS);
        fail();
    }

    /* flips inside the weights: the file opens and encodes */
    for (size_t k = 0; k < N_WEIGHT_FLIPS; k++) {
        const range *r = &wr[rng() % n_wr];
        size_t off = (size_t)(r->begin + rng() % (r->end - r->begin));
        unsigned char x = (unsigned char)(1u + rng() % 255u);
        data[off] ^= x;
        tu_write_file(bad, data, size);
        data[off] ^= x;
        snprintf(what, sizeof what, "%s: byte %zu xor 0x%02x (weights)", name, off, x);
        try_open(bad, what, 0, 1);
    }
    unlink(bad);
    unlink(path);
    free(data);
    free(path);
}

static void test_bert_e5(void **state)
{
    (void)state;
    corrupt_model(models[0]);
}

static void test_bge_cls(void **state)
{
    (void)state;
    corrupt_model(models[1]);
}

static void test_qwen3_emb_bf16(void **state)
{
    (void)state;
    corrupt_model(models[2]);
}

static void test_xlmr_me5(void **state)
{
    (void)state;
    corrupt_model(models[3]);
}

static void test_mistral_e5(void **state)
{
    (void)state;
    corrupt_model(models[4]);
}

/* Copy an HF folder's top-level files and 1_Pooling/ into dst, with
 * model.safetensors cut to `keep` bytes. */
static void copy_folder_truncated(const char *src, const char *dst, size_t keep)
{
    static const char *const files[] = {
        "config.json", "config_sentence_transformers.json", "modules.json",
        "sentence_bert_config.json", "special_tokens_map.json", "tokenizer.json",
        "tokenizer_config.json", "vocab.txt", "1_Pooling/config.json", "model.safetensors",
    };
    char p[2048], q[2048];
    snprintf(q, sizeof q, "%s/1_Pooling", dst);
    assert_int_equal(mkdir(dst, 0700), 0);
    assert_int_equal(mkdir(q, 0700), 0);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", src, files[i]);
        snprintf(q, sizeof q, "%s/%s", dst, files[i]);
        size_t n = 0;
        char *data = tu_read_file(p, &n);
        assert_non_null(data);
        if (!strcmp(files[i], "model.safetensors") && keep < n)
            n = keep;
        tu_write_file(q, (const unsigned char *)data, n);
        free(data);
    }
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* A conversion that fails part-way (a truncated checkpoint) leaves no
 * output file and no temporary file in the output folder. */
static void test_failed_convert_leaves_nothing(void **state)
{
    (void)state;
    static const size_t keeps[] = { 0, 5, 100, 4000, 500000 };
    for (size_t i = 0; i < sizeof keeps / sizeof *keeps; i++) {
        char hf[1024], out_dir[1024], out[1100];
        snprintf(hf, sizeof hf, "%s/hf-%zu", tmp, i);
        snprintf(out_dir, sizeof out_dir, "%s/out-%zu", tmp, i);
        copy_folder_truncated("tests/fixtures/models/bert-e5", hf, keeps[i]);
        assert_int_equal(mkdir(out_dir, 0700), 0);
        snprintf(out, sizeof out, "%s/model.h5", out_dir);
        emb_status st = emb_convert(hf, out, NULL);
        if (st != EMB_ERR_FORMAT) {
            print_error("safetensors cut to %zu bytes: emb_convert gave %s (%s)\n", keeps[i],
                        emb_status_string(st), emb_last_error());
            fail();
        }
        assert_true(strlen(emb_last_error()) > 0);
        if (count_entries(out_dir) != 0) {
            print_error("safetensors cut to %zu bytes: the output folder is not empty\n",
                        keeps[i]);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bert_e5),
        cmocka_unit_test(test_bge_cls),
        cmocka_unit_test(test_qwen3_emb_bf16),
        cmocka_unit_test(test_xlmr_me5),
        cmocka_unit_test(test_mistral_e5),
        cmocka_unit_test(test_failed_convert_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
