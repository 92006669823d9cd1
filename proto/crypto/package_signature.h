/*
 * eUICC Package signature (eIM side) and eUICC result signature check.
 *
 * SGP.32 v1.2 §2.11.1.1 / §2.11.1.2 as implemented by ono-eim, ddim-ipad and
 * openiotrsp (brief §3.1, §3.2):
 *
 *   eimSignature = ECDSA-SHA256(SK.EIM, DER(EuiccPackageSigned) || 84 L tok)
 *   euiccSignEPR = ECDSA-SHA256(SK.EUICC, DER(EuiccPackageResultDataSigned)
 *                                           || 84 L tok)   (same for EPE)
 *
 * where "84 L tok" is the associationToken as a context [4] primitive with a
 * minimal two's-complement INTEGER value (DER), and "84 01 00" when the
 * association has no token. Signatures are plain r||s, 64 bytes; results
 * signed in DER are accepted as a fallback. Inputs are the exact bytes
 * received/placed on the wire: never re-encode a signed structure.
 */
#ifndef EIM_PROTO_CRYPTO_PACKAGE_SIGNATURE_H
#define EIM_PROTO_CRYPTO_PACKAGE_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/signer.h"

/* 84 + 1 length byte + up to 8 INTEGER content bytes for an int64. */
#define EIM_TOKEN_TLV_MAX 10

/* Largest signed structure we hash (a package or result is a few KB). */
#define EIM_SIGNED_DATA_MAX (1024 * 1024)

/* Association token as it enters the signature input. */
typedef struct {
    int64_t value;
    bool present; /* false: no token configured, encoded as 84 01 00 */
} eim_assoc_token_t;

#define EIM_NO_TOKEN ((eim_assoc_token_t){0, false})
#define EIM_TOKEN(v) ((eim_assoc_token_t){(v), true})

/* Writes the token TLV (84 L INTEGER) into out; *out_len gets its length. */
eim_err_t eim_package_token_tlv(eim_assoc_token_t token, uint8_t out[EIM_TOKEN_TLV_MAX],
                                size_t *out_len);

/* SHA-256 of signed_tlv || token TLV (the digest both signatures cover). */
eim_err_t eim_package_signature_digest(eim_span_t signed_tlv, eim_assoc_token_t token,
                                       uint8_t digest[EIM_SHA256_LEN]);

/* eimSignature over DER(EuiccPackageSigned) = signed_tlv (the complete 30..
 * TLV) and the token; writes plain r||s into sig. */
eim_err_t eim_package_sign(eim_signer_t *signer, eim_span_t signed_tlv, eim_assoc_token_t token,
                           uint8_t sig[EIM_ECDSA_RAW_LEN]);

/* Checks euiccSignEPR/euiccSignEPE: signed_tlv is the received
 * EuiccPackageResultDataSigned (or EuiccPackageErrorDataSigned) TLV, sig the
 * received signature value (raw 64 bytes or DER), key PK.EUICC.ECDSA from a
 * verified certificate chain (cert_chain.h). EIM_OK or EIM_ERR_VERIFY. */
eim_err_t eim_package_result_verify(eim_ec_pubkey_t *key, eim_span_t signed_tlv,
                                    eim_assoc_token_t token, eim_span_t sig);

#endif
