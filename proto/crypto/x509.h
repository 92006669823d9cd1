/*
 * Minimal X.509 v3 certificate reader for the eUICC certificate chain.
 *
 * RFC 5280 §4.1 (structure) and §4.2.1 (the extensions SGP.22 v2 §4.5.2
 * uses: basicConstraints, keyUsage, subject/authority key identifiers,
 * certificatePolicies, nameConstraints). Only what chain validation needs
 * is extracted; everything is returned as spans into the caller's DER, so
 * the certificate bytes must outlive the parsed view. Lengths are checked
 * against their parent, only definite minimal lengths are accepted, and an
 * unrecognised critical extension is reported (RFC 5280 §4.2: must reject).
 * Decoding uses the shared DER reader (proto/der/der.h).
 */
#ifndef EIM_PROTO_CRYPTO_X509_H
#define EIM_PROTO_CRYPTO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"

/* keyUsage named bits (RFC 5280 §4.2.1.3) as 1 << bit number. */
#define EIM_KU_DIGITAL_SIGNATURE (1u << 0)
#define EIM_KU_KEY_CERT_SIGN     (1u << 5)
#define EIM_KU_CRL_SIGN          (1u << 6)

#define EIM_X509_MAX_CERT (16 * 1024)

typedef struct {
    eim_span_t tlv;       /* the whole Certificate */
    eim_span_t tbs;       /* TBSCertificate TLV: the signed bytes */
    eim_span_t sig_alg;   /* signatureAlgorithm OID contents */
    eim_span_t signature; /* signatureValue BIT STRING minus unused-bits byte */
    eim_span_t serial;    /* serialNumber INTEGER contents */
    eim_span_t issuer;    /* Name TLV */
    eim_span_t subject;   /* Name TLV */
    eim_span_t spki;      /* SubjectPublicKeyInfo TLV */
    int64_t not_before;   /* seconds since the Unix epoch, UTC */
    int64_t not_after;
    bool has_basic_constraints;
    bool is_ca;
    int path_len; /* -1 when absent */
    bool has_key_usage;
    uint16_t key_usage; /* EIM_KU_* bits */
    eim_span_t ski;     /* subjectKeyIdentifier contents (empty if absent) */
    eim_span_t aki;     /* authorityKeyIdentifier keyIdentifier (empty if absent) */
    bool has_name_constraints;
    eim_span_t permitted;  /* permittedSubtrees contents (GeneralSubtree list) */
    bool has_excluded;     /* excludedSubtrees present (unsupported for EUMs) */
    eim_span_t policies;   /* certificatePolicies SEQUENCE contents (empty if absent) */
    bool unknown_critical; /* a critical extension we do not process */
} eim_x509_cert_t;

/* Parses a DER certificate (exactly one, no trailing bytes). */
eim_err_t eim_x509_parse(eim_span_t der, eim_x509_cert_t *out);

/* Finds the first attribute of type oid (contents bytes, e.g. 55 04 05) in a
 * Name TLV; *value gets the attribute value's contents. EIM_ERR_NOT_FOUND
 * when absent, EIM_ERR_DECODE when the Name is malformed. */
eim_err_t eim_x509_name_attr(eim_span_t name, eim_span_t oid, eim_span_t *value);

/* Calls fn for each directoryName base (Name TLV) in permitted subtrees;
 * stops early when fn returns true. Returns EIM_ERR_DECODE on bad input;
 * *found tells whether fn returned true. */
eim_err_t eim_x509_each_permitted_dirname(const eim_x509_cert_t *cert,
                                          bool (*fn)(eim_span_t name, void *arg), void *arg,
                                          bool *found);

/* True when certificatePolicies contains the given policy OID (contents). */
bool eim_x509_has_policy(const eim_x509_cert_t *cert, eim_span_t oid);
/* True when certificatePolicies contains any OID starting with prefix. */
bool eim_x509_has_policy_prefix(const eim_x509_cert_t *cert, eim_span_t prefix);

/* Seconds since the epoch of a UTCTime/GeneralizedTime in Zulu form. */
eim_err_t eim_x509_parse_time(uint8_t tag, eim_span_t value, int64_t *out);

#endif
