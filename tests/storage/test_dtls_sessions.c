/*
 * Ownership of parked DTLS session rows (storage/dtls_sessions.h, the SQL
 * functions of migrations/0006_dtls_session_ownership.sql and
 * 0007_dtls_session_authenticated_claim.sql) against the real test
 * PostgreSQL: the maker holds generation 1, a peek returns the newest blob
 * and writes nothing, a claim takes the next generation only if the row
 * still has the generation peeked (of two instances claiming the same
 * generation exactly one wins), a late write or end of an older holder is
 * refused and changes nothing, an ended session stays a tombstone that no
 * late write revives, claims and ends are NOTIFYed, and purging spares rows
 * until an hour past their expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "storage/dtls_sessions.h"
#include "storage/migrations.h"
#include "storage/pg_pool.h"
#include "tests/support/support.h"

#define KEY_LEN 16

static const uint8_t key_a[KEY_LEN] = {0xC1, 0xD0, 1, 2, 3, 4, 5, 6, 0xAA, 0xAA};
static const uint8_t key_other[KEY_LEN] = {0xC1, 0xD0, 1, 2, 3, 4, 5, 6, 0xBB, 0xBB};

typedef struct {
    int calls;
    eim_err_t err;
    eim_dtls_row_verdict_t verdict;
    uint64_t generation, sealed_generation;
    uint8_t key[32], sealed[64];
    size_t key_len, sealed_len;
    size_t deleted;
} outcome_t;

typedef struct {
    uint64_t generations[16];
    int count;
} heard_t;

static uv_loop_t loop;
static eim_pg_pool_t *pool;
static char *dsn;

static void run_until_called(const outcome_t *o)
{
    uint64_t end = uv_hrtime() + 5000000000ull;
    while (o->calls == 0 && uv_hrtime() < end)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(o->calls, 1);
}

static void on_done(eim_err_t err, void *ctx)
{
    outcome_t *o = ctx;
    o->calls++;
    o->err = err;
}

static void on_claimed(eim_err_t err, const eim_dtls_claim_t *claim, void *ctx)
{
    outcome_t *o = ctx;
    o->calls++;
    o->err = err;
    if (err)
        return;
    o->verdict = claim->verdict;
    o->generation = claim->generation;
    o->sealed_generation = claim->sealed_generation;
    o->key_len = claim->key_len;
    o->sealed_len = claim->sealed_len;
    if (claim->key)
        memcpy(o->key, claim->key, claim->key_len);
    if (claim->sealed)
        memcpy(o->sealed, claim->sealed, claim->sealed_len);
}

static void on_purged(eim_err_t err, size_t deleted, void *ctx)
{
    outcome_t *o = ctx;
    o->calls++;
    o->err = err;
    o->deleted = deleted;
}

static void on_notify(const char *channel, const char *payload, void *ctx)
{
    heard_t *h = ctx;
    assert_string_equal(channel, EIM_DTLS_SESSIONS_CHANNEL);
    uint8_t cid[EIM_DTLS_SESSIONS_CID_LEN];
    uint64_t generation = 0;
    assert_true(eim_dtls_sessions_parse_notify(payload, cid, &generation));
    assert_memory_equal(cid, key_a, EIM_DTLS_SESSIONS_CID_LEN);
    if (h->count < 16)
        h->generations[h->count++] = generation;
}

static eim_err_t store(const uint8_t *key, const char *blob, uint64_t generation)
{
    outcome_t o = {0};
    eim_dtls_sessions_store(pool, key, KEY_LEN, (const uint8_t *)blob, strlen(blob), 60000, "test",
                            generation, on_done, &o);
    assert_int_equal(o.calls, 0); /* never from inside the call */
    run_until_called(&o);
    return o.err;
}

static outcome_t peek(const uint8_t *key, uint64_t held)
{
    outcome_t o = {0};
    eim_dtls_sessions_peek(pool, key_a, EIM_DTLS_SESSIONS_CID_LEN, key, key ? KEY_LEN : 0, held,
                           on_claimed, &o);
    assert_int_equal(o.calls, 0);
    run_until_called(&o);
    assert_int_equal(o.err, EIM_OK);
    return o;
}

static outcome_t claim(const uint8_t *key, uint64_t held, uint64_t expected)
{
    outcome_t o = {0};
    eim_dtls_sessions_claim(pool, key_a, EIM_DTLS_SESSIONS_CID_LEN, key, key ? KEY_LEN : 0, held,
                            expected, "test", on_claimed, &o);
    run_until_called(&o);
    assert_int_equal(o.err, EIM_OK);
    return o;
}

static eim_err_t close_row(const uint8_t *key, uint64_t generation)
{
    outcome_t o = {0};
    eim_dtls_sessions_close(pool, key, KEY_LEN, generation, on_done, &o);
    run_until_called(&o);
    return o.err;
}

static size_t purge(void)
{
    outcome_t o = {0};
    eim_dtls_sessions_purge(pool, 100, on_purged, &o);
    run_until_called(&o);
    assert_int_equal(o.err, EIM_OK);
    return o.deleted;
}

static char *row(void)
{
    return test_pg_query_value(dsn, "SELECT coalesce(convert_from(sealed, 'UTF8'), '-') || ' ' "
                                    "|| generation || ' ' || sealed_generation FROM dtls_sessions");
}

static void assert_row(const char *want)
{
    char *have = row();
    assert_string_equal(have, want);
    free(have);
}

/* Runs the loop a little longer (a NOTIFY that should not come). */
static void pump_briefly(void)
{
    uint64_t end = uv_hrtime() + 200000000ull;
    while (uv_hrtime() < end)
        uv_run(&loop, UV_RUN_NOWAIT);
}

static bool pool_ready(void)
{
    uint64_t end = uv_hrtime() + 5000000000ull;
    while (!eim_pg_pool_ready(pool) && uv_hrtime() < end)
        uv_run(&loop, UV_RUN_ONCE);
    return eim_pg_pool_ready(pool);
}

static void test_ownership(void **state)
{
    (void)state;
    heard_t heard = {0};
    assert_int_equal(eim_pg_pool_listen(pool, EIM_DTLS_SESSIONS_CHANNEL, on_notify, NULL, &heard),
                     EIM_OK);
    /* the maker (generation 1) creates and rewrites its row */
    assert_int_equal(store(key_a, "a1", 1), EIM_OK);
    assert_int_equal(store(key_a, "a2", 1), EIM_OK);
    assert_row("a2 1 1");
    outcome_t o = peek(key_a, 1);
    assert_int_equal(o.verdict, EIM_DTLS_ROW_OWNED);
    assert_int_equal(o.generation, 1);
    assert_int_equal(o.sealed_len, 0); /* the owner needs no blob */

    /* B knows only the CID: a peek shows A's blob and takes nothing */
    o = peek(NULL, 0);
    assert_int_equal(o.verdict, EIM_DTLS_ROW_PRESENT);
    assert_int_equal(o.generation, 1);
    assert_int_equal(o.sealed_generation, 1);
    assert_int_equal(o.key_len, KEY_LEN);
    assert_memory_equal(o.key, key_a, KEY_LEN);
    assert_int_equal(o.sealed_len, 2);
    assert_memory_equal(o.sealed, "a2", 2);
    assert_row("a2 1 1");
    assert_int_equal(peek(key_a, 1).verdict, EIM_DTLS_ROW_OWNED);
    /* then (a record authenticated) claims generation 2 if it is still 1 */
    o = claim(NULL, 0, 1);
    assert_int_equal(o.verdict, EIM_DTLS_ROW_CLAIMED);
    assert_int_equal(o.generation, 2);
    assert_int_equal(o.sealed_generation, 1);
    assert_row("a2 2 1");

    /* A's late write-behind is refused; A's copy is no longer current */
    assert_int_equal(store(key_a, "a3", 1), EIM_ERR_CONFLICT);
    assert_row("a2 2 1");
    o = peek(key_a, 1);
    assert_int_equal(o.verdict, EIM_DTLS_ROW_PRESENT);
    assert_int_equal(o.generation, 2);
    assert_int_equal(peek(key_a, 2).verdict, EIM_DTLS_ROW_OWNED);
    assert_int_equal(store(key_a, "b1", 2), EIM_OK);
    assert_row("b1 2 2");

    /* two instances peeked generation 2 and claim at once (one of them with
     * an old copy of generation 1): exactly one wins, the other writes
     * nothing */
    outcome_t x = {0}, y = {0};
    eim_dtls_sessions_claim(pool, key_a, EIM_DTLS_SESSIONS_CID_LEN, NULL, 0, 0, 2, "x", on_claimed,
                            &x);
    eim_dtls_sessions_claim(pool, key_a, EIM_DTLS_SESSIONS_CID_LEN, key_a, KEY_LEN, 1, 2, "y",
                            on_claimed, &y);
    run_until_called(&x);
    run_until_called(&y);
    assert_int_equal(x.err, EIM_OK);
    assert_int_equal(y.err, EIM_OK);
    assert_true((x.verdict == EIM_DTLS_ROW_CLAIMED) != (y.verdict == EIM_DTLS_ROW_CLAIMED));
    const outcome_t *won = x.verdict == EIM_DTLS_ROW_CLAIMED ? &x : &y;
    const outcome_t *lost = won == &x ? &y : &x;
    assert_int_equal(lost->verdict, EIM_DTLS_ROW_MOVED);
    assert_int_equal(won->generation, 3);
    assert_int_equal(won->sealed_generation, 2);
    assert_int_equal(lost->generation, 3); /* what the loser finds */
    assert_row("b1 3 2");
    char *holder = test_pg_query_value(dsn, "SELECT instance FROM dtls_sessions");
    assert_string_equal(holder, won == &x ? "x" : "y");
    free(holder);
    /* a claim against an outdated generation changes nothing either */
    assert_int_equal(claim(NULL, 0, 2).verdict, EIM_DTLS_ROW_MOVED);
    assert_row("b1 3 2");
    /* only the newest generation may write or end the row */
    assert_int_equal(store(key_a, "x1", 2), EIM_ERR_CONFLICT);
    assert_int_equal(close_row(key_a, 2), EIM_ERR_CONFLICT);
    assert_int_equal(store(key_a, "w1", 3), EIM_OK);
    assert_row("w1 3 3");

    /* the session ends: a tombstone that no late write brings back */
    assert_int_equal(close_row(key_a, 3), EIM_OK);
    assert_row("- 4 3");
    assert_int_equal(peek(key_a, 3).verdict, EIM_DTLS_ROW_CLOSED);
    assert_int_equal(peek(NULL, 0).verdict, EIM_DTLS_ROW_CLOSED);
    assert_int_equal(claim(NULL, 0, 4).verdict, EIM_DTLS_ROW_CLOSED);
    assert_int_equal(store(key_a, "a4", 1), EIM_ERR_CONFLICT);
    assert_int_equal(store(key_a, "w2", 3), EIM_ERR_CONFLICT);
    assert_row("- 4 3");

    /* every claim and the end were announced, nothing else */
    uint64_t end = uv_hrtime() + 2000000000ull;
    while (heard.count < 3 && uv_hrtime() < end)
        uv_run(&loop, UV_RUN_NOWAIT);
    pump_briefly();
    assert_int_equal(heard.count, 3);
    uint64_t sum = 0;
    for (int i = 0; i < heard.count; i++)
        sum += heard.generations[i];
    assert_int_equal(sum, 2 + 3 + 4);
    eim_pg_pool_unlisten(pool, EIM_DTLS_SESSIONS_CHANNEL, &heard);
}

static void test_other_session_and_expiry(void **state)
{
    (void)state;
    test_pg_exec(dsn, "DELETE FROM dtls_sessions");
    assert_int_equal(peek(NULL, 0).verdict, EIM_DTLS_ROW_ABSENT);
    assert_int_equal(claim(NULL, 0, 1).verdict, EIM_DTLS_ROW_ABSENT);
    assert_int_equal(store(key_a, "a1", 1), EIM_OK);
    /* the same CID with another session key is not that session */
    assert_int_equal(store(key_other, "o1", 1), EIM_ERR_CONFLICT);
    assert_int_equal(peek(key_other, 1).verdict, EIM_DTLS_ROW_CLOSED);
    assert_int_equal(claim(key_other, 0, 1).verdict, EIM_DTLS_ROW_CLOSED);
    assert_int_equal(close_row(key_other, 1), EIM_ERR_CONFLICT);
    assert_row("a1 1 1");

    /* expired: no claim; purged only an hour later */
    test_pg_exec(dsn, "UPDATE dtls_sessions SET expires_at = now() - interval '30 minutes'");
    assert_int_equal(peek(NULL, 0).verdict, EIM_DTLS_ROW_ABSENT);
    assert_int_equal(claim(NULL, 0, 1).verdict, EIM_DTLS_ROW_ABSENT);
    assert_int_equal(purge(), 0);
    test_pg_exec(dsn, "UPDATE dtls_sessions SET expires_at = now() - interval '2 hours'");
    assert_int_equal(purge(), 1);
    assert_int_equal(test_pg_long(dsn, "SELECT count(*) FROM dtls_sessions"), 0);
}

static void test_notify_payloads(void **state)
{
    (void)state;
    uint8_t cid[EIM_DTLS_SESSIONS_CID_LEN];
    uint64_t generation = 0;
    assert_true(eim_dtls_sessions_parse_notify("c1d0010203040506:17", cid, &generation));
    assert_memory_equal(cid, key_a, EIM_DTLS_SESSIONS_CID_LEN);
    assert_int_equal(generation, 17);
    const char *bad[] = {"",
                         ":1",
                         "c1d0010203040506",
                         "c1d0010203040506:",
                         "c1d0010203040506:0",
                         "c1d0010203040506:1x",
                         "c1d00102030405:1",
                         "c1d001020304050g:1",
                         "c1d0010203040506:-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(eim_dtls_sessions_parse_notify(bad[i], cid, &generation));
}

static int group_setup(void **state)
{
    (void)state;
    dsn = test_pg_create_db("dtls_rows");
    char error[256];
    assert_int_equal(
        eim_migrations_apply(dsn, eim_migrations, eim_migration_count, NULL, error, sizeof(error)),
        EIM_OK);
    uv_loop_init(&loop);
    eim_pg_pool_options_t options = {
        .dsn = dsn,
        .size = 2,
        .connect_timeout_ms = 2000,
        .reconnect_min_ms = 50,
        .reconnect_max_ms = 200,
        .health_interval_ms = 100,
        .max_queued = 1000,
        .expected_schema_version = eim_migrations_latest(),
    };
    pool = eim_pg_pool_start(&loop, &options);
    assert_true(pool_ready());
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    eim_pg_pool_close(pool, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(dsn);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ownership),
        cmocka_unit_test(test_other_session_and_expiry),
        cmocka_unit_test(test_notify_payloads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
