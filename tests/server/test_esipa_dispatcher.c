/*
 * server/esipa dispatcher and package builder against the real PostgreSQL
 * and the real queue: an imported eUICC with its key from the test PKI, an
 * enable PSMO delivered as a signed BF51 over both bindings (signature
 * verified with the eIM key, identical bytes on re-poll), a signed result
 * applied and acknowledged, duplicates and tampered results, the
 * nothing-pending poll answered without a query, HandleNotification,
 * malformed bodies, unsupported functions, last-seen write-behind, and the
 * builder's BF52/BF54 outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto/package_codec.h"
#include "proto/crypto/software_signer.h"
#include "proto/esipa/esipa_json.h"
#include "server/esipa/dispatcher.h"
#include "server/esipa/package_builder.h"
#include "storage/devices.h"
#include "storage/migrations.h"
#include "tests/proto/crypto_test_util.h"
#include "tests/server/esipa_test_util.h"
#include "tests/support/support.h"

typedef struct {
    uv_loop_t loop;
    char *dsn;
    eim_metrics_t *metrics;
    eim_pg_pool_t *pool;
    eim_queue_t *queue;
    eim_device_seen_t *seen;
    eim_esipa_dispatcher_t *dispatcher;
    eim_signer_t *eim_signer, *euicc_signer;
    eim_package_builder_t builder;
    eim_counter_t *queries;
} env_t;

typedef struct {
    bool done;
    eim_esipa_reply_kind_t kind;
    uint8_t body[4096];
    size_t body_len;
    char diagnostic[256];
    int retry_after_s;
} reply_t;

static void run_until(env_t *env, const bool *flag, int ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000ull;
    while (!*flag && uv_hrtime() < end)
        uv_run(&env->loop, UV_RUN_ONCE);
    assert_true(*flag);
}

static void on_reply(const eim_esipa_reply_t *r, void *ctx)
{
    reply_t *out = ctx;
    out->kind = r->kind;
    assert_true(r->body_len <= sizeof(out->body));
    if (r->body_len)
        memcpy(out->body, r->body, r->body_len);
    out->body_len = r->body_len;
    snprintf(out->diagnostic, sizeof(out->diagnostic), "%s", r->diagnostic);
    out->retry_after_s = r->retry_after_s;
    out->done = true;
}

static reply_t *dispatch(env_t *env, eim_esipa_binding_t binding, const char *fn, const void *body,
                         size_t len, bool *synchronous)
{
    reply_t *r = calloc(1, sizeof(*r));
    eim_esipa_request_t req = {
        .binding = binding, .json_function = fn, .transport = "https", .peer = "192.0.2.7:40000"};
    eim_esipa_dispatch(env->dispatcher, &req, body, len, on_reply, r);
    if (synchronous)
        *synchronous = r->done;
    run_until(env, &r->done, 10000);
    return r;
}

static long sql_long(env_t *env, const char *sql)
{
    char *v = test_pg_query_value(env->dsn, sql);
    assert_non_null(v);
    long n = atol(v);
    free(v);
    return n;
}

typedef struct {
    bool done;
    eim_err_t err;
    size_t count;
} wait_t;

static void on_done(eim_err_t err, size_t count, void *ctx)
{
    wait_t *w = ctx;
    w->err = err;
    w->count = count;
    w->done = true;
}

static void on_enqueued(eim_err_t err, const char *op_id, bool created, void *ctx)
{
    (void)op_id;
    on_done(err, created, ctx);
}

static void enqueue(env_t *env, const char *kind, const char *params)
{
    eim_queue_op_spec_t spec = {.eid = TEST_EID, .kind = kind, .parameters = params};
    wait_t w = {0};
    eim_queue_enqueue(env->queue, &spec, on_enqueued, &w);
    run_until(env, &w.done, 10000);
    assert_int_equal(w.err, EIM_OK);
}

static void env_start(env_t *env)
{
    memset(env, 0, sizeof(*env));
    env->dsn = test_pg_create_db("esipa_dispatch");
    char error[256];
    assert_int_equal(eim_migrations_apply(env->dsn, eim_migrations, eim_migration_count, NULL,
                                          error, sizeof(error)),
                     EIM_OK);
    free(test_pg_query_value(env->dsn, "INSERT INTO eim_identities (eim_id, signing_key_ref) "
                                       "VALUES ('eim1', 'test')"));
    uv_loop_init(&env->loop);
    env->metrics = eim_metrics_new();
    eim_pg_pool_options_t po = {.dsn = env->dsn,
                                .size = 2,
                                .connect_timeout_ms = 2000,
                                .reconnect_min_ms = 50,
                                .reconnect_max_ms = 500,
                                .health_interval_ms = 60000,
                                .max_queued = 1000,
                                .expected_schema_version = eim_migrations_latest(),
                                .metrics = env->metrics};
    env->pool = eim_pg_pool_start(&env->loop, &po);
    assert_int_equal(eim_software_signer_load_file(test_pki_path("eim_nist.key"), &env->eim_signer),
                     EIM_OK);
    assert_int_equal(
        eim_software_signer_load_file(test_pki_path("euicc_nist.key"), &env->euicc_signer), EIM_OK);
    env->builder.signer = env->eim_signer;
    eim_queue_options_t qo = {.loop = &env->loop,
                              .pool = env->pool,
                              .metrics = env->metrics,
                              .build = eim_package_builder_build,
                              .build_ctx = &env->builder,
                              .instance = "test",
                              .reconcile_interval_ms = 60000};
    env->queue = eim_queue_start(&qo);
    uint64_t end = uv_hrtime() + 10000000000ull;
    while (!eim_queue_pending_known(env->queue) && uv_hrtime() < end)
        uv_run(&env->loop, UV_RUN_ONCE);
    assert_true(eim_queue_pending_known(env->queue));
    eim_device_seen_options_t so = {.loop = &env->loop,
                                    .pool = env->pool,
                                    .metrics = env->metrics,
                                    .capacity = 4,
                                    .flush_interval_ms = -1};
    env->seen = eim_device_seen_start(&so);
    eim_esipa_dispatcher_options_t dopt = {.loop = &env->loop,
                                           .queue = env->queue,
                                           .pool = env->pool,
                                           .seen = env->seen,
                                           .metrics = env->metrics,
                                           .retry_after_s = 17};
    env->dispatcher = eim_esipa_dispatcher_new(&dopt);
    env->queries = eim_metrics_counter(env->metrics, "eimd_db_queries_total", "x", NULL);

    /* import the eUICC and store its public key (SPKI DER) */
    eim_queue_euicc_t e = {.eid = TEST_EID, .eim_id = "eim1", .counter_value = 0};
    wait_t w = {0};
    eim_queue_upsert_euiccs(env->queue, &e, 1, on_done, &w);
    run_until(env, &w.done, 10000);
    assert_int_equal(w.err, EIM_OK);
    uint8_t spki[EIM_EC_SPKI_MAX];
    size_t spki_len = 0;
    assert_int_equal(eim_signer_export_spki(env->euicc_signer, spki, sizeof(spki), &spki_len),
                     EIM_OK);
    wait_t k = {0};
    eim_devices_store_key(env->pool, TEST_EID, spki, spki_len, NULL, 0, on_done, &k);
    run_until(env, &k.done, 10000);
    assert_int_equal(k.count, 1);
}

static void on_closed(void *ctx)
{
    *(bool *)ctx = true;
}

static void env_stop(env_t *env)
{
    eim_esipa_dispatcher_free(env->dispatcher);
    bool closed = false;
    eim_device_seen_close(env->seen, on_closed, &closed);
    run_until(env, &closed, 10000);
    closed = false;
    eim_queue_close(env->queue, on_closed, &closed);
    run_until(env, &closed, 10000);
    eim_pg_pool_close(env->pool, NULL, NULL);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&env->loop), 0);
    eim_signer_destroy(env->eim_signer);
    eim_signer_destroy(env->euicc_signer);
    eim_metrics_free(env->metrics);
    free(env->dsn);
}

/* Polls until the queue hands something out (the pending set learns about
 * new work through NOTIFY). */
static reply_t *poll_package(env_t *env)
{
    uint8_t body[32];
    size_t len = esipa_test_poll_body(body);
    for (int i = 0; i < 200; i++) {
        reply_t *r = dispatch(env, EIM_ESIPA_BINDING_ASN1, NULL, body, len, NULL);
        assert_int_equal(r->kind, EIM_ESIPA_REPLY_OK_BODY);
        if (r->body_len > 6)
            return r;
        free(r);
        uv_sleep(10);
        uv_run(&env->loop, UV_RUN_NOWAIT);
    }
    fail_msg("no package delivered");
    return NULL;
}

/* ProvideEimPackageResult answering pkg, signed with the test eUICC key. */
static size_t result_body(env_t *env, const eim_euicc_package_t *pkg, uint64_t seq, bool tamper,
                          uint8_t *out, size_t cap)
{
    return esipa_test_result_body(env->euicc_signer, pkg, seq, tamper, out, cap);
}

static void check_signed_package(env_t *env, eim_span_t bf51, eim_euicc_package_request_t *req)
{
    uint8_t spki[EIM_EC_SPKI_MAX];
    size_t spki_len;
    assert_int_equal(eim_signer_export_spki(env->eim_signer, spki, sizeof(spki), &spki_len),
                     EIM_OK);
    esipa_test_check_package(eim_span(spki, spki_len), "eim1", bf51, req);
}

static void test_poll_result_cycle(void **state)
{
    (void)state;
    env_t env;
    env_start(&env);
    uint8_t body[2048];
    size_t len = esipa_test_poll_body(body);

    /* nothing pending: answered synchronously, without a query */
    uint64_t before = eim_counter_value(env.queries);
    size_t in_flight = eim_pg_pool_in_flight(env.pool);
    bool sync = false;
    reply_t *r = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, body, len, &sync);
    assert_true(sync);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_OK_BODY);
    static const uint8_t nothing[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(r->body_len, sizeof(nothing));
    assert_memory_equal(r->body, nothing, sizeof(nothing));
    assert_int_equal(eim_counter_value(env.queries), before);
    assert_int_equal(eim_pg_pool_in_flight(env.pool), in_flight);
    free(r);

    /* an enable PSMO becomes a signed BF51 */
    enqueue(
        &env, "psmo",
        "{\"psmos\":[{\"enable\":{\"iccid\":\"98001032547698103214\",\"rollbackFlag\":true}}]}");
    reply_t *p = poll_package(&env);
    eim_esipa_eim_to_ipa_t *msg = calloc(1, sizeof(*msg));
    assert_int_equal(eim_esipa_eim_to_ipa_decode(p->body, p->body_len, msg, NULL), EIM_OK);
    assert_int_equal(msg->get_eim_package.kind, EIM_ESIPA_EIM_PACKAGE_EUICC_PACKAGE_REQUEST);
    eim_euicc_package_request_t *req = calloc(1, sizeof(*req));
    check_signed_package(&env, msg->get_eim_package.euicc_package_request, req);
    assert_int_equal(req->package.counter_value, 1);
    assert_true(req->package.psmos[0].rollback_flag);

    /* re-poll: identical bytes */
    reply_t *again = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, body, len, NULL);
    assert_int_equal(again->body_len, p->body_len);
    assert_memory_equal(again->body, p->body, p->body_len);
    free(again);

    /* JSON binding: the same BF51 */
    char json[128];
    snprintf(json, sizeof(json), "{\"eidValue\":\"%s\"}", TEST_EID);
    reply_t *j = dispatch(&env, EIM_ESIPA_BINDING_JSON, "getEimPackage", json, strlen(json), NULL);
    assert_int_equal(j->kind, EIM_ESIPA_REPLY_OK_BODY);
    eim_esipa_json_scratch_t scratch;
    eim_esipa_json_scratch_init(&scratch, EIM_ESIPA_JSON_MAX_TEXT);
    eim_esipa_eim_to_ipa_t *jmsg = calloc(1, sizeof(*jmsg));
    assert_int_equal(eim_esipa_json_decode_response("getEimPackage", (const char *)j->body,
                                                    j->body_len, &scratch, jmsg, NULL),
                     EIM_OK);
    assert_true(eim_span_eq(jmsg->get_eim_package.euicc_package_request,
                            msg->get_eim_package.euicc_package_request));
    eim_esipa_json_scratch_free(&scratch);
    free(jmsg);
    free(j);

    /* the signed result: applied, acknowledged (seq 7), then DONE */
    uint8_t rbody[2048];
    size_t rlen = result_body(&env, &req->package, 7, false, rbody, sizeof(rbody));
    reply_t *a = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, rbody, rlen, NULL);
    assert_int_equal(a->kind, EIM_ESIPA_REPLY_OK_BODY);
    static const uint8_t ack7[] = {0xBF, 0x50, 0x06, 0xBF, 0x53, 0x03, 0x80, 0x01, 0x07};
    assert_int_equal(a->body_len, sizeof(ack7));
    assert_memory_equal(a->body, ack7, sizeof(ack7));
    free(a);
    for (int i = 0; i < 200 && sql_long(&env, "SELECT count(*) FROM operations WHERE state = "
                                              "'DONE' AND result_code = 0") != 1;
         i++)
        uv_run(&env.loop, UV_RUN_NOWAIT), uv_sleep(10);
    assert_int_equal(sql_long(&env, "SELECT count(*) FROM operations WHERE state = 'DONE' "
                                    "AND result_seq_number = 7 AND result_decoded->>'verdict' "
                                    "= 'verified'"),
                     1);

    /* the same result twice: nothing changes, but it is acknowledged again
     * (the IPA resends a result whose acknowledgement it did not get) */
    reply_t *dup = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, rbody, rlen, NULL);
    assert_int_equal(dup->body_len, sizeof(ack7));
    assert_memory_equal(dup->body, ack7, sizeof(ack7));
    free(dup);
    assert_int_equal(sql_long(&env, "SELECT count(*) FROM operation_audit WHERE to_state = "
                                    "'RESULT_OK'"),
                     1);

    /* a tampered result: not applied, still acknowledged */
    enqueue(&env, "psmo", "{\"psmos\":[{\"enable\":{\"iccid\":\"98001032547698103214\"}}]}");
    reply_t *p2 = poll_package(&env);
    assert_int_equal(eim_esipa_eim_to_ipa_decode(p2->body, p2->body_len, msg, NULL), EIM_OK);
    check_signed_package(&env, msg->get_eim_package.euicc_package_request, req);
    assert_int_equal(req->package.counter_value, 2);
    rlen = result_body(&env, &req->package, 8, true, rbody, sizeof(rbody));
    reply_t *t = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, rbody, rlen, NULL);
    static const uint8_t ack8[] = {0xBF, 0x50, 0x06, 0xBF, 0x53, 0x03, 0x80, 0x01, 0x08};
    assert_int_equal(t->body_len, sizeof(ack8));
    assert_memory_equal(t->body, ack8, sizeof(ack8));
    free(t);
    assert_int_equal(sql_long(&env, "SELECT count(*) FROM operations WHERE state = 'DELIVERED' "
                                    "AND counter_value = 2"),
                     1);

    /* last seen: buffered in memory, written by one bulk UPDATE */
    assert_int_equal(eim_device_seen_buffered(env.seen), 1);
    wait_t f = {0};
    eim_device_seen_flush(env.seen, on_done, &f);
    run_until(&env, &f.done, 10000);
    assert_int_equal(f.count, 1);
    assert_int_equal(sql_long(&env, "SELECT count(*) FROM euiccs WHERE transport = 'https' AND "
                                    "address = '192.0.2.7:40000' AND rplmn = '62F210' AND "
                                    "last_seen_at IS NOT NULL"),
                     1);
    free(p2);
    free(p);
    free(req);
    free(msg);
    env_stop(&env);
}

static const char NOTIF_COMPACT_OTHER[] =
    "BF3D8181A07FA17D5A1089049032123451234512345678901235BF2F2580012E810204100C10736D"
    "64702E6578616D706C652E636F6D5A0A980010325476981032145F37400000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000";

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void test_notifications_errors_unsupported(void **state)
{
    (void)state;
    env_t env;
    env_start(&env);
    uint8_t body[512];
    size_t len = unhex(NOTIF_COMPACT_OTHER, body);
    reply_t *r = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, body, len, NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_NO_CONTENT);
    assert_int_equal(r->body_len, 0);
    free(r);
    assert_int_equal(sql_long(&env, "SELECT count(*) FROM notifications WHERE seq_number = 46 "
                                    "AND kind = 'compact_other' AND eid = '" TEST_EID "'"),
                     1);

    /* malformed ASN.1: the decoder's offset, tag and reason */
    static const uint8_t bad[] = {0xBF, 0x4F, 0x05, 0x5A, 0x03, 0x01, 0x02};
    r = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, bad, sizeof(bad), NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_BAD_REQUEST);
    assert_non_null(strstr(r->diagnostic, "offset"));
    free(r);
    static const uint8_t bad50[] = {0xBF, 0x50, 0x02, 0x30, 0x00};
    r = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, bad50, sizeof(bad50), NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_BAD_REQUEST);
    free(r);
    static const uint8_t junk[] = {0x30, 0x00};
    r = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, junk, sizeof(junk), NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_BAD_REQUEST);
    free(r);
    /* malformed JSON: a Failed header as body */
    r = dispatch(&env, EIM_ESIPA_BINDING_JSON, "getEimPackage", "{\"eidValue\":12}", 15, NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_BAD_REQUEST);
    assert_non_null(strstr(r->diagnostic, "eidValue"));
    r->body[r->body_len < sizeof(r->body) ? r->body_len : sizeof(r->body) - 1] = 0;
    assert_non_null(strstr((const char *)r->body, "Failed"));
    free(r);
    r = dispatch(&env, EIM_ESIPA_BINDING_JSON, "nope", "{}", 2, NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_BAD_REQUEST);
    free(r);
    /* indirect download: not implemented */
    r = dispatch(&env, EIM_ESIPA_BINDING_JSON, "initiateAuthentication", "{}", 2, NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_UNSUPPORTED);
    assert_non_null(strstr(r->diagnostic, "InitiateAuthentication"));
    free(r);
    /* a result for an unknown eUICC: eidNotFound */
    uint8_t pr[] = {0xBF, 0x50, 0x17, 0x5A, 0x10, 0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                    0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x99, 0xA0, 0x03, 0x02, 0x01, 0x02};
    r = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, pr, sizeof(pr), NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_OK_BODY);
    static const uint8_t not_found[] = {0xBF, 0x50, 0x03, 0x02, 0x01, 0x02};
    assert_int_equal(r->body_len, sizeof(not_found));
    assert_memory_equal(r->body, not_found, sizeof(not_found));
    free(r);
    /* metrics */
    eim_buf_t m;
    eim_buf_init(&m, 1 << 20);
    assert_int_equal(eim_metrics_render(env.metrics, &m), EIM_OK);
    eim_buf_append_byte(&m, 0);
    assert_non_null(strstr((char *)m.data, "eimd_esipa_requests_total{function="
                                           "\"HandleNotification\",outcome=\"no_content\"} 1"));
    assert_non_null(strstr((char *)m.data,
                           "eimd_esipa_requests_total{function="
                           "\"InitiateAuthentication\",outcome=\"unsupported\"} 1"));
    eim_buf_free(&m);
    env_stop(&env);
}

/* The builder alone: BF52 and BF54 carry the transaction id; bad params fail. */
static void test_builder_kinds(void **state)
{
    (void)state;
    eim_package_builder_t b = {0};
    uint8_t txid[16];
    for (int i = 0; i < 16; i++)
        txid[i] = (uint8_t)(i + 1);
    eim_queue_build_input_t in = {.op_id = "x",
                                  .eid = TEST_EID,
                                  .eim_id = "eim1",
                                  .kind = "euicc_data_request",
                                  .parameters = "{\"tagList\":\"A5A6\"}",
                                  .transaction_id = txid};
    eim_buf_t out;
    eim_buf_init(&out, EIM_QUEUE_PACKAGE_MAX);
    assert_int_equal(eim_package_builder_build(&b, &in, &out), EIM_OK);
    eim_esipa_euicc_data_request_t dr;
    assert_int_equal(eim_esipa_euicc_data_request_decode(out.data, out.len, &dr, NULL), EIM_OK);
    assert_true(dr.has_transaction_id);
    assert_memory_equal(dr.transaction_id.ptr, txid, 16);
    assert_int_equal(dr.tag_list.len, 2);
    eim_buf_reset(&out);
    in.kind = "download_trigger";
    in.parameters = "{\"activationCode\":\"1$smdp.example.com$MATCHING-ID\"}";
    assert_int_equal(eim_package_builder_build(&b, &in, &out), EIM_OK);
    eim_esipa_download_trigger_request_t tr;
    assert_int_equal(eim_esipa_download_trigger_request_decode(out.data, out.len, &tr, NULL),
                     EIM_OK);
    assert_int_equal(tr.data_kind, EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE);
    assert_memory_equal(tr.transaction_id.ptr, txid, 16);
    eim_buf_reset(&out);
    in.kind = "psmo";
    in.parameters = "{\"psmos\":[{\"getRAT\":{}}]}";
    in.uses_counter = true;
    assert_int_equal(eim_package_builder_build(&b, &in, &out), EIM_ERR_INVALID_ARG); /* no signer */
    in.parameters = "{\"psmos\":[]}";
    assert_int_equal(eim_package_builder_build(&b, &in, &out), EIM_ERR_INVALID_ARG);
    eim_buf_free(&out);
}

/* A device polling faster than esipa.polls_per_minute gets "too many
 * requests" with the seconds to wait, whichever binding it uses, and the
 * refusal costs no database work. */
static void test_poll_rate_limit(void **state)
{
    (void)state;
    env_t env;
    env_start(&env);
    eim_esipa_dispatcher_free(env.dispatcher);
    eim_esipa_dispatcher_options_t dopt = {.loop = &env.loop,
                                           .queue = env.queue,
                                           .pool = env.pool,
                                           .seen = env.seen,
                                           .metrics = env.metrics,
                                           .polls_per_minute = 1,
                                           .poll_burst = 2};
    env.dispatcher = eim_esipa_dispatcher_new(&dopt);
    uint8_t body[64];
    size_t len = esipa_test_poll_body(body);
    for (int i = 0; i < 2; i++) {
        reply_t *ok = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, body, len, NULL);
        assert_int_equal(ok->kind, EIM_ESIPA_REPLY_OK_BODY);
        free(ok);
    }
    uint64_t before = eim_counter_value(env.queries);
    bool sync = false;
    reply_t *r = dispatch(&env, EIM_ESIPA_BINDING_ASN1, NULL, body, len, &sync);
    assert_true(sync);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_TOO_MANY_REQUESTS);
    assert_in_range(r->retry_after_s, 59, 60);
    assert_int_equal(eim_counter_value(env.queries), before);
    free(r);
    static const char json[] = "{\"eidValue\":\"" TEST_EID "\"}";
    r = dispatch(&env, EIM_ESIPA_BINDING_JSON, "getEimPackage", json, strlen(json), NULL);
    assert_int_equal(r->kind, EIM_ESIPA_REPLY_TOO_MANY_REQUESTS);
    free(r);
    env_stop(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_kinds),
        cmocka_unit_test(test_poll_result_cycle),
        cmocka_unit_test(test_notifications_errors_unsupported),
        cmocka_unit_test(test_poll_rate_limit),
    };
    return cmocka_run_group_tests(tests, test_pki_group_setup, test_pki_group_teardown);
}
