/*
 * An eimd process for end-to-end tests. See eimd_process.h.
 */
#include "tests/server/eimd_process.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto/software_signer.h"
#include "storage/migrations.h"
#include "tests/proto/crypto_test_util.h"
#include "tests/support/support.h"

void eimd_process_env(eimd_process_t *p, const char *format, ...)
{
    assert_true(p->env_count < EIMD_PROCESS_ENV);
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(p->env[p->env_count], sizeof(p->env[0]), format, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(p->env[0]));
    p->envp[p->env_count] = p->env[p->env_count];
    p->envp[++p->env_count] = NULL;
}

void eimd_process_init(eimd_process_t *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->dir, sizeof(p->dir), "/tmp/eimd-%s-XXXXXX", name);
    assert_non_null(mkdtemp(p->dir));
    assert_int_equal(eim_software_signer_load_file(test_pki_path("euicc_nist.key"), &p->euicc),
                     EIM_OK);
    p->dsn = test_pg_create_db(name);
    char error[256];
    assert_int_equal(eim_migrations_apply(p->dsn, eim_migrations, eim_migration_count, NULL, error,
                                          sizeof(error)),
                     EIM_OK);
    test_pg_exec(p->dsn, "INSERT INTO eim_identities (eim_id, signing_key_ref) VALUES "
                         "('" EIMD_PROCESS_EIM_ID "', 'dev')");
    p->admin_port = test_free_port();
    eimd_process_env(p, "EIMD_DATABASE_DSN=%s", p->dsn);
    eimd_process_env(p, "EIMD_ADMIN_LISTEN=127.0.0.1:%d", p->admin_port);
    eimd_process_env(p, "EIMD_EIM_ID=" EIMD_PROCESS_EIM_ID);
    eimd_process_env(p, "EIMD_DATABASE_RECONNECT_MAX_MS=300");
    eimd_process_env(p, "EIMD_DATABASE_HEALTH_INTERVAL_MS=200");
    eimd_process_env(p, "EIMD_KEYS_SIGNING_KEY=%s", eimd_path(p, "signing.key.pem"));
    eimd_process_env(p, "EIMD_KEYS_TLS_CA_CERTIFICATE=%s", eimd_path(p, "ca.pem"));
    eimd_process_env(p, "EIMD_KEYS_TLS_CA_KEY=%s", eimd_path(p, "ca.key.pem"));
    eimd_process_env(p, "EIMD_KEYS_TLS_CERTIFICATE_CHAIN=%s", eimd_path(p, "chain.pem"));
    eimd_process_env(p, "EIMD_KEYS_TLS_PRIVATE_KEY=%s", eimd_path(p, "tls.key.pem"));
    eimd_process_env(p, "EIMD_KEYS_TLS_RAW_PUBLIC_KEY=%s", eimd_path(p, "tls.spki.der"));
}

void eimd_process_keygen(eimd_process_t *p)
{
    char *keygen[] = {(char *)test_eimd_path(), "keygen", NULL};
    assert_int_equal(test_wait(test_spawn(keygen, p->envp, eimd_path(p, "eimd.log")), 20000), 0);
}

void eimd_process_start(eimd_process_t *p)
{
    char *serve[] = {(char *)test_eimd_path(), "serve", NULL};
    p->pid = test_spawn(serve, p->envp, eimd_path(p, "eimd.log"));
    if (test_http_wait_status(p->admin_port, "/readyz", 200, 20000) != 200) {
        eimd_dump_log(p);
        fail_msg("eimd did not become ready");
    }
}

void eimd_process_stop(eimd_process_t *p)
{
    kill(p->pid, SIGTERM);
    int code = test_wait(p->pid, 15000);
    if (code != 0)
        eimd_dump_log(p);
    assert_int_equal(code, 0);
    p->pid = 0;
}

void eimd_process_cleanup(eimd_process_t *p)
{
    if (p->pid > 0)
        eimd_process_stop(p);
    eim_signer_destroy(p->euicc);
    test_run("rm -rf '%s'", p->dir);
    free(p->dsn);
}

const char *eimd_path(const eimd_process_t *p, const char *name)
{
    return test_path(p->dir, name);
}

void eimd_dump_log(const eimd_process_t *p)
{
    test_dump_log(eimd_path(p, "eimd.log"));
}
