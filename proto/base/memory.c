/* Abort-on-OOM allocation wrappers and bounded growable byte buffers. */
#include "proto/base/memory.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size)
{
    fprintf(stderr, "eimd: out of memory allocating %zu bytes\n", size);
    abort();
}

void *eim_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

void *eim_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *eim_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

char *eim_strdup(const char *s)
{
    return eim_strndup(s, strlen(s));
}

void eim_strlcpy(char *out, const char *s, size_t size)
{
    size_t n = strnlen(s, size - 1);
    memcpy(out, s, n);
    out[n] = '\0';
}

char *eim_strndup(const char *s, size_t n)
{
    char *p = eim_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *eim_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return eim_strdup("");
    char *p = eim_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void eim_buf_init(eim_buf_t *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

void eim_buf_free(eim_buf_t *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

void eim_buf_reset(eim_buf_t *buf)
{
    buf->len = 0;
}

eim_err_t eim_buf_reserve(eim_buf_t *buf, size_t extra)
{
    if (extra > buf->max || buf->len > buf->max - extra)
        return EIM_ERR_LIMIT;
    size_t need = buf->len + extra;
    if (need <= buf->cap)
        return EIM_OK;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap = cap > buf->max / 2 ? buf->max : cap * 2;
    buf->data = eim_realloc(buf->data, cap);
    buf->cap = cap;
    return EIM_OK;
}

eim_err_t eim_buf_append(eim_buf_t *buf, const void *data, size_t len)
{
    eim_err_t err = eim_buf_reserve(buf, len);
    if (err)
        return err;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return EIM_OK;
}

eim_err_t eim_buf_append_byte(eim_buf_t *buf, uint8_t byte)
{
    return eim_buf_append(buf, &byte, 1);
}

eim_err_t eim_buf_append_str(eim_buf_t *buf, const char *s)
{
    return eim_buf_append(buf, s, strlen(s));
}

eim_err_t eim_buf_printf(eim_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return EIM_ERR_INVALID_ARG;
    /* +1 for vsnprintf's terminator, which is not counted in len. */
    eim_err_t err = eim_buf_reserve(buf, (size_t)n + 1);
    if (err)
        return err;
    va_start(ap, fmt);
    vsnprintf((char *)buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return EIM_OK;
}
