/*
 * Tests of proto/esep/euicc_result (SGP.32 v1.2 §2.11.1.2 EuiccPackageResult):
 * Appendix B example 4 (decode and re-encode), the three CHOICE forms and
 * the bare mock forms (brief §2.8), every EuiccResultData alternative in a
 * round trip, rejection cases as data, openssl asn1parse cross-check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esep_test_util.h"
#include "proto/esep/euicc_result.h"

static const char golden_4a[] = "30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00";
static const char golden_4c[] = "BF 50 81 8A EID BF 51 75 A0 73 30 2E EIMID 81 01 05 TXID "
                                "83 01 07 30 03 83 01 00 SIG";

static eim_euicc_result_t *decode_hex(const char *text, uint8_t *in, size_t cap, size_t *n)
{
    *n = test_hex(text, in, cap);
    eim_euicc_result_t *res = malloc(sizeof(*res));
    eim_der_error_t err;
    eim_err_t rc = eim_esep_result_decode(in, *n, res, &err);
    if (rc)
        fail_msg("decode %d at %zu tag %X: %s", rc, err.offset, err.tag, err.reason);
    return res;
}

static void assert_golden_4(const eim_euicc_result_t *res)
{
    assert_int_equal(res->form, EIM_RESULT_SIGNED);
    test_assert_span_bytes(res->eim_id, "eim.example.com", 15);
    assert_int_equal(res->counter_value, 5);
    test_assert_span_bytes(res->transaction_id, test_txid_bytes, 16);
    assert_int_equal(res->seq_number, 7);
    assert_int_equal(res->count, 1);
    assert_int_equal(res->results[0].kind, EIM_RD_ENABLE);
    assert_int_equal(res->results[0].code, EIM_RESULT_OK);
    test_assert_span_hex(res->results[0].raw, "83 01 00");
    test_assert_span_hex(res->signed_tlv, golden_4a);
    assert_int_equal(res->signature.len, 64);
}

static void test_golden_4(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t n = test_hex(golden_4c, in, sizeof(in));
    /* As ProvideEimPackageResult will be read: BF50 { 5A eid, BF51 ... }. */
    eim_der_reader_t r, c;
    eim_der_elem_t env, eid;
    eim_der_error_t err;
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read_tag(&r, 0xBF50, &env), EIM_OK);
    assert_int_equal(eim_der_enter(&r, &env, &c), EIM_OK);
    assert_int_equal(eim_der_read_tag(&c, 0x5A, &eid), EIM_OK);
    eim_euicc_result_t *res = malloc(sizeof(*res));
    assert_int_equal(eim_esep_result_read(&c, res), EIM_OK);
    assert_int_equal(eim_der_expect_end(&c), EIM_OK);
    assert_golden_4(res);
    assert_true(res->wrapped);
    assert_ptr_equal(res->signed_tlv.ptr, in + 4 + 18 + 3 + 2);
    assert_ptr_equal(res->tlv.ptr, in + 4 + 18);

    /* 4a re-encoded, 4b signature input, 4c's BF51 re-assembled. */
    eim_buf_t buf, input, out;
    eim_buf_init(&buf, 4096);
    eim_buf_init(&input, 4096);
    eim_buf_init(&out, 4096);
    assert_int_equal(eim_esep_result_encode_signed(res, &buf), EIM_OK);
    test_assert_span_hex(eim_span(buf.data, buf.len), golden_4a);
    assert_int_equal(eim_esep_signature_input(res->signed_tlv, 0, &input), EIM_OK);
    test_assert_span_hex(eim_span(input.data, input.len),
                         "30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00 84 01 00");
    assert_int_equal(
        eim_esep_result_assemble(EIM_RESULT_SIGNED, res->signed_tlv, res->signature, &out), EIM_OK);
    test_assert_span_bytes(eim_span(out.data, out.len), res->tlv.ptr, res->tlv.len);
    assert_true(test_openssl_parses(out.data, out.len));
    eim_buf_free(&buf);
    eim_buf_free(&input);
    eim_buf_free(&out);
    free(res);
}

static void test_bare_forms(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t n;
    /* BF51 { 30 data, 5F37 } and BF51 { 30 { 30 data, 5F37 } }. */
    eim_euicc_result_t *res = decode_hex(
        "BF 51 73 30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00 SIG", in, sizeof(in), &n);
    assert_golden_4(res);
    assert_false(res->wrapped);
    assert_ptr_equal(res->signed_tlv.ptr, in + 3);
    free(res);
    res = decode_hex("BF 51 75 30 73 30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00 SIG", in,
                     sizeof(in), &n);
    assert_golden_4(res);
    assert_false(res->wrapped);
    assert_ptr_equal(res->signed_tlv.ptr, in + 5);
    free(res);
    /* Bare signed error and bare unsigned error. */
    res = decode_hex("BF 51 6E 30 29 EIMID 81 01 05 TXID 02 01 04 SIG", in, sizeof(in), &n);
    assert_int_equal(res->form, EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(res->error_code, EIM_PACKAGE_ERROR_REPLAY);
    test_assert_span_hex(res->signed_tlv, "30 29 EIMID 81 01 05 TXID 02 01 04");
    free(res);
    res = decode_hex("BF 51 28 30 26 EIMID TXID 84 01 07", in, sizeof(in), &n);
    assert_int_equal(res->form, EIM_RESULT_ERROR_UNSIGNED);
    assert_true(res->has_association_token);
    assert_int_equal(res->association_token, 7);
    assert_null(res->signed_tlv.ptr);
    free(res);
}

static void test_error_forms(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t n;
    eim_euicc_result_t *res =
        decode_hex("BF 51 70 A1 6E 30 29 EIMID 81 01 05 TXID 02 01 04 SIG", in, sizeof(in), &n);
    assert_int_equal(res->form, EIM_RESULT_ERROR_SIGNED);
    assert_true(res->wrapped);
    test_assert_span_bytes(res->eim_id, "eim.example.com", 15);
    assert_int_equal(res->counter_value, 5);
    assert_int_equal(res->error_code, EIM_PACKAGE_ERROR_REPLAY);
    assert_ptr_equal(res->signed_tlv.ptr, in + 5);
    /* Re-encode: same bytes. */
    eim_buf_t buf;
    eim_buf_init(&buf, 4096);
    assert_int_equal(eim_esep_result_encode_signed(res, &buf), EIM_OK);
    test_assert_span_bytes(eim_span(buf.data, buf.len), res->signed_tlv.ptr, res->signed_tlv.len);
    eim_buf_reset(&buf);
    assert_int_equal(
        eim_esep_result_assemble(EIM_RESULT_ERROR_SIGNED, res->signed_tlv, res->signature, &buf),
        EIM_OK);
    test_assert_span_bytes(eim_span(buf.data, buf.len), in, n);
    free(res);

    res = decode_hex("BF 51 28 A2 26 EIMID TXID 84 01 07", in, sizeof(in), &n);
    assert_int_equal(res->form, EIM_RESULT_ERROR_UNSIGNED);
    assert_true(res->wrapped);
    test_assert_span_bytes(res->transaction_id, test_txid_bytes, 16);
    assert_int_equal(res->association_token, 7);
    assert_false(res->has_unsigned_error_code);
    eim_buf_reset(&buf);
    assert_int_equal(eim_esep_result_encode(res, 0, NULL, NULL, &buf), EIM_OK);
    test_assert_span_bytes(eim_span(buf.data, buf.len), in, n);
    assert_true(test_openssl_parses(buf.data, buf.len));
    eim_buf_free(&buf);
    free(res);
}

static void test_list_profile_info_forms(void **state)
{
    (void)state;
    static const char *forms[] = {
        "BF 51 81 8F A0 81 8C 30 47 EIMID 81 01 05 TXID 83 01 07 30 1C BF 2D 19 E3 17 ICCID "
        "9F 70 01 01 92 02 4F 70 95 01 02 SIG",
        "BF 51 81 91 A0 81 8E 30 49 EIMID 81 01 05 TXID 83 01 07 30 1E BF 2D 1B A0 19 E3 17 "
        "ICCID 9F 70 01 01 92 02 4F 70 95 01 02 SIG",
    };
    for (int f = 0; f < 2; f++) {
        uint8_t in[512];
        size_t n;
        eim_euicc_result_t *res = decode_hex(forms[f], in, sizeof(in), &n);
        const eim_result_data_t *item = &res->results[0];
        assert_int_equal(item->kind, EIM_RD_LIST_PROFILE_INFO);
        assert_int_equal(item->wrapped, f == 1);
        assert_false(item->is_error);
        assert_int_equal(item->profile_count, 1);
        const eim_profile_info_t *p = &res->profiles[item->profile_first];
        test_assert_span_bytes(p->iccid, test_iccid_bytes, 10);
        assert_true(p->has_state && p->state == 1);
        test_assert_span_bytes(p->name, "Op", 2);
        assert_true(p->has_profile_class && p->profile_class == 2);
        assert_false(p->fallback_attribute);
        assert_false(p->has_fallback_allowed);
        assert_null(p->isdp_aid.ptr);
        assert_int_equal(p->raw.len, 0x19);
        free(res);
    }
    /* Bare listEim result: AB { 30 {...} 30 {...} }. */
    uint8_t in[512];
    size_t n;
    eim_euicc_result_t *res = decode_hex("BF 51 81 84 A0 81 81 30 3C EIMID 81 01 05 TXID 83 01 07 "
                                         "30 11 AB 0F 30 04 80 02 65 31 30 07 80 02 65 32 82 01 02 "
                                         "SIG",
                                         in, sizeof(in), &n);
    const eim_result_data_t *item = &res->results[0];
    assert_int_equal(item->kind, EIM_RD_LIST_EIM);
    assert_false(item->wrapped);
    assert_int_equal(item->eim_id_count, 2);
    test_assert_span_bytes(res->eim_ids[0].eim_id, "e1", 2);
    assert_false(res->eim_ids[0].has_eim_id_type);
    test_assert_span_bytes(res->eim_ids[1].eim_id, "e2", 2);
    assert_true(res->eim_ids[1].has_eim_id_type && res->eim_ids[1].eim_id_type == 2);
    free(res);
}

static void test_extensions(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t n;
    /* Unknown EuiccResultData alternative BF7F and unknown component 9F7F. */
    eim_euicc_result_t *res = decode_hex("BF 51 7F A0 7D 30 38 EIMID 81 01 05 TXID 83 01 07 30 09 "
                                         "83 01 00 BF 7F 03 80 01 01 9F 7F 01 01 SIG",
                                         in, sizeof(in), &n);
    assert_int_equal(res->count, 2);
    assert_int_equal(res->results[1].kind, EIM_RD_UNKNOWN);
    test_assert_span_hex(res->results[1].raw, "BF 7F 03 80 01 01");
    assert_int_equal(res->signed_tlv.len, 0x3A);
    free(res);
}

static uint8_t signed_input[8192];
static size_t signed_input_len;

static eim_err_t fake_sign(void *ctx, eim_span_t input, uint8_t sig[EIM_ESEP_SIGNATURE_LEN])
{
    (void)ctx;
    memcpy(signed_input, input.ptr, input.len);
    signed_input_len = input.len;
    memset(sig, 0x5A, EIM_ESEP_SIGNATURE_LEN);
    return EIM_OK;
}

static void test_round_trip_every_alternative(void **state)
{
    (void)state;
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0x01};
    static uint8_t rat[16];
    size_t rat_len = test_hex("30 07 80 01 00 81 02 07 80", rat, sizeof(rat));
    eim_euicc_result_t *res = calloc(1, sizeof(*res));
    res->form = EIM_RESULT_SIGNED;
    res->eim_id = S("eim.example.com");
    res->counter_value = 42;
    res->transaction_id = eim_span(test_txid_bytes, 16);
    res->seq_number = 300;
    res->profiles[0] = (eim_profile_info_t){.iccid = eim_span(test_iccid_bytes, 10),
                                            .isdp_aid = eim_span(aid, sizeof(aid)),
                                            .has_state = true,
                                            .state = 1,
                                            .nickname = S("nick"),
                                            .service_provider_name = S("SP"),
                                            .name = S("Profile"),
                                            .has_profile_class = true,
                                            .profile_class = 2,
                                            .has_ecall_indication = true,
                                            .ecall_indication = false,
                                            .fallback_attribute = true,
                                            .has_fallback_allowed = true,
                                            .fallback_allowed = true};
    res->profiles[1] = (eim_profile_info_t){.iccid = eim_span(test_iccid_bytes, 10)};
    res->profile_count = 2;
    res->eim_ids[0] = (eim_eim_id_info_t){.eim_id = S("eim.example.com")};
    res->eim_ids[1] = (eim_eim_id_info_t){
        .eim_id = S("eim2.example.com"), .has_eim_id_type = true, .eim_id_type = 2};
    res->eim_id_count = 2;
    size_t i = 0;
    eim_result_data_t *r = res->results;
    r[i++] = (eim_result_data_t){.kind = EIM_RD_ENABLE, .code = 0};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_DISABLE, .code = 2};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_DELETE, .code = 21};
    r[i++] = (eim_result_data_t){
        .kind = EIM_RD_LIST_PROFILE_INFO, .profile_first = 0, .profile_count = 2};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_LIST_PROFILE_INFO, .is_error = true, .code = 11};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_GET_RAT, .rat = eim_span(rat, rat_len)};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_CONFIGURE_IMMEDIATE_ENABLE, .code = 7};
    r[i++] = (eim_result_data_t){
        .kind = EIM_RD_ADD_EIM, .has_association_token = true, .association_token = 300};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_ADD_EIM, .is_error = true, .code = 2};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_DELETE_EIM, .code = 2};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_UPDATE_EIM, .code = 6};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_LIST_EIM, .eim_id_first = 0, .eim_id_count = 2};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_LIST_EIM, .is_error = true, .code = 127};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_ROLLBACK, .code = 0};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_SET_FALLBACK_ATTRIBUTE, .code = 2};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_UNSET_FALLBACK_ATTRIBUTE, .code = 3};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_SET_DEFAULT_DP_ADDRESS, .code = 127};
    r[i++] = (eim_result_data_t){.kind = EIM_RD_PROCESSING_TERMINATED, .code = 2};
    res->count = i;

    eim_buf_t wire, signed_part;
    eim_buf_init(&wire, 1 << 16);
    eim_buf_init(&signed_part, 1 << 16);
    assert_int_equal(eim_esep_result_encode(res, 300, fake_sign, NULL, &wire), EIM_OK);
    assert_int_equal(eim_esep_result_encode_signed(res, &signed_part), EIM_OK);
    assert_int_equal(signed_input_len, signed_part.len + 4);
    assert_memory_equal(signed_input, signed_part.data, signed_part.len);
    assert_memory_equal(signed_input + signed_part.len, "\x84\x02\x01\x2C", 4);
    assert_true(test_openssl_parses(wire.data, wire.len));

    eim_euicc_result_t *d = malloc(sizeof(*d));
    eim_der_error_t err;
    eim_err_t rc = eim_esep_result_decode(wire.data, wire.len, d, &err);
    if (rc)
        fail_msg("decode %d at %zu: %s", rc, err.offset, err.reason);
    test_assert_span_bytes(d->signed_tlv, signed_part.data, signed_part.len);
    assert_int_equal(d->signature.len, 64);
    assert_int_equal(d->counter_value, 42);
    assert_int_equal(d->seq_number, 300);
    assert_int_equal(d->count, i);
    for (size_t k = 0; k < i; k++) {
        assert_int_equal(d->results[k].kind, r[k].kind);
        assert_int_equal(d->results[k].code, r[k].code);
        assert_int_equal(d->results[k].is_error, r[k].is_error);
        assert_int_equal(d->results[k].has_association_token, r[k].has_association_token);
        assert_int_equal(d->results[k].association_token, r[k].association_token);
    }
    assert_true(d->results[3].wrapped);
    assert_int_equal(d->results[3].profile_count, 2);
    const eim_profile_info_t *p = &d->profiles[0];
    test_assert_span_bytes(p->isdp_aid, aid, sizeof(aid));
    test_assert_span_bytes(p->nickname, "nick", 4);
    test_assert_span_bytes(p->service_provider_name, "SP", 2);
    assert_true(p->has_ecall_indication && !p->ecall_indication);
    assert_true(p->fallback_attribute);
    assert_true(p->has_fallback_allowed && p->fallback_allowed);
    assert_false(d->profiles[1].has_state);
    test_assert_span_bytes(d->results[5].rat, rat, rat_len);
    assert_int_equal(d->results[11].eim_id_count, 2);
    test_assert_span_bytes(d->eim_ids[1].eim_id, "eim2.example.com", 16);
    assert_int_equal(d->eim_ids[1].eim_id_type, 2);
    /* Re-encoding the decoded structure gives the received signed bytes. */
    eim_buf_t again;
    eim_buf_init(&again, 1 << 16);
    assert_int_equal(eim_esep_result_encode_signed(d, &again), EIM_OK);
    test_assert_span_bytes(eim_span(again.data, again.len), signed_part.data, signed_part.len);
    /* Also when profiles are rebuilt from fields instead of raw TLVs. */
    for (size_t k = 0; k < d->profile_count; k++)
        d->profiles[k].raw = EIM_SPAN_NULL;
    eim_buf_reset(&again);
    assert_int_equal(eim_esep_result_encode_signed(d, &again), EIM_OK);
    test_assert_span_bytes(eim_span(again.data, again.len), signed_part.data, signed_part.len);
    eim_buf_free(&again);
    eim_buf_free(&wire);
    eim_buf_free(&signed_part);
    free(d);

    /* Signed error and unsigned error (with the v1.3 code) round trips. */
    res->form = EIM_RESULT_ERROR_SIGNED;
    res->error_code = EIM_PACKAGE_ERROR_ECALL_ACTIVE;
    eim_buf_init(&wire, 4096);
    assert_int_equal(eim_esep_result_encode(res, 0, fake_sign, NULL, &wire), EIM_OK);
    assert_true(test_openssl_parses(wire.data, wire.len));
    d = malloc(sizeof(*d));
    assert_int_equal(eim_esep_result_decode(wire.data, wire.len, d, NULL), EIM_OK);
    assert_int_equal(d->form, EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(d->error_code, 104);
    assert_int_equal(d->count, 0);
    free(d);
    res->form = EIM_RESULT_ERROR_UNSIGNED;
    res->has_association_token = true;
    res->association_token = 128;
    res->has_unsigned_error_code = true;
    res->unsigned_error_code = 15;
    eim_buf_reset(&wire);
    assert_int_equal(eim_esep_result_encode(res, 0, NULL, NULL, &wire), EIM_OK);
    test_assert_span_hex(eim_span(wire.data, wire.len),
                         "BF 51 2C A2 2A EIMID TXID 84 02 00 80 8F 01 0F");
    assert_true(test_openssl_parses(wire.data, wire.len));
    d = malloc(sizeof(*d));
    assert_int_equal(eim_esep_result_decode(wire.data, wire.len, d, NULL), EIM_OK);
    assert_int_equal(d->association_token, 128);
    assert_true(d->has_unsigned_error_code && d->unsigned_error_code == 15);
    free(d);
    eim_buf_free(&wire);
    free(res);
}

static const test_reject_case_t reject_cases[] = {
    {"missing seqNumber", "BF 51 72 A0 70 30 2B EIMID 81 01 05 TXID 30 03 83 01 00 SIG",
     EIM_ERR_DECODE, "missing seqNumber"},
    {"missing euiccResult", "BF 51 70 A0 6E 30 29 EIMID 81 01 05 TXID 83 01 07 SIG", EIM_ERR_DECODE,
     "missing euiccResult"},
    {"missing counterValue", "BF 51 6F A0 6D 30 28 EIMID TXID 83 01 07 30 00 SIG", EIM_ERR_DECODE,
     "missing counterValue"},
    {"empty signature", "BF 51 35 A0 33 30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00 5F 37 00",
     EIM_ERR_DECODE, "bad signature size"},
    {"missing signature", "BF 51 32 A0 30 30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00",
     EIM_ERR_DECODE, "missing element"},
    {"unknown alternative", "BF 51 75 A3 73 30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00 SIG",
     EIM_ERR_UNSUPPORTED, "unknown EuiccPackageResult alternative"},
    {"E3 iccid 9 bytes",
     "BF 51 81 85 A0 81 82 30 3D EIMID 81 01 05 TXID 83 01 07 30 12 BF 2D 0F A0 0D E3 0B 5A 09 "
     "98 00 10 32 54 76 98 10 32 SIG",
     EIM_ERR_DECODE, "ICCID not 10 bytes"},
    {"E3 duplicate",
     "BF 51 81 81 A0 7F 30 3A EIMID 81 01 05 TXID 83 01 07 30 0F BF 2D 0C A0 0A E3 08 9F 70 01 "
     "01 9F 70 01 00 SIG",
     EIM_ERR_DECODE, "component duplicated"},
    {"E3 bad boolean",
     "BF 51 7D A0 7B 30 36 EIMID 81 01 05 TXID 83 01 07 30 0B BF 2D 08 A0 06 E3 04 9F 26 01 01 "
     "SIG",
     EIM_ERR_DECODE, "BOOLEAN not 00 or FF"},
    {"BF2D list then error",
     "BF 51 7A A0 78 30 33 EIMID 81 01 05 TXID 83 01 07 30 08 BF 2D 05 A0 00 81 01 01 SIG",
     EIM_ERR_DECODE, "trailing bytes"},
    {"non-E3 in profile list",
     "BF 51 79 A0 77 30 32 EIMID 81 01 05 TXID 83 01 07 30 07 BF 2D 04 A0 02 30 00 SIG",
     EIM_ERR_DECODE, "unexpected tag"},
    {"35 results",
     "BF 51 81 DD A0 81 DA 30 81 94 EIMID 81 01 05 TXID 83 01 07 30 69 83 01 00 83 01 00 83 01 "
     "00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 "
     "00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 "
     "00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 "
     "00 83 01 00 83 01 00 SIG",
     EIM_ERR_LIMIT, "too many EuiccResultData"},
    {"addEim unknown alternative",
     "BF 51 77 A0 75 30 30 EIMID 81 01 05 TXID 83 01 07 30 05 A8 03 80 01 00 SIG", EIM_ERR_DECODE,
     "unknown AddEimResult alternative"},
    {"addEim two alternatives",
     "BF 51 7A A0 78 30 33 EIMID 81 01 05 TXID 83 01 07 30 08 A8 06 84 01 01 02 01 00 SIG",
     EIM_ERR_DECODE, "trailing bytes"},
    {"unsigned without eimId", "BF 51 14 A2 12 TXID", EIM_ERR_DECODE, "missing eimId"},
    {"signed error without code", "BF 51 6D A1 6B 30 26 EIMID 81 01 05 TXID SIG", EIM_ERR_DECODE,
     "missing euiccPackageErrorCode"},
    {"non-minimal result code",
     "BF 51 76 A0 74 30 2F EIMID 81 01 05 TXID 83 01 07 30 04 83 02 00 00 SIG", EIM_ERR_DECODE,
     "non-minimal INTEGER"},
    {"setDefaultDpAddress result without code",
     "BF 51 75 A0 73 30 2E EIMID 81 01 05 TXID 83 01 07 30 03 BF 65 00 SIG", EIM_ERR_DECODE,
     "missing setDefaultDpAddressResult"},
    {"EimIdInfo without eimId",
     "BF 51 7B A0 79 30 34 EIMID 81 01 05 TXID 83 01 07 30 09 AB 07 A0 05 30 03 82 01 02 SIG",
     EIM_ERR_DECODE, "missing eimId"},
    {"two alternatives in BF51", "BF 51 26 A2 11 EIMID A2 11 EIMID", EIM_ERR_DECODE,
     "trailing bytes"},
    {"primitive alternative", "BF 51 03 80 01 00", EIM_ERR_UNSUPPORTED,
     "unknown EuiccPackageResult alternative"},
    {"seqNumber before counter",
     "BF 51 75 A0 73 30 2E EIMID 83 01 07 81 01 05 TXID 30 03 83 01 00 SIG", EIM_ERR_DECODE,
     "component duplicated or out of order"},
    {"truncated", "BF 51 75 A0 73 30 2E EIMID 81 01 05 TXID 83 01 07 30 03 83 01 00 5F 37 40 00",
     EIM_ERR_TRUNCATED, "length exceeds remaining input"},
    {"empty", "", EIM_ERR_DECODE, "missing element"},
};

/* eim_esep_result_decode into a scratch structure (the rejection table's decoder). */
static eim_err_t decode_scratch(const uint8_t *data, size_t len, eim_der_error_t *error)
{
    eim_euicc_result_t *out = malloc(sizeof(*out));
    eim_err_t rc = eim_esep_result_decode(data, len, out, error);
    free(out);
    return rc;
}

static void test_rejections(void **state)
{
    (void)state;
    test_run_reject_cases(reject_cases, sizeof(reject_cases) / sizeof(reject_cases[0]),
                          decode_scratch);
}

static void test_encoder_rejects_invalid(void **state)
{
    (void)state;
    eim_euicc_result_t *res = calloc(1, sizeof(*res));
    eim_buf_t buf;
    eim_buf_init(&buf, 4096);
    res->form = EIM_RESULT_SIGNED;
    assert_int_equal(eim_esep_result_encode_signed(res, &buf), EIM_ERR_INVALID_ARG); /* eimId */
    res->eim_id = S("eim");
    res->count = 1;
    res->results[0] = (eim_result_data_t){
        .kind = EIM_RD_LIST_PROFILE_INFO, .profile_first = 0, .profile_count = 1};
    assert_int_equal(eim_esep_result_encode_signed(res, &buf), EIM_ERR_INVALID_ARG);
    assert_int_equal(buf.len, 0);
    res->results[0] = (eim_result_data_t){.kind = (eim_result_data_kind_t)77};
    assert_int_equal(eim_esep_result_encode_signed(res, &buf), EIM_ERR_INVALID_ARG);
    res->form = EIM_RESULT_ERROR_UNSIGNED;
    assert_int_equal(eim_esep_result_encode_signed(res, &buf), EIM_ERR_INVALID_ARG);
    res->form = EIM_RESULT_SIGNED;
    res->count = 0;
    assert_int_equal(eim_esep_result_encode(res, 0, NULL, NULL, &buf), EIM_ERR_INVALID_ARG);
    assert_int_equal(
        eim_esep_result_assemble(EIM_RESULT_ERROR_UNSIGNED, S("\x30\x00"), S("\x01"), &buf),
        EIM_ERR_INVALID_ARG);
    assert_int_equal(
        eim_esep_result_assemble(EIM_RESULT_SIGNED, S("\x30\x00"), EIM_SPAN_NULL, &buf),
        EIM_ERR_INVALID_ARG);
    eim_buf_free(&buf);
    free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_4),    cmocka_unit_test(test_bare_forms),
        cmocka_unit_test(test_error_forms), cmocka_unit_test(test_list_profile_info_forms),
        cmocka_unit_test(test_extensions),  cmocka_unit_test(test_round_trip_every_alternative),
        cmocka_unit_test(test_rejections),  cmocka_unit_test(test_encoder_rejects_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
