/*
 * ESipa vectors (SGP.32 v1.2 §5.14, §6.3, Annex A; brief Appendix B):
 * every vector decodes through its envelope, re-encodes to the same bytes
 * and the encoding is accepted by openssl asn1parse; the golden vectors
 * decode to the expected fields.
 */
#include "esipa_test_util.h"
#include "esipa_vectors.h"

#include "proto/esipa/esipa_message.h"

#define EID_HEX  "89049032123451234512345678901235"
#define TXID_HEX "0102030405060708090A0B0C0D0E0F10"

static const esipa_vector_t *find_vector(const char *name)
{
    for (size_t i = 0; i < ESIPA_VECTOR_COUNT; i++) {
        if (strcmp(esipa_vectors[i].name, name) == 0)
            return &esipa_vectors[i];
    }
    fail_msg("no vector %s", name);
    return NULL;
}

/* Decodes the named vector; the caller frees *bytes. */
static eim_esipa_ipa_to_eim_t *decode_ipa(const char *name, uint8_t **bytes)
{
    size_t len;
    eim_der_error_t err;
    const esipa_vector_t *v = find_vector(name);
    assert_true(v->from_ipa);
    *bytes = test_hex(v->hex, &len);
    eim_esipa_ipa_to_eim_t *msg = EIM_NEW(eim_esipa_ipa_to_eim_t);
    eim_err_t rc = eim_esipa_ipa_to_eim_decode(*bytes, len, msg, &err);
    if (rc != EIM_OK)
        fail_msg("%s: %s at %zu (%s)", name, eim_strerror(rc), err.offset, err.reason);
    return msg;
}

static eim_esipa_eim_to_ipa_t *decode_eim(const char *name, uint8_t **bytes)
{
    size_t len;
    eim_der_error_t err;
    const esipa_vector_t *v = find_vector(name);
    assert_false(v->from_ipa);
    *bytes = test_hex(v->hex, &len);
    eim_esipa_eim_to_ipa_t *msg = EIM_NEW(eim_esipa_eim_to_ipa_t);
    eim_err_t rc = eim_esipa_eim_to_ipa_decode(*bytes, len, msg, &err);
    if (rc != EIM_OK)
        fail_msg("%s: %s at %zu (%s)", name, eim_strerror(rc), err.offset, err.reason);
    return msg;
}

static void test_all_vectors_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ESIPA_VECTOR_COUNT; i++) {
        const esipa_vector_t *v = &esipa_vectors[i];
        size_t len;
        uint8_t *bytes = test_hex(v->hex, &len);
        eim_der_error_t err;
        eim_buf_t out;
        eim_buf_init(&out, 1 << 20);
        eim_err_t rc;
        if (v->from_ipa) {
            eim_esipa_ipa_to_eim_t *msg = EIM_NEW(eim_esipa_ipa_to_eim_t);
            rc = eim_esipa_ipa_to_eim_decode(bytes, len, msg, &err);
            if (rc == EIM_OK)
                rc = eim_esipa_ipa_to_eim_encode(msg, &out);
            free(msg);
        } else {
            eim_esipa_eim_to_ipa_t *msg = EIM_NEW(eim_esipa_eim_to_ipa_t);
            rc = eim_esipa_eim_to_ipa_decode(bytes, len, msg, &err);
            if (rc == EIM_OK)
                rc = eim_esipa_eim_to_ipa_encode(msg, &out);
            free(msg);
        }
        if (rc != EIM_OK)
            fail_msg("%s: %s at %zu (%s)", v->name, eim_strerror(rc), err.offset,
                     err.reason ? err.reason : "-");
        fprintf(stderr, "vector %-32s %5zu bytes ok\n", v->name, len);
        test_assert_bytes(out.data, out.len, bytes, len);
        test_assert_openssl_parses(out.data, out.len);
        eim_buf_free(&out);
        free(bytes);
    }
}

static void test_b1_get_eim_package_request(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_ipa_to_eim_t *m = decode_ipa("b1_get_eim_package_request", &bytes);
    assert_int_equal(m->function, EIM_ESIPA_GET_EIM_PACKAGE);
    test_assert_span_hex(m->get_eim_package.eid, EID_HEX);
    assert_false(m->get_eim_package.notify_state_change);
    assert_false(m->get_eim_package.has_state_change_cause);
    assert_false(m->get_eim_package.has_rplmn);
    free(m);
    free(bytes);

    m = decode_ipa("get_req_full", &bytes);
    assert_true(m->get_eim_package.notify_state_change);
    assert_true(m->get_eim_package.has_state_change_cause);
    assert_int_equal(m->get_eim_package.state_change_cause, EIM_ESIPA_STATE_CHANGE_RESET);
    assert_true(m->get_eim_package.has_rplmn);
    test_assert_span_hex(m->get_eim_package.rplmn, "62F210");
    free(m);
    free(bytes);
}

static void test_b2_b3c_b6_b7_get_eim_package_response(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_eim_to_ipa_t *m = decode_eim("b2_no_package_available", &bytes);
    assert_int_equal(m->function, EIM_ESIPA_GET_EIM_PACKAGE);
    assert_int_equal(m->get_eim_package.kind, EIM_ESIPA_EIM_PACKAGE_ERROR);
    assert_int_equal(m->get_eim_package.error_code, EIM_ESIPA_PACKAGE_ERROR_NO_PACKAGE_AVAILABLE);
    free(m);
    free(bytes);

    m = decode_eim("b3c_euicc_package_request", &bytes);
    assert_int_equal(m->get_eim_package.kind, EIM_ESIPA_EIM_PACKAGE_EUICC_PACKAGE_REQUEST);
    /* The BF51 TLV is a byte-exact view into the input. */
    assert_ptr_equal(m->get_eim_package.euicc_package_request.ptr, bytes + 4);
    assert_int_equal(m->get_eim_package.euicc_package_request.len, 0x93);
    free(m);
    free(bytes);

    m = decode_eim("b6_ipa_euicc_data_request", &bytes);
    const eim_esipa_euicc_data_request_t *dr = &m->get_eim_package.euicc_data_request;
    assert_int_equal(m->get_eim_package.kind, EIM_ESIPA_EIM_PACKAGE_IPA_EUICC_DATA_REQUEST);
    test_assert_span_hex(dr->tag_list, "A081A2BF20BF228384A5A6A8A9");
    assert_true(eim_esipa_euicc_data_tag_list_valid(dr->tag_list));
    assert_false(dr->has_euicc_ci_pkid);
    assert_int_equal(dr->notification_search, EIM_ESIPA_NOTIFICATION_SEARCH_NONE);
    assert_false(dr->has_package_result_seq_number);
    assert_true(dr->has_transaction_id);
    test_assert_span_hex(dr->transaction_id, TXID_HEX);
    free(m);
    free(bytes);

    m = decode_eim("b7_download_trigger_request", &bytes);
    const eim_esipa_download_trigger_request_t *t = &m->get_eim_package.download_trigger_request;
    assert_int_equal(m->get_eim_package.kind, EIM_ESIPA_EIM_PACKAGE_DOWNLOAD_TRIGGER_REQUEST);
    assert_int_equal(t->data_kind, EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE);
    test_assert_span_str(t->activation_code, "1$smdp.example.com$MATCHING-ID");
    test_assert_span_hex(t->transaction_id, TXID_HEX);
    free(m);
    free(bytes);
}

static void test_get_eim_package_response_variants(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_eim_to_ipa_t *m = decode_eim("get_resp_smdp", &bytes);
    assert_int_equal(m->get_eim_package.download_trigger_request.data_kind,
                     EIM_ESIPA_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP);
    free(m);
    free(bytes);

    m = decode_eim("get_resp_smds", &bytes);
    const eim_esipa_download_trigger_request_t *t = &m->get_eim_package.download_trigger_request;
    assert_int_equal(t->data_kind, EIM_ESIPA_DOWNLOAD_DATA_CONTACT_SMDS);
    assert_true(t->has_smds_address);
    test_assert_span_str(t->smds_address, "lpa.ds.gsma.com");
    assert_false(t->has_transaction_id);
    free(m);
    free(bytes);

    m = decode_eim("get_resp_empty_trigger", &bytes);
    assert_int_equal(m->get_eim_package.download_trigger_request.data_kind,
                     EIM_ESIPA_DOWNLOAD_DATA_NONE);
    assert_true(m->get_eim_package.download_trigger_request.has_transaction_id);
    free(m);
    free(bytes);

    m = decode_eim("get_resp_data_search", &bytes);
    const eim_esipa_euicc_data_request_t *dr = &m->get_eim_package.euicc_data_request;
    assert_true(dr->has_euicc_ci_pkid);
    assert_int_equal(dr->euicc_ci_pkid.len, 20);
    assert_int_equal(dr->notification_search, EIM_ESIPA_NOTIFICATION_SEARCH_EVENT);
    assert_int_equal(dr->notification_event, EIM_ESIPA_EVENT_DISABLE);
    assert_true(dr->has_package_result_seq_number);
    assert_int_equal(dr->package_result_seq_number, 7);
    free(m);
    free(bytes);

    m = decode_eim("get_resp_data_seq", &bytes);
    assert_int_equal(m->get_eim_package.euicc_data_request.notification_search,
                     EIM_ESIPA_NOTIFICATION_SEARCH_SEQ_NUMBER);
    assert_int_equal(m->get_eim_package.euicc_data_request.notification_seq_number, 256);
    free(m);
    free(bytes);
}

static void test_b4c_provide_eim_package_result(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_ipa_to_eim_t *m = decode_ipa("b4c_provide_eim_package_result", &bytes);
    const eim_esipa_provide_eim_package_result_t *p = &m->provide_eim_package_result;
    assert_int_equal(m->function, EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT);
    assert_true(p->has_eid);
    test_assert_span_hex(p->eid, EID_HEX);
    assert_int_equal(p->result.kind, EIM_ESIPA_RESULT_EUICC_PACKAGE);
    assert_ptr_equal(p->result.euicc_package_result.ptr, bytes + 4 + 18);
    assert_int_equal(p->result.euicc_package_result.len, 3 + 0x75);
    free(m);
    free(bytes);
}

static void test_provide_result_alternatives(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_ipa_to_eim_t *m = decode_ipa("provide_epr_notifs", &bytes);
    const eim_esipa_package_result_t *r = &m->provide_eim_package_result.result;
    assert_int_equal(r->kind, EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS);
    assert_int_equal(r->euicc_package_result.ptr[0], 0xBF);
    assert_int_equal(r->notifications.count, 2);
    assert_int_equal(r->notifications.items[0].kind, EIM_ESIPA_NOTIFICATION_PIR);
    assert_int_equal(r->notifications.items[0].seq_number, 0x2A);
    assert_int_equal(r->notifications.items[1].kind, EIM_ESIPA_NOTIFICATION_OTHER_SIGNED);
    assert_int_equal(r->notifications.items[1].seq_number, 0x2B);
    free(m);
    free(bytes);

    m = decode_ipa("provide_data", &bytes);
    const eim_esipa_euicc_data_response_t *d = &m->provide_eim_package_result.result.euicc_data;
    assert_int_equal(m->provide_eim_package_result.result.kind, EIM_ESIPA_RESULT_IPA_EUICC_DATA);
    assert_int_equal(d->kind, EIM_ESIPA_EUICC_DATA);
    assert_int_equal(d->wire_form, EIM_ESIPA_FORM_CHOICE_TAGGED);
    assert_true(d->has_notifications);
    assert_int_equal(d->notifications.count, 2);
    test_assert_span_str(d->default_smdp_address, "smdp.example.com");
    assert_int_equal(d->package_result_count, 2);
    assert_int_equal(d->package_results[1].ptr[3], 0xA2); /* errorUnsigned */
    assert_true(d->has_euicc_info1);
    assert_int_equal(d->euicc_info1.ptr[1], 0x20);
    assert_true(d->has_euicc_info2);
    test_assert_span_str(d->root_smds_address, "lpa.ds.gsma.com");
    assert_true(d->has_association_token);
    assert_int_equal(d->association_token, 7);
    test_assert_span_hex(d->eum_certificate, "0203010001");
    test_assert_span_hex(d->euicc_certificate, "0203010002");
    test_assert_span_hex(d->transaction_id, TXID_HEX);
    assert_true(d->has_ipa_capabilities);
    assert_int_equal(d->ipa_features, EIM_ESIPA_IPA_INDIRECT_RSP_SERVER_COMMUNICATION |
                                          EIM_ESIPA_IPA_EIM_DOWNLOAD_DATA_HANDLING |
                                          EIM_ESIPA_IPA_MINIMIZE_ESIPA_BYTES);
    assert_true(d->has_ipa_supported_protocols);
    assert_int_equal(d->ipa_supported_protocols, EIM_ESIPA_IPA_RETRIEVE_HTTPS);
    assert_true(d->has_device_info);
    free(m);
    free(bytes);

    m = decode_ipa("provide_data_error", &bytes);
    d = &m->provide_eim_package_result.result.euicc_data;
    assert_int_equal(d->kind, EIM_ESIPA_EUICC_DATA_ERROR);
    assert_int_equal(d->error_code, EIM_ESIPA_EUICC_DATA_ERROR_INCORRECT_TAG_LIST);
    test_assert_span_hex(d->transaction_id, TXID_HEX);
    free(m);
    free(bytes);

    m = decode_ipa("provide_pdt_pir", &bytes);
    const eim_esipa_download_trigger_result_t *t =
        &m->provide_eim_package_result.result.download_result;
    assert_int_equal(m->provide_eim_package_result.result.kind, EIM_ESIPA_RESULT_DOWNLOAD_TRIGGER);
    assert_int_equal(t->kind, EIM_ESIPA_DOWNLOAD_RESULT_PIR);
    test_assert_span_hex(t->transaction_id, TXID_HEX);
    assert_true(t->pir.has_final_result);
    assert_true(t->pir.success);
    free(m);
    free(bytes);

    m = decode_ipa("provide_pdt_error", &bytes);
    t = &m->provide_eim_package_result.result.download_result;
    assert_false(m->provide_eim_package_result.has_eid);
    assert_int_equal(t->kind, EIM_ESIPA_DOWNLOAD_RESULT_ERROR);
    assert_int_equal(t->error_reason, EIM_ESIPA_DOWNLOAD_ERROR_UNDEFINED_ERROR);
    assert_true(t->has_error_response);
    test_assert_span_hex(t->error_response, "6A88");
    free(m);
    free(bytes);

    m = decode_ipa("provide_result_error", &bytes);
    r = &m->provide_eim_package_result.result;
    assert_int_equal(r->kind, EIM_ESIPA_RESULT_ERROR);
    assert_true(r->has_error_transaction_id);
    assert_int_equal(r->error_code, EIM_ESIPA_RESULT_ERROR_UNKNOWN_PACKAGE);
    free(m);
    free(bytes);
}

static void test_b5_provide_result_response(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_eim_to_ipa_t *m = decode_eim("b5a_ack_seq_7", &bytes);
    const eim_esipa_provide_eim_package_result_response_t *p = &m->provide_eim_package_result;
    assert_int_equal(p->kind, EIM_ESIPA_PROVIDE_RESPONSE_ACKNOWLEDGEMENTS);
    assert_int_equal(p->acknowledgements.count, 1);
    assert_int_equal(p->acknowledgements.seq_numbers[0], 7);
    free(m);
    free(bytes);

    m = decode_eim("b5b_empty_response", &bytes);
    assert_int_equal(m->provide_eim_package_result.kind, EIM_ESIPA_PROVIDE_RESPONSE_EMPTY);
    free(m);
    free(bytes);

    m = decode_eim("provide_acks_many", &bytes);
    p = &m->provide_eim_package_result;
    assert_int_equal(p->acknowledgements.count, 3);
    assert_int_equal(p->acknowledgements.seq_numbers[2], 256);
    free(m);
    free(bytes);

    m = decode_eim("provide_error", &bytes);
    assert_int_equal(m->provide_eim_package_result.kind, EIM_ESIPA_PROVIDE_RESPONSE_ERROR);
    assert_int_equal(m->provide_eim_package_result.error_code, EIM_ESIPA_PROVIDE_ERROR_INVALID_EID);
    free(m);
    free(bytes);
}

/* Notification field extraction: {vector, kind, seq, event, address, has_iccid,
 * has_txid, final result}. */
static const struct {
    const char *vector;
    eim_esipa_notification_kind_t kind;
    int64_t seq;
    bool has_event;
    uint32_t event;
    const char *address;
    bool has_iccid;
    bool has_final;
    bool success;
    int64_t error_reason;
} notification_cases[] = {
    {"notif_pir", EIM_ESIPA_NOTIFICATION_PIR, 0x2A, true, EIM_ESIPA_EVENT_INSTALL,
     "smdp.example.com", true, true, true, 0},
    {"notif_pir_error", EIM_ESIPA_NOTIFICATION_PIR, 0x2D, true, EIM_ESIPA_EVENT_INSTALL,
     "smdp.example.com", false, true, false, 8},
    {"notif_other", EIM_ESIPA_NOTIFICATION_OTHER_SIGNED, 0x2B, true, EIM_ESIPA_EVENT_DISABLE,
     "smdp.example.com", true, false, false, 0},
    {"notif_compact_pir", EIM_ESIPA_NOTIFICATION_COMPACT_PIR, 0x2C, false, 0, NULL, false, true,
     true, 0},
    {"notif_compact_other", EIM_ESIPA_NOTIFICATION_COMPACT_OTHER, 0x2E, true,
     EIM_ESIPA_EVENT_DELETE, "smdp.example.com", true, false, false, 0},
};

/* Size of the tag + length header at p (tags of at most 2 bytes). */
static size_t header_len(const uint8_t *p)
{
    size_t t = (p[0] & 0x1F) == 0x1F ? 2 : 1;
    return t + (p[t] & 0x80 ? 1 + (p[t] & 0x7F) : 1);
}

static void test_handle_notification(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(notification_cases) / sizeof(notification_cases[0]); i++) {
        uint8_t *bytes;
        eim_esipa_ipa_to_eim_t *m = decode_ipa(notification_cases[i].vector, &bytes);
        const eim_esipa_notification_t *n = &m->handle_notification.notification;
        assert_int_equal(m->function, EIM_ESIPA_HANDLE_NOTIFICATION);
        assert_int_equal(m->handle_notification.kind, EIM_ESIPA_HANDLE_NOTIFICATION_PENDING);
        assert_int_equal(n->kind, notification_cases[i].kind);
        /* byte-preserved: the TLV inside A0 */
        size_t outer = header_len(bytes);
        assert_ptr_equal(n->tlv.ptr, bytes + outer + header_len(bytes + outer));
        assert_true(n->has_seq_number);
        assert_int_equal(n->seq_number, notification_cases[i].seq);
        assert_int_equal(n->has_event, notification_cases[i].has_event);
        assert_int_equal(n->event, notification_cases[i].event);
        if (notification_cases[i].address)
            test_assert_span_str(n->notification_address, notification_cases[i].address);
        assert_int_equal(n->has_iccid, notification_cases[i].has_iccid);
        if (n->has_iccid)
            test_assert_span_hex(n->iccid, "98001032547698103214");
        assert_int_equal(n->has_final_result, notification_cases[i].has_final);
        if (n->has_final_result) {
            assert_int_equal(n->success, notification_cases[i].success);
            assert_int_equal(n->error_reason, notification_cases[i].error_reason);
        }
        if (n->kind == EIM_ESIPA_NOTIFICATION_OTHER_SIGNED) {
            test_assert_span_hex(n->euicc_certificate, "300502030100 01");
            test_assert_span_hex(n->eum_certificate, "30050203010002");
        }
        if (n->kind == EIM_ESIPA_NOTIFICATION_COMPACT_OTHER)
            test_assert_span_hex(n->eid, EID_HEX);
        if (n->kind == EIM_ESIPA_NOTIFICATION_PIR || n->kind == EIM_ESIPA_NOTIFICATION_COMPACT_PIR)
            test_assert_span_hex(n->transaction_id, TXID_HEX);
        free(m);
        free(bytes);
    }

    uint8_t *bytes;
    eim_esipa_ipa_to_eim_t *m = decode_ipa("notif_provide", &bytes);
    assert_int_equal(m->handle_notification.kind, EIM_ESIPA_HANDLE_NOTIFICATION_PROVIDE_RESULT);
    assert_true(m->handle_notification.result.has_eid);
    assert_int_equal(m->handle_notification.result.result.kind, EIM_ESIPA_RESULT_DOWNLOAD_TRIGGER);
    assert_int_equal(m->handle_notification.result.result.download_result.pir.seq_number, 0x2A);
    free(m);
    free(bytes);
}

static void test_transfer_eim_package(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_ipa_to_eim_t *m = decode_ipa("transfer_resp_epr", &bytes);
    assert_int_equal(m->function, EIM_ESIPA_TRANSFER_EIM_PACKAGE);
    assert_int_equal(m->transfer_eim_package.kind, EIM_ESIPA_TRANSFER_RESULT);
    assert_int_equal(m->transfer_eim_package.result.kind, EIM_ESIPA_RESULT_EUICC_PACKAGE);
    free(m);
    free(bytes);

    m = decode_ipa("transfer_resp_epr_notifs", &bytes);
    assert_int_equal(m->transfer_eim_package.result.kind, EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS);
    assert_int_equal(m->transfer_eim_package.result.notifications.count, 1);
    free(m);
    free(bytes);

    m = decode_ipa("transfer_resp_received", &bytes);
    assert_int_equal(m->transfer_eim_package.kind, EIM_ESIPA_TRANSFER_RECEIVED);
    free(m);
    free(bytes);

    m = decode_ipa("transfer_resp_error", &bytes);
    assert_int_equal(m->transfer_eim_package.kind, EIM_ESIPA_TRANSFER_ERROR);
    assert_int_equal(m->transfer_eim_package.error_code, 1);
    free(m);
    free(bytes);

    m = decode_ipa("transfer_resp_received_cid", &bytes);
    assert_int_equal(m->transfer_eim_package.kind, EIM_ESIPA_TRANSFER_RECEIVED_WITH_CID);
    assert_int_equal(m->transfer_eim_package.correlation, EIM_ESIPA_CORRELATION_TRANSACTION_ID);
    test_assert_span_hex(m->transfer_eim_package.correlation_id, TXID_HEX);
    free(m);
    free(bytes);

    m = decode_ipa("transfer_resp_error_cid", &bytes);
    assert_int_equal(m->transfer_eim_package.kind, EIM_ESIPA_TRANSFER_ERROR_WITH_CID);
    assert_int_equal(m->transfer_eim_package.correlation, EIM_ESIPA_CORRELATION_EID);
    test_assert_span_hex(m->transfer_eim_package.correlation_id, EID_HEX);
    assert_int_equal(m->transfer_eim_package.error_code, 2);
    free(m);
    free(bytes);

    eim_esipa_eim_to_ipa_t *r = decode_eim("transfer_req_acks", &bytes);
    assert_int_equal(r->transfer_eim_package.kind, EIM_ESIPA_TRANSFER_ACKNOWLEDGEMENTS);
    assert_int_equal(r->transfer_eim_package.acknowledgements.seq_numbers[0], 7);
    free(r);
    free(bytes);

    r = decode_eim("transfer_req_epkg", &bytes);
    assert_int_equal(r->transfer_eim_package.kind, EIM_ESIPA_TRANSFER_EUICC_PACKAGE_REQUEST);
    assert_ptr_equal(r->transfer_eim_package.euicc_package_request.ptr, bytes + 4);
    free(r);
    free(bytes);
}

static void test_indirect_download_requests(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_ipa_to_eim_t *m = decode_ipa("initauth_req", &bytes);
    const eim_esipa_initiate_authentication_request_t *ia = &m->initiate_authentication;
    assert_int_equal(m->function, EIM_ESIPA_INITIATE_AUTHENTICATION);
    test_assert_span_hex(ia->euicc_challenge, "101112131415161718191A1B1C1D1E1F");
    test_assert_span_str(ia->smdp_address, "smdp.example.com");
    assert_true(ia->has_euicc_info1);
    assert_int_equal(ia->euicc_info1.ptr[0], 0xBF);
    test_assert_span_hex(ia->eim_transaction_id, TXID_HEX);
    free(m);
    free(bytes);

    m = decode_ipa("authclient_req", &bytes);
    test_assert_span_hex(m->authenticate_client.transaction_id, "0102030405060708");
    assert_int_equal(m->authenticate_client.authenticate_server_response.ptr[1], 0x38);
    free(m);
    free(bytes);

    m = decode_ipa("getbpp_req", &bytes);
    assert_int_equal(m->get_bound_profile_package.prepare_download_response.ptr[1], 0x21);
    free(m);
    free(bytes);

    m = decode_ipa("cancel_req", &bytes);
    assert_int_equal(m->cancel_session.cancel_session_response.ptr[0], 0xA0);
    /* Rebuilding the ES10b CancelSessionResponse for ES9+: BF41 + contents. */
    eim_buf_t buf;
    eim_buf_init(&buf, 4096);
    assert_int_equal(eim_esipa_rebuild_tlv(0xBF41, m->cancel_session.cancel_session_response, &buf),
                     EIM_OK);
    assert_int_equal(buf.data[0], 0xBF);
    assert_int_equal(buf.data[1], 0x41);
    assert_int_equal(buf.len, 3 + m->cancel_session.cancel_session_response.len);
    test_assert_openssl_parses(buf.data, buf.len);
    eim_buf_free(&buf);
    free(m);
    free(bytes);
}

static void test_indirect_download_responses(void **state)
{
    (void)state;
    uint8_t *bytes;
    eim_esipa_eim_to_ipa_t *m = decode_eim("initauth_ok", &bytes);
    const eim_esipa_initiate_authentication_response_t *ia = &m->initiate_authentication;
    assert_int_equal(ia->kind, EIM_ESIPA_DOWNLOAD_OK);
    assert_true(ia->has_transaction_id);
    assert_int_equal(ia->server_signed1.ptr[0], 0x30);
    assert_int_equal(ia->server_signature1.len, 67); /* 5F37 40 + 64 */
    assert_int_equal(ia->euicc_ci_pkid_to_be_used.len, 22);
    test_assert_span_str(ia->matching_id, "MATCHING-ID");
    test_assert_span_hex(ia->ctx_params1, "A006800401020304");
    free(m);
    free(bytes);

    m = decode_eim("initauth_error", &bytes);
    assert_int_equal(m->initiate_authentication.kind, EIM_ESIPA_DOWNLOAD_ERROR);
    assert_int_equal(m->initiate_authentication.error_code, 52);
    free(m);
    free(bytes);

    m = decode_eim("authclient_ok_dp", &bytes);
    const eim_esipa_authenticate_client_response_t *ac = &m->authenticate_client;
    assert_int_equal(ac->kind, EIM_ESIPA_DOWNLOAD_OK);
    assert_true(ac->has_profile_metadata);
    assert_true(ac->has_hash_cc);
    assert_int_equal(ac->hash_cc.len, 34);
    free(m);
    free(bytes);

    m = decode_eim("authclient_ok_ds", &bytes);
    ac = &m->authenticate_client;
    assert_int_equal(ac->kind, EIM_ESIPA_DOWNLOAD_OK_DS);
    assert_true(ac->has_download_trigger);
    test_assert_span_str(ac->download_trigger.activation_code, "1$smdp.example.com$MATCHING-ID");
    free(m);
    free(bytes);

    m = decode_eim("getbpp_ok", &bytes);
    assert_int_equal(m->get_bound_profile_package.kind, EIM_ESIPA_DOWNLOAD_OK);
    assert_int_equal(m->get_bound_profile_package.bound_profile_package.ptr[1], 0x36);
    free(m);
    free(bytes);

    m = decode_eim("cancel_ok", &bytes);
    assert_int_equal(m->cancel_session.kind, EIM_ESIPA_DOWNLOAD_OK);
    free(m);
    free(bytes);

    m = decode_eim("cancel_error", &bytes);
    assert_int_equal(m->cancel_session.kind, EIM_ESIPA_DOWNLOAD_ERROR);
    assert_int_equal(m->cancel_session.error_code, 1);
    free(m);
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_vectors_round_trip),
        cmocka_unit_test(test_b1_get_eim_package_request),
        cmocka_unit_test(test_b2_b3c_b6_b7_get_eim_package_response),
        cmocka_unit_test(test_get_eim_package_response_variants),
        cmocka_unit_test(test_b4c_provide_eim_package_result),
        cmocka_unit_test(test_provide_result_alternatives),
        cmocka_unit_test(test_b5_provide_result_response),
        cmocka_unit_test(test_handle_notification),
        cmocka_unit_test(test_transfer_eim_package),
        cmocka_unit_test(test_indirect_download_requests),
        cmocka_unit_test(test_indirect_download_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
