/*
 * Helpers shared by the proto/esep tests: hex vectors with named fragments
 * (so protocol cases stay readable as data) and an independent second
 * decoder check through `openssl asn1parse`.
 */
#ifndef EIM_TESTS_PROTO_ESEP_TEST_UTIL_H
#define EIM_TESTS_PROTO_ESEP_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/span.h"
#include "proto/der/der.h"
#include "proto/esep/euicc_package.h"

/* A span over a string literal without its NUL. */
#define S(str) eim_span(str, sizeof(str) - 1)

/* The Appendix B example values as bytes (same as the EID/ICCID/TXID
 * fragments of test_hex). */
extern const uint8_t test_eid_bytes[16];
extern const uint8_t test_iccid_bytes[10];
extern const uint8_t test_txid_bytes[16];

/*
 * Parses hex ("BF 51 0A ...", spaces optional) into out (cap bytes); returns
 * the length. Named fragments expand to the Appendix B example values:
 *   EIMID  80 0F "eim.example.com"       EID   5A 10 89049032...1235
 *   TXID   82 10 01..10                  ICCID 5A 0A 98001032547698103214
 *   SIG    5F 37 40 <64 zero bytes>
 */
size_t test_hex(const char *text, uint8_t *out, size_t cap);

/* Runs `openssl asn1parse -inform DER` over data; true when it exits 0 and
 * consumed everything (no trailing-garbage complaints). */
bool test_openssl_parses(const uint8_t *data, size_t len);

/* cmocka assertions: span equals the hex text (with fragments) / the bytes. */
void test_assert_span_hex(eim_span_t span, const char *want);
void test_assert_span_bytes(eim_span_t span, const void *want, size_t len);

/* Appendix B example 3: eimId "eim.example.com", the example EID, counter 5,
 * the 16-byte TXID, psmoList { enable { ICCID, rollbackFlag } }. Heap
 * allocated (the structure is large); caller frees. */
eim_euicc_package_t *test_enable_package(void);

/* A decoder rejection case as data: hex input, expected code and reason. */
typedef struct {
    const char *name;
    const char *hex;
    eim_err_t err;
    const char *reason;
} test_reject_case_t;

/* Decodes data[0..len) into a scratch structure; error gets the failure. */
typedef eim_err_t (*test_decode_fn)(const uint8_t *data, size_t len, eim_der_error_t *error);

/* Runs every case through decode; fails the test naming the first case whose
 * code or reason differs. */
void test_run_reject_cases(const test_reject_case_t *cases, size_t count, test_decode_fn decode);

#endif
