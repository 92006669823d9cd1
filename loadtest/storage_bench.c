/*
 * storage_bench: the operation queue against a real PostgreSQL, next to the
 * baseline of one-round-trip `SELECT 1` queries measured in the same run on
 * the same pool (engineering.md rule 11). Prints enqueue/s (single and a
 * 100,000-operation bulk), full cycles/s (poll with work -> package built,
 * signed with P-256 and stored -> result recorded with the acknowledgement
 * sent in the same BF50 response -> DONE), and nothing-pending polls/s (answered from the in-memory
 * set).
 *
 *   storage_bench [dsn]   (default $EIMD_TEST_DSN; a fresh database
 *                          storage_bench_<pid> is created there and dropped)
 *   STORAGE_BENCH_CONCURRENCY=N  requests in flight (default 32, at most
 *                          1024): a server with many devices polling at once
 *                          has more than 32; with 32 the cycle is bound by
 *                          latency (Little's law), not by the database.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <libpq-fe.h>
#include <uv.h>

#include "proto/crypto/package_signature.h"
#include "proto/crypto/software_signer.h"
#include "proto/esep/euicc_package.h"
#include "storage/migrations.h"
#include "storage/queue.h"

#define DEVICES         100000
#define MAX_CONCURRENCY 1024
#define POOL_SIZE       4

static uv_loop_t loop;
static eim_pg_pool_t *pool;
static eim_queue_t *queue;
static eim_signer_t *signer;
static uint64_t phase_end;
static long completed;
static int concurrency = 32; /* requests in flight; $STORAGE_BENCH_CONCURRENCY */
static int outstanding;

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

static void eid_of(long i, char out[33])
{
    snprintf(out, 33, "8904903200000200%016u", (unsigned)(i % 100000000));
}

static void die(const char *what)
{
    fprintf(stderr, "storage_bench: %s\n", what);
    exit(1);
}

/* ---- the package builder the server would provide ---- */
static eim_err_t build(void *ctx, const eim_queue_build_input_t *in, eim_buf_t *out)
{
    (void)ctx;
    static eim_euicc_package_t pkg;
    uint8_t eid[16];
    for (int i = 0; i < 16; i++) {
        unsigned v;
        sscanf(in->eid + 2 * i, "%2x", &v);
        eid[i] = (uint8_t)v;
    }
    memset(&pkg, 0, sizeof(pkg));
    pkg.eim_id = eim_span(in->eim_id, strlen(in->eim_id));
    pkg.eid = eim_span(eid, 16);
    pkg.counter_value = in->counter_value;
    pkg.transaction_id = eim_span(in->transaction_id, EIM_QUEUE_TXID_LEN);
    pkg.list = EIM_PACKAGE_PSMO_LIST;
    pkg.count = 1;
    pkg.psmos[0].kind = EIM_PSMO_LIST_PROFILE_INFO;
    eim_buf_t signed_tlv;
    eim_buf_init(&signed_tlv, 4096);
    uint8_t sig[EIM_ECDSA_RAW_LEN];
    eim_err_t err = eim_esep_package_encode_signed(&pkg, &signed_tlv);
    if (!err)
        err = eim_package_sign(signer, eim_span(signed_tlv.data, signed_tlv.len),
                               EIM_TOKEN(in->association_token), sig);
    if (!err)
        err = eim_esep_package_assemble(eim_span(signed_tlv.data, signed_tlv.len), sig, out);
    eim_buf_free(&signed_tlv);
    return err;
}

static void make_signer(void)
{
    WC_RNG rng;
    ecc_key key;
    uint8_t der[256];
    if (wc_InitRng(&rng) != 0 || wc_ecc_init(&key) != 0 ||
        wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1) != 0)
        die("key generation failed");
    int n = wc_EccKeyToDer(&key, der, sizeof(der));
    if (n <= 0 || eim_software_signer_new(eim_span(der, (size_t)n), &signer) != EIM_OK)
        die("signer setup failed");
    wc_ecc_free(&key);
    wc_FreeRng(&rng);
}

static void run_until_idle(void)
{
    while (outstanding > 0)
        uv_run(&loop, UV_RUN_ONCE);
}

/* ---- SELECT 1 baseline ---- */
static void on_select1(eim_err_t err, const PGresult *res, void *ctx)
{
    (void)res;
    (void)ctx;
    outstanding--;
    if (!err)
        completed++;
    if (uv_hrtime() < phase_end) {
        outstanding++;
        eim_pg_query(pool, "SELECT 1", 0, NULL, on_select1, NULL);
    }
}

/* ---- single enqueue ---- */
static void on_enqueued(eim_err_t err, const char *op_id, bool created, void *ctx);

static void enqueue_one(void)
{
    char eid[33];
    eid_of(rand() % 20000, eid);
    eim_queue_op_spec_t spec = {.eid = eid, .kind = "psmo", .parameters = "{\"n\": 1}"};
    outstanding++;
    eim_queue_enqueue(queue, &spec, on_enqueued, NULL);
}

static void on_enqueued(eim_err_t err, const char *op_id, bool created, void *ctx)
{
    (void)op_id;
    (void)ctx;
    outstanding--;
    if (!err && created)
        completed++;
    if (uv_hrtime() < phase_end)
        enqueue_one();
}

/* ---- full cycles ---- */
typedef struct {
    long next_device;
    char eid[33];
} cycle_t;

static void cycle_next(cycle_t *c);

static void on_result(eim_err_t err, eim_queue_result_status_t status, const char *op_id, void *ctx)
{
    cycle_t *c = ctx;
    (void)op_id;
    outstanding--;
    /* the acknowledgement travels in this result's BF50 response: DONE now */
    if (!err && status == EIM_QUEUE_RESULT_APPLIED)
        completed++;
    cycle_next(c);
}

static void on_package(eim_err_t err, const eim_queue_package_t *pkg, void *ctx)
{
    cycle_t *c = ctx;
    if (err || !pkg) {
        outstanding--;
        cycle_next(c);
        return;
    }
    static const uint8_t raw[] = {0xBF, 0x51, 0x03, 0xA0, 0x01, 0x00};
    eim_queue_result_t r = {
        .eid = c->eid,
        .transaction_id = pkg->transaction_id,
        .transaction_id_len = EIM_QUEUE_TXID_LEN,
        .has_counter = true,
        .counter_value = pkg->counter_value,
        .has_seq_number = true,
        .seq_number = pkg->counter_value,
        .raw = raw,
        .raw_len = sizeof(raw),
        .ack_in_response = true,
    };
    eim_queue_record_result(queue, &r, on_result, c);
}

static void cycle_next(cycle_t *c)
{
    while (uv_hrtime() < phase_end && c->next_device < DEVICES) {
        eid_of(c->next_device, c->eid);
        c->next_device += concurrency;
        outstanding++;
        uint8_t eid[EIM_EID_LEN];
        eim_eid_parse(c->eid, eid);
        if (eim_queue_next_package(queue, eid, on_package, c) == EIM_QUEUE_POLL_ASYNC)
            return;
        outstanding--;
    }
}

static void on_bulk(eim_err_t err, size_t count, void *ctx)
{
    (void)ctx;
    outstanding--;
    if (err)
        die(eim_strerror(err));
    completed = (long)count;
}

static PGconn *connect_or_die(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK)
        die(PQerrorMessage(c));
    return c;
}

static void exec_or_die(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(PQerrorMessage(c));
    PQclear(r);
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : getenv("EIMD_TEST_DSN");
    if (!base || !strrchr(base, '/'))
        die("usage: storage_bench postgresql://user@host:port/db");
    char name[64], dsn[512], sql[256];
    snprintf(name, sizeof(name), "storage_bench_%d", (int)getpid());
    snprintf(dsn, sizeof(dsn), "%.*s/%s", (int)(strrchr(base, '/') - base), base, name);
    const char *conc = getenv("STORAGE_BENCH_CONCURRENCY");
    if (conc) {
        concurrency = atoi(conc);
        if (concurrency < 1 || concurrency > MAX_CONCURRENCY)
            die("STORAGE_BENCH_CONCURRENCY must be 1..1024");
    }
    PGconn *admin = connect_or_die(base);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    exec_or_die(admin, sql);
    char error[256];
    if (eim_migrations_apply(dsn, eim_migrations, eim_migration_count, NULL, error,
                             sizeof(error)) != EIM_OK)
        die(error);
    PGconn *setup = connect_or_die(dsn);
    exec_or_die(setup, "INSERT INTO eim_identities (eim_id, signing_key_ref) VALUES "
                       "('eim.example.com', 'bench')");
    exec_or_die(setup,
                "INSERT INTO euiccs (eid, eim_id) SELECT '8904903200000200' || "
                "lpad(i::text, 16, '0'), 'eim.example.com' FROM generate_series(0, 99999) i");
    make_signer();

    uv_loop_init(&loop);
    eim_pg_pool_options_t po = {.dsn = dsn,
                                .size = POOL_SIZE,
                                .connect_timeout_ms = 5000,
                                .reconnect_min_ms = 100,
                                .reconnect_max_ms = 1000,
                                .health_interval_ms = 1000,
                                .max_queued = 100000,
                                .expected_schema_version = eim_migrations_latest()};
    pool = eim_pg_pool_start(&loop, &po);
    eim_queue_options_t qo = {
        .loop = &loop, .pool = pool, .build = build, .instance = "bench", .pending_max = 262144};
    queue = eim_queue_start(&qo);
    double t_end = now_s() + 10;
    while (!eim_queue_pending_known(queue) && now_s() < t_end)
        uv_run(&loop, UV_RUN_ONCE);
    if (!eim_queue_pending_known(queue))
        die("queue did not become ready");

    /* 1. SELECT 1 round trips */
    double t0 = now_s();
    completed = 0;
    phase_end = uv_hrtime() + 2000000000ull;
    for (int i = 0; i < concurrency; i++) {
        outstanding++;
        eim_pg_query(pool, "SELECT 1", 0, NULL, on_select1, NULL);
    }
    run_until_idle();
    double select1 = (double)completed / (now_s() - t0);

    /* 2. single enqueue */
    t0 = now_s();
    completed = 0;
    phase_end = uv_hrtime() + 2000000000ull;
    for (int i = 0; i < concurrency; i++)
        enqueue_one();
    run_until_idle();
    double single = (double)completed / (now_s() - t0);

    /* 3. bulk enqueue: one operation for each of the 100,000 devices */
    static eim_queue_op_spec_t specs[DEVICES];
    static char eids[DEVICES][33];
    for (long i = 0; i < DEVICES; i++) {
        eid_of(i, eids[i]);
        specs[i] =
            (eim_queue_op_spec_t){.eid = eids[i], .kind = "psmo", .parameters = "{\"n\": 2}"};
    }
    t0 = now_s();
    outstanding++;
    eim_queue_enqueue_bulk(queue, specs, DEVICES, on_bulk, NULL);
    run_until_idle();
    double bulk_s = now_s() - t0;
    long bulk_n = completed;
    t_end = now_s() + 30;
    while ((!eim_queue_pending_known(queue) || eim_queue_pending_count(queue) < DEVICES) &&
           now_s() < t_end)
        uv_run(&loop, UV_RUN_ONCE);

    /* 4. full cycles */
    static cycle_t cycles[MAX_CONCURRENCY];
    t0 = now_s();
    completed = 0;
    phase_end = uv_hrtime() + 3000000000ull;
    for (int i = 0; i < concurrency; i++) {
        cycles[i].next_device = 20000 + i; /* devices with exactly one operation */
        cycle_next(&cycles[i]);
    }
    run_until_idle();
    double cycles_s = (double)completed / (now_s() - t0);

    /* 5. polls from devices with nothing pending (answered from memory); the
     * EIDs arrive as 16 bytes from the wire, so they are made beforehand */
    static uint8_t idle[DEVICES][EIM_EID_LEN];
    for (long i = 0; i < DEVICES; i++) {
        eid_of(200000 + i, eids[i]);
        eim_eid_parse(eids[i], idle[i]);
    }
    long nothing = 0, asked_db = 0;
    t0 = now_s();
    double t1 = t0;
    for (long i = 0; t1 - t0 < 1.0; i++) {
        if (eim_queue_next_package(queue, idle[i % DEVICES], NULL, NULL) == EIM_QUEUE_POLL_NOTHING)
            nothing++;
        else
            asked_db++;
        if ((i & 1023) == 0)
            t1 = now_s();
    }
    double nothing_s = (double)nothing / (now_s() - t0);
    if (asked_db)
        die("an idle poll reached the database");

    printf("storage_bench (pool %d connections, %d concurrent requests, %d devices)\n", POOL_SIZE,
           concurrency, DEVICES);
    printf("%-44s %14s %12s\n", "measure", "per second", "vs SELECT 1");
    printf("%-44s %14.0f %12s\n", "SELECT 1 round trips (baseline)", select1, "1.00");
    printf("%-44s %14.0f %12.2f\n", "enqueue, single", single, single / select1);
    printf("%-44s %14.0f %12.2f   (%ld ops in %.2f s)\n", "enqueue, bulk (one statement)",
           (double)bulk_n / bulk_s, (double)bulk_n / bulk_s / select1, bulk_n, bulk_s);
    printf("%-44s %14.0f %12.2f   (read, deliver, result+ack; batched)\n",
           "full cycles (poll+sign+store, result+ack)", cycles_s, cycles_s / select1);
    printf("%-44s %14.0f %12.0f\n", "nothing-pending polls (memory)", nothing_s,
           nothing_s / select1);

    bool closed = false;
    eim_queue_close(queue, NULL, NULL);
    eim_pg_pool_close(pool, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    (void)closed;
    uv_loop_close(&loop);
    eim_signer_destroy(signer);
    PQfinish(setup);
    snprintf(sql, sizeof(sql), "DROP DATABASE %s", name);
    exec_or_die(admin, sql);
    PQfinish(admin);
    return 0;
}
