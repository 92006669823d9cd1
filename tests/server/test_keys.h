/*
 * Shared by the server tests that need eimd's keys on disk (HTTPS, DTLS,
 * REST, park blobs): a throwaway directory with what `eimd keygen` writes
 * (signing key, TLS CA and its key, server chain and key, raw public key).
 */
#ifndef EIM_TESTS_SERVER_TEST_KEYS_H
#define EIM_TESTS_SERVER_TEST_KEYS_H

#include <uv.h>

#include "server/tls/tls_context.h"

typedef struct {
    char dir[64];
    char ca[128];             /* ca.pem: the TLS CA certificate */
    char chain[128];          /* chain.pem: server certificate, then the CA */
    char key[128];            /* tls.key.pem: the server certificate's key */
    char raw_public_key[128]; /* tls.spki.der: the same key as SubjectPublicKeyInfo */
} test_keys_t;

/* The keys of a cmocka group set up by test_keys_group_setup. */
extern test_keys_t test_keys;

/* Makes /tmp/eimd-<tag>-XXXXXX and generates the keys into it (the test
 * fails on error). */
void test_keys_generate(test_keys_t *keys, const char *tag);
/* Removes the directory and everything in it. */
void test_keys_remove(const test_keys_t *keys);

/* A TLS context on loop serving test_keys (chain and raw public key) over
 * transport; the caller releases it (the test fails on error). */
eim_tls_context_t *test_keys_tls_context(uv_loop_t *loop, eim_tls_transport_t transport);

/* cmocka group setup / teardown: test_keys generated (tag "keys") and
 * wolfSSL initialised; removed and cleaned up. */
int test_keys_group_setup(void **state);
int test_keys_group_teardown(void **state);

#endif
