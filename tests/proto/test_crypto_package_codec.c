/*
 * Tests of proto/crypto/package_codec.h, the glue between the ESep codecs and
 * the signatures (SGP.32 v1.2 §2.11.1.1, §2.11.1.2, §5.9.1):
 *  - a BF51 EuiccPackageRequest built and signed with the software signer
 *    verifies with wolfCrypt and with `openssl dgst` over the received
 *    EuiccPackageSigned || 84 L token, on P-256 and brainpoolP256r1;
 *  - EuiccPackageResults produced by the proto/esep encoders and signed with
 *    the test eUICC key (tests/proto/pki/make-test-pki.sh; once by our
 *    signer, once by openssl) open as verified with the key of the validated
 *    chain; a tampered byte, another token or a tampered signature give
 *    bad-signature; an unsigned error gives unsigned-untrusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto_test_util.h"
#include "esep_test_util.h"
#include "proto/crypto/cert_chain.h"
#include "proto/crypto/package_codec.h"
#include "proto/crypto/software_signer.h"

static const char eim_id[] = "eim.example.com";

static eim_signer_t *load_signer(const char *prefix, int curve)
{
    char name[64];
    eim_signer_t *signer = NULL;
    snprintf(name, sizeof(name), "%s_%s.key", prefix, test_curve_tag[curve]);
    assert_int_equal(eim_software_signer_load_file(test_pki_path(name), &signer), EIM_OK);
    return signer;
}

/* signed_tlv || 84 L token, what both sides hash. */
static size_t signature_input(eim_span_t signed_tlv, eim_assoc_token_t token, uint8_t *out,
                              size_t cap)
{
    size_t tok_len = 0;
    assert_true(signed_tlv.len + EIM_TOKEN_TLV_MAX <= cap);
    memcpy(out, signed_tlv.ptr, signed_tlv.len);
    assert_int_equal(eim_package_token_tlv(token, out + signed_tlv.len, &tok_len), EIM_OK);
    return signed_tlv.len + tok_len;
}

static void test_package_build_cross_verify(void **state)
{
    static const int64_t tokens[] = {-1 /* none */, 0x80, 0x123456};
    (void)state;
    eim_euicc_package_t *pkg = test_enable_package();
    for (int c = 0; c < TEST_CURVES; c++) {
        eim_signer_t *signer = load_signer("eim", c);
        char name[64], pub_path[256];
        size_t pub_len = 0;
        snprintf(name, sizeof(name), "eim_%s.pub.der", test_curve_tag[c]);
        uint8_t *pub_der = test_pki_read(name, &pub_len);
        eim_ec_pubkey_t *pub = NULL;
        assert_int_equal(eim_ec_pubkey_from_spki(eim_span(pub_der, pub_len), &pub), EIM_OK);
        snprintf(name, sizeof(name), "eim_%s.pub.pem", test_curve_tag[c]);
        snprintf(pub_path, sizeof(pub_path), "%s", test_pki_path(name));

        for (size_t t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
            eim_assoc_token_t token = tokens[t] < 0 ? EIM_NO_TOKEN : EIM_TOKEN(tokens[t]);
            eim_buf_t wire, expect_signed;
            eim_buf_init(&wire, EIM_ESEP_MAX_MESSAGE);
            eim_buf_init(&expect_signed, EIM_ESEP_MAX_MESSAGE);
            assert_int_equal(eim_package_build(pkg, token, signer, &wire), EIM_OK);

            /* The wire form decodes and carries exactly DER(EuiccPackageSigned). */
            eim_euicc_package_request_t *req = malloc(sizeof(*req));
            eim_der_error_t derr;
            assert_int_equal(eim_esep_package_decode(wire.data, wire.len, req, &derr), EIM_OK);
            assert_int_equal(eim_esep_package_encode_signed(pkg, &expect_signed), EIM_OK);
            assert_int_equal(req->signed_tlv.len, expect_signed.len);
            assert_memory_equal(req->signed_tlv.ptr, expect_signed.data, expect_signed.len);
            assert_int_equal(req->package.psmos[0].kind, EIM_PSMO_ENABLE);
            assert_int_equal(req->signature.len, EIM_ECDSA_RAW_LEN);

            /* wolfCrypt over the received bytes */
            assert_int_equal(eim_package_result_verify(pub, req->signed_tlv, token, req->signature),
                             EIM_OK);
            /* openssl over the received bytes || 84 L token */
            uint8_t input[512], der[EIM_ECDSA_DER_MAX];
            size_t der_len = 0;
            size_t in_len = signature_input(req->signed_tlv, token, input, sizeof(input));
            assert_int_equal(eim_ecdsa_raw_to_der(req->signature.ptr, der, &der_len), EIM_OK);
            assert_true(test_openssl_verify(pub_path, input, in_len, der, der_len));
            /* ... and neither accepts another token */
            eim_assoc_token_t other = EIM_TOKEN(token.value + 1);
            assert_int_equal(eim_package_result_verify(pub, req->signed_tlv, other, req->signature),
                             EIM_ERR_VERIFY);
            in_len = signature_input(req->signed_tlv, other, input, sizeof(input));
            assert_false(test_openssl_verify(pub_path, input, in_len, der, der_len));

            free(req);
            eim_buf_free(&wire);
            eim_buf_free(&expect_signed);
        }
        free(pub_der);
        eim_ec_pubkey_free(pub);
        eim_signer_destroy(signer);
    }
    free(pkg);
}

static void test_package_build_rejects(void **state)
{
    (void)state;
    eim_euicc_package_t *pkg = test_enable_package();
    eim_signer_t *signer = load_signer("eim", 0);
    eim_buf_t wire;
    eim_buf_init(&wire, EIM_ESEP_MAX_MESSAGE);
    assert_int_equal(eim_package_build(NULL, EIM_NO_TOKEN, signer, &wire), EIM_ERR_INVALID_ARG);
    assert_int_equal(eim_package_build(pkg, EIM_NO_TOKEN, NULL, &wire), EIM_ERR_INVALID_ARG);
    pkg->psmos[0].iccid.len = 9; /* outside its constraints: nothing is signed */
    assert_int_equal(eim_package_build(pkg, EIM_NO_TOKEN, signer, &wire), EIM_ERR_INVALID_ARG);
    uint8_t sig[EIM_ESEP_SIGNATURE_LEN];
    assert_int_equal(eim_package_signer_fn(NULL, eim_span("x", 1), sig), EIM_ERR_INVALID_ARG);
    eim_buf_free(&wire);
    eim_signer_destroy(signer);
    free(pkg);
}

/* PK.EUICC.ECDSA the way the eIM gets it: from a validated chain. */
static eim_ec_pubkey_t *euicc_pubkey(int curve)
{
    char name[64];
    size_t euicc_len = 0, eum_len = 0;
    eim_ci_store_t *store = eim_ci_store_new();
    snprintf(name, sizeof(name), "ci_%s.der", test_curve_tag[curve]);
    assert_int_equal(eim_ci_store_add_file(store, test_pki_path(name)), EIM_OK);
    snprintf(name, sizeof(name), "euicc_%s.der", test_curve_tag[curve]);
    uint8_t *euicc = test_pki_read(name, &euicc_len);
    snprintf(name, sizeof(name), "eum_%s.der", test_curve_tag[curve]);
    uint8_t *eum = test_pki_read(name, &eum_len);
    eim_euicc_key_t key;
    eim_chain_status_t status;
    assert_int_equal(eim_cert_chain_verify(
                         store, eim_span(euicc, euicc_len), eim_span(eum, eum_len),
                         eim_span(test_eid_bytes, sizeof(test_eid_bytes)), TEST_NOW, &key, &status),
                     EIM_OK);
    eim_ec_pubkey_t *pub = NULL;
    assert_int_equal(eim_ec_pubkey_from_spki(eim_span(key.spki, key.spki_len), &pub), EIM_OK);
    free(euicc);
    free(eum);
    eim_ci_store_free(store);
    return pub;
}

static eim_euicc_result_t *enable_result(eim_result_form_t form)
{
    eim_euicc_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    res->form = form;
    res->eim_id = eim_span(eim_id, strlen(eim_id));
    res->counter_value = 5;
    res->transaction_id = eim_span(test_txid_bytes, sizeof(test_txid_bytes));
    if (form == EIM_RESULT_SIGNED) {
        res->seq_number = 3;
        res->count = 1;
        res->results[0] = (eim_result_data_t){.kind = EIM_RD_ENABLE, .code = EIM_RESULT_OK};
    } else if (form == EIM_RESULT_ERROR_SIGNED) {
        res->error_code = EIM_PACKAGE_ERROR_REPLAY;
    }
    return res;
}

/* First occurrence of text in buf (NULL when absent). */
static uint8_t *find(const eim_buf_t *buf, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= buf->len; i++)
        if (memcmp(buf->data + i, text, n) == 0)
            return buf->data + i;
    return NULL;
}

/* Opens wire and asserts the outcome; returns the verdict. */
static eim_result_verdict_t open_result(const eim_buf_t *wire, eim_ec_pubkey_t *pub,
                                        eim_assoc_token_t token, eim_err_t want)
{
    eim_euicc_result_t *out = malloc(sizeof(*out));
    eim_result_verdict_t verdict = EIM_VERDICT_NONE;
    eim_der_error_t derr;
    assert_int_equal(
        eim_package_result_open(wire->data, wire->len, pub, token, out, &verdict, &derr), want);
    if (want == EIM_OK || want == EIM_ERR_VERIFY) {
        /* decoded either way, spans into the received bytes */
        assert_true(eim_span_eq(out->eim_id, eim_span(eim_id, strlen(eim_id))));
        assert_ptr_equal(out->tlv.ptr, wire->data);
        if (out->form != EIM_RESULT_ERROR_UNSIGNED)
            assert_true(out->signed_tlv.ptr > wire->data &&
                        out->signed_tlv.ptr + out->signed_tlv.len <= wire->data + wire->len);
    }
    free(out);
    return verdict;
}

static void test_result_open_signed(void **state)
{
    static const int64_t tokens[] = {-1 /* none */, 0x7F, 0x80, 0xABCDEF};
    static const eim_result_form_t forms[] = {EIM_RESULT_SIGNED, EIM_RESULT_ERROR_SIGNED};
    (void)state;
    for (int c = 0; c < TEST_CURVES; c++) {
        eim_ec_pubkey_t *pub = euicc_pubkey(c);
        eim_signer_t *euicc = load_signer("euicc", c); /* plays the eUICC */
        for (size_t f = 0; f < 2; f++) {
            eim_euicc_result_t *res = enable_result(forms[f]);
            for (size_t t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
                eim_assoc_token_t token = tokens[t] < 0 ? EIM_NO_TOKEN : EIM_TOKEN(tokens[t]);
                eim_buf_t wire;
                eim_buf_init(&wire, EIM_ESEP_MAX_MESSAGE);
                assert_int_equal(
                    eim_esep_result_encode(res, token.value, eim_package_signer_fn, euicc, &wire),
                    EIM_OK);
                assert_int_equal(open_result(&wire, pub, token, EIM_OK), EIM_VERDICT_VERIFIED);
                /* the association is part of the signature */
                assert_int_equal(
                    open_result(&wire, pub, EIM_TOKEN(token.value + 1), EIM_ERR_VERIFY),
                    EIM_VERDICT_BAD_SIGNATURE);
                /* a flipped byte inside the signed data that still decodes: the
                 * first character of eimId */
                uint8_t *e = find(&wire, eim_id);
                assert_non_null(e);
                e[0] ^= 0x20; /* 'e' -> 'E' */
                eim_euicc_result_t *out = malloc(sizeof(*out));
                eim_result_verdict_t verdict = EIM_VERDICT_NONE;
                assert_int_equal(
                    eim_package_result_open(wire.data, wire.len, pub, token, out, &verdict, NULL),
                    EIM_ERR_VERIFY);
                assert_int_equal(verdict, EIM_VERDICT_BAD_SIGNATURE);
                free(out);
                e[0] ^= 0x20;
                /* a flipped bit of the signature (last bytes of BF51) */
                wire.data[wire.len - 10] ^= 0x01;
                assert_int_equal(open_result(&wire, pub, token, EIM_ERR_VERIFY),
                                 EIM_VERDICT_BAD_SIGNATURE);
                wire.data[wire.len - 10] ^= 0x01;
                assert_int_equal(open_result(&wire, pub, token, EIM_OK), EIM_VERDICT_VERIFIED);
                eim_buf_free(&wire);
            }
            free(res);
        }
        /* another eUICC's key does not verify */
        eim_ec_pubkey_t *other = euicc_pubkey(1 - c);
        eim_euicc_result_t *res = enable_result(EIM_RESULT_SIGNED);
        eim_buf_t wire;
        eim_buf_init(&wire, EIM_ESEP_MAX_MESSAGE);
        assert_int_equal(eim_esep_result_encode(res, 0, eim_package_signer_fn, euicc, &wire),
                         EIM_OK);
        assert_int_equal(open_result(&wire, other, EIM_NO_TOKEN, EIM_ERR_VERIFY),
                         EIM_VERDICT_BAD_SIGNATURE);
        eim_buf_free(&wire);
        free(res);
        eim_ec_pubkey_free(other);
        eim_signer_destroy(euicc);
        eim_ec_pubkey_free(pub);
    }
}

/* openssl as an independent eUICC: DER signature, assembled by proto/esep. */
static void test_result_open_openssl_signed(void **state)
{
    (void)state;
    for (int c = 0; c < TEST_CURVES; c++) {
        eim_ec_pubkey_t *pub = euicc_pubkey(c);
        eim_euicc_result_t *res = enable_result(EIM_RESULT_SIGNED);
        eim_buf_t signed_part, wire;
        eim_buf_init(&signed_part, EIM_ESEP_MAX_MESSAGE);
        eim_buf_init(&wire, EIM_ESEP_MAX_MESSAGE);
        assert_int_equal(eim_esep_result_encode_signed(res, &signed_part), EIM_OK);
        uint8_t input[512], der[80], raw[EIM_ECDSA_RAW_LEN];
        size_t in_len = signature_input(eim_span(signed_part.data, signed_part.len),
                                        EIM_TOKEN(0x80), input, sizeof(input));
        char name[64];
        snprintf(name, sizeof(name), "euicc_%s.key", test_curve_tag[c]);
        size_t der_len = test_openssl_sign(test_pki_path(name), input, in_len, der);
        for (int plain = 0; plain < 2; plain++) {
            eim_span_t sig = eim_span(der, der_len);
            if (plain) {
                assert_int_equal(eim_ecdsa_der_to_raw(sig, raw), EIM_OK);
                sig = eim_span(raw, sizeof(raw));
            }
            eim_buf_reset(&wire);
            assert_int_equal(eim_esep_result_assemble(EIM_RESULT_SIGNED,
                                                      eim_span(signed_part.data, signed_part.len),
                                                      sig, &wire),
                             EIM_OK);
            assert_int_equal(open_result(&wire, pub, EIM_TOKEN(0x80), EIM_OK),
                             EIM_VERDICT_VERIFIED);
            assert_int_equal(open_result(&wire, pub, EIM_NO_TOKEN, EIM_ERR_VERIFY),
                             EIM_VERDICT_BAD_SIGNATURE);
        }
        eim_buf_free(&signed_part);
        eim_buf_free(&wire);
        free(res);
        eim_ec_pubkey_free(pub);
    }
}

static void test_result_open_unsigned_and_malformed(void **state)
{
    (void)state;
    eim_ec_pubkey_t *pub = euicc_pubkey(0);
    eim_euicc_result_t *res = enable_result(EIM_RESULT_ERROR_UNSIGNED);
    res->has_association_token = true;
    res->association_token = 5;
    eim_buf_t wire;
    eim_buf_init(&wire, EIM_ESEP_MAX_MESSAGE);
    /* the unsigned form is never signed, whatever signer is passed */
    assert_int_equal(eim_esep_result_encode(res, 5, NULL, NULL, &wire), EIM_OK);
    assert_int_equal(open_result(&wire, pub, EIM_TOKEN(5), EIM_OK), EIM_VERDICT_UNSIGNED_UNTRUSTED);
    /* untrusted means untrusted: any token, any key gives the same verdict */
    assert_int_equal(open_result(&wire, pub, EIM_NO_TOKEN, EIM_OK), EIM_VERDICT_UNSIGNED_UNTRUSTED);

    /* malformed: decoder error with details, no verdict */
    eim_euicc_result_t *out = malloc(sizeof(*out));
    eim_result_verdict_t verdict = EIM_VERDICT_VERIFIED;
    eim_der_error_t derr;
    assert_int_not_equal(
        eim_package_result_open(wire.data, wire.len - 1, pub, EIM_NO_TOKEN, out, &verdict, &derr),
        EIM_OK);
    assert_int_equal(verdict, EIM_VERDICT_NONE);
    assert_non_null(derr.reason);
    assert_int_equal(
        eim_package_result_open(wire.data, wire.len, NULL, EIM_NO_TOKEN, out, &verdict, NULL),
        EIM_ERR_INVALID_ARG);
    assert_string_equal(eim_result_verdict_name(EIM_VERDICT_VERIFIED), "verified");
    assert_string_equal(eim_result_verdict_name(EIM_VERDICT_UNSIGNED_UNTRUSTED),
                        "unsigned-untrusted");
    assert_string_equal(eim_result_verdict_name(EIM_VERDICT_BAD_SIGNATURE), "bad-signature");
    free(out);
    eim_buf_free(&wire);
    free(res);
    eim_ec_pubkey_free(pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_package_build_cross_verify),
        cmocka_unit_test(test_package_build_rejects),
        cmocka_unit_test(test_result_open_signed),
        cmocka_unit_test(test_result_open_openssl_signed),
        cmocka_unit_test(test_result_open_unsigned_and_malformed),
    };
    return cmocka_run_group_tests(tests, test_pki_group_setup, test_pki_group_teardown);
}
