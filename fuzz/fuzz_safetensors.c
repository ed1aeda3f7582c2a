/* Fuzz the safetensors reader (cv_weights_add_file): the input is one
 * .safetensors file. Every tensor the reader accepts is up-converted to f32,
 * which reads all of its bytes: an accepted data range must lie inside the
 * mapped file. */
#include "fuzz_common.h"

#include "convert/convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", fuzz_dir());
    fuzz_write(path, data, size);
    cv_weights w = { 0 };
    if (cv_weights_add_file(&w, path) == EMB_OK) {
        for (size_t i = 0; i < w.n; i++) {
            const cv_tensor *t = &w.t[i];
            if (!t->is_weight)
                continue;
            size_t elem = kern_wtype_size(t->dtype);
            size_t count = (size_t)t->nbytes / elem;
            float *buf = malloc(count ? count * sizeof *buf : 1);
            if (!buf)
                abort();
            if (cv_tensor_to_f32(t, buf) != EMB_OK)
                abort(); /* an accepted F32/F16/BF16 tensor must convert */
            free(buf);
            if (cv_weights_find(&w, t->name) != t)
                abort(); /* names are unique: lookup finds this tensor */
        }
    }
    cv_weights_close(&w);
    return 0;
}
