/* Dispatch helpers of the signer interface (signer.h; SGP.32 §2.11.1.1). */
#include "proto/crypto/signer.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "proto/crypto/crypto_util.h"

const char *eim_curve_name(eim_curve_t curve)
{
    switch (curve) {
    case EIM_CURVE_P256: return "P-256";
    case EIM_CURVE_BRAINPOOLP256R1: return "brainpoolP256r1";
    case EIM_CURVE_NONE: break;
    }
    return "none";
}

eim_err_t eim_signer_sign_digest(eim_signer_t *signer, const uint8_t digest[EIM_SHA256_LEN],
                                 uint8_t sig[EIM_ECDSA_RAW_LEN])
{
    if (!signer || !signer->ops || !signer->ops->sign_digest || !digest || !sig)
        return EIM_ERR_INVALID_ARG;
    return signer->ops->sign_digest(signer, digest, sig);
}

eim_err_t eim_signer_sign_message(eim_signer_t *signer, eim_span_t message,
                                  uint8_t sig[EIM_ECDSA_RAW_LEN])
{
    eim_err_t err = EIM_ERR_CRYPTO;
    uint8_t digest[EIM_SHA256_LEN];

    if (!signer || !signer->ops || !sig || (!message.ptr && message.len))
        return EIM_ERR_INVALID_ARG;
    if (signer->ops->sign_message)
        return signer->ops->sign_message(signer, message, sig);
    if (message.len > UINT32_MAX)
        return EIM_ERR_LIMIT;
    if (wc_Sha256Hash(message.ptr, (word32)message.len, digest) != 0)
        goto out;
    err = eim_signer_sign_digest(signer, digest, sig);
out:
    eim_crypto_wipe(digest, sizeof(digest));
    return err;
}

eim_curve_t eim_signer_curve(const eim_signer_t *signer)
{
    return signer ? signer->curve : EIM_CURVE_NONE;
}

eim_err_t eim_signer_export_spki(const eim_signer_t *signer, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    if (!signer || !signer->ops || !signer->ops->export_spki || !out || !out_len)
        return EIM_ERR_INVALID_ARG;
    return signer->ops->export_spki(signer, out, cap, out_len);
}

void eim_signer_destroy(eim_signer_t *signer)
{
    if (signer && signer->ops && signer->ops->destroy)
        signer->ops->destroy(signer);
}
