/* Thread-local last-error message and checked allocation helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/runtime.h"

static _Thread_local char last_error[1024];

emb_status rt_error(emb_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void rt_error_clear(void)
{
    last_error[0] = '\0';
}

const char *rt_last_error(void)
{
    return last_error;
}

void *rt_alloc(size_t n, size_t size)
{
    size_t bytes;
    if (rt_mul_overflow(n, size, &bytes)) {
        rt_error(EMB_ERR_NO_MEMORY, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        rt_error(EMB_ERR_NO_MEMORY, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *rt_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        rt_error(EMB_ERR_NO_MEMORY, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *rt_realloc(void *old, size_t n, size_t size)
{
    size_t bytes;
    if (rt_mul_overflow(n, size, &bytes)) {
        rt_error(EMB_ERR_NO_MEMORY, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = realloc(old, bytes ? bytes : 1);
    if (!p)
        rt_error(EMB_ERR_NO_MEMORY, "out of memory allocating %zu bytes", bytes);
    return p;
}
