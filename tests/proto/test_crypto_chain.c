/*
 * Tests of eUICC certificate chain validation (proto/crypto/cert_chain.h),
 * the per-EID key cache (key_cache.h) and eUICC result signature checks
 * (package_signature.h) with a key taken from a verified chain and
 * signatures made by openssl as a stand-in eUICC. SGP.22 v2 §4.5.2,
 * SGP.32 v1.2 §2.11.1.2.
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
#include "proto/crypto/cert_chain.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/key_cache.h"
#include "proto/crypto/package_signature.h"
#include "proto/crypto/x509.h"

#define T_2023_12_31 INT64_C(1703980800)
#define T_2024_01_01 INT64_C(1704067200)
#define T_2055_01_01 INT64_C(2682374400)

static const uint8_t eid_bin[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                                    0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35};

typedef struct {
    uint8_t *der;
    size_t len;
} blob_t;

static blob_t load(const char *prefix, int curve, const char *ext)
{
    char name[96];
    blob_t b;
    snprintf(name, sizeof(name), "%s_%s.%s", prefix, test_curve_tag[curve], ext);
    b.der = test_pki_read(name, &b.len);
    return b;
}

static eim_ci_store_t *store_with(const char *const *ci_prefixes, size_t n, int curve)
{
    eim_ci_store_t *store = eim_ci_store_new();
    for (size_t i = 0; i < n; i++) {
        /* alternate DER and PEM inputs */
        blob_t b = load(ci_prefixes[i], curve, i % 2 ? "pem" : "der");
        assert_int_equal(eim_ci_store_add(store, eim_span(b.der, b.len)), EIM_OK);
        free(b.der);
    }
    return store;
}

static eim_chain_status_t verify(const eim_ci_store_t *store, const char *euicc, const char *eum,
                                 int curve, eim_span_t eid, int64_t now, eim_euicc_key_t *key)
{
    blob_t e = load(euicc, curve, "der"), m = load(eum, curve, "der");
    eim_chain_status_t st = EIM_CHAIN_OK;
    eim_euicc_key_t scratch;
    eim_err_t err = eim_cert_chain_verify(store, eim_span(e.der, e.len), eim_span(m.der, m.len),
                                          eid, now, key ? key : &scratch, &st);
    assert_int_equal(err, st == EIM_CHAIN_OK ? EIM_OK : EIM_ERR_VERIFY);
    free(e.der);
    free(m.der);
    return st;
}

static void test_chain_ok(void **state)
{
    static const char *const cis[] = {"ci_other", "ci"};
    (void)state;
    for (int c = 0; c < TEST_CURVES; c++) {
        eim_ci_store_t *store = store_with(cis, 2, c);
        eim_euicc_key_t key;
        assert_int_equal(eim_ci_store_count(store), 2);
        assert_int_equal(verify(store, "euicc", "eum", c, eim_span(eid_bin, 16), TEST_NOW, &key),
                         EIM_CHAIN_OK);
        assert_string_equal(key.eid, TEST_EID);
        assert_int_equal(key.curve, c == 0 ? EIM_CURVE_P256 : EIM_CURVE_BRAINPOOLP256R1);
        assert_int_equal(key.valid_until, T_2055_01_01); /* the EUM's notAfter */
        assert_true(key.ci_key_id_len == 20);
        /* the key is the eUICC's: same SPKI as openssl's export */
        char name[64];
        snprintf(name, sizeof(name), "euicc_%s.pub.pem", test_curve_tag[c]);
        size_t pem_len = 0;
        uint8_t *pem = test_pki_read(name, &pem_len);
        eim_ec_pubkey_t *pub = NULL;
        uint8_t spki[EIM_EC_SPKI_MAX];
        size_t spki_len = 0;
        assert_int_equal(eim_ec_pubkey_from_spki(eim_span(pem, pem_len), &pub), EIM_OK);
        assert_int_equal(eim_ec_pubkey_export_spki(pub, spki, sizeof(spki), &spki_len), EIM_OK);
        assert_int_equal(spki_len, key.spki_len);
        assert_memory_equal(spki, key.spki, spki_len);
        eim_ec_pubkey_free(pub);
        free(pem);
        /* EID as 32 digits works too; validity edges are inclusive */
        assert_int_equal(
            verify(store, "euicc", "eum", c, eim_span(TEST_EID, 32), T_2024_01_01, NULL),
            EIM_CHAIN_OK);
        assert_int_equal(
            verify(store, "euicc", "eum", c, eim_span(TEST_EID, 32), T_2055_01_01, NULL),
            EIM_CHAIN_OK);
        eim_ci_store_free(store);
    }
}

static void test_chain_failures(void **state)
{
    static const char *const real[] = {"ci"};
    static const char *const other[] = {"ci_other"};
    static const char *const impostor[] = {"ci_impostor"};
    static const uint8_t wrong_eid[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                                          0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x36};
    static const uint8_t outside_eid[16] = {0x89, 0x04, 0x90, 0x99, 0x12, 0x34, 0x51, 0x23,
                                            0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35};
    eim_span_t eid = eim_span(eid_bin, 16);
    (void)state;

    for (int c = 0; c < TEST_CURVES; c++) {
        eim_ci_store_t *good = store_with(real, 1, c);
        eim_ci_store_t *wrong = store_with(other, 1, c);
        eim_ci_store_t *fake = store_with(impostor, 1, c);

        assert_int_equal(verify(wrong, "euicc", "eum", c, eid, TEST_NOW, NULL),
                         EIM_CHAIN_UNKNOWN_CI);
        /* same CI name, other key: the EUM's AKI names another key, so the
         * impostor is not even a candidate */
        assert_int_equal(verify(fake, "euicc", "eum", c, eid, TEST_NOW, NULL),
                         EIM_CHAIN_UNKNOWN_CI);
        assert_int_equal(verify(good, "euicc", "eum", c, eid, T_2055_01_01 + 1, NULL),
                         EIM_CHAIN_EXPIRED);
        assert_int_equal(verify(good, "euicc", "eum", c, eid, T_2023_12_31, NULL),
                         EIM_CHAIN_NOT_YET_VALID);
        assert_int_equal(verify(good, "euicc", "eum", c, eim_span(wrong_eid, 16), TEST_NOW, NULL),
                         EIM_CHAIN_EID_MISMATCH);
        /* a correctly signed eUICC certificate whose EID the EUM may not issue */
        assert_int_equal(
            verify(good, "euicc_outside", "eum", c, eim_span(outside_eid, 16), TEST_NOW, NULL),
            EIM_CHAIN_EID_OUT_OF_RANGE);
        /* an EUM without nameConstraints has no EID range */
        assert_int_equal(verify(good, "euicc_norange", "eum_norange", c, eid, TEST_NOW, NULL),
                         EIM_CHAIN_EID_OUT_OF_RANGE);
        assert_int_equal(verify(good, "euicc_ca", "eum", c, eid, TEST_NOW, NULL),
                         EIM_CHAIN_BAD_LEAF);
        /* eUICC certificate issued by another EUM */
        assert_int_equal(verify(good, "euicc_norange", "eum", c, eid, TEST_NOW, NULL),
                         EIM_CHAIN_ISSUER_MISMATCH);
        /* EUM given as eUICC and vice versa */
        assert_int_not_equal(verify(good, "eum", "euicc", c, eid, TEST_NOW, NULL), EIM_CHAIN_OK);

        /* broken signatures: flip a byte of the signature, then of the TBS */
        blob_t e = load("euicc", c, "der"), m = load("eum", c, "der");
        eim_chain_status_t st;
        eim_euicc_key_t key;
        e.der[e.len - 5] ^= 0x01;
        assert_int_equal(eim_cert_chain_verify(good, eim_span(e.der, e.len), eim_span(m.der, m.len),
                                               eid, TEST_NOW, &key, &st),
                         EIM_ERR_VERIFY);
        assert_int_equal(st, EIM_CHAIN_BAD_SIGNATURE);
        e.der[e.len - 5] ^= 0x01;
        eim_x509_cert_t parsed;
        assert_int_equal(eim_x509_parse(eim_span(e.der, e.len), &parsed), EIM_OK);
        size_t spki_off = (size_t)(parsed.spki.ptr - e.der);
        e.der[spki_off + parsed.spki.len - 3] ^= 0x01; /* eUICC public key byte */
        assert_int_equal(eim_cert_chain_verify(good, eim_span(e.der, e.len), eim_span(m.der, m.len),
                                               eid, TEST_NOW, &key, &st),
                         EIM_ERR_VERIFY);
        assert_int_equal(st, EIM_CHAIN_BAD_SIGNATURE);
        e.der[spki_off + parsed.spki.len - 3] ^= 0x01;
        m.der[m.len - 7] ^= 0x40; /* EUM signature by the CI */
        assert_int_equal(eim_cert_chain_verify(good, eim_span(e.der, e.len), eim_span(m.der, m.len),
                                               eid, TEST_NOW, &key, &st),
                         EIM_ERR_VERIFY);
        assert_int_equal(st, EIM_CHAIN_BAD_SIGNATURE);
        m.der[m.len - 7] ^= 0x40;
        /* truncated and trailing bytes */
        assert_int_equal(eim_cert_chain_verify(good, eim_span(e.der, e.len - 1),
                                               eim_span(m.der, m.len), eid, TEST_NOW, &key, &st),
                         EIM_ERR_VERIFY);
        assert_int_equal(st, EIM_CHAIN_MALFORMED);
        /* intact again */
        assert_int_equal(eim_cert_chain_verify(good, eim_span(e.der, e.len), eim_span(m.der, m.len),
                                               eid, TEST_NOW, &key, &st),
                         EIM_OK);
        /* bad EID argument */
        assert_int_equal(eim_cert_chain_verify(good, eim_span(e.der, e.len), eim_span(m.der, m.len),
                                               eim_span(eid_bin, 15), TEST_NOW, &key, &st),
                         EIM_ERR_INVALID_ARG);
        free(e.der);
        free(m.der);
        eim_ci_store_free(good);
        eim_ci_store_free(wrong);
        eim_ci_store_free(fake);
    }
    /* mixing curves: nist eUICC under the brp EUM */
    {
        eim_ci_store_t *brp = store_with(real, 1, 1);
        blob_t e = load("euicc", 0, "der"), m = load("eum", 1, "der");
        eim_chain_status_t st;
        eim_euicc_key_t key;
        assert_int_equal(eim_cert_chain_verify(brp, eim_span(e.der, e.len), eim_span(m.der, m.len),
                                               eid, TEST_NOW, &key, &st),
                         EIM_ERR_VERIFY);
        assert_int_equal(st, EIM_CHAIN_ISSUER_MISMATCH);
        free(e.der);
        free(m.der);
        eim_ci_store_free(brp);
    }
}

static void test_ci_store_rejects(void **state)
{
    (void)state;
    eim_ci_store_t *store = eim_ci_store_new();
    blob_t eum = load("eum", 0, "der"), euicc = load("euicc", 0, "pem"), ci = load("ci", 0, "pem");
    /* not self-signed / not a CA */
    assert_int_equal(eim_ci_store_add(store, eim_span(eum.der, eum.len)), EIM_ERR_VERIFY);
    assert_int_equal(eim_ci_store_add(store, eim_span(euicc.der, euicc.len)), EIM_ERR_VERIFY);
    /* a corrupted self-signature */
    ci.der[ci.len / 2] ^= 0x01;
    assert_int_not_equal(eim_ci_store_add(store, eim_span(ci.der, ci.len)), EIM_OK);
    ci.der[ci.len / 2] ^= 0x01;
    assert_int_equal(eim_ci_store_count(store), 0);
    /* bounded */
    for (int i = 0; i < EIM_CI_STORE_MAX; i++)
        assert_int_equal(eim_ci_store_add(store, eim_span(ci.der, ci.len)), EIM_OK);
    assert_int_equal(eim_ci_store_add(store, eim_span(ci.der, ci.len)), EIM_ERR_LIMIT);
    assert_int_equal(eim_ci_store_add_file(store, "/nonexistent.pem"), EIM_ERR_IO);
    free(eum.der);
    free(euicc.der);
    free(ci.der);
    eim_ci_store_free(store);
}

/* The eUICC side, played by openssl: it signs EuiccPackageResultDataSigned
 * || 84 L token with SK.EUICC; the eIM checks with the key of the chain. */
static void test_result_signature(void **state)
{
    static const char *const real[] = {"ci"};
    /* a plausible EuiccPackageResultDataSigned: eimId, counter, txid, seq,
     * results (shape only; signatures cover bytes, not meaning) */
    static const uint8_t epr[] = {0x30, 0x1A, 0x80, 0x0B, 'e',  'i',  'm',  '.',  'e',  'x',
                                  'a',  'm',  'p',  'l',  'e',  0x81, 0x01, 0x05, 0x82, 0x04,
                                  0x01, 0x02, 0x03, 0x04, 0x83, 0x01, 0x01, 0xA0, 0x00};
    static const uint8_t epe[] = {0x30, 0x0B, 0x80, 0x03, 'e',  'i', 'm',
                                  0x81, 0x01, 0x05, 0x83, 0x01, 0x04};
    static const int64_t tokens[] = {-1, 0, 0x7F, 0x80, 0xABCDEF};
    (void)state;

    for (int c = 0; c < TEST_CURVES; c++) {
        eim_ci_store_t *store = store_with(real, 1, c);
        eim_euicc_key_t key;
        eim_ec_pubkey_t *pub = NULL;
        char name[64];
        assert_int_equal(verify(store, "euicc", "eum", c, eim_span(eid_bin, 16), TEST_NOW, &key),
                         EIM_CHAIN_OK);
        assert_int_equal(eim_ec_pubkey_from_spki(eim_span(key.spki, key.spki_len), &pub), EIM_OK);
        snprintf(name, sizeof(name), "euicc_%s.key", test_curve_tag[c]);
        char key_path[256];
        snprintf(key_path, sizeof(key_path), "%s", test_pki_path(name));

        for (size_t t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
            for (int which = 0; which < 2; which++) {
                eim_assoc_token_t token = tokens[t] < 0 ? EIM_NO_TOKEN : EIM_TOKEN(tokens[t]);
                const uint8_t *tlv = which ? epe : epr;
                size_t tlv_len = which ? sizeof(epe) : sizeof(epr), tok_len = 0;
                uint8_t input[96], der[80], raw[EIM_ECDSA_RAW_LEN];
                memcpy(input, tlv, tlv_len);
                assert_int_equal(eim_package_token_tlv(token, input + tlv_len, &tok_len), EIM_OK);
                size_t der_len = test_openssl_sign(key_path, input, tlv_len + tok_len, der);
                eim_span_t signed_tlv = eim_span(tlv, tlv_len);

                /* DER as produced by a generic library */
                assert_int_equal(
                    eim_package_result_verify(pub, signed_tlv, token, eim_span(der, der_len)),
                    EIM_OK);
                /* plain r||s as production eUICCs send it */
                assert_int_equal(eim_ecdsa_der_to_raw(eim_span(der, der_len), raw), EIM_OK);
                assert_int_equal(
                    eim_package_result_verify(pub, signed_tlv, token, eim_span(raw, sizeof(raw))),
                    EIM_OK);
                /* wrong token, tampered data, tampered signature */
                eim_assoc_token_t other = EIM_TOKEN(token.value + 1);
                assert_int_equal(
                    eim_package_result_verify(pub, signed_tlv, other, eim_span(raw, sizeof(raw))),
                    EIM_ERR_VERIFY);
                memcpy(input, tlv, tlv_len);
                input[tlv_len - 1] ^= 0x01;
                assert_int_equal(eim_package_result_verify(pub, eim_span(input, tlv_len), token,
                                                           eim_span(raw, sizeof(raw))),
                                 EIM_ERR_VERIFY);
                raw[5] ^= 0x10;
                assert_int_equal(
                    eim_package_result_verify(pub, signed_tlv, token, eim_span(raw, sizeof(raw))),
                    EIM_ERR_VERIFY);
                raw[5] ^= 0x10;
                /* malformed signatures */
                assert_int_equal(
                    eim_package_result_verify(pub, signed_tlv, token, eim_span(raw, 63)),
                    EIM_ERR_VERIFY);
                uint8_t longer[90];
                memcpy(longer, der, der_len);
                longer[der_len] = 0x00; /* trailing byte after the DER */
                assert_int_equal(eim_package_result_verify(pub, signed_tlv, token,
                                                           eim_span(longer, der_len + 1)),
                                 EIM_ERR_VERIFY);
                /* non-canonical DER: long-form length for the SEQUENCE */
                longer[0] = 0x30;
                longer[1] = 0x81;
                longer[2] = der[1];
                memcpy(longer + 3, der + 2, der_len - 2);
                assert_int_equal(eim_package_result_verify(pub, signed_tlv, token,
                                                           eim_span(longer, der_len + 1)),
                                 EIM_ERR_VERIFY);
            }
        }
        eim_ec_pubkey_free(pub);
        eim_ci_store_free(store);
    }
}

static eim_euicc_key_t fake_key(const char *eid, int64_t valid_until, uint8_t marker)
{
    eim_euicc_key_t k;
    memset(&k, 0, sizeof(k));
    memcpy(k.eid, eid, EIM_EID_DIGITS + 1);
    k.curve = EIM_CURVE_P256;
    k.spki[0] = marker;
    k.spki_len = 1;
    k.valid_until = valid_until;
    return k;
}

static void test_key_cache(void **state)
{
    static const char eid_a[] = "89049032123451234512345678900001";
    static const char eid_b[] = "89049032123451234512345678900002";
    static const char eid_c[] = "89049032123451234512345678900003";
    eim_key_cache_t *cache = NULL;
    eim_euicc_key_t out;
    eim_key_cache_stats_t stats;
    (void)state;

    assert_int_equal(eim_key_cache_new(0, &cache), EIM_ERR_INVALID_ARG);
    assert_int_equal(eim_key_cache_new(2, &cache), EIM_OK);
    eim_euicc_key_t a = fake_key(eid_a, 1000, 'a'), b = fake_key(eid_b, 1000, 'b'),
                    c = fake_key(eid_c, 2000, 'c');
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_a, 32), 0, &out), EIM_ERR_NOT_FOUND);
    assert_int_equal(eim_key_cache_put(cache, &a), EIM_OK);
    assert_int_equal(eim_key_cache_put(cache, &b), EIM_OK);
    /* touching A makes B the least recently used */
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_a, 32), 10, &out), EIM_OK);
    assert_int_equal(out.spki[0], 'a');
    assert_int_equal(eim_key_cache_put(cache, &c), EIM_OK);
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_b, 32), 10, &out), EIM_ERR_NOT_FOUND);
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_c, 32), 10, &out), EIM_OK);
    assert_int_equal(out.spki[0], 'c');
    /* lookup by the 16-byte eidValue and lower-case digits alike */
    uint8_t bin[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                       0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x00, 0x01};
    assert_int_equal(eim_key_cache_get(cache, eim_span(bin, 16), 10, &out), EIM_OK);
    assert_string_equal(out.eid, eid_a);
    /* replace keeps one entry */
    eim_euicc_key_t a2 = fake_key(eid_a, 1000, 'A');
    assert_int_equal(eim_key_cache_put(cache, &a2), EIM_OK);
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_a, 32), 10, &out), EIM_OK);
    assert_int_equal(out.spki[0], 'A');
    eim_key_cache_stats(cache, &stats);
    assert_int_equal(stats.size, 2);
    assert_int_equal(stats.evictions, 1);
    /* expiry: past valid_until the entry is gone */
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_a, 32), 1000, &out), EIM_OK);
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_a, 32), 1001, &out), EIM_ERR_NOT_FOUND);
    eim_key_cache_stats(cache, &stats);
    assert_int_equal(stats.size, 1);
    assert_int_equal(stats.expired, 1);
    /* remove and clear */
    eim_key_cache_remove(cache, eim_span(eid_c, 32));
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_c, 32), 10, &out), EIM_ERR_NOT_FOUND);
    assert_int_equal(eim_key_cache_put(cache, &a), EIM_OK);
    assert_int_equal(eim_key_cache_put(cache, &b), EIM_OK);
    eim_key_cache_clear(cache);
    eim_key_cache_stats(cache, &stats);
    assert_int_equal(stats.size, 0);
    assert_int_equal(eim_key_cache_get(cache, eim_span(eid_a, 32), 10, &out), EIM_ERR_NOT_FOUND);
    eim_key_cache_free(cache);

    /* many EIDs through a small cache: size stays bounded, recent ones hit */
    assert_int_equal(eim_key_cache_new(64, &cache), EIM_OK);
    char eid[33];
    for (int i = 0; i < 1000; i++) {
        snprintf(eid, sizeof(eid), "890490321234512345123456%08d", i);
        eim_euicc_key_t k = fake_key(eid, 5000, (uint8_t)i);
        assert_int_equal(eim_key_cache_put(cache, &k), EIM_OK);
    }
    eim_key_cache_stats(cache, &stats);
    assert_int_equal(stats.size, 64);
    assert_int_equal(stats.evictions, 1000 - 64);
    for (int i = 0; i < 1000; i++) {
        snprintf(eid, sizeof(eid), "890490321234512345123456%08d", i);
        assert_int_equal(eim_key_cache_get(cache, eim_span(eid, 32), 1, &out),
                         i >= 1000 - 64 ? EIM_OK : EIM_ERR_NOT_FOUND);
    }
    eim_key_cache_free(cache);
}

/* Chain verify -> cache -> result verify, the intended flow. */
static void test_chain_then_cache(void **state)
{
    static const char *const real[] = {"ci"};
    eim_key_cache_t *cache = NULL;
    eim_euicc_key_t key, cached;
    (void)state;
    assert_int_equal(eim_key_cache_new(8, &cache), EIM_OK);
    for (int c = 0; c < TEST_CURVES; c++) {
        eim_ci_store_t *store = store_with(real, 1, c);
        assert_int_equal(verify(store, "euicc", "eum", c, eim_span(eid_bin, 16), TEST_NOW, &key),
                         EIM_CHAIN_OK);
        assert_int_equal(eim_key_cache_put(cache, &key), EIM_OK);
        assert_int_equal(eim_key_cache_get(cache, eim_span(eid_bin, 16), TEST_NOW, &cached),
                         EIM_OK);
        assert_int_equal(cached.curve, key.curve);
        assert_memory_equal(cached.spki, key.spki, key.spki_len);
        /* cached keys expire with the chain (the EUM's notAfter) */
        assert_int_equal(eim_key_cache_get(cache, eim_span(eid_bin, 16), T_2055_01_01 + 1, &cached),
                         EIM_ERR_NOT_FOUND);
        eim_ci_store_free(store);
    }
    eim_key_cache_free(cache);
}

static void test_x509_time(void **state)
{
    int64_t t = 0;
    (void)state;
    assert_int_equal(eim_x509_parse_time(0x17, eim_span("240101000000Z", 13), &t), EIM_OK);
    assert_int_equal(t, T_2024_01_01);
    assert_int_equal(eim_x509_parse_time(0x17, eim_span("491231235959Z", 13), &t), EIM_OK);
    assert_int_equal(t, INT64_C(2524607999)); /* 2049-12-31T23:59:59Z */
    assert_int_equal(eim_x509_parse_time(0x17, eim_span("500101000000Z", 13), &t), EIM_OK);
    assert_int_equal(t, INT64_C(-631152000)); /* 1950-01-01 */
    assert_int_equal(eim_x509_parse_time(0x18, eim_span("99991231235959Z", 15), &t), EIM_OK);
    assert_int_equal(t, INT64_C(253402300799));
    assert_int_equal(eim_x509_parse_time(0x17, eim_span("241301000000Z", 13), &t), EIM_ERR_DECODE);
    assert_int_equal(eim_x509_parse_time(0x17, eim_span("240101000000+", 13), &t), EIM_ERR_DECODE);
    assert_int_equal(eim_x509_parse_time(0x18, eim_span("240101000000Z", 13), &t), EIM_ERR_DECODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_ok),         cmocka_unit_test(test_chain_failures),
        cmocka_unit_test(test_ci_store_rejects), cmocka_unit_test(test_result_signature),
        cmocka_unit_test(test_key_cache),        cmocka_unit_test(test_chain_then_cache),
        cmocka_unit_test(test_x509_time),
    };
    return cmocka_run_group_tests(tests, test_pki_group_setup, test_pki_group_teardown);
}
