/*
 * ESep: the end-to-end objects between the eIM and the eUICC (SGP.32 v1.2
 * §2.11 eUICC Packages, §5.9.1 ES10b.LoadEuiccPackage, §2.11.1.1/§2.11.1.2
 * signatures). Common definitions of proto/esep: size limits, the
 * associationToken data object bound into both signatures, and the signing
 * callback through which another module (proto/crypto) produces ECDSA
 * signatures — this module never does cryptography itself.
 *
 * Conventions of every proto/esep structure:
 *  - Byte and string fields are eim_span_t. A decoder points them into the
 *    caller's input (valid as long as that input). An encoder reads them.
 *  - An OPTIONAL byte/string field is absent when its ptr is NULL; a present
 *    but empty value has a non-NULL ptr and len 0.
 *  - OPTIONAL numbers and flags carry a has_<field> boolean.
 *  - Lists are fixed arrays bounded by the EIM_ESEP_MAX_* constants below, so
 *    the structures need no freeing.
 */
#ifndef EIM_PROTO_ESEP_ESEP_H
#define EIM_PROTO_ESEP_ESEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/memory.h"
#include "proto/base/span.h"

/* Sizes fixed by the ASN.1 module (SGP.32 Appendix A / SGP.22 types). */
#define EIM_ESEP_EID_LEN            16  /* Octet16 */
#define EIM_ESEP_ICCID_LEN          10  /* Iccid */
#define EIM_ESEP_EIM_ID_MAX         128 /* eimId UTF8String (SIZE(1..128)) */
#define EIM_ESEP_TRANSACTION_ID_MAX 16  /* TransactionId (SIZE(1..16)) */
#define EIM_ESEP_AID_MAX            16  /* OctetTo16 */
#define EIM_ESEP_SIGNATURE_LEN      64  /* plain r||s, P-256/brainpoolP256r1 */
/* Accepted signature sizes on decode: plain r||s or a DER ECDSA-Sig-Value. */
#define EIM_ESEP_SIGNATURE_MAX 72

/* Our bounds (not spec values): hostile input cannot exceed them. */
#define EIM_ESEP_MAX_PSMOS    32                       /* PSMOs per eUICC Package */
#define EIM_ESEP_MAX_ECOS     16                       /* eCOs per eUICC Package */
#define EIM_ESEP_MAX_RESULTS  (EIM_ESEP_MAX_PSMOS + 2) /* + rollback, termination */
#define EIM_ESEP_MAX_PROFILES 32          /* ProfileInfo entries per EuiccPackageResult */
#define EIM_ESEP_MAX_EIM_IDS  16          /* EimIdInfo entries per EuiccPackageResult */
#define EIM_ESEP_MAX_MESSAGE  (64 * 1024) /* encoder output bound */

/* Length of the associationToken data object for any int64 token. */
#define EIM_ESEP_TOKEN_TLV_MAX 10

/*
 * Signs input (the complete signature input: DER of the signed part followed
 * by the associationToken data object) with the relevant private key and
 * writes a plain 64-byte r||s signature. Implemented by proto/crypto (eIM
 * side) or a device simulator (eUICC side). ctx is passed through unchanged.
 */
typedef eim_err_t (*eim_esep_sign_fn)(void *ctx, eim_span_t input,
                                      uint8_t signature[EIM_ESEP_SIGNATURE_LEN]);

/*
 * Appends the associationToken data object `84 L <DER INTEGER>` (SGP.32
 * §2.11.1.1: appended to the signed data before signing/verifying). Pass 0
 * when the association has no token: that yields `84 01 00`. The INTEGER is
 * minimal two's complement (a leading 00 when the high bit is set).
 */
eim_err_t eim_esep_token_append(eim_buf_t *out, int64_t token);

/* Appends signed_tlv || 84 L token to out: the exact bytes that are signed
 * (euiccPackageSigned, euiccPackageResultDataSigned/ErrorDataSigned). */
eim_err_t eim_esep_signature_input(eim_span_t signed_tlv, int64_t token, eim_buf_t *out);

/* True when an OPTIONAL span field is present (see conventions above). */
static inline bool eim_esep_present(eim_span_t field)
{
    return field.ptr != NULL;
}

#endif
