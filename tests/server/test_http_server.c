/*
 * HTTP server: request parsing, keep-alive and pipelining, asynchronous
 * answers, and the limits (header size 431, body size 413, malformed 400,
 * max connections, idle timeout). The server runs on a libuv loop in a
 * second thread; the test talks to it over loopback with blocking sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "proto/base/memory.h"
#include "server/http/http_server.h"
#include "tests/support/support.h"

typedef struct {
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t stop;
    eim_http_server_t *server;
    eim_metrics_t *metrics;
    int port;
} fixture_t;

typedef struct {
    uv_timer_t timer;
    eim_http_exchange_t *exchange;
} slow_t;

static void on_slow_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static void on_slow_timer(uv_timer_t *timer)
{
    slow_t *slow = timer->data;
    eim_http_respond(slow->exchange, 200, "text/plain", NULL, "slow", 4);
    uv_close((uv_handle_t *)timer, on_slow_closed);
}

/* Echoes what it parsed; /slow answers 50 ms later from a timer. */
static void handler(eim_http_exchange_t *exchange, const eim_http_request_t *request, void *ctx)
{
    fixture_t *f = ctx;
    if (strcmp(request->path, "/slow") == 0) {
        slow_t *slow = EIM_NEW(slow_t);
        slow->exchange = exchange;
        uv_timer_init(&f->loop, &slow->timer);
        slow->timer.data = slow;
        uv_timer_start(&slow->timer, on_slow_timer, 50, 0);
        return;
    }
    const char *x = eim_http_request_header(request, "x-test");
    char body[512];
    int n = snprintf(body, sizeof(body), "%s %s q=%s x=%s len=%zu", request->method, request->path,
                     request->query, x ? x : "-", request->body_len);
    eim_http_respond(exchange, 200, "text/plain", "X-Echo: 1\r\n", body, (size_t)n);
}

static void on_stop(uv_async_t *async)
{
    fixture_t *f = async->data;
    eim_http_server_close(f->server, NULL, NULL);
    uv_close((uv_handle_t *)async, NULL);
}

static void run_loop(void *arg)
{
    fixture_t *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
    fixture_t *f = EIM_NEW(fixture_t);
    uv_loop_init(&f->loop);
    f->metrics = eim_metrics_new();
    f->port = test_free_port();
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
    eim_http_server_options_t options = {
        .name = "test",
        .listen = listen,
        .max_connections = 3,
        .max_header_bytes = 1024,
        .max_body_bytes = 2048,
        .idle_timeout_ms = 300,
        .handler = handler,
        .handler_ctx = f,
        .metrics = f->metrics,
    };
    f->server = eim_http_server_start(&f->loop, &options);
    assert_non_null(f->server);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    uv_thread_create(&f->thread, run_loop, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    uv_async_send(&f->stop);
    uv_thread_join(&f->thread);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    eim_metrics_free(f->metrics);
    free(f);
    return 0;
}

static ssize_t send_raw(fixture_t *f, const char *request, char *response, size_t size)
{
    return test_http_raw(f->port, request, strlen(request), response, size, 2000);
}

static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_request_parsed(void **state)
{
    fixture_t *f = *state;
    char response[4096];
    send_raw(f,
             "POST /echo?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\nContent-Length: 5\r\n"
             "Connection: close\r\n\r\n12345",
             response, sizeof(response));
    assert_non_null(strstr(response, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(response, "X-Echo: 1\r\n"));
    assert_non_null(strstr(response, "Connection: close\r\n"));
    assert_non_null(strstr(response, "\r\n\r\nPOST /echo q=a=1&b=2 x=hello len=5"));
}

/* Two requests in one segment: both answered, in order, on one connection. */
static void test_pipelined_keep_alive(void **state)
{
    fixture_t *f = *state;
    char response[4096];
    send_raw(f,
             "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             response, sizeof(response));
    assert_int_equal(count(response, "HTTP/1.1 200 OK"), 2);
    char *first = strstr(response, "slow");
    char *second = strstr(response, "GET /second");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
}

static void test_header_too_large(void **state)
{
    fixture_t *f = *state;
    char request[4096], response[4096];
    char filler[2001];
    memset(filler, 'a', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    snprintf(request, sizeof(request), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", filler);
    send_raw(f, request, response, sizeof(response));
    assert_non_null(strstr(response, "HTTP/1.1 431 "));
}

static void test_too_many_headers(void **state)
{
    fixture_t *f = *state;
    char request[4096] = "GET / HTTP/1.1\r\n", response[4096];
    for (int i = 0; i < EIM_HTTP_MAX_HEADERS + 1; i++)
        snprintf(request + strlen(request), sizeof(request) - strlen(request), "H%d: v\r\n", i);
    strcat(request, "\r\n");
    send_raw(f, request, response, sizeof(response));
    assert_non_null(strstr(response, "HTTP/1.1 431 "));
}

static void test_body_too_large(void **state)
{
    fixture_t *f = *state;
    char response[4096];
    send_raw(f, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", response,
             sizeof(response));
    assert_non_null(strstr(response, "HTTP/1.1 413 "));
    /* chunked bodies are counted as they arrive */
    char request[8192];
    char chunk[1501];
    memset(chunk, 'b', 1500);
    chunk[1500] = '\0';
    snprintf(
        request, sizeof(request),
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5dc\r\n%s\r\n5dc\r\n%s"
        "\r\n0\r\n\r\n",
        chunk, chunk);
    send_raw(f, request, response, sizeof(response));
    assert_non_null(strstr(response, "HTTP/1.1 413 "));
}

static void test_malformed(void **state)
{
    fixture_t *f = *state;
    char response[4096];
    send_raw(f, "NOT HTTP AT ALL\r\n\r\n", response, sizeof(response));
    assert_non_null(strstr(response, "HTTP/1.1 400 "));
    assert_non_null(strstr(response, "Connection: close"));
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    return fd;
}

/* true when the server closes fd within timeout_ms */
static bool closed_by_peer(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return false;
    char c;
    return recv(fd, &c, 1, 0) == 0;
}

static void test_max_connections(void **state)
{
    fixture_t *f = *state;
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = connect_port(f->port);
    int extra = connect_port(f->port);
    assert_true(closed_by_peer(extra, 1000));
    for (int i = 0; i < 3; i++)
        assert_false(closed_by_peer(fds[i], 50));
    close(extra);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

static void test_idle_timeout(void **state)
{
    fixture_t *f = *state;
    int fd = connect_port(f->port);
    assert_false(closed_by_peer(fd, 100));
    assert_true(closed_by_peer(fd, 2000));
    close(fd);
    /* a request that never completes is cut off the same way */
    fd = connect_port(f->port);
    const char *partial = "GET / HTTP/1.1\r\nHost:";
    assert_int_equal(send(fd, partial, strlen(partial), 0), (ssize_t)strlen(partial));
    assert_true(closed_by_peer(fd, 2000));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
