/* Defaults of the option structs, written ABI-safely: the caller says how
 * large its struct is, and only that many bytes are touched. */
#include <string.h>

#include "api/api.h"
#include "runtime/runtime.h"

/* Copy min(size, full) bytes of `defaults` into `dst` (zeroing the rest of
 * the caller's struct) and record that size in its struct_size. */
static void init_sized(void *dst, size_t size, const void *defaults, size_t full)
{
    if (!dst || size < sizeof(size_t))
        return;
    size_t n = size < full ? size : full;
    memset(dst, 0, size);
    memcpy(dst, defaults, n);
    memcpy(dst, &n, sizeof n); /* struct_size is the first member */
}

void emb_open_options_init_size(emb_open_options *opts, size_t struct_size)
{
    emb_open_options d;
    memset(&d, 0, sizeof d);
    init_sized(opts, struct_size, &d, sizeof d);
}

void emb_encode_options_init_size(emb_encode_options *opts, size_t struct_size)
{
    emb_encode_options d;
    memset(&d, 0, sizeof d);
    d.kind = EMB_KIND_NONE;
    d.truncate = 1;
    init_sized(opts, struct_size, &d, sizeof d);
}

void emb_tokenize_options_init_size(emb_tokenize_options *opts, size_t struct_size)
{
    emb_tokenize_options d;
    memset(&d, 0, sizeof d);
    d.add_special = 1;
    init_sized(opts, struct_size, &d, sizeof d);
}

void emb_convert_options_init_size(emb_convert_options *opts, size_t struct_size)
{
    emb_convert_options d;
    memset(&d, 0, sizeof d);
    d.dtype = EMB_DTYPE_AUTO;
    d.normalize = -1;
    d.append_eos = -1;
    d.attention = -1;
    init_sized(opts, struct_size, &d, sizeof d);
}

emb_status api_options_read(const void *in, void *out, size_t out_size, const char *what)
{
    if (!in)
        return EMB_OK;
    size_t in_size;
    memcpy(&in_size, in, sizeof in_size); /* struct_size is the first member */
    if (in_size < sizeof(size_t) || in_size > (1u << 16))
        return rt_error(EMB_ERR_INVALID_ARGUMENT,
                        "%s options not initialized (call emb_%s_options_init)", what, what);
    memcpy(out, in, in_size < out_size ? in_size : out_size);
    memcpy(out, &out_size, sizeof out_size);
    return EMB_OK;
}

void emb_topk_options_init_size(emb_topk_options *opts, size_t struct_size)
{
    emb_topk_options d;
    memset(&d, 0, sizeof d);
    init_sized(opts, struct_size, &d, sizeof d);
}
