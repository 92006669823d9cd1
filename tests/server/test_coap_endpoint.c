/*
 * CoAP endpoint (RFC 7252 §4/§5, RFC 7959) with a fake transport: the test
 * feeds datagrams for session keys and records what the endpoint sends.
 * Every response code, piggybacked and separate responses with
 * retransmission (short timers on a real libuv loop), deduplication, Block1
 * reassembly, Block2 serving, size limits, session bounds, and the ESipa
 * reply mapping of coap_esipa.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "proto/base/memory.h"
#include "server/coap/coap_endpoint.h"
#include "server/coap/coap_esipa.h"

#define MAX_SENT 64

typedef struct {
    uint8_t data[1500];
    size_t len;
    eim_coap_key_t key;
    uint64_t at_ms;
} sent_t;

typedef enum { H_SYNC, H_DEFER } handler_mode_t;

typedef struct {
    uv_loop_t loop;
    eim_coap_endpoint_t *ep;
    eim_metrics_t *metrics;
    sent_t sent[MAX_SENT];
    size_t sent_count;
    handler_mode_t mode;
    eim_coap_response_t reply;
    uint8_t reply_body[8192];
    int calls;
    eim_coap_exchange_t *deferred; /* the latest */
    eim_coap_exchange_t *pending[16];
    size_t pending_count;
    uint8_t last_body[70000];
    size_t last_body_len;
    char last_peer[64];
} fixture_t;

static void on_send(const eim_coap_key_t *key, const uint8_t *data, size_t len, void *ctx)
{
    fixture_t *f = ctx;
    assert_true(f->sent_count < MAX_SENT);
    sent_t *s = &f->sent[f->sent_count++];
    assert_true(len <= sizeof(s->data));
    memcpy(s->data, data, len);
    s->len = len;
    s->key = *key;
    s->at_ms = uv_now(&f->loop);
}

static void handler(eim_coap_exchange_t *x, const eim_coap_request_t *req, void *ctx)
{
    fixture_t *f = ctx;
    f->calls++;
    assert_true(req->body_len <= sizeof(f->last_body));
    memcpy(f->last_body, req->body, req->body_len);
    f->last_body_len = req->body_len;
    snprintf(f->last_peer, sizeof(f->last_peer), "%s", req->peer);
    if (f->mode == H_SYNC)
        eim_coap_respond(x, &f->reply);
    else {
        f->deferred = x;
        assert_true(f->pending_count < 16);
        f->pending[f->pending_count++] = x;
    }
}

/* Answers the latest deferred exchange. */
static void answer_deferred(fixture_t *f)
{
    assert_true(f->pending_count > 0);
    eim_coap_respond(f->pending[--f->pending_count], &f->reply);
}

static eim_coap_endpoint_options_t base_options(fixture_t *f)
{
    eim_coap_endpoint_options_t o = {
        .loop = &f->loop,
        .send = on_send,
        .send_ctx = f,
        .handler = handler,
        .handler_ctx = f,
        .metrics = f->metrics,
        .extra_content_format = -1,
        .ack_timeout_ms = 20,
        .ack_random_factor = 1.5,
        .max_retransmit = 3,
        .piggyback_ms = 15,
    };
    return o;
}

static void start(fixture_t *f, const eim_coap_endpoint_options_t *o)
{
    f->ep = eim_coap_endpoint_new(o);
}

static int setup(void **state)
{
    fixture_t *f = EIM_NEW(fixture_t);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->metrics = eim_metrics_new();
    f->mode = H_SYNC;
    f->reply = (eim_coap_response_t){.code = EIM_COAP_CONTENT,
                                     .body = (const uint8_t *)"\xbf\x4f\x03\x02\x01\x01",
                                     .body_len = 6,
                                     .content_format = EIM_COAP_FORMAT_NONE,
                                     .max_age_s = -1};
    eim_coap_endpoint_options_t o = base_options(f);
    start(f, &o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_free(f->ep);
    /* Exchanges still owed an answer: answering an orphan releases it. */
    while (f->pending_count > 0)
        answer_deferred(f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    eim_metrics_free(f->metrics);
    free(f);
    return 0;
}

static void restart(fixture_t *f, const eim_coap_endpoint_options_t *o)
{
    eim_coap_endpoint_free(f->ep);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    start(f, o);
}

/* ---- client side helpers ---- */

typedef struct {
    eim_coap_type_t type;
    uint8_t code;
    uint16_t mid;
    const char *path; /* NULL: gsma/rsp2/asn1 */
    int content_format;
    eim_coap_block_t block1, block2;
    bool has_size1;
    uint32_t size1;
    uint16_t extra_option;
    const uint8_t *body;
    size_t body_len;
} req_t;

static eim_coap_key_t key_of(const char *name)
{
    eim_coap_key_t k;
    eim_coap_key_set(&k, name, strlen(name));
    return k;
}

static void send_req(fixture_t *f, const char *session, const req_t *r)
{
    eim_coap_message_t m;
    uint8_t out[70000], s_cf[4], s_b1[4], s_b2[4], s_sz[4];
    size_t len;
    char path[64];
    eim_coap_message_init(&m, r->type, r->code ? r->code : EIM_COAP_POST, r->mid,
                          (const uint8_t *)"TOK1", 4);
    snprintf(path, sizeof(path), "%s", r->path ? r->path : "gsma/rsp2/asn1");
    for (char *seg = strtok(path, "/"); seg; seg = strtok(NULL, "/"))
        assert_int_equal(
            eim_coap_add_option(&m, EIM_COAP_OPTION_URI_PATH, (uint8_t *)seg, strlen(seg)), EIM_OK);
    if (r->content_format > 0)
        eim_coap_add_uint_option(&m, EIM_COAP_OPTION_CONTENT_FORMAT, (uint32_t)r->content_format,
                                 s_cf);
    if (r->block1.present)
        eim_coap_add_block_option(&m, EIM_COAP_OPTION_BLOCK1, &r->block1, s_b1);
    if (r->block2.present)
        eim_coap_add_block_option(&m, EIM_COAP_OPTION_BLOCK2, &r->block2, s_b2);
    if (r->has_size1)
        eim_coap_add_uint_option(&m, EIM_COAP_OPTION_SIZE1, r->size1, s_sz);
    if (r->extra_option)
        eim_coap_add_option(&m, r->extra_option, NULL, 0);
    m.payload = r->body;
    m.payload_len = r->body_len;
    assert_int_equal(eim_coap_build(&m, out, sizeof(out), &len), EIM_OK);
    eim_coap_key_t k = key_of(session);
    eim_coap_endpoint_input(f->ep, &k, "192.0.2.1:40000", out, len);
}

static void send_raw(fixture_t *f, const char *session, const uint8_t *data, size_t len)
{
    eim_coap_key_t k = key_of(session);
    eim_coap_endpoint_input(f->ep, &k, "192.0.2.1:40000", data, len);
}

static const uint8_t BODY[] = {0xBF, 0x2D, 0x00};

static req_t post(uint16_t mid)
{
    return (req_t){.type = EIM_COAP_CON, .mid = mid, .body = BODY, .body_len = sizeof(BODY)};
}

/* Parses the i-th sent datagram (caller clears). */
static eim_coap_message_t sent_msg(fixture_t *f, size_t i)
{
    eim_coap_message_t m;
    assert_true(i < f->sent_count);
    assert_int_equal(eim_coap_parse(f->sent[i].data, f->sent[i].len, &m), EIM_OK);
    return m;
}

static uint64_t counter(fixture_t *f, const char *series)
{
    eim_buf_t out;
    eim_buf_init(&out, 1 << 20);
    assert_int_equal(eim_metrics_render(f->metrics, &out), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&out, 0), EIM_OK);
    char needle[160];
    snprintf(needle, sizeof(needle), "\n%s ", series);
    const char *at = strstr((const char *)out.data, needle);
    uint64_t v = 0;
    if (at != NULL)
        v = strtoull(at + strlen(needle), NULL, 10);
    eim_buf_free(&out);
    return v;
}

/* Runs the loop for about ms milliseconds of wall time. */
static void run_for(fixture_t *f, uint64_t ms)
{
    uv_update_time(&f->loop);
    uint64_t until = uv_now(&f->loop) + ms;
    while (uv_now(&f->loop) < until) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        uv_sleep(1);
        uv_update_time(&f->loop);
    }
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* ---- tests ---- */

static void test_piggybacked_content(void **state)
{
    fixture_t *f = *state;
    req_t r = post(0x1001);
    r.content_format = EIM_COAP_FORMAT_OCTET;
    send_req(f, "s1", &r);
    assert_int_equal(f->calls, 1);
    assert_memory_equal(f->last_body, BODY, sizeof(BODY));
    assert_string_equal(f->last_peer, "192.0.2.1:40000");
    assert_int_equal(f->sent_count, 1);
    eim_coap_message_t m = sent_msg(f, 0);
    assert_int_equal(m.type, EIM_COAP_ACK);
    assert_int_equal(m.code, EIM_COAP_CONTENT);
    assert_int_equal(m.message_id, 0x1001);
    assert_memory_equal(m.token, "TOK1", 4);
    assert_int_equal(m.payload_len, 6);
    assert_memory_equal(f->sent[0].key.bytes, "s1", 2);
    eim_coap_message_clear(&m);
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"2.05\"}"), 1);
}

static void test_non_request(void **state)
{
    fixture_t *f = *state;
    req_t r = post(0x2002);
    r.type = EIM_COAP_NON;
    f->reply.code = EIM_COAP_CHANGED;
    f->reply.body_len = 0;
    send_req(f, "s1", &r);
    eim_coap_message_t m = sent_msg(f, 0);
    assert_int_equal(m.type, EIM_COAP_NON);
    assert_int_equal(m.code, EIM_COAP_CHANGED);
    assert_int_not_equal(m.message_id, 0x2002); /* a fresh message ID (§5.2.3) */
    assert_memory_equal(m.token, "TOK1", 4);
    assert_int_equal(m.payload_len, 0);
    eim_coap_message_clear(&m);
    /* A duplicate NON gets the same NON again. */
    send_req(f, "s1", &r);
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->sent_count, 2);
    assert_memory_equal(f->sent[1].data, f->sent[0].data, f->sent[0].len);
}

static uint8_t expect_code(fixture_t *f, const req_t *r, uint8_t code, const char *diag_part)
{
    size_t before = f->sent_count;
    send_req(f, "s1", r);
    assert_int_equal(f->sent_count, before + 1);
    eim_coap_message_t m = sent_msg(f, before);
    char text[5], want[5];
    assert_string_equal(eim_coap_code_text(m.code, text), eim_coap_code_text(code, want));
    assert_int_equal(m.type, EIM_COAP_ACK);
    if (diag_part != NULL) {
        char diag[256] = {0};
        memcpy(diag, m.payload, m.payload_len < 255 ? m.payload_len : 255);
        assert_non_null(strstr(diag, diag_part));
        assert_int_equal(m.content_format, EIM_COAP_FORMAT_NONE);
    }
    eim_coap_message_clear(&m);
    return code;
}

static void test_error_codes(void **state)
{
    fixture_t *f = *state;
    req_t r = post(1);
    r.path = "gsma/rsp2/other";
    expect_code(f, &r, EIM_COAP_NOT_FOUND, "no such resource");
    r = post(2);
    r.code = EIM_COAP_GET;
    expect_code(f, &r, EIM_COAP_METHOD_NOT_ALLOWED, "POST");
    r = post(3);
    r.content_format = 50; /* application/json */
    expect_code(f, &r, EIM_COAP_UNSUPPORTED_CONTENT_FORMAT, "Content-Format");
    r = post(4);
    r.extra_option = 9; /* OSCORE: critical, unsupported */
    expect_code(f, &r, EIM_COAP_BAD_OPTION, "critical option 9");
    r = post(5);
    r.body_len = 0;
    expect_code(f, &r, EIM_COAP_BAD_REQUEST, "empty");
    assert_int_equal(f->calls, 0);
    /* Codes from the handler: 5.03 with Max-Age. */
    f->reply = (eim_coap_response_t){.code = EIM_COAP_SERVICE_UNAVAILABLE,
                                     .body = (const uint8_t *)"database unavailable",
                                     .body_len = 20,
                                     .content_format = EIM_COAP_FORMAT_NONE,
                                     .max_age_s = 30};
    size_t before = f->sent_count;
    r = post(6);
    send_req(f, "s1", &r);
    eim_coap_message_t m = sent_msg(f, before);
    assert_int_equal(m.code, EIM_COAP_SERVICE_UNAVAILABLE);
    bool max_age = false;
    for (size_t i = 0; i < m.option_count; i++)
        if (m.options[i].number == EIM_COAP_OPTION_MAX_AGE) {
            max_age = true;
            assert_int_equal(m.options[i].len, 1);
            assert_int_equal(m.options[i].value[0], 30);
        }
    assert_true(max_age);
    eim_coap_message_clear(&m);
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"4.04\"}"), 1);
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"5.03\"}"), 1);
}

static void test_request_size_limit(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_options_t o = base_options(f);
    o.max_datagram_bytes = 200;
    restart(f, &o);
    uint8_t big[400];
    memset(big, 0x30, sizeof(big));
    req_t r = post(7);
    r.body = big;
    r.body_len = sizeof(big);
    expect_code(f, &r, EIM_COAP_REQUEST_ENTITY_TOO_LARGE, "Block1");
    eim_coap_message_t m = sent_msg(f, 0);
    assert_true(m.has_size1);
    assert_int_equal(m.size1, 65536);
    eim_coap_message_clear(&m);
    assert_int_equal(f->calls, 0);
}

static void test_duplicate_con(void **state)
{
    fixture_t *f = *state;
    req_t r = post(0x3003);
    send_req(f, "s1", &r);
    send_req(f, "s1", &r);
    send_req(f, "s1", &r);
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->sent_count, 3);
    assert_int_equal(f->sent[1].len, f->sent[0].len);
    assert_memory_equal(f->sent[1].data, f->sent[0].data, f->sent[0].len);
    assert_memory_equal(f->sent[2].data, f->sent[0].data, f->sent[0].len);
    assert_int_equal(counter(f, "eimd_coap_duplicates_total"), 2);
    /* Same message ID in another session is another request. */
    send_req(f, "s2", &r);
    assert_int_equal(f->calls, 2);
    /* A new message ID in the same session too. */
    r.mid = 0x3004;
    send_req(f, "s1", &r);
    assert_int_equal(f->calls, 3);
}

static void test_dedup_expires(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_options_t o = base_options(f);
    o.exchange_lifetime_ms = 30;
    restart(f, &o);
    req_t r = post(0x4004);
    send_req(f, "s1", &r);
    send_req(f, "s1", &r);
    assert_int_equal(f->calls, 1);
    run_for(f, 50);
    send_req(f, "s1", &r);
    assert_int_equal(f->calls, 2); /* past EXCHANGE_LIFETIME: a new request */
}

static void test_separate_response_retransmitted(void **state)
{
    fixture_t *f = *state;
    f->mode = H_DEFER;
    req_t r = post(0x5005);
    send_req(f, "s1", &r);
    assert_int_equal(f->sent_count, 0);
    assert_non_null(f->deferred);
    assert_int_equal(eim_coap_endpoint_in_flight(f->ep), 1);
    run_for(f, 30); /* past the 15 ms piggyback window */
    assert_int_equal(f->sent_count, 1);
    eim_coap_message_t m = sent_msg(f, 0);
    assert_int_equal(m.type, EIM_COAP_ACK);
    assert_int_equal(m.code, 0);
    assert_int_equal(m.message_id, 0x5005);
    eim_coap_message_clear(&m);
    /* A duplicate while running: the empty ACK again, no second call. */
    send_req(f, "s1", &r);
    assert_int_equal(f->sent_count, 2);
    assert_int_equal(f->sent[1].len, 4);
    assert_int_equal(f->calls, 1);

    answer_deferred(f);
    assert_int_equal(eim_coap_endpoint_in_flight(f->ep), 0);
    assert_int_equal(f->sent_count, 3);
    m = sent_msg(f, 2);
    assert_int_equal(m.type, EIM_COAP_CON);
    assert_int_equal(m.code, EIM_COAP_CONTENT);
    assert_memory_equal(m.token, "TOK1", 4);
    uint16_t response_mid = m.message_id;
    eim_coap_message_clear(&m);

    /* Unacknowledged: sent again after ~20-30 ms, then doubling, 3 times. */
    run_for(f, 20 * 1.5 + 40 * 1.5 + 80 * 1.5 + 60);
    assert_int_equal(f->sent_count, 6);
    for (size_t i = 3; i < 6; i++) {
        assert_int_equal(f->sent[i].len, f->sent[2].len);
        assert_memory_equal(f->sent[i].data, f->sent[2].data, f->sent[2].len);
    }
    uint64_t gap1 = f->sent[3].at_ms - f->sent[2].at_ms;
    uint64_t gap2 = f->sent[4].at_ms - f->sent[3].at_ms;
    uint64_t gap3 = f->sent[5].at_ms - f->sent[4].at_ms;
    assert_true(gap1 >= 19 && gap1 <= 45);
    assert_true(gap2 >= 2 * gap1 - 6 && gap3 >= 2 * gap2 - 6);
    run_for(f, 260);
    assert_int_equal(f->sent_count, 6); /* MAX_RETRANSMIT reached */
    assert_int_equal(counter(f, "eimd_coap_retransmissions_total"), 3);
    assert_int_equal(counter(f, "eimd_coap_drops_total{reason=\"retransmit_exhausted\"}"), 1);
    (void)response_mid;
}

static void test_separate_response_acknowledged(void **state)
{
    fixture_t *f = *state;
    f->mode = H_DEFER;
    req_t r = post(0x6006);
    send_req(f, "s1", &r);
    run_for(f, 25);
    assert_int_equal(f->sent_count, 1); /* empty ACK */
    answer_deferred(f);
    eim_coap_message_t m = sent_msg(f, 1);
    uint16_t mid = m.message_id;
    eim_coap_message_clear(&m);
    uint8_t ack[4] = {0x60, 0x00, (uint8_t)(mid >> 8), (uint8_t)mid};
    send_raw(f, "s1", ack, sizeof(ack));
    run_for(f, 120);
    assert_int_equal(f->sent_count, 2); /* no retransmission after the ACK */
    assert_int_equal(counter(f, "eimd_coap_retransmissions_total"), 0);
    /* An ACK for nothing is counted as such. */
    send_raw(f, "s1", ack, sizeof(ack));
    assert_int_equal(counter(f, "eimd_coap_drops_total{reason=\"unmatched_ack\"}"), 1);
}

static void test_late_answer_in_piggyback_window(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_options_t o = base_options(f);
    o.piggyback_ms = 200;
    restart(f, &o);
    f->mode = H_DEFER;
    req_t r = post(0x6106);
    send_req(f, "s1", &r);
    run_for(f, 20);
    assert_int_equal(f->sent_count, 0);
    answer_deferred(f);
    eim_coap_message_t m = sent_msg(f, 0);
    assert_int_equal(m.type, EIM_COAP_ACK); /* still piggybacked */
    assert_int_equal(m.code, EIM_COAP_CONTENT);
    assert_int_equal(m.message_id, 0x6106);
    eim_coap_message_clear(&m);
    run_for(f, 250);
    assert_int_equal(f->sent_count, 1);
}

/* Options left at zero get the documented defaults: an answer 50 ms late
 * is still piggybacked (the window is 500 ms). */
static void test_default_piggyback_window(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_options_t o = base_options(f);
    o.piggyback_ms = 0;
    restart(f, &o);
    f->mode = H_DEFER;
    req_t r = post(0x6107);
    send_req(f, "s1", &r);
    run_for(f, 50);
    assert_int_equal(f->sent_count, 0);
    answer_deferred(f);
    eim_coap_message_t m = sent_msg(f, 0);
    assert_int_equal(m.type, EIM_COAP_ACK);
    assert_int_equal(m.code, EIM_COAP_CONTENT);
    assert_int_equal(m.message_id, 0x6107);
    eim_coap_message_clear(&m);
}

static void test_block2(void **state)
{
    fixture_t *f = *state;
    static uint8_t large[2500];
    for (size_t i = 0; i < sizeof(large); i++)
        large[i] = (uint8_t)(i * 7);
    f->reply.body = large;
    f->reply.body_len = sizeof(large);
    f->reply.content_format = EIM_COAP_FORMAT_OCTET;
    req_t r = post(0x7000);
    send_req(f, "s1", &r);
    uint8_t got[4096];
    size_t got_len = 0;
    uint8_t etag[4];
    for (uint32_t num = 0; num < 3; num++) {
        if (num > 0) {
            r = post((uint16_t)(0x7000 + num));
            r.body_len = 0;
            r.block2 = (eim_coap_block_t){.present = true, .num = num, .szx = 6};
            send_req(f, "s1", &r);
        }
        eim_coap_message_t m = sent_msg(f, num);
        assert_int_equal(m.code, EIM_COAP_CONTENT);
        assert_true(m.block2.present);
        assert_int_equal(m.block2.num, num);
        assert_int_equal(m.block2.szx, 6);
        assert_int_equal(m.block2.more, num < 2);
        assert_true(m.has_size2);
        assert_int_equal(m.size2, 2500);
        assert_int_equal(m.content_format, EIM_COAP_FORMAT_OCTET);
        assert_int_equal(m.payload_len, num < 2 ? 1024 : 2500 - 2048);
        for (size_t i = 0; i < m.option_count; i++)
            if (m.options[i].number == EIM_COAP_OPTION_ETAG) {
                if (num == 0)
                    memcpy(etag, m.options[i].value, 4);
                else
                    assert_memory_equal(etag, m.options[i].value, 4);
            }
        memcpy(got + got_len, m.payload, m.payload_len);
        got_len += m.payload_len;
        eim_coap_message_clear(&m);
    }
    assert_int_equal(got_len, sizeof(large));
    assert_memory_equal(got, large, sizeof(large));
    assert_int_equal(f->calls, 1); /* blocks come from the copy, not the handler */
    assert_true(eim_coap_endpoint_cache_bytes(f->ep) >= sizeof(large));

    /* Beyond the end: 4.00. */
    r = post(0x7010);
    r.block2 = (eim_coap_block_t){.present = true, .num = 9, .szx = 6};
    expect_code(f, &r, EIM_COAP_BAD_REQUEST, "block");

    /* The client may ask for smaller blocks in its first request. */
    r = post(0x7020);
    r.block2 = (eim_coap_block_t){.present = true, .num = 0, .szx = 4};
    size_t before = f->sent_count;
    send_req(f, "s1", &r);
    eim_coap_message_t m = sent_msg(f, before);
    assert_int_equal(m.block2.szx, 4);
    assert_int_equal(m.payload_len, 256);
    assert_true(m.block2.more);
    eim_coap_message_clear(&m);
}

static void test_block1(void **state)
{
    fixture_t *f = *state;
    static uint8_t body[3000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 13 + 1);
    for (uint32_t num = 0; num < 3; num++) {
        size_t off = (size_t)num * 1024;
        req_t r = post((uint16_t)(0x8000 + num));
        r.body = body + off;
        r.body_len = num < 2 ? 1024 : sizeof(body) - off;
        r.block1 = (eim_coap_block_t){.present = true, .num = num, .more = num < 2, .szx = 6};
        if (num == 0) {
            r.has_size1 = true;
            r.size1 = sizeof(body);
        }
        send_req(f, "s1", &r);
        eim_coap_message_t m = sent_msg(f, num);
        assert_int_equal(m.code, num < 2 ? EIM_COAP_CONTINUE : EIM_COAP_CONTENT);
        assert_true(m.block1.present);
        assert_int_equal(m.block1.num, num);
        assert_int_equal(m.block1.more, num < 2);
        eim_coap_message_clear(&m);
    }
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->last_body_len, sizeof(body));
    assert_memory_equal(f->last_body, body, sizeof(body));
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"2.31\"}"), 2);

    /* Out of sequence: 4.08. */
    req_t r = post(0x8100);
    r.body = body;
    r.body_len = 1024;
    r.block1 = (eim_coap_block_t){.present = true, .num = 3, .more = true, .szx = 6};
    expect_code(f, &r, EIM_COAP_REQUEST_ENTITY_INCOMPLETE, "sequence");
    /* A middle block of the wrong size: 4.00. */
    r.mid = 0x8101;
    r.block1 = (eim_coap_block_t){.present = true, .num = 0, .more = true, .szx = 6};
    r.body_len = 100;
    expect_code(f, &r, EIM_COAP_BAD_REQUEST, "block size");
}

static void test_block1_too_large(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_options_t o = base_options(f);
    o.max_body_bytes = 2048;
    restart(f, &o);
    static uint8_t block[1024];
    /* Announced too large through Size1: refused at the first block. */
    req_t r = post(0x9000);
    r.body = block;
    r.body_len = sizeof(block);
    r.block1 = (eim_coap_block_t){.present = true, .num = 0, .more = true, .szx = 6};
    r.has_size1 = true;
    r.size1 = 5000;
    expect_code(f, &r, EIM_COAP_REQUEST_ENTITY_TOO_LARGE, "larger than 2048");
    eim_coap_message_t m = sent_msg(f, 0);
    assert_true(m.has_size1);
    assert_int_equal(m.size1, 2048);
    eim_coap_message_clear(&m);
    /* Not announced: refused when the third block crosses the bound. */
    for (uint32_t num = 0; num < 3; num++) {
        r = post((uint16_t)(0x9100 + num));
        r.body = block;
        r.body_len = sizeof(block);
        r.block1 = (eim_coap_block_t){.present = true, .num = num, .more = true, .szx = 6};
        expect_code(f, &r, num < 2 ? EIM_COAP_CONTINUE : EIM_COAP_REQUEST_ENTITY_TOO_LARGE,
                    num < 2 ? NULL : "larger");
    }
    assert_int_equal(f->calls, 0);
}

static void test_ping_malformed_and_responses(void **state)
{
    fixture_t *f = *state;
    uint8_t ping[4] = {0x40, 0x00, 0x12, 0x34};
    send_raw(f, "s1", ping, sizeof(ping));
    assert_int_equal(f->sent_count, 1);
    uint8_t rst[4] = {0x70, 0x00, 0x12, 0x34};
    assert_memory_equal(f->sent[0].data, rst, 4);
    /* A CON with a broken option: Reset with its message ID. */
    uint8_t broken[6] = {0x40, 0x02, 0x55, 0x66, 0xb4, 0x67};
    send_raw(f, "s1", broken, sizeof(broken));
    assert_int_equal(f->sent_count, 2);
    uint8_t rst2[4] = {0x70, 0x00, 0x55, 0x66};
    assert_memory_equal(f->sent[1].data, rst2, 4);
    /* A NON that is garbage, or bytes that are not CoAP: silence. */
    uint8_t junk[5] = {0x50, 0x02, 0, 1, 0xff};
    send_raw(f, "s1", junk, sizeof(junk));
    send_raw(f, "s1", (const uint8_t *)"\x16\xfe\xfd", 3);
    assert_int_equal(f->sent_count, 2);
    assert_int_equal(counter(f, "eimd_coap_drops_total{reason=\"malformed\"}"), 3);
    /* A response sent to the server: Reset for CON. */
    req_t r = post(0x0101);
    r.code = EIM_COAP_CONTENT;
    send_req(f, "s1", &r);
    assert_int_equal(f->sent_count, 3);
    assert_int_equal(f->calls, 0);
    /* Nothing is kept for sessions that only pinged. */
    assert_int_equal(eim_coap_endpoint_sessions(f->ep), 0);
}

static void test_session_bounds(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_options_t o = base_options(f);
    o.max_sessions = 2;
    o.max_exchanges_per_session = 2;
    restart(f, &o);
    f->mode = H_DEFER;
    req_t r = post(1);
    send_req(f, "a", &r);
    r.mid = 2;
    send_req(f, "a", &r);
    r.mid = 3;
    send_req(f, "a", &r); /* both slots of "a" are running: dropped */
    assert_int_equal(f->calls, 2);
    assert_int_equal(counter(f, "eimd_coap_drops_total{reason=\"session_busy\"}"), 1);
    send_req(f, "b", &r);
    send_req(f, "c", &r); /* third session */
    assert_int_equal(f->calls, 3);
    assert_int_equal(counter(f, "eimd_coap_drops_total{reason=\"too_many_sessions\"}"), 1);
    assert_int_equal(eim_coap_endpoint_sessions(f->ep), 2);
    /* Forgetting a session with a running exchange: the late answer is dropped safely. */
    eim_coap_key_t b = key_of("b");
    size_t before = f->sent_count;
    eim_coap_endpoint_forget(f->ep, &b);
    answer_deferred(f);
    assert_int_equal(f->sent_count, before);
    assert_int_equal(eim_coap_endpoint_sessions(f->ep), 1);
    /* Finished exchanges make room for new ones in a full session. */
    answer_deferred(f);
    answer_deferred(f);
    f->mode = H_SYNC;
    r.mid = 4;
    send_req(f, "a", &r);
    assert_int_equal(f->calls, 4);
}

static void test_cache_budget(void **state)
{
    fixture_t *f = *state;
    eim_coap_endpoint_options_t o = base_options(f);
    o.max_cache_bytes = 6000;
    restart(f, &o);
    static uint8_t large[2500];
    f->reply.body = large;
    f->reply.body_len = sizeof(large);
    char name[8];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "k%d", i);
        req_t r = post((uint16_t)(100 + i));
        send_req(f, name, &r);
    }
    assert_true(eim_coap_endpoint_cache_bytes(f->ep) <= 6000);
    assert_true(eim_coap_endpoint_sessions(f->ep) < 5);
}

/* ---- ESipa reply mapping ---- */

static eim_esipa_reply_t fake_reply;
static char fake_transport[16];

static void fake_dispatch(eim_esipa_dispatcher_t *d, const eim_esipa_request_t *req,
                          const uint8_t *body, size_t body_len, eim_esipa_reply_cb cb, void *ctx)
{
    (void)d;
    (void)body;
    (void)body_len;
    assert_int_equal(req->binding, EIM_ESIPA_BINDING_ASN1);
    assert_string_equal(req->peer, "192.0.2.1:40000");
    snprintf(fake_transport, sizeof(fake_transport), "%s", req->transport);
    cb(&fake_reply, ctx);
}

static void test_esipa_mapping(void **state)
{
    fixture_t *f = *state;
    static eim_coap_esipa_t esipa = {.dispatcher = NULL, .dispatch = fake_dispatch};
    eim_coap_endpoint_options_t o = base_options(f);
    o.handler = eim_coap_esipa_handler;
    o.handler_ctx = &esipa;
    restart(f, &o);
    static const struct {
        eim_esipa_reply_kind_t kind;
        uint8_t code;
        bool body;
        int max_age;
    } cases[] = {
        {EIM_ESIPA_REPLY_OK_BODY, EIM_COAP_CONTENT, true, -1},
        {EIM_ESIPA_REPLY_NO_CONTENT, EIM_COAP_CHANGED, false, -1},
        {EIM_ESIPA_REPLY_BAD_REQUEST, EIM_COAP_BAD_REQUEST, true, -1},
        {EIM_ESIPA_REPLY_UNSUPPORTED, EIM_COAP_NOT_IMPLEMENTED, true, -1},
        {EIM_ESIPA_REPLY_UNAVAILABLE, EIM_COAP_SERVICE_UNAVAILABLE, true, 30},
        {EIM_ESIPA_REPLY_INTERNAL, EIM_COAP_INTERNAL_SERVER_ERROR, true, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake_reply = (eim_esipa_reply_t){.kind = cases[i].kind,
                                         .function = "GetEimPackage",
                                         .body = (const uint8_t *)"\xbf\x4f\x03\x02\x01\x01",
                                         .body_len = 6,
                                         .retry_after_s = 30,
                                         .diagnostic = "why"};
        req_t r = post((uint16_t)(0xA000 + i));
        r.content_format = EIM_COAP_FORMAT_OCTET;
        send_req(f, "s1", &r);
        assert_string_equal(fake_transport, "coaps");
        eim_coap_message_t m = sent_msg(f, i);
        assert_int_equal(m.code, cases[i].code);
        if (cases[i].kind == EIM_ESIPA_REPLY_OK_BODY) {
            assert_int_equal(m.payload_len, 6);
            assert_int_equal(m.content_format, EIM_COAP_FORMAT_OCTET);
        } else if (cases[i].body) {
            assert_int_equal(m.payload_len, 3);
            assert_memory_equal(m.payload, "why", 3);
        } else {
            assert_int_equal(m.payload_len, 0);
        }
        bool has_age = false;
        for (size_t j = 0; j < m.option_count; j++)
            if (m.options[j].number == EIM_COAP_OPTION_MAX_AGE)
                has_age = m.options[j].value[0] == cases[i].max_age;
        assert_int_equal(has_age, cases[i].max_age >= 0);
        eim_coap_message_clear(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_piggybacked_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_con, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_separate_response_retransmitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_separate_response_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_answer_in_piggyback_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_piggyback_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_malformed_and_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_esipa_mapping, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
