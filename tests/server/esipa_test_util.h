/*
 * Shared by the ESipa tests (dispatcher in-process, HTTPS end to end): the
 * request bodies an IPA sends and the checks an IPA/eUICC would make.
 */
#ifndef EIM_TESTS_SERVER_ESIPA_TEST_UTIL_H
#define EIM_TESTS_SERVER_ESIPA_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/span.h"
#include "proto/crypto/signer.h"
#include "proto/esep/euicc_package.h"

/* The EID of tests/proto/crypto_test_util.h's TEST_EID, as 16 bytes. */
extern const uint8_t esipa_test_eid[16];

/* GetEimPackageRequest { 5A EID, 82 rPLMN 62F210 } into out (>= 32 bytes). */
size_t esipa_test_poll_body(uint8_t *out);

/* ProvideEimPackageResult { 5A EID, BF51 signed enable result } answering
 * pkg, signed by the eUICC key; tamper flips the last signature byte. */
size_t esipa_test_result_body(eim_signer_t *euicc, const eim_euicc_package_t *pkg, uint64_t seq,
                              bool tamper, uint8_t *out, size_t cap);

/* Inserts eid (32 hex digits) for eim_id (which must exist) into dsn's
 * euiccs with the public key of the eUICC signer (SubjectPublicKeyInfo). */
void esipa_test_import_euicc(const char *dsn, const char *eim_id, const char *eid,
                             eim_signer_t *euicc);

/* Decodes bf51 into req and checks it is an enable PSMO for the test EID
 * from eim_id, signed (token 0) by the key whose SubjectPublicKeyInfo is spki
 * (DER or PEM). */
void esipa_test_check_package(eim_span_t spki, const char *eim_id, eim_span_t bf51,
                              eim_euicc_package_request_t *req);
/* The same checks for any eUICC Package (PSMOs or eCOs) except the kind. */
void esipa_test_verify_package(eim_span_t spki, const char *eim_id, eim_span_t bf51,
                               eim_euicc_package_request_t *req);

#endif
