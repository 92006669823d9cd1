/*
 * Software implementation of eim_signer_t (signer.h) on wolfCrypt.
 *
 * Loads SK.EIM.ECDSA (SGP.32 v1.2 §2.6 / brief §5) from PEM or DER, SEC1
 * ("EC PRIVATE KEY", RFC 5915) or PKCS#8 ("PRIVATE KEY", RFC 5208, not
 * encrypted), on NIST P-256 or brainpoolP256r1. Intended for development,
 * tests and deployments without an HSM; the private scalar lives in process
 * memory and is wiped on destroy.
 */
#ifndef EIM_PROTO_CRYPTO_SOFTWARE_SIGNER_H
#define EIM_PROTO_CRYPTO_SOFTWARE_SIGNER_H

#include "proto/base/error.h"
#include "proto/base/span.h"
#include "proto/crypto/signer.h"

/* Creates a signer from key bytes (PEM or DER). The bytes are not retained
 * (the caller should wipe its copy). Free with eim_signer_destroy().
 * EIM_ERR_DECODE for unreadable keys, EIM_ERR_UNSUPPORTED for other curves. */
eim_err_t eim_software_signer_new(eim_span_t key, eim_signer_t **out);

/* Same, reading the key from a file (at most EIM_CRYPTO_MAX_FILE bytes). */
eim_err_t eim_software_signer_load_file(const char *path, eim_signer_t **out);

#endif
