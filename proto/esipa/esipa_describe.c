/*
 * Rendering of decoded ESipa/ESep messages as JSON with the ASN.1 names of
 * SGP.32 v1.2 Annex A (brief Appendix A). The input is validated first by
 * the codecs (esipa_message.h, proto/esep); the renderer then walks the
 * validated DER with name tables. The tables carry names only: every
 * structural rule stays in the codecs.
 */
#include "proto/esipa/esipa_describe.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "proto/base/text_codec.h"
#include "proto/esep/euicc_package.h"
#include "proto/esep/euicc_result.h"
#include "proto/esipa/esipa_message.h"

typedef enum {
    N_SEQ,    /* constructed: members named by the child table */
    N_LIST,   /* SEQUENCE OF / list: array of {name: value} */
    N_INT,    /* INTEGER */
    N_HEX,    /* value as hex */
    N_UTF8,   /* UTF8String */
    N_NULL,   /* NULL flag -> true */
    N_OPAQUE, /* SGP.22 object we relay: hex of the whole TLV */
    N_EPKG,   /* BF51 EuiccPackageRequest (checked with proto/esep) */
    N_ERES,   /* BF51 EuiccPackageResult (checked with proto/esep) */
} node_kind_t;

typedef struct node {
    uint32_t tag;
    const char *name;
    node_kind_t kind;
    const struct node *children; /* N_SEQ, N_LIST; terminated by name NULL */
} node_t;

#define END                                                                                        \
    {                                                                                              \
        0, NULL, N_HEX, NULL                                                                       \
    }

/* ---- SGP.22 / shared pieces ---- */
static const node_t pending_notification[] = {
    {0xBF37, "profileInstallationResult", N_OPAQUE, NULL},
    {0x30, "otherSignedNotification", N_OPAQUE, NULL},
    {0xA0, "compactProfileInstallationResult", N_OPAQUE, NULL},
    {0xA1, "compactOtherSignedNotification", N_OPAQUE, NULL},
    END,
};
static const node_t correlation_id[] = {
    {0x80, "eimTransactionId", N_HEX, NULL}, {0x5A, "eidValue", N_HEX, NULL}, END};

/* ---- ESep: EuiccPackageRequest ---- */
static const node_t iccid_only[] = {{0x5A, "iccid", N_HEX, NULL}, END};
static const node_t enable_psmo[] = {
    {0x5A, "iccid", N_HEX, NULL}, {0x05, "rollbackFlag", N_NULL, NULL}, END};
static const node_t search_criteria[] = {{0x4F, "isdpAid", N_HEX, NULL},
                                         {0x5A, "iccid", N_HEX, NULL},
                                         {0x95, "profileClass", N_INT, NULL},
                                         END};
static const node_t list_profile_info[] = {
    {0xA0, "searchCriteria", N_SEQ, search_criteria}, {0x5C, "tagList", N_HEX, NULL}, END};
static const node_t empty[] = {END};
static const node_t configure_immediate_enable[] = {
    {0x80, "immediateEnableFlag", N_NULL, NULL},
    {0x81, "defaultSmdpOid", N_HEX, NULL},
    {0x82, "defaultSmdpAddress", N_UTF8, NULL},
    END,
};
static const node_t set_default_dp[] = {{0x80, "defaultDpAddress", N_UTF8, NULL}, END};
static const node_t psmo[] = {
    {0xA3, "enable", N_SEQ, enable_psmo},
    {0xA4, "disable", N_SEQ, iccid_only},
    {0xA5, "delete", N_SEQ, iccid_only},
    {0xBF2D, "listProfileInfo", N_SEQ, list_profile_info},
    {0xA6, "getRAT", N_SEQ, empty},
    {0xA7, "configureImmediateEnable", N_SEQ, configure_immediate_enable},
    {0xA8, "setFallbackAttribute", N_SEQ, iccid_only},
    {0xA9, "unsetFallbackAttribute", N_SEQ, empty},
    {0xBF65, "setDefaultDpAddress", N_SEQ, set_default_dp},
    END,
};
static const node_t key_data[] = {
    {0xA0, "eimPublicKey", N_HEX, NULL}, {0xA1, "eimCertificate", N_HEX, NULL}, END};
static const node_t tls_key_data[] = {
    {0xA0, "trustedEimPkTls", N_HEX, NULL}, {0xA1, "trustedCertificateTls", N_HEX, NULL}, END};
static const node_t eim_config[] = {
    {0x80, "eimId", N_UTF8, NULL},
    {0x81, "eimFqdn", N_UTF8, NULL},
    {0x82, "eimIdType", N_INT, NULL},
    {0x83, "counterValue", N_INT, NULL},
    {0x84, "associationToken", N_INT, NULL},
    {0xA5, "eimPublicKeyData", N_SEQ, key_data},
    {0xA6, "trustedPublicKeyDataTls", N_SEQ, tls_key_data},
    {0x87, "eimSupportedProtocol", N_HEX, NULL},
    {0x88, "euiccCiPKId", N_HEX, NULL},
    {0x89, "indirectProfileDownload", N_NULL, NULL},
    END,
};
static const node_t delete_eim[] = {{0x80, "eimId", N_UTF8, NULL}, END};
static const node_t eco[] = {
    {0xA8, "addEim", N_SEQ, eim_config},
    {0xA9, "deleteEim", N_SEQ, delete_eim},
    {0xAA, "updateEim", N_SEQ, eim_config},
    {0xAB, "listEim", N_SEQ, empty},
    END,
};
static const node_t package_signed[] = {
    {0x80, "eimId", N_UTF8, NULL},
    {0x5A, "eidValue", N_HEX, NULL},
    {0x81, "counterValue", N_INT, NULL},
    {0x82, "eimTransactionId", N_HEX, NULL},
    {0xA0, "psmoList", N_LIST, psmo},
    {0xA1, "ecoList", N_LIST, eco},
    END,
};
static const node_t package_request[] = {
    {0x30, "euiccPackageSigned", N_SEQ, package_signed},
    {0x5F37, "eimSignature", N_HEX, NULL},
    END,
};

/* ---- ESep: EuiccPackageResult ---- */
static const node_t add_eim_result[] = {
    {0x84, "associationToken", N_INT, NULL}, {0x02, "addEimResultCode", N_INT, NULL}, END};
static const node_t eim_id_info[] = {
    {0x80, "eimId", N_UTF8, NULL}, {0x82, "eimIdType", N_INT, NULL}, END};
static const node_t eim_id_list[] = {{0x30, "eimIdInfo", N_SEQ, eim_id_info}, END};
static const node_t list_eim_result[] = {
    {0xA0, "eimIdList", N_LIST, eim_id_list}, {0x81, "listEimError", N_INT, NULL}, END};
static const node_t profile_info_list[] = {{0xE3, "profileInfo", N_OPAQUE, NULL}, END};
static const node_t list_profile_info_result[] = {
    {0xA0, "profileInfoListOk", N_LIST, profile_info_list},
    {0x81, "profileInfoListError", N_INT, NULL},
    END,
};
static const node_t set_default_dp_result[] = {{0x80, "setDefaultDpAddressResult", N_INT, NULL},
                                               END};
static const node_t result_data[] = {
    {0x83, "enableResult", N_INT, NULL},
    {0x84, "disableResult", N_INT, NULL},
    {0x85, "deleteResult", N_INT, NULL},
    {0xA6, "getRATResult", N_OPAQUE, NULL},
    {0x87, "configureImmediateEnableResult", N_INT, NULL},
    {0xA8, "addEimResult", N_SEQ, add_eim_result},
    {0x89, "deleteEimResult", N_INT, NULL},
    {0x8A, "updateEimResult", N_INT, NULL},
    {0xAB, "listEimResult", N_SEQ, list_eim_result},
    {0x8C, "rollbackResult", N_INT, NULL},
    {0x8D, "setFallbackAttributeResult", N_INT, NULL},
    {0x8E, "unsetFallbackAttributeResult", N_INT, NULL},
    {0xBF2D, "listProfileInfoResult", N_SEQ, list_profile_info_result},
    {0xBF65, "setDefaultDpAddressResult", N_SEQ, set_default_dp_result},
    {0x02, "processingTerminated", N_INT, NULL},
    END,
};
static const node_t result_data_signed[] = {
    {0x80, "eimId", N_UTF8, NULL},
    {0x81, "counterValue", N_INT, NULL},
    {0x82, "eimTransactionId", N_HEX, NULL},
    {0x83, "seqNumber", N_INT, NULL},
    {0x30, "euiccResult", N_LIST, result_data},
    END,
};
static const node_t result_signed[] = {
    {0x30, "euiccPackageResultDataSigned", N_SEQ, result_data_signed},
    {0x5F37, "euiccSignEPR", N_HEX, NULL},
    END,
};
static const node_t error_data_signed[] = {
    {0x80, "eimId", N_UTF8, NULL},
    {0x81, "counterValue", N_INT, NULL},
    {0x82, "eimTransactionId", N_HEX, NULL},
    {0x02, "euiccPackageErrorCode", N_INT, NULL},
    END,
};
static const node_t error_signed[] = {
    {0x30, "euiccPackageErrorDataSigned", N_SEQ, error_data_signed},
    {0x5F37, "euiccSignEPE", N_HEX, NULL},
    END,
};
static const node_t error_unsigned[] = {
    {0x80, "eimId", N_UTF8, NULL},
    {0x82, "eimTransactionId", N_HEX, NULL},
    {0x84, "associationToken", N_INT, NULL},
    {0x8F, "euiccPackageUnsignedErrorCode", N_INT, NULL},
    END,
};
static const node_t package_result[] = {
    {0xA0, "euiccPackageResultSigned", N_SEQ, result_signed},
    {0xA1, "euiccPackageErrorSigned", N_SEQ, error_signed},
    {0xA2, "euiccPackageErrorUnsigned", N_SEQ, error_unsigned},
    END,
};

/* ---- ESipa ---- */
static const node_t notification_search[] = {
    {0x80, "seqNumber", N_INT, NULL}, {0x81, "profileManagementOperation", N_HEX, NULL}, END};
static const node_t result_search[] = {{0x80, "seqNumber", N_INT, NULL}, END};
static const node_t euicc_data_request[] = {
    {0x5C, "tagList", N_HEX, NULL},
    {0x04, "euiccCiPKIdentifierToBeUsed", N_HEX, NULL},
    {0xA1, "searchCriteriaNotification", N_SEQ, notification_search},
    {0xA2, "searchCriteriaEuiccPackageResult", N_SEQ, result_search},
    {0x83, "eimTransactionId", N_HEX, NULL},
    END,
};
static const node_t epr_list[] = {{0xBF51, "euiccPackageResult", N_ERES, NULL}, END};
static const node_t ipa_capabilities[] = {
    {0x80, "ipaFeatures", N_HEX, NULL}, {0x81, "ipaSupportedProtocols", N_HEX, NULL}, END};
static const node_t ipa_euicc_data[] = {
    {0xA0, "notificationsList", N_LIST, pending_notification},
    {0x81, "defaultSmdpAddress", N_UTF8, NULL},
    {0xA2, "euiccPackageResultList", N_LIST, epr_list},
    {0xBF20, "euiccInfo1", N_OPAQUE, NULL},
    {0xBF22, "euiccInfo2", N_OPAQUE, NULL},
    {0x83, "rootSmdsAddress", N_UTF8, NULL},
    {0x84, "associationToken", N_INT, NULL},
    {0xA5, "eumCertificate", N_OPAQUE, NULL},
    {0xA6, "euiccCertificate", N_OPAQUE, NULL},
    {0x87, "eimTransactionId", N_HEX, NULL},
    {0xA8, "ipaCapabilities", N_SEQ, ipa_capabilities},
    {0xA9, "deviceInfo", N_OPAQUE, NULL},
    END,
};
static const node_t euicc_data_error[] = {
    {0x80, "eimTransactionId", N_HEX, NULL}, {0x02, "ipaEuiccDataErrorCode", N_INT, NULL}, END};
static const node_t euicc_data_response[] = {
    {0xA0, "ipaEuiccData", N_SEQ, ipa_euicc_data},
    {0xA1, "ipaEuiccDataResponseError", N_SEQ, euicc_data_error},
    {0x30, "ipaEuiccData", N_SEQ, ipa_euicc_data},
    END,
};
static const node_t contact_smds[] = {
    {0x80, "smdsAddress", N_UTF8, NULL}, {0x0C, "smdsAddress", N_UTF8, NULL}, END};
static const node_t download_data[] = {
    {0x80, "activationCode", N_UTF8, NULL},
    {0x81, "contactDefaultSmdp", N_NULL, NULL},
    {0xA2, "contactSmds", N_SEQ, contact_smds},
    END,
};
static const node_t trigger_request[] = {
    {0xA0, "profileDownloadData", N_SEQ, download_data},
    {0x82, "eimTransactionId", N_HEX, NULL},
    END,
};
static const node_t download_error[] = {
    {0x80, "profileDownloadErrorReason", N_INT, NULL}, {0x04, "errorResponse", N_HEX, NULL}, END};
static const node_t trigger_result[] = {
    {0x82, "eimTransactionId", N_HEX, NULL},
    {0xBF37, "profileInstallationResult", N_OPAQUE, NULL},
    {0x30, "profileDownloadError", N_SEQ, download_error},
    END,
};
static const node_t epr_and_notifications[] = {
    {0xBF51, "euiccPackageResult", N_ERES, NULL},
    {0xA0, "notificationList", N_LIST, pending_notification},
    END,
};
static const node_t result_error[] = {
    {0x80, "eimTransactionId", N_HEX, NULL}, {0x02, "eimPackageResultErrorCode", N_INT, NULL}, END};
static const node_t provide_result[] = {
    {0x5A, "eidValue", N_HEX, NULL},
    {0xBF51, "euiccPackageResult", N_ERES, NULL},
    {0x30, "ePRAndNotifications", N_SEQ, epr_and_notifications},
    {0xBF52, "ipaEuiccDataResponse", N_SEQ, euicc_data_response},
    {0xBF54, "profileDownloadTriggerResult", N_SEQ, trigger_result},
    {0xA0, "eimPackageResultResponseError", N_SEQ, result_error},
    END,
};
static const node_t handle_notification[] = {
    {0xA0, "pendingNotification", N_SEQ, pending_notification},
    {0xBF50, "provideEimPackageResult", N_SEQ, provide_result},
    END,
};
static const node_t with_cid[] = {
    {0xA0, "correlationId", N_SEQ, correlation_id}, {0x81, "eimPackageError", N_INT, NULL}, END};
static const node_t transfer_response[] = {
    {0xBF51, "euiccPackageResult", N_ERES, NULL},
    {0x30, "ePRAndNotifications", N_SEQ, epr_and_notifications},
    {0xBF52, "ipaEuiccDataResponse", N_SEQ, euicc_data_response},
    {0x05, "eimPackageReceived", N_NULL, NULL},
    {0x02, "eimPackageError", N_INT, NULL},
    {0xBF60, "eimPackageReceivedWithCid", N_SEQ, with_cid},
    {0xBF61, "eimPackageErrorWithCid", N_SEQ, with_cid},
    END,
};
static const node_t get_request[] = {
    {0x5A, "eidValue", N_HEX, NULL},
    {0x80, "notifyStateChange", N_NULL, NULL},
    {0x81, "stateChangeCause", N_INT, NULL},
    {0x82, "rPLMN", N_HEX, NULL},
    END,
};
static const node_t initiate_request[] = {
    {0x81, "euiccChallenge", N_HEX, NULL},
    {0x83, "smdpAddress", N_UTF8, NULL},
    {0xBF20, "euiccInfo1", N_OPAQUE, NULL},
    {0x82, "eimTransactionId", N_HEX, NULL},
    END,
};
static const node_t authenticate_request[] = {
    {0x80, "transactionId", N_HEX, NULL},
    {0xBF38, "authenticateServerResponse", N_OPAQUE, NULL},
    END,
};
static const node_t bpp_request[] = {
    {0x80, "transactionId", N_HEX, NULL},
    {0xBF21, "prepareDownloadResponse", N_OPAQUE, NULL},
    END,
};
static const node_t cancel_request[] = {
    {0x80, "transactionId", N_HEX, NULL},
    {0xA1, "cancelSessionResponse", N_OPAQUE, NULL},
    END,
};
static const node_t ipa_to_eim[] = {
    {0xBF39, "initiateAuthenticationRequestEsipa", N_SEQ, initiate_request},
    {0xBF3B, "authenticateClientRequestEsipa", N_SEQ, authenticate_request},
    {0xBF3A, "getBoundProfilePackageRequestEsipa", N_SEQ, bpp_request},
    {0xBF41, "cancelSessionRequestEsipa", N_SEQ, cancel_request},
    {0xBF3D, "handleNotificationEsipa", N_SEQ, handle_notification},
    {0xBF4E, "transferEimPackageResponse", N_SEQ, transfer_response},
    {0xBF4F, "getEimPackageRequest", N_SEQ, get_request},
    {0xBF50, "provideEimPackageResult", N_SEQ, provide_result},
    END,
};

static const node_t initiate_ok[] = {
    {0x80, "transactionId", N_HEX, NULL},        {0x30, "serverSigned1", N_OPAQUE, NULL},
    {0x5F37, "serverSignature1", N_HEX, NULL},   {0x04, "euiccCiPKIdentifierToBeUsed", N_HEX, NULL},
    {0x30, "serverCertificate", N_OPAQUE, NULL}, {0x0C, "matchingId", N_UTF8, NULL},
    {0xA2, "ctxParams1", N_OPAQUE, NULL},        END,
};
static const node_t initiate_response[] = {
    {0xA0, "initiateAuthenticationOkEsipa", N_SEQ, initiate_ok},
    {0x81, "initiateAuthenticationErrorEsipa", N_INT, NULL},
    END,
};
static const node_t authenticate_ok_dp[] = {
    {0x80, "transactionId", N_HEX, NULL},
    {0xBF25, "profileMetadata", N_OPAQUE, NULL},
    {0x30, "smdpSigned2", N_OPAQUE, NULL},
    {0x5F37, "smdpSignature2", N_HEX, NULL},
    {0x30, "smdpCertificate", N_OPAQUE, NULL},
    {0x04, "hashCc", N_HEX, NULL},
    END,
};
static const node_t authenticate_ok_ds[] = {
    {0x80, "transactionId", N_HEX, NULL},
    {0xBF54, "profileDownloadTrigger", N_SEQ, trigger_request},
    END,
};
static const node_t authenticate_response[] = {
    {0xA0, "authenticateClientOkDPEsipa", N_SEQ, authenticate_ok_dp},
    {0xA1, "authenticateClientOkDSEsipa", N_SEQ, authenticate_ok_ds},
    {0x82, "authenticateClientErrorEsipa", N_INT, NULL},
    END,
};
static const node_t bpp_ok[] = {
    {0x80, "transactionId", N_HEX, NULL},
    {0xBF36, "boundProfilePackage", N_OPAQUE, NULL},
    END,
};
static const node_t bpp_response[] = {
    {0xA0, "getBoundProfilePackageOkEsipa", N_SEQ, bpp_ok},
    {0x81, "getBoundProfilePackageErrorEsipa", N_INT, NULL},
    END,
};
static const node_t cancel_response[] = {
    {0xA0, "cancelSessionOk", N_SEQ, empty},
    {0x81, "cancelSessionError", N_INT, NULL},
    END,
};
static const node_t acknowledgements[] = {{0x80, "sequenceNumber", N_INT, NULL}, END};
static const node_t transfer_request[] = {
    {0xBF51, "euiccPackageRequest", N_EPKG, NULL},
    {0xBF52, "ipaEuiccDataRequest", N_SEQ, euicc_data_request},
    {0xBF53, "eimAcknowledgements", N_LIST, acknowledgements},
    {0xBF54, "profileDownloadTriggerRequest", N_SEQ, trigger_request},
    END,
};
static const node_t get_response[] = {
    {0xBF51, "euiccPackageRequest", N_EPKG, NULL},
    {0xBF52, "ipaEuiccDataRequest", N_SEQ, euicc_data_request},
    {0xBF54, "profileDownloadTriggerRequest", N_SEQ, trigger_request},
    {0x02, "eimPackageError", N_INT, NULL},
    END,
};
static const node_t provide_response[] = {
    {0xBF53, "eimAcknowledgements", N_LIST, acknowledgements},
    {0x30, "emptyResponse", N_SEQ, empty},
    {0x02, "provideEimPackageResultError", N_INT, NULL},
    END,
};
static const node_t eim_to_ipa[] = {
    {0xBF39, "initiateAuthenticationResponseEsipa", N_SEQ, initiate_response},
    {0xBF3B, "authenticateClientResponseEsipa", N_SEQ, authenticate_response},
    {0xBF3A, "getBoundProfilePackageResponseEsipa", N_SEQ, bpp_response},
    {0xBF41, "cancelSessionResponseEsipa", N_SEQ, cancel_response},
    {0xBF4E, "transferEimPackageRequest", N_SEQ, transfer_request},
    {0xBF4F, "getEimPackageResponse", N_SEQ, get_response},
    {0xBF50, "provideEimPackageResultResponse", N_SEQ, provide_response},
    END,
};

static const node_t top_package_request[] = {{0xBF51, "euiccPackageRequest", N_EPKG, NULL}, END};
static const node_t top_package_result[] = {{0xBF51, "euiccPackageResult", N_ERES, NULL}, END};

/* ------------------------------------------------------------------ */

static json_t *hex_value(eim_span_t s)
{
    eim_buf_t b;
    eim_buf_init(&b, 2 * s.len + 1);
    json_t *v = NULL;
    if (eim_hex_encode(s.ptr, s.len, &b) == EIM_OK)
        v = json_stringn(b.len ? (const char *)b.data : "", b.len);
    eim_buf_free(&b);
    return v ? v : json_null();
}

/* Set when a nested object failed its own decoder or an element had no
 * name (skipped as an extension by the liberal decoders): the caller then
 * tries the other readings of the bytes before settling for this one. */
typedef struct {
    bool imperfect;
} render_ctx_t;

static json_t *render(render_ctx_t *ctx, const eim_der_reader_t *parent, const eim_der_elem_t *elem,
                      const node_t *node);

/* The node for tag, preferring entries after the previous match so that
 * repeated tags (serverSigned1/serverCertificate, both 30) get their names
 * in order. */
static const node_t *lookup(const node_t *table, uint32_t tag, size_t *next)
{
    for (size_t i = *next; table[i].name; i++) {
        if (table[i].tag == tag) {
            *next = i + 1;
            return &table[i];
        }
    }
    for (size_t i = 0; table[i].name; i++)
        if (table[i].tag == tag)
            return &table[i];
    return NULL;
}

static json_t *unknown_element(const eim_der_elem_t *elem, char *key, size_t key_size)
{
    snprintf(key, key_size, "unknown%X", (unsigned)elem->tag);
    return hex_value(elem->tlv);
}

static json_t *render_children(render_ctx_t *ctx, const eim_der_reader_t *parent,
                               const eim_der_elem_t *elem, const node_t *table, bool list)
{
    eim_der_reader_t r;
    if (eim_der_enter(parent, elem, &r) != EIM_OK)
        return hex_value(elem->tlv);
    json_t *out = list ? json_array() : json_object();
    size_t next = 0;
    while (!eim_der_at_end(&r)) {
        eim_der_elem_t child;
        if (eim_der_read(&r, &child) != EIM_OK)
            break;
        char key[32];
        const node_t *n = lookup(table, child.tag, &next);
        if (!n)
            ctx->imperfect = true;
        json_t *v = n ? render(ctx, &r, &child, n) : unknown_element(&child, key, sizeof(key));
        const char *name = n ? n->name : key;
        if (list) {
            json_t *item = json_object();
            json_object_set_new(item, name, v);
            json_array_append_new(out, item);
            next = 0;
        } else {
            json_object_set_new(out, name, v);
        }
    }
    return out;
}

static json_t *render_esep(render_ctx_t *ctx, const eim_der_reader_t *parent,
                           const eim_der_elem_t *elem, bool request)
{
    eim_der_error_t err = {0};
    eim_err_t rc;
    bool wrapped = true;
    if (request) {
        eim_euicc_package_request_t *pkg = EIM_NEW(eim_euicc_package_request_t);
        rc = eim_esep_package_decode(elem->tlv.ptr, elem->tlv.len, pkg, &err);
        free(pkg);
    } else {
        eim_euicc_result_t *res = EIM_NEW(eim_euicc_result_t);
        rc = eim_esep_result_decode(elem->tlv.ptr, elem->tlv.len, res, &err);
        wrapped = res->wrapped;
        free(res);
    }
    if (rc != EIM_OK) {
        ctx->imperfect = true;
        json_t *o = json_object();
        char reason[160];
        snprintf(reason, sizeof(reason), "%s at byte %zu of this object (tag %X): %s",
                 eim_strerror(rc), err.offset, (unsigned)err.tag,
                 err.reason ? err.reason : "invalid");
        json_object_set_new(o, "decodeError", json_string(reason));
        json_object_set_new(o, "hex", hex_value(elem->tlv));
        return o;
    }
    if (!wrapped) {
        /* Bare result forms (brief §2.8): no CHOICE tag to name them by. */
        json_t *o = json_object();
        json_object_set_new(o, "wireForm", json_string("bare (no A0/A1/A2 CHOICE tag)"));
        json_object_set_new(o, "hex", hex_value(elem->tlv));
        return o;
    }
    return render_children(ctx, parent, elem, request ? package_request : package_result, false);
}

static json_t *render(render_ctx_t *ctx, const eim_der_reader_t *parent, const eim_der_elem_t *elem,
                      const node_t *node)
{
    switch (node->kind) {
    case N_SEQ: return render_children(ctx, parent, elem, node->children, false);
    case N_LIST: return render_children(ctx, parent, elem, node->children, true);
    case N_INT: {
        int64_t v;
        if (eim_der_get_int(elem, &v) == EIM_OK)
            return json_integer((json_int_t)v);
        return hex_value(elem->value);
    }
    case N_UTF8: {
        json_t *s =
            json_stringn(elem->value.len ? (const char *)elem->value.ptr : "", elem->value.len);
        return s ? s : hex_value(elem->value);
    }
    case N_NULL: return json_true();
    case N_OPAQUE: return hex_value(elem->tlv);
    case N_EPKG: return render_esep(ctx, parent, elem, true);
    case N_ERES: return render_esep(ctx, parent, elem, false);
    case N_HEX: break;
    }
    return hex_value(elem->value);
}

const char *eim_esipa_describe_kind_name(eim_esipa_describe_kind_t kind)
{
    switch (kind) {
    case EIM_DESCRIBE_IPA_TO_EIM: return "EsipaMessageFromIpaToEim";
    case EIM_DESCRIBE_EIM_TO_IPA: return "EsipaMessageFromEimToIpa";
    case EIM_DESCRIBE_EUICC_PACKAGE_REQUEST: return "EuiccPackageRequest";
    case EIM_DESCRIBE_EUICC_PACKAGE_RESULT: return "EuiccPackageResult";
    }
    return "unknown";
}

static eim_err_t try_decode(eim_esipa_describe_kind_t kind, const uint8_t *data, size_t len,
                            eim_der_error_t *err)
{
    eim_err_t rc = EIM_ERR_INVALID_ARG;
    switch (kind) {
    case EIM_DESCRIBE_IPA_TO_EIM: {
        eim_esipa_ipa_to_eim_t *m = EIM_NEW(eim_esipa_ipa_to_eim_t);
        rc = eim_esipa_ipa_to_eim_decode(data, len, m, err);
        free(m);
        break;
    }
    case EIM_DESCRIBE_EIM_TO_IPA: {
        eim_esipa_eim_to_ipa_t *m = EIM_NEW(eim_esipa_eim_to_ipa_t);
        rc = eim_esipa_eim_to_ipa_decode(data, len, m, err);
        free(m);
        break;
    }
    case EIM_DESCRIBE_EUICC_PACKAGE_REQUEST: {
        eim_euicc_package_request_t *m = EIM_NEW(eim_euicc_package_request_t);
        rc = eim_esep_package_decode(data, len, m, err);
        free(m);
        break;
    }
    case EIM_DESCRIBE_EUICC_PACKAGE_RESULT: {
        eim_euicc_result_t *m = EIM_NEW(eim_euicc_result_t);
        rc = eim_esep_result_decode(data, len, m, err);
        free(m);
        break;
    }
    }
    return rc;
}

static json_t *render_top(eim_esipa_describe_kind_t kind, const uint8_t *data, size_t len,
                          render_ctx_t *ctx)
{
    static const node_t *const tops[] = {NULL, ipa_to_eim, eim_to_ipa, top_package_request,
                                         top_package_result};
    eim_der_reader_t r;
    eim_der_elem_t elem;
    eim_der_reader_init(&r, data, len, NULL);
    if (eim_der_read(&r, &elem) != EIM_OK)
        return NULL;
    size_t next = 0;
    const node_t *n = lookup(tops[kind], elem.tag, &next);
    json_t *root = json_object();
    json_object_set_new(root, "message", json_string(eim_esipa_describe_kind_name(kind)));
    if (n)
        json_object_set_new(root, n->name, render(ctx, &r, &elem, n));
    return root;
}

eim_err_t eim_esipa_describe(const uint8_t *data, size_t len, eim_buf_t *out,
                             eim_esipa_describe_kind_t *kind, eim_der_error_t *error)
{
    eim_err_t best_rc = EIM_ERR_DECODE;
    eim_der_error_t best = {0};
    eim_esipa_describe_kind_t best_kind = EIM_DESCRIBE_IPA_TO_EIM;
    bool have_best = false;
    json_t *fallback = NULL; /* first reading with a nested error */
    eim_esipa_describe_kind_t fallback_kind = EIM_DESCRIBE_IPA_TO_EIM;
    json_t *chosen = NULL;
    eim_esipa_describe_kind_t chosen_kind = EIM_DESCRIBE_IPA_TO_EIM;
    for (int k = EIM_DESCRIBE_IPA_TO_EIM; k <= EIM_DESCRIBE_EUICC_PACKAGE_RESULT && !chosen; k++) {
        eim_der_error_t err = {0};
        eim_err_t rc = try_decode((eim_esipa_describe_kind_t)k, data, len, &err);
        if (rc == EIM_OK) {
            /* Both envelopes carry BF51 opaquely (e.g. BF4E holds a package
             * request one way and a result the other) and skip unknown
             * elements: prefer the reading in which every element is named
             * and every nested object decodes. */
            render_ctx_t ctx = {false};
            json_t *root = render_top((eim_esipa_describe_kind_t)k, data, len, &ctx);
            if (!root)
                continue;
            if (!ctx.imperfect) {
                chosen = root;
                chosen_kind = (eim_esipa_describe_kind_t)k;
            } else if (!fallback) {
                fallback = root;
                fallback_kind = (eim_esipa_describe_kind_t)k;
            } else {
                json_decref(root);
            }
            continue;
        }
        /* Keep the attempt that got furthest; on a tie the first (the
         * envelopes come first). */
        if (!have_best || err.offset > best.offset) {
            best = err;
            best_rc = rc;
            best_kind = (eim_esipa_describe_kind_t)k;
            have_best = true;
        }
    }
    if (!chosen && fallback) {
        chosen = fallback;
        chosen_kind = fallback_kind;
        fallback = NULL;
    }
    json_decref(fallback);
    if (!chosen) {
        if (error)
            *error = best;
        if (kind)
            *kind = best_kind;
        return best_rc;
    }
    char *text = json_dumps(chosen, JSON_INDENT(2));
    json_decref(chosen);
    if (!text)
        return EIM_ERR_LIMIT;
    eim_err_t aerr = eim_buf_append_str(out, text);
    if (!aerr)
        aerr = eim_buf_append_byte(out, '\n');
    free(text);
    if (kind)
        *kind = chosen_kind;
    return aerr;
}
