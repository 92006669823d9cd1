/*
 * Migrations: validation of the list (ordering and names), and against the
 * real test PostgreSQL: applied once, idempotent, a failing migration rolls
 * back and stops the run, and two `eimd migrate` processes started together
 * both succeed while each migration is applied exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/migrations.h"
#include "tests/support/support.h"

static const eim_migration_t good[] = {
    {1, "0001_first", "CREATE TABLE t1 (id int)"},
    {2, "0002_second", "CREATE TABLE t2 (id int); INSERT INTO t2 VALUES (42)"},
    {3, "0003_third", "ALTER TABLE t1 ADD COLUMN name text"},
};

static void expect_invalid(const eim_migration_t *list, size_t n, const char *must_contain)
{
    char error[256] = "";
    assert_int_equal(eim_migrations_validate(list, n, error, sizeof(error)), EIM_ERR_INVALID_ARG);
    if (!strstr(error, must_contain))
        fail_msg("\"%s\" does not mention \"%s\"", error, must_contain);
}

static void test_embedded_list_is_valid(void **state)
{
    (void)state;
    char error[256];
    assert_true(eim_migration_count >= 1);
    assert_int_equal(
        eim_migrations_validate(eim_migrations, eim_migration_count, error, sizeof(error)), EIM_OK);
    assert_int_equal(eim_migrations_latest(), eim_migrations[eim_migration_count - 1].version);
    assert_null(eim_migrations[eim_migration_count].name); /* terminator */
}

static void test_ordering_rules(void **state)
{
    (void)state;
    char error[256];
    assert_int_equal(eim_migrations_validate(good, 3, error, sizeof(error)), EIM_OK);
    /* numbers reserved by parallel branches leave gaps */
    const eim_migration_t gap[] = {{1, "0001_a", "SELECT 1"}, {3, "0003_c", "SELECT 1"}};
    assert_int_equal(eim_migrations_validate(gap, 2, error, sizeof(error)), EIM_OK);
    const eim_migration_t zero[] = {{0, "0000_z", "SELECT 1"}};
    expect_invalid(zero, 1, "expected a version above 0");
    const eim_migration_t swapped[] = {{2, "0002_b", "SELECT 1"}, {1, "0001_a", "SELECT 1"}};
    expect_invalid(swapped, 2, "expected a version above 2");
    const eim_migration_t dup[] = {{1, "0001_a", "SELECT 1"}, {1, "0001_b", "SELECT 1"}};
    expect_invalid(dup, 2, "expected a version above 1");
    const eim_migration_t misnamed[] = {{1, "0002_a", "SELECT 1"}};
    expect_invalid(misnamed, 1, "name must be \"0001_<name>\"");
    const eim_migration_t no_name[] = {{1, "0001_", "SELECT 1"}};
    expect_invalid(no_name, 1, "name must be");
    const eim_migration_t upper[] = {{1, "0001_Add", "SELECT 1"}};
    expect_invalid(upper, 1, "[a-z0-9_]");
    const eim_migration_t empty[] = {{1, "0001_a", ""}};
    expect_invalid(empty, 1, "empty");
}

static int count_rows(const char *dsn, const char *sql)
{
    char *v = test_pg_query_value(dsn, sql);
    assert_non_null(v);
    int n = atoi(v);
    free(v);
    return n;
}

static void test_apply_once_and_idempotent(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("migr_once");
    char error[256];
    int applied = -1, version = -1;
    assert_int_equal(eim_migrations_current(dsn, &version, error, sizeof(error)), EIM_OK);
    assert_int_equal(version, 0);
    assert_int_equal(eim_migrations_apply(dsn, good, 2, &applied, error, sizeof(error)), EIM_OK);
    assert_int_equal(applied, 2);
    assert_int_equal(eim_migrations_apply(dsn, good, 2, &applied, error, sizeof(error)), EIM_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(count_rows(dsn, "SELECT count(*) FROM t2"), 1); /* not re-run */
    /* a newer build brings migration 3: only that one runs */
    assert_int_equal(eim_migrations_apply(dsn, good, 3, &applied, error, sizeof(error)), EIM_OK);
    assert_int_equal(applied, 1);
    assert_int_equal(eim_migrations_current(dsn, &version, error, sizeof(error)), EIM_OK);
    assert_int_equal(version, 3);
    assert_int_equal(count_rows(dsn, "SELECT count(*) FROM schema_migrations WHERE name = "
                                     "'0003_third' AND applied_at <= now()"),
                     1);
    free(dsn);
}

static void test_failure_rolls_back_and_stops(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("migr_fail");
    const eim_migration_t list[] = {
        {1, "0001_ok", "CREATE TABLE ok_table (id int)"},
        {2, "0002_broken", "CREATE TABLE half (id int); SELECT * FROM no_such_table"},
        {3, "0003_never", "CREATE TABLE never (id int)"},
    };
    char error[256];
    int applied = -1;
    assert_int_equal(eim_migrations_apply(dsn, list, 3, &applied, error, sizeof(error)),
                     EIM_ERR_DB);
    assert_int_equal(applied, 1);
    assert_non_null(strstr(error, "0002_broken"));
    assert_non_null(strstr(error, "no_such_table"));
    assert_int_equal(count_rows(dsn, "SELECT max(version) FROM schema_migrations"), 1);
    assert_int_equal(count_rows(dsn, "SELECT count(*) FROM pg_tables WHERE tablename IN "
                                     "('half', 'never')"),
                     0);
    free(dsn);
}

static void test_unreachable_database(void **state)
{
    (void)state;
    char error[256];
    int applied;
    assert_int_equal(eim_migrations_apply("postgresql://eimd@127.0.0.1:1/none?connect_timeout=2",
                                          good, 1, &applied, error, sizeof(error)),
                     EIM_ERR_DB_UNAVAILABLE);
    assert_non_null(strstr(error, "cannot connect"));
}

/* Two `eimd migrate` processes at once: both exit 0, each migration once. */
static void test_concurrent_migrate_processes(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        char *dsn = test_pg_create_db("migr_race");
        char env[600];
        snprintf(env, sizeof(env), "EIMD_DATABASE_DSN=%s", dsn);
        char *envp[] = {env, NULL};
        char *argv[] = {(char *)test_eimd_path(), "migrate", NULL};
        pid_t a = test_spawn(argv, envp, "/dev/null");
        pid_t b = test_spawn(argv, envp, "/dev/null");
        assert_int_equal(test_wait(a, 20000), 0);
        assert_int_equal(test_wait(b, 20000), 0);
        assert_int_equal(count_rows(dsn, "SELECT count(*) FROM schema_migrations"),
                         (int)eim_migration_count);
        assert_int_equal(count_rows(dsn, "SELECT count(DISTINCT version) FROM schema_migrations"),
                         (int)eim_migration_count);
        free(dsn);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_list_is_valid),
        cmocka_unit_test(test_ordering_rules),
        cmocka_unit_test(test_apply_once_and_idempotent),
        cmocka_unit_test(test_failure_rolls_back_and_stops),
        cmocka_unit_test(test_unreachable_database),
        cmocka_unit_test(test_concurrent_migrate_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
