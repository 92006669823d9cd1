/*
 * The state machine table (storage/op_state.c) and the pending-EID hash set
 * (storage/pending_set.c) as units, and, against the real PostgreSQL, that
 * the op_state_guard trigger of migrations/0002 allows exactly the
 * transitions the C table allows (all 42 pairs of distinct states tried).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "storage/migrations.h"
#include "storage/op_state.h"
#include "storage/pending_set.h"
#include "tests/support/support.h"

static void test_table(void **state)
{
    (void)state;
    eim_op_state_t to;
    assert_true(eim_op_state_next(EIM_OP_QUEUED, EIM_OP_EVENT_DELIVER, &to));
    assert_int_equal(to, EIM_OP_DELIVERED);
    assert_true(eim_op_state_next(EIM_OP_DELIVERED, EIM_OP_EVENT_ECALL_BACKOFF, &to));
    assert_int_equal(to, EIM_OP_QUEUED);
    assert_false(eim_op_state_next(EIM_OP_QUEUED, EIM_OP_EVENT_RESULT_OK, &to));
    assert_false(eim_op_state_next(EIM_OP_DONE, EIM_OP_EVENT_CANCEL, &to));
    assert_false(eim_op_state_allowed(EIM_OP_RESULT_OK, EIM_OP_QUEUED));
    assert_true(eim_op_state_allowed(EIM_OP_RESULT_ERROR, EIM_OP_DONE));
    assert_true(eim_op_state_final(EIM_OP_DONE));
    assert_true(eim_op_state_final(EIM_OP_EXPIRED));
    assert_true(eim_op_state_final(EIM_OP_CANCELLED));
    assert_false(eim_op_state_final(EIM_OP_DELIVERED));
    for (int s = 0; s < EIM_OP_STATE_COUNT; s++) {
        eim_op_state_t back;
        assert_int_equal(eim_op_state_parse(eim_op_state_name((eim_op_state_t)s), &back), EIM_OK);
        assert_int_equal(back, s);
    }
    eim_op_state_t x;
    assert_int_equal(eim_op_state_parse("queued", &x), EIM_ERR_INVALID_ARG);
    assert_null(eim_op_state_name(EIM_OP_STATE_COUNT));
    assert_string_equal(eim_op_event_name(EIM_OP_EVENT_ACKNOWLEDGED), "acknowledged");
}

static void make_eid(uint32_t i, uint8_t eid[EIM_EID_LEN])
{
    memset(eid, 0x89, EIM_EID_LEN);
    eid[12] = (uint8_t)(i >> 24);
    eid[13] = (uint8_t)(i >> 16);
    eid[14] = (uint8_t)(i >> 8);
    eid[15] = (uint8_t)i;
}

static void test_pending_set(void **state)
{
    (void)state;
    eim_pending_set_t *set = eim_pending_set_new(1000);
    uint8_t eid[EIM_EID_LEN];
    for (uint32_t i = 0; i < 1000; i++) {
        make_eid(i, eid);
        assert_true(eim_pending_set_add(set, eid, i + 1));
    }
    make_eid(5000, eid);
    assert_false(eim_pending_set_add(set, eid, 1)); /* bounded */
    assert_int_equal(eim_pending_set_count(set), 1000);
    /* remove every other one; the rest stay findable (backward shift) */
    for (uint32_t i = 0; i < 1000; i += 2) {
        make_eid(i, eid);
        assert_true(eim_pending_set_remove(set, eid, UINT64_MAX));
    }
    for (uint32_t i = 0; i < 1000; i++) {
        make_eid(i, eid);
        uint64_t gen;
        assert_int_equal(eim_pending_set_find(set, eid, &gen, NULL), i % 2 == 1);
        if (i % 2)
            assert_int_equal(gen, i + 1);
    }
    /* a removal decided on an older read keeps a newer entry */
    make_eid(1, eid);
    assert_false(eim_pending_set_remove(set, eid, 1)); /* entry gen 2 */
    assert_true(eim_pending_set_find(set, eid, NULL, NULL));
    eim_pending_set_defer(set, eid, 777);
    uint64_t nb;
    assert_true(eim_pending_set_find(set, eid, NULL, &nb));
    assert_int_equal(nb, 777);
    /* merge of newer entries only */
    eim_pending_set_t *fresh = eim_pending_set_new(1000);
    assert_true(eim_pending_set_merge_newer(fresh, set, 900));
    assert_int_equal(eim_pending_set_count(fresh), 50); /* odd i >= 900: gen i+1 > 900 */
    eim_pending_set_free(fresh);
    eim_pending_set_free(set);

    char hex[33];
    uint8_t bin[EIM_EID_LEN];
    assert_true(eim_eid_parse("89049032abcdef000000000000000001", bin));
    eim_eid_format(bin, hex);
    assert_string_equal(hex, "89049032ABCDEF000000000000000001");
    assert_false(eim_eid_parse("89049032abcdef00000000000000000", bin));
    assert_false(eim_eid_parse("89049032abcdef0000000000000000011", bin));
    assert_false(eim_eid_parse("89049032abcdeg000000000000000001", bin));
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void test_database_agrees(void **state)
{
    (void)state;
    char *dsn = test_pg_create_db("op_state");
    char error[256];
    assert_int_equal(
        eim_migrations_apply(dsn, eim_migrations, eim_migration_count, NULL, error, sizeof(error)),
        EIM_OK);
    PGconn *c = PQconnectdb(dsn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    exec_ok(c, "INSERT INTO eim_identities (eim_id, signing_key_ref) VALUES ('e', 'k')");
    exec_ok(c, "INSERT INTO euiccs (eid, eim_id) VALUES ('89049032000001000000000000000001', 'e')");
    int checked = 0;
    for (int f = 0; f < EIM_OP_STATE_COUNT; f++) {
        for (int t = 0; t < EIM_OP_STATE_COUNT; t++) {
            if (f == t)
                continue;
            exec_ok(c, "BEGIN");
            /* a row in state f, with the data every state needs */
            char sql[1024];
            snprintf(sql, sizeof(sql),
                     "INSERT INTO operations (id, eid, kind, state, package, counter_value, "
                     "completed_at) VALUES ('00000000-0000-0000-0000-000000000001', "
                     "'89049032000001000000000000000001', 'psmo', '%s', "
                     "CASE WHEN '%s' = 'QUEUED' THEN NULL ELSE '\\x00'::bytea END, 1, now())",
                     eim_op_state_name((eim_op_state_t)f), eim_op_state_name((eim_op_state_t)f));
            exec_ok(c, sql);
            snprintf(sql, sizeof(sql),
                     "UPDATE operations SET state = '%s', package = CASE WHEN '%s' = 'QUEUED' "
                     "THEN NULL ELSE '\\x00'::bytea END, completed_at = now(), "
                     "result_raw = '\\xbf51'::bytea",
                     eim_op_state_name((eim_op_state_t)t), eim_op_state_name((eim_op_state_t)t));
            PGresult *r = PQexec(c, sql);
            bool db_allows = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!db_allows)
                assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514");
            PQclear(r);
            exec_ok(c, "ROLLBACK");
            if (db_allows != eim_op_state_allowed((eim_op_state_t)f, (eim_op_state_t)t))
                fail_msg("%s -> %s: database %s, C table %s", eim_op_state_name(f),
                         eim_op_state_name(t), db_allows ? "allows" : "refuses",
                         db_allows ? "refuses" : "allows");
            checked++;
        }
    }
    assert_int_equal(checked, 42);
    /* DELIVERED -> DONE only with the result stored in the same update */
    exec_ok(c, "BEGIN");
    exec_ok(c, "INSERT INTO operations (id, eid, kind, state, package, counter_value) VALUES "
               "('00000000-0000-0000-0000-000000000002', '89049032000001000000000000000001', "
               "'psmo', 'DELIVERED', '\\x00', 1)");
    PGresult *nr = PQexec(c, "UPDATE operations SET state = 'DONE', completed_at = now()");
    assert_int_equal(PQresultStatus(nr), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(nr, PG_DIAG_SQLSTATE), "23514");
    PQclear(nr);
    exec_ok(c, "ROLLBACK");
    /* the audit trail is append-only */
    PGresult *r = PQexec(c, "DELETE FROM operation_audit");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    PQfinish(c);
    free(dsn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_pending_set),
        cmocka_unit_test(test_database_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
