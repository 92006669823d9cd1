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
#include "proto/der/der.h"

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
    eim_der_reader_t top, r, ar, octets_r, kr, pr;
    eim_der_elem_t info, alg, octets, ec, priv, e;
    eim_span_t oid = EIM_SPAN_NULL, curve = EIM_SPAN_NULL, param = EIM_SPAN_NULL,
               pub = EIM_SPAN_NULL;
    unsigned unused = 0;
    int64_t version = 0;
    int curve_id;
    eim_err_t err;

    /* PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier { id-ecPublicKey,
     * namedCurve }, privateKey OCTET STRING (ECPrivateKey), [attributes] } */
    eim_der_reader_init(&top, der, len, NULL);
    err = eim_der_read_enter(&top, 0x30, &info, &r);
    if (!err)
        err = eim_der_expect_end(&top);
    if (!err)
        err = eim_der_read_int(&r, 0x02, &version);
    if (!err)
        err = eim_der_read_enter(&r, 0x30, &alg, &ar);
    if (!err)
        err = eim_der_read_tag(&r, 0x04, &octets);
    if (!err)
        err = eim_der_read_oid(&ar, 0x06, &oid);
    if (!err)
        err = eim_der_read_oid(&ar, 0x06, &curve);
    if (err || !eim_span_eq(oid, eim_span(oid_ec_public_key, sizeof(oid_ec_public_key))))
        return EIM_ERR_DECODE;
    curve_id = wc_ecc_get_curve_id_from_oid(curve.ptr, (word32)curve.len);
    if (eim_curve_from_wolf_id(curve_id) == EIM_CURVE_NONE)
        return EIM_ERR_UNSUPPORTED;
    /* ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING,
     *                             parameters [0] OPTIONAL, publicKey [1] OPTIONAL } */
    err = eim_der_enter_span(&r, octets.value, &octets_r);
    if (!err)
        err = eim_der_read_enter(&octets_r, 0x30, &ec, &kr);
    if (!err)
        err = eim_der_expect_end(&octets_r);
    if (!err)
        err = eim_der_read_int(&kr, 0x02, &version);
    if (!err)
        err = eim_der_read_tag(&kr, 0x04, &priv);
    if (err || priv.value.len != 32)
        return EIM_ERR_DECODE;
    while (!eim_der_at_end(&kr)) {
        if (eim_der_read(&kr, &e) != EIM_OK)
            return EIM_ERR_DECODE;
        if (e.tag == 0xA0) { /* parameters, if present, must name the same curve */
            if (eim_der_enter(&kr, &e, &pr) != EIM_OK ||
                eim_der_read_oid(&pr, 0x06, &param) != EIM_OK || !eim_span_eq(param, curve))
                return EIM_ERR_DECODE;
        } else if (e.tag == 0xA1) { /* publicKey BIT STRING */
            if (eim_der_enter(&kr, &e, &pr) != EIM_OK ||
                eim_der_read_bit_string(&pr, 0x03, &pub, &unused) != EIM_OK || unused != 0 ||
                pub.len == 0)
                return EIM_ERR_DECODE;
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
