/*
 * storage/queue while PostgreSQL goes away and comes back (issue 4,
 * "If PostgreSQL goes away"): calls that need the database fail fast with
 * the retryable EIM_ERR_DB_UNAVAILABLE instead of hanging, polls are no
 * longer answered "nothing" from a pending set that can no longer be kept
 * coherent, the pool reconnects with back-off on its own, and what was
 * committed before the outage (a delivered package with its counter) is
 * all still there: the same bytes are handed out again and the result
 * applies once.
 *
 * Stops and restarts the shared test cluster: RUN_SERIAL (CMakeLists.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/storage/queue_test_util.h"
#include "tests/support/support.h"

#define FAIL_FAST_MS 3000 /* a call during the outage completes within this */

static uint64_t ms_since(uint64_t start_ns)
{
    return (uv_hrtime() - start_ns) / 1000000u;
}

static void test_outage_fails_fast_and_recovers(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("queue_outage");
    qt_setup_db(dsn, 3, 10);
    qt_env_t env;
    assert_true(qt_start(&env, dsn, 2, "test"));
    char eid0[33], eid1[33], eid2[33], op0[40], op1[40];
    qt_eid(0, eid0);
    qt_eid(1, eid1);
    qt_eid(2, eid2);
    eim_queue_op_spec_t spec0 = {.eid = eid0, .kind = "psmo"};
    eim_queue_op_spec_t spec1 = {.eid = eid1, .kind = "psmo"};
    bool created = false;
    assert_int_equal(qt_enqueue(&env, &spec0, op0, &created), EIM_OK);
    assert_int_equal(qt_enqueue(&env, &spec1, op1, &created), EIM_OK);
    /* committed before the outage: eid0's package is delivered (counter 11) */
    qt_poll_t before = qt_poll(&env, eid0);
    assert_int_equal(before.err, EIM_OK);
    assert_false(before.nothing);
    assert_int_equal(before.counter, 11);

    test_pg_cluster("stop");
    /* wait (bounded) until the pool has noticed */
    bool never = false;
    for (int i = 0; i < 200 && eim_pg_pool_ready(env.pool); i++)
        qt_run_until(&env, &never, 50);
    assert_false(eim_pg_pool_ready(env.pool));
    assert_false(eim_queue_pending_known(env.queue));

    /* every call fails fast with the retryable status */
    uint64_t t0 = uv_hrtime();
    qt_poll_t p = qt_poll(&env, eid1);
    assert_true(ms_since(t0) < FAIL_FAST_MS);
    assert_int_equal(p.err, EIM_ERR_DB_UNAVAILABLE);
    /* an idle device is not told "nothing" from a set that may be stale */
    t0 = uv_hrtime();
    p = qt_poll(&env, eid2);
    assert_false(p.from_memory);
    assert_int_equal(p.err, EIM_ERR_DB_UNAVAILABLE);
    assert_true(ms_since(t0) < FAIL_FAST_MS);

    t0 = uv_hrtime();
    char op2[40];
    eim_queue_op_spec_t spec2 = {.eid = eid2, .kind = "psmo"};
    assert_int_equal(qt_enqueue(&env, &spec2, op2, &created), EIM_ERR_DB_UNAVAILABLE);
    assert_true(ms_since(t0) < FAIL_FAST_MS);

    t0 = uv_hrtime();
    eim_err_t err = EIM_OK;
    static const uint8_t raw[] = {0xBF, 0x51, 0x00};
    eim_queue_result_t r = {
        .eid = eid0,
        .transaction_id = before.txid,
        .transaction_id_len = 16,
        .has_counter = true,
        .counter_value = 11,
        .has_seq_number = true,
        .seq_number = 5,
        .raw = raw,
        .raw_len = sizeof(raw),
        .ack_in_response = true,
    };
    qt_result(&env, &r, &err);
    assert_int_equal(err, EIM_ERR_DB_UNAVAILABLE);
    assert_true(ms_since(t0) < FAIL_FAST_MS);

    /* still down a while later: the pool keeps retrying with back-off and
     * calls keep failing fast (nothing piles up) */
    qt_run_until(&env, &never, 1200);
    assert_int_equal(eim_pg_pool_in_flight(env.pool), 0);
    p = qt_poll(&env, eid1);
    assert_int_equal(p.err, EIM_ERR_DB_UNAVAILABLE);

    test_pg_cluster("start");
    /* the pool reconnects by itself and the pending set becomes known again */
    for (int i = 0; i < 400 && !(eim_pg_pool_ready(env.pool) && eim_queue_pending_known(env.queue));
         i++)
        qt_run_until(&env, &never, 50);
    assert_true(eim_pg_pool_ready(env.pool));
    assert_true(eim_queue_pending_known(env.queue));

    /* nothing committed was lost: same bytes, same counter, then the result */
    qt_poll_t again = qt_poll(&env, eid0);
    assert_int_equal(again.err, EIM_OK);
    assert_true(again.redelivery);
    assert_int_equal(again.counter, 11);
    assert_int_equal(again.package_len, before.package_len);
    assert_memory_equal(again.package, before.package, before.package_len);
    assert_int_equal(qt_result(&env, &r, &err), EIM_QUEUE_RESULT_APPLIED);
    assert_int_equal(err, EIM_OK);
    assert_int_equal(qt_result(&env, &r, &err), EIM_QUEUE_RESULT_DUPLICATE);
    /* eid1's queued operation is still there and delivers with its counter */
    qt_poll_t p1 = qt_poll(&env, eid1);
    assert_int_equal(p1.err, EIM_OK);
    assert_string_equal(p1.op_id, op1);
    assert_int_equal(p1.counter, 11);
    /* the failed enqueue left nothing behind; the counters moved once each */
    char *v = test_pg_query_value(dsn, "SELECT count(*) FROM operations WHERE eid LIKE '%2'");
    assert_string_equal(v, "0");
    free(v);
    v = test_pg_query_value(dsn, "SELECT string_agg(counter_value::text, ',' ORDER BY eid) "
                                 "FROM euiccs");
    assert_string_equal(v, "11,11,10");
    free(v);
    qt_stop(&env);
    free(dsn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outage_fails_fast_and_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
