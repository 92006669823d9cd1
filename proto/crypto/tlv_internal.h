/*
 * Internal to proto/crypto: a small bounded DER TLV walker for X.509 and
 * key structures (single-byte tags, definite minimal lengths up to 3 octets).
 * proto/der/der.c is developed in parallel; once merged, these users can move
 * onto eim_der_reader_t and this header can go.
 */
#ifndef EIM_PROTO_CRYPTO_TLV_INTERNAL_H
#define EIM_PROTO_CRYPTO_TLV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"

typedef struct {
    const uint8_t *pos;
    size_t left; /* bytes remaining (pos may be NULL when left is 0) */
} tlv_reader_t;

typedef struct {
    uint8_t tag;
    eim_span_t value;
    eim_span_t tlv;
} tlv_t;

static inline tlv_reader_t tlv_reader(eim_span_t s)
{
    return (tlv_reader_t){s.ptr, s.ptr ? s.len : 0};
}

static inline bool tlv_at_end(const tlv_reader_t *r)
{
    return r->left == 0;
}

static inline eim_err_t tlv_next(tlv_reader_t *r, tlv_t *out)
{
    const uint8_t *p = r->pos;
    size_t remain = r->left, len = 0, nlen;

    if (remain < 2)
        return EIM_ERR_TRUNCATED;
    if ((p[0] & 0x1F) == 0x1F) /* multi-byte tag: not used by X.509 */
        return EIM_ERR_DECODE;
    if (p[1] < 0x80) {
        len = p[1];
        nlen = 0;
    } else {
        nlen = p[1] & 0x7F;
        if (nlen == 0 || nlen > 3 || remain < 2 + nlen) /* no indefinite form */
            return EIM_ERR_DECODE;
        for (size_t i = 0; i < nlen; i++)
            len = (len << 8) | p[2 + i];
        if (p[2] == 0 || len < 0x80) /* DER: minimal length octets */
            return EIM_ERR_DECODE;
    }
    if (len > remain - 2 - nlen)
        return EIM_ERR_TRUNCATED;
    out->tag = p[0];
    out->value = eim_span(p + 2 + nlen, len);
    out->tlv = eim_span(p, 2 + nlen + len);
    r->pos = p + 2 + nlen + len;
    r->left = remain - (2 + nlen + len);
    return EIM_OK;
}

static inline eim_err_t tlv_expect(tlv_reader_t *r, uint8_t tag, tlv_t *out)
{
    eim_err_t err = tlv_next(r, out);
    if (err != EIM_OK)
        return err;
    return out->tag == tag ? EIM_OK : EIM_ERR_DECODE;
}

static inline bool tlv_peek(const tlv_reader_t *r, uint8_t tag)
{
    return r->left > 0 && r->pos[0] == tag;
}

#endif
