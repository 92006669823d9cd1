/*
 * ECDSA public keys and signature format conversion (ec_pubkey.h).
 * SGP.22 v2 §2.6.5 (ECDSA conventions), BSI TR-03111 §5.2.1 (plain r||s),
 * RFC 5480 / RFC 5758 (SubjectPublicKeyInfo, Ecdsa-Sig-Value).
 */
#include "proto/crypto/ec_pubkey.h"

#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "proto/base/memory.h"
#include "proto/crypto/crypto_util.h"

struct eim_ec_pubkey {
    ecc_key key;
    eim_curve_t curve;
};

eim_curve_t eim_curve_from_wolf_id(int ecc_curve_id)
{
    if (ecc_curve_id == ECC_SECP256R1)
        return EIM_CURVE_P256;
    if (ecc_curve_id == ECC_BRAINPOOLP256R1)
        return EIM_CURVE_BRAINPOOLP256R1;
    return EIM_CURVE_NONE;
}

int eim_curve_to_wolf_id(eim_curve_t curve)
{
    switch (curve) {
    case EIM_CURVE_P256: return ECC_SECP256R1;
    case EIM_CURVE_BRAINPOOLP256R1: return ECC_BRAINPOOLP256R1;
    case EIM_CURVE_NONE: break;
    }
    return ECC_CURVE_INVALID;
}

eim_err_t eim_ec_pubkey_from_spki(eim_span_t spki, eim_ec_pubkey_t **out)
{
    eim_err_t err = EIM_ERR_DECODE;
    eim_ec_pubkey_t *k = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    word32 idx = 0;
    bool inited = false;

    if (!out || !spki.ptr || spki.len == 0)
        return EIM_ERR_INVALID_ARG;
    *out = NULL;
    err = eim_crypto_pem_to_der(spki, EIM_PEM_PUBLIC_KEY, &der, &der_len);
    if (err != EIM_OK)
        goto out;
    err = EIM_ERR_DECODE;
    if (der_len > EIM_EC_SPKI_MAX)
        goto out;
    k = EIM_NEW(eim_ec_pubkey_t);
    if (wc_ecc_init(&k->key) != 0) {
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    inited = true;
    if (wc_EccPublicKeyDecode(der, &idx, &k->key, (word32)der_len) != 0 || idx != der_len)
        goto out;
    k->curve = eim_curve_from_wolf_id(wc_ecc_get_curve_id(k->key.idx));
    if (k->curve == EIM_CURVE_NONE) {
        err = EIM_ERR_UNSUPPORTED;
        goto out;
    }
    /* Rejects points off the curve (and the point at infinity). */
    if (wc_ecc_point_is_on_curve(&k->key.pubkey, k->key.idx) != 0)
        goto out;
    *out = k;
    k = NULL;
    err = EIM_OK;
out:
    if (k) {
        if (inited)
            wc_ecc_free(&k->key);
        free(k);
    }
    free(der);
    return err;
}

void eim_ec_pubkey_free(eim_ec_pubkey_t *key)
{
    if (!key)
        return;
    wc_ecc_free(&key->key);
    free(key);
}

eim_curve_t eim_ec_pubkey_curve(const eim_ec_pubkey_t *key)
{
    return key ? key->curve : EIM_CURVE_NONE;
}

eim_err_t eim_ec_pubkey_export_spki(const eim_ec_pubkey_t *key, uint8_t *out, size_t cap,
                                    size_t *out_len)
{
    if (!key || !out || !out_len)
        return EIM_ERR_INVALID_ARG;
    int n =
        wc_EccPublicKeyToDer((ecc_key *)&key->key, out, (word32)(cap > 0xFFFF ? 0xFFFF : cap), 1);
    if (n == BUFFER_E)
        return EIM_ERR_BUFFER;
    if (n <= 0)
        return EIM_ERR_CRYPTO;
    *out_len = (size_t)n;
    return EIM_OK;
}

eim_err_t eim_ecdsa_raw_to_der(const uint8_t raw[EIM_ECDSA_RAW_LEN], uint8_t out[EIM_ECDSA_DER_MAX],
                               size_t *out_len)
{
    word32 len = EIM_ECDSA_DER_MAX;
    if (!raw || !out || !out_len)
        return EIM_ERR_INVALID_ARG;
    if (wc_ecc_rs_raw_to_sig(raw, 32, raw + 32, 32, out, &len) != 0)
        return EIM_ERR_DECODE;
    *out_len = len;
    return EIM_OK;
}

eim_err_t eim_ecdsa_der_to_raw(eim_span_t der, uint8_t raw[EIM_ECDSA_RAW_LEN])
{
    uint8_t r[33], s[33], canon[EIM_ECDSA_DER_MAX];
    word32 rlen = sizeof(r), slen = sizeof(s);
    size_t canon_len = 0;

    if (!raw || !der.ptr)
        return EIM_ERR_INVALID_ARG;
    if (der.len < 8 || der.len > EIM_ECDSA_DER_MAX || der.ptr[0] != 0x30)
        return EIM_ERR_DECODE;
    if (wc_ecc_sig_to_rs(der.ptr, (word32)der.len, r, &rlen, s, &slen) != 0)
        return EIM_ERR_DECODE;
    if (rlen > 32 || slen > 32 || rlen == 0 || slen == 0)
        return EIM_ERR_DECODE;
    memset(raw, 0, EIM_ECDSA_RAW_LEN);
    memcpy(raw + 32 - rlen, r, rlen);
    memcpy(raw + 64 - slen, s, slen);
    /* Only the canonical DER encoding of (r, s) is accepted: re-encode and
     * compare, which rejects BER lengths, extra zero bytes and trailing data. */
    if (eim_ecdsa_raw_to_der(raw, canon, &canon_len) != EIM_OK || canon_len != der.len ||
        !eim_crypto_ct_equal(canon, der.ptr, der.len))
        return EIM_ERR_DECODE;
    return EIM_OK;
}

static eim_err_t verify_der(eim_ec_pubkey_t *key, const uint8_t *digest, const uint8_t *der,
                            size_t der_len)
{
    int ok = 0;
    int rc = wc_ecc_verify_hash(der, (word32)der_len, digest, EIM_SHA256_LEN, &ok, &key->key);
    if (rc != 0)
        return EIM_ERR_VERIFY;
    return ok == 1 ? EIM_OK : EIM_ERR_VERIFY;
}

eim_err_t eim_ec_pubkey_verify_digest(eim_ec_pubkey_t *key, const uint8_t digest[EIM_SHA256_LEN],
                                      eim_span_t sig)
{
    uint8_t der[EIM_ECDSA_DER_MAX], raw[EIM_ECDSA_RAW_LEN];
    size_t der_len = 0;
    eim_err_t err = EIM_ERR_VERIFY;

    if (!key || !digest || !sig.ptr)
        return EIM_ERR_INVALID_ARG;
    if (sig.len == EIM_ECDSA_RAW_LEN) {
        /* Plain r||s first (what eUICCs send); r or s of zero is invalid. */
        if (eim_ecdsa_raw_to_der(sig.ptr, der, &der_len) == EIM_OK)
            err = verify_der(key, digest, der, der_len);
        if (err == EIM_OK || sig.ptr[0] != 0x30)
            return err;
    }
    /* DER fallback: canonical encodings only, so a signature has one form. */
    if (eim_ecdsa_der_to_raw(sig, raw) != EIM_OK)
        return EIM_ERR_VERIFY;
    return verify_der(key, digest, sig.ptr, sig.len);
}
