/*
 * DER (ITU-T X.690 distinguished encoding rules) reader and writer for the
 * BER-TLV structures of SGP.22/SGP.32.
 *
 * Tags are handled as the number formed by their bytes as they appear on the
 * wire: 0x30 (SEQUENCE), 0x5A (EID), 0xBF51 (EuiccPackageRequest), 0x5F37
 * (eimSignature). Up to 4 tag bytes are accepted.
 *
 * Reader: zero-copy. Every element is returned with a span over its value and
 * a span over the complete TLV, both pointing into the caller's input, so a
 * signed sub-structure can be hashed over the exact received bytes. Every
 * length is checked against what remains of its parent; indefinite lengths,
 * non-minimal length encodings, tags longer than 4 bytes, nesting deeper than
 * EIM_DER_MAX_DEPTH and trailing bytes (eim_der_expect_end) are rejected.
 * On failure the eim_der_error_t attached to the reader says where (offset
 * from the start of the top-level input), in which tag, and why.
 *
 * Writer: appends to a bounded eim_buf_t; constructed elements are opened
 * with eim_der_begin and closed with eim_der_end, which writes the minimal
 * length. Errors are sticky: check once with eim_der_writer_finish.
 */
#ifndef EIM_PROTO_DER_DER_H
#define EIM_PROTO_DER_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/memory.h"
#include "proto/base/span.h"

#define EIM_DER_MAX_DEPTH 24

/* Where and why decoding failed. reason is a static string. eim_der_reader_init
 * clears it; afterwards the first (innermost) failure recorded is kept. */
typedef struct {
    size_t offset; /* byte offset into the top-level input */
    uint32_t tag;  /* tag of the element being decoded, 0 if unknown */
    const char *reason;
} eim_der_error_t;

typedef struct {
    uint32_t tag;     /* wire tag bytes as a number, e.g. 0xBF51 */
    eim_span_t value; /* contents octets */
    eim_span_t tlv;   /* tag + length + contents */
} eim_der_elem_t;

typedef struct {
    const uint8_t *base; /* start of the top-level input (for offsets) */
    const uint8_t *pos;
    const uint8_t *end;
    unsigned depth;
    eim_der_error_t *error; /* may be NULL */
} eim_der_reader_t;

/* True when the tag's first byte has the constructed bit (0x20). */
bool eim_der_tag_is_constructed(uint32_t tag);

/* Reader over data[0..len). error (optional) receives failure details. */
void eim_der_reader_init(eim_der_reader_t *r, const uint8_t *data, size_t len,
                         eim_der_error_t *error);
/* Reader over the contents of a constructed element read from parent. */
eim_err_t eim_der_enter(const eim_der_reader_t *parent, const eim_der_elem_t *elem,
                        eim_der_reader_t *child);
/* Reads the next element, which must carry tag, and enters it. */
eim_err_t eim_der_read_enter(eim_der_reader_t *r, uint32_t tag, eim_der_elem_t *elem,
                             eim_der_reader_t *child);
/* Reader over bytes of parent's input that encapsulate further DER, e.g. the
 * contents of an OCTET STRING (X.509 extnValue, PKCS#8 privateKey) or the
 * bits of a BIT STRING. span must lie inside parent's range; it counts as
 * one nesting level, and error offsets stay relative to the top-level input. */
eim_err_t eim_der_enter_span(const eim_der_reader_t *parent, eim_span_t span,
                             eim_der_reader_t *child);
bool eim_der_at_end(const eim_der_reader_t *r);
/* Fails with "trailing bytes" unless the reader is at its end. */
eim_err_t eim_der_expect_end(eim_der_reader_t *r);

/* Tag of the next element without consuming it. */
eim_err_t eim_der_peek_tag(const eim_der_reader_t *r, uint32_t *tag);
/* Next element, whatever its tag. */
eim_err_t eim_der_read(eim_der_reader_t *r, eim_der_elem_t *out);
/* Next element, which must carry tag (else "unexpected tag"). */
eim_err_t eim_der_read_tag(eim_der_reader_t *r, uint32_t tag, eim_der_elem_t *out);
/* If the next element carries tag, read it and set *present; else leave r. */
eim_err_t eim_der_read_optional(eim_der_reader_t *r, uint32_t tag, eim_der_elem_t *out,
                                bool *present);
/* Skips elements until the next one carries tag or the end; used for
 * extensible SEQUENCEs whose unknown trailing elements must be ignored. */
eim_err_t eim_der_skip_until(eim_der_reader_t *r, uint32_t tag);

/* Records a failure at elem (or the reader's position when elem is NULL)
 * and returns err; for decoders that reject a well-formed element's value. */
eim_err_t eim_der_fail(eim_der_reader_t *r, const eim_der_elem_t *elem, eim_err_t err,
                       const char *reason);

/* Value decoders (DER rules: minimal INTEGERs, BOOLEAN 00/FF, empty NULL). */
eim_err_t eim_der_get_int(const eim_der_elem_t *elem, int64_t *out);
eim_err_t eim_der_get_uint(const eim_der_elem_t *elem, uint64_t *out);
eim_err_t eim_der_get_bool(const eim_der_elem_t *elem, bool *out);
eim_err_t eim_der_get_null(const eim_der_elem_t *elem);
/* BIT STRING (X.690 §8.6, §11.2.1): primitive, an initial octet 0..7 giving
 * the unused bits of the last octet (0 when there are no bits), unused bits
 * zero. *bits gets the octets after the initial one. */
eim_err_t eim_der_get_bit_string(const eim_der_elem_t *elem, eim_span_t *bits,
                                 unsigned *unused_bits);
/* OBJECT IDENTIFIER (X.690 §8.19): primitive, non-empty, every subidentifier
 * minimal (no leading 80 octet) and complete. *oid gets the contents octets,
 * the form in which OIDs are compared (e.g. 2A 86 48 CE 3D 02 01). */
eim_err_t eim_der_get_oid(const eim_der_elem_t *elem, eim_span_t *oid);

/* Read-and-decode helpers (added): read the next element, which must carry
 * tag, and decode its value with the DER rules above; on a bad value the
 * failure (offset, tag, reason) is recorded in the reader's error. */
eim_err_t eim_der_read_int(eim_der_reader_t *r, uint32_t tag, int64_t *out);
eim_err_t eim_der_read_uint(eim_der_reader_t *r, uint32_t tag, uint64_t *out);
eim_err_t eim_der_read_bool(eim_der_reader_t *r, uint32_t tag, bool *out);
eim_err_t eim_der_read_null(eim_der_reader_t *r, uint32_t tag);
eim_err_t eim_der_read_bit_string(eim_der_reader_t *r, uint32_t tag, eim_span_t *bits,
                                  unsigned *unused_bits);
eim_err_t eim_der_read_oid(eim_der_reader_t *r, uint32_t tag, eim_span_t *oid);
/* Validate an already-read element as a DER INTEGER of any size (kept as a
 * span by the caller) or as an empty NULL, recording failures in r. */
eim_err_t eim_der_check_int(eim_der_reader_t *r, const eim_der_elem_t *elem);
eim_err_t eim_der_check_null(eim_der_reader_t *r, const eim_der_elem_t *elem);
/* Same for a BIT STRING whose bits the caller keeps as the raw contents. */
eim_err_t eim_der_check_bit_string(eim_der_reader_t *r, const eim_der_elem_t *elem);

/* Contents octets of value as a minimal two's-complement DER INTEGER
 * (X.690 §8.3.2) into out; returns their count (1..8). */
#define EIM_DER_INT64_MAX_LEN 8
size_t eim_der_encode_int(int64_t value, uint8_t out[EIM_DER_INT64_MAX_LEN]);

typedef struct {
    eim_buf_t *buf;
    size_t open[EIM_DER_MAX_DEPTH]; /* offsets of open elements' contents */
    unsigned depth;
    eim_err_t err; /* first error, sticky */
} eim_der_writer_t;

void eim_der_writer_init(eim_der_writer_t *w, eim_buf_t *buf);
/* Opens a constructed element; its length is written by eim_der_end. */
void eim_der_begin(eim_der_writer_t *w, uint32_t tag);
void eim_der_end(eim_der_writer_t *w);
void eim_der_put(eim_der_writer_t *w, uint32_t tag, const void *value, size_t len);
void eim_der_put_span(eim_der_writer_t *w, uint32_t tag, eim_span_t value);
void eim_der_put_int(eim_der_writer_t *w, uint32_t tag, int64_t value);
void eim_der_put_uint(eim_der_writer_t *w, uint32_t tag, uint64_t value);
void eim_der_put_bool(eim_der_writer_t *w, uint32_t tag, bool value);
void eim_der_put_null(eim_der_writer_t *w, uint32_t tag);
/* Appends an already-encoded TLV unchanged (byte-preserved relay objects). */
void eim_der_put_raw(eim_der_writer_t *w, eim_span_t tlv);
/* EIM_OK when every call succeeded and every begin was ended. */
eim_err_t eim_der_writer_finish(eim_der_writer_t *w);

#endif
