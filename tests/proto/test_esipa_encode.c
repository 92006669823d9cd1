/*
 * ESipa encoders from typed structures (SGP.32 v1.2 Annex A): the eIM's
 * answers built field by field must match the brief's Appendix B bytes and
 * openssl asn1parse; constraint violations are refused with
 * EIM_ERR_INVALID_ARG rather than put on the wire.
 */
#include "esipa_test_util.h"

#include "proto/esipa/esipa_message.h"

static const uint8_t eid[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                                0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35};
static const uint8_t txid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void expect_encoding(eim_esipa_eim_to_ipa_t *m, const char *hex)
{
    size_t len;
    uint8_t *want = test_hex(hex, &len);
    eim_buf_t out;
    eim_buf_init(&out, 1 << 16);
    assert_int_equal(eim_esipa_eim_to_ipa_encode(m, &out), EIM_OK);
    test_assert_bytes(out.data, out.len, want, len);
    test_assert_openssl_parses(out.data, out.len);
    eim_buf_free(&out);
    free(want);
}

static void test_build_appendix_b(void **state)
{
    (void)state;
    eim_esipa_eim_to_ipa_t *m = EIM_NEW(eim_esipa_eim_to_ipa_t);

    m->function = EIM_ESIPA_GET_EIM_PACKAGE;
    m->get_eim_package.kind = EIM_ESIPA_EIM_PACKAGE_ERROR;
    m->get_eim_package.error_code = EIM_ESIPA_PACKAGE_ERROR_NO_PACKAGE_AVAILABLE;
    expect_encoding(m, "BF4F03020101");

    memset(m, 0, sizeof(*m));
    m->function = EIM_ESIPA_GET_EIM_PACKAGE;
    m->get_eim_package.kind = EIM_ESIPA_EIM_PACKAGE_IPA_EUICC_DATA_REQUEST;
    static const uint8_t tags[] = {0xA0, 0x81, 0xA2, 0xBF, 0x20, 0xBF, 0x22,
                                   0x83, 0x84, 0xA5, 0xA6, 0xA8, 0xA9};
    m->get_eim_package.euicc_data_request.tag_list = eim_span(tags, sizeof(tags));
    m->get_eim_package.euicc_data_request.has_transaction_id = true;
    m->get_eim_package.euicc_data_request.transaction_id = eim_span(txid, 16);
    expect_encoding(m, "BF4F24BF52215C0DA081A2BF20BF228384A5A6A8A983100102030405060708090A0B0C0D0E"
                       "0F10");

    memset(m, 0, sizeof(*m));
    m->function = EIM_ESIPA_GET_EIM_PACKAGE;
    m->get_eim_package.kind = EIM_ESIPA_EIM_PACKAGE_DOWNLOAD_TRIGGER_REQUEST;
    eim_esipa_download_trigger_request_t *t = &m->get_eim_package.download_trigger_request;
    t->data_kind = EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE;
    t->activation_code = eim_span("1$smdp.example.com$MATCHING-ID", 30);
    t->has_transaction_id = true;
    t->transaction_id = eim_span(txid, 16);
    expect_encoding(m, "BF4F37BF5434A020801E3124736D64702E6578616D706C652E636F6D244D41544348494E"
                       "472D494482100102030405060708090A0B0C0D0E0F10");
    free(m);
}

static void test_build_acknowledgements(void **state)
{
    (void)state;
    eim_esipa_eim_to_ipa_t *m = EIM_NEW(eim_esipa_eim_to_ipa_t);
    m->function = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
    m->provide_eim_package_result.kind = EIM_ESIPA_PROVIDE_RESPONSE_ACKNOWLEDGEMENTS;
    m->provide_eim_package_result.acknowledgements.count = 1;
    m->provide_eim_package_result.acknowledgements.seq_numbers[0] = 7;
    expect_encoding(m, "BF5006BF5303800107");
    m->provide_eim_package_result.kind = EIM_ESIPA_PROVIDE_RESPONSE_EMPTY;
    expect_encoding(m, "BF50023000");
    m->provide_eim_package_result.kind = EIM_ESIPA_PROVIDE_RESPONSE_ERROR;
    m->provide_eim_package_result.error_code = EIM_ESIPA_PROVIDE_ERROR_MISSING_EID;
    expect_encoding(m, "BF5003020104");
    free(m);
}

static void test_build_request_side(void **state)
{
    (void)state;
    /* GetEimPackageRequest with every optional field, as a mock IPA sends it. */
    eim_esipa_get_eim_package_request_t req = {0};
    static const uint8_t rplmn[3] = {0x62, 0xF2, 0x10};
    req.eid = eim_span(eid, 16);
    req.notify_state_change = true;
    req.has_state_change_cause = true;
    req.state_change_cause = EIM_ESIPA_STATE_CHANGE_FALLBACK;
    req.has_rplmn = true;
    req.rplmn = eim_span(rplmn, 3);
    eim_buf_t out;
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_get_eim_package_request_encode(&req, &out), EIM_OK);
    size_t len;
    uint8_t *want =
        test_hex("BF4F1C5A108904903212345123451234567890123580008101018203 62F210", &len);
    test_assert_bytes(out.data, out.len, want, len);
    test_assert_openssl_parses(out.data, out.len);
    free(want);
    eim_buf_free(&out);

    /* searchCriteriaNotification by event: NotificationEvent as DER named bits. */
    eim_esipa_euicc_data_request_t dr = {0};
    static const uint8_t tl[] = {0xA0};
    dr.tag_list = eim_span(tl, 1);
    dr.notification_search = EIM_ESIPA_NOTIFICATION_SEARCH_EVENT;
    dr.notification_event = EIM_ESIPA_EVENT_ENABLE | EIM_ESIPA_EVENT_DELETE;
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_euicc_data_request_encode(&dr, &out), EIM_OK);
    want = test_hex("BF52095C01A0A10481020450", &len);
    test_assert_bytes(out.data, out.len, want, len);
    free(want);
    eim_buf_free(&out);
}

/* Encoder refusals: {what, mutate} applied to a valid GetEimPackageResponse
 * or request. */
static void test_encoder_refuses_invalid(void **state)
{
    (void)state;
    eim_buf_t out;
    eim_esipa_get_eim_package_request_t req = {0};
    req.eid = eim_span(eid, 15);
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_get_eim_package_request_encode(&req, &out), EIM_ERR_INVALID_ARG);
    eim_buf_free(&out);

    eim_esipa_euicc_data_request_t dr = {0};
    static const uint8_t v10_tags[] = {0x5A, 0xBF, 0x2D};
    dr.tag_list = eim_span(v10_tags, sizeof(v10_tags));
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_euicc_data_request_encode(&dr, &out), EIM_ERR_INVALID_ARG);
    eim_buf_free(&out);
    assert_false(eim_esipa_euicc_data_tag_list_valid(eim_span("\xBF", 1)));
    assert_false(eim_esipa_euicc_data_tag_list_valid(EIM_SPAN_NULL));
    assert_true(eim_esipa_euicc_data_tag_list_valid(eim_span("\xBF\x20\xA6", 3)));

    uint8_t long_txid[17] = {0};
    eim_esipa_download_trigger_request_t t = {0};
    t.has_transaction_id = true;
    t.transaction_id = eim_span(long_txid, 17);
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_download_trigger_request_encode(&t, &out), EIM_ERR_INVALID_ARG);
    eim_buf_free(&out);

    char ac[257];
    memset(ac, 'A', 256);
    ac[256] = 0;
    t = (eim_esipa_download_trigger_request_t){0};
    t.data_kind = EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE;
    t.activation_code = eim_span(ac, 256);
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_download_trigger_request_encode(&t, &out), EIM_ERR_INVALID_ARG);
    eim_buf_reset(&out);
    t.activation_code = eim_span(ac, 255);
    assert_int_equal(eim_esipa_download_trigger_request_encode(&t, &out), EIM_OK);
    eim_buf_free(&out);

    /* A "raw" BF51 that is not one well-formed BF51 TLV. */
    eim_esipa_get_eim_package_response_t resp = {0};
    resp.kind = EIM_ESIPA_EIM_PACKAGE_EUICC_PACKAGE_REQUEST;
    resp.euicc_package_request = eim_span("\xBF\x52\x00", 3);
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_get_eim_package_response_encode(&resp, &out), EIM_ERR_INVALID_ARG);
    eim_buf_reset(&out);
    resp.euicc_package_request = eim_span("\xBF\x51\x05\x30", 4);
    assert_int_equal(eim_esipa_get_eim_package_response_encode(&resp, &out), EIM_ERR_INVALID_ARG);
    eim_buf_reset(&out);
    resp.kind = 0;
    assert_int_equal(eim_esipa_get_eim_package_response_encode(&resp, &out), EIM_ERR_INVALID_ARG);
    eim_buf_free(&out);

    /* HandleNotification has no eIM -> IPA message. */
    eim_esipa_eim_to_ipa_t *m = EIM_NEW(eim_esipa_eim_to_ipa_t);
    m->function = EIM_ESIPA_HANDLE_NOTIFICATION;
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esipa_eim_to_ipa_encode(m, &out), EIM_ERR_INVALID_ARG);
    eim_buf_free(&out);
    free(m);

    /* Bounded output buffer. */
    eim_esipa_provide_eim_package_result_response_t acks = {0};
    acks.kind = EIM_ESIPA_PROVIDE_RESPONSE_ACKNOWLEDGEMENTS;
    acks.acknowledgements.count = 100;
    eim_buf_init(&out, 16);
    assert_int_not_equal(eim_esipa_provide_eim_package_result_response_encode(&acks, &out), EIM_OK);
    eim_buf_free(&out);
}

static void test_helpers(void **state)
{
    (void)state;
    assert_string_equal(eim_esipa_function_name(EIM_ESIPA_GET_EIM_PACKAGE), "GetEimPackage");
    assert_string_equal(eim_esipa_function_name((eim_esipa_function_t)0x30), "unknown");
    eim_esipa_notification_t n;
    size_t len;
    uint8_t *bytes = test_hex("A11C BF2F 18 800105 81020410 0C03612E62 5A0A98001032547698103214"
                              "5F3700",
                              &len);
    bytes[1] = (uint8_t)(len - 2);
    eim_der_error_t err;
    eim_err_t rc = eim_esipa_notification_decode(bytes, len, &n, &err);
    if (rc != EIM_OK)
        fail_msg("%s at %zu", err.reason, err.offset);
    assert_int_equal(n.kind, EIM_ESIPA_NOTIFICATION_COMPACT_OTHER);
    assert_false(n.has_eid);
    assert_int_equal(n.seq_number, 5);
    assert_int_equal(n.event, EIM_ESIPA_EVENT_DELETE);
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_appendix_b),
        cmocka_unit_test(test_build_acknowledgements),
        cmocka_unit_test(test_build_request_side),
        cmocka_unit_test(test_encoder_refuses_invalid),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
