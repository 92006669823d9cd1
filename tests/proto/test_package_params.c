/*
 * proto/esep/package_params: every PSMO and eCO, BF52 and BF54 shapes
 * parse into the structures the encoders take (checked field by field and
 * by encoding); every error path is refused with a message naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/esep/package_params.h"

static eim_package_params_t *parse_ok(const char *kind, const char *json)
{
    eim_package_params_t *p = NULL;
    char error[256];
    eim_err_t err = eim_package_params_parse(kind, json, strlen(json), &p, error, sizeof(error));
    if (err)
        print_error("unexpected failure for %s: %s\n", json, error);
    assert_int_equal(err, EIM_OK);
    assert_non_null(p);
    return p;
}

static const uint8_t ICCID[10] = {0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x14};

static void test_every_psmo(void **state)
{
    (void)state;
    eim_package_params_t *p =
        parse_ok("psmo", "{\"psmos\":["
                         "{\"enable\":{\"iccid\":\"98001032547698103214\",\"rollbackFlag\":true}},"
                         "{\"disable\":{\"iccid\":\"98001032547698103214\"}},"
                         "{\"delete\":{\"iccid\":\"98001032547698103214\"}},"
                         "{\"listProfileInfo\":{\"searchCriteria\":{\"profileClass\":2},"
                         "\"tagList\":\"5A9F70\"}},"
                         "{\"getRAT\":{}},"
                         "{\"configureImmediateEnable\":{\"immediateEnableFlag\":true,"
                         "\"defaultSmdpOid\":\"2.999.1\",\"defaultSmdpAddress\":\"smdp.example\"}},"
                         "{\"setFallbackAttribute\":{\"iccid\":\"98001032547698103214\"}},"
                         "{\"unsetFallbackAttribute\":{}},"
                         "{\"setDefaultDpAddress\":{\"defaultDpAddress\":\"smdp.example.com\"}},"
                         "{\"listProfileInfo\":{}}]}");
    assert_int_equal(p->kind, EIM_PARAMS_PSMO);
    eim_euicc_package_t *k = &p->package;
    assert_int_equal(k->list, EIM_PACKAGE_PSMO_LIST);
    assert_int_equal(k->count, 10);
    assert_int_equal(k->psmos[0].kind, EIM_PSMO_ENABLE);
    assert_memory_equal(k->psmos[0].iccid.ptr, ICCID, 10);
    assert_true(k->psmos[0].rollback_flag);
    assert_int_equal(k->psmos[1].kind, EIM_PSMO_DISABLE);
    assert_int_equal(k->psmos[2].kind, EIM_PSMO_DELETE);
    assert_int_equal(k->psmos[3].kind, EIM_PSMO_LIST_PROFILE_INFO);
    assert_int_equal(k->psmos[3].list_profile_info.search, EIM_SEARCH_PROFILE_CLASS);
    assert_int_equal(k->psmos[3].list_profile_info.profile_class, 2);
    assert_int_equal(k->psmos[3].list_profile_info.tag_list.len, 3);
    assert_int_equal(k->psmos[4].kind, EIM_PSMO_GET_RAT);
    assert_int_equal(k->psmos[5].kind, EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE);
    assert_true(k->psmos[5].immediate_enable_flag);
    static const uint8_t oid[] = {0x88, 0x37, 0x01}; /* 2.999.1 */
    assert_int_equal(k->psmos[5].default_smdp_oid.len, 3);
    assert_memory_equal(k->psmos[5].default_smdp_oid.ptr, oid, 3);
    assert_int_equal(k->psmos[5].default_smdp_address.len, 12);
    assert_int_equal(k->psmos[6].kind, EIM_PSMO_SET_FALLBACK_ATTRIBUTE);
    assert_int_equal(k->psmos[7].kind, EIM_PSMO_UNSET_FALLBACK_ATTRIBUTE);
    assert_int_equal(k->psmos[8].kind, EIM_PSMO_SET_DEFAULT_DP_ADDRESS);
    assert_memory_equal(k->psmos[8].default_dp_address.ptr, "smdp.example.com", 16);
    assert_int_equal(k->psmos[9].list_profile_info.search, EIM_SEARCH_NONE);
    eim_package_params_free(p);

    /* the inventory storage schedules (migrations/0002) */
    p = parse_ok("psmo", "{\"purpose\":\"inventory\",\"psmos\":[{\"listProfileInfo\":{}}]}");
    assert_int_equal(p->package.count, 1);
    eim_package_params_free(p);
    /* search criteria iccid / isdpAid */
    p = parse_ok("psmo",
                 "{\"psmos\":[{\"listProfileInfo\":{\"searchCriteria\":"
                 "{\"iccid\":\"98001032547698103214\"}}},{\"listProfileInfo\":"
                 "{\"searchCriteria\":{\"isdpAid\":\"A0000005591010FFFFFFFF8900001100\"}}}]}");
    assert_int_equal(p->package.psmos[0].list_profile_info.search, EIM_SEARCH_ICCID);
    assert_int_equal(p->package.psmos[1].list_profile_info.search, EIM_SEARCH_ISDP_AID);
    assert_int_equal(p->package.psmos[1].list_profile_info.search_value.len, 16);
    eim_package_params_free(p);
}

/* A DER SubjectPublicKeyInfo-shaped SEQUENCE (contents are opaque here). */
#define SPKI_B64 "MAYCAQECAQI=" /* 30 06 02 01 01 02 01 02 */

static void test_every_eco(void **state)
{
    (void)state;
    eim_package_params_t *p =
        parse_ok("eco", "{\"ecos\":["
                        "{\"addEim\":{\"eimId\":\"eim2.example\",\"eimFqdn\":\"eim2.example:8443\","
                        "\"eimIdType\":2,\"counterValue\":10,\"associationToken\":300,"
                        "\"eimPublicKeyData\":{\"eimPublicKey\":\"" SPKI_B64 "\"},"
                        "\"trustedPublicKeyDataTls\":{\"trustedCertificateTls\":\"" SPKI_B64 "\"},"
                        "\"eimSupportedProtocol\":[\"eimRetrieveHttps\",\"eimRetrieveCoaps\"],"
                        "\"euiccCiPKId\":\"F54172BDF98A95D65CBEB88A38A1C11D800A85C3\","
                        "\"indirectProfileDownload\":true}},"
                        "{\"deleteEim\":{\"eimId\":\"old.example\"}},"
                        "{\"updateEim\":{\"eimId\":\"eim2.example\",\"eimFqdn\":\"new.example\"}},"
                        "{\"listEim\":{}}]}");
    assert_int_equal(p->kind, EIM_PARAMS_ECO);
    eim_euicc_package_t *k = &p->package;
    assert_int_equal(k->list, EIM_PACKAGE_ECO_LIST);
    assert_int_equal(k->count, 4);
    const eim_eim_config_t *c = &k->ecos[0].config;
    assert_int_equal(k->ecos[0].kind, EIM_ECO_ADD_EIM);
    assert_memory_equal(c->eim_id.ptr, "eim2.example", 12);
    assert_true(c->has_eim_id_type && c->eim_id_type == 2);
    assert_true(c->has_counter_value && c->counter_value == 10);
    assert_true(c->has_association_token && c->association_token == 300);
    assert_int_equal(c->eim_public_key_data.kind, EIM_KEY_DATA_PUBLIC_KEY);
    assert_int_equal(c->eim_public_key_data.contents.len, 6); /* 30 06 stripped */
    assert_int_equal(c->trusted_public_key_data_tls.kind, EIM_KEY_DATA_CERTIFICATE);
    static const uint8_t bits[] = {0x06, 0xC0}; /* bits 0,1; 6 unused */
    assert_int_equal(c->eim_supported_protocol.len, 2);
    assert_memory_equal(c->eim_supported_protocol.ptr, bits, 2);
    assert_int_equal(c->euicc_ci_pkid.len, 20);
    assert_true(c->indirect_profile_download);
    assert_int_equal(k->ecos[1].kind, EIM_ECO_DELETE_EIM);
    assert_memory_equal(k->ecos[1].eim_id.ptr, "old.example", 11);
    assert_int_equal(k->ecos[2].kind, EIM_ECO_UPDATE_EIM);
    assert_int_equal(k->ecos[3].kind, EIM_ECO_LIST_EIM);
    eim_package_params_free(p);
}

static void test_data_request_and_trigger(void **state)
{
    (void)state;
    eim_package_params_t *p = parse_ok(
        "euicc_data_request", "{\"tagList\":\"A5A6BF20\",\"euiccCiPKIdentifierToBeUsed\":\"0102\","
                              "\"searchCriteriaNotification\":{\"profileManagementOperation\":"
                              "[\"enable\",\"delete\"]}}");
    assert_int_equal(p->kind, EIM_PARAMS_EUICC_DATA_REQUEST);
    assert_int_equal(p->data_request.tag_list.len, 4);
    assert_true(p->data_request.has_euicc_ci_pkid);
    assert_int_equal(p->data_request.notification_search, EIM_ESIPA_NOTIFICATION_SEARCH_EVENT);
    assert_int_equal(p->data_request.notification_event,
                     EIM_ESIPA_EVENT_ENABLE | EIM_ESIPA_EVENT_DELETE);
    eim_package_params_free(p);
    /* the replay fetch storage schedules: tagList defaults to A2 */
    p = parse_ok("euicc_data_request", "{\"searchCriteriaEuiccPackageResult\":true,"
                                       "\"operation\":\"x\",\"counter_value\":5}");
    assert_int_equal(p->data_request.tag_list.len, 1);
    assert_int_equal(p->data_request.tag_list.ptr[0], 0xA2);
    assert_false(p->data_request.has_package_result_seq_number);
    eim_package_params_free(p);
    p = parse_ok("euicc_data_request",
                 "{\"tagList\":\"A2\",\"searchCriteriaEuiccPackageResult\":{\"seqNumber\":7}}");
    assert_true(p->data_request.has_package_result_seq_number);
    assert_int_equal(p->data_request.package_result_seq_number, 7);
    eim_package_params_free(p);

    p = parse_ok("download_trigger", "{\"activationCode\":\"1$smdp.example.com$MATCHING-ID\"}");
    assert_int_equal(p->trigger.data_kind, EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE);
    assert_int_equal(p->trigger.activation_code.len, 30);
    eim_package_params_free(p);
    p = parse_ok("download_trigger", "{\"contactDefaultSmdp\":true}");
    assert_int_equal(p->trigger.data_kind, EIM_ESIPA_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP);
    eim_package_params_free(p);
    p = parse_ok("download_trigger", "{\"contactSmds\":{\"smdsAddress\":\"smds.example\"}}");
    assert_int_equal(p->trigger.data_kind, EIM_ESIPA_DOWNLOAD_DATA_CONTACT_SMDS);
    assert_true(p->trigger.has_smds_address);
    eim_package_params_free(p);
    p = parse_ok("download_trigger", "{\"contactSmds\":{}}");
    assert_false(p->trigger.has_smds_address);
    eim_package_params_free(p);
}

typedef struct {
    const char *kind;
    const char *json;
    eim_err_t err;
    const char *message; /* substring of the error message */
} reject_t;

static const reject_t rejects[] = {
    {"nope", "{}", EIM_ERR_NOT_FOUND, "kind"},
    {"psmo", "[1]", EIM_ERR_INVALID_ARG, "must be a JSON object"},
    {"psmo", "{\"psmos\":", EIM_ERR_DECODE, "not JSON"},
    {"psmo", "{\"psmos\":[],\"psmos\":[]}", EIM_ERR_DECODE, "not JSON"},
    {"psmo", "{}", EIM_ERR_INVALID_ARG, "psmos: must be a non-empty array"},
    {"psmo", "{\"psmos\":[]}", EIM_ERR_INVALID_ARG, "psmos: must be a non-empty array"},
    {"psmo", "{\"psmos\":[{}],\"x\":1}", EIM_ERR_INVALID_ARG, "x: unknown member"},
    {"psmo", "{\"psmos\":[{\"enable\":{}, \"disable\":{}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0]: must be an object with exactly one member"},
    {"psmo", "{\"psmos\":[{\"frobnicate\":{}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].frobnicate: unknown PSMO"},
    {"psmo", "{\"psmos\":[{\"enable\":[]}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].enable: must be an object"},
    {"psmo", "{\"psmos\":[{\"enable\":{}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].enable.iccid: is required"},
    {"psmo", "{\"psmos\":[{\"enable\":{\"iccid\":\"9800\"}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].enable.iccid: must decode to 10..10 bytes"},
    {"psmo", "{\"psmos\":[{\"enable\":{\"iccid\":\"98001032547698103Z14\"}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].enable.iccid: not valid hex"},
    {"psmo", "{\"psmos\":[{\"enable\":{\"iccid\":7}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].enable.iccid: must be a hex string"},
    {"psmo", "{\"psmos\":[{\"enable\":{\"iccid\":\"98001032547698103214\",\"rollbackFlag\":1}}]}",
     EIM_ERR_INVALID_ARG, "psmos[0].enable.rollbackFlag: must be true or false"},
    {"psmo", "{\"psmos\":[{\"enable\":{\"iccid\":\"98001032547698103214\",\"x\":1}}]}",
     EIM_ERR_INVALID_ARG, "psmos[0].enable.x: unknown member"},
    {"psmo", "{\"psmos\":[{\"disable\":{\"iccid\":\"98\"}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].disable.iccid"},
    {"psmo", "{\"psmos\":[{\"delete\":{}}]}", EIM_ERR_INVALID_ARG, "psmos[0].delete.iccid"},
    {"psmo", "{\"psmos\":[{\"setFallbackAttribute\":{}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].setFallbackAttribute.iccid"},
    {"psmo", "{\"psmos\":[{\"getRAT\":{\"a\":1}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].getRAT.a: unknown member"},
    {"psmo", "{\"psmos\":[{\"unsetFallbackAttribute\":{\"a\":1}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].unsetFallbackAttribute.a"},
    {"psmo", "{\"psmos\":[{\"listProfileInfo\":{\"searchCriteria\":{}}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].listProfileInfo.searchCriteria: must hold exactly one"},
    {"psmo", "{\"psmos\":[{\"listProfileInfo\":{\"searchCriteria\":{\"profileClass\":3}}}]}",
     EIM_ERR_INVALID_ARG, "psmos[0].listProfileInfo.searchCriteria.profileClass: must be 0..2"},
    {"psmo", "{\"psmos\":[{\"listProfileInfo\":{\"searchCriteria\":{\"isdpAid\":\"\"}}}]}",
     EIM_ERR_INVALID_ARG, "searchCriteria.isdpAid: must decode to 1..16"},
    {"psmo", "{\"psmos\":[{\"listProfileInfo\":{\"tagList\":\"5\"}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].listProfileInfo.tagList: not valid hex"},
    {"psmo", "{\"psmos\":[{\"configureImmediateEnable\":{\"defaultSmdpOid\":\"1.2.x\"}}]}",
     EIM_ERR_INVALID_ARG, "psmos[0].configureImmediateEnable.defaultSmdpOid: not a dotted OID"},
    {"psmo", "{\"psmos\":[{\"configureImmediateEnable\":{\"defaultSmdpOid\":\"7.1\"}}]}",
     EIM_ERR_INVALID_ARG, "defaultSmdpOid: not a valid OID"},
    {"psmo", "{\"psmos\":[{\"configureImmediateEnable\":{\"defaultSmdpAddress\":\"\"}}]}",
     EIM_ERR_INVALID_ARG, "defaultSmdpAddress: length must be 1..255"},
    {"psmo", "{\"psmos\":[{\"setDefaultDpAddress\":{}}]}", EIM_ERR_INVALID_ARG,
     "psmos[0].setDefaultDpAddress.defaultDpAddress: is required"},
    {"psmo", "{\"psmos\":[{\"setDefaultDpAddress\":{\"defaultDpAddress\":5}}]}",
     EIM_ERR_INVALID_ARG, "defaultDpAddress: must be a string"},
    {"eco", "{\"ecos\":[{\"addEim\":{}}]}", EIM_ERR_INVALID_ARG,
     "ecos[0].addEim.eimId: is required"},
    {"eco", "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"eimIdType\":4}}]}", EIM_ERR_INVALID_ARG,
     "ecos[0].addEim.eimIdType: must be 1..3"},
    {"eco", "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"counterValue\":8388608}}]}",
     EIM_ERR_INVALID_ARG, "ecos[0].addEim.counterValue: must be 0..8388607"},
    {"eco", "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"associationToken\":\"1\"}}]}",
     EIM_ERR_INVALID_ARG, "associationToken: must be an integer"},
    {"eco", "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"eimPublicKeyData\":{}}}]}",
     EIM_ERR_INVALID_ARG, "eimPublicKeyData: must hold exactly one of eimPublicKey"},
    {"eco",
     "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"eimPublicKeyData\":{\"eimPublicKey\":"
     "\"AQID\"}}}]}",
     EIM_ERR_INVALID_ARG, "eimPublicKeyData.eimPublicKey: must be one DER SEQUENCE"},
    {"eco",
     "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"eimPublicKeyData\":{\"eimPublicKey\":"
     "\"!!\"}}}]}",
     EIM_ERR_INVALID_ARG, "eimPublicKey: not valid base64"},
    {"eco", "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"trustedPublicKeyDataTls\":{\"x\":1}}}]}",
     EIM_ERR_INVALID_ARG, "trustedPublicKeyDataTls.x: unknown member"},
    {"eco", "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"eimSupportedProtocol\":[\"ftp\"]}}]}",
     EIM_ERR_INVALID_ARG, "eimSupportedProtocol: element 0"},
    {"eco", "{\"ecos\":[{\"addEim\":{\"eimId\":\"a\",\"euiccCiPKId\":\"\"}}]}", EIM_ERR_INVALID_ARG,
     "euiccCiPKId: must decode to 1..32"},
    {"eco", "{\"ecos\":[{\"updateEim\":{\"eimId\":\"\"}}]}", EIM_ERR_INVALID_ARG,
     "ecos[0].updateEim.eimId: length must be 1..128"},
    {"eco", "{\"ecos\":[{\"deleteEim\":{}}]}", EIM_ERR_INVALID_ARG,
     "ecos[0].deleteEim.eimId: is required"},
    {"eco", "{\"ecos\":[{\"listEim\":{\"a\":1}}]}", EIM_ERR_INVALID_ARG, "ecos[0].listEim.a"},
    {"eco", "{\"ecos\":[{\"enable\":{}}]}", EIM_ERR_INVALID_ARG, "ecos[0].enable: unknown eCO"},
    {"eco", "{\"psmos\":[{\"getRAT\":{}}]}", EIM_ERR_INVALID_ARG, "psmos: unknown member"},
    {"euicc_data_request", "{}", EIM_ERR_INVALID_ARG, "tagList: is required"},
    {"euicc_data_request", "{\"tagList\":\"5A\"}", EIM_ERR_INVALID_ARG,
     "tagList: only IpaEuiccData tags"},
    {"euicc_data_request", "{\"tagList\":\"BF2D\"}", EIM_ERR_INVALID_ARG, "tagList: only"},
    {"euicc_data_request", "{\"tagList\":\"A0\",\"searchCriteriaNotification\":{}}",
     EIM_ERR_INVALID_ARG, "searchCriteriaNotification: must hold exactly one"},
    {"euicc_data_request",
     "{\"tagList\":\"A0\",\"searchCriteriaNotification\":{\"profileManagementOperation\":"
     "[\"boot\"]}}",
     EIM_ERR_INVALID_ARG, "profileManagementOperation: element 0"},
    {"euicc_data_request", "{\"tagList\":\"A0\",\"searchCriteriaNotification\":{\"seqNumber\":-1}}",
     EIM_ERR_INVALID_ARG, "searchCriteriaNotification.seqNumber: must be 0.."},
    {"euicc_data_request", "{\"searchCriteriaEuiccPackageResult\":false}", EIM_ERR_INVALID_ARG,
     "searchCriteriaEuiccPackageResult: must be true or"},
    {"download_trigger", "{}", EIM_ERR_INVALID_ARG, "exactly one of activationCode"},
    {"download_trigger", "{\"activationCode\":\"a\",\"contactDefaultSmdp\":true}",
     EIM_ERR_INVALID_ARG, "exactly one of"},
    {"download_trigger", "{\"activationCode\":\"\"}", EIM_ERR_INVALID_ARG,
     "activationCode: length must be 1..255"},
    {"download_trigger", "{\"contactDefaultSmdp\":false}", EIM_ERR_INVALID_ARG,
     "contactDefaultSmdp: must be true"},
    {"download_trigger", "{\"contactSmds\":{\"smdsAddress\":1}}", EIM_ERR_INVALID_ARG,
     "contactSmds.smdsAddress: must be a string"},
};

static void test_rejections(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
        const reject_t *r = &rejects[i];
        char error[256] = "";
        eim_err_t err =
            eim_package_params_validate(r->kind, r->json, strlen(r->json), error, sizeof(error));
        if (err != r->err || !strstr(error, r->message))
            print_error("case %zu (%s): got %d \"%s\", want %d \"%s\"\n", i, r->json, err, error,
                        r->err, r->message);
        assert_int_equal(err, r->err);
        assert_non_null(strstr(error, r->message));
    }
}

static void test_limits(void **state)
{
    (void)state;
    char json[4096];
    size_t n = (size_t)snprintf(json, sizeof(json), "{\"psmos\":[");
    for (int i = 0; i < EIM_ESEP_MAX_PSMOS + 1; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "%s{\"getRAT\":{}}", i ? "," : "");
    snprintf(json + n, sizeof(json) - n, "]}");
    char error[256];
    assert_int_equal(eim_package_params_validate("psmo", json, strlen(json), error, sizeof(error)),
                     EIM_ERR_LIMIT);
    assert_non_null(strstr(error, "psmos: at most 32"));
    static char big[EIM_PACKAGE_PARAMS_MAX + 2];
    memset(big, ' ', sizeof(big) - 1);
    assert_int_equal(
        eim_package_params_validate("psmo", big, sizeof(big) - 1, error, sizeof(error)),
        EIM_ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_psmo),
        cmocka_unit_test(test_every_eco),
        cmocka_unit_test(test_data_request_and_trigger),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
