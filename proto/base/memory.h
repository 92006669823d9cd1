/*
 * Allocation wrappers and bounded growable buffers.
 *
 * eim_malloc/eim_calloc/eim_realloc/eim_strdup never return NULL: running out
 * of memory aborts the process with a message (a server that cannot allocate
 * cannot keep its promises; a clean crash lets the supervisor restart it).
 *
 * eim_buf_t is a byte buffer that grows on demand up to a maximum fixed at
 * initialisation, so hostile input can never grow it without bound.
 */
#ifndef EIM_PROTO_BASE_MEMORY_H
#define EIM_PROTO_BASE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"

void *eim_malloc(size_t size);
void *eim_calloc(size_t count, size_t size);
void *eim_realloc(void *ptr, size_t size);
char *eim_strdup(const char *s);
char *eim_strndup(const char *s, size_t n);
/* Copies s into out[size] (size > 0), cut to size - 1 bytes, always
 * terminated; no printf machinery (hot paths). */
void eim_strlcpy(char *out, const char *s, size_t size);
/* printf into a fresh heap string (caller frees). */
char *eim_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define EIM_NEW(type) ((type *)eim_calloc(1, sizeof(type)))

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* appends beyond this fail with EIM_ERR_LIMIT */
} eim_buf_t;

void eim_buf_init(eim_buf_t *buf, size_t max);
void eim_buf_free(eim_buf_t *buf);
void eim_buf_reset(eim_buf_t *buf);
eim_err_t eim_buf_reserve(eim_buf_t *buf, size_t extra);
eim_err_t eim_buf_append(eim_buf_t *buf, const void *data, size_t len);
eim_err_t eim_buf_append_byte(eim_buf_t *buf, uint8_t byte);
eim_err_t eim_buf_append_str(eim_buf_t *buf, const char *s);
eim_err_t eim_buf_printf(eim_buf_t *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
