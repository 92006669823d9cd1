/*
 * Tests of proto/esep/euicc_package (SGP.32 v1.2 §2.11.1 EuiccPackageRequest):
 * the Appendix B golden vectors (decode to the expected structure and
 * re-encode to the same bytes), round trips of every PSMO and eCO, the
 * associationToken TLV, rejection cases as data, and a cross-check of every
 * encoder output by openssl asn1parse.
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
#include "proto/esep/euicc_package.h"

/* Appendix B example 3a / 3b / 3c. */
static const char golden_3a[] = "30 4A EIMID EID 81 01 05 TXID A0 10 A3 0E ICCID 05 00";
static const char golden_3b[] = "30 4A EIMID EID 81 01 05 TXID A0 10 A3 0E ICCID 05 00 84 01 00";
static const char golden_3c[] = "BF 4F 81 93 BF 51 81 8F 30 4A EIMID EID 81 01 05 TXID "
                                "A0 10 A3 0E ICCID 05 00 SIG";

/* A deterministic stand-in for proto/crypto: records what it was asked to
 * sign and returns a recognisable 64-byte pattern. */
static uint8_t signed_input[8192];
static size_t signed_input_len;

static eim_err_t fake_sign(void *ctx, eim_span_t input, uint8_t sig[EIM_ESEP_SIGNATURE_LEN])
{
    (void)ctx;
    assert_true(input.len <= sizeof(signed_input));
    memcpy(signed_input, input.ptr, input.len);
    signed_input_len = input.len;
    for (int i = 0; i < EIM_ESEP_SIGNATURE_LEN; i++)
        sig[i] = (uint8_t)(0xA0 + i);
    return EIM_OK;
}

static eim_err_t failing_sign(void *ctx, eim_span_t input, uint8_t sig[EIM_ESEP_SIGNATURE_LEN])
{
    (void)ctx;
    (void)input;
    (void)sig;
    return EIM_ERR_CRYPTO;
}

static void test_golden_encode(void **state)
{
    (void)state;
    eim_euicc_package_t *p = test_enable_package();
    eim_buf_t buf, input, req;
    eim_buf_init(&buf, 4096);
    eim_buf_init(&input, 4096);
    eim_buf_init(&req, 4096);
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_OK);
    test_assert_span_hex(eim_span(buf.data, buf.len), golden_3a);
    assert_int_equal(eim_esep_signature_input(eim_span(buf.data, buf.len), 0, &input), EIM_OK);
    test_assert_span_hex(eim_span(input.data, input.len), golden_3b);
    uint8_t zero_sig[64] = {0};
    assert_int_equal(eim_esep_package_assemble(eim_span(buf.data, buf.len), zero_sig, &req),
                     EIM_OK);
    test_assert_span_hex(eim_span(req.data, req.len), golden_3c + strlen("BF 4F 81 93 "));
    assert_true(test_openssl_parses(req.data, req.len));
    eim_buf_free(&buf);
    eim_buf_free(&input);
    eim_buf_free(&req);
    free(p);
}

static void test_golden_decode_in_envelope(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t n = test_hex(golden_3c, in, sizeof(in));
    /* As the ESipa decoder will do it: enter BF4F, read BF51 from there. */
    eim_der_error_t err;
    eim_der_reader_t r, c;
    eim_der_elem_t env;
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read_tag(&r, 0xBF4F, &env), EIM_OK);
    assert_int_equal(eim_der_enter(&r, &env, &c), EIM_OK);
    eim_euicc_package_request_t *req = malloc(sizeof(*req));
    assert_int_equal(eim_esep_package_read(&c, req), EIM_OK);
    assert_int_equal(eim_der_expect_end(&c), EIM_OK);

    const eim_euicc_package_t *p = &req->package;
    test_assert_span_bytes(p->eim_id, "eim.example.com", 15);
    test_assert_span_bytes(p->eid, test_eid_bytes, 16);
    assert_int_equal(p->counter_value, 5);
    test_assert_span_bytes(p->transaction_id, test_txid_bytes, 16);
    assert_int_equal(p->list, EIM_PACKAGE_PSMO_LIST);
    assert_int_equal(p->count, 1);
    assert_int_equal(p->psmos[0].kind, EIM_PSMO_ENABLE);
    test_assert_span_bytes(p->psmos[0].iccid, test_iccid_bytes, 10);
    assert_true(p->psmos[0].rollback_flag);
    /* The signed span is exactly the received bytes, in place. */
    assert_ptr_equal(req->signed_tlv.ptr, in + 8);
    test_assert_span_hex(req->signed_tlv, golden_3a);
    assert_int_equal(req->signature.len, 64);
    assert_ptr_equal(req->signature.ptr, in + n - 64);
    assert_ptr_equal(req->tlv.ptr, in + 4);
    assert_int_equal(req->tlv.len, n - 4);

    /* Re-encoding the decoded structure gives the same bytes. */
    eim_buf_t buf;
    eim_buf_init(&buf, 4096);
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_OK);
    test_assert_span_hex(eim_span(buf.data, buf.len), golden_3a);
    eim_buf_free(&buf);
    free(req);
}

static void test_golden_eco_and_set_default_dp(void **state)
{
    (void)state;
    eim_euicc_package_t *p = test_enable_package();
    eim_buf_t buf;
    eim_buf_init(&buf, 4096);
    /* Example 9: ListEim eCO package body A1 02 AB 00. */
    p->transaction_id = EIM_SPAN_NULL;
    p->list = EIM_PACKAGE_ECO_LIST;
    p->ecos[0].kind = EIM_ECO_LIST_EIM;
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_OK);
    test_assert_span_hex(eim_span(buf.data, buf.len), "30 2A EIMID EID 81 01 05 A1 02 AB 00");
    /* Example 10: setDefaultDpAddress PSMO A0 { BF65 { 80 fqdn } }. */
    eim_buf_reset(&buf);
    p->list = EIM_PACKAGE_PSMO_LIST;
    memset(&p->psmos[0], 0, sizeof(p->psmos[0]));
    p->psmos[0].kind = EIM_PSMO_SET_DEFAULT_DP_ADDRESS;
    p->psmos[0].default_dp_address = S("smdp.example.com");
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_OK);
    test_assert_span_hex(eim_span(buf.data, buf.len),
                         "30 3D EIMID EID 81 01 05 "
                         "A0 15 BF 65 12 80 10 73 6D 64 70 2E 65 78 61 6D 70 6C 65 2E 63 6F 6D");
    eim_buf_free(&buf);
    free(p);
}

static void test_token_tlv(void **state)
{
    (void)state;
    static const struct {
        int64_t token;
        const char *hex;
    } cases[] = {
        {0, "84 01 00"},           {1, "84 01 01"},
        {127, "84 01 7F"},         {128, "84 02 00 80"},
        {255, "84 02 00 FF"},      {256, "84 02 01 00"},
        {32768, "84 03 00 80 00"}, {65536, "84 03 01 00 00"},
        {-1, "84 01 FF"},          {INT64_MAX, "84 08 7F FF FF FF FF FF FF FF"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        eim_buf_t buf;
        eim_buf_init(&buf, 64);
        assert_int_equal(eim_esep_token_append(&buf, cases[i].token), EIM_OK);
        test_assert_span_hex(eim_span(buf.data, buf.len), cases[i].hex);
        eim_buf_free(&buf);
    }
}

/* Encodes pkg through the signing path, checks what was signed, decodes the
 * result and re-encodes it: returns the decoded request (caller frees). */
static eim_euicc_package_request_t *round_trip(const eim_euicc_package_t *pkg, uint8_t *wire,
                                               size_t *wire_len)
{
    eim_buf_t buf, signed_part;
    eim_buf_init(&buf, 1 << 16);
    eim_buf_init(&signed_part, 1 << 16);
    assert_int_equal(eim_esep_package_encode(pkg, 0x1234, fake_sign, NULL, &buf), EIM_OK);
    assert_int_equal(eim_esep_package_encode_signed(pkg, &signed_part), EIM_OK);
    /* Signed: DER(EuiccPackageSigned) || 84 02 12 34. */
    assert_int_equal(signed_input_len, signed_part.len + 4);
    assert_memory_equal(signed_input, signed_part.data, signed_part.len);
    assert_memory_equal(signed_input + signed_part.len, "\x84\x02\x12\x34", 4);
    assert_true(test_openssl_parses(buf.data, buf.len));

    memcpy(wire, buf.data, buf.len);
    *wire_len = buf.len;
    eim_euicc_package_request_t *req = malloc(sizeof(*req));
    eim_der_error_t err;
    eim_err_t rc = eim_esep_package_decode(wire, *wire_len, req, &err);
    if (rc)
        fail_msg("decode: %d at %zu tag %X: %s", rc, err.offset, err.tag, err.reason);
    test_assert_span_bytes(req->signed_tlv, signed_part.data, signed_part.len);
    assert_int_equal(req->signature.len, 64);
    assert_int_equal(req->signature.ptr[0], 0xA0);
    eim_buf_t again;
    eim_buf_init(&again, 1 << 16);
    assert_int_equal(eim_esep_package_encode_signed(&req->package, &again), EIM_OK);
    assert_int_equal(again.len, signed_part.len);
    assert_memory_equal(again.data, signed_part.data, again.len);
    eim_buf_free(&again);
    eim_buf_free(&buf);
    eim_buf_free(&signed_part);
    return req;
}

static void test_round_trip_every_psmo(void **state)
{
    (void)state;
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00};
    static const uint8_t oid[] = {0x2B, 0x06, 0x01, 0x04, 0x01};
    static const uint8_t tags[] = {0x5A, 0x4F, 0x9F, 0x70, 0x92, 0x95};
    eim_euicc_package_t *p = test_enable_package();
    eim_span_t iccid = eim_span(test_iccid_bytes, 10);
    size_t i = 0;
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_ENABLE, .iccid = iccid};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_ENABLE, .iccid = iccid, .rollback_flag = true};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_DISABLE, .iccid = iccid};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_DELETE, .iccid = iccid};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_LIST_PROFILE_INFO};
    p->psmos[i++] = (eim_psmo_t){
        .kind = EIM_PSMO_LIST_PROFILE_INFO,
        .list_profile_info = {.search = EIM_SEARCH_ISDP_AID, .search_value = eim_span(aid, 16)}};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_LIST_PROFILE_INFO,
                                 .list_profile_info = {.search = EIM_SEARCH_ICCID,
                                                       .search_value = iccid,
                                                       .tag_list = eim_span(tags, sizeof(tags))}};
    p->psmos[i++] =
        (eim_psmo_t){.kind = EIM_PSMO_LIST_PROFILE_INFO,
                     .list_profile_info = {.search = EIM_SEARCH_PROFILE_CLASS, .profile_class = 2}};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_GET_RAT};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE,
                                 .immediate_enable_flag = true,
                                 .default_smdp_oid = eim_span(oid, sizeof(oid)),
                                 .default_smdp_address = S("smdp.example.com")};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_SET_FALLBACK_ATTRIBUTE, .iccid = iccid};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_UNSET_FALLBACK_ATTRIBUTE};
    p->psmos[i++] = (eim_psmo_t){.kind = EIM_PSMO_SET_DEFAULT_DP_ADDRESS,
                                 .default_dp_address = S("smdp.example.com")};
    p->count = i;

    static uint8_t wire[1 << 16];
    size_t n;
    eim_euicc_package_request_t *req = round_trip(p, wire, &n);
    const eim_euicc_package_t *d = &req->package;
    assert_int_equal(d->count, i);
    for (size_t k = 0; k < i; k++)
        assert_int_equal(d->psmos[k].kind, p->psmos[k].kind);
    assert_false(d->psmos[0].rollback_flag);
    assert_true(d->psmos[1].rollback_flag);
    test_assert_span_bytes(d->psmos[3].iccid, test_iccid_bytes, 10);
    assert_int_equal(d->psmos[4].list_profile_info.search, EIM_SEARCH_NONE);
    assert_null(d->psmos[4].list_profile_info.tag_list.ptr);
    assert_int_equal(d->psmos[5].list_profile_info.search, EIM_SEARCH_ISDP_AID);
    test_assert_span_bytes(d->psmos[5].list_profile_info.search_value, aid, 16);
    assert_int_equal(d->psmos[6].list_profile_info.search, EIM_SEARCH_ICCID);
    test_assert_span_bytes(d->psmos[6].list_profile_info.tag_list, tags, sizeof(tags));
    assert_int_equal(d->psmos[7].list_profile_info.search, EIM_SEARCH_PROFILE_CLASS);
    assert_int_equal(d->psmos[7].list_profile_info.profile_class, 2);
    assert_false(d->psmos[9].immediate_enable_flag);
    assert_null(d->psmos[9].default_smdp_address.ptr);
    assert_true(d->psmos[10].immediate_enable_flag);
    test_assert_span_bytes(d->psmos[10].default_smdp_oid, oid, sizeof(oid));
    test_assert_span_bytes(d->psmos[10].default_smdp_address, "smdp.example.com", 16);
    test_assert_span_bytes(d->psmos[11].iccid, test_iccid_bytes, 10);
    test_assert_span_bytes(d->psmos[13].default_dp_address, "smdp.example.com", 16);
    free(req);
    free(p);
}

static const char spki_contents[] =
    "30 13 06 07 2A 86 48 CE 3D 02 01 06 08 2A 86 48 CE 3D 03 01 07 03 42 00 04 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "00 00 00 00";

static void test_round_trip_every_eco(void **state)
{
    (void)state;
    static uint8_t spki[256], cert[64];
    size_t spki_len = test_hex(spki_contents, spki, sizeof(spki));
    /* A stand-in Certificate body: three well-formed components. */
    size_t cert_len = test_hex("30 03 02 01 01 30 00 03 02 00 AA", cert, sizeof(cert));
    static const uint8_t protocols[] = {0x03, 0xA0}; /* retrieveHttps, injectHttps */
    static const uint8_t skid[] = {0xF5, 0x41, 0x72, 0xBD, 0xF9, 0x8A, 0x95, 0xD6, 0x5C, 0xBE,
                                   0xB8, 0x8A, 0x38, 0xA1, 0xC1, 0x1D, 0x80, 0x0A, 0x85, 0xC3};
    eim_euicc_package_t *p = test_enable_package();
    p->list = EIM_PACKAGE_ECO_LIST;
    eim_eim_config_t full = {
        .eim_id = S("eim.example.com"),
        .eim_fqdn = S("eim.example.com:8443"),
        .has_eim_id_type = true,
        .eim_id_type = 2,
        .has_counter_value = true,
        .counter_value = 8388607,
        .has_association_token = true,
        .association_token = 200,
        .eim_public_key_data = {.kind = EIM_KEY_DATA_PUBLIC_KEY,
                                .contents = eim_span(spki, spki_len)},
        .trusted_public_key_data_tls = {.kind = EIM_KEY_DATA_CERTIFICATE,
                                        .contents = eim_span(cert, cert_len)},
        .eim_supported_protocol = eim_span(protocols, sizeof(protocols)),
        .euicc_ci_pkid = eim_span(skid, sizeof(skid)),
        .indirect_profile_download = true,
    };
    p->ecos[0] = (eim_eco_t){.kind = EIM_ECO_ADD_EIM, .config = full};
    p->ecos[1] = (eim_eco_t){.kind = EIM_ECO_DELETE_EIM, .eim_id = S("old.example.com")};
    p->ecos[2] = (eim_eco_t){.kind = EIM_ECO_UPDATE_EIM, .config = {.eim_id = S("eim2")}};
    p->ecos[3] = (eim_eco_t){.kind = EIM_ECO_LIST_EIM};
    p->count = 4;

    static uint8_t wire[1 << 16];
    size_t n;
    eim_euicc_package_request_t *req = round_trip(p, wire, &n);
    const eim_euicc_package_t *d = &req->package;
    assert_int_equal(d->list, EIM_PACKAGE_ECO_LIST);
    assert_int_equal(d->count, 4);
    const eim_eim_config_t *c = &d->ecos[0].config;
    assert_int_equal(d->ecos[0].kind, EIM_ECO_ADD_EIM);
    test_assert_span_bytes(c->eim_id, "eim.example.com", 15);
    test_assert_span_bytes(c->eim_fqdn, "eim.example.com:8443", 20);
    assert_true(c->has_eim_id_type && c->eim_id_type == 2);
    assert_true(c->has_counter_value && c->counter_value == 8388607);
    assert_true(c->has_association_token && c->association_token == 200);
    assert_int_equal(c->eim_public_key_data.kind, EIM_KEY_DATA_PUBLIC_KEY);
    assert_false(c->eim_public_key_data.wrapped);
    test_assert_span_bytes(c->eim_public_key_data.contents, spki, spki_len);
    assert_int_equal(c->trusted_public_key_data_tls.kind, EIM_KEY_DATA_CERTIFICATE);
    test_assert_span_bytes(c->trusted_public_key_data_tls.contents, cert, cert_len);
    test_assert_span_bytes(c->eim_supported_protocol, protocols, sizeof(protocols));
    test_assert_span_bytes(c->euicc_ci_pkid, skid, sizeof(skid));
    assert_true(c->indirect_profile_download);
    assert_int_equal(d->ecos[1].kind, EIM_ECO_DELETE_EIM);
    test_assert_span_bytes(d->ecos[1].eim_id, "old.example.com", 15);
    assert_int_equal(d->ecos[2].kind, EIM_ECO_UPDATE_EIM);
    test_assert_span_bytes(d->ecos[2].config.eim_id, "eim2", 4);
    assert_false(d->ecos[2].config.has_counter_value);
    assert_int_equal(d->ecos[2].config.eim_public_key_data.kind, EIM_KEY_DATA_NONE);
    assert_int_equal(d->ecos[3].kind, EIM_ECO_LIST_EIM);
    free(req);
    free(p);
}

/* EimConfigurationData key data: X.680 implicit A5{A0 <SPKI contents>} and
 * the vendor form A5{A0{30 ...}} decode to the same key (brief §2.4). */
static void test_key_data_both_forms(void **state)
{
    (void)state;
    static const char implicit_form[] = "BF 51 81 D3 30 81 8D EIMID EID 81 01 05 "
                                        "A1 65 A8 63 80 04 65 69 6D 32 A5 5B A0 59 SPKI SIG";
    static const char wrapped_form[] = "BF 51 81 D5 30 81 8F EIMID EID 81 01 05 "
                                       "A1 67 A8 65 80 04 65 69 6D 32 A5 5D A0 5B 30 59 SPKI SIG";
    uint8_t spki[256];
    size_t spki_len = test_hex(spki_contents, spki, sizeof(spki));
    const char *forms[] = {implicit_form, wrapped_form};
    eim_buf_t implicit_signed;
    eim_buf_init(&implicit_signed, 4096);
    for (int f = 0; f < 2; f++) {
        /* Splice the SPKI contents into the template. */
        char text[2048];
        const char *at = strstr(forms[f], "SPKI");
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - forms[f]), forms[f], spki_contents,
                 at + 4);
        uint8_t in[512];
        size_t n = test_hex(text, in, sizeof(in));
        eim_euicc_package_request_t *req = malloc(sizeof(*req));
        eim_der_error_t err;
        assert_int_equal(eim_esep_package_decode(in, n, req, &err), EIM_OK);
        const eim_key_data_t *k = &req->package.ecos[0].config.eim_public_key_data;
        assert_int_equal(k->kind, EIM_KEY_DATA_PUBLIC_KEY);
        assert_int_equal(k->wrapped, f == 1);
        test_assert_span_bytes(k->contents, spki, spki_len);
        eim_buf_t der;
        eim_buf_init(&der, 4096);
        assert_int_equal(eim_esep_key_data_to_der(k, &der), EIM_OK);
        assert_int_equal(der.len, spki_len + 2);
        assert_int_equal(der.data[0], 0x30);
        assert_int_equal(der.data[1], spki_len);
        assert_memory_equal(der.data + 2, spki, spki_len);
        eim_buf_free(&der);
        /* Both re-encode to the X.680 implicit form. */
        eim_buf_t enc;
        eim_buf_init(&enc, 4096);
        assert_int_equal(eim_esep_package_encode_signed(&req->package, &enc), EIM_OK);
        if (f == 0) {
            test_assert_span_bytes(eim_span(enc.data, enc.len), req->signed_tlv.ptr,
                                   req->signed_tlv.len);
            eim_buf_append(&implicit_signed, enc.data, enc.len);
        } else {
            test_assert_span_bytes(eim_span(enc.data, enc.len), implicit_signed.data,
                                   implicit_signed.len);
        }
        eim_buf_free(&enc);
        free(req);
    }
    eim_buf_free(&implicit_signed);
}

static void test_extension_skipped(void **state)
{
    (void)state;
    /* An unknown trailing component (9F7F) in EuiccPackageSigned. */
    uint8_t in[512];
    size_t n = test_hex("BF 51 81 93 30 4E EIMID EID 81 01 05 TXID "
                        "A0 10 A3 0E ICCID 05 00 9F 7F 01 01 SIG",
                        in, sizeof(in));
    eim_euicc_package_request_t *req = malloc(sizeof(*req));
    assert_int_equal(eim_esep_package_decode(in, n, req, NULL), EIM_OK);
    assert_int_equal(req->package.count, 1);
    assert_int_equal(req->signed_tlv.len, 0x50); /* includes the extension */
    free(req);
}

static const test_reject_case_t reject_cases[] = {
    {"mixed lists",
     "BF 51 81 93 30 4E EIMID EID 81 01 05 TXID A0 10 A3 0E ICCID 05 00 A1 02 AB 00 SIG",
     EIM_ERR_DECODE, "both psmoList and ecoList"},
    {"eCO in psmoList", "BF 51 6F 30 2A EIMID EID 81 01 05 A0 02 AB 00 SIG", EIM_ERR_UNSUPPORTED,
     "unknown PSMO"},
    {"missing eimId", "BF 51 6C 30 27 EID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG", EIM_ERR_DECODE,
     "missing eimId"},
    {"missing eid", "BF 51 6B 30 26 EIMID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG", EIM_ERR_DECODE,
     "missing eidValue"},
    {"missing counter", "BF 51 7A 30 35 EIMID EID A0 10 A3 0E ICCID 05 00 SIG", EIM_ERR_DECODE,
     "missing counterValue"},
    {"missing list", "BF 51 7D 30 38 EIMID EID 81 01 05 TXID SIG", EIM_ERR_DECODE,
     "missing euiccPackage"},
    {"eid 15 bytes",
     "BF 51 7C 30 37 EIMID 5A 0F 89 04 90 32 12 34 51 23 45 12 34 56 78 90 12 81 01 05 "
     "A0 10 A3 0E ICCID 05 00 SIG",
     EIM_ERR_DECODE, "EID not 16 bytes"},
    {"iccid 9 bytes",
     "BF 51 7A 30 35 EIMID EID 81 01 05 A0 0D A4 0B 5A 09 98 00 10 32 54 76 98 10 32 SIG",
     EIM_ERR_DECODE, "ICCID not 10 bytes"},
    {"empty eimId", "BF 51 6E 30 29 80 00 EID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG", EIM_ERR_DECODE,
     "eimId not 1..128 bytes"},
    {"txid 17 bytes",
     "BF 51 81 90 30 4B EIMID EID 81 01 05 82 11 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
     "00 00 A0 10 A3 0E ICCID 05 00 SIG",
     EIM_ERR_DECODE, "eimTransactionId not 1..16 bytes"},
    {"out of order", "BF 51 7D 30 38 EID EIMID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG",
     EIM_ERR_DECODE, "component duplicated or out of order"},
    {"duplicate counter",
     "BF 51 81 80 30 3B EIMID EID 81 01 05 81 01 06 A0 10 A3 0E ICCID 05 00 SIG", EIM_ERR_DECODE,
     "component duplicated or out of order"},
    {"rollback not empty", "BF 51 7E 30 39 EIMID EID 81 01 05 A0 11 A3 0F ICCID 05 01 00 SIG",
     EIM_ERR_DECODE, "NULL not empty"},
    {"enable without iccid", "BF 51 71 30 2C EIMID EID 81 01 05 A0 04 A3 02 05 00 SIG",
     EIM_ERR_DECODE, "missing iccid"},
    {"negative counter", "BF 51 7D 30 38 EIMID EID 81 01 80 A0 10 A3 0E ICCID 05 00 SIG",
     EIM_ERR_DECODE, "INTEGER negative or too large"},
    {"non-minimal counter", "BF 51 7E 30 39 EIMID EID 81 02 00 05 A0 10 A3 0E ICCID 05 00 SIG",
     EIM_ERR_DECODE, "non-minimal INTEGER"},
    {"missing signature", "BF 51 3A 30 38 EIMID EID 81 01 05 A0 10 A3 0E ICCID 05 00",
     EIM_ERR_DECODE, "missing element"},
    {"empty signature", "BF 51 3D 30 38 EIMID EID 81 01 05 A0 10 A3 0E ICCID 05 00 5F 37 00",
     EIM_ERR_DECODE, "bad eimSignature size"},
    {"33 PSMOs",
     "BF 51 81 AF 30 6A EIMID EID 81 01 05 A0 42 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 "
     "00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 "
     "A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 A6 00 SIG",
     EIM_ERR_LIMIT, "too many PSMOs"},
    {"unknown searchCriteria",
     "BF 51 75 30 30 EIMID EID 81 01 05 A0 08 BF 2D 05 A0 03 80 01 78 SIG", EIM_ERR_UNSUPPORTED,
     "unknown searchCriteria"},
    {"setDefaultDpAddress without address", "BF 51 70 30 2B EIMID EID 81 01 05 A0 03 BF 65 00 SIG",
     EIM_ERR_DECODE, "missing defaultDpAddress"},
    {"deleteEim without eimId", "BF 51 6F 30 2A EIMID EID 81 01 05 A1 02 A9 00 SIG", EIM_ERR_DECODE,
     "missing eimId"},
    {"addEim unknown key alternative",
     "BF 51 78 30 33 EIMID EID 81 01 05 A1 0B A8 09 80 01 65 A5 04 A2 02 30 00 SIG",
     EIM_ERR_UNSUPPORTED, "unknown key data alternative"},
    {"addEim without eimId",
     "BF 51 76 30 31 EIMID EID 81 01 05 A1 09 A8 07 81 05 65 2E 63 6F 6D SIG", EIM_ERR_DECODE,
     "missing eimId"},
    {"wrong outer tag", "BF 52 7D 30 38 EIMID EID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG",
     EIM_ERR_DECODE, "unexpected tag"},
    {"length beyond input", "BF 51 7E 30 38 EIMID EID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG",
     EIM_ERR_TRUNCATED, "length exceeds remaining input"},
    {"inner length beyond parent", "BF 51 7D 30 38 EIMID EID 81 01 05 A0 10 A3 0F ICCID 05 00 SIG",
     EIM_ERR_TRUNCATED, "length exceeds remaining input"},
    {"trailing byte", "BF 51 7D 30 38 EIMID EID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG 00",
     EIM_ERR_DECODE, "trailing bytes"},
    {"trailing element", "BF 51 7D 30 38 EIMID EID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG 05 00",
     EIM_ERR_DECODE, "trailing bytes"},
    {"indefinite length", "BF 51 80 30 38 EIMID EID 81 01 05 A0 10 A3 0E ICCID 05 00 SIG 00 00",
     EIM_ERR_DECODE, "indefinite length"},
};

/* eim_esep_package_decode into a scratch structure (the rejection table's decoder). */
static eim_err_t decode_scratch(const uint8_t *data, size_t len, eim_der_error_t *error)
{
    eim_euicc_package_request_t *out = malloc(sizeof(*out));
    eim_err_t rc = eim_esep_package_decode(data, len, out, error);
    free(out);
    return rc;
}

static void test_rejections(void **state)
{
    (void)state;
    test_run_reject_cases(reject_cases, sizeof(reject_cases) / sizeof(reject_cases[0]),
                          decode_scratch);
}

static void test_error_location(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t n = test_hex("BF 51 7C 30 37 EIMID 5A 0F 89 04 90 32 12 34 51 23 45 12 34 56 78 90 12 "
                        "81 01 05 A0 10 A3 0E ICCID 05 00 SIG",
                        in, sizeof(in));
    eim_euicc_package_request_t *req = malloc(sizeof(*req));
    eim_der_error_t err;
    assert_int_equal(eim_esep_package_decode(in, n, req, &err), EIM_ERR_DECODE);
    assert_int_equal(err.offset, 3 + 2 + 17); /* BF51 hdr, 30 hdr, eimId TLV */
    assert_int_equal(err.tag, 0x5A);
    free(req);
}

static void test_encoder_rejects_invalid(void **state)
{
    (void)state;
    eim_euicc_package_t *p = test_enable_package();
    eim_buf_t buf;
    eim_buf_init(&buf, 4096);
    uint8_t short_iccid[9] = {0};
    p->psmos[0].iccid = eim_span(short_iccid, 9);
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_ERR_INVALID_ARG);
    assert_int_equal(buf.len, 0); /* nothing half-written */
    p->psmos[0].iccid = eim_span(test_iccid_bytes, 10);
    p->count = 0;
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_ERR_INVALID_ARG);
    p->count = EIM_ESEP_MAX_PSMOS + 1;
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_ERR_INVALID_ARG);
    p->count = 1;
    p->eid = eim_span(test_eid_bytes, 15);
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_ERR_INVALID_ARG);
    p->eid = eim_span(test_eid_bytes, 16);
    p->eim_id = EIM_SPAN_NULL;
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_ERR_INVALID_ARG);
    p->eim_id = S("eim.example.com");
    p->psmos[0].kind = (eim_psmo_kind_t)42;
    assert_int_equal(eim_esep_package_encode_signed(p, &buf), EIM_ERR_INVALID_ARG);
    p->psmos[0].kind = EIM_PSMO_ENABLE;
    /* A failing signer's error propagates and nothing is written. */
    assert_int_equal(eim_esep_package_encode(p, 0, failing_sign, NULL, &buf), EIM_ERR_CRYPTO);
    assert_int_equal(buf.len, 0);
    /* Bounded output buffer. */
    eim_buf_t tiny;
    eim_buf_init(&tiny, 16);
    assert_int_equal(eim_esep_package_encode_signed(p, &tiny), EIM_ERR_LIMIT);
    eim_buf_free(&tiny);
    /* assemble() wants exactly one SEQUENCE TLV. */
    uint8_t sig[64] = {0};
    assert_int_equal(eim_esep_package_assemble(eim_span("\x30\x00\x05\x00", 4), sig, &buf),
                     EIM_ERR_INVALID_ARG);
    assert_int_equal(eim_esep_package_assemble(eim_span("\x04\x00", 2), sig, &buf),
                     EIM_ERR_INVALID_ARG);
    eim_buf_free(&buf);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_encode),
        cmocka_unit_test(test_golden_decode_in_envelope),
        cmocka_unit_test(test_golden_eco_and_set_default_dp),
        cmocka_unit_test(test_token_tlv),
        cmocka_unit_test(test_round_trip_every_psmo),
        cmocka_unit_test(test_round_trip_every_eco),
        cmocka_unit_test(test_key_data_both_forms),
        cmocka_unit_test(test_extension_skipped),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_error_location),
        cmocka_unit_test(test_encoder_rejects_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
