/*
 * ESipa JSON binding (SGP.32 v1.2 §6.4, brief §4.2): every ESipa vector
 * goes ASN.1 -> struct -> JSON -> struct -> ASN.1 and must give the golden
 * bytes back; hand-written JSON bodies map to the Appendix B encodings; every
 * error path reports the member at fault.
 */
#include "esipa_test_util.h"
#include "esipa_vectors.h"

#include <jansson.h>

#include "proto/base/text_codec.h"
#include "proto/esipa/esipa_json.h"

#define EID_HEX  "89049032123451234512345678901235"
#define TXID_HEX "0102030405060708090A0B0C0D0E0F10"

static const esipa_vector_t *find_vector(const char *name)
{
    for (size_t i = 0; i < ESIPA_VECTOR_COUNT; i++)
        if (strcmp(esipa_vectors[i].name, name) == 0)
            return &esipa_vectors[i];
    fail_msg("no vector %s", name);
    return NULL;
}

static void assert_der_equals_vector(eim_buf_t *der, const char *vector)
{
    size_t len;
    uint8_t *want = test_hex(find_vector(vector)->hex, &len);
    test_assert_bytes(der->data, der->len, want, len);
    free(want);
}

/* JSON text -> request struct -> DER. */
static eim_err_t request_to_der(const char *fn, const char *json, eim_buf_t *der,
                                eim_esipa_json_error_t *error)
{
    eim_esipa_json_scratch_t scratch;
    eim_esipa_json_scratch_init(&scratch, EIM_ESIPA_JSON_MAX_TEXT);
    eim_esipa_ipa_to_eim_t *msg = EIM_NEW(eim_esipa_ipa_to_eim_t);
    eim_err_t err = eim_esipa_json_decode_request(fn, json, strlen(json), &scratch, msg, error);
    if (!err)
        err = eim_esipa_ipa_to_eim_encode(msg, der);
    free(msg);
    eim_esipa_json_scratch_free(&scratch);
    return err;
}

static eim_err_t response_to_der(const char *fn, const char *json, eim_buf_t *der,
                                 eim_esipa_json_error_t *error)
{
    eim_esipa_json_scratch_t scratch;
    eim_esipa_json_scratch_init(&scratch, EIM_ESIPA_JSON_MAX_TEXT);
    eim_esipa_eim_to_ipa_t *msg = EIM_NEW(eim_esipa_eim_to_ipa_t);
    eim_err_t err = eim_esipa_json_decode_response(fn, json, strlen(json), &scratch, msg, error);
    if (!err)
        err = eim_esipa_eim_to_ipa_encode(msg, der);
    free(msg);
    eim_esipa_json_scratch_free(&scratch);
    return err;
}

/* Every vector: DER -> struct -> JSON -> struct -> DER is the identity, and
 * the JSON of the second struct equals the first JSON. */
static void test_all_vectors_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ESIPA_VECTOR_COUNT; i++) {
        const esipa_vector_t *v = &esipa_vectors[i];
        size_t len;
        uint8_t *bytes = test_hex(v->hex, &len);
        eim_der_error_t derr;
        eim_buf_t json, json2, der;
        eim_buf_init(&json, EIM_ESIPA_JSON_MAX_TEXT);
        eim_buf_init(&json2, EIM_ESIPA_JSON_MAX_TEXT);
        eim_buf_init(&der, 1 << 20);
        eim_esipa_json_error_t jerr;
        eim_esipa_json_scratch_t scratch;
        eim_esipa_json_scratch_init(&scratch, EIM_ESIPA_JSON_MAX_TEXT);
        eim_err_t rc;
        if (v->from_ipa) {
            eim_esipa_ipa_to_eim_t *a = EIM_NEW(eim_esipa_ipa_to_eim_t);
            eim_esipa_ipa_to_eim_t *b = EIM_NEW(eim_esipa_ipa_to_eim_t);
            assert_int_equal(eim_esipa_ipa_to_eim_decode(bytes, len, a, &derr), EIM_OK);
            assert_int_equal(eim_esipa_json_encode_request(a, &json), EIM_OK);
            const char *fn = eim_esipa_json_function_name(a->function);
            rc = eim_esipa_json_decode_request(fn, (const char *)json.data, json.len, &scratch, b,
                                               &jerr);
            if (rc)
                fail_msg("%s: %s: %s [%.*s]", v->name, jerr.field, jerr.message, (int)json.len,
                         json.data);
            assert_int_equal(b->function, a->function);
            assert_int_equal(eim_esipa_ipa_to_eim_encode(b, &der), EIM_OK);
            assert_int_equal(eim_esipa_json_encode_request(b, &json2), EIM_OK);
            free(a);
            free(b);
        } else {
            eim_esipa_eim_to_ipa_t *a = EIM_NEW(eim_esipa_eim_to_ipa_t);
            eim_esipa_eim_to_ipa_t *b = EIM_NEW(eim_esipa_eim_to_ipa_t);
            assert_int_equal(eim_esipa_eim_to_ipa_decode(bytes, len, a, &derr), EIM_OK);
            assert_int_equal(eim_esipa_json_encode_response(a, &json), EIM_OK);
            const char *fn = eim_esipa_json_function_name(a->function);
            rc = eim_esipa_json_decode_response(fn, (const char *)json.data, json.len, &scratch, b,
                                                &jerr);
            if (rc)
                fail_msg("%s: %s: %s [%.*s]", v->name, jerr.field, jerr.message, (int)json.len,
                         json.data);
            assert_int_equal(b->function, a->function);
            assert_int_equal(eim_esipa_eim_to_ipa_encode(b, &der), EIM_OK);
            assert_int_equal(eim_esipa_json_encode_response(b, &json2), EIM_OK);
            free(a);
            free(b);
        }
        test_assert_bytes(der.data, der.len, bytes, len);
        test_assert_bytes(json2.data, json2.len, json.data, json.len);
        eim_esipa_json_scratch_free(&scratch);
        eim_buf_free(&json);
        eim_buf_free(&json2);
        eim_buf_free(&der);
        free(bytes);
    }
}

/* Hand-written bodies in the brief's §4.2 shape map to Appendix B. */
static void test_get_eim_package_json(void **state)
{
    (void)state;
    eim_buf_t der;
    eim_buf_init(&der, 4096);
    eim_esipa_json_error_t e;
    assert_int_equal(request_to_der("getEimPackage", "{\"eidValue\":\"" EID_HEX "\"}", &der, &e),
                     EIM_OK);
    assert_der_equals_vector(&der, "b1_get_eim_package_request");
    eim_buf_reset(&der);
    /* Full form, path given as the whole path, lower-case hex accepted. */
    assert_int_equal(request_to_der("/gsma/rsp2/esipa/getEimPackage",
                                    "{\"eidValue\":\"89049032123451234512345678901235\","
                                    "\"notifyStateChange\":true,\"stateChangeCause\":4,"
                                    "\"rPLMN\":\"62f210\"}",
                                    &der, &e),
                     EIM_OK);
    assert_der_equals_vector(&der, "get_req_full");
    eim_buf_reset(&der);
    /* notifyStateChange false is the absent NULL. */
    assert_int_equal(request_to_der("getEimPackage",
                                    "{\"eidValue\":\"" EID_HEX "\",\"notifyStateChange\":false}",
                                    &der, &e),
                     EIM_OK);
    assert_der_equals_vector(&der, "b1_get_eim_package_request");
    eim_buf_reset(&der);
    assert_int_equal(
        response_to_der(
            "getEimPackage",
            "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}},"
            "\"eimPackageError\":1}",
            &der, &e),
        EIM_OK);
    assert_der_equals_vector(&der, "b2_no_package_available");
    eim_buf_free(&der);
}

static void test_encoded_json_text(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = test_hex(find_vector("b1_get_eim_package_request")->hex, &len);
    eim_esipa_ipa_to_eim_t *msg = EIM_NEW(eim_esipa_ipa_to_eim_t);
    assert_int_equal(eim_esipa_ipa_to_eim_decode(bytes, len, msg, NULL), EIM_OK);
    eim_buf_t json;
    eim_buf_init(&json, 4096);
    assert_int_equal(eim_esipa_json_encode_request(msg, &json), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&json, 0), EIM_OK);
    assert_string_equal((char *)json.data, "{\"eidValue\":\"" EID_HEX "\"}");
    free(bytes);

    /* Response with a transaction id: upper-case hex and the success header. */
    bytes = test_hex(find_vector("b5a_ack_seq_7")->hex, &len);
    eim_esipa_eim_to_ipa_t *resp = EIM_NEW(eim_esipa_eim_to_ipa_t);
    assert_int_equal(eim_esipa_eim_to_ipa_decode(bytes, len, resp, NULL), EIM_OK);
    eim_buf_reset(&json);
    assert_int_equal(eim_esipa_json_encode_response(resp, &json), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&json, 0), EIM_OK);
    assert_string_equal((char *)json.data,
                        "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}"
                        "},\"eimAcknowledgements\":[7]}");
    free(bytes);
    bytes = test_hex(find_vector("get_resp_empty_trigger")->hex, &len);
    assert_int_equal(eim_esipa_eim_to_ipa_decode(bytes, len, resp, NULL), EIM_OK);
    eim_buf_reset(&json);
    assert_int_equal(eim_esipa_json_encode_response(resp, &json), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&json, 0), EIM_OK);
    /* BF54 12 82 10 <txid> in base64. */
    assert_non_null(strstr((char *)json.data,
                           "\"profileDownloadTriggerRequest\":\"v1QSghABAgMEBQYHCAkKCwwNDg8Q\""));
    free(bytes);
    bytes = test_hex(find_vector("initauth_req")->hex, &len);
    assert_int_equal(eim_esipa_ipa_to_eim_decode(bytes, len, msg, NULL), EIM_OK);
    eim_buf_reset(&json);
    assert_int_equal(eim_esipa_json_encode_request(msg, &json), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&json, 0), EIM_OK);
    assert_non_null(strstr((char *)json.data, "\"euiccChallenge\":\"EBESExQVFhcYGRobHB0eHw==\""));
    assert_non_null(strstr((char *)json.data, "\"smdpAddress\":\"smdp.example.com\""));
    assert_non_null(strstr((char *)json.data, "\"eimTransactionId\":\"" TXID_HEX "\""));
    free(bytes);
    free(resp);
    free(msg);
    eim_buf_free(&json);
}

static void test_failure_header(void **state)
{
    (void)state;
    eim_buf_t json;
    eim_buf_init(&json, 4096);
    assert_int_equal(eim_esipa_json_encode_failure("8.1", "3.8", "bad request", &json), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&json, 0), EIM_OK);
    assert_string_equal((char *)json.data,
                        "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
                        "\"statusCodeData\":{\"subjectCode\":\"8.1\",\"reasonCode\":\"3.8\","
                        "\"message\":\"bad request\"}}}}");
    /* The IPA side reports it with the codes. */
    eim_buf_t der;
    eim_buf_init(&der, 4096);
    eim_esipa_json_error_t e;
    assert_int_equal(response_to_der("getEimPackage", (char *)json.data, &der, &e),
                     EIM_ERR_CONFLICT);
    assert_true(e.failed);
    assert_string_equal(e.subject_code, "8.1");
    assert_string_equal(e.reason_code, "3.8");
    assert_string_equal(e.status_message, "bad request");
    eim_buf_free(&der);
    eim_buf_free(&json);
}

static void expect_request_error(const char *fn, const char *json, eim_err_t want,
                                 const char *field, const char *message_part)
{
    eim_buf_t der;
    eim_buf_init(&der, 1 << 20);
    eim_esipa_json_error_t e;
    eim_err_t rc = request_to_der(fn, json, &der, &e);
    if (rc != want || strcmp(e.field, field) != 0 || !strstr(e.message, message_part))
        fail_msg("%s %s: got %s field '%s' message '%s'", fn, json, eim_strerror(rc), e.field,
                 e.message);
    eim_buf_free(&der);
}

static void test_request_errors(void **state)
{
    (void)state;
    expect_request_error("getEimPackage", "{}", EIM_ERR_DECODE, "eidValue",
                         "missing member 'eidValue'");
    expect_request_error("getEimPackage", "{\"notifyStateChange\":true}", EIM_ERR_DECODE,
                         "eidValue", "missing member 'eidValue'");
    expect_request_error("getEimPackage", "{\"eidValue\":8904}", EIM_ERR_DECODE, "eidValue",
                         "must be a string");
    expect_request_error("getEimPackage",
                         "{\"eidValue\":\"" EID_HEX "\",\"notifyStateChange\":\"yes\"}",
                         EIM_ERR_DECODE, "notifyStateChange", "must be a boolean");
    expect_request_error("getEimPackage",
                         "{\"eidValue\":\"" EID_HEX "\",\"stateChangeCause\":\"4\"}",
                         EIM_ERR_DECODE, "stateChangeCause", "must be an integer");
    expect_request_error("getEimPackage", "{\"eidValue\":\"8904903212345123451234567890123\"}",
                         EIM_ERR_DECODE, "eidValue", "32 hex digits");
    expect_request_error("getEimPackage", "{\"eidValue\":\"8904903212345123451234567890123G\"}",
                         EIM_ERR_DECODE, "eidValue", "invalid hex at character 31");
    expect_request_error("getEimPackage", "{\"eidValue\":\"" EID_HEX "\",\"rPLMN\":\"62F2\"}",
                         EIM_ERR_DECODE, "rPLMN", "member 'rPLMN'");
    expect_request_error("getEimPackage", "{\"eidValue\":\"" EID_HEX "\",\"rPLMN\":\"62F21\"}",
                         EIM_ERR_DECODE, "rPLMN", "invalid hex");
    expect_request_error("getEimPackage", "[1]", EIM_ERR_DECODE, "", "must be a JSON object");
    expect_request_error("getEimPackage", "{\"eidValue\":", EIM_ERR_DECODE, "", "invalid JSON");
    expect_request_error("getEimPackage",
                         "{\"eidValue\":\"" EID_HEX "\",\"eidValue\":\"" EID_HEX "\"}",
                         EIM_ERR_DECODE, "", "invalid JSON");
    expect_request_error("getEimPackages", "{}", EIM_ERR_NOT_FOUND, "", "unknown ESipa function");
    /* base64 problems */
    expect_request_error("provideEimPackageResult", "{\"eimPackageResult\":\"v1E=x\"}",
                         EIM_ERR_DECODE, "eimPackageResult", "invalid base64");
    expect_request_error("provideEimPackageResult", "{\"eimPackageResult\":\"v1$A\"}",
                         EIM_ERR_DECODE, "eimPackageResult", "invalid base64 at character 2");
    expect_request_error("provideEimPackageResult", "{\"eimPackageResult\":\"v1F=\"}",
                         EIM_ERR_DECODE, "eimPackageResult", "invalid base64");
    /* "oAA=" is A0 00, an eimPackageResultResponseError without its code:
     * the ASN.1 decoder rejects it and the member is named. */
    expect_request_error("provideEimPackageResult", "{\"eimPackageResult\":\"oAA=\"}",
                         EIM_ERR_DECODE, "eimPackageResult", "member 'eimPackageResult': ");
    /* Not exactly one TLV: BF51 00 followed by a stray byte. */
    expect_request_error("provideEimPackageResult", "{\"eimPackageResult\":\"v1EAAA==\"}",
                         EIM_ERR_DECODE, "eimPackageResult", "not one DER TLV");
    expect_request_error("provideEimPackageResult",
                         "{\"eidValue\":\"" EID_HEX "\",\"eimPackageResult\":7}", EIM_ERR_DECODE,
                         "eimPackageResult", "must be a string");
    /* Wrong TLV tag for a typed member (05 00 instead of BF38). */
    expect_request_error("authenticateClient",
                         "{\"transactionId\":\"0102\",\"authenticateServerResponse\":\"BQA=\"}",
                         EIM_ERR_DECODE, "authenticateServerResponse", "must be a BF38 TLV");
    /* ASN.1 constraint violated inside a JSON member: transaction id > 16 bytes. */
    expect_request_error("getEimPackage", "{}", EIM_ERR_DECODE, "eidValue", "missing");
    expect_request_error("initiateAuthentication",
                         "{\"euiccChallenge\":\"EBESExQVFhcYGRobHB0eHw==\","
                         "\"eimTransactionId\":\"0102030405060708090A0B0C0D0E0F1011\"}",
                         EIM_ERR_DECODE, "eimTransactionId", "member 'eimTransactionId':");
    expect_request_error("initiateAuthentication", "{\"euiccChallenge\":\"EBES\"}", EIM_ERR_DECODE,
                         "euiccChallenge", "member 'euiccChallenge':");
    /* Members of two alternatives at once. */
    expect_request_error("handleNotification",
                         "{\"pendingNotification\":\"BQA=\",\"provideEimPackageResult\":\"BQA=\"}",
                         EIM_ERR_DECODE, "pendingNotification", "cannot be combined");
    expect_request_error("handleNotification", "{\"other\":1}", EIM_ERR_DECODE, "",
                         "none of the members");
    /* The TransferEimPackage answer travels as an HTTP response: header required. */
    expect_request_error("transferEimPackage", "{\"eimPackageReceived\":true}", EIM_ERR_DECODE,
                         "header", "missing member 'header'");
    expect_request_error(
        "transferEimPackage",
        "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}},"
        "\"eimPackageReceived\":false}",
        EIM_ERR_DECODE, "eimPackageReceived", "must be true");
    expect_request_error("transferEimPackage",
                         "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Done\"}},"
                         "\"eimPackageReceived\":true}",
                         EIM_ERR_DECODE, "header.functionExecutionStatus.status", "unknown status");
    /* Acknowledgement arrays are typed and bounded. */
    eim_buf_t big;
    eim_buf_init(&big, 1 << 20);
    assert_int_equal(eim_buf_append_str(&big, "{\"eimAcknowledgements\":[1"), EIM_OK);
    for (int i = 0; i < EIM_ESIPA_MAX_ACKNOWLEDGEMENTS; i++)
        assert_int_equal(eim_buf_append_str(&big, ",1"), EIM_OK);
    assert_int_equal(eim_buf_append_str(&big, "]}"), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&big, 0), EIM_OK);
    eim_buf_t der;
    eim_buf_init(&der, 4096);
    eim_esipa_json_error_t e;
    assert_int_equal(response_to_der("transferEimPackage", (char *)big.data, &der, &e),
                     EIM_ERR_LIMIT);
    assert_string_equal(e.field, "eimAcknowledgements");
    assert_int_equal(
        response_to_der("transferEimPackage", "{\"eimAcknowledgements\":[1,\"2\"]}", &der, &e),
        EIM_ERR_DECODE);
    assert_non_null(strstr(e.message, "[1] must be an integer"));
    /* Body size limit. */
    eim_esipa_json_scratch_t scratch;
    eim_esipa_json_scratch_init(&scratch, 4096);
    eim_esipa_ipa_to_eim_t *msg = EIM_NEW(eim_esipa_ipa_to_eim_t);
    assert_int_equal(eim_esipa_json_decode_request("getEimPackage", "{}",
                                                   EIM_ESIPA_JSON_MAX_TEXT + 1, &scratch, msg, &e),
                     EIM_ERR_LIMIT);
    /* Scratch limit: a 5000-byte BPP request does not fit a 4096-byte scratch. */
    eim_buf_reset(&big);
    assert_int_equal(eim_buf_append_str(&big, "{\"transactionId\":\"01\","
                                              "\"prepareDownloadResponse\":\""),
                     EIM_OK);
    eim_buf_t tlv, b64;
    eim_buf_init(&tlv, 8192);
    eim_buf_init(&b64, 16384);
    static const uint8_t hdr[] = {0xBF, 0x21, 0x82, 0x13, 0x88};
    assert_int_equal(eim_buf_append(&tlv, hdr, sizeof(hdr)), EIM_OK);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(eim_buf_append_byte(&tlv, 0), EIM_OK);
    assert_int_equal(eim_base64_encode(tlv.data, tlv.len, &b64), EIM_OK);
    assert_int_equal(eim_buf_append(&big, b64.data, b64.len), EIM_OK);
    assert_int_equal(eim_buf_append_str(&big, "\"}"), EIM_OK);
    assert_int_equal(eim_esipa_json_decode_request("getBoundProfilePackage", (const char *)big.data,
                                                   big.len, &scratch, msg, &e),
                     EIM_ERR_LIMIT);
    free(msg);
    eim_esipa_json_scratch_free(&scratch);
    eim_buf_free(&tlv);
    eim_buf_free(&b64);
    eim_buf_free(&der);
    eim_buf_free(&big);
}

/* Spans of a decoded structure point into the scratch buffer (ownership
 * rule of the header): the JSON text can be freed right after decoding. */
static void test_scratch_ownership(void **state)
{
    (void)state;
    char *json = eim_strdup("{\"eidValue\":\"" EID_HEX "\",\"rPLMN\":\"62F210\"}");
    eim_esipa_json_scratch_t scratch;
    eim_esipa_json_scratch_init(&scratch, 4096);
    eim_esipa_ipa_to_eim_t *msg = EIM_NEW(eim_esipa_ipa_to_eim_t);
    assert_int_equal(
        eim_esipa_json_decode_request("getEimPackage", json, strlen(json), &scratch, msg, NULL),
        EIM_OK);
    free(json);
    assert_int_equal(msg->function, EIM_ESIPA_GET_EIM_PACKAGE);
    const eim_esipa_get_eim_package_request_t *r = &msg->get_eim_package;
    assert_true(r->eid.ptr >= scratch.der.data && r->eid.ptr < scratch.der.data + scratch.der.len);
    test_assert_span_hex(r->eid, EID_HEX);
    assert_true(r->has_rplmn);
    test_assert_span_hex(r->rplmn, "62F210");
    assert_false(r->notify_state_change);
    free(msg);
    eim_esipa_json_scratch_free(&scratch);
}

static void test_function_names(void **state)
{
    (void)state;
    eim_esipa_function_t f;
    static const char *names[] = {"getEimPackage",          "provideEimPackageResult",
                                  "handleNotification",     "transferEimPackage",
                                  "initiateAuthentication", "authenticateClient",
                                  "getBoundProfilePackage", "cancelSession"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(eim_esipa_json_function_from_name(names[i], &f), EIM_OK);
        assert_string_equal(eim_esipa_json_function_name(f), names[i]);
    }
    assert_int_equal(eim_esipa_json_function_from_name("/gsma/rsp2/esipa/cancelSession", &f),
                     EIM_OK);
    assert_int_equal(f, EIM_ESIPA_CANCEL_SESSION);
    assert_int_equal(eim_esipa_json_function_from_name("/gsma/rsp2/asn1", &f), EIM_ERR_NOT_FOUND);
    assert_null(eim_esipa_json_function_name((eim_esipa_function_t)0x30));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_vectors_round_trip), cmocka_unit_test(test_get_eim_package_json),
        cmocka_unit_test(test_encoded_json_text),      cmocka_unit_test(test_failure_header),
        cmocka_unit_test(test_request_errors),         cmocka_unit_test(test_scratch_ownership),
        cmocka_unit_test(test_function_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
