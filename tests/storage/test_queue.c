/*
 * storage/queue against the real PostgreSQL: delivery allocates counter c+1
 * and stores the package before handing it out, a re-poll gets the same
 * bytes, results are idempotent, acknowledgements finish operations,
 * priority/FIFO order, ecallActive back-off with a fresh counter,
 * replayError schedules a BF52 fetch, notifyStateChange schedules an
 * inventory, cancel/expiry are audited, idempotent and bulk enqueue, list
 * pagination, and the pending-EID set (memory answers, NOTIFY from another
 * instance).
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

static long sql_long(const char *dsn, const char *sql)
{
    char *v = test_pg_query_value(dsn, sql);
    assert_non_null(v);
    long n = atol(v);
    free(v);
    return n;
}

static void enqueue_psmo(qt_env_t *env, const char *eid, int priority, char op_id[40])
{
    eim_queue_op_spec_t spec = {.eid = eid,
                                .kind = "psmo",
                                .priority = priority,
                                .parameters = "{\"psmos\": [{\"enable\": {}}]}"};
    bool created = false;
    assert_int_equal(qt_enqueue(env, &spec, op_id, &created), EIM_OK);
    assert_true(created);
}

static void test_delivery_cycle(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("queue_cycle");
    qt_setup_db(dsn, 2, 41);
    qt_env_t env;
    assert_true(qt_start(&env, dsn, 2, "test"));
    char eid[33], op[40];
    qt_eid(0, eid);

    /* nothing queued: answered from memory, the builder is never called */
    qt_poll_t none = qt_poll(&env, eid);
    assert_true(none.nothing && none.from_memory);

    enqueue_psmo(&env, eid, 0, op);
    qt_poll_t p = qt_poll(&env, eid);
    assert_int_equal(p.err, EIM_OK);
    assert_false(p.nothing);
    assert_false(p.redelivery);
    assert_string_equal(p.op_id, op);
    assert_int_equal(p.counter, 42);
    char peid[33], pop[40];
    uint64_t pcounter;
    uint8_t ptxid[16];
    assert_true(qt_parse_package(p.package, p.package_len, peid, &pcounter, ptxid, pop));
    assert_int_equal(pcounter, 42);
    assert_memory_equal(ptxid, p.txid, 16);
    /* committed before it was handed out */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM operations o JOIN euiccs e USING (eid) WHERE o.id = '%s' "
             "AND o.state = 'DELIVERED' AND o.counter_value = 42 AND e.counter_value = 42 "
             "AND length(o.package) = %zu",
             op, p.package_len);
    assert_int_equal(sql_long(dsn, sql), 1);

    /* a re-poll returns exactly the same bytes, no new counter */
    qt_poll_t again = qt_poll(&env, eid);
    assert_true(again.redelivery);
    assert_int_equal(again.package_len, p.package_len);
    assert_memory_equal(again.package, p.package, p.package_len);
    assert_int_equal(env.builds, 1);
    assert_int_equal(sql_long(dsn, "SELECT counter_value FROM euiccs WHERE eid LIKE '%0000'"), 42);

    /* result, then the same result again */
    assert_int_equal(qt_result_ok(&env, eid, &p, 7), EIM_QUEUE_RESULT_APPLIED);
    assert_int_equal(qt_result_ok(&env, eid, &p, 7), EIM_QUEUE_RESULT_DUPLICATE);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM operation_audit WHERE operation_id = '%s' "
             "AND to_state = 'RESULT_OK'",
             op);
    assert_int_equal(sql_long(dsn, sql), 1);

    /* acknowledgements: seq 7 until sent, then DONE */
    size_t count = 0;
    uint64_t seq = 7;
    assert_int_equal(qt_acks_sent(&env, eid, &seq, 1, &count), EIM_OK);
    assert_int_equal(count, 1);
    assert_int_equal(qt_acks_sent(&env, eid, &seq, 1, &count), EIM_OK);
    assert_int_equal(count, 0);
    snprintf(sql, sizeof(sql), "SELECT state FROM operations WHERE id = '%s'", op);
    char *st = test_pg_query_value(dsn, sql);
    assert_string_equal(st, "DONE");
    free(st);

    /* device now idle again: its entry leaves the set after one DB poll */
    qt_poll_t idle = qt_poll(&env, eid);
    assert_true(idle.nothing);
    qt_poll_t idle2 = qt_poll(&env, eid);
    assert_true(idle2.nothing && idle2.from_memory);

    /* a result for an unknown transaction id */
    qt_poll_t fake = p;
    fake.txid[0] ^= 0xFF;
    assert_int_equal(qt_result_ok(&env, eid, &fake, 8), EIM_QUEUE_RESULT_NOT_FOUND);
    qt_stop(&env);
    free(dsn);
}

/* Many devices polling and answering at once: their reads, deliveries and
 * results share statements (batches), yet each device gets its own counter
 * and bytes; a result acknowledged in its own response goes straight to
 * DONE with both steps audited; the same result again is a duplicate. */
typedef struct {
    int left;
    eim_queue_package_t pkgs[40];
    uint8_t txids[40][16];
    eim_queue_result_status_t status[40];
} many_t;

typedef struct {
    many_t *m;
    int i;
} many_slot_t;

static void on_many_poll(eim_err_t err, const eim_queue_package_t *pkg, void *ctx)
{
    many_slot_t *s = ctx;
    assert_int_equal(err, EIM_OK);
    assert_non_null(pkg);
    s->m->pkgs[s->i].counter_value = pkg->counter_value;
    memcpy(s->m->txids[s->i], pkg->transaction_id, 16);
    s->m->left--;
}

static void on_many_result(eim_err_t err, eim_queue_result_status_t status, const char *op_id,
                           void *ctx)
{
    many_slot_t *s = ctx;
    (void)op_id;
    assert_int_equal(err, EIM_OK);
    s->m->status[s->i] = status;
    s->m->left--;
}

static void test_batched_cycle_ack_in_response(void **state)
{
    (void)state;
    enum { N = 40 };
    char *dsn = test_pg_create_db("queue_batch");
    qt_setup_db(dsn, N, 100);
    qt_env_t env;
    assert_true(qt_start(&env, dsn, 2, "test"));
    char eids[N][33], op[40];
    for (int i = 0; i < N; i++) {
        qt_eid(i, eids[i]);
        enqueue_psmo(&env, eids[i], 0, op);
    }
    static many_t m;
    memset(&m, 0, sizeof(m));
    many_slot_t slots[N];
    m.left = N;
    for (int i = 0; i < N; i++) {
        slots[i] = (many_slot_t){.m = &m, .i = i};
        uint8_t eid[EIM_EID_LEN];
        assert_true(eim_eid_parse(eids[i], eid));
        assert_int_equal(eim_queue_next_package(env.queue, eid, on_many_poll, &slots[i]),
                         EIM_QUEUE_POLL_ASYNC);
    }
    bool never = false;
    for (int k = 0; k < 1000 && m.left > 0; k++)
        qt_run_until(&env, &never, 10);
    assert_int_equal(m.left, 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(m.pkgs[i].counter_value, 101);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM euiccs WHERE counter_value = 101"), N);

    static const uint8_t raw[] = {0xBF, 0x51, 0x00};
    for (int round = 0; round < 2; round++) {
        m.left = N;
        for (int i = 0; i < N; i++) {
            eim_queue_result_t r = {
                .eid = eids[i],
                .transaction_id = m.txids[i],
                .transaction_id_len = 16,
                .has_counter = true,
                .counter_value = 101,
                .has_seq_number = true,
                .seq_number = 9,
                .raw = raw,
                .raw_len = sizeof(raw),
                .decoded_json = "{\"q\": \"a \\\"quoted\\\" value\"}",
                .ack_in_response = true,
            };
            eim_queue_record_result(env.queue, &r, on_many_result, &slots[i]);
        }
        for (int k = 0; k < 1000 && m.left > 0; k++)
            qt_run_until(&env, &never, 10);
        assert_int_equal(m.left, 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(m.status[i],
                             round == 0 ? EIM_QUEUE_RESULT_APPLIED : EIM_QUEUE_RESULT_DUPLICATE);
    }
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM operations WHERE state = 'DONE' "
                                   "AND acknowledged_at IS NOT NULL AND result_seq_number = 9 "
                                   "AND result_decoded->>'q' = 'a \"quoted\" value'"),
                     N);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM operation_audit WHERE "
                                   "(from_state, to_state) IN (('DELIVERED', 'RESULT_OK'), "
                                   "('RESULT_OK', 'DONE'))"),
                     2 * N);
    /* nothing left to acknowledge later */
    size_t count = 9;
    uint64_t seq = 9;
    assert_int_equal(qt_acks_sent(&env, eids[0], &seq, 1, &count), EIM_OK);
    assert_int_equal(count, 0);
    qt_stop(&env);
    free(dsn);
}

static void on_acks(eim_err_t err, const uint64_t *seqs, size_t n, void *ctx)
{
    qt_done_t *w = ctx;
    w->err = err;
    w->count = n;
    if (n > 0)
        w->count = n * 1000 + (size_t)seqs[0];
    w->done = true;
}

static void test_order_ecall_replay_acks(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("queue_order");
    qt_setup_db(dsn, 1, 0);
    qt_env_t env;
    assert_true(qt_start(&env, dsn, 2, "test"));
    char eid[33], low[40], first[40], second[40];
    qt_eid(0, eid);
    enqueue_psmo(&env, eid, 0, low);
    enqueue_psmo(&env, eid, 5, first);
    enqueue_psmo(&env, eid, 5, second);

    /* priority first, FIFO within a priority, one in flight */
    qt_poll_t p1 = qt_poll(&env, eid);
    assert_string_equal(p1.op_id, first);
    assert_int_equal(p1.counter, 1);
    qt_poll_t re = qt_poll(&env, eid);
    assert_string_equal(re.op_id, first);
    assert_true(re.redelivery);

    /* ecallActive: back to QUEUED with back-off, counter stays burnt */
    assert_int_equal(qt_result_error(&env, eid, &p1, 104), EIM_QUEUE_RESULT_REQUEUED);
    qt_poll_t p2 = qt_poll(&env, eid);
    assert_string_equal(p2.op_id, second); /* "first" waits for its back-off */
    assert_int_equal(p2.counter, 2);
    /* a late duplicate of the ecall result changes nothing */
    assert_int_equal(qt_result_error(&env, eid, &p1, 104), EIM_QUEUE_RESULT_NOT_FOUND);

    /* replayError: a BF52 fetch is queued ahead and the op stays DELIVERED */
    assert_int_equal(qt_result_error(&env, eid, &p2, 4), EIM_QUEUE_RESULT_REPLAY_FETCH);
    qt_poll_t fetch = qt_poll(&env, eid);
    assert_false(fetch.nothing);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM operations WHERE id = '%s' AND kind = 'euicc_data_request' "
             "AND caused_by = '%s' AND counter_value IS NULL",
             fetch.op_id, p2.op_id);
    assert_int_equal(sql_long(dsn, sql), 1);
    /* the data request result (no seqNumber) finishes it at once */
    assert_int_equal(qt_result_ok(&env, eid, &fetch, 0), EIM_QUEUE_RESULT_APPLIED);
    /* the stored result of p2, read through BF52, is then recorded for p2 */
    assert_int_equal(qt_result_ok(&env, eid, &p2, 11), EIM_QUEUE_RESULT_APPLIED);

    qt_done_t w = {0};
    eim_queue_acks(env.queue, eid, on_acks, &w);
    qt_wait(&env, &w);
    assert_int_equal(w.err, EIM_OK);
    assert_int_equal(w.count, 1 * 1000 + 11);

    /* "first" still backs off: the low-priority one goes now */
    qt_poll_t lowp = qt_poll(&env, eid);
    assert_string_equal(lowp.op_id, low);
    assert_int_equal(lowp.counter, 3);
    assert_int_equal(qt_result_ok(&env, eid, &lowp, 0), EIM_QUEUE_RESULT_APPLIED);

    /* the back-off of "first" (2 s) passes; it is delivered with a fresh counter */
    qt_poll_t later;
    uint64_t end = uv_hrtime() + 8000000000ull;
    do {
        uv_sleep(100);
        uv_update_time(&env.loop); /* the queue reads the loop's clock */
        later = qt_poll(&env, eid);
    } while (later.nothing && uv_hrtime() < end);
    assert_false(later.nothing);
    assert_string_equal(later.op_id, first);
    assert_int_equal(later.counter, 4);
    assert_int_equal(sql_long(dsn, "SELECT count(DISTINCT counter_value) FROM operation_audit "
                                   "WHERE from_state = 'QUEUED' AND to_state = 'DELIVERED' "
                                   "AND counter_value IS NOT NULL"),
                     4);
    qt_stop(&env);
    free(dsn);
}

typedef struct {
    bool done; /* first members as in qt_done_t for qt_wait */
    eim_err_t err;
    size_t count;
    size_t n;
    char next[128];
    char last[80];
    int distinct_order_ok; /* out-of-order rows seen across pages */
} list_wait_t;

static void on_list(eim_err_t err, const eim_queue_op_t *ops, size_t n, const char *next, void *ctx)
{
    list_wait_t *w = ctx;
    w->err = err;
    w->n = n;
    for (size_t i = 0; i < n; i++) {
        char key[80];
        snprintf(key, sizeof(key), "%s|%s", ops[i].created_at, ops[i].id);
        if (w->last[0] && strcmp(key, w->last) <= 0)
            w->distinct_order_ok++;
        snprintf(w->last, sizeof(w->last), "%s", key);
    }
    snprintf(w->next, sizeof(w->next), "%s", next ? next : "");
    w->done = true;
}

static void test_idempotent_and_bulk_enqueue(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("queue_enqueue");
    qt_setup_db(dsn, 1000, 0);
    qt_env_t env;
    assert_true(qt_start(&env, dsn, 2, "test"));
    char eid[33], a[40], b[40];
    qt_eid(3, eid);
    eim_queue_op_spec_t spec = {.eid = eid, .kind = "psmo", .idempotency_key = "order-1"};
    bool created;
    assert_int_equal(qt_enqueue(&env, &spec, a, &created), EIM_OK);
    assert_true(created);
    assert_int_equal(qt_enqueue(&env, &spec, b, &created), EIM_OK);
    assert_false(created);
    assert_string_equal(a, b);
    spec.tenant = "other"; /* keys are per tenant */
    assert_int_equal(qt_enqueue(&env, &spec, b, &created), EIM_OK);
    assert_true(created);

    eim_queue_op_spec_t unknown = {.eid = "89049032000001009999999999999999", .kind = "psmo"};
    assert_int_equal(qt_enqueue(&env, &unknown, b, NULL), EIM_ERR_NOT_FOUND);
    eim_queue_op_spec_t bad_kind = {.eid = eid, .kind = "nonsense"};
    assert_int_equal(qt_enqueue(&env, &bad_kind, b, NULL), EIM_ERR_INVALID_ARG);
    eim_queue_op_spec_t bad_eid = {.eid = "12", .kind = "psmo"};
    assert_int_equal(qt_enqueue(&env, &bad_eid, b, NULL), EIM_ERR_INVALID_ARG);

    /* bulk: 1000 devices in one statement, keys make a repeat a no-op */
    eim_queue_op_spec_t *specs = calloc(1000, sizeof(*specs));
    char(*eids)[33] = calloc(1000, 33);
    char(*keys)[16] = calloc(1000, 16);
    for (int i = 0; i < 1000; i++) {
        qt_eid(i, eids[i]);
        snprintf(keys[i], 16, "bulk-%d", i);
        specs[i] =
            (eim_queue_op_spec_t){.eid = eids[i], .kind = "psmo", .idempotency_key = keys[i]};
    }
    qt_done_t w = {0};
    eim_queue_enqueue_bulk(env.queue, specs, 1000, qt_on_done, &w);
    qt_wait(&env, &w);
    assert_int_equal(w.err, EIM_OK);
    assert_int_equal(w.count, 1000);
    qt_done_t w2 = {0};
    eim_queue_enqueue_bulk(env.queue, specs, 1000, qt_on_done, &w2);
    qt_wait(&env, &w2);
    assert_int_equal(w2.err, EIM_OK);
    assert_int_equal(w2.count, 0);
    /* the bulk NOTIFY ("*") makes the set reload; every device is then pending */
    uint64_t end = uv_hrtime() + 5000000000ull;
    while ((!eim_queue_pending_known(env.queue) || eim_queue_pending_count(env.queue) < 1000) &&
           uv_hrtime() < end)
        uv_run(&env.loop, UV_RUN_ONCE);
    assert_true(eim_queue_pending_known(env.queue));
    assert_int_equal(eim_queue_pending_count(env.queue), 1000);
    qt_poll_t p = qt_poll(&env, eids[999]);
    assert_false(p.nothing);

    /* list with cursor pagination: 1002 operations in pages of 300, each once */
    size_t seen = 0;
    list_wait_t lw = {0};
    int pages = 0;
    do {
        lw.done = false;
        eim_queue_filter_t f = {.limit = 300, .cursor = lw.next[0] ? lw.next : NULL};
        eim_queue_list(env.queue, &f, on_list, &lw);
        qt_wait(&env, (qt_done_t *)&lw);
        assert_int_equal(lw.err, EIM_OK);
        seen += lw.n;
        pages++;
    } while (lw.next[0] && pages < 10);
    assert_int_equal(pages, 4);
    assert_int_equal(seen, 1002);
    assert_int_equal(lw.distinct_order_ok, 0);
    /* filters */
    lw = (list_wait_t){0};
    eim_queue_filter_t by_eid = {
        .limit = 10, .eid = eid, .has_state = true, .state = EIM_OP_QUEUED};
    eim_queue_list(env.queue, &by_eid, on_list, &lw);
    qt_wait(&env, (qt_done_t *)&lw);
    assert_int_equal(lw.n, 3); /* order-1 in two tenants + bulk-3 */
    assert_int_equal(lw.next[0], '\0');

    free(specs);
    free(eids);
    free(keys);
    qt_stop(&env);
    free(dsn);
}

/* Instance B learns of instance A's enqueue through NOTIFY: its poll goes
 * from "nothing, answered from memory" to the package without any reload. */
static void test_notify_from_other_instance(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("queue_notify");
    qt_setup_db(dsn, 2, 0);
    qt_env_t a, b;
    assert_true(qt_start(&a, dsn, 1, "instance-a"));
    assert_true(qt_start(&b, dsn, 1, "instance-b"));
    char eid[33], op[40];
    qt_eid(1, eid);
    qt_poll_t before = qt_poll(&b, eid);
    assert_true(before.nothing && before.from_memory);
    enqueue_psmo(&a, eid, 0, op);
    /* run B's loop until the NOTIFY arrived (reconcile is 1 s away: stop earlier) */
    uint64_t end = uv_hrtime() + 900000000ull;
    while (eim_queue_pending_count(b.queue) == 0 && uv_hrtime() < end)
        uv_run(&b.loop, UV_RUN_NOWAIT);
    assert_int_equal(eim_queue_pending_count(b.queue), 1);
    qt_poll_t got = qt_poll(&b, eid);
    assert_false(got.nothing);
    assert_string_equal(got.op_id, op);
    /* A polls the same device: it gets B's stored bytes, not a new counter */
    qt_poll_t again = qt_poll(&a, eid);
    assert_true(again.redelivery);
    assert_memory_equal(again.package, got.package, got.package_len);
    qt_stop(&a);
    qt_stop(&b);
    free(dsn);
}

static void test_cancel_expire_state_change(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("queue_cancel");
    qt_setup_db(dsn, 1, 0);
    qt_env_t env;
    assert_true(qt_start(&env, dsn, 2, "test"));
    char eid[33], op[40], op2[40];
    qt_eid(0, eid);
    enqueue_psmo(&env, eid, 0, op);
    qt_done_t w = {0};
    eim_queue_cancel(env.queue, op, qt_on_done, &w);
    qt_wait(&env, &w);
    assert_int_equal(w.err, EIM_OK);
    w = (qt_done_t){0};
    eim_queue_cancel(env.queue, op, qt_on_done, &w);
    qt_wait(&env, &w);
    assert_int_equal(w.err, EIM_ERR_CONFLICT);
    w = (qt_done_t){0};
    eim_queue_cancel(env.queue, "00000000-0000-0000-0000-000000000000", qt_on_done, &w);
    qt_wait(&env, &w);
    assert_int_equal(w.err, EIM_ERR_NOT_FOUND);

    /* expiry: an operation that expires in 1 s */
    eim_queue_op_spec_t spec = {.eid = eid, .kind = "psmo", .expires_in_s = 1};
    assert_int_equal(qt_enqueue(&env, &spec, op2, NULL), EIM_OK);
    uv_sleep(1100);
    w = (qt_done_t){0};
    eim_queue_expire(env.queue, 100, qt_on_done, &w);
    qt_wait(&env, &w);
    assert_int_equal(w.err, EIM_OK);
    assert_int_equal(w.count, 1);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM operation_audit WHERE "
                                   "(to_state = 'CANCELLED' AND actor = 'test') OR "
                                   "(to_state = 'EXPIRED' AND details->>'event' = 'expire')"),
                     2);

    /* notifyStateChange: one inventory, however often reported */
    w = (qt_done_t){0};
    eim_queue_state_change(env.queue, eid, "{\"cause\": \"enable\"}", qt_on_done, &w);
    qt_wait(&env, &w);
    assert_int_equal(w.count, 1);
    w = (qt_done_t){0};
    eim_queue_state_change(env.queue, eid, NULL, qt_on_done, &w);
    qt_wait(&env, &w);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM operations WHERE state = 'QUEUED' AND "
                                   "parameters->>'purpose' = 'inventory'"),
                     1);
    qt_poll_t inv = qt_poll(&env, eid);
    assert_false(inv.nothing);
    assert_int_equal(qt_result_ok(&env, eid, &inv, 0), EIM_QUEUE_RESULT_APPLIED);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM euiccs WHERE NOT state_change_pending "
                                   "AND inventory_at IS NOT NULL"),
                     1);

    /* a package that cannot be built cancels its operation (audited) */
    env.fail_builds = true;
    enqueue_psmo(&env, eid, 0, op);
    qt_poll_t none = qt_poll(&env, eid);
    assert_true(none.nothing);
    assert_int_equal(sql_long(dsn, "SELECT count(*) FROM operation_audit WHERE "
                                   "details->>'reason' LIKE 'build failed%'"),
                     1);
    env.fail_builds = false;

    /* notifications: idempotent, acknowledged with the results */
    static const uint8_t raw[] = {0xBF, 0x37, 0x00};
    for (int i = 0; i < 2; i++) {
        w = (qt_done_t){0};
        eim_queue_record_notification(env.queue, eid, 21, "pir", raw, sizeof(raw), qt_on_done, &w);
        qt_wait(&env, &w);
        assert_int_equal(w.err, EIM_OK);
        assert_int_equal(w.count, i == 0 ? 1 : 0);
    }
    uint64_t seq = 21;
    size_t count = 0;
    assert_int_equal(qt_acks_sent(&env, eid, &seq, 1, &count), EIM_OK);
    assert_int_equal(count, 1);
    qt_stop(&env);
    free(dsn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery_cycle),
        cmocka_unit_test(test_batched_cycle_ack_in_response),
        cmocka_unit_test(test_order_ecall_replay_acks),
        cmocka_unit_test(test_idempotent_and_bulk_enqueue),
        cmocka_unit_test(test_notify_from_other_instance),
        cmocka_unit_test(test_cancel_expire_state_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
