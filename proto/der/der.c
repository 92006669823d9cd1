/*
 * DER reader and writer (ITU-T X.690 §8 BER and §10 DER restrictions) for the
 * BER-TLV structures of SGP.22 and SGP.32 (SGP.32 v1.2 §2.11, §6.1.1: every
 * ESipa/ES10 object is DER).
 *
 * The reader never copies: elements are spans into the caller's input. It is
 * deliberately strict, because the same bytes are later hashed for signature
 * verification and any leniency here (indefinite lengths, padded lengths,
 * padded INTEGERs) would let two different byte strings decode to one value.
 * Failures are recorded once, innermost first, in the caller's
 * eim_der_error_t: offset from the top-level input, tag, static reason.
 *
 * The writer appends to a bounded eim_buf_t. Constructed elements are written
 * with a placeholder-free scheme: contents are appended first and the minimal
 * length is inserted in front of them by eim_der_end.
 */
#include "proto/der/der.h"

#include <string.h>

/* Length octets we accept/emit: up to 4 bytes after the 0x8n prefix. */
#define DER_MAX_LENGTH_BYTES 4
#define DER_MAX_TAG_BYTES    4

static void record_error(eim_der_error_t *error, size_t offset, uint32_t tag, const char *reason)
{
    /* First (innermost) failure wins: outer decoders that propagate the
     * error must not overwrite the precise location. */
    if (!error || error->reason)
        return;
    error->offset = offset;
    error->tag = tag;
    error->reason = reason;
}

static eim_err_t fail_at(const eim_der_reader_t *r, const uint8_t *at, uint32_t tag, eim_err_t err,
                         const char *reason)
{
    record_error(r->error, (size_t)(at - r->base), tag, reason);
    return err;
}

bool eim_der_tag_is_constructed(uint32_t tag)
{
    /* The constructed bit lives in the first (most significant) wire byte. */
    while (tag > 0xFF)
        tag >>= 8;
    return (tag & 0x20) != 0;
}

void eim_der_reader_init(eim_der_reader_t *r, const uint8_t *data, size_t len,
                         eim_der_error_t *error)
{
    r->base = data;
    r->pos = data;
    r->end = data ? data + len : data;
    r->depth = 0;
    r->error = error;
    if (error) {
        error->offset = 0;
        error->tag = 0;
        error->reason = NULL;
    }
}

eim_err_t eim_der_enter(const eim_der_reader_t *parent, const eim_der_elem_t *elem,
                        eim_der_reader_t *child)
{
    if (!parent || !elem || !child)
        return EIM_ERR_INVALID_ARG;
    if (elem->value.len > 0 && (elem->value.ptr < parent->base || elem->value.ptr > parent->end ||
                                elem->value.len > (size_t)(parent->end - elem->value.ptr)))
        return EIM_ERR_INVALID_ARG;
    if (!eim_der_tag_is_constructed(elem->tag))
        return fail_at(parent, elem->tlv.ptr, elem->tag, EIM_ERR_DECODE,
                       "primitive element where constructed expected");
    if (parent->depth + 1 > EIM_DER_MAX_DEPTH)
        return fail_at(parent, elem->tlv.ptr, elem->tag, EIM_ERR_LIMIT, "nesting too deep");
    child->base = parent->base;
    child->pos = elem->value.ptr;
    child->end = elem->value.ptr + elem->value.len;
    child->depth = parent->depth + 1;
    child->error = parent->error;
    return EIM_OK;
}

eim_err_t eim_der_read_enter(eim_der_reader_t *r, uint32_t tag, eim_der_elem_t *elem,
                             eim_der_reader_t *child)
{
    eim_err_t err = eim_der_read_tag(r, tag, elem);
    if (err)
        return err;
    return eim_der_enter(r, elem, child);
}

eim_err_t eim_der_enter_span(const eim_der_reader_t *parent, eim_span_t span,
                             eim_der_reader_t *child)
{
    if (!parent || !child || (span.len > 0 && !span.ptr))
        return EIM_ERR_INVALID_ARG;
    if (span.len > 0 && (span.ptr < parent->base || span.ptr > parent->end ||
                         span.len > (size_t)(parent->end - span.ptr)))
        return EIM_ERR_INVALID_ARG;
    if (parent->depth + 1 > EIM_DER_MAX_DEPTH)
        return fail_at(parent, span.ptr ? span.ptr : parent->pos, 0, EIM_ERR_LIMIT,
                       "nesting too deep");
    child->base = parent->base;
    child->pos = span.len > 0 ? span.ptr : parent->pos;
    child->end = child->pos + span.len;
    child->depth = parent->depth + 1;
    child->error = parent->error;
    return EIM_OK;
}

bool eim_der_at_end(const eim_der_reader_t *r)
{
    return r->pos >= r->end;
}

eim_err_t eim_der_expect_end(eim_der_reader_t *r)
{
    if (!eim_der_at_end(r))
        return fail_at(r, r->pos, 0, EIM_ERR_DECODE, "trailing bytes");
    return EIM_OK;
}

/* Parses the tag at p (bounded by end). On success *tag and *tag_len. */
static eim_err_t parse_tag(const eim_der_reader_t *r, const uint8_t *p, uint32_t *tag,
                           size_t *tag_len)
{
    const uint8_t *end = r->end;
    if (p >= end)
        return fail_at(r, p, 0, EIM_ERR_TRUNCATED, "missing tag");
    uint32_t t = p[0];
    size_t n = 1;
    if (t == 0x00)
        return fail_at(r, p, 0, EIM_ERR_DECODE, "reserved tag 00 (end-of-contents)");
    if ((p[0] & 0x1F) == 0x1F) {
        /* High tag number form: base-128 digits, last one without bit 8. */
        for (;;) {
            if (p + n >= end)
                return fail_at(r, p, t, EIM_ERR_TRUNCATED, "truncated tag");
            if (n >= DER_MAX_TAG_BYTES)
                return fail_at(r, p, t, EIM_ERR_LIMIT, "tag longer than 4 bytes");
            uint8_t b = p[n];
            if (n == 1 && b == 0x80)
                return fail_at(r, p, t, EIM_ERR_DECODE, "non-minimal tag encoding");
            t = (t << 8) | b;
            n++;
            if (!(b & 0x80))
                break;
        }
        /* X.690 §8.1.2.2: numbers 0..30 must use the single-byte form. */
        if (n == 2 && (t & 0x7F) < 31)
            return fail_at(r, p, t, EIM_ERR_DECODE, "non-minimal tag encoding");
    }
    *tag = t;
    *tag_len = n;
    return EIM_OK;
}

/* Parses the complete element at r->pos without consuming it. */
static eim_err_t parse_elem(const eim_der_reader_t *r, eim_der_elem_t *out)
{
    const uint8_t *p = r->pos;
    uint32_t tag;
    size_t tag_len;
    eim_err_t err = parse_tag(r, p, &tag, &tag_len);
    if (err)
        return err;
    const uint8_t *lp = p + tag_len;
    if (lp >= r->end)
        return fail_at(r, p, tag, EIM_ERR_TRUNCATED, "missing length");
    size_t remaining = (size_t)(r->end - lp) - 1; /* after the first length byte */
    size_t len;
    size_t len_len = 1;
    if (lp[0] < 0x80) {
        len = lp[0];
    } else if (lp[0] == 0x80) {
        return fail_at(r, p, tag, EIM_ERR_DECODE, "indefinite length");
    } else {
        size_t n = lp[0] & 0x7F;
        if (n > DER_MAX_LENGTH_BYTES)
            return fail_at(r, p, tag, EIM_ERR_LIMIT, "length field longer than 4 bytes");
        if (n > remaining)
            return fail_at(r, p, tag, EIM_ERR_TRUNCATED, "truncated length");
        if (lp[1] == 0x00)
            return fail_at(r, p, tag, EIM_ERR_DECODE, "non-minimal length encoding");
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = (len << 8) | lp[1 + i];
        if (len < 0x80)
            return fail_at(r, p, tag, EIM_ERR_DECODE, "non-minimal length encoding");
        len_len += n;
        remaining -= n;
    }
    if (len > remaining)
        return fail_at(r, p, tag, EIM_ERR_TRUNCATED, "length exceeds remaining input");
    out->tag = tag;
    out->value = eim_span(lp + len_len, len);
    out->tlv = eim_span(p, tag_len + len_len + len);
    return EIM_OK;
}

eim_err_t eim_der_peek_tag(const eim_der_reader_t *r, uint32_t *tag)
{
    size_t tag_len;
    return parse_tag(r, r->pos, tag, &tag_len);
}

eim_err_t eim_der_read(eim_der_reader_t *r, eim_der_elem_t *out)
{
    if (eim_der_at_end(r))
        return fail_at(r, r->pos, 0, EIM_ERR_DECODE, "missing element");
    eim_der_elem_t elem;
    eim_err_t err = parse_elem(r, &elem);
    if (err)
        return err;
    r->pos = elem.tlv.ptr + elem.tlv.len;
    *out = elem;
    return EIM_OK;
}

eim_err_t eim_der_read_tag(eim_der_reader_t *r, uint32_t tag, eim_der_elem_t *out)
{
    if (eim_der_at_end(r))
        return fail_at(r, r->pos, tag, EIM_ERR_DECODE, "missing element");
    eim_der_elem_t elem;
    eim_err_t err = parse_elem(r, &elem);
    if (err)
        return err;
    if (elem.tag != tag)
        return fail_at(r, r->pos, elem.tag, EIM_ERR_DECODE, "unexpected tag");
    r->pos = elem.tlv.ptr + elem.tlv.len;
    *out = elem;
    return EIM_OK;
}

eim_err_t eim_der_read_optional(eim_der_reader_t *r, uint32_t tag, eim_der_elem_t *out,
                                bool *present)
{
    *present = false;
    if (eim_der_at_end(r))
        return EIM_OK;
    uint32_t next;
    eim_err_t err = eim_der_peek_tag(r, &next);
    if (err)
        return err;
    if (next != tag)
        return EIM_OK;
    err = eim_der_read(r, out);
    if (err)
        return err;
    *present = true;
    return EIM_OK;
}

eim_err_t eim_der_skip_until(eim_der_reader_t *r, uint32_t tag)
{
    while (!eim_der_at_end(r)) {
        uint32_t next;
        eim_err_t err = eim_der_peek_tag(r, &next);
        if (err)
            return err;
        if (next == tag)
            return EIM_OK;
        eim_der_elem_t skipped;
        err = eim_der_read(r, &skipped);
        if (err)
            return err;
    }
    return EIM_OK;
}

eim_err_t eim_der_fail(eim_der_reader_t *r, const eim_der_elem_t *elem, eim_err_t err,
                       const char *reason)
{
    if (elem && elem->tlv.ptr)
        return fail_at(r, elem->tlv.ptr, elem->tag, err, reason);
    return fail_at(r, r->pos, 0, err, reason);
}

/* ---- value decoders ---------------------------------------------------- */

static eim_err_t check_int_encoding(const eim_der_elem_t *elem, const char **reason)
{
    const uint8_t *v = elem->value.ptr;
    size_t n = elem->value.len;
    if (eim_der_tag_is_constructed(elem->tag)) {
        *reason = "constructed INTEGER";
        return EIM_ERR_DECODE;
    }
    if (n == 0) {
        *reason = "empty INTEGER";
        return EIM_ERR_DECODE;
    }
    /* X.690 §8.3.2: the first 9 bits must not be all 0 or all 1. */
    if (n > 1 && ((v[0] == 0x00 && !(v[1] & 0x80)) || (v[0] == 0xFF && (v[1] & 0x80)))) {
        *reason = "non-minimal INTEGER";
        return EIM_ERR_DECODE;
    }
    return EIM_OK;
}

static eim_err_t decode_int(const eim_der_elem_t *elem, int64_t *out, const char **reason)
{
    eim_err_t err = check_int_encoding(elem, reason);
    if (err)
        return err;
    const uint8_t *v = elem->value.ptr;
    size_t n = elem->value.len;
    if (n > 8) {
        *reason = "INTEGER out of range";
        return EIM_ERR_LIMIT;
    }
    /* Sign-extend through an unsigned accumulator (no signed overflow). */
    uint64_t acc = (v[0] & 0x80) ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++)
        acc = (acc << 8) | v[i];
    memcpy(out, &acc, sizeof(*out));
    return EIM_OK;
}

static eim_err_t decode_uint(const eim_der_elem_t *elem, uint64_t *out, const char **reason)
{
    eim_err_t err = check_int_encoding(elem, reason);
    if (err)
        return err;
    const uint8_t *v = elem->value.ptr;
    size_t n = elem->value.len;
    if (v[0] & 0x80) {
        *reason = "negative INTEGER";
        return EIM_ERR_DECODE;
    }
    if (n > 9 || (n == 9 && v[0] != 0x00)) {
        *reason = "INTEGER out of range";
        return EIM_ERR_LIMIT;
    }
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc = (acc << 8) | v[i];
    *out = acc;
    return EIM_OK;
}

static eim_err_t decode_bool(const eim_der_elem_t *elem, bool *out, const char **reason)
{
    if (eim_der_tag_is_constructed(elem->tag) || elem->value.len != 1 ||
        (elem->value.ptr[0] != 0x00 && elem->value.ptr[0] != 0xFF)) {
        *reason = "BOOLEAN not 00 or FF";
        return EIM_ERR_DECODE;
    }
    *out = elem->value.ptr[0] == 0xFF;
    return EIM_OK;
}

static eim_err_t decode_null(const eim_der_elem_t *elem, const char **reason)
{
    if (eim_der_tag_is_constructed(elem->tag) || elem->value.len != 0) {
        *reason = "NULL not empty";
        return EIM_ERR_DECODE;
    }
    return EIM_OK;
}

static eim_err_t decode_bit_string(const eim_der_elem_t *elem, eim_span_t *bits,
                                   unsigned *unused_bits, const char **reason)
{
    const uint8_t *v = elem->value.ptr;
    size_t n = elem->value.len;
    if (eim_der_tag_is_constructed(elem->tag)) {
        *reason = "constructed BIT STRING";
        return EIM_ERR_DECODE;
    }
    if (n == 0 || v[0] > 7 || (n == 1 && v[0] != 0)) {
        *reason = "bad BIT STRING unused-bits octet";
        return EIM_ERR_DECODE;
    }
    /* X.690 §11.2.1: the unused bits of the last octet are zero in DER. */
    if (n > 1 && (v[n - 1] & ((1u << v[0]) - 1u)) != 0) {
        *reason = "BIT STRING unused bits not zero";
        return EIM_ERR_DECODE;
    }
    *bits = eim_span(v + 1, n - 1);
    *unused_bits = v[0];
    return EIM_OK;
}

static eim_err_t decode_oid(const eim_der_elem_t *elem, eim_span_t *oid, const char **reason)
{
    const uint8_t *v = elem->value.ptr;
    size_t n = elem->value.len;
    if (eim_der_tag_is_constructed(elem->tag)) {
        *reason = "constructed OBJECT IDENTIFIER";
        return EIM_ERR_DECODE;
    }
    if (n == 0) {
        *reason = "empty OBJECT IDENTIFIER";
        return EIM_ERR_DECODE;
    }
    /* X.690 §8.19.2: a subidentifier starts with a non-80 octet and ends with
     * an octet whose bit 8 is clear. */
    for (size_t i = 0; i < n; i++) {
        bool first = i == 0 || !(v[i - 1] & 0x80);
        if (first && v[i] == 0x80) {
            *reason = "non-minimal OBJECT IDENTIFIER subidentifier";
            return EIM_ERR_DECODE;
        }
    }
    if (v[n - 1] & 0x80) {
        *reason = "truncated OBJECT IDENTIFIER";
        return EIM_ERR_DECODE;
    }
    *oid = elem->value;
    return EIM_OK;
}

eim_err_t eim_der_get_bit_string(const eim_der_elem_t *elem, eim_span_t *bits,
                                 unsigned *unused_bits)
{
    const char *reason;
    return decode_bit_string(elem, bits, unused_bits, &reason);
}

eim_err_t eim_der_get_oid(const eim_der_elem_t *elem, eim_span_t *oid)
{
    const char *reason;
    return decode_oid(elem, oid, &reason);
}

eim_err_t eim_der_read_bit_string(eim_der_reader_t *r, uint32_t tag, eim_span_t *bits,
                                  unsigned *unused_bits)
{
    eim_der_elem_t elem;
    const char *reason = NULL;
    eim_err_t err = eim_der_read_tag(r, tag, &elem);
    if (err)
        return err;
    err = decode_bit_string(&elem, bits, unused_bits, &reason);
    if (err)
        return eim_der_fail(r, &elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_read_oid(eim_der_reader_t *r, uint32_t tag, eim_span_t *oid)
{
    eim_der_elem_t elem;
    const char *reason = NULL;
    eim_err_t err = eim_der_read_tag(r, tag, &elem);
    if (err)
        return err;
    err = decode_oid(&elem, oid, &reason);
    if (err)
        return eim_der_fail(r, &elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_get_int(const eim_der_elem_t *elem, int64_t *out)
{
    const char *reason;
    return decode_int(elem, out, &reason);
}

eim_err_t eim_der_get_uint(const eim_der_elem_t *elem, uint64_t *out)
{
    const char *reason;
    return decode_uint(elem, out, &reason);
}

eim_err_t eim_der_get_bool(const eim_der_elem_t *elem, bool *out)
{
    const char *reason;
    return decode_bool(elem, out, &reason);
}

eim_err_t eim_der_get_null(const eim_der_elem_t *elem)
{
    const char *reason;
    return decode_null(elem, &reason);
}

eim_err_t eim_der_read_int(eim_der_reader_t *r, uint32_t tag, int64_t *out)
{
    eim_der_elem_t elem;
    const char *reason = NULL;
    eim_err_t err = eim_der_read_tag(r, tag, &elem);
    if (err)
        return err;
    err = decode_int(&elem, out, &reason);
    if (err)
        return eim_der_fail(r, &elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_read_uint(eim_der_reader_t *r, uint32_t tag, uint64_t *out)
{
    eim_der_elem_t elem;
    const char *reason = NULL;
    eim_err_t err = eim_der_read_tag(r, tag, &elem);
    if (err)
        return err;
    err = decode_uint(&elem, out, &reason);
    if (err)
        return eim_der_fail(r, &elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_read_bool(eim_der_reader_t *r, uint32_t tag, bool *out)
{
    eim_der_elem_t elem;
    const char *reason = NULL;
    eim_err_t err = eim_der_read_tag(r, tag, &elem);
    if (err)
        return err;
    err = decode_bool(&elem, out, &reason);
    if (err)
        return eim_der_fail(r, &elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_read_null(eim_der_reader_t *r, uint32_t tag)
{
    eim_der_elem_t elem;
    const char *reason = NULL;
    eim_err_t err = eim_der_read_tag(r, tag, &elem);
    if (err)
        return err;
    err = decode_null(&elem, &reason);
    if (err)
        return eim_der_fail(r, &elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_check_int(eim_der_reader_t *r, const eim_der_elem_t *elem)
{
    const char *reason = NULL;
    eim_err_t err = check_int_encoding(elem, &reason);
    if (err)
        return eim_der_fail(r, elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_check_null(eim_der_reader_t *r, const eim_der_elem_t *elem)
{
    const char *reason = NULL;
    eim_err_t err = decode_null(elem, &reason);
    if (err)
        return eim_der_fail(r, elem, err, reason);
    return EIM_OK;
}

eim_err_t eim_der_check_bit_string(eim_der_reader_t *r, const eim_der_elem_t *elem)
{
    eim_span_t bits;
    unsigned unused;
    const char *reason = NULL;
    eim_err_t err = decode_bit_string(elem, &bits, &unused, &reason);
    if (err)
        return eim_der_fail(r, elem, err, reason);
    return EIM_OK;
}

size_t eim_der_encode_int(int64_t value, uint8_t out[EIM_DER_INT64_MAX_LEN])
{
    uint8_t bytes[8];
    uint64_t u;
    memcpy(&u, &value, sizeof(u));
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(u >> (8 * (7 - i)));
    size_t start = 0;
    /* Drop leading bytes that only repeat the sign bit of the next one. */
    while (start < 7 && ((bytes[start] == 0x00 && !(bytes[start + 1] & 0x80)) ||
                         (bytes[start] == 0xFF && (bytes[start + 1] & 0x80))))
        start++;
    memcpy(out, bytes + start, 8 - start);
    return 8 - start;
}

/* ---- writer ------------------------------------------------------------ */

void eim_der_writer_init(eim_der_writer_t *w, eim_buf_t *buf)
{
    w->buf = buf;
    w->depth = 0;
    w->err = buf ? EIM_OK : EIM_ERR_INVALID_ARG;
}

static void writer_set_error(eim_der_writer_t *w, eim_err_t err)
{
    if (!w->err)
        w->err = err;
}

static void write_bytes(eim_der_writer_t *w, const void *data, size_t len)
{
    if (w->err)
        return;
    eim_err_t err = eim_buf_append(w->buf, data, len);
    if (err)
        writer_set_error(w, err);
}

/* Encodes tag into out (wire order); returns its byte count, 0 if invalid. */
static size_t encode_tag(uint32_t tag, uint8_t out[DER_MAX_TAG_BYTES])
{
    if (tag == 0)
        return 0;
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        uint8_t b = (uint8_t)(tag >> shift);
        if (n == 0 && b == 0)
            continue;
        out[n++] = b;
    }
    return n;
}

static void write_tag(eim_der_writer_t *w, uint32_t tag)
{
    uint8_t bytes[DER_MAX_TAG_BYTES];
    size_t n = encode_tag(tag, bytes);
    if (n == 0) {
        writer_set_error(w, EIM_ERR_INVALID_ARG);
        return;
    }
    write_bytes(w, bytes, n);
}

/* Minimal definite length octets; returns count (0 if len too large). */
static size_t encode_length(size_t len, uint8_t out[1 + DER_MAX_LENGTH_BYTES])
{
    if (len < 0x80) {
        out[0] = (uint8_t)len;
        return 1;
    }
    size_t n = 0;
    for (size_t v = len; v; v >>= 8)
        n++;
    if (n > DER_MAX_LENGTH_BYTES)
        return 0;
    out[0] = (uint8_t)(0x80 | n);
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    return 1 + n;
}

static void write_length(eim_der_writer_t *w, size_t len)
{
    uint8_t bytes[1 + DER_MAX_LENGTH_BYTES];
    size_t n = encode_length(len, bytes);
    if (n == 0) {
        writer_set_error(w, EIM_ERR_LIMIT);
        return;
    }
    write_bytes(w, bytes, n);
}

void eim_der_begin(eim_der_writer_t *w, uint32_t tag)
{
    if (w->err)
        return;
    if (w->depth >= EIM_DER_MAX_DEPTH) {
        writer_set_error(w, EIM_ERR_LIMIT);
        return;
    }
    write_tag(w, tag);
    if (w->err)
        return;
    w->open[w->depth++] = w->buf->len;
}

void eim_der_end(eim_der_writer_t *w)
{
    if (w->err)
        return;
    if (w->depth == 0) {
        writer_set_error(w, EIM_ERR_INVALID_ARG);
        return;
    }
    size_t start = w->open[--w->depth];
    size_t content = w->buf->len - start;
    uint8_t bytes[1 + DER_MAX_LENGTH_BYTES];
    size_t n = encode_length(content, bytes);
    if (n == 0) {
        writer_set_error(w, EIM_ERR_LIMIT);
        return;
    }
    eim_err_t err = eim_buf_reserve(w->buf, n);
    if (err) {
        writer_set_error(w, err);
        return;
    }
    uint8_t *at = w->buf->data + start;
    if (content)
        memmove(at + n, at, content);
    memcpy(at, bytes, n);
    w->buf->len += n;
}

void eim_der_put(eim_der_writer_t *w, uint32_t tag, const void *value, size_t len)
{
    if (w->err)
        return;
    if (len > 0 && !value) {
        writer_set_error(w, EIM_ERR_INVALID_ARG);
        return;
    }
    write_tag(w, tag);
    write_length(w, len);
    write_bytes(w, value, len);
}

void eim_der_put_span(eim_der_writer_t *w, uint32_t tag, eim_span_t value)
{
    eim_der_put(w, tag, value.ptr, value.len);
}

void eim_der_put_int(eim_der_writer_t *w, uint32_t tag, int64_t value)
{
    uint8_t bytes[EIM_DER_INT64_MAX_LEN];
    size_t n = eim_der_encode_int(value, bytes);
    eim_der_put(w, tag, bytes, n);
}

void eim_der_put_uint(eim_der_writer_t *w, uint32_t tag, uint64_t value)
{
    uint8_t bytes[9];
    bytes[0] = 0;
    for (int i = 0; i < 8; i++)
        bytes[1 + i] = (uint8_t)(value >> (8 * (7 - i)));
    size_t start = 0;
    while (start < 8 && bytes[start] == 0x00 && !(bytes[start + 1] & 0x80))
        start++;
    eim_der_put(w, tag, bytes + start, 9 - start);
}

void eim_der_put_bool(eim_der_writer_t *w, uint32_t tag, bool value)
{
    uint8_t b = value ? 0xFF : 0x00;
    eim_der_put(w, tag, &b, 1);
}

void eim_der_put_null(eim_der_writer_t *w, uint32_t tag)
{
    eim_der_put(w, tag, NULL, 0);
}

void eim_der_put_raw(eim_der_writer_t *w, eim_span_t tlv)
{
    if (w->err)
        return;
    if (tlv.len > 0 && !tlv.ptr) {
        writer_set_error(w, EIM_ERR_INVALID_ARG);
        return;
    }
    write_bytes(w, tlv.ptr, tlv.len);
}

eim_err_t eim_der_writer_finish(eim_der_writer_t *w)
{
    if (w->err)
        return w->err;
    if (w->depth != 0)
        return EIM_ERR_INVALID_ARG;
    return EIM_OK;
}
