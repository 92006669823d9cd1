/*
 * Test helpers for storage/queue: see queue_test_util.h.
 */
#include "tests/storage/queue_test_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "storage/migrations.h"

static void fail(const char *what)
{
    fprintf(stderr, "queue_test_util: %s\n", what);
    abort();
}

void qt_eid(int i, char out[33])
{
    snprintf(out, 33, "8904903200000100%016u", (unsigned)i % 100000000u);
}

void qt_setup_db(const char *dsn, int n, uint64_t start_counter)
{
    char error[256];
    if (eim_migrations_apply(dsn, eim_migrations, eim_migration_count, NULL, error,
                             sizeof(error)) != EIM_OK)
        fail(error);
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK)
        fail(PQerrorMessage(c));
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO eim_identities (eim_id, signing_key_ref) VALUES ('eim1', 'test') "
             "ON CONFLICT DO NOTHING; "
             "INSERT INTO euiccs (eid, eim_id, counter_value) "
             "SELECT '8904903200000100' || lpad(i::text, 16, '0'), 'eim1', %" PRIu64
             " FROM generate_series(0, %d) i ON CONFLICT DO NOTHING",
             start_counter, n - 1);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail(PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

bool qt_run_until(qt_env_t *env, const bool *flag, int timeout_ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)timeout_ms * 1000000ull;
    while (!*flag && uv_hrtime() < end)
        uv_run(&env->loop, UV_RUN_ONCE);
    return *flag;
}

bool qt_start(qt_env_t *env, const char *dsn, int size, const char *instance)
{
    memset(env, 0, sizeof(*env));
    uv_loop_init(&env->loop);
    eim_pg_pool_options_t po = {
        .dsn = dsn,
        .size = size,
        .connect_timeout_ms = 2000,
        .reconnect_min_ms = 50,
        .reconnect_max_ms = 500,
        .health_interval_ms = 200,
        .max_queued = 100000,
        .expected_schema_version = eim_migrations_latest(),
    };
    env->pool = eim_pg_pool_start(&env->loop, &po);
    eim_queue_options_t qo = {
        .loop = &env->loop,
        .pool = env->pool,
        .build = qt_build,
        .build_ctx = env,
        .instance = instance,
        .reconcile_interval_ms = 1000,
        .ecall_backoff_s = 2,
    };
    env->queue = eim_queue_start(&qo);
    uint64_t end = uv_hrtime() + 10000000000ull;
    while (!eim_queue_pending_known(env->queue) && uv_hrtime() < end)
        uv_run(&env->loop, UV_RUN_ONCE);
    return eim_queue_pending_known(env->queue);
}

static void on_closed(void *ctx)
{
    *(bool *)ctx = true;
}

void qt_stop(qt_env_t *env)
{
    bool closed = false;
    eim_queue_close(env->queue, on_closed, &closed);
    qt_run_until(env, &closed, 10000);
    eim_pg_pool_close(env->pool, NULL, NULL);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&env->loop) != 0)
        fail("loop not closed");
}

eim_err_t qt_build(void *ctx, const eim_queue_build_input_t *in, eim_buf_t *out)
{
    qt_env_t *env = ctx;
    env->builds++;
    if (env->fail_builds)
        return EIM_ERR_INVALID_ARG;
    char txid[33];
    for (int i = 0; i < 16; i++)
        snprintf(txid + 2 * i, 3, "%02x", in->transaction_id[i]);
    return eim_buf_printf(out, "PKG|%s|%" PRIu64 "|%s|%s|%s", in->eid, in->counter_value, txid,
                          in->op_id, in->kind);
}

bool qt_parse_package(const uint8_t *pkg, size_t len, char eid[33], uint64_t *counter,
                      uint8_t txid[16], char op_id[40])
{
    char text[256], hex[33];
    if (len >= sizeof(text))
        return false;
    memcpy(text, pkg, len);
    text[len] = '\0';
    if (sscanf(text, "PKG|%32[0-9A-F]|%" SCNu64 "|%32[0-9a-f]|%36[0-9a-f-]", eid, counter, hex,
               op_id) != 4)
        return false;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        txid[i] = (uint8_t)v;
    }
    return true;
}

typedef struct {
    bool done;
    qt_poll_t *out;
} poll_wait_t;

static void on_poll(eim_err_t err, const eim_queue_package_t *pkg, void *ctx)
{
    poll_wait_t *w = ctx;
    w->out->err = err;
    w->out->nothing = pkg == NULL;
    if (pkg) {
        snprintf(w->out->op_id, sizeof(w->out->op_id), "%s", pkg->op_id);
        if (pkg->package_len > sizeof(w->out->package))
            fail("package too large for the test");
        memcpy(w->out->package, pkg->package, pkg->package_len);
        w->out->package_len = pkg->package_len;
        w->out->redelivery = pkg->redelivery;
        w->out->counter = pkg->counter_value;
        memcpy(w->out->txid, pkg->transaction_id, 16);
    }
    w->done = true;
}

qt_poll_t qt_poll(qt_env_t *env, const char *eid)
{
    qt_poll_t out;
    memset(&out, 0, sizeof(out));
    poll_wait_t w = {.out = &out};
    uint8_t bin[EIM_EID_LEN];
    if (!eim_eid_parse(eid, bin)) {
        out.err = EIM_ERR_INVALID_ARG;
        return out;
    }
    if (eim_queue_next_package(env->queue, bin, on_poll, &w) == EIM_QUEUE_POLL_NOTHING) {
        out.nothing = true;
        out.from_memory = true;
        return out;
    }
    if (!qt_run_until(env, &w.done, 10000))
        fail("poll did not complete");
    return out;
}

typedef struct {
    bool done;
    eim_err_t err;
    char *op_id;
    bool created;
} enqueue_wait_t;

static void on_enqueue(eim_err_t err, const char *op_id, bool created, void *ctx)
{
    enqueue_wait_t *w = ctx;
    w->err = err;
    w->created = created;
    if (op_id && w->op_id)
        snprintf(w->op_id, 40, "%s", op_id);
    w->done = true;
}

eim_err_t qt_enqueue(qt_env_t *env, const eim_queue_op_spec_t *spec, char op_id[40], bool *created)
{
    enqueue_wait_t w = {.op_id = op_id};
    eim_queue_enqueue(env->queue, spec, on_enqueue, &w);
    if (!qt_run_until(env, &w.done, 10000))
        fail("enqueue did not complete");
    if (created)
        *created = w.created;
    return w.err;
}

typedef struct {
    bool done;
    eim_err_t err;
    eim_queue_result_status_t status;
} result_wait_t;

static void on_result(eim_err_t err, eim_queue_result_status_t status, const char *op_id, void *ctx)
{
    result_wait_t *w = ctx;
    (void)op_id;
    w->err = err;
    w->status = status;
    w->done = true;
}

eim_queue_result_status_t qt_result(qt_env_t *env, const eim_queue_result_t *r, eim_err_t *err)
{
    result_wait_t w = {0};
    eim_queue_record_result(env->queue, r, on_result, &w);
    if (!qt_run_until(env, &w.done, 10000))
        fail("result did not complete");
    if (err)
        *err = w.err;
    return w.status;
}

eim_queue_result_status_t qt_result_ok(qt_env_t *env, const char *eid, const qt_poll_t *p,
                                       uint64_t seq)
{
    static const uint8_t raw[] = {0xBF, 0x51, 0x00};
    eim_queue_result_t r = {
        .eid = eid,
        .transaction_id = p->txid,
        .transaction_id_len = 16,
        .has_counter = true,
        .counter_value = p->counter,
        .has_seq_number = seq != 0,
        .seq_number = seq,
        .raw = raw,
        .raw_len = sizeof(raw),
        .decoded_json = "{\"result\": \"ok\"}",
    };
    eim_err_t err;
    eim_queue_result_status_t s = qt_result(env, &r, &err);
    if (err)
        fail("result failed");
    return s;
}

eim_queue_result_status_t qt_result_error(qt_env_t *env, const char *eid, const qt_poll_t *p,
                                          int64_t code)
{
    static const uint8_t raw[] = {0xBF, 0x51, 0x01, 0x00};
    eim_queue_result_t r = {
        .eid = eid,
        .transaction_id = p->txid,
        .transaction_id_len = 16,
        .has_counter = true,
        .counter_value = p->counter,
        .is_error = true,
        .code = code,
        .raw = raw,
        .raw_len = sizeof(raw),
    };
    eim_err_t err;
    eim_queue_result_status_t s = qt_result(env, &r, &err);
    if (err)
        fail("result failed");
    return s;
}

void qt_on_done(eim_err_t err, size_t count, void *ctx)
{
    qt_done_t *w = ctx;
    w->err = err;
    w->count = count;
    w->done = true;
}

void qt_wait(qt_env_t *env, qt_done_t *w)
{
    if (!qt_run_until(env, &w->done, 60000))
        fail("call did not complete");
}

eim_err_t qt_acks_sent(qt_env_t *env, const char *eid, const uint64_t *seqs, size_t n,
                       size_t *count)
{
    qt_done_t w = {0};
    eim_queue_acks_sent(env->queue, eid, seqs, n, qt_on_done, &w);
    qt_wait(env, &w);
    if (count)
        *count = w.count;
    return w.err;
}
