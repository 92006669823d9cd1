/*
 * The CoAP layer against a real third-party peer: Debian 12's libcoap
 * 4.3.1 coap-client (NoSec build, coap-client-notls) talks to our endpoint
 * over plain UDP on loopback (coap_udp, a test-harness transport). Covers a
 * piggybacked 2.05, NON, a separate response, Block1 upload plus Block2
 * download in one exchange, a diagnostic 4.05 and 4.04, and a 5.03. The
 * handler is a stand-in for the ESipa dispatcher; the DTLS end-to-end runs
 * are in test_coap_dtls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "proto/base/memory.h"
#include "server/coap/coap_udp.h"
#include "tests/support/support.h"

#define CLIENT "/usr/bin/coap-client-notls"

typedef struct {
    uv_loop_t loop;
    eim_coap_udp_t *udp;
    eim_metrics_t *metrics;
    int calls;
    char dir[64];
    uv_timer_t later;
    eim_coap_exchange_t *deferred;
    int64_t exit_status;
    bool exited;
} fixture_t;

static uint8_t large_reply[5000];

static void on_later(uv_timer_t *t)
{
    fixture_t *f = t->data;
    eim_coap_response_t r = {.code = EIM_COAP_CONTENT,
                             .body = (const uint8_t *)"separate",
                             .body_len = 8,
                             .content_format = EIM_COAP_FORMAT_NONE,
                             .max_age_s = -1};
    eim_coap_respond(f->deferred, &r);
}

static void handler(eim_coap_exchange_t *x, const eim_coap_request_t *req, void *ctx)
{
    fixture_t *f = ctx;
    f->calls++;
    eim_coap_response_t r = {
        .code = EIM_COAP_CONTENT, .content_format = req->content_format, .max_age_s = -1};
    if (req->body_len == 5 && memcmp(req->body, "defer", 5) == 0) {
        f->deferred = x;
        uv_timer_start(&f->later, on_later, 300, 0);
        return;
    }
    if (req->body_len == 4 && memcmp(req->body, "busy", 4) == 0) {
        eim_coap_respond_error(x, EIM_COAP_SERVICE_UNAVAILABLE, "database unavailable", 30);
        return;
    }
    if (req->body_len >= 2000) {
        /* Proves the whole Block1 body arrived: its checksum leads the reply. */
        uint32_t sum = 0;
        for (size_t i = 0; i < req->body_len; i++)
            sum = sum * 31 + req->body[i];
        for (size_t i = 0; i < sizeof(large_reply); i++)
            large_reply[i] = (uint8_t)('a' + (i + sum) % 26);
        r.body = large_reply;
        r.body_len = sizeof(large_reply);
    } else {
        r.body = req->body; /* echo */
        r.body_len = req->body_len;
    }
    eim_coap_respond(x, &r);
}

static int setup(void **state)
{
    if (access(CLIENT, X_OK) != 0) {
        print_message("skipping: %s missing (libcoap3-bin)\n", CLIENT);
        return -1;
    }
    fixture_t *f = EIM_NEW(fixture_t);
    uv_loop_init(&f->loop);
    f->metrics = eim_metrics_new();
    uv_timer_init(&f->loop, &f->later);
    f->later.data = f;
    snprintf(f->dir, sizeof(f->dir), "/tmp/eimd-coap-udp.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    eim_coap_endpoint_options_t o = {
        .handler = handler,
        .handler_ctx = f,
        .metrics = f->metrics,
        .extra_content_format = -1,
        .piggyback_ms = 50,
        .ack_timeout_ms = 500,
    };
    assert_int_equal(eim_coap_udp_start(&f->loop, "127.0.0.1:0", &o, &f->udp), EIM_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    eim_coap_udp_close(f->udp);
    uv_close((uv_handle_t *)&f->later, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    eim_metrics_free(f->metrics);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void on_exit_cb(uv_process_t *p, int64_t status, int signal)
{
    fixture_t *f = p->data;
    f->exit_status = signal ? 128 + signal : status;
    f->exited = true;
    uv_close((uv_handle_t *)p, NULL);
}

/* Runs coap-client with args (NULL-terminated, after the program name)
 * while our loop serves it; returns its exit status. */
static int64_t run_client(fixture_t *f, const char *const *args)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)CLIENT;
    for (; *args && n < 31; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    uv_process_t proc;
    uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE},
                                     {.flags = UV_INHERIT_FD, .data.fd = 2},
                                     {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t po = {
        .file = CLIENT, .args = argv, .exit_cb = on_exit_cb, .stdio = stdio, .stdio_count = 3};
    proc.data = f;
    f->exited = false;
    assert_int_equal(uv_spawn(&f->loop, &proc, &po), 0);
    uint64_t deadline = uv_now(&f->loop) + 20000;
    while (!f->exited && uv_now(&f->loop) < deadline)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_true(f->exited);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return f->exit_status;
}

static char *uri(fixture_t *f, const char *path)
{
    static char buf[128];
    snprintf(buf, sizeof(buf), "coap://127.0.0.1:%d/%s", eim_coap_udp_port(f->udp), path);
    return buf;
}

static char *path_in(fixture_t *f, const char *name)
{
    char *p = eim_sprintf("%s/%s", f->dir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
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
    uint64_t v = at ? strtoull(at + strlen(needle), NULL, 10) : 0;
    eim_buf_free(&out);
    return v;
}

static void test_piggybacked_and_non(void **state)
{
    fixture_t *f = *state;
    char *in = path_in(f, "in"), *out = path_in(f, "out");
    static const uint8_t body[] = {0xBF, 0x2D, 0x00};
    write_file(in, body, sizeof(body));
    const char *args[] = {
        "-m", "post", "-t", "42", "-f", in, "-o", out, "-B", "5", uri(f, "gsma/rsp2/asn1"), NULL};
    assert_int_equal(run_client(f, args), 0);
    char *got = test_read_file(out);
    assert_non_null(got);
    assert_memory_equal(got, body, sizeof(body));
    free(got);
    assert_int_equal(f->calls, 1);
    unlink(out);
    const char *non[] = {
        "-N", "-m", "post", "-f", in, "-o", out, "-B", "5", uri(f, "gsma/rsp2/asn1"), NULL};
    assert_int_equal(run_client(f, non), 0);
    got = test_read_file(out);
    assert_non_null(got);
    assert_memory_equal(got, body, sizeof(body));
    free(got);
    assert_int_equal(f->calls, 2);
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"2.05\"}"), 2);
    free(in);
    free(out);
}

static void test_separate_response(void **state)
{
    fixture_t *f = *state;
    char *in = path_in(f, "in"), *out = path_in(f, "out");
    write_file(in, "defer", 5);
    const char *args[] = {"-m", "post", "-f", in, "-o", out, "-B", "5", uri(f, "gsma/rsp2/asn1"),
                          NULL};
    assert_int_equal(run_client(f, args), 0);
    char *got = test_read_file(out);
    assert_non_null(got);
    assert_string_equal(got, "separate");
    free(got);
    assert_int_equal(f->calls, 1);
    /* The client acknowledged the separate CON response: nothing resent. */
    assert_int_equal(counter(f, "eimd_coap_retransmissions_total"), 0);
    free(in);
    free(out);
}

static void test_block1_and_block2(void **state)
{
    fixture_t *f = *state;
    char *in = path_in(f, "in"), *out = path_in(f, "out");
    static uint8_t body[3500];
    uint32_t sum = 0;
    for (size_t i = 0; i < sizeof(body); i++) {
        body[i] = (uint8_t)(i * 7 + 3);
        sum = sum * 31 + body[i];
    }
    write_file(in, body, sizeof(body));
    const char *args[] = {
        "-m", "post", "-b", "1024", "-f", in, "-o", out, "-B", "10", uri(f, "gsma/rsp2/asn1"),
        NULL};
    assert_int_equal(run_client(f, args), 0);
    char *got = test_read_file(out);
    assert_non_null(got);
    assert_int_equal(strlen(got), sizeof(large_reply));
    for (size_t i = 0; i < sizeof(large_reply); i++)
        assert_int_equal((uint8_t)got[i], (uint8_t)('a' + (i + sum) % 26));
    free(got);
    assert_int_equal(f->calls, 1); /* Block2 follow-ups come from the copy */
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"2.31\"}"), 3);
    free(in);
    free(out);
}

static void test_error_codes(void **state)
{
    fixture_t *f = *state;
    char *in = path_in(f, "in"), *out = path_in(f, "out");
    write_file(in, "busy", 4);
    const char *get[] = {"-m", "get", "-o", out, "-B", "5", uri(f, "gsma/rsp2/asn1"), NULL};
    run_client(f, get);
    const char *other[] = {"-m", "post", "-f", in, "-o", out, "-B", "5", uri(f, "other"), NULL};
    run_client(f, other);
    const char *busy[] = {"-m", "post", "-f", in, "-o", out, "-B", "5", uri(f, "gsma/rsp2/asn1"),
                          NULL};
    run_client(f, busy);
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"4.05\"}"), 1);
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"4.04\"}"), 1);
    assert_int_equal(counter(f, "eimd_coap_requests_total{code=\"5.03\"}"), 1);
    assert_int_equal(f->calls, 1);
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_piggybacked_and_non, setup, teardown),
        cmocka_unit_test_setup_teardown(test_separate_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_and_block2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_codes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
