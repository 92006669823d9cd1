/*
 * Private helpers shared by the ESipa codec files (not part of the public
 * API; include only from the .c files of proto/esipa).
 *
 * Every message type T has a pair of internal functions:
 *   eim_err_t eim_esipa_<t>_read(eim_der_reader_t *r, const eim_der_elem_t *elem, T *out)
 *       decodes elem, an element already read from r (errors are recorded
 *       on r with offsets into the top-level input);
 *   void eim_esipa_<t>_write(eim_der_writer_t *w, const T *in)
 *       appends the encoding; invalid input makes the writer's sticky error
 *       EIM_ERR_INVALID_ARG.
 * The public decode/encode functions wrap them with eim_esipa_decode_begin/
 * eim_esipa_decode_end and eim_esipa_encode_begin/eim_der_writer_finish.
 */
#ifndef EIM_PROTO_ESIPA_ESIPA_INTERNAL_H
#define EIM_PROTO_ESIPA_ESIPA_INTERNAL_H

#include "proto/esipa/esipa_common.h"

/* Reads the single top-level element of data, which must carry tag. */
eim_err_t eim_esipa_decode_begin(const uint8_t *data, size_t len, eim_der_error_t *error,
                                 uint32_t tag, eim_der_reader_t *top, eim_der_elem_t *elem);
/* After a successful decode of the top-level element: rejects trailing
 * bytes. Passes a failure rc through unchanged. */
eim_err_t eim_esipa_decode_end(eim_der_reader_t *top, eim_err_t rc);

/* Enters elem (read from r) into child. */
eim_err_t eim_esipa_enter(eim_der_reader_t *r, const eim_der_elem_t *elem, eim_der_reader_t *child);
/* Skips the remaining elements of an extensible SEQUENCE (each still
 * length-checked). */
eim_err_t eim_esipa_skip_extensions(eim_der_reader_t *r);
/* The reader must hold exactly one element (the alternative of an
 * explicitly tagged CHOICE); reads it into out. */
eim_err_t eim_esipa_read_single(eim_der_reader_t *r, eim_der_elem_t *out);

/* Value decoders that record their failure on r. */
eim_err_t eim_esipa_get_int(eim_der_reader_t *r, const eim_der_elem_t *elem, int64_t *out);
eim_err_t eim_esipa_get_null(eim_der_reader_t *r, const eim_der_elem_t *elem);
/* OCTET STRING of exactly len bytes. */
eim_err_t eim_esipa_get_fixed(eim_der_reader_t *r, const eim_der_elem_t *elem, size_t len,
                              const char *reason, eim_span_t *out);
/* TransactionId: 1..16 bytes. */
eim_err_t eim_esipa_get_transaction_id(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                       eim_span_t *out);
/* UTF8String with min..max characters (max 0 = unbounded). */
eim_err_t eim_esipa_get_utf8(eim_der_reader_t *r, const eim_der_elem_t *elem, size_t min_chars,
                             size_t max_chars, eim_span_t *out);
/* BIT STRING with named bits: bit n of *mask = named bit n (n < 32). */
eim_err_t eim_esipa_get_bits(eim_der_reader_t *r, const eim_der_elem_t *elem, uint32_t *mask);
/* Element that must carry tag (checks a constructed element's TLV). */
eim_err_t eim_esipa_expect_tag(eim_der_reader_t *r, const eim_der_elem_t *elem, uint32_t tag);

/* Writer helpers. */
void eim_esipa_writer_fail(eim_der_writer_t *w);
void eim_esipa_put_fixed(eim_der_writer_t *w, uint32_t tag, eim_span_t value, size_t len);
void eim_esipa_put_transaction_id(eim_der_writer_t *w, uint32_t tag, eim_span_t value);
void eim_esipa_put_utf8(eim_der_writer_t *w, uint32_t tag, eim_span_t value, size_t min_chars,
                        size_t max_chars);
void eim_esipa_put_bits(eim_der_writer_t *w, uint32_t tag, uint32_t mask);
/* Appends tlv unchanged after checking that it is exactly one well-formed
 * element carrying tag (0 = any tag). */
void eim_esipa_put_tlv(eim_der_writer_t *w, uint32_t tag, eim_span_t tlv);

/* Defines the public eim_esipa_<name>_decode/_encode pair of a message
 * whose top-level element carries tag, from its _read/_write functions. */
#define EIM_ESIPA_DEFINE_CODEC(name, type, tag)                                                    \
    eim_err_t eim_esipa_##name##_decode(const uint8_t *data, size_t len, type *out,                \
                                        eim_der_error_t *error)                                    \
    {                                                                                              \
        eim_der_reader_t top;                                                                      \
        eim_der_elem_t elem;                                                                       \
        if (out == NULL)                                                                           \
            return EIM_ERR_INVALID_ARG;                                                            \
        eim_err_t rc = eim_esipa_decode_begin(data, len, error, (tag), &top, &elem);               \
        if (rc == EIM_OK)                                                                          \
            rc = eim_esipa_##name##_read(&top, &elem, out);                                        \
        return eim_esipa_decode_end(&top, rc);                                                     \
    }                                                                                              \
    eim_err_t eim_esipa_##name##_encode(const type *in, eim_buf_t *out)                            \
    {                                                                                              \
        eim_der_writer_t w;                                                                        \
        if (in == NULL || out == NULL)                                                             \
            return EIM_ERR_INVALID_ARG;                                                            \
        eim_der_writer_init(&w, out);                                                              \
        eim_esipa_##name##_write(&w, in);                                                          \
        return eim_der_writer_finish(&w);                                                          \
    }

/* UTF-8 validation; *chars receives the number of code points. */
bool eim_esipa_utf8_valid(eim_span_t s, size_t *chars);

#endif
