/*
 * eUICC Package signing and result verification (package_signature.h).
 * SGP.32 v1.2 §2.11.1.1, §2.11.1.2, §5.9.1 (signature input); brief §3.1,
 * §3.2. The digest is computed incrementally, so the signed structure is
 * never copied or re-encoded.
 */
#include "proto/crypto/package_signature.h"

#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "proto/crypto/crypto_util.h"
#include "proto/der/der.h"

eim_err_t eim_package_token_tlv(eim_assoc_token_t token, uint8_t out[EIM_TOKEN_TLV_MAX],
                                size_t *out_len)
{
    if (!out || !out_len)
        return EIM_ERR_INVALID_ARG;
    /* associationToken [4] INTEGER: context tag 4, primitive; contents are a
     * minimal two's-complement INTEGER (interpretation log C2). */
    size_t n = eim_der_encode_int(token.present ? token.value : 0, out + 2);
    out[0] = 0x84;
    out[1] = (uint8_t)n;
    *out_len = 2 + n;
    return EIM_OK;
}

eim_err_t eim_package_signature_digest(eim_span_t signed_tlv, eim_assoc_token_t token,
                                       uint8_t digest[EIM_SHA256_LEN])
{
    uint8_t tok[EIM_TOKEN_TLV_MAX];
    size_t tok_len = 0;
    wc_Sha256 sha;
    eim_err_t err = EIM_ERR_CRYPTO;

    if (!signed_tlv.ptr || signed_tlv.len == 0 || !digest)
        return EIM_ERR_INVALID_ARG;
    if (signed_tlv.len > EIM_SIGNED_DATA_MAX)
        return EIM_ERR_LIMIT;
    /* The signed structure must be a complete SEQUENCE TLV (30 ..). */
    if (signed_tlv.ptr[0] != 0x30)
        return EIM_ERR_INVALID_ARG;
    err = eim_package_token_tlv(token, tok, &tok_len);
    if (err != EIM_OK)
        return err;
    if (wc_InitSha256(&sha) != 0)
        return EIM_ERR_CRYPTO;
    err = EIM_ERR_CRYPTO;
    if (wc_Sha256Update(&sha, signed_tlv.ptr, (word32)signed_tlv.len) != 0)
        goto out;
    if (wc_Sha256Update(&sha, tok, (word32)tok_len) != 0)
        goto out;
    if (wc_Sha256Final(&sha, digest) != 0)
        goto out;
    err = EIM_OK;
out:
    wc_Sha256Free(&sha);
    return err;
}

eim_err_t eim_package_sign(eim_signer_t *signer, eim_span_t signed_tlv, eim_assoc_token_t token,
                           uint8_t sig[EIM_ECDSA_RAW_LEN])
{
    uint8_t digest[EIM_SHA256_LEN];
    eim_err_t err;

    if (!signer || !sig)
        return EIM_ERR_INVALID_ARG;
    err = eim_package_signature_digest(signed_tlv, token, digest);
    if (err == EIM_OK)
        err = eim_signer_sign_digest(signer, digest, sig);
    eim_crypto_wipe(digest, sizeof(digest));
    return err;
}

eim_err_t eim_package_result_verify(eim_ec_pubkey_t *key, eim_span_t signed_tlv,
                                    eim_assoc_token_t token, eim_span_t sig)
{
    uint8_t digest[EIM_SHA256_LEN];
    eim_err_t err;

    if (!key || !sig.ptr)
        return EIM_ERR_INVALID_ARG;
    err = eim_package_signature_digest(signed_tlv, token, digest);
    if (err != EIM_OK)
        return err;
    return eim_ec_pubkey_verify_digest(key, digest, sig);
}
