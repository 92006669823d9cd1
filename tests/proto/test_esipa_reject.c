/*
 * ESipa decoder rejection and tolerance cases (SGP.32 v1.2 Annex A,
 * engineering rule 7: paranoid decoders). Protocol cases are data: hex in ->
 * expected error code (and, where it matters, the reason/offset).
 */
#include "esipa_test_util.h"

#include "proto/esipa/esipa_message.h"

typedef struct {
    const char *name;
    bool from_ipa;
    const char *hex;
    eim_err_t expected;
    const char *reason; /* expected eim_der_error_t.reason, NULL = any */
} reject_case_t;

#define EID16 "5A1089049032123451234512345678901235"

static const reject_case_t reject_cases[] = {
    {"empty input", true, "", EIM_ERR_DECODE, "missing element"},
    {"truncated GetEimPackageRequest", true, "BF4F125A10890490321234512345123456789012",
     EIM_ERR_TRUNCATED, NULL},
    {"trailing bytes after message", false, "BF4F0302010100", EIM_ERR_DECODE, "trailing bytes"},
    {"unknown top-level tag", true, "BF4003020101", EIM_ERR_UNSUPPORTED, NULL},
    {"response tag BF3D from eIM", false, "BF3D03020101", EIM_ERR_UNSUPPORTED, NULL},
    {"EID of 15 bytes", true, "BF4F115A0F890490321234512345123456789012", EIM_ERR_DECODE,
     "EID must be 16 bytes"},
    {"EID missing", true, "BF4F0480020000", EIM_ERR_DECODE, NULL},
    {"rPLMN of 2 bytes", true, "BF4F16" EID16 "820262F2", EIM_ERR_DECODE, "rPLMN must be 3 bytes"},
    {"notifyStateChange not NULL", true, "BF4F15" EID16 "800101", EIM_ERR_DECODE, NULL},
    {"indefinite length", false, "BF4F80020101 0000", EIM_ERR_DECODE, NULL},
    {"non-minimal length", false, "BF4F8103020101", EIM_ERR_DECODE, NULL},
    {"two alternatives in GetEimPackageResponse", false, "BF4F06020101020101", EIM_ERR_DECODE,
     "trailing bytes"},
    {"empty GetEimPackageResponse", false, "BF4F00", EIM_ERR_DECODE, NULL},
    {"unknown GetEimPackageResponse alternative", false, "BF4F03810101", EIM_ERR_UNSUPPORTED, NULL},
    {"transaction id of 17 bytes", false, "BF4F16BF541382110102030405060708090A0B0C0D0E0F1011",
     EIM_ERR_DECODE, "TransactionId must be 1..16 bytes"},
    {"empty transaction id", false, "BF4F05BF54028200", EIM_ERR_DECODE, NULL},
    {"activation code invalid UTF-8", false, "BF4F09BF5406A004800280C0", EIM_ERR_DECODE,
     "invalid UTF-8"},
    {"contactDefaultSmdp not NULL", false, "BF4F09BF5406A00481020000", EIM_ERR_DECODE, NULL},
    {"tagList missing in BF52", false, "BF4F06BF5203830101", EIM_ERR_DECODE, NULL},
    {"ack that is not [0]", false, "BF50 06 BF53 03 810107", EIM_ERR_DECODE, NULL},
    {"empty ProvideEimPackageResultResponse", false, "BF5000", EIM_ERR_DECODE, NULL},
    {"ProvideEimPackageResult without result", true, "BF5012" EID16, EIM_ERR_DECODE, NULL},
    {"unknown EimPackageResult alternative", true, "BF5003810101", EIM_ERR_UNSUPPORTED, NULL},
    {"ePRAndNotifications without list", true, "BF50073005BF5102A000", EIM_ERR_DECODE, NULL},
    {"EPR list holding a non-BF51", true, "BF500BBF5208A006A20430020100", EIM_ERR_DECODE,
     "EuiccPackageResult (BF51) expected"},
    {"IpaEuiccData members out of order", true, "BF500DBF520AA008 8401 07 8103 61 2E 62",
     EIM_ERR_DECODE, "IpaEuiccData member out of order"},
    {"unknown PendingNotification alternative", true, "BF3D06A00404020101", EIM_ERR_UNSUPPORTED,
     NULL},
    {"two notifications in HandleNotification", true, "BF3D06A0040500 0500", EIM_ERR_DECODE, NULL},
    {"PIR without signature", true,
     "BF3D2DA02BBF3728BF2725800101BF2F19800101810207800C10736D64702E6578616D706C652E636F6DA204A0024"
     "F00",
     EIM_ERR_DECODE, NULL},
    {"ICCID of 9 bytes in metadata", true,
     "BF3D32A030302EBF2F24800101810207800C10736D64702E6578616D706C652E636F6D5A099800103254769810325"
     "F370030003000",
     EIM_ERR_DECODE, "ICCID must be 10 bytes"},
    {"malformed BIT STRING event", true,
     "BF3D22A020301EBF2F148001018101080C005A0A980010325476981032145F370030003000", EIM_ERR_DECODE,
     "malformed BIT STRING"},
    {"euiccChallenge of 8 bytes", true, "BF390A81080102030405060708", EIM_ERR_DECODE,
     "euiccChallenge must be 16 bytes"},
    {"CancelSession A1 holding two elements", true, "BF410B800101A1060500 0500 0500",
     EIM_ERR_DECODE, NULL},
    {"AuthenticateClient without BF38", true, "BF3B03800101", EIM_ERR_DECODE, NULL},
    {"hashCc of 31 bytes", false,
     "BF3B2AA02830005F37003000041F00000000000000000000000000000000000000000000000000000000000000",
     EIM_ERR_DECODE, "hashCc must be 32 bytes"},
    {"GetBPP response without BPP", false, "BF3A05A003800101", EIM_ERR_DECODE, NULL},
    {"INTEGER error code with 9 bytes", false, "BF4F0B0209010203040506070809", EIM_ERR_LIMIT, NULL},
    {"eimPackageReceived not NULL", true, "BF4E03050100", EIM_ERR_DECODE, NULL},
};

static eim_err_t decode(bool from_ipa, const uint8_t *data, size_t len, eim_der_error_t *err)
{
    eim_err_t rc;
    if (from_ipa) {
        eim_esipa_ipa_to_eim_t *m = EIM_NEW(eim_esipa_ipa_to_eim_t);
        rc = eim_esipa_ipa_to_eim_decode(data, len, m, err);
        free(m);
    } else {
        eim_esipa_eim_to_ipa_t *m = EIM_NEW(eim_esipa_eim_to_ipa_t);
        rc = eim_esipa_eim_to_ipa_decode(data, len, m, err);
        free(m);
    }
    return rc;
}

static void test_reject_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
        const reject_case_t *c = &reject_cases[i];
        size_t len;
        uint8_t *bytes = test_hex(c->hex, &len);
        eim_der_error_t err;
        eim_err_t rc = decode(c->from_ipa, bytes, len, &err);
        fprintf(stderr, "%-45s -> %s (%s at %zu)\n", c->name, eim_strerror(rc),
                err.reason ? err.reason : "-", err.offset);
        if (rc != c->expected)
            fail_msg("%s: got %s, want %s", c->name, eim_strerror(rc), eim_strerror(c->expected));
        assert_non_null(err.reason);
        if (c->reason != NULL && strcmp(c->reason, err.reason) != 0)
            fail_msg("%s: reason '%s', want '%s'", c->name, err.reason, c->reason);
        assert_true(err.offset <= len);
        free(bytes);
    }
}

static void test_error_location(void **state)
{
    (void)state;
    /* The bad EID sits at offset 3 (after BF4F 11). */
    size_t len;
    uint8_t *bytes = test_hex("BF4F115A0F890490321234512345123456789012", &len);
    eim_der_error_t err;
    assert_int_equal(decode(true, bytes, len, &err), EIM_ERR_DECODE);
    assert_int_equal(err.offset, 3);
    assert_int_equal(err.tag, 0x5A);
    free(bytes);
}

/* Builds a message with n list items through the DER writer. */
static void build_acks(eim_buf_t *buf, size_t n)
{
    eim_der_writer_t w;
    eim_der_writer_init(&w, buf);
    eim_der_begin(&w, 0xBF50);
    eim_der_begin(&w, 0xBF53);
    for (size_t i = 0; i < n; i++)
        eim_der_put_int(&w, 0x80, (int64_t)i);
    eim_der_end(&w);
    eim_der_end(&w);
    assert_int_equal(eim_der_writer_finish(&w), EIM_OK);
}

static void build_notifications(eim_buf_t *buf, size_t n)
{
    size_t len;
    uint8_t *other = test_hex("3000BF2F15800101810207800C00 5A0A98001032547698103214 5F3700"
                              "3000 3000",
                              &len);
    /* fix up: 30 L over BF2F(18) + 5F3700(3) + 3000 + 3000 */
    other[1] = (uint8_t)(len - 2);
    eim_der_writer_t w;
    eim_der_writer_init(&w, buf);
    eim_der_begin(&w, 0xBF50);
    eim_der_begin(&w, 0x30);
    eim_der_put_raw(&w, eim_span((const uint8_t *)"\xBF\x51\x00", 3));
    eim_der_begin(&w, 0xA0);
    for (size_t i = 0; i < n; i++)
        eim_der_put_raw(&w, eim_span(other, len));
    eim_der_end(&w);
    eim_der_end(&w);
    eim_der_end(&w);
    assert_int_equal(eim_der_writer_finish(&w), EIM_OK);
    free(other);
}

static void test_list_limits(void **state)
{
    (void)state;
    eim_buf_t buf;
    eim_der_error_t err;
    eim_esipa_eim_to_ipa_t *m = EIM_NEW(eim_esipa_eim_to_ipa_t);

    eim_buf_init(&buf, 1 << 20);
    build_acks(&buf, EIM_ESIPA_MAX_ACKNOWLEDGEMENTS);
    assert_int_equal(eim_esipa_eim_to_ipa_decode(buf.data, buf.len, m, &err), EIM_OK);
    assert_int_equal(m->provide_eim_package_result.acknowledgements.count,
                     EIM_ESIPA_MAX_ACKNOWLEDGEMENTS);
    eim_buf_reset(&buf);
    build_acks(&buf, EIM_ESIPA_MAX_ACKNOWLEDGEMENTS + 1);
    assert_int_equal(eim_esipa_eim_to_ipa_decode(buf.data, buf.len, m, &err), EIM_ERR_LIMIT);
    assert_string_equal(err.reason, "too many acknowledgements");
    eim_buf_free(&buf);
    free(m);

    eim_esipa_ipa_to_eim_t *p = EIM_NEW(eim_esipa_ipa_to_eim_t);
    eim_buf_init(&buf, 1 << 20);
    build_notifications(&buf, EIM_ESIPA_MAX_NOTIFICATIONS);
    eim_err_t rc = eim_esipa_ipa_to_eim_decode(buf.data, buf.len, p, &err);
    if (rc != EIM_OK)
        fail_msg("%s at %zu", err.reason, err.offset);
    assert_int_equal(p->provide_eim_package_result.result.notifications.count,
                     EIM_ESIPA_MAX_NOTIFICATIONS);
    eim_buf_reset(&buf);
    build_notifications(&buf, EIM_ESIPA_MAX_NOTIFICATIONS + 1);
    assert_int_equal(eim_esipa_ipa_to_eim_decode(buf.data, buf.len, p, &err), EIM_ERR_LIMIT);
    assert_string_equal(err.reason, "too many notifications");
    eim_buf_free(&buf);
    free(p);
}

/* Tolerance: EXTENSIBILITY IMPLIED and the wrapper variants real IPAs send. */
typedef struct {
    const char *name;
    bool from_ipa;
    const char *hex;
    const char *canonical_hex; /* re-encoding, NULL = same as hex minus extensions */
} tolerate_case_t;

static const tolerate_case_t tolerate_cases[] = {
    {"GetEimPackageRequest with a trailing extension", true, "BF4F16" EID16 "9F7F0101",
     "BF4F12" EID16},
    {"ProvideEimPackageResultResponse emptyResponse with extension", false, "BF500430020500",
     "BF50023000"},
    {"BF52 data in SEQUENCE form", true, "BF500BBF52083006 8104 612E 6263",
     "BF500BBF5208A006 8104 612E 6263"},
    {"BF52 data bare", true, "BF5009BF5206 8104 612E 6263 ", "BF500BBF5208A006 8104 612E 6263"},
    {"BF52 error bare", true, "BF5009BF5206 800101 020101", "BF500BBF5208A106800101020101"},
    {"BF52 bare lone notificationsList", true,
     "BF5029BF5226A0243022BF2F18800101810207800C03612E625A0A980010325476981032145F370030003000",
     "BF502BBF5228A026A0243022BF2F18800101810207800C03612E625A0A980010325476981032145F37003000300"
     "0"},
    {"BF52 data with unknown member", true, "BF500FBF520CA00A9F7F01008104612E6263",
     "BF500BBF5208A0068104612E6263"},
    {"contactSmds with universal UTF8String", false, "BF4F0ABF5407A005A2030C0161",
     "BF4F0ABF5407A005A203800161"},
};

static void test_tolerate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(tolerate_cases) / sizeof(tolerate_cases[0]); i++) {
        const tolerate_case_t *c = &tolerate_cases[i];
        size_t len, want_len;
        uint8_t *bytes = test_hex(c->hex, &len);
        uint8_t *want = test_hex(c->canonical_hex, &want_len);
        eim_der_error_t err;
        eim_buf_t out;
        eim_buf_init(&out, 1 << 16);
        eim_err_t rc;
        if (c->from_ipa) {
            eim_esipa_ipa_to_eim_t *m = EIM_NEW(eim_esipa_ipa_to_eim_t);
            rc = eim_esipa_ipa_to_eim_decode(bytes, len, m, &err);
            if (rc == EIM_OK)
                rc = eim_esipa_ipa_to_eim_encode(m, &out);
            free(m);
        } else {
            eim_esipa_eim_to_ipa_t *m = EIM_NEW(eim_esipa_eim_to_ipa_t);
            rc = eim_esipa_eim_to_ipa_decode(bytes, len, m, &err);
            if (rc == EIM_OK)
                rc = eim_esipa_eim_to_ipa_encode(m, &out);
            free(m);
        }
        if (rc != EIM_OK)
            fail_msg("%s: %s (%s at %zu)", c->name, eim_strerror(rc), err.reason, err.offset);
        test_assert_bytes(out.data, out.len, want, want_len);
        test_assert_openssl_parses(out.data, out.len);
        eim_buf_free(&out);
        free(bytes);
        free(want);
    }
}

static void test_wire_form_reported(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        eim_esipa_euicc_data_kind_t kind;
        eim_esipa_wire_form_t form;
    } cases[] = {
        {"BF5208A0068104612E6263", EIM_ESIPA_EUICC_DATA, EIM_ESIPA_FORM_CHOICE_TAGGED},
        {"BF520830068104612E6263", EIM_ESIPA_EUICC_DATA, EIM_ESIPA_FORM_SEQUENCE},
        {"BF52068104612E6263", EIM_ESIPA_EUICC_DATA, EIM_ESIPA_FORM_BARE},
        {"BF5205A103020101", EIM_ESIPA_EUICC_DATA_ERROR, EIM_ESIPA_FORM_CHOICE_TAGGED},
        {"BF520530 03020101", EIM_ESIPA_EUICC_DATA_ERROR, EIM_ESIPA_FORM_SEQUENCE},
        {"BF5203020101", EIM_ESIPA_EUICC_DATA_ERROR, EIM_ESIPA_FORM_BARE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        uint8_t *bytes = test_hex(cases[i].hex, &len);
        eim_esipa_euicc_data_response_t *r = EIM_NEW(eim_esipa_euicc_data_response_t);
        assert_int_equal(eim_esipa_euicc_data_response_decode(bytes, len, r, NULL), EIM_OK);
        assert_int_equal(r->kind, cases[i].kind);
        assert_int_equal(r->wire_form, cases[i].form);
        free(r);
        free(bytes);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_table),       cmocka_unit_test(test_error_location),
        cmocka_unit_test(test_list_limits),        cmocka_unit_test(test_tolerate_table),
        cmocka_unit_test(test_wire_form_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
