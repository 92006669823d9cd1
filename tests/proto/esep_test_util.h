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

#endif
