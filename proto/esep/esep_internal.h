/*
 * Helpers shared by the proto/esep decoders and encoders; not public API.
 *
 * SEQUENCE decoding pattern (SGP.32 is AUTOMATIC TAGS, EXTENSIBILITY
 * IMPLIED): iterate over the elements, map known tags to their position in
 * the type definition, require positions to increase (DER order, no
 * duplicates), skip unknown tags (extensions of a newer version), and check
 * mandatory fields after the loop.
 */
#ifndef EIM_PROTO_ESEP_ESEP_INTERNAL_H
#define EIM_PROTO_ESEP_ESEP_INTERNAL_H

#include "proto/der/der.h"
#include "proto/esep/esep.h"

/* Enforces DER component order: position must exceed *last. */
eim_err_t eim_esep_check_order(eim_der_reader_t *r, const eim_der_elem_t *elem, int *last,
                               int position);
/* Rejects a primitive value whose length is outside [min, max] (or a
 * constructed encoding of a primitive type). */
eim_err_t eim_esep_check_len(eim_der_reader_t *r, const eim_der_elem_t *elem, size_t min,
                             size_t max, const char *reason);
/* Decodes a non-negative INTEGER element / any int64 INTEGER element. */
eim_err_t eim_esep_get_uint(eim_der_reader_t *r, const eim_der_elem_t *elem, uint64_t *out);
eim_err_t eim_esep_get_int(eim_der_reader_t *r, const eim_der_elem_t *elem, int64_t *out);
eim_err_t eim_esep_get_bool(eim_der_reader_t *r, const eim_der_elem_t *elem, bool *out);
/* Checks that bytes are a sequence of well-formed DER TLVs (any depth). */
eim_err_t eim_esep_check_tlvs(eim_der_reader_t *r);

/* Builds signed_tlv || 84 L token (eim_esep_signature_input) and has sign
 * sign it: the signing step shared by the package and result encoders. */
eim_err_t eim_esep_sign(eim_span_t signed_tlv, int64_t token, eim_esep_sign_fn sign, void *sign_ctx,
                        uint8_t signature[EIM_ESEP_SIGNATURE_LEN]);

/* Writes an OPTIONAL span field (nothing when absent). */
void eim_esep_put_opt(eim_der_writer_t *w, uint32_t tag, eim_span_t value);
/* EIM_ERR_INVALID_ARG unless min <= value.len <= max and value.ptr set. */
eim_err_t eim_esep_check_field(eim_span_t value, size_t min, size_t max);

#endif
