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

eim_err_t eim_software_signer_new(eim_span_t key, eim_signer_t **out)
{
    eim_err_t err = EIM_ERR_DECODE;
    software_signer_t *s = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    word32 idx = 0;
    bool key_inited = false, rng_inited = false;
    int offset;

    if (!out || !key.ptr || key.len == 0)
        return EIM_ERR_INVALID_ARG;
    *out = NULL;
    err = eim_crypto_pem_to_der(key, EIM_PEM_PRIVATE_KEY, &der, &der_len);
    if (err != EIM_OK)
        goto out;
    err = EIM_ERR_DECODE;
    s = EIM_NEW(software_signer_t);
    if (wc_ecc_init(&s->key) != 0 || (key_inited = true, wc_InitRng(&s->rng) != 0)) {
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    rng_inited = true;
    /* PKCS#8 wraps the SEC1 structure; strip the wrapper when present. */
    offset = wc_GetPkcs8TraditionalOffset(der, &idx, (word32)der_len);
    idx = offset > 0 ? (word32)offset : 0;
    if (wc_EccPrivateKeyDecode(der, &idx, &s->key, (word32)der_len) != 0)
        goto out;
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
