/*
 * eim_span_t: a borrowed, read-only view of bytes (pointer + length).
 *
 * Decoders hand out spans into the caller's input instead of copies, so that
 * signed sub-structures can be verified over exactly the bytes received. A
 * span is valid only as long as the buffer it points into.
 */
#ifndef EIM_PROTO_BASE_SPAN_H
#define EIM_PROTO_BASE_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const uint8_t *ptr;
    size_t len;
} eim_span_t;

#define EIM_SPAN_NULL ((eim_span_t){NULL, 0})

static inline eim_span_t eim_span(const void *ptr, size_t len)
{
    return (eim_span_t){(const uint8_t *)ptr, len};
}

static inline bool eim_span_eq(eim_span_t a, eim_span_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

#endif
