/*
 * eUICC certificate chain validation: CERT.EUICC.ECDSA -> CERT.EUM.ECDSA ->
 * one of the configured GSMA CI roots (CERT.CI.ECDSA), yielding a verified
 * PK.EUICC.ECDSA for checking euiccSignEPR/EPE (SGP.32 v1.2 §2.11.1.2,
 * brief §3.2) and the checks SGP.22 v2 §4.5.2 / RFC 5280 §6 call for:
 *
 *  - signatures (ecdsa-with-SHA256) of EUM by CI and eUICC by EUM; issuer
 *    names match subjects byte for byte, AKI matches the issuer's SKI;
 *  - validity periods of all three certificates at the time `now` the caller
 *    passes in (tests use fixed times);
 *  - CI and EUM: basicConstraints cA=TRUE (EUM path length 0 is fine),
 *    keyUsage keyCertSign; eUICC: not a CA, keyUsage digitalSignature;
 *  - all keys on one curve (P-256 or brainpoolP256r1), as SGP.22 requires;
 *  - GSMA role policies (id-rspRole-*, 2.23.146.1.2.1.x) when present must be
 *    the role of the position in the chain;
 *  - the EID: the eUICC certificate's subject serialNumber must equal the
 *    device's EID, and fall inside the EUM's permitted range: the EUM
 *    certificate's nameConstraints permittedSubtrees carry a directoryName
 *    whose serialNumber is the EID prefix (and whose O must equal the
 *    eUICC's O). See docs/interpretation-log.md for this reading.
 *
 * Revocation (CRLs of the CI) is not checked here. The CI store is immutable
 * after loading and may be shared between threads.
 */
#ifndef EIM_PROTO_CRYPTO_CERT_CHAIN_H
#define EIM_PROTO_CRYPTO_CERT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"
#include "proto/crypto/signer.h"

#define EIM_CI_STORE_MAX 16 /* configured CI roots */
#define EIM_KEY_ID_MAX   32 /* subject key identifier bytes kept */
#define EIM_EID_DIGITS   32

/* Why a chain was rejected (EIM_CHAIN_OK when it was accepted). */
typedef enum {
    EIM_CHAIN_OK = 0,
    EIM_CHAIN_MALFORMED,        /* a certificate does not parse */
    EIM_CHAIN_UNSUPPORTED,      /* algorithm or curve not allowed */
    EIM_CHAIN_UNKNOWN_CI,       /* EUM not issued by a configured CI */
    EIM_CHAIN_ISSUER_MISMATCH,  /* eUICC not issued by this EUM (name/AKI) */
    EIM_CHAIN_BAD_SIGNATURE,    /* a certificate signature is invalid */
    EIM_CHAIN_NOT_YET_VALID,    /* now < notBefore somewhere in the chain */
    EIM_CHAIN_EXPIRED,          /* now > notAfter somewhere in the chain */
    EIM_CHAIN_BAD_CA,           /* basicConstraints/keyUsage of CI or EUM */
    EIM_CHAIN_BAD_LEAF,         /* basicConstraints/keyUsage of the eUICC */
    EIM_CHAIN_WRONG_ROLE,       /* certificatePolicies name another role */
    EIM_CHAIN_CURVE_MISMATCH,   /* the chain mixes curves */
    EIM_CHAIN_UNKNOWN_CRITICAL, /* unprocessed critical extension */
    EIM_CHAIN_EID_MISMATCH,     /* eUICC subject serialNumber != EID */
    EIM_CHAIN_EID_OUT_OF_RANGE, /* EID outside the EUM's permitted prefix */
} eim_chain_status_t;

const char *eim_chain_status_name(eim_chain_status_t status);

/* The outcome of a successful validation: what to keep per EID. */
typedef struct {
    char eid[EIM_EID_DIGITS + 1]; /* 32 digits, upper case, NUL-terminated */
    eim_curve_t curve;
    uint8_t spki[EIM_EC_SPKI_MAX]; /* PK.EUICC.ECDSA as SubjectPublicKeyInfo */
    size_t spki_len;
    int64_t valid_until;               /* earliest notAfter of the three certificates */
    uint8_t ci_key_id[EIM_KEY_ID_MAX]; /* SKI of the CI used */
    size_t ci_key_id_len;
} eim_euicc_key_t;

typedef struct eim_ci_store eim_ci_store_t;

eim_ci_store_t *eim_ci_store_new(void);
void eim_ci_store_free(eim_ci_store_t *store);
/* Adds a CI root certificate (DER or PEM). It must be self-signed with a
 * valid signature, a CA with keyCertSign, on an allowed curve. The bytes are
 * copied. EIM_ERR_LIMIT after EIM_CI_STORE_MAX roots. */
eim_err_t eim_ci_store_add(eim_ci_store_t *store, eim_span_t cert);
eim_err_t eim_ci_store_add_file(eim_ci_store_t *store, const char *path);
size_t eim_ci_store_count(const eim_ci_store_t *store);

/* Validates the chain for the device with this EID (16 bytes as in
 * eidValue '5A', or 32 ASCII digits) at time now (seconds since the epoch).
 * euicc_cert and eum_cert are DER (as in IpaEuiccData 'A6'/'A5' or
 * AuthenticateServerResponse). On success fills *key and returns EIM_OK;
 * otherwise EIM_ERR_VERIFY (or EIM_ERR_INVALID_ARG) and *status says why.
 * status may be NULL. */
eim_err_t eim_cert_chain_verify(const eim_ci_store_t *store, eim_span_t euicc_cert,
                                eim_span_t eum_cert, eim_span_t eid, int64_t now,
                                eim_euicc_key_t *key, eim_chain_status_t *status);

/* Normalises an EID (16 bytes BCD/hex or 32 digits) to 32 upper-case
 * characters plus NUL. */
eim_err_t eim_eid_to_text(eim_span_t eid, char out[EIM_EID_DIGITS + 1]);

#endif
