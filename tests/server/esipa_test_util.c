/* ESipa test helpers: see esipa_test_util.h. */
#include "tests/server/esipa_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto/ec_pubkey.h"
#include "proto/crypto/package_codec.h"
#include "proto/crypto/package_signature.h"
#include "proto/esep/euicc_result.h"
#include "proto/base/text_codec.h"
#include "proto/esipa/esipa_message.h"
#include "tests/support/support.h"

const uint8_t esipa_test_eid[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                                    0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35};

size_t esipa_test_poll_body(uint8_t *out)
{
    static const uint8_t head[] = {0xBF, 0x4F, 0x17, 0x5A, 0x10};
    static const uint8_t rplmn[] = {0x82, 0x03, 0x62, 0xF2, 0x10};
    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), esipa_test_eid, 16);
    memcpy(out + sizeof(head) + 16, rplmn, sizeof(rplmn));
    return sizeof(head) + 16 + sizeof(rplmn);
}

size_t esipa_test_result_body(eim_signer_t *euicc, const eim_euicc_package_t *pkg, uint64_t seq,
                              bool tamper, uint8_t *out, size_t cap)
{
    eim_euicc_result_t *res = calloc(1, sizeof(*res));
    res->form = EIM_RESULT_SIGNED;
    res->eim_id = pkg->eim_id;
    res->counter_value = pkg->counter_value;
    res->transaction_id = pkg->transaction_id;
    res->seq_number = seq;
    res->count = 1;
    res->results[0].kind = EIM_RD_ENABLE;
    res->results[0].code = 0;
    eim_buf_t epr;
    eim_buf_init(&epr, 4096);
    assert_int_equal(eim_esep_result_encode(res, 0, eim_package_signer_fn, euicc, &epr), EIM_OK);
    if (tamper)
        epr.data[epr.len - 1] ^= 0x01;
    eim_esipa_provide_eim_package_result_t pr;
    memset(&pr, 0, sizeof(pr));
    pr.has_eid = true;
    pr.eid = eim_span(esipa_test_eid, 16);
    pr.result.kind = EIM_ESIPA_RESULT_EUICC_PACKAGE;
    pr.result.euicc_package_result = eim_span(epr.data, epr.len);
    eim_buf_t body;
    eim_buf_init(&body, cap);
    assert_int_equal(eim_esipa_provide_eim_package_result_encode(&pr, &body), EIM_OK);
    memcpy(out, body.data, body.len);
    size_t n = body.len;
    eim_buf_free(&body);
    eim_buf_free(&epr);
    free(res);
    return n;
}

void esipa_test_import_euicc(const char *dsn, const char *eim_id, const char *eid,
                             eim_signer_t *euicc)
{
    uint8_t spki[EIM_EC_SPKI_MAX];
    size_t spki_len;
    assert_int_equal(eim_signer_export_spki(euicc, spki, sizeof(spki), &spki_len), EIM_OK);
    eim_buf_t hex;
    eim_buf_init(&hex, 4096);
    assert_int_equal(eim_hex_encode(spki, spki_len, &hex), EIM_OK);
    char stmt[2048];
    snprintf(stmt, sizeof(stmt),
             "INSERT INTO euiccs (eid, eim_id, euicc_public_key) VALUES ('%s', '%s', "
             "decode('%.*s', 'hex'))",
             eid, eim_id, (int)hex.len, (const char *)hex.data);
    eim_buf_free(&hex);
    test_pg_exec(dsn, stmt);
}

void esipa_test_check_package(eim_span_t spki, const char *eim_id, eim_span_t bf51,
                              eim_euicc_package_request_t *req)
{
    esipa_test_verify_package(spki, eim_id, bf51, req);
    assert_int_equal(req->package.psmos[0].kind, EIM_PSMO_ENABLE);
}

void esipa_test_verify_package(eim_span_t spki, const char *eim_id, eim_span_t bf51,
                               eim_euicc_package_request_t *req)
{
    assert_int_equal(eim_esep_package_decode(bf51.ptr, bf51.len, req, NULL), EIM_OK);
    assert_memory_equal(req->package.eid.ptr, esipa_test_eid, 16);
    assert_int_equal(req->package.eim_id.len, strlen(eim_id));
    assert_memory_equal(req->package.eim_id.ptr, eim_id, strlen(eim_id));
    eim_ec_pubkey_t *pub = NULL;
    assert_int_equal(eim_ec_pubkey_from_spki(spki, &pub), EIM_OK);
    uint8_t digest[EIM_SHA256_LEN];
    assert_int_equal(eim_package_signature_digest(req->signed_tlv, EIM_TOKEN(0), digest), EIM_OK);
    assert_int_equal(eim_ec_pubkey_verify_digest(pub, digest, req->signature), EIM_OK);
    eim_ec_pubkey_free(pub);
}
