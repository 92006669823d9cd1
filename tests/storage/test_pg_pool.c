/*
 * The non-blocking pool against the real test PostgreSQL: queries with
 * parameters, SQL errors carried back, fail-fast when the database is
 * unreachable (callbacks never run inside eim_pg_query), readiness by schema
 * version, FIFO completion under load, and closing with work queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "storage/migrations.h"
#include "storage/pg_pool.h"
#include "tests/support/support.h"

typedef struct {
    int calls;
    eim_err_t err;
    char value[256];
    char sqlstate[8];
    int order[64];
    int done;
} outcome_t;

static void on_result(eim_err_t err, const PGresult *res, void *ctx)
{
    outcome_t *o = ctx;
    o->calls++;
    o->err = err;
    if (!err && PQntuples(res) > 0)
        snprintf(o->value, sizeof(o->value), "%s", PQgetvalue(res, 0, 0));
    if (err == EIM_ERR_DB && res)
        snprintf(o->sqlstate, sizeof(o->sqlstate), "%s", PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

static eim_pg_pool_t *start(uv_loop_t *loop, const char *dsn, int size)
{
    eim_pg_pool_options_t options = {
        .dsn = dsn,
        .size = size,
        .connect_timeout_ms = 2000,
        .reconnect_min_ms = 50,
        .reconnect_max_ms = 200,
        .health_interval_ms = 100,
        .max_queued = 1000,
        .expected_schema_version = eim_migrations_latest(),
    };
    return eim_pg_pool_start(loop, &options);
}

/* Runs the loop until pred(ctx) or about timeout_ms. */
static bool run_until(uv_loop_t *loop, bool (*pred)(void *), void *ctx, int timeout_ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)timeout_ms * 1000000ull;
    while (!pred(ctx) && uv_hrtime() < end)
        uv_run(loop, UV_RUN_ONCE);
    return pred(ctx);
}

static bool pool_ready(void *ctx)
{
    return eim_pg_pool_ready(ctx);
}

static bool pool_schema_known(void *ctx)
{
    return eim_pg_pool_schema_version(ctx) >= 0;
}

static bool one_call(void *ctx)
{
    return ((outcome_t *)ctx)->calls >= 1;
}

static void close_pool(uv_loop_t *loop, eim_pg_pool_t *pool)
{
    eim_pg_pool_close(pool, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_query_and_errors(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("pool_query");
    char error[256];
    assert_int_equal(
        eim_migrations_apply(dsn, eim_migrations, eim_migration_count, NULL, error, sizeof(error)),
        EIM_OK);
    uv_loop_t loop;
    uv_loop_init(&loop);
    eim_pg_pool_t *pool = start(&loop, dsn, 2);
    assert_true(run_until(&loop, pool_ready, pool, 5000));
    assert_string_equal(eim_pg_pool_status(pool), "ready");

    outcome_t o = {0};
    const char *params[] = {"20", "22"};
    eim_pg_query(pool, "SELECT $1::int + $2::int", 2, params, on_result, &o);
    assert_int_equal(o.calls, 0);
    assert_true(run_until(&loop, one_call, &o, 5000));
    assert_int_equal(o.err, EIM_OK);
    assert_string_equal(o.value, "42");

    outcome_t bad = {0};
    eim_pg_query(pool, "SELECT * FROM missing_table", 0, NULL, on_result, &bad);
    assert_true(run_until(&loop, one_call, &bad, 5000));
    assert_int_equal(bad.err, EIM_ERR_DB);
    assert_string_equal(bad.sqlstate, "42P01");
    close_pool(&loop, pool);
    free(dsn);
}

typedef struct {
    outcome_t *o;
    int index;
} order_ctx_t;

static void on_ordered(eim_err_t err, const PGresult *res, void *ctx)
{
    order_ctx_t *c = ctx;
    (void)res;
    if (!err)
        c->o->order[c->o->done] = c->index;
    c->o->done++;
}

static bool all_done(void *ctx)
{
    return ((outcome_t *)ctx)->done == 64;
}

/* With one connection, queued queries complete in submission order. */
static void test_fifo_under_load(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("pool_fifo");
    uv_loop_t loop;
    uv_loop_init(&loop);
    eim_pg_pool_t *pool = start(&loop, dsn, 1);
    assert_true(run_until(&loop, pool_schema_known, pool, 5000));
    outcome_t o = {0};
    order_ctx_t ctx[64];
    for (int i = 0; i < 64; i++) {
        ctx[i] = (order_ctx_t){&o, i};
        eim_pg_query(pool, "SELECT pg_sleep(0.001)", 0, NULL, on_ordered, &ctx[i]);
    }
    assert_int_equal(eim_pg_pool_in_flight(pool), 64);
    assert_true(run_until(&loop, all_done, &o, 20000));
    for (int i = 0; i < 64; i++)
        assert_int_equal(o.order[i], i);
    assert_int_equal(eim_pg_pool_in_flight(pool), 0);
    close_pool(&loop, pool);
    free(dsn);
}

static void test_not_ready_until_migrated(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("pool_schema");
    uv_loop_t loop;
    uv_loop_init(&loop);
    eim_pg_pool_t *pool = start(&loop, dsn, 1);
    assert_true(run_until(&loop, pool_schema_known, pool, 5000));
    assert_false(eim_pg_pool_ready(pool));
    assert_string_equal(eim_pg_pool_status(pool), "schema not migrated");
    char error[256];
    assert_int_equal(
        eim_migrations_apply(dsn, eim_migrations, eim_migration_count, NULL, error, sizeof(error)),
        EIM_OK);
    assert_true(run_until(&loop, pool_ready, pool, 5000));
    assert_int_equal(eim_pg_pool_schema_version(pool), eim_migrations_latest());
    close_pool(&loop, pool);
    free(dsn);
}

static void test_unreachable_fails_fast(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    eim_pg_pool_t *pool = start(&loop, "postgresql://eimd@127.0.0.1:1/none", 2);
    outcome_t o = {0};
    eim_pg_query(pool, "SELECT 1", 0, NULL, on_result, &o);
    assert_int_equal(o.calls, 0); /* never inside the call */
    uint64_t t0 = uv_hrtime();
    assert_true(run_until(&loop, one_call, &o, 2000));
    assert_true(uv_hrtime() - t0 < 1000000000ull);
    assert_int_equal(o.err, EIM_ERR_DB_UNAVAILABLE);
    assert_false(eim_pg_pool_ready(pool));
    assert_string_equal(eim_pg_pool_status(pool), "database unreachable");
    close_pool(&loop, pool);
}

static void test_close_with_queued_work(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("pool_close");
    uv_loop_t loop;
    uv_loop_init(&loop);
    eim_pg_pool_t *pool = start(&loop, dsn, 1);
    assert_true(run_until(&loop, pool_schema_known, pool, 5000));
    outcome_t a = {0}, b = {0};
    eim_pg_query(pool, "SELECT pg_sleep(0.2)", 0, NULL, on_result, &a);
    eim_pg_query(pool, "SELECT 1", 0, NULL, on_result, &b);
    eim_pg_pool_close(pool, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.err, EIM_ERR_DB_UNAVAILABLE);
    assert_int_equal(b.err, EIM_ERR_DB_UNAVAILABLE);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(dsn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_and_errors),
        cmocka_unit_test(test_fifo_under_load),
        cmocka_unit_test(test_not_ready_until_migrated),
        cmocka_unit_test(test_unreachable_fails_fast),
        cmocka_unit_test(test_close_with_queued_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
