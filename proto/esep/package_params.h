/*
 * Operation parameters: the JSON operators enqueue for a device (stored in
 * operations.parameters, migrations/0002) and its translation into the
 * structures the encoders take. Field names are the ASN.1 names of SGP.32
 * v1.2 Annex A (brief §2.3 PSMOs and eCOs, §2.4 EimConfigurationData, §2.5
 * IpaEuiccDataRequest, §2.6 ProfileDownloadTriggerRequest).
 *
 *   kind "psmo"   {"psmos": [{"enable": {"iccid": "<20 hex>", "rollbackFlag": true}},
 *                            {"disable": {"iccid"}}, {"delete": {"iccid"}},
 *                            {"listProfileInfo": {"searchCriteria": {"iccid" | "isdpAid" |
 *                                                 "profileClass": 0..2}, "tagList": "<hex>"}},
 *                            {"getRAT": {}}, {"configureImmediateEnable":
 *                              {"immediateEnableFlag", "defaultSmdpOid": "2.999.1",
 *                               "defaultSmdpAddress"}},
 *                            {"setFallbackAttribute": {"iccid"}}, {"unsetFallbackAttribute": {}},
 *                            {"setDefaultDpAddress": {"defaultDpAddress": "smdp.example"}}]}
 *   kind "eco"    {"ecos": [{"addEim": {EimConfigurationData}}, {"deleteEim": {"eimId"}},
 *                           {"updateEim": {EimConfigurationData}}, {"listEim": {}}]}
 *                 EimConfigurationData: eimId, eimFqdn, eimIdType (1..3), counterValue,
 *                 associationToken, eimPublicKeyData {"eimPublicKey"|"eimCertificate":
 *                 base64 DER}, trustedPublicKeyDataTls {"trustedEimPkTls"|
 *                 "trustedCertificateTls": base64 DER}, eimSupportedProtocol [bit names],
 *                 euiccCiPKId (hex), indirectProfileDownload (true).
 *   kind "euicc_data_request" {"tagList": "<hex>", "euiccCiPKIdentifierToBeUsed": "<hex>",
 *                 "searchCriteriaNotification": {"seqNumber": n} | {"profileManagementOperation":
 *                 ["install","enable","disable","delete"]},
 *                 "searchCriteriaEuiccPackageResult": {"seqNumber": n} | true}
 *   kind "download_trigger" {"activationCode": "..."} | {"contactDefaultSmdp": true}
 *                 | {"contactSmds": {"smdsAddress": "..."}}
 *
 * Every object is checked strictly: unknown members, wrong types and values
 * outside the ASN.1 constraints are refused with a message naming the
 * field by its JSON path (e.g. "psmos[1].enable.iccid: ..."), which the
 * REST API returns as a 400 at enqueue time. Members that storage itself
 * writes (purpose, operation, counter_value) are allowed and ignored.
 * docs/interpretation-log.md ("Operation parameters") lists the readings.
 */
#ifndef EIM_PROTO_ESEP_PACKAGE_PARAMS_H
#define EIM_PROTO_ESEP_PACKAGE_PARAMS_H

#include <stddef.h>

#include "proto/base/error.h"
#include "proto/esep/euicc_package.h"
#include "proto/esipa/download_trigger.h"
#include "proto/esipa/euicc_data.h"

/* Largest parameters text accepted (same bound as storage's column). */
#define EIM_PACKAGE_PARAMS_MAX 16384

typedef enum {
    EIM_PARAMS_PSMO = 1,
    EIM_PARAMS_ECO,
    EIM_PARAMS_EUICC_DATA_REQUEST,
    EIM_PARAMS_DOWNLOAD_TRIGGER,
} eim_params_kind_t;

/* Parsed parameters. Spans point into the object's own storage: it is
 * valid until eim_package_params_free. For PSMO/ECO only package.list,
 * count and the psmos[]/ecos[] entries are filled: eimId, EID, counter and
 * transaction id are the builder's. For the BF52/BF54 kinds the
 * transaction id is left unset too. */
typedef struct {
    eim_params_kind_t kind;
    eim_euicc_package_t package;
    eim_esipa_euicc_data_request_t data_request;
    eim_esipa_download_trigger_request_t trigger;
    uint8_t *storage; /* owned */
    size_t storage_used, storage_cap;
} eim_package_params_t;

/* "psmo" -> EIM_PARAMS_PSMO, ...; EIM_ERR_NOT_FOUND for anything else. */
eim_err_t eim_package_params_kind(const char *kind, eim_params_kind_t *out);

/* Parses json[0..len) for kind. On success *out is a fresh heap object
 * (free with eim_package_params_free). On failure *out is NULL, the result
 * is EIM_ERR_INVALID_ARG (bad value), EIM_ERR_DECODE (not JSON),
 * EIM_ERR_LIMIT (too long / too many entries) or EIM_ERR_NOT_FOUND (unknown
 * kind), and error (optional, NUL-terminated, truncated to error_size)
 * names the field and the reason. */
eim_err_t eim_package_params_parse(const char *kind, const char *json, size_t len,
                                   eim_package_params_t **out, char *error, size_t error_size);

/* Validation only (the REST API at enqueue time): same rules and messages. */
eim_err_t eim_package_params_validate(const char *kind, const char *json, size_t len, char *error,
                                      size_t error_size);

void eim_package_params_free(eim_package_params_t *params);

#endif
