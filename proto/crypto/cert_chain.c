/*
 * eUICC certificate chain validation (cert_chain.h). SGP.22 v2 §4.5.2
 * (certificate profiles, EUM name constraints on the EID), §2.6.5 (ECDSA),
 * SGP.29 (EID structure), RFC 5280 §6.1 (path validation subset), SGP.32
 * v1.2 §2.11.1.2 (PK.EUICC for euiccSignEPR/EPE).
 */
#include "proto/crypto/cert_chain.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "proto/base/memory.h"
#include "proto/crypto/crypto_util.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/x509.h"

/* OID contents bytes. */
static const uint8_t oid_ecdsa_sha256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
static const uint8_t oid_serial_number[] = {0x55, 0x04, 0x05};
static const uint8_t oid_organization[] = {0x55, 0x04, 0x0A};
/* id-rspRole = 2.23.146.1.2.1 (SGP.22 §4.5.2.1); roles are .0 .. .7 */
static const uint8_t oid_rsp_role[] = {0x67, 0x81, 0x12, 0x01, 0x02, 0x01};
enum { ROLE_CI = 0, ROLE_EUICC = 1, ROLE_EUM = 2, ROLE_LAST = 7 };

typedef struct {
    uint8_t *der;
    size_t len;
    eim_x509_cert_t cert; /* spans into der */
    eim_curve_t curve;
} ci_entry_t;

struct eim_ci_store {
    ci_entry_t ci[EIM_CI_STORE_MAX];
    size_t count;
};

const char *eim_chain_status_name(eim_chain_status_t status)
{
    switch (status) {
    case EIM_CHAIN_OK: return "ok";
    case EIM_CHAIN_MALFORMED: return "malformed certificate";
    case EIM_CHAIN_UNSUPPORTED: return "unsupported algorithm or curve";
    case EIM_CHAIN_UNKNOWN_CI: return "EUM not issued by a configured CI";
    case EIM_CHAIN_ISSUER_MISMATCH: return "eUICC certificate not issued by the EUM";
    case EIM_CHAIN_BAD_SIGNATURE: return "certificate signature invalid";
    case EIM_CHAIN_NOT_YET_VALID: return "certificate not yet valid";
    case EIM_CHAIN_EXPIRED: return "certificate expired";
    case EIM_CHAIN_BAD_CA: return "CI/EUM basicConstraints or keyUsage invalid";
    case EIM_CHAIN_BAD_LEAF: return "eUICC basicConstraints or keyUsage invalid";
    case EIM_CHAIN_WRONG_ROLE: return "certificate policy names another role";
    case EIM_CHAIN_CURVE_MISMATCH: return "chain mixes curves";
    case EIM_CHAIN_UNKNOWN_CRITICAL: return "unprocessed critical extension";
    case EIM_CHAIN_EID_MISMATCH: return "EID differs from eUICC certificate";
    case EIM_CHAIN_EID_OUT_OF_RANGE: return "EID outside the EUM's permitted range";
    }
    return "unknown";
}

eim_err_t eim_eid_to_text(eim_span_t eid, char out[EIM_EID_DIGITS + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    if (!eid.ptr || !out)
        return EIM_ERR_INVALID_ARG;
    if (eid.len == EIM_EID_DIGITS / 2) {
        for (size_t i = 0; i < eid.len; i++) {
            out[2 * i] = hex[eid.ptr[i] >> 4];
            out[2 * i + 1] = hex[eid.ptr[i] & 0x0F];
        }
    } else if (eid.len == EIM_EID_DIGITS) {
        for (size_t i = 0; i < eid.len; i++) {
            if (!isxdigit(eid.ptr[i]))
                return EIM_ERR_INVALID_ARG;
            out[i] = (char)toupper(eid.ptr[i]);
        }
    } else {
        return EIM_ERR_INVALID_ARG;
    }
    out[EIM_EID_DIGITS] = '\0';
    return EIM_OK;
}

/* Verifies cert's signature with the issuer's SubjectPublicKeyInfo. */
static eim_chain_status_t check_signature(const eim_x509_cert_t *cert, eim_span_t issuer_spki,
                                          eim_curve_t *issuer_curve)
{
    eim_ec_pubkey_t *key = NULL;
    uint8_t digest[EIM_SHA256_LEN];
    eim_chain_status_t st = EIM_CHAIN_UNSUPPORTED;

    if (!eim_span_eq(cert->sig_alg, eim_span(oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256))))
        goto out;
    if (eim_ec_pubkey_from_spki(issuer_spki, &key) != EIM_OK)
        goto out;
    if (issuer_curve)
        *issuer_curve = eim_ec_pubkey_curve(key);
    st = EIM_CHAIN_BAD_SIGNATURE;
    if (wc_Sha256Hash(cert->tbs.ptr, (word32)cert->tbs.len, digest) != 0)
        goto out;
    /* X.509 signatures are DER (RFC 5758 §3.2), never raw r||s. */
    if (cert->signature.len == 0 || cert->signature.ptr[0] != 0x30)
        goto out;
    if (eim_ec_pubkey_verify_digest(key, digest, cert->signature) != EIM_OK)
        goto out;
    st = EIM_CHAIN_OK;
out:
    eim_ec_pubkey_free(key);
    return st;
}

static eim_curve_t spki_curve(eim_span_t spki)
{
    eim_ec_pubkey_t *key = NULL;
    eim_curve_t curve = EIM_CURVE_NONE;
    if (eim_ec_pubkey_from_spki(spki, &key) == EIM_OK)
        curve = eim_ec_pubkey_curve(key);
    eim_ec_pubkey_free(key);
    return curve;
}

static bool is_valid_ca(const eim_x509_cert_t *c)
{
    return c->has_basic_constraints && c->is_ca && c->has_key_usage &&
           (c->key_usage & EIM_KU_KEY_CERT_SIGN);
}

/* A certificate naming a GSMA RSP role must name the expected one. */
static bool role_ok(const eim_x509_cert_t *c, int expected)
{
    uint8_t oid[sizeof(oid_rsp_role) + 1];
    memcpy(oid, oid_rsp_role, sizeof(oid_rsp_role));
    for (int role = 0; role <= ROLE_LAST; role++) {
        if (role == expected)
            continue;
        oid[sizeof(oid_rsp_role)] = (uint8_t)role;
        if (eim_x509_has_policy(c, eim_span(oid, sizeof(oid))))
            return false;
    }
    return true;
}

static bool key_id_matches(eim_span_t aki, eim_span_t ski)
{
    /* Only compared when both are present (SGP.22 certificates carry both). */
    return aki.len == 0 || ski.len == 0 || eim_span_eq(aki, ski);
}

eim_ci_store_t *eim_ci_store_new(void)
{
    return EIM_NEW(eim_ci_store_t);
}

void eim_ci_store_free(eim_ci_store_t *store)
{
    if (!store)
        return;
    for (size_t i = 0; i < store->count; i++)
        free(store->ci[i].der);
    free(store);
}

size_t eim_ci_store_count(const eim_ci_store_t *store)
{
    return store ? store->count : 0;
}

eim_err_t eim_ci_store_add(eim_ci_store_t *store, eim_span_t cert)
{
    eim_err_t err = EIM_ERR_INVALID_ARG;
    ci_entry_t e = {0};

    if (!store || !cert.ptr || cert.len == 0)
        return EIM_ERR_INVALID_ARG;
    if (store->count >= EIM_CI_STORE_MAX)
        return EIM_ERR_LIMIT;
    err = eim_crypto_pem_to_der(cert, EIM_PEM_CERTIFICATE, &e.der, &e.len);
    if (err != EIM_OK)
        goto out;
    err = eim_x509_parse(eim_span(e.der, e.len), &e.cert);
    if (err != EIM_OK)
        goto out;
    err = EIM_ERR_VERIFY;
    /* A root: issuer == subject and its own key verifies the signature. */
    if (!eim_span_eq(e.cert.issuer, e.cert.subject) || !is_valid_ca(&e.cert) ||
        e.cert.unknown_critical || !role_ok(&e.cert, ROLE_CI))
        goto out;
    if (check_signature(&e.cert, e.cert.spki, &e.curve) != EIM_CHAIN_OK)
        goto out;
    store->ci[store->count++] = e;
    e.der = NULL;
    err = EIM_OK;
out:
    free(e.der);
    return err;
}

eim_err_t eim_ci_store_add_file(eim_ci_store_t *store, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    eim_err_t err = eim_crypto_read_file(path, EIM_CRYPTO_MAX_FILE, &buf, &len);
    if (err != EIM_OK)
        return err;
    err = eim_ci_store_add(store, eim_span(buf, len));
    free(buf);
    return err;
}

static eim_chain_status_t check_validity(const eim_x509_cert_t *c, int64_t now)
{
    if (now < c->not_before)
        return EIM_CHAIN_NOT_YET_VALID;
    if (now > c->not_after)
        return EIM_CHAIN_EXPIRED;
    return EIM_CHAIN_OK;
}

typedef struct {
    const char *eid;
    eim_span_t leaf_org; /* eUICC subject O, empty when absent */
    bool leaf_has_org;
} range_ctx_t;

/* One permitted directoryName of the EUM: serialNumber is an EID prefix;
 * an O attribute, when present, must equal the eUICC's O. */
static bool eid_in_subtree(eim_span_t name, void *arg)
{
    const range_ctx_t *ctx = arg;
    eim_span_t prefix, org;

    if (eim_x509_name_attr(name, eim_span(oid_serial_number, sizeof(oid_serial_number)), &prefix) !=
        EIM_OK)
        return false;
    if (prefix.len == 0 || prefix.len > EIM_EID_DIGITS)
        return false;
    for (size_t i = 0; i < prefix.len; i++)
        if (toupper(prefix.ptr[i]) != ctx->eid[i])
            return false;
    eim_err_t err =
        eim_x509_name_attr(name, eim_span(oid_organization, sizeof(oid_organization)), &org);
    if (err == EIM_ERR_NOT_FOUND)
        return true;
    return err == EIM_OK && ctx->leaf_has_org && eim_span_eq(org, ctx->leaf_org);
}

static eim_chain_status_t check_eid(const eim_x509_cert_t *eum, const eim_x509_cert_t *euicc,
                                    const char *eid)
{
    eim_span_t sn;
    range_ctx_t ctx = {.eid = eid};
    bool found = false;

    if (eim_x509_name_attr(euicc->subject, eim_span(oid_serial_number, sizeof(oid_serial_number)),
                           &sn) != EIM_OK ||
        sn.len != EIM_EID_DIGITS)
        return EIM_CHAIN_EID_MISMATCH;
    for (size_t i = 0; i < EIM_EID_DIGITS; i++)
        if (toupper(sn.ptr[i]) != eid[i])
            return EIM_CHAIN_EID_MISMATCH;
    if (!eum->has_name_constraints || eum->has_excluded)
        return EIM_CHAIN_EID_OUT_OF_RANGE;
    ctx.leaf_has_org =
        eim_x509_name_attr(euicc->subject, eim_span(oid_organization, sizeof(oid_organization)),
                           &ctx.leaf_org) == EIM_OK;
    if (eim_x509_each_permitted_dirname(eum, eid_in_subtree, &ctx, &found) != EIM_OK || !found)
        return EIM_CHAIN_EID_OUT_OF_RANGE;
    return EIM_CHAIN_OK;
}

static eim_chain_status_t verify_chain(const eim_ci_store_t *store, eim_span_t euicc_der,
                                       eim_span_t eum_der, const char *eid, int64_t now,
                                       eim_euicc_key_t *key)
{
    eim_x509_cert_t eum, euicc;
    const ci_entry_t *ci = NULL;
    eim_chain_status_t st;
    eim_curve_t eum_curve = EIM_CURVE_NONE, euicc_curve;
    bool candidate = false;

    if (eim_x509_parse(eum_der, &eum) != EIM_OK || eim_x509_parse(euicc_der, &euicc) != EIM_OK)
        return EIM_CHAIN_MALFORMED;

    /* CI: same name as the EUM's issuer (and matching key id); with several
     * candidates (key rollover under one name) the first that verifies. */
    for (size_t i = 0; i < store->count && !ci; i++) {
        const ci_entry_t *c = &store->ci[i];
        if (!eim_span_eq(c->cert.subject, eum.issuer) || !key_id_matches(eum.aki, c->cert.ski))
            continue;
        candidate = true;
        st = check_signature(&eum, c->cert.spki, NULL);
        if (st == EIM_CHAIN_OK)
            ci = c;
        else if (st == EIM_CHAIN_UNSUPPORTED)
            return st;
    }
    if (!ci)
        return candidate ? EIM_CHAIN_BAD_SIGNATURE : EIM_CHAIN_UNKNOWN_CI;

    if (!eim_span_eq(euicc.issuer, eum.subject) || !key_id_matches(euicc.aki, eum.ski))
        return EIM_CHAIN_ISSUER_MISMATCH;
    st = check_signature(&euicc, eum.spki, &eum_curve);
    if (st != EIM_CHAIN_OK)
        return st;
    euicc_curve = spki_curve(euicc.spki);
    if (euicc_curve == EIM_CURVE_NONE)
        return EIM_CHAIN_UNSUPPORTED;
    if (eum_curve != ci->curve || euicc_curve != ci->curve)
        return EIM_CHAIN_CURVE_MISMATCH;

    if ((st = check_validity(&ci->cert, now)) != EIM_CHAIN_OK ||
        (st = check_validity(&eum, now)) != EIM_CHAIN_OK ||
        (st = check_validity(&euicc, now)) != EIM_CHAIN_OK)
        return st;
    if (eum.unknown_critical || euicc.unknown_critical)
        return EIM_CHAIN_UNKNOWN_CRITICAL;
    if (!is_valid_ca(&eum))
        return EIM_CHAIN_BAD_CA;
    if ((euicc.has_basic_constraints && euicc.is_ca) || !euicc.has_key_usage ||
        !(euicc.key_usage & EIM_KU_DIGITAL_SIGNATURE) || (euicc.key_usage & EIM_KU_KEY_CERT_SIGN))
        return EIM_CHAIN_BAD_LEAF;
    if (!role_ok(&eum, ROLE_EUM) || !role_ok(&euicc, ROLE_EUICC))
        return EIM_CHAIN_WRONG_ROLE;
    if ((st = check_eid(&eum, &euicc, eid)) != EIM_CHAIN_OK)
        return st;

    if (euicc.spki.len > sizeof(key->spki))
        return EIM_CHAIN_UNSUPPORTED;
    memset(key, 0, sizeof(*key));
    memcpy(key->eid, eid, EIM_EID_DIGITS + 1);
    key->curve = euicc_curve;
    memcpy(key->spki, euicc.spki.ptr, euicc.spki.len);
    key->spki_len = euicc.spki.len;
    key->valid_until = ci->cert.not_after;
    if (eum.not_after < key->valid_until)
        key->valid_until = eum.not_after;
    if (euicc.not_after < key->valid_until)
        key->valid_until = euicc.not_after;
    key->ci_key_id_len = ci->cert.ski.len < EIM_KEY_ID_MAX ? ci->cert.ski.len : EIM_KEY_ID_MAX;
    memcpy(key->ci_key_id, ci->cert.ski.ptr, key->ci_key_id_len);
    return EIM_CHAIN_OK;
}

eim_err_t eim_cert_chain_verify(const eim_ci_store_t *store, eim_span_t euicc_cert,
                                eim_span_t eum_cert, eim_span_t eid, int64_t now,
                                eim_euicc_key_t *key, eim_chain_status_t *status)
{
    char eid_text[EIM_EID_DIGITS + 1];
    eim_chain_status_t st;

    if (status)
        *status = EIM_CHAIN_MALFORMED;
    if (!store || !key || !euicc_cert.ptr || !eum_cert.ptr)
        return EIM_ERR_INVALID_ARG;
    if (eim_eid_to_text(eid, eid_text) != EIM_OK)
        return EIM_ERR_INVALID_ARG;
    st = verify_chain(store, euicc_cert, eum_cert, eid_text, now, key);
    if (status)
        *status = st;
    return st == EIM_CHAIN_OK ? EIM_OK : EIM_ERR_VERIFY;
}
