/* Keys on disk for the server tests (see test_keys.h). */
#include "tests/server/test_keys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "proto/base/memory.h"
#include "server/config.h"
#include "server/keygen.h"
#include "tests/support/support.h"

test_keys_t test_keys;

void test_keys_generate(test_keys_t *keys, const char *tag)
{
    snprintf(keys->dir, sizeof(keys->dir), "/tmp/eimd-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(keys->dir));
    eim_config_t cfg;
    eim_config_defaults(&cfg);
    const char *names[] = {"signing.key.pem", "ca.pem",      "ca.key.pem",
                           "chain.pem",       "tls.key.pem", "tls.spki.der"};
    char **slots[] = {&cfg.keys.signing_key,     &cfg.keys.tls_ca_certificate,
                      &cfg.keys.tls_ca_key,      &cfg.keys.tls_certificate_chain,
                      &cfg.keys.tls_private_key, &cfg.keys.tls_raw_public_key};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        free(*slots[i]);
        *slots[i] = eim_sprintf("%s/%s", keys->dir, names[i]);
    }
    assert_int_equal(eim_keygen(&cfg), 0);
    snprintf(keys->ca, sizeof(keys->ca), "%s", cfg.keys.tls_ca_certificate);
    snprintf(keys->chain, sizeof(keys->chain), "%s", cfg.keys.tls_certificate_chain);
    snprintf(keys->key, sizeof(keys->key), "%s", cfg.keys.tls_private_key);
    snprintf(keys->raw_public_key, sizeof(keys->raw_public_key), "%s", cfg.keys.tls_raw_public_key);
    eim_config_free(&cfg);
}

void test_keys_remove(const test_keys_t *keys)
{
    char *argv[] = {"/bin/rm", "-rf", (char *)keys->dir, NULL};
    test_wait(test_spawn(argv, NULL, NULL), 5000);
}

eim_tls_context_t *test_keys_tls_context(uv_loop_t *loop, eim_tls_transport_t transport)
{
    eim_tls_context_options_t options = {
        .transport = transport,
        .certificate_chain = test_keys.chain,
        .private_key = test_keys.key,
        .raw_public_key = test_keys.raw_public_key,
        .ticket_rotation_ms = 3600000,
    };
    char error[256];
    eim_tls_context_t *tls = NULL;
    if (eim_tls_context_new(loop, &options, &tls, error, sizeof(error)) != EIM_OK)
        fail_msg("TLS context: %s", error);
    return tls;
}

int test_keys_group_setup(void **state)
{
    (void)state;
    test_keys_generate(&test_keys, "keys");
    wolfSSL_Init();
    return 0;
}

int test_keys_group_teardown(void **state)
{
    (void)state;
    test_keys_remove(&test_keys);
    wolfSSL_Cleanup();
    return 0;
}
