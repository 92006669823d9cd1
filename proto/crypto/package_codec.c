/*
 * Glue between proto/esep and proto/crypto (package_codec.h): SGP.32 v1.2
 * §2.11.1.1 (eIM signature over EuiccPackageSigned), §2.11.1.2
 * (euiccSignEPR/EPE over the received result data), §5.9.1; brief §3.1-§3.2
 * and docs/interpretation-log.md C1-C3. The association token is mapped to
 * proto/esep's int64 form (0 when absent), which gives the same `84 01 00`.
 */
#include "proto/crypto/package_codec.h"

static int64_t esep_token(eim_assoc_token_t token)
{
    return token.present ? token.value : 0;
}

eim_err_t eim_package_signer_fn(void *signer, eim_span_t input,
                                uint8_t signature[EIM_ESEP_SIGNATURE_LEN])
{
    if (!signer)
        return EIM_ERR_INVALID_ARG;
    return eim_signer_sign_message((eim_signer_t *)signer, input, signature);
}

eim_err_t eim_package_build(const eim_euicc_package_t *pkg, eim_assoc_token_t token,
                            eim_signer_t *signer, eim_buf_t *out)
{
    if (!pkg || !signer || !out)
        return EIM_ERR_INVALID_ARG;
    return eim_esep_package_encode(pkg, esep_token(token), eim_package_signer_fn, signer, out);
}

const char *eim_result_verdict_name(eim_result_verdict_t verdict)
{
    switch (verdict) {
    case EIM_VERDICT_VERIFIED: return "verified";
    case EIM_VERDICT_UNSIGNED_UNTRUSTED: return "unsigned-untrusted";
    case EIM_VERDICT_BAD_SIGNATURE: return "bad-signature";
    case EIM_VERDICT_NONE: break;
    }
    return "none";
}

eim_err_t eim_package_result_open(const uint8_t *data, size_t len, eim_ec_pubkey_t *key,
                                  eim_assoc_token_t token, eim_euicc_result_t *out,
                                  eim_result_verdict_t *verdict, eim_der_error_t *error)
{
    eim_err_t err;

    if (verdict)
        *verdict = EIM_VERDICT_NONE;
    if (!data || !key || !out || !verdict)
        return EIM_ERR_INVALID_ARG;
    err = eim_esep_result_decode(data, len, out, error);
    if (err)
        goto out;
    if (out->form == EIM_RESULT_ERROR_UNSIGNED) {
        *verdict = EIM_VERDICT_UNSIGNED_UNTRUSTED;
        goto out;
    }
    /* signed_tlv and signature are spans into data: the received bytes. */
    err = eim_package_result_verify(key, out->signed_tlv, token, out->signature);
    if (err == EIM_OK)
        *verdict = EIM_VERDICT_VERIFIED;
    else if (err == EIM_ERR_VERIFY)
        *verdict = EIM_VERDICT_BAD_SIGNATURE;
out:
    return err;
}
