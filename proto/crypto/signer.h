/*
 * eim_signer_t: the private-key side of the eIM, behind a small interface.
 *
 * The eIM signs every eUICC Package with SK.EIM.ECDSA (SGP.32 v1.2 §2.11.1.1,
 * brief §3.1, §5): ECDSA with SHA-256 on NIST P-256 or brainpoolP256r1, the
 * signature carried as plain r||s (BSI TR-03111, 64 bytes) in eimSignature
 * '5F37'. The key deserves an HSM in production (brief §9), so everything
 * that signs goes through this vtable: software_signer.c implements it with
 * wolfCrypt today; a PKCS#11 signer can implement the same ops later.
 *
 * Implementations fill eim_signer_ops_t and embed eim_signer_t as the first
 * member of their own struct. A signer is not thread-safe: use one per thread
 * or serialise calls (the software signer holds its own RNG).
 */
#ifndef EIM_PROTO_CRYPTO_SIGNER_H
#define EIM_PROTO_CRYPTO_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"

/* The two curves SGP.22/SGP.32 allow for ECDSA. */
typedef enum {
    EIM_CURVE_NONE = 0,
    EIM_CURVE_P256 = 1,            /* NIST P-256 / secp256r1 / prime256v1 */
    EIM_CURVE_BRAINPOOLP256R1 = 2, /* RFC 5639 brainpoolP256r1 */
} eim_curve_t;

#define EIM_SHA256_LEN    32
#define EIM_ECDSA_RAW_LEN 64  /* r || s, each left-padded to 32 bytes */
#define EIM_ECDSA_DER_MAX 72  /* 30 L 02 21 r 02 21 s */
#define EIM_EC_SPKI_MAX   128 /* SubjectPublicKeyInfo of a 256-bit EC key */

/* Static name of a curve ("P-256", "brainpoolP256r1", "none"). */
const char *eim_curve_name(eim_curve_t curve);

typedef struct eim_signer eim_signer_t;

typedef struct {
    const char *name; /* "software", "pkcs11", ... (for logs) */
    /* Signs a SHA-256 digest; writes raw r||s. Required. */
    eim_err_t (*sign_digest)(eim_signer_t *signer, const uint8_t digest[EIM_SHA256_LEN],
                             uint8_t sig[EIM_ECDSA_RAW_LEN]);
    /* Hashes and signs a message in one go (e.g. CKM_ECDSA_SHA256). Optional:
     * when NULL, eim_signer_sign_message hashes and calls sign_digest. */
    eim_err_t (*sign_message)(eim_signer_t *signer, eim_span_t message,
                              uint8_t sig[EIM_ECDSA_RAW_LEN]);
    /* Writes the public key as DER SubjectPublicKeyInfo. Required. */
    eim_err_t (*export_spki)(const eim_signer_t *signer, uint8_t *out, size_t cap, size_t *out_len);
    /* Releases the signer; must wipe any private key material. Required. */
    void (*destroy)(eim_signer_t *signer);
} eim_signer_ops_t;

struct eim_signer {
    const eim_signer_ops_t *ops;
    eim_curve_t curve;
};

/* Signs a SHA-256 digest. */
eim_err_t eim_signer_sign_digest(eim_signer_t *signer, const uint8_t digest[EIM_SHA256_LEN],
                                 uint8_t sig[EIM_ECDSA_RAW_LEN]);
/* ECDSA-SHA256 over message. */
eim_err_t eim_signer_sign_message(eim_signer_t *signer, eim_span_t message,
                                  uint8_t sig[EIM_ECDSA_RAW_LEN]);
eim_curve_t eim_signer_curve(const eim_signer_t *signer);
/* DER SubjectPublicKeyInfo into out[0..cap); EIM_ERR_BUFFER if too small. */
eim_err_t eim_signer_export_spki(const eim_signer_t *signer, uint8_t *out, size_t cap,
                                 size_t *out_len);
/* Frees the signer (NULL is fine). */
void eim_signer_destroy(eim_signer_t *signer);

#endif
