/*
 * Tests of the eIM package signature (proto/crypto/package_signature.h,
 * signer.h, software_signer.h): key loading in all formats on both curves,
 * the associationToken TLV, r||s padding, and cross-verification with
 * openssl as an independent ECDSA implementation. SGP.32 v1.2 §2.11.1.1.
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
#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/package_signature.h"
#include "proto/crypto/software_signer.h"

static void expect_token(eim_assoc_token_t token, const uint8_t *want, size_t want_len)
{
    uint8_t out[EIM_TOKEN_TLV_MAX];
    size_t len = 0;
    assert_int_equal(eim_package_token_tlv(token, out, &len), EIM_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(out, want, want_len);
}

static void test_token_tlv(void **state)
{
    (void)state;
    expect_token(EIM_NO_TOKEN, (const uint8_t[]){0x84, 0x01, 0x00}, 3);
    expect_token(EIM_TOKEN(0), (const uint8_t[]){0x84, 0x01, 0x00}, 3);
    expect_token(EIM_TOKEN(5), (const uint8_t[]){0x84, 0x01, 0x05}, 3);
    expect_token(EIM_TOKEN(0x7F), (const uint8_t[]){0x84, 0x01, 0x7F}, 3);
    /* high bit set: DER INTEGER needs a leading 00 */
    expect_token(EIM_TOKEN(0x80), (const uint8_t[]){0x84, 0x02, 0x00, 0x80}, 4);
    expect_token(EIM_TOKEN(0xFF), (const uint8_t[]){0x84, 0x02, 0x00, 0xFF}, 4);
    expect_token(EIM_TOKEN(0x100), (const uint8_t[]){0x84, 0x02, 0x01, 0x00}, 4);
    expect_token(EIM_TOKEN(0x7FFF), (const uint8_t[]){0x84, 0x02, 0x7F, 0xFF}, 4);
    expect_token(EIM_TOKEN(0x8000), (const uint8_t[]){0x84, 0x03, 0x00, 0x80, 0x00}, 5);
    expect_token(EIM_TOKEN(INT64_MAX),
                 (const uint8_t[]){0x84, 0x08, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 10);
    expect_token(EIM_TOKEN(-1), (const uint8_t[]){0x84, 0x01, 0xFF}, 3);
    expect_token(EIM_TOKEN(-128), (const uint8_t[]){0x84, 0x01, 0x80}, 3);
    expect_token(EIM_TOKEN(-129), (const uint8_t[]){0x84, 0x02, 0xFF, 0x7F}, 4);
    expect_token(EIM_TOKEN(INT64_MIN),
                 (const uint8_t[]){0x84, 0x08, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, 10);
}

static eim_signer_t *load_signer(const char *name)
{
    eim_signer_t *signer = NULL;
    assert_int_equal(eim_software_signer_load_file(test_pki_path(name), &signer), EIM_OK);
    assert_non_null(signer);
    return signer;
}

static void test_load_formats(void **state)
{
    static const char *const formats[] = {"key", "sec1.der", "p8.pem", "p8.der"};
    char name[64];
    (void)state;
    for (int c = 0; c < TEST_CURVES; c++) {
        size_t pub_len = 0;
        snprintf(name, sizeof(name), "eim_%s.pub.der", test_curve_tag[c]);
        uint8_t *pub = test_pki_read(name, &pub_len);
        for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
            uint8_t spki[EIM_EC_SPKI_MAX];
            size_t spki_len = 0;
            snprintf(name, sizeof(name), "eim_%s.%s", test_curve_tag[c], formats[f]);
            eim_signer_t *signer = load_signer(name);
            assert_int_equal(eim_signer_curve(signer),
                             c == 0 ? EIM_CURVE_P256 : EIM_CURVE_BRAINPOOLP256R1);
            /* The exported SPKI is byte-identical to openssl's. */
            assert_int_equal(eim_signer_export_spki(signer, spki, sizeof(spki), &spki_len), EIM_OK);
            assert_int_equal(spki_len, pub_len);
            assert_memory_equal(spki, pub, pub_len);
            assert_int_equal(eim_signer_export_spki(signer, spki, 10, &spki_len), EIM_ERR_BUFFER);
            eim_signer_destroy(signer);
        }
        free(pub);
    }
}

static void test_load_rejects(void **state)
{
    eim_signer_t *signer = NULL;
    static const uint8_t garbage[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    (void)state;
    assert_int_equal(eim_software_signer_load_file(test_pki_path("eim_p384.key"), &signer),
                     EIM_ERR_UNSUPPORTED);
    assert_null(signer);
    assert_int_not_equal(eim_software_signer_load_file(test_pki_path("eim_nist.pub.pem"), &signer),
                         EIM_OK);
    assert_null(signer);
    assert_int_equal(eim_software_signer_new(eim_span(garbage, sizeof(garbage)), &signer),
                     EIM_ERR_DECODE);
    assert_int_equal(eim_software_signer_load_file("/nonexistent/key.pem", &signer), EIM_ERR_IO);
    assert_int_equal(eim_software_signer_new(EIM_SPAN_NULL, &signer), EIM_ERR_INVALID_ARG);
}

/* signed_tlv || token TLV: what both implementations hash. */
static size_t signature_input(const uint8_t *tlv, size_t tlv_len, eim_assoc_token_t token,
                              uint8_t *out)
{
    size_t tok_len = 0;
    memcpy(out, tlv, tlv_len);
    assert_int_equal(eim_package_token_tlv(token, out + tlv_len, &tok_len), EIM_OK);
    return tlv_len + tok_len;
}

static eim_ec_pubkey_t *signer_pubkey(eim_signer_t *signer)
{
    uint8_t spki[EIM_EC_SPKI_MAX];
    size_t spki_len = 0;
    eim_ec_pubkey_t *key = NULL;
    assert_int_equal(eim_signer_export_spki(signer, spki, sizeof(spki), &spki_len), EIM_OK);
    assert_int_equal(eim_ec_pubkey_from_spki(eim_span(spki, spki_len), &key), EIM_OK);
    return key;
}

static void test_sign_cross_verify(void **state)
{
    static const int64_t tokens[] = {-2 /* none */, 0, 5, 0x7F, 0x80, 0xFF, 0x1234, 0x800000};
    uint8_t tlv[128], input[160], sig[EIM_ECDSA_RAW_LEN], der[EIM_ECDSA_DER_MAX];
    size_t tlv_len = test_sample_signed_tlv(tlv, sizeof(tlv)), der_len = 0;
    char name[64], pub_path[256];
    (void)state;

    for (int c = 0; c < TEST_CURVES; c++) {
        snprintf(name, sizeof(name), "eim_%s.key", test_curve_tag[c]);
        eim_signer_t *signer = load_signer(name);
        eim_ec_pubkey_t *pub = signer_pubkey(signer);
        snprintf(name, sizeof(name), "eim_%s.pub.pem", test_curve_tag[c]);
        snprintf(pub_path, sizeof(pub_path), "%s", test_pki_path(name));

        for (size_t t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
            eim_assoc_token_t token = tokens[t] < 0 ? EIM_NO_TOKEN : EIM_TOKEN(tokens[t]);
            eim_span_t signed_tlv = eim_span(tlv, tlv_len);
            assert_int_equal(eim_package_sign(signer, signed_tlv, token, sig), EIM_OK);

            /* wolfCrypt, raw and DER */
            assert_int_equal(
                eim_package_result_verify(pub, signed_tlv, token, eim_span(sig, sizeof(sig))),
                EIM_OK);
            assert_int_equal(eim_ecdsa_raw_to_der(sig, der, &der_len), EIM_OK);
            assert_int_equal(
                eim_package_result_verify(pub, signed_tlv, token, eim_span(der, der_len)), EIM_OK);

            /* openssl over signed_tlv || 84 L token */
            size_t in_len = signature_input(tlv, tlv_len, token, input);
            assert_true(test_openssl_verify(pub_path, input, in_len, der, der_len));

            /* a tampered byte fails in both implementations */
            input[20] ^= 0x01;
            assert_false(test_openssl_verify(pub_path, input, in_len, der, der_len));
            assert_int_equal(eim_package_result_verify(pub, eim_span(input, tlv_len), token,
                                                       eim_span(sig, sizeof(sig))),
                             EIM_ERR_VERIFY);
            input[20] ^= 0x01;
            /* a tampered signature fails */
            sig[40] ^= 0x80;
            assert_int_equal(
                eim_package_result_verify(pub, signed_tlv, token, eim_span(sig, sizeof(sig))),
                EIM_ERR_VERIFY);
            sig[40] ^= 0x80;
            /* another token fails (no token and token 0 are the same input) */
            eim_assoc_token_t other = EIM_TOKEN(token.present ? token.value + 1 : 1);
            assert_int_equal(
                eim_package_result_verify(pub, signed_tlv, other, eim_span(sig, sizeof(sig))),
                EIM_ERR_VERIFY);
        }
        /* no token == token 0 == 84 01 00 */
        assert_int_equal(eim_package_sign(signer, eim_span(tlv, tlv_len), EIM_NO_TOKEN, sig),
                         EIM_OK);
        assert_int_equal(eim_package_result_verify(pub, eim_span(tlv, tlv_len), EIM_TOKEN(0),
                                                   eim_span(sig, sizeof(sig))),
                         EIM_OK);
        eim_ec_pubkey_free(pub);
        eim_signer_destroy(signer);
    }
}

/* r or s with a leading zero byte must still take 32 bytes (brief §3.1). */
static void test_raw_padding(void **state)
{
    uint8_t tlv[128], input[160], sig[EIM_ECDSA_RAW_LEN], der[EIM_ECDSA_DER_MAX];
    size_t tlv_len = test_sample_signed_tlv(tlv, sizeof(tlv)), der_len = 0;
    char name[64], pub_path[256];
    (void)state;

    for (int c = 0; c < TEST_CURVES; c++) {
        snprintf(name, sizeof(name), "eim_%s.key", test_curve_tag[c]);
        eim_signer_t *signer = load_signer(name);
        eim_ec_pubkey_t *pub = signer_pubkey(signer);
        snprintf(name, sizeof(name), "eim_%s.pub.pem", test_curve_tag[c]);
        snprintf(pub_path, sizeof(pub_path), "%s", test_pki_path(name));
        int found = 0;
        /* P(r or s < 2^248) ~ 1/128 per signature: 4000 tries miss with ~1e-14. */
        for (int64_t t = 0; t < 4000 && !found; t++) {
            assert_int_equal(eim_package_sign(signer, eim_span(tlv, tlv_len), EIM_TOKEN(t), sig),
                             EIM_OK);
            if (sig[0] != 0 && sig[32] != 0)
                continue;
            found = 1;
            assert_int_equal(eim_ecdsa_raw_to_der(sig, der, &der_len), EIM_OK);
            assert_true(der_len < EIM_ECDSA_DER_MAX); /* DER dropped the zero byte */
            uint8_t back[EIM_ECDSA_RAW_LEN];
            assert_int_equal(eim_ecdsa_der_to_raw(eim_span(der, der_len), back), EIM_OK);
            assert_memory_equal(back, sig, sizeof(sig)); /* padded again */
            assert_int_equal(eim_package_result_verify(pub, eim_span(tlv, tlv_len), EIM_TOKEN(t),
                                                       eim_span(sig, sizeof(sig))),
                             EIM_OK);
            size_t in_len = signature_input(tlv, tlv_len, EIM_TOKEN(t), input);
            assert_true(test_openssl_verify(pub_path, input, in_len, der, der_len));
        }
        assert_true(found);
        eim_ec_pubkey_free(pub);
        eim_signer_destroy(signer);
    }
}

static void test_sign_rejects(void **state)
{
    uint8_t sig[EIM_ECDSA_RAW_LEN];
    static const uint8_t not_seq[] = {0x04, 0x01, 0x00};
    (void)state;
    eim_signer_t *signer = load_signer("eim_nist.key");
    assert_int_equal(
        eim_package_sign(signer, eim_span(not_seq, sizeof(not_seq)), EIM_NO_TOKEN, sig),
        EIM_ERR_INVALID_ARG);
    assert_int_equal(eim_package_sign(signer, EIM_SPAN_NULL, EIM_NO_TOKEN, sig),
                     EIM_ERR_INVALID_ARG);
    assert_int_equal(eim_package_sign(NULL, eim_span(not_seq, 3), EIM_NO_TOKEN, sig),
                     EIM_ERR_INVALID_ARG);
    /* sign_message: ECDSA-SHA256 over the message, checkable with the digest */
    uint8_t tlv[128];
    size_t tlv_len = test_sample_signed_tlv(tlv, sizeof(tlv));
    uint8_t input[160], digest[EIM_SHA256_LEN];
    size_t in_len = signature_input(tlv, tlv_len, EIM_TOKEN(9), input);
    assert_int_equal(eim_signer_sign_message(signer, eim_span(input, in_len), sig), EIM_OK);
    assert_int_equal(eim_package_signature_digest(eim_span(tlv, tlv_len), EIM_TOKEN(9), digest),
                     EIM_OK);
    eim_ec_pubkey_t *pub = signer_pubkey(signer);
    assert_int_equal(eim_ec_pubkey_verify_digest(pub, digest, eim_span(sig, sizeof(sig))), EIM_OK);
    eim_ec_pubkey_free(pub);
    eim_signer_destroy(signer);
    eim_signer_destroy(NULL);
}

static void test_pubkey_import(void **state)
{
    eim_ec_pubkey_t *key = NULL;
    size_t len = 0;
    (void)state;
    for (int c = 0; c < TEST_CURVES; c++) {
        char name[64];
        snprintf(name, sizeof(name), "eim_%s.pub.der", test_curve_tag[c]);
        uint8_t *der = test_pki_read(name, &len);
        assert_int_equal(eim_ec_pubkey_from_spki(eim_span(der, len), &key), EIM_OK);
        assert_int_equal(eim_ec_pubkey_curve(key),
                         c == 0 ? EIM_CURVE_P256 : EIM_CURVE_BRAINPOOLP256R1);
        eim_ec_pubkey_free(key);
        key = NULL;
        /* a point moved off the curve is refused */
        der[len - 1] ^= 0x01;
        assert_int_not_equal(eim_ec_pubkey_from_spki(eim_span(der, len), &key), EIM_OK);
        assert_null(key);
        /* trailing bytes are refused */
        der[len - 1] ^= 0x01;
        assert_int_not_equal(eim_ec_pubkey_from_spki(eim_span(der, len - 1), &key), EIM_OK);
        free(der);
    }
    uint8_t *p384 = test_pki_read("eim_p384.pub.der", &len);
    assert_int_equal(eim_ec_pubkey_from_spki(eim_span(p384, len), &key), EIM_ERR_UNSUPPORTED);
    assert_null(key);
    free(p384);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_tlv),     cmocka_unit_test(test_load_formats),
        cmocka_unit_test(test_load_rejects),  cmocka_unit_test(test_sign_cross_verify),
        cmocka_unit_test(test_raw_padding),   cmocka_unit_test(test_sign_rejects),
        cmocka_unit_test(test_pubkey_import),
    };
    return cmocka_run_group_tests(tests, test_pki_group_setup, test_pki_group_teardown);
}
