/*
 * eUICC Packages and their results with their signatures: the glue between
 * the ESep codecs (proto/esep) and the signing/verification primitives of
 * proto/crypto, for the eIM's two paths.
 *
 *  - Send path (SGP.32 v1.2 §2.11.1.1, §5.9.1): eim_package_build encodes
 *    EuiccPackageSigned, signs DER(EuiccPackageSigned) || 84 L token with
 *    SK.EIM.ECDSA behind an eim_signer_t and assembles the BF51
 *    EuiccPackageRequest. eim_package_signer_fn is the same signer as an
 *    eim_esep_sign_fn, for callers that drive proto/esep themselves.
 *  - Result path (§2.11.1.2 euiccSignEPR/euiccSignEPE, brief §3.2):
 *    eim_package_result_open decodes a BF51 EuiccPackageResult and checks
 *    the eUICC signature over the exact received EuiccPackageResultDataSigned
 *    / EuiccPackageErrorDataSigned bytes and the association token.
 *
 * Neither proto/esep nor the rest of proto/crypto depends on this file; it
 * depends on both, and on nothing outside proto/.
 */
#ifndef EIM_PROTO_CRYPTO_PACKAGE_CODEC_H
#define EIM_PROTO_CRYPTO_PACKAGE_CODEC_H

#include "proto/base/error.h"
#include "proto/base/memory.h"
#include "proto/base/span.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/package_signature.h"
#include "proto/crypto/signer.h"
#include "proto/der/der.h"
#include "proto/esep/euicc_package.h"
#include "proto/esep/euicc_result.h"

/* An eim_esep_sign_fn whose ctx is an eim_signer_t *: ECDSA-SHA256 over
 * input (the complete signature input), plain r||s into signature. */
eim_err_t eim_package_signer_fn(void *signer, eim_span_t input,
                                uint8_t signature[EIM_ESEP_SIGNATURE_LEN]);

/* Encodes pkg, signs it for the association token with signer and appends
 * the complete BF51 EuiccPackageRequest to out (bounded by out's maximum).
 * EIM_ERR_INVALID_ARG for a package outside its constraints, the signer's
 * error when signing fails. On failure out may hold a partial message:
 * discard it. */
eim_err_t eim_package_build(const eim_euicc_package_t *pkg, eim_assoc_token_t token,
                            eim_signer_t *signer, eim_buf_t *out);

/* What the eIM may conclude from a decoded EuiccPackageResult. */
typedef enum {
    EIM_VERDICT_NONE = 0,               /* not decoded (error before verification) */
    EIM_VERDICT_VERIFIED = 1,           /* signed result/error, eUICC signature valid */
    EIM_VERDICT_UNSIGNED_UNTRUSTED = 2, /* euiccPackageErrorUnsigned: nothing is proven */
    EIM_VERDICT_BAD_SIGNATURE = 3,      /* signed form whose signature does not verify */
} eim_result_verdict_t;

/* Static name of a verdict ("verified", "unsigned-untrusted", ...). */
const char *eim_result_verdict_name(eim_result_verdict_t verdict);

/*
 * Decodes exactly one BF51 EuiccPackageResult from data[0..len) into out
 * (spans point into data) and verifies its eUICC signature with key
 * (PK.EUICC.ECDSA from a validated chain, cert_chain.h) over the received
 * signed_tlv || 84 L token. Returns:
 *   EIM_OK          *verdict VERIFIED (signed result or signed error) or
 *                   UNSIGNED_UNTRUSTED (euiccPackageErrorUnsigned: out is
 *                   filled but its contents are unauthenticated);
 *   EIM_ERR_VERIFY  *verdict BAD_SIGNATURE; out is filled for logging only;
 *   decoder errors  (EIM_ERR_DECODE, _TRUNCATED, _LIMIT) with details in
 *                   error (optional), *verdict NONE.
 * Matching eimId, EID, counter and transaction id against the package sent
 * is the caller's job.
 */
eim_err_t eim_package_result_open(const uint8_t *data, size_t len, eim_ec_pubkey_t *key,
                                  eim_assoc_token_t token, eim_euicc_result_t *out,
                                  eim_result_verdict_t *verdict, eim_der_error_t *error);

#endif
