/*
 * wolfCrypt software signer (software_signer.h). SGP.32 v1.2 §2.11.1.1
 * (eIM signature), SGP.22 v2 §2.6.5 (ECDSA), RFC 5915 / RFC 5208 (key
 * formats). Signatures are produced as DER by wolfCrypt and converted to
 * plain r||s with left-padding (brief §3.1: padding matters).
 */
#include "proto/crypto/software_signer.h"

#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include "proto/base/memory.h"
#include "proto/crypto/crypto_util.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/tlv_internal.h"

typedef struct {
    eim_signer_t base; /* first: eim_signer_t* <-> software_signer_t* */
    ecc_key key;
    WC_RNG rng;
} software_signer_t;

static eim_err_t sw_sign_digest(eim_signer_t *signer, const uint8_t digest[EIM_SHA256_LEN],
                                uint8_t sig[EIM_ECDSA_RAW_LEN])
{
    software_signer_t *s = (software_signer_t *)signer;
    uint8_t der[EIM_ECDSA_DER_MAX];
    word32 der_len = sizeof(der);
    eim_err_t err = EIM_ERR_CRYPTO;

    if (wc_ecc_sign_hash(digest, EIM_SHA256_LEN, der, &der_len, &s->rng, &s->key) != 0)
        goto out;
    /* wolfCrypt emits minimal DER; this pads r and s to 32 bytes each. */
    err = eim_ecdsa_der_to_raw(eim_span(der, der_len), sig);
    if (err != EIM_OK)
        err = EIM_ERR_CRYPTO;
out:
    eim_crypto_wipe(der, sizeof(der));
    return err;
}

static eim_err_t sw_export_spki(const eim_signer_t *signer, uint8_t *out, size_t cap,
                                size_t *out_len)
{
    software_signer_t *s = (software_signer_t *)signer;
    int n = wc_EccPublicKeyToDer(&s->key, out, (word32)(cap > 0xFFFF ? 0xFFFF : cap), 1);
    if (n == BUFFER_E)
        return EIM_ERR_BUFFER;
    if (n <= 0)
        return EIM_ERR_CRYPTO;
    *out_len = (size_t)n;
    return EIM_OK;
}

static void sw_destroy(eim_signer_t *signer)
{
    software_signer_t *s = (software_signer_t *)signer;
    wc_ecc_free(&s->key); /* zeroises the private scalar */
    wc_FreeRng(&s->rng);
    eim_crypto_wipe(s, sizeof(*s));
    free(s);
}

static const eim_signer_ops_t software_ops = {
    .name = "software",
    .sign_digest = sw_sign_digest,
    .sign_message = NULL,
    .export_spki = sw_export_spki,
    .destroy = sw_destroy,
};

/* PKCS#8 PrivateKeyInfo (RFC 5208/5915): the curve is named in the outer
 * AlgorithmIdentifier and the inner ECPrivateKey usually omits it, so the
 * scalar and optional public point are imported with that curve. */
static eim_err_t import_pkcs8(const uint8_t *der, size_t len, ecc_key *key)
{
    static const uint8_t oid_ec_public_key[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
    tlv_reader_t top = tlv_reader(eim_span(der, len)), r, ar, kr;
    tlv_t info, ver, alg, oid, curve, octets, ec, kver, priv, e;
    eim_span_t pub = EIM_SPAN_NULL;
    int curve_id;

    if (tlv_expect(&top, 0x30, &info) != EIM_OK || !tlv_at_end(&top))
        return EIM_ERR_DECODE;
    r = tlv_reader(info.value);
    if (tlv_expect(&r, 0x02, &ver) != EIM_OK || tlv_expect(&r, 0x30, &alg) != EIM_OK ||
        tlv_expect(&r, 0x04, &octets) != EIM_OK)
        return EIM_ERR_DECODE;
    ar = tlv_reader(alg.value);
    if (tlv_expect(&ar, 0x06, &oid) != EIM_OK || tlv_expect(&ar, 0x06, &curve) != EIM_OK ||
        !eim_span_eq(oid.value, eim_span(oid_ec_public_key, sizeof(oid_ec_public_key))))
        return EIM_ERR_DECODE;
    curve_id = wc_ecc_get_curve_id_from_oid(curve.value.ptr, (word32)curve.value.len);
    if (eim_curve_from_wolf_id(curve_id) == EIM_CURVE_NONE)
        return EIM_ERR_UNSUPPORTED;
    kr = tlv_reader(octets.value);
    if (tlv_expect(&kr, 0x30, &ec) != EIM_OK || !tlv_at_end(&kr))
        return EIM_ERR_DECODE;
    kr = tlv_reader(ec.value);
    if (tlv_expect(&kr, 0x02, &kver) != EIM_OK || tlv_expect(&kr, 0x04, &priv) != EIM_OK ||
        priv.value.len != 32)
        return EIM_ERR_DECODE;
    while (!tlv_at_end(&kr)) {
        if (tlv_next(&kr, &e) != EIM_OK)
            return EIM_ERR_DECODE;
        if (e.tag == 0xA0) { /* parameters, if present, must name the same curve */
            tlv_reader_t pr = tlv_reader(e.value);
            tlv_t p;
            if (tlv_expect(&pr, 0x06, &p) != EIM_OK || !eim_span_eq(p.value, curve.value))
                return EIM_ERR_DECODE;
        } else if (e.tag == 0xA1) { /* publicKey BIT STRING */
            tlv_reader_t pr = tlv_reader(e.value);
            tlv_t p;
            if (tlv_expect(&pr, 0x03, &p) != EIM_OK || p.value.len < 2 || p.value.ptr[0] != 0)
                return EIM_ERR_DECODE;
            pub = eim_span(p.value.ptr + 1, p.value.len - 1);
        }
    }
    if (wc_ecc_import_private_key_ex(priv.value.ptr, (word32)priv.value.len, pub.ptr,
                                     (word32)pub.len, key, curve_id) != 0)
        return EIM_ERR_DECODE;
    return EIM_OK;
}

eim_err_t eim_software_signer_new(eim_span_t key, eim_signer_t **out)
{
    eim_err_t err = EIM_ERR_DECODE;
    software_signer_t *s = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    word32 idx = 0;
    bool key_inited = false, rng_inited = false;

    if (!out || !key.ptr || key.len == 0)
        return EIM_ERR_INVALID_ARG;
    *out = NULL;
    err = eim_crypto_pem_to_der(key, EIM_PEM_PRIVATE_KEY, &der, &der_len);
    if (err != EIM_OK)
        goto out;
    err = EIM_ERR_DECODE;
    s = EIM_NEW(software_signer_t);
    if (wc_ecc_init(&s->key) != 0) {
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    key_inited = true;
    if (wc_InitRng(&s->rng) != 0) {
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    rng_inited = true;
    /* SEC1 ECPrivateKey names its curve; PKCS#8 needs the outer OID. */
    if (wc_EccPrivateKeyDecode(der, &idx, &s->key, (word32)der_len) != 0 || idx != der_len) {
        wc_ecc_free(&s->key);
        if (wc_ecc_init(&s->key) != 0) {
            key_inited = false;
            err = EIM_ERR_CRYPTO;
            goto out;
        }
        err = import_pkcs8(der, der_len, &s->key);
        if (err != EIM_OK)
            goto out;
        err = EIM_ERR_DECODE;
    }
    s->base.curve = eim_curve_from_wolf_id(wc_ecc_get_curve_id(s->key.idx));
    if (s->base.curve == EIM_CURVE_NONE) {
        err = EIM_ERR_UNSUPPORTED;
        goto out;
    }
    /* SEC1 makes the public key optional: derive it if it was left out. */
    if (s->key.type == ECC_PRIVATEKEY_ONLY && wc_ecc_make_pub(&s->key, NULL) != 0)
        goto out;
    if (wc_ecc_check_key(&s->key) != 0)
        goto out;
    if (wc_ecc_set_rng(&s->key, &s->rng) != 0) {
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    s->base.ops = &software_ops;
    *out = &s->base;
    s = NULL;
    err = EIM_OK;
out:
    if (s) {
        if (key_inited)
            wc_ecc_free(&s->key);
        if (rng_inited)
            wc_FreeRng(&s->rng);
        eim_crypto_wipe(s, sizeof(*s));
        free(s);
    }
    if (der) {
        eim_crypto_wipe(der, der_len);
        free(der);
    }
    return err;
}

eim_err_t eim_software_signer_load_file(const char *path, eim_signer_t **out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    eim_err_t err = eim_crypto_read_file(path, EIM_CRYPTO_MAX_FILE, &buf, &len);
    if (err != EIM_OK)
        return err;
    err = eim_software_signer_new(eim_span(buf, len), out);
    eim_crypto_wipe(buf, len);
    free(buf);
    return err;
}
