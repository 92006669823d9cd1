/*
 * `eimd serve` as a process against the real test PostgreSQL cluster:
 * liveness, readiness following the database (stop and restart the cluster
 * without restarting eimd), refusal of an old schema, migration at start,
 * configuration errors, and a clean exit 0 on SIGTERM within the deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/migrations.h"
#include "tests/support/support.h"

typedef struct {
    char *dsn;
    int port;
    pid_t pid;
    char log[128];
    char env[8][512];
    char *envp[9];
} eimd_t;

static void eimd_prepare(eimd_t *e, const char *dsn, const char *const *extra)
{
    memset(e, 0, sizeof(*e));
    e->dsn = strdup(dsn);
    e->port = test_free_port();
    snprintf(e->log, sizeof(e->log), "/tmp/eimd-test-serve-%d-%ld.log", (int)getpid(),
             (long)time(NULL) ^ (long)rand());
    size_t n = 0;
    snprintf(e->env[n++], sizeof(e->env[0]), "EIMD_DATABASE_DSN=%s", dsn);
    snprintf(e->env[n++], sizeof(e->env[0]), "EIMD_ADMIN_LISTEN=127.0.0.1:%d", e->port);
    snprintf(e->env[n++], sizeof(e->env[0]), "EIMD_DATABASE_HEALTH_INTERVAL_MS=200");
    snprintf(e->env[n++], sizeof(e->env[0]), "EIMD_DATABASE_RECONNECT_MAX_MS=500");
    snprintf(e->env[n++], sizeof(e->env[0]), "EIMD_SHUTDOWN_DEADLINE_MS=3000");
    for (size_t i = 0; extra && extra[i] && n < 8; i++)
        snprintf(e->env[n++], sizeof(e->env[0]), "%s", extra[i]);
    for (size_t i = 0; i < n; i++)
        e->envp[i] = e->env[i];
    e->envp[n] = NULL;
}

static int eimd_run(eimd_t *e, const char *command, int timeout_ms)
{
    char *argv[] = {(char *)test_eimd_path(), (char *)command, NULL};
    pid_t pid = test_spawn(argv, e->envp, e->log);
    return test_wait(pid, timeout_ms);
}

static void eimd_start(eimd_t *e)
{
    char *argv[] = {(char *)test_eimd_path(), "serve", NULL};
    e->pid = test_spawn(argv, e->envp, e->log);
}

static void dump_log(const eimd_t *e)
{
    char *log = test_read_file(e->log);
    fprintf(stderr, "--- eimd log ---\n%s--- end ---\n", log ? log : "(none)");
    free(log);
}

static void eimd_cleanup(eimd_t *e)
{
    if (e->pid > 0 && test_wait(e->pid, 0) == -1) {
        kill(e->pid, SIGKILL);
        test_wait(e->pid, 5000);
    }
    unlink(e->log);
    free(e->dsn);
}

static char *migrated_db(const char *prefix)
{
    char *dsn = test_pg_create_db(prefix);
    char error[256];
    int applied;
    assert_int_equal(eim_migrations_apply(dsn, eim_migrations, eim_migration_count, &applied, error,
                                          sizeof(error)),
                     EIM_OK);
    return dsn;
}

static void test_live_ready_metrics_and_sigterm(void **state)
{
    (void)state;
    char *dsn = migrated_db("serve_basic");
    eimd_t e;
    eimd_prepare(&e, dsn, NULL);
    eimd_start(&e);
    char body[65536];
    if (test_http_wait_status(e.port, "/livez", 200, 10000) != 200)
        dump_log(&e);
    assert_int_equal(test_http_get(e.port, "/livez", body, sizeof(body)), 200);
    assert_string_equal(body, "{\"status\":\"alive\"}");
    assert_int_equal(test_http_wait_status(e.port, "/readyz", 200, 10000), 200);
    assert_int_equal(test_http_get(e.port, "/readyz", body, sizeof(body)), 200);
    char expected[128];
    snprintf(expected, sizeof(expected), "\"schema_version\":%d", eim_migrations_latest());
    assert_non_null(strstr(body, expected));
    assert_int_equal(test_http_get(e.port, "/metrics", body, sizeof(body)), 200);
    assert_non_null(strstr(body, "# TYPE eimd_build_info counter\neimd_build_info{version=\""));
    assert_non_null(strstr(body, "\neimd_uptime_seconds "));
    assert_non_null(strstr(body, "\neimd_db_ready 1\n"));
    assert_int_equal(test_http_get(e.port, "/nope", NULL, 0), 404);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(e.pid, SIGTERM);
    int code = test_wait(e.pid, 4000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (code != 0)
        dump_log(&e);
    assert_int_equal(code, 0);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(seconds < 3.5); /* deadline 3 s */
    char *log = test_read_file(e.log);
    assert_non_null(strstr(log, "\"msg\":\"shutting down\",\"signal\":\"SIGTERM\""));
    assert_non_null(strstr(log, "\"msg\":\"eimd stopped\""));
    free(log);
    e.pid = 0;
    eimd_cleanup(&e);
    free(dsn);
}

static void test_readiness_follows_database(void **state)
{
    (void)state;
    char *dsn = migrated_db("serve_db_down");
    eimd_t e;
    eimd_prepare(&e, dsn, NULL);
    eimd_start(&e);
    assert_int_equal(test_http_wait_status(e.port, "/readyz", 200, 10000), 200);

    test_pg_cluster("stop");
    int status = test_http_wait_status(e.port, "/readyz", 503, 10000);
    char body[4096];
    test_http_get(e.port, "/readyz", body, sizeof(body));
    test_pg_cluster("start");
    assert_int_equal(status, 503);
    assert_non_null(strstr(body, "\"reason\":\"database unreachable\""));
    assert_int_equal(test_http_get(e.port, "/livez", NULL, 0), 200);

    status = test_http_wait_status(e.port, "/readyz", 200, 20000);
    if (status != 200)
        dump_log(&e);
    assert_int_equal(status, 200);
    assert_int_equal(test_wait(e.pid, 0), -1); /* still the same process */
    kill(e.pid, SIGTERM);
    assert_int_equal(test_wait(e.pid, 5000), 0);
    e.pid = 0;
    eimd_cleanup(&e);
    free(dsn);
}

static void test_refuses_old_schema(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("serve_old_schema");
    eimd_t e;
    eimd_prepare(&e, dsn, NULL);
    int code = eimd_run(&e, "serve", 10000);
    char *log = test_read_file(e.log);
    assert_int_equal(code, 78);
    assert_non_null(strstr(log, "schema is older than this build"));
    free(log);
    eimd_cleanup(&e);
    free(dsn);
}

static void test_migrate_on_start(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("serve_migrate_start");
    const char *extra[] = {"EIMD_DATABASE_MIGRATE_ON_START=true", NULL};
    eimd_t e;
    eimd_prepare(&e, dsn, extra);
    eimd_start(&e);
    assert_int_equal(test_http_wait_status(e.port, "/readyz", 200, 10000), 200);
    char *version = test_pg_query_value(dsn, "SELECT max(version) FROM schema_migrations");
    assert_int_equal(atoi(version), eim_migrations_latest());
    free(version);
    kill(e.pid, SIGINT);
    assert_int_equal(test_wait(e.pid, 5000), 0);
    e.pid = 0;
    eimd_cleanup(&e);
    free(dsn);
}

static void test_invalid_configuration_stops_startup(void **state)
{
    (void)state;
    const char *extra[] = {"EIMD_ADMIN_MAX_CONNECTIONS=0", NULL};
    eimd_t e;
    eimd_prepare(&e, "postgresql://nobody@127.0.0.1:1/none", extra);
    int code = eimd_run(&e, "serve", 5000);
    char *log = test_read_file(e.log);
    assert_int_equal(code, 78);
    assert_non_null(strstr(log, "EIMD_ADMIN_MAX_CONNECTIONS: 0 is out of range"));
    free(log);
    eimd_cleanup(&e);
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_ready_metrics_and_sigterm),
        cmocka_unit_test(test_readiness_follows_database),
        cmocka_unit_test(test_refuses_old_schema),
        cmocka_unit_test(test_migrate_on_start),
        cmocka_unit_test(test_invalid_configuration_stops_startup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
