/*
 * A test driver process for the multi-instance and crash tests: one eimd-like
 * instance (pool + queue on a libuv loop) playing 16 devices at a time
 * against the shared database. Each session picks a random EID among the
 * first <devices>, polls; a package is "executed" by a simulated eUICC that
 * answers a signed result with seqNumber = counterValue, then the
 * acknowledgement is recorded, and the session starts again. Exits 0 when
 * the database has no live operation left, 1 after <seconds>.
 *
 *   queue_driver <dsn> <instance-name> <devices> <seconds>
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/storage/queue_test_util.h"

#define SESSIONS 16

typedef struct {
    qt_env_t *env;
    int devices;
    char eid[33];
    uint64_t seq;
    bool finished;
    bool resend; /* a one-off re-send of a stored result (heap, freed when done) */
} session_t;

static bool all_done;
static bool stopping;
static unsigned rng_state;

static unsigned rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static void session_start(session_t *s);

static void on_acked(eim_err_t err, size_t count, void *ctx)
{
    session_t *s = ctx;
    (void)err;
    (void)count;
    if (s->resend)
        free(s);
    else
        session_start(s);
}

/* The server's answer to a result: acknowledge every seqNumber recorded
 * and not acknowledged yet for the device. */
static void on_acks(eim_err_t err, const uint64_t *seqs, size_t n, void *ctx)
{
    session_t *s = ctx;
    if (!err && n > 0) {
        eim_queue_acks_sent(s->env->queue, s->eid, seqs, n, on_acked, s);
        return;
    }
    on_acked(err, 0, s);
}

static void on_result(eim_err_t err, eim_queue_result_status_t status, const char *op_id, void *ctx)
{
    session_t *s = ctx;
    (void)op_id;
    if (!err && (status == EIM_QUEUE_RESULT_APPLIED || status == EIM_QUEUE_RESULT_DUPLICATE)) {
        eim_queue_acks(s->env->queue, s->eid, on_acks, s);
        return;
    }
    on_acked(err, 0, s);
}

static void on_package(eim_err_t err, const eim_queue_package_t *pkg, void *ctx)
{
    session_t *s = ctx;
    if (err || !pkg) {
        session_start(s);
        return;
    }
    char eid[33], op[40];
    uint64_t counter;
    uint8_t txid[16];
    if (!qt_parse_package(pkg->package, pkg->package_len, eid, &counter, txid, op) ||
        strcmp(eid, s->eid) != 0) {
        fprintf(stderr, "driver: bad package for %s\n", s->eid);
        exit(3);
    }
    static const uint8_t raw[] = {0xBF, 0x51, 0x00};
    s->seq = counter;
    eim_queue_result_t r = {
        .eid = s->eid,
        .transaction_id = txid,
        .transaction_id_len = 16,
        .has_counter = true,
        .counter_value = counter,
        .has_seq_number = true,
        .seq_number = counter,
        .raw = raw,
        .raw_len = sizeof(raw),
    };
    eim_queue_record_result(s->env->queue, &r, on_result, s);
}

static void session_start(session_t *s)
{
    for (int spins = 0; spins < 1000 && !all_done && !stopping; spins++) {
        qt_eid((int)(rnd() % (unsigned)s->devices), s->eid);
        uint8_t eid[EIM_EID_LEN];
        eim_eid_parse(s->eid, eid);
        if (eim_queue_next_package(s->env->queue, eid, on_package, s) == EIM_QUEUE_POLL_ASYNC)
            return;
    }
    s->finished = true; /* the check timer restarts idle sessions */
}

typedef struct {
    qt_env_t *env;
    session_t *sessions;
    int ticks;
} check_t;

static void on_live(eim_err_t err, const PGresult *res, void *ctx)
{
    (void)ctx;
    if (!err && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "0") == 0)
        all_done = true;
}

/* Results whose acknowledgement was lost (an instance died between result
 * and ack) stay on the eUICC, and the IPA sends them again at the next
 * contact: re-send them (a duplicate for the queue) and acknowledge. */
static void on_unacked(eim_err_t err, const PGresult *res, void *ctx)
{
    check_t *c = ctx;
    if (err || stopping)
        return;
    static const uint8_t raw[] = {0xBF, 0x51, 0x00};
    for (int i = 0; i < PQntuples(res); i++) {
        session_t *s = calloc(1, sizeof(*s));
        s->env = c->env;
        s->resend = true;
        snprintf(s->eid, sizeof(s->eid), "%s", PQgetvalue(res, i, 0));
        uint8_t txid[16];
        const char *hex = PQgetvalue(res, i, 1);
        for (int k = 0; k < 16; k++) {
            unsigned v = 0;
            sscanf(hex + 2 * k, "%2x", &v);
            txid[k] = (uint8_t)v;
        }
        s->seq = strtoull(PQgetvalue(res, i, 2), NULL, 10);
        eim_queue_result_t r = {
            .eid = s->eid,
            .transaction_id = txid,
            .transaction_id_len = 16,
            .has_counter = true,
            .counter_value = s->seq,
            .has_seq_number = true,
            .seq_number = s->seq,
            .raw = raw,
            .raw_len = sizeof(raw),
        };
        eim_queue_record_result(c->env->queue, &r, on_result, s);
    }
}

static void on_check(uv_timer_t *timer)
{
    check_t *c = timer->data;
    eim_pg_query(c->env->pool, "SELECT count(*) FROM operations WHERE state <> 'DONE'", 0, NULL,
                 on_live, c);
    if (++c->ticks % 5 == 0)
        eim_pg_query(c->env->pool,
                     "SELECT eid, encode(eim_transaction_id, 'hex'), counter_value FROM operations "
                     "WHERE state = 'RESULT_OK' AND updated_at < now() - interval '300 ms' LIMIT 8",
                     0, NULL, on_unacked, c);
    for (int i = 0; i < SESSIONS; i++) {
        if (c->sessions[i].finished && !all_done) {
            c->sessions[i].finished = false;
            session_start(&c->sessions[i]);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: queue_driver dsn instance devices seconds\n");
        return 2;
    }
    int devices = atoi(argv[3]);
    int seconds = atoi(argv[4]);
    rng_state = (unsigned)uv_hrtime() ^ (unsigned)getpid();
    static qt_env_t env;
    if (!qt_start(&env, argv[1], 4, argv[2]))
        return 4;
    session_t sessions[SESSIONS];
    memset(sessions, 0, sizeof(sessions));
    check_t check = {&env, sessions, 0};
    uv_timer_t timer;
    uv_timer_init(&env.loop, &timer);
    timer.data = &check;
    uv_timer_start(&timer, on_check, 100, 100);
    for (int i = 0; i < SESSIONS; i++) {
        sessions[i].env = &env;
        sessions[i].devices = devices;
        session_start(&sessions[i]);
    }
    uint64_t end = uv_hrtime() + (uint64_t)seconds * 1000000000ull;
    while (!all_done && uv_hrtime() < end)
        uv_run(&env.loop, UV_RUN_ONCE);
    stopping = true;
    uv_close((uv_handle_t *)&timer, NULL);
    /* sessions may still wait for statements: the queue waits for them on close */
    qt_stop(&env);
    return all_done ? 0 : 1;
}
