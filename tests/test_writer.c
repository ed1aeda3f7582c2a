/* The writer's number conversions: a bf16 model file holds exactly what the
 * kernels' kern_f32_to_bf16 gives (the one f32 -> bf16 rounding of the
 * library: round to nearest even, infinities kept, fp32 subnormals rounded
 * like any value, a NaN stays a quiet NaN), on the edge values where
 * roundings differ. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "format/format.h"
#include "kernels/kernels.h"

/* f32 bit patterns and their bf16 bits: torch's .bfloat16() for every
 * number; for a NaN torch writes the canonical 0x7fc0, the library keeps the
 * sign and the top payload bits and sets the quiet bit (a NaN either way). */
static const struct {
    uint32_t f32;
    uint16_t bf16;
} edges[] = {
    { 0x3f800000u, 0x3f80u }, /* 1.0 */
    { 0x3f808000u, 0x3f80u }, /* tie, even below: down */
    { 0x3f818000u, 0x3f82u }, /* tie, odd below: up */
    { 0x3f808001u, 0x3f81u }, /* just above a tie: up */
    { 0x3f807fffu, 0x3f80u }, /* just below a tie: down */
    { 0xbf818000u, 0xbf82u }, /* negative tie: away from zero to even */
    { 0x7f7fffffu, 0x7f80u }, /* FLT_MAX rounds to +inf */
    { 0x7f800000u, 0x7f80u }, /* +inf */
    { 0xff800000u, 0xff80u }, /* -inf */
    { 0x7fc00000u, 0x7fc0u }, /* quiet NaN */
    { 0x7f800001u, 0x7fc0u }, /* signalling NaN, payload only in the low bits: quieted */
    { 0xffa00000u, 0xffe0u }, /* negative NaN with a payload: sign and payload kept, quiet */
    { 0x00000000u, 0x0000u }, /* +0 */
    { 0x80000000u, 0x8000u }, /* -0 */
    { 0x00000001u, 0x0000u }, /* smallest subnormal: to zero */
    { 0x00008000u, 0x0000u }, /* subnormal tie, even below: down */
    { 0x00018000u, 0x0002u }, /* subnormal tie, odd below: up */
    { 0x007fffffu, 0x0080u }, /* largest subnormal: up to the smallest normal */
    { 0x80018000u, 0x8002u }, /* negative subnormal tie */
};
#define N_EDGES (sizeof edges / sizeof *edges)

static void test_bf16_file_equals_kernel_rounding(void **state)
{
    (void)state;
    float vals[N_EDGES];
    for (size_t i = 0; i < N_EDGES; i++) {
        memcpy(&vals[i], &edges[i].f32, 4);
        uint16_t k = kern_f32_to_bf16(vals[i]);
        if (k != edges[i].bf16)
            fail_msg("kern_f32_to_bf16(0x%08x) = 0x%04x, expected 0x%04x", edges[i].f32, k,
                     edges[i].bf16);
    }
    fmt_tensor_in t = { .name = "edges", .is_weight = 1, .dtype = KERN_W_F32, .ndim = 1,
                        .data = (const uint8_t *)vals, .nbytes = sizeof vals };
    t.shape[0] = (int64_t)N_EDGES;
    /* the writer stores what it is given: an empty config and tokenizer do */
    mdl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    fmt_policy pol;
    fmt_policy_defaults(&pol);
    tok_spec tok;
    memset(&tok, 0, sizeof tok);
    char *dir = tu_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/edges.h5", dir);
    fmt_write_input in = { .cfg = &cfg, .pol = &pol, .tok = &tok, .weights = &t, .n_weights = 1,
                           .dtype = EMB_DTYPE_BF16, .source = "edges" };
    assert_int_equal(fmt_write(path, &in), EMB_OK);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, "/weights/edges", H5P_DEFAULT);
    assert_true(ds >= 0);
    uint16_t got[N_EDGES];
    assert_true(H5Dread(ds, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    H5Dclose(ds);
    H5Fclose(f);
    tu_rmtree(dir);
    free(dir);
    size_t bad = 0;
    for (size_t i = 0; i < N_EDGES; i++)
        if (got[i] != kern_f32_to_bf16(vals[i])) {
            print_error("f32 0x%08x: file 0x%04x, kern_f32_to_bf16 0x%04x\n", edges[i].f32,
                        got[i], kern_f32_to_bf16(vals[i]));
            bad++;
        }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_file_equals_kernel_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
