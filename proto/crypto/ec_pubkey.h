/*
 * eim_ec_pubkey_t: an ECDSA public key (P-256 or brainpoolP256r1) and the
 * signature formats SGP.22/SGP.32 use.
 *
 * Signatures travel in two shapes: plain r||s (BSI TR-03111, 64 bytes), as
 * in eimSignature '5F37' and euiccSignEPR/EPE on production eUICCs, and
 * X.509/DER Ecdsa-Sig-Value (SEQUENCE{r INTEGER, s INTEGER}), as produced by
 * generic crypto libraries and accepted as a fallback (brief §3.2). The
 * converters here pad r and s to 32 bytes and accept only canonical DER.
 *
 * A public key object is immutable after creation but wolfCrypt may use
 * per-key scratch state while verifying: do not share one object between
 * threads without a lock.
 */
#ifndef EIM_PROTO_CRYPTO_EC_PUBKEY_H
#define EIM_PROTO_CRYPTO_EC_PUBKEY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"
#include "proto/crypto/signer.h"

typedef struct eim_ec_pubkey eim_ec_pubkey_t;

/* Imports a SubjectPublicKeyInfo (DER, or PEM "PUBLIC KEY"). Only P-256 and
 * brainpoolP256r1 are accepted (EIM_ERR_UNSUPPORTED otherwise). The point is
 * checked to lie on the curve. Caller frees with eim_ec_pubkey_free. */
eim_err_t eim_ec_pubkey_from_spki(eim_span_t spki, eim_ec_pubkey_t **out);
void eim_ec_pubkey_free(eim_ec_pubkey_t *key);
eim_curve_t eim_ec_pubkey_curve(const eim_ec_pubkey_t *key);
/* DER SubjectPublicKeyInfo of the key. */
eim_err_t eim_ec_pubkey_export_spki(const eim_ec_pubkey_t *key, uint8_t *out, size_t cap,
                                    size_t *out_len);

/* Verifies an ECDSA signature over a SHA-256 digest. sig is raw r||s
 * (64 bytes, preferred) or canonical DER. EIM_OK when valid, EIM_ERR_VERIFY
 * when not (including malformed signatures), other codes on misuse. */
eim_err_t eim_ec_pubkey_verify_digest(eim_ec_pubkey_t *key, const uint8_t digest[EIM_SHA256_LEN],
                                      eim_span_t sig);

/* raw r||s -> DER Ecdsa-Sig-Value; out must hold EIM_ECDSA_DER_MAX bytes. */
eim_err_t eim_ecdsa_raw_to_der(const uint8_t raw[EIM_ECDSA_RAW_LEN], uint8_t out[EIM_ECDSA_DER_MAX],
                               size_t *out_len);
/* Canonical DER Ecdsa-Sig-Value -> raw r||s (r and s left-padded to 32
 * bytes). EIM_ERR_DECODE for malformed, non-minimal or oversized input. */
eim_err_t eim_ecdsa_der_to_raw(eim_span_t der, uint8_t raw[EIM_ECDSA_RAW_LEN]);

/* Internal to proto/crypto: maps a wolfCrypt ecc_curve_id. */
eim_curve_t eim_curve_from_wolf_id(int ecc_curve_id);
int eim_curve_to_wolf_id(eim_curve_t curve);

#endif
