/*
 * Several processes on one database (tests/storage/queue_driver.c): three
 * instances work through 1000 operations on 40 devices concurrently; then a
 * busy run where instances are killed with SIGKILL at random moments and
 * restarted. Afterwards the invariants are checked in SQL over the audit
 * trail: nothing lost (every operation DONE), no (EID, counter) delivered
 * twice, counters rising per device in delivery order, at most one package
 * in flight per device at any time, each operation delivered once and its
 * result applied once, and every device's counter equal to the last one
 * handed out.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "tests/storage/queue_test_util.h"
#include "tests/support/support.h"

#define DEVICES        40
#define OPS_PER_DEVICE 25

static long sql_long(const char *dsn, const char *sql)
{
    char *v = test_pg_query_value(dsn, sql);
    assert_non_null(v);
    long n = atol(v);
    free(v);
    return n;
}

static char *setup(const char *prefix)
{
    char *dsn = test_pg_create_db(prefix);
    qt_setup_db(dsn, DEVICES, 100);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "WITH ins AS (INSERT INTO operations (eid, kind, parameters) "
             "SELECT eid, 'psmo', jsonb_build_object('n', n) FROM euiccs, generate_series(1, %d) n "
             "RETURNING id) SELECT count(*) FROM ins",
             OPS_PER_DEVICE);
    char *v = test_pg_query_value(dsn, sql);
    assert_non_null(v);
    assert_int_equal(atoi(v), DEVICES * OPS_PER_DEVICE);
    free(v);
    return dsn;
}

static pid_t spawn(const char *dsn, int i)
{
    char path[512], name[32], devices[16];
    snprintf(path, sizeof(path), "%s/tests/storage/queue_driver", EIMD_BINARY_DIR);
    snprintf(name, sizeof(name), "driver-%d", i);
    snprintf(devices, sizeof(devices), "%d", DEVICES);
    char *argv[] = {path, (char *)dsn, name, devices, "60", NULL};
    char *env[] = {"ASAN_OPTIONS=detect_leaks=0", NULL};
    pid_t pid = test_spawn(argv, env, "/dev/null");
    assert_true(pid > 0);
    return pid;
}

static void check_invariants(const char *dsn)
{
    /* nothing lost */
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM operations WHERE state <> 'DONE'"), 0);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM operations"), DEVICES * OPS_PER_DEVICE);
    /* no counter handed out twice for a device */
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM (SELECT eid, counter_value "
                                   "FROM operation_audit WHERE to_state = 'DELIVERED' "
                                   "AND from_state = 'QUEUED' GROUP BY 1, 2 "
                                   "HAVING count(*) > 1) d"),
                     0);
    /* counters rise in delivery order */
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM (SELECT counter_value, "
                                   "lag(counter_value) OVER (PARTITION BY eid ORDER BY id) p "
                                   "FROM operation_audit WHERE from_state = 'QUEUED' "
                                   "AND to_state = 'DELIVERED') x WHERE counter_value <= p"),
                     0);
    /* one in flight: between two deliveries of a device, the earlier one got its result */
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM (SELECT to_state, lag(to_state) "
                                   "OVER (PARTITION BY eid ORDER BY id) p FROM operation_audit "
                                   "WHERE (from_state = 'QUEUED' AND to_state = 'DELIVERED') "
                                   "OR (from_state = 'DELIVERED' AND to_state <> 'DELIVERED')) x "
                                   "WHERE to_state = 'DELIVERED' AND p = 'DELIVERED'"),
                     0);
    /* each operation delivered once (no ecall here) and its result applied once */
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM (SELECT operation_id FROM "
                                   "operation_audit WHERE to_state = 'DELIVERED' GROUP BY 1 "
                                   "HAVING count(*) <> 1) x"),
                     0);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM (SELECT operation_id FROM "
                                   "operation_audit WHERE to_state = 'RESULT_OK' GROUP BY 1 "
                                   "HAVING count(*) <> 1) x"),
                     0);
    /* the device counter is the last one used; each op kept its counter */
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM euiccs e WHERE counter_value <> "
                                   "(SELECT max(counter_value) FROM operations o "
                                   "WHERE o.eid = e.eid)"),
                     0);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM euiccs WHERE counter_value <> 100 + 25"),
                     0);
}

static void test_three_instances(void **state)
{
    (void)state;
    char *dsn = setup("queue_multi");
    pid_t pids[3];
    for (int i = 0; i < 3; i++)
        pids[i] = spawn(dsn, i);
    for (int i = 0; i < 3; i++)
        assert_int_equal(test_wait(pids[i], 90000), 0);
    check_invariants(dsn);
    /* all three really worked */
    assert_int_equal(sql_long(dsn, "SELECT count(DISTINCT actor) FROM operation_audit "
                                   "WHERE to_state = 'DELIVERED'"),
                     3);
    free(dsn);
}

static void test_sigkill_and_restart(void **state)
{
    (void)state;
    char *dsn = setup("queue_crash");
    pid_t pids[3];
    int next = 3;
    for (int i = 0; i < 3; i++)
        pids[i] = spawn(dsn, i);
    srand((unsigned)getpid());
    int kills = 0;
    for (int round = 0; round < 8; round++) {
        usleep((useconds_t)(150000 + rand() % 400000));
        int victim = rand() % 3;
        if (kill(pids[victim], SIGKILL) == 0) {
            int rc = test_wait(pids[victim], 10000);
            if (rc == 128 + SIGKILL)
                kills++;
        }
        pids[victim] = spawn(dsn, next++);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(test_wait(pids[i], 90000), 0);
    assert_true(kills >= 1); /* at least one died mid-run */
    check_invariants(dsn);
    free(dsn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_instances),
        cmocka_unit_test(test_sigkill_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
