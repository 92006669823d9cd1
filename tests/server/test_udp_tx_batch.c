/*
 * Batched UDP transmission (server/dtls/udp_tx_batch) on real loopback
 * sockets: held datagrams stay in the process until the flush, then all
 * arrive in order with their own destinations; a burst larger than one
 * batch and an oversized datagram keep the order; outside a batch a
 * datagram leaves at once; a refused datagram is counted, not lost silently.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/dtls/udp_tx_batch.h"

typedef struct {
    uv_loop_t loop;
    uv_udp_t udp;
    eim_udp_tx_t *tx;
    int rx[2]; /* two receiving sockets: two destinations */
    struct sockaddr_in to[2];
} fixture_t;

static int bound_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
    socklen_t len = sizeof(*addr);
    getsockname(fd, (struct sockaddr *)addr, &len);
    int size = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return fd;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    uv_udp_init(&f->loop, &f->udp);
    struct sockaddr_in any;
    uv_ip4_addr("127.0.0.1", 0, &any);
    assert_int_equal(uv_udp_bind(&f->udp, (const struct sockaddr *)&any, 0), 0);
    f->tx = eim_udp_tx_new(&f->udp);
    for (int i = 0; i < 2; i++)
        f->rx[i] = bound_socket(&f->to[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    eim_udp_tx_free(f->tx);
    uv_close((uv_handle_t *)&f->udp, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    close(f->rx[0]);
    close(f->rx[1]);
    free(f);
    return 0;
}

/* The next datagram on fd within timeout_ms: its length, or -1. */
static ssize_t receive(int fd, void *buf, size_t size, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    return recv(fd, buf, size, 0);
}

static void send_numbered(fixture_t *f, int dest, unsigned n, size_t len, eim_udp_tx_drops_t *d)
{
    unsigned char data[EIM_UDP_TX_MAX + 100];
    assert_true(len <= sizeof(data) && len >= 4);
    memset(data, (int)(n & 0xFF), len);
    memcpy(data, &n, sizeof(n));
    eim_udp_tx_send(f->tx, (const struct sockaddr *)&f->to[dest], data, len, d);
}

static unsigned number_of(const unsigned char *data)
{
    unsigned n;
    memcpy(&n, data, sizeof(n));
    return n;
}

static void test_held_until_flush_then_in_order(void **state)
{
    fixture_t *f = *state;
    eim_udp_tx_drops_t drops = {0, 0};
    eim_udp_tx_hold(f->tx);
    assert_true(eim_udp_tx_holding(f->tx));
    for (unsigned i = 0; i < 6; i++)
        send_numbered(f, (int)(i % 2), i, 100 + i, &drops);
    unsigned char buf[4096];
    /* nothing left the process yet */
    assert_int_equal(receive(f->rx[0], buf, sizeof(buf), 50), -1);
    eim_udp_tx_flush(f->tx, &drops);
    assert_false(eim_udp_tx_holding(f->tx));
    for (unsigned i = 0; i < 6; i++) {
        ssize_t n = receive(f->rx[i % 2], buf, sizeof(buf), 1000);
        assert_int_equal(n, 100 + i); /* each with its own length and destination */
        assert_int_equal(number_of(buf), i);
        assert_int_equal(buf[n - 1], i);
    }
    assert_int_equal(drops.buffer_full + drops.error, 0);
}

static void test_burst_beyond_one_batch_and_oversized_keep_order(void **state)
{
    fixture_t *f = *state;
    eim_udp_tx_drops_t drops = {0, 0};
    const unsigned total = 2 * EIM_UDP_TX_BATCH + 5;
    eim_udp_tx_hold(f->tx);
    for (unsigned i = 0; i < total; i++)
        send_numbered(f, 0, i, i == 40 ? EIM_UDP_TX_MAX + 50 : 64, &drops);
    eim_udp_tx_flush(f->tx, &drops);
    unsigned char buf[EIM_UDP_TX_MAX + 100];
    for (unsigned i = 0; i < total; i++) {
        ssize_t n = receive(f->rx[0], buf, sizeof(buf), 1000);
        assert_int_equal(n, i == 40 ? EIM_UDP_TX_MAX + 50 : 64);
        assert_int_equal(number_of(buf), i);
    }
    assert_int_equal(drops.buffer_full + drops.error, 0);
}

static void test_outside_a_batch_leaves_at_once(void **state)
{
    fixture_t *f = *state;
    eim_udp_tx_drops_t drops = {0, 0};
    send_numbered(f, 1, 7, 32, &drops);
    unsigned char buf[64];
    assert_int_equal(receive(f->rx[1], buf, sizeof(buf), 1000), 32);
    assert_int_equal(number_of(buf), 7);
}

static void test_refused_datagram_is_counted(void **state)
{
    fixture_t *f = *state;
    eim_udp_tx_drops_t drops = {0, 0};
    /* an IPv4 socket cannot send to an IPv6 address: the kernel refuses
     * that one datagram; the ones around it still go */
    struct sockaddr_in6 v6;
    uv_ip6_addr("::1", 9, &v6);
    eim_udp_tx_hold(f->tx);
    send_numbered(f, 0, 1, 16, &drops);
    eim_udp_tx_send(f->tx, (const struct sockaddr *)&v6, "x", 1, &drops);
    send_numbered(f, 0, 2, 16, &drops);
    eim_udp_tx_flush(f->tx, &drops);
    assert_int_equal(drops.error, 1);
    assert_int_equal(drops.buffer_full, 0);
    unsigned char buf[64];
    assert_int_equal(receive(f->rx[0], buf, sizeof(buf), 1000), 16);
    assert_int_equal(number_of(buf), 1);
    assert_int_equal(receive(f->rx[0], buf, sizeof(buf), 1000), 16);
    assert_int_equal(number_of(buf), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_held_until_flush_then_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst_beyond_one_batch_and_oversized_keep_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outside_a_batch_leaves_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_datagram_is_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
