/*
 * Common definitions of the ESipa codec (SGP.32 v1.2 §6.1, §6.3 and the
 * ASN.1 module of Annex A): limits, the ESipa function identifiers and a few
 * helpers shared by all ESipa messages.
 *
 * Conventions of every eim_esipa_* codec:
 *  - Decoded structures borrow: every eim_span_t points into the caller's
 *    input, which must outlive the structure. Nothing is allocated, so there
 *    is nothing to free. Lists are fixed-capacity arrays bounded by the
 *    EIM_ESIPA_MAX_* constants below; longer lists fail with EIM_ERR_LIMIT.
 *  - Optional fields come with a has_<field> flag; spans of absent fields are
 *    EIM_SPAN_NULL.
 *  - SGP.22 objects and the BF51 objects of ESep are carried as byte-preserved
 *    TLV spans and re-emitted unchanged, never re-encoded, so signatures stay
 *    valid. Fields documented as "contents" hold the value of an implicitly
 *    tagged element (e.g. the Certificate in A5); eim_esipa_rebuild_tlv()
 *    restores the universal tag when a standalone object is needed.
 *  - Decoders are strict on lengths, mandatory elements and value ranges,
 *    skip unknown trailing elements of SEQUENCEs (EXTENSIBILITY IMPLIED) and
 *    report failures through eim_der_error_t (offset, tag, reason).
 *  - Encoders append DER to a bounded eim_buf_t and return EIM_ERR_INVALID_ARG
 *    when the structure violates a constraint of the ASN.1 module.
 */
#ifndef EIM_PROTO_ESIPA_ESIPA_COMMON_H
#define EIM_PROTO_ESIPA_ESIPA_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/memory.h"
#include "proto/base/span.h"
#include "proto/der/der.h"

/* EID (Octet16) and ICCID sizes as on the wire. */
#define EIM_ESIPA_EID_LEN   16
#define EIM_ESIPA_ICCID_LEN 10
/* TransactionId ::= OCTET STRING (SIZE(1..16)) (SGP.22). */
#define EIM_ESIPA_TRANSACTION_ID_MAX 16
/* ProfileDownloadData.activationCode UTF8String (SIZE(0..255)), characters. */
#define EIM_ESIPA_ACTIVATION_CODE_MAX 255

/* List limits. An eUICC stores few notifications and results at a time; the
 * limits are generous but keep a hostile peer from making us loop forever. */
#define EIM_ESIPA_MAX_NOTIFICATIONS    64  /* PendingNotificationList */
#define EIM_ESIPA_MAX_PACKAGE_RESULTS  64  /* EuiccPackageResultList */
#define EIM_ESIPA_MAX_ACKNOWLEDGEMENTS 128 /* EimAcknowledgements */

/* The ESipa functions, identified by the wire tag of their messages: the
 * request (IPA -> eIM) and the response (eIM -> IPA) of one function share
 * the tag (SGP.32 v1.2 §6.3.2; for TransferEimPackage the eIM sends the
 * request and the IPA answers). */
typedef enum {
    EIM_ESIPA_INITIATE_AUTHENTICATION = 0xBF39,
    EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE = 0xBF3A,
    EIM_ESIPA_AUTHENTICATE_CLIENT = 0xBF3B,
    EIM_ESIPA_HANDLE_NOTIFICATION = 0xBF3D,
    EIM_ESIPA_CANCEL_SESSION = 0xBF41,
    EIM_ESIPA_TRANSFER_EIM_PACKAGE = 0xBF4E,
    EIM_ESIPA_GET_EIM_PACKAGE = 0xBF4F,
    EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT = 0xBF50,
} eim_esipa_function_t;

/* Spec name of a function ("GetEimPackage", ...), "unknown" otherwise. */
const char *eim_esipa_function_name(eim_esipa_function_t function);

/* Named bits of NotificationEvent (SGP.22), as a mask (bit n = named bit n). */
#define EIM_ESIPA_EVENT_INSTALL (1u << 0)
#define EIM_ESIPA_EVENT_ENABLE  (1u << 1)
#define EIM_ESIPA_EVENT_DISABLE (1u << 2)
#define EIM_ESIPA_EVENT_DELETE  (1u << 3)

/* Appends tag + DER length + contents to out, e.g. to turn the contents of
 * an implicitly tagged Certificate (A5 ...) back into "30 ...". */
eim_err_t eim_esipa_rebuild_tlv(uint32_t tag, eim_span_t contents, eim_buf_t *out);

/* Declares the public eim_esipa_<name>_decode/_encode pair and the
 * internal _read/_write functions of a message type. */
#define EIM_ESIPA_DECLARE_CODEC(name, type)                                                        \
    eim_err_t eim_esipa_##name##_decode(const uint8_t *data, size_t len, type *out,                \
                                        eim_der_error_t *error);                                   \
    eim_err_t eim_esipa_##name##_encode(const type *in, eim_buf_t *out);                           \
    eim_err_t eim_esipa_##name##_read(eim_der_reader_t *r, const eim_der_elem_t *elem, type *out); \
    void eim_esipa_##name##_write(eim_der_writer_t *w, const type *in)

#endif
