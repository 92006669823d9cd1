/*
 * The DTLS session layer (server/dtls/) against in-process wolfSSL DTLS
 * clients over loopback UDP: DTLS 1.2 (RFC 6347) and 1.3 (RFC 9147),
 * Connection IDs (RFC 9146; also with a version-flexible client that
 * offered 1.3 to a 1.2-only server), the stateless cookie exchange with
 * secret rotation, X.509 and raw public key (RFC 7250) server authentication,
 * migration to a new address (and none for forged or replayed records),
 * parking and resumption (in memory and, with EIMD_TEST_DSN, from
 * PostgreSQL after a restart) without a new handshake, AES-CCM nonce
 * uniqueness across park/unpark/restart cycles, two instances sharing one
 * database handing a session back and forth (a stale copy is never resumed,
 * a late write of the former holder changes nothing, no nonce twice; a
 * forged or replayed record sent to the other instance moves nothing), the
 * fail-closed wake while the database cannot answer, and the limits.
 *
 * Everything runs on one thread: the test drives the client's wolfSSL
 * calls and runs the server's loop in between (UV_RUN_NOWAIT).
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include <uv.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "proto/base/memory.h"
#include "proto/base/metrics.h"
#include "server/dtls/dtls_server.h"
#include "server/tls/tls_context.h"
#include "storage/migrations.h"
#include "storage/pg_pool.h"
#include "tests/server/test_keys.h"
#include "tests/support/support.h"

static const uint8_t park_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

typedef struct {
    uv_loop_t loop;
    eim_tls_context_t *tls;
    eim_metrics_t *metrics;
    eim_dtls_server_t *server;
    eim_pg_pool_t *pool;
    eim_dtls_session_t *last; /* referenced */
    int port;
    int closed_calls;
    /* a second instance on the same database (own pool and metrics) */
    eim_metrics_t *metrics_b;
    eim_dtls_server_t *server_b;
    eim_pg_pool_t *pool_b;
    int port_b;
} fixture_t;

#define MAX_NONCES 512

typedef struct {
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    int fd;
    struct sockaddr_in server;
    uint8_t last_sent[2048];
    size_t last_sent_len;
    size_t own_cid_len;
    uint64_t nonces[MAX_NONCES]; /* epoch << 48 ^ explicit nonce, server records */
    size_t nonce_count;
    uint64_t sequences[MAX_NONCES]; /* epoch << 48 | sequence number of the record header */
    size_t sequence_count;
    int duplicate_nonces;
    bool ccm;
    bool fake_cid_offer; /* see offer_fake_cid() */
    int fake_cid_offers;
    unsigned received;  /* datagrams read from the server so far */
    uint32_t lose_mask; /* bit i set: the i-th datagram from the server is lost */
} client_t;

/* ---- server fixture ---------------------------------------------------- */

static void on_data(eim_dtls_session_t *session, const uint8_t *data, size_t len, void *ctx)
{
    fixture_t *f = ctx;
    if (f->last != session) {
        if (f->last)
            eim_dtls_session_unref(f->last);
        f->last = eim_dtls_session_ref(session);
    }
    assert_int_equal(eim_dtls_send(session, data, len), EIM_OK); /* echo */
}

static void on_closed(eim_dtls_session_t *session, void *ctx)
{
    (void)session;
    fixture_t *f = ctx;
    f->closed_calls++;
}

static eim_dtls_server_t *start_on(fixture_t *f, eim_pg_pool_t *pool, eim_metrics_t *metrics,
                                   const char *instance, void (*tune)(eim_dtls_server_options_t *),
                                   int *port)
{
    eim_dtls_server_options_t o;
    eim_dtls_server_options_default(&o);
    o.listen[0] = "127.0.0.1:0";
    o.listen_count = 1;
    o.tls = f->tls;
    o.pool = pool;
    o.park_key = park_key;
    o.instance_id = instance;
    o.on_data = on_data;
    o.on_closed = on_closed;
    o.ctx = f;
    o.metrics = metrics;
    if (tune)
        tune(&o);
    char error[256] = "";
    eim_dtls_server_t *server = NULL;
    eim_err_t err = eim_dtls_server_start(&f->loop, &o, &server, error, sizeof(error));
    if (err)
        fail_msg("server start: %s", error);
    *port = eim_dtls_server_port(server, 0);
    assert_true(*port > 0);
    return server;
}

static void start_server(fixture_t *f, void (*tune)(eim_dtls_server_options_t *))
{
    f->server = start_on(f, f->pool, f->metrics, "test", tune, &f->port);
}

static void stop_server(fixture_t *f)
{
    if (f->last) {
        eim_dtls_session_unref(f->last);
        f->last = NULL;
    }
    if (f->server)
        eim_dtls_server_close(f->server);
    f->server = NULL;
    if (f->server_b)
        eim_dtls_server_close(f->server_b);
    f->server_b = NULL;
    for (int i = 0; i < 10; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
}

static int fixture_setup_with(void **state, eim_tls_transport_t transport)
{
    fixture_t *f = EIM_NEW(fixture_t);
    uv_loop_init(&f->loop);
    f->metrics = eim_metrics_new();
    f->tls = test_keys_tls_context(&f->loop, transport);
    *state = f;
    return 0;
}

static int fixture_setup(void **state)
{
    return fixture_setup_with(state, EIM_TLS_DATAGRAM);
}

/* DTLS 1.2 only, as with coaps.dtls13=false */
static int fixture_setup_12(void **state)
{
    return fixture_setup_with(state, EIM_TLS_DATAGRAM_12);
}

static void close_walk(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

static int fixture_teardown(void **state)
{
    fixture_t *f = *state;
    stop_server(f);
    if (f->pool)
        eim_pg_pool_close(f->pool, NULL, NULL);
    if (f->pool_b)
        eim_pg_pool_close(f->pool_b, NULL, NULL);
    eim_tls_context_release(f->tls);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_walk(&f->loop, close_walk, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    eim_metrics_free(f->metrics);
    if (f->metrics_b)
        eim_metrics_free(f->metrics_b);
    free(f);
    return 0;
}

static double metric_in(eim_metrics_t *metrics, const char *series)
{
    eim_buf_t out;
    eim_buf_init(&out, 1 << 20);
    assert_int_equal(eim_metrics_render(metrics, &out), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&out, 0), EIM_OK);
    double value = 0;
    size_t n = strlen(series);
    for (const char *line = (const char *)out.data; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            value = strtod(line + n + 1, NULL);
            break;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    eim_buf_free(&out);
    return value;
}

static double metric(fixture_t *f, const char *series)
{
    return metric_in(f->metrics, series);
}

static void pump(fixture_t *f, int ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000ull;
    do {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    } while (uv_hrtime() < end);
}

/* ---- client ------------------------------------------------------------ */

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Records every explicit nonce the server used under its epoch>=1 keys. */
static void note_nonces(client_t *c, const uint8_t *d, size_t len)
{
    size_t off = 0;
    while (off + 13 <= len) {
        uint8_t type = d[off];
        uint64_t epoch = be(d + off + 3, 2);
        size_t header = type == 25 ? 11 + c->own_cid_len + 2 : 13;
        if (off + header > len)
            return;
        size_t rlen = (size_t)be(d + off + header - 2, 2);
        if (off + header + rlen > len)
            return;
        if (epoch >= 1 && c->sequence_count < MAX_NONCES)
            c->sequences[c->sequence_count++] = epoch << 48 | be(d + off + 5, 6);
        if (epoch >= 1 && c->ccm && rlen >= 8) {
            uint64_t id = epoch << 48 ^ be(d + off + header, 8);
            for (size_t i = 0; i < c->nonce_count; i++)
                if (c->nonces[i] == id)
                    c->duplicate_nonces++;
            if (c->nonce_count < MAX_NONCES)
                c->nonces[c->nonce_count++] = id;
        }
        off += header + rlen;
    }
}

static int client_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    client_t *c = ctx;
    ssize_t n = recv(c->fd, buf, (size_t)size, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? WOLFSSL_CBIO_ERR_WANT_READ
                                                       : WOLFSSL_CBIO_ERR_GENERAL;
    unsigned index = c->received++;
    if (index < 32 && (c->lose_mask >> index & 1))
        return WOLFSSL_CBIO_ERR_WANT_READ; /* lost on the way */
    note_nonces(c, (const uint8_t *)buf, (size_t)n);
    return (int)n;
}

/* In a ClientHello record, renames the ec_point_formats extension (data
 * 01 00) to connection_id, whose data the same bytes are (a one-byte CID):
 * the server then answers with a CID the client itself never offered. */
static bool offer_fake_cid(uint8_t *d, size_t len)
{
    size_t i = 13 + 12 + 2 + 32; /* record and handshake headers, version, random */
    if (len < i + 1 || d[0] != 22 || d[13] != 1)
        return false;
    i += 1 + d[i]; /* session id */
    if (i >= len)
        return false;
    i += 1 + d[i]; /* cookie */
    if (i + 2 > len)
        return false;
    i += 2 + be(d + i, 2); /* cipher suites */
    if (i >= len)
        return false;
    i += 1 + d[i] + 2; /* compression methods, extensions length */
    while (i + 4 <= len) {
        size_t n = (size_t)be(d + i + 2, 2);
        if (be(d + i, 2) == 11 && n == 2 && i + 4 + n <= len) {
            d[i] = 0;
            d[i + 1] = 54; /* connection_id */
            return true;
        }
        i += 4 + n;
    }
    return false;
}

static int client_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    client_t *c = ctx;
    if (c->fake_cid_offer && offer_fake_cid((uint8_t *)buf, (size_t)size))
        c->fake_cid_offers++;
    if ((size_t)size <= sizeof(c->last_sent)) {
        memcpy(c->last_sent, buf, (size_t)size);
        c->last_sent_len = (size_t)size;
    }
    ssize_t n =
        sendto(c->fd, buf, (size_t)size, 0, (struct sockaddr *)&c->server, sizeof(c->server));
    return n < 0 ? WOLFSSL_CBIO_ERR_GENERAL : (int)n;
}

static int udp_socket(const char *source)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, source, &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

typedef struct {
    WOLFSSL_METHOD *(*method)(void);
    const char *ciphers;
    int rpk; /* 0: X.509; 1: RawPublicKey; 2: X.509 then RawPublicKey (GnuTLS's order) */
    bool cid;
    const char *source;
} client_options_t;

static client_t *client_new(int port, const client_options_t *o)
{
    client_t *c = EIM_NEW(client_t);
    c->ctx = wolfSSL_CTX_new(o->method());
    assert_non_null(c->ctx);
    if (o->ciphers)
        assert_int_equal(wolfSSL_CTX_set_cipher_list(c->ctx, o->ciphers), WOLFSSL_SUCCESS);
    c->ccm = o->ciphers && strstr(o->ciphers, "CCM");
    int groups[] = {WOLFSSL_ECC_SECP256R1};
    assert_int_equal(wolfSSL_CTX_set_groups(c->ctx, groups, 1), WOLFSSL_SUCCESS);
    if (o->rpk) {
        const char types[] = {WOLFSSL_CERT_TYPE_X509, WOLFSSL_CERT_TYPE_RPK};
        int first = o->rpk == 2 ? 0 : 1;
        assert_int_equal(wolfSSL_CTX_set_server_cert_type(c->ctx, types + first, 2 - first),
                         WOLFSSL_SUCCESS);
        wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_NONE, NULL); /* the IPA pins the SPKI */
    } else {
        assert_int_equal(wolfSSL_CTX_load_verify_locations(c->ctx, test_keys.ca, NULL),
                         WOLFSSL_SUCCESS);
        wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_PEER, NULL);
    }
    c->ssl = wolfSSL_new(c->ctx);
    assert_non_null(c->ssl);
    c->fd = udp_socket(o->source ? o->source : "127.0.0.1");
    c->server.sin_family = AF_INET;
    c->server.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &c->server.sin_addr);
    wolfSSL_SSLSetIORecv(c->ssl, client_recv);
    wolfSSL_SSLSetIOSend(c->ssl, client_send);
    wolfSSL_SetIOReadCtx(c->ssl, c);
    wolfSSL_SetIOWriteCtx(c->ssl, c);
    wolfSSL_dtls_set_using_nonblock(c->ssl, 1);
    wolfSSL_dtls_set_peer(c->ssl, &c->server, sizeof(c->server));
    if (o->cid) {
        unsigned char own[4] = {0xC1, 0xC2, 0xC3, 0xC4};
        assert_int_equal(wolfSSL_dtls_cid_use(c->ssl), WOLFSSL_SUCCESS);
        assert_int_equal(wolfSSL_dtls_cid_set(c->ssl, own, sizeof(own)), WOLFSSL_SUCCESS);
        c->own_cid_len = sizeof(own);
    }
    return c;
}

static void client_free(client_t *c)
{
    wolfSSL_free(c->ssl);
    wolfSSL_CTX_free(c->ctx);
    close(c->fd);
    free(c);
}

/* Runs the client's handshake for up to 5 s. With retransmit, the client
 * keeps its retransmission timer (RFC 6347 §4.2.4, RFC 9147 §5.8): after
 * 100 ms without a datagram it sends its last flight again (the server
 * keeps no timer: it must answer that); without, it waits. */
static int client_handshake(fixture_t *f, client_t *c, bool retransmit)
{
    uint64_t end = uv_hrtime() + 5000000000ull;
    uint64_t last = uv_hrtime();
    unsigned seen = c->received;
    for (;;) {
        int rc = wolfSSL_connect(c->ssl);
        if (rc == WOLFSSL_SUCCESS)
            return 0;
        int e = wolfSSL_get_error(c->ssl, rc);
        if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE)
            return e;
        uint64_t now = uv_hrtime();
        if (now > end)
            return -1;
        if (c->received != seen) {
            seen = c->received;
            last = now;
        } else if (retransmit && now - last > 100000000ull) {
            wolfSSL_dtls_got_timeout(c->ssl);
            last = now;
        }
        pump(f, 2);
    }
}

static void connect_ok(fixture_t *f, client_t *c)
{
    int e = client_handshake(f, c, false);
    if (e) {
        char reason[80];
        wolfSSL_ERR_error_string_n((unsigned long)e, reason, sizeof(reason));
        fail_msg("handshake failed: %d %s", e, reason);
    }
}

/* Sends msg and waits for the echo. Returns false on timeout. */
static bool roundtrip(fixture_t *f, client_t *c, const char *msg)
{
    assert_int_equal(wolfSSL_write(c->ssl, msg, (int)strlen(msg)), (int)strlen(msg));
    char buf[512];
    uint64_t end = uv_hrtime() + 2000000000ull;
    while (uv_hrtime() < end) {
        pump(f, 2);
        int n = wolfSSL_read(c->ssl, buf, sizeof(buf) - 1);
        if (n > 0) {
            buf[n] = '\0';
            assert_string_equal(buf, msg);
            return true;
        }
    }
    return false;
}

static void rebind(client_t *c, const char *source)
{
    close(c->fd);
    c->fd = udp_socket(source);
}

static int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

/* ---- tests -------------------------------------------------------------- */

static void test_dtls12_x509_cid(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    client_options_t o = {wolfDTLSv1_2_client_method, "ECDHE-ECDSA-AES128-CCM-8", false, true,
                          NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_string_equal(wolfSSL_get_cipher_name(c->ssl), "ECDHE-ECDSA-AES128-CCM-8");
    assert_true(roundtrip(f, c, "hello 1.2"));
    assert_non_null(f->last);
    assert_int_equal(eim_dtls_session_version(f->last), EIM_DTLS_VERSION_1_2);
    /* the key starts with the CID the client must put in its records */
    unsigned char *tx = NULL;
    assert_int_equal(wolfSSL_dtls_cid_get0_tx(c->ssl, &tx), WOLFSSL_SUCCESS);
    assert_memory_equal(tx, eim_dtls_session_key(f->last), EIM_DTLS_CID_SIZE);
    assert_int_equal(strlen(eim_dtls_session_key_hex(f->last)), 2 * EIM_DTLS_KEY_SIZE);
    char expect[64];
    snprintf(expect, sizeof(expect), "127.0.0.1:%d", local_port(c->fd));
    assert_string_equal(eim_dtls_session_peer(f->last), expect);
    assert_null(eim_dtls_session_identity(f->last));
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 1);
    assert_true(metric(f, "eimd_dtls_cookie_exchanges_total") >= 1);
    assert_true(metric(f, "eimd_dtls_sessions{state=\"live\",version=\"1.2\"}") == 1);
    /* close_notify from the client ends the session */
    wolfSSL_shutdown(c->ssl);
    pump(f, 20);
    assert_int_equal(f->closed_calls, 1);
    assert_true(eim_dtls_session_closed(f->last));
    assert_int_equal(eim_dtls_send(f->last, (const uint8_t *)"x", 1), EIM_ERR_CONFLICT);
    client_free(c);
}

static void short_park(eim_dtls_server_options_t *o)
{
    o->park_after_ms = 100;
}

static void test_dtls13_rpk_stays_live(void **state)
{
    fixture_t *f = *state;
    start_server(f, short_park);
    client_options_t o = {wolfDTLSv1_3_client_method, NULL, true, true, NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    int type = -1;
    assert_int_equal(wolfSSL_get_negotiated_server_cert_type(c->ssl, &type), WOLFSSL_SUCCESS);
    assert_int_equal(type, WOLFSSL_CERT_TYPE_RPK);
    assert_true(roundtrip(f, c, "hello 1.3"));
    assert_int_equal(eim_dtls_session_version(f->last), EIM_DTLS_VERSION_1_3);
    pump(f, 400); /* past the park threshold: DTLS 1.3 cannot be exported */
    assert_false(eim_dtls_session_parked(f->last));
    assert_int_equal(eim_dtls_server_parked_sessions(f->server), 0);
    assert_true(metric(f, "eimd_dtls_sessions{state=\"live\",version=\"1.3\"}") == 1);
    assert_true(metric(f, "eimd_dtls_sessions_unparkable") == 1);
    /* migration works for 1.3 too (unified header with CID) */
    rebind(c, "127.0.0.1");
    assert_true(roundtrip(f, c, "moved 1.3"));
    assert_true(metric(f, "eimd_dtls_cid_migrations_total") == 1);
    client_free(c);
}

/* A client listing X.509 before RawPublicKey gets the raw key (log P5). */
static void test_rpk_listed_second(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    client_options_t o = {wolfDTLSv1_2_client_method, NULL, 2, true, NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    int type = -1;
    assert_int_equal(wolfSSL_get_negotiated_server_cert_type(c->ssl, &type), WOLFSSL_SUCCESS);
    assert_int_equal(type, WOLFSSL_CERT_TYPE_RPK);
    assert_true(roundtrip(f, c, "rpk second"));
    client_free(c);
}

/* brainpoolP256r1 as the only key-exchange group (RFC 7027 for 1.2, RFC 8734
 * for 1.3): the handshake completes on it and records flow. */
static void brainpool_handshake(fixture_t *f, WOLFSSL_METHOD *(*method)(void), int group,
                                const char *version)
{
    client_options_t o = {method, NULL, false, true, NULL};
    client_t *c = client_new(f->port, &o);
    assert_int_equal(wolfSSL_set_groups(c->ssl, &group, 1), WOLFSSL_SUCCESS);
    connect_ok(f, c);
    assert_string_equal(wolfSSL_get_curve_name(c->ssl), "BRAINPOOLP256R1");
    assert_true(roundtrip(f, c, "brainpool"));
    char series[96];
    snprintf(series, sizeof(series), "eimd_dtls_handshakes_total{result=\"ok\",version=\"%s\"}",
             version);
    assert_true(metric(f, series) >= 1);
    client_free(c);
}

static void test_brainpool_key_exchange(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    brainpool_handshake(f, wolfDTLSv1_2_client_method, WOLFSSL_ECC_BRAINPOOLP256R1, "1.2");
    brainpool_handshake(f, wolfDTLSv1_3_client_method, WOLFSSL_ECC_BRAINPOOLP256R1TLS13, "1.3");
}

/* A lost server flight: the client's retransmission gets it again. */
static void lossy_handshake(fixture_t *f, WOLFSSL_METHOD *(*method)(void), uint32_t lose_mask)
{
    client_options_t o = {method, NULL, false, true, NULL};
    client_t *c = client_new(f->port, &o);
    c->lose_mask = lose_mask;
    int e = client_handshake(f, c, true);
    if (e)
        fail_msg("handshake with lost datagrams %#x failed: %d", (unsigned)lose_mask, e);
    /* the loss really happened: the lost datagram came and was dropped */
    assert_true(c->received > 31 - (unsigned)__builtin_clz(lose_mask));
    assert_true(roundtrip(f, c, "after a loss"));
    client_free(c);
}

static void test_handshake_survives_lost_server_flights(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    /* DTLS 1.2 with the test chain (default MTU 1152): datagram 0 is the
     * HelloVerifyRequest, 1 ServerHello, 2 Certificate, 3 the rest of the
     * flight up to ServerHelloDone, 4 ChangeCipherSpec + Finished */
    lossy_handshake(f, wolfDTLSv1_2_client_method, 1u << 0);
    lossy_handshake(f, wolfDTLSv1_2_client_method, 1u << 1);
    lossy_handshake(f, wolfDTLSv1_2_client_method, 1u << 3);
    lossy_handshake(f, wolfDTLSv1_2_client_method, 1u << 4);
    /* DTLS 1.3: 0 HelloRetryRequest with the cookie, 1 the server's flight */
    lossy_handshake(f, wolfDTLSv1_3_client_method, 1u << 1);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 4);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.3\"}") == 1);
}

static void test_cookie_survives_rotation(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    client_options_t o = {wolfDTLSv1_2_client_method, NULL, false, true, NULL};
    client_t *c = client_new(f->port, &o);
    /* ClientHello 1 -> HelloVerifyRequest under the current secret */
    assert_int_not_equal(wolfSSL_connect(c->ssl), WOLFSSL_SUCCESS);
    pump(f, 10);
    assert_true(metric(f, "eimd_dtls_cookie_exchanges_total") == 1);
    /* the secret rotates before ClientHello 2 arrives: still accepted */
    eim_dtls_server_rotate_cookie_secret(f->server);
    connect_ok(f, c);
    assert_true(roundtrip(f, c, "after rotation"));
    assert_true(metric(f, "eimd_dtls_cookie_exchanges_total") == 1);
    /* a ClientHello with a cookie made up by the client gets no session */
    client_free(c);
    c = client_new(f->port, &o);
    assert_int_not_equal(wolfSSL_connect(c->ssl), WOLFSSL_SUCCESS);
    pump(f, 10);
    eim_dtls_server_rotate_cookie_secret(f->server);
    eim_dtls_server_rotate_cookie_secret(f->server); /* now two periods old */
    assert_int_not_equal(wolfSSL_connect(c->ssl), WOLFSSL_SUCCESS);
    pump(f, 10);
    assert_true(metric(f, "eimd_dtls_cookie_exchanges_total") == 3);
    assert_int_equal(eim_dtls_server_live_sessions(f->server), 1);
    client_free(c);
}

static void test_migration_needs_authentic_record(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    client_options_t o = {wolfDTLSv1_2_client_method, "ECDHE-ECDSA-AES128-GCM-SHA256", false, true,
                          NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_true(roundtrip(f, c, "first"));
    char before[64];
    snprintf(before, sizeof(before), "%s", eim_dtls_session_peer(f->last));
    uint8_t record[2048];
    size_t record_len = c->last_sent_len;
    memcpy(record, c->last_sent, record_len);
    assert_int_equal(record[0], 25); /* tls12_cid */

    /* replayed from a new address: dropped by the replay window */
    int attacker = udp_socket("127.0.0.2");
    sendto(attacker, record, record_len, 0, (struct sockaddr *)&c->server, sizeof(c->server));
    pump(f, 20);
    assert_string_equal(eim_dtls_session_peer(f->last), before);
    /* forged: a fresh sequence number, the MAC no longer verifies */
    record[10] ^= 0x40;
    sendto(attacker, record, record_len, 0, (struct sockaddr *)&c->server, sizeof(c->server));
    pump(f, 20);
    assert_string_equal(eim_dtls_session_peer(f->last), before);
    assert_true(metric(f, "eimd_dtls_cid_migrations_total") == 0);
    char junk[64];
    assert_true(recv(attacker, junk, sizeof(junk), MSG_DONTWAIT) < 0); /* nothing answered */
    close(attacker);
    /* the server still answers the real client where it was */
    assert_true(roundtrip(f, c, "still here"));

    /* NAT rebinding: the genuine next record from a new address moves it */
    rebind(c, "127.0.0.3");
    assert_true(roundtrip(f, c, "moved"));
    char after[64];
    snprintf(after, sizeof(after), "127.0.0.3:%d", local_port(c->fd));
    assert_string_equal(eim_dtls_session_peer(f->last), after);
    assert_true(metric(f, "eimd_dtls_cid_migrations_total") == 1);
    client_free(c);
}

/*
 * A version-flexible client (wolfDTLS_client_method(), as libcoap's wolfSSL
 * backend uses) offers DTLS 1.3 and a CID; a 1.2-only server answers with a
 * DTLS 1.2 ServerHello carrying the connection_id extension. The client
 * accepts it (wolfSSL 5.9.2 needs deploy/patches/wolfssl-dtls12-cid-after-13-
 * offer.patch), puts the CID in its records and can move to a new address.
 */
static void test_flexible_client_dtls12_cid(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    client_options_t o = {wolfDTLS_client_method, NULL, false, true, NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_string_equal(wolfSSL_get_version(c->ssl), "DTLSv1.2");
    assert_true(roundtrip(f, c, "flexible 1.2"));
    assert_int_equal(eim_dtls_session_version(f->last), EIM_DTLS_VERSION_1_2);
    unsigned char *tx = NULL;
    assert_int_equal(wolfSSL_dtls_cid_get0_tx(c->ssl, &tx), WOLFSSL_SUCCESS);
    assert_non_null(tx);
    assert_memory_equal(tx, eim_dtls_session_key(f->last), EIM_DTLS_CID_SIZE);
    assert_int_equal(c->last_sent[0], 25); /* tls12_cid */
    rebind(c, "127.0.0.1");
    assert_true(roundtrip(f, c, "moved 1.2"));
    assert_true(metric(f, "eimd_dtls_cid_migrations_total") == 1);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 1);
    client_free(c);
}

/* ... but still rejects a CID in a DTLS 1.2 ServerHello when it offered none
 * (the patch must not relax that): unsupported_extension. */
static void test_flexible_client_rejects_unoffered_cid(void **state)
{
    fixture_t *f = *state;
    start_server(f, NULL);
    client_options_t o = {wolfDTLS_client_method, NULL, false, false, NULL};
    client_t *c = client_new(f->port, &o);
    c->fake_cid_offer = true;
    assert_int_equal(client_handshake(f, c, false), UNSUPPORTED_EXTENSION);
    assert_true(c->fake_cid_offers >= 1);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 0);
    client_free(c);
}

static uint64_t last_sequence(const client_t *c)
{
    assert_true(c->sequence_count > 0);
    return c->sequences[c->sequence_count - 1];
}

/* No server (epoch, explicit nonce) twice, and every server record the
 * client saw carried a higher (epoch, sequence number) than the one before:
 * never an older state resumed. */
static void assert_nonces_rise(const client_t *c)
{
    assert_int_equal(c->duplicate_nonces, 0);
    for (size_t i = 1; i < c->sequence_count; i++)
        if (c->sequences[i] <= c->sequences[i - 1])
            fail_msg("server sequence number %zu went back: %llx after %llx", i,
                     (unsigned long long)c->sequences[i], (unsigned long long)c->sequences[i - 1]);
}

/* Park, wake, park ... with AES-CCM-8: no server (epoch, nonce) twice. */
static void park_cycles(fixture_t *f, client_t *c, int cycles, const char *tag)
{
    for (int i = 0; i < cycles; i++) {
        pump(f, 350);
        assert_int_equal(eim_dtls_server_parked_sessions(f->server), 1);
        char msg[64];
        snprintf(msg, sizeof(msg), "%s wake %d", tag, i);
        rebind(c, i % 2 ? "127.0.0.1" : "127.0.0.4"); /* and a new address on each wake */
        assert_true(roundtrip(f, c, msg));
        assert_true(roundtrip(f, c, "and once more"));
    }
}

static void test_park_unpark_in_memory(void **state)
{
    fixture_t *f = *state;
    start_server(f, short_park);
    client_options_t o = {wolfDTLSv1_2_client_method, "ECDHE-ECDSA-AES128-CCM-8", false, true,
                          NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_true(roundtrip(f, c, "before sleeping"));
    park_cycles(f, c, 4, "memory");
    assert_true(metric(f, "eimd_dtls_parks_total") == 4);
    assert_true(metric(f, "eimd_dtls_resumptions_total{from=\"memory\"}") == 4);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 1);
    assert_true(c->nonce_count >= 9);
    assert_int_equal(c->duplicate_nonces, 0);
    /* a parked session's key and user slot stay */
    eim_dtls_session_set_user(f->last, f);
    pump(f, 350);
    assert_true(eim_dtls_session_parked(f->last));
    assert_ptr_equal(eim_dtls_session_user(f->last), f);
    /* the server may speak first: sending revives it */
    assert_int_equal(eim_dtls_send(f->last, (const uint8_t *)"push", 4), EIM_OK);
    char buf[16];
    int n = -1;
    for (int i = 0; i < 100 && n <= 0; i++) {
        pump(f, 2);
        n = wolfSSL_read(c->ssl, buf, sizeof(buf));
    }
    assert_int_equal(n, 4);
    assert_int_equal(c->duplicate_nonces, 0);
    client_free(c);
}

/* A new database in the test cluster with eimd's schema (caller frees). */
static char *database_for(const char *prefix)
{
    char *dsn = test_pg_create_db(prefix);
    char error[256];
    assert_int_equal(
        eim_migrations_apply(dsn, eim_migrations, eim_migration_count, NULL, error, sizeof(error)),
        EIM_OK);
    return dsn;
}

static eim_pg_pool_t *pool_new(fixture_t *f, const char *dsn);

static bool pool_ready(fixture_t *f, const char *dsn)
{
    f->pool = pool_new(f, dsn);
    return eim_pg_pool_ready(f->pool);
}

/* A pool on dsn, waited for until ready. */
static eim_pg_pool_t *pool_new(fixture_t *f, const char *dsn)
{
    eim_pg_pool_options_t po = {
        .dsn = dsn,
        .size = 2,
        .connect_timeout_ms = 2000,
        .reconnect_min_ms = 50,
        .reconnect_max_ms = 500,
        .health_interval_ms = 200,
        .max_queued = 10000,
        .expected_schema_version = eim_migrations_latest(),
    };
    eim_pg_pool_t *pool = eim_pg_pool_start(&f->loop, &po);
    for (int i = 0; i < 500 && !eim_pg_pool_ready(pool); i++)
        pump(f, 10);
    assert_true(eim_pg_pool_ready(pool));
    return pool;
}

static void on_flushed(void *ctx)
{
    *(bool *)ctx = true;
}

static void test_park_restart_resume(void **state)
{
    fixture_t *f = *state;
    const char *cluster = getenv("EIMD_TEST_DSN");
    if (!cluster) {
        skip();
        return;
    }
    char *dsn = database_for("dtls");
    assert_true(pool_ready(f, dsn));
    start_server(f, short_park);
    client_options_t o = {wolfDTLSv1_2_client_method, "ECDHE-ECDSA-AES128-CCM-8", false, true,
                          NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_true(roundtrip(f, c, "first life"));
    park_cycles(f, c, 2, "instance A");

    for (int restart = 0; restart < 3; restart++) {
        /* shutdown: park everything, write it, stop */
        bool flushed = false;
        eim_dtls_server_flush(f->server, on_flushed, &flushed);
        for (int i = 0; i < 500 && !flushed; i++)
            pump(f, 5);
        assert_true(flushed);
        char *rows = test_pg_query_value(dsn, "SELECT count(*) FROM dtls_sessions");
        assert_string_equal(rows, "1");
        free(rows);
        char *size = test_pg_query_value(dsn, "SELECT octet_length(sealed) FROM dtls_sessions");
        assert_true(atoi(size) > 100 && atoi(size) <= 1024);
        free(size);
        double handshakes = metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}");
        double from_db = metric(f, "eimd_dtls_resumptions_total{from=\"database\"}");
        stop_server(f);
        /* a new server object (as after a restart) on another port */
        start_server(f, short_park);
        c->server.sin_port = htons((uint16_t)f->port);
        rebind(c, "127.0.0.5");
        uint64_t before = last_sequence(c);
        assert_true(roundtrip(f, c, "after restart"));
        /* the write sequence skipped the gap (a crash may have lost sends) */
        assert_true(last_sequence(c) - before >= EIM_DTLS_SEQUENCE_GAP);
        assert_true(metric(f, "eimd_dtls_resumptions_total{from=\"database\"}") == from_db + 1);
        assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") ==
                    handshakes);
        park_cycles(f, c, 2, "after restart");
    }
    assert_true(c->nonce_count > 20);
    assert_nonces_rise(c);
    /* an unknown CID is looked up once and dropped */
    uint8_t bogus[64] = {25, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9};
    memset(bogus + 11, 0xAB, EIM_DTLS_CID_SIZE);
    bogus[11 + EIM_DTLS_CID_SIZE + 1] = 20;
    sendto(c->fd, bogus, 11 + EIM_DTLS_CID_SIZE + 2 + 20, 0, (struct sockaddr *)&c->server,
           sizeof(c->server));
    pump(f, 100);
    assert_true(metric(f, "eimd_dtls_drops_total{reason=\"unknown_cid\"}") == 1);
    client_free(c);
    free(dsn);
}

/* Shutdown past its deadline: the server is closed while its park write is
 * still in flight and the pool goes right after, failing that write. The
 * answer still finds the server object (freed by that last answer, not
 * before: ASan checks the use, LeakSanitizer the free). */
static void test_close_with_write_in_flight(void **state)
{
    fixture_t *f = *state;
    if (!getenv("EIMD_TEST_DSN")) {
        skip();
        return;
    }
    char *dsn = database_for("dtls_close");
    assert_true(pool_ready(f, dsn));
    start_server(f, short_park);
    client_options_t o = {wolfDTLSv1_2_client_method, "ECDHE-ECDSA-AES128-CCM-8", false, true,
                          NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_true(roundtrip(f, c, "before shutdown"));
    eim_dtls_server_flush(f->server, NULL, NULL); /* parks: one write queued */
    assert_int_equal(eim_dtls_server_in_flight(f->server), 1);
    /* closed with no loop turn in between (stop_server runs the loop, which
     * may let the answer in first): the listener and timers close at once */
    eim_dtls_session_unref(f->last);
    f->last = NULL;
    eim_dtls_server_close(f->server);
    f->server = NULL;
    eim_pg_pool_close(f->pool, NULL, NULL);
    f->pool = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    /* the counter itself: rendering would call the gone server's gauges */
    eim_counter_t *failed =
        eim_metrics_counter(f->metrics, "eimd_dtls_park_writes_failed_total", "", NULL);
    assert_int_equal(eim_counter_value(failed), 1);
    client_free(c);
    free(dsn);
}

/* ---- two instances on one database ------------------------------------ */

static void short_park_quiet(eim_dtls_server_options_t *o)
{
    o->park_after_ms = 100;
    o->claim_notifications = false; /* only the check on wake finds a stale copy */
}

static void long_park(eim_dtls_server_options_t *o)
{
    o->park_after_ms = 60000;
}

static void long_park_quiet(eim_dtls_server_options_t *o)
{
    o->park_after_ms = 60000;
    o->claim_notifications = false;
}

/* Parks every parkable session of server and waits for the writes. */
static void flush(fixture_t *f, eim_dtls_server_t *server)
{
    bool flushed = false;
    eim_dtls_server_flush(server, on_flushed, &flushed);
    for (int i = 0; i < 1000 && !flushed; i++)
        pump(f, 5);
    assert_true(flushed);
}

/* Runs the loop until server has no database work in flight. */
static void settle(fixture_t *f, eim_dtls_server_t *server)
{
    for (int i = 0; i < 1000 && eim_dtls_server_in_flight(server) > 0; i++)
        pump(f, 5);
    assert_int_equal(eim_dtls_server_in_flight(server), 0);
}

static void wait_parked(fixture_t *f, eim_dtls_server_t *server, size_t n)
{
    for (int i = 0; i < 200 && eim_dtls_server_parked_sessions(server) != n; i++)
        pump(f, 5);
    assert_int_equal(eim_dtls_server_parked_sessions(server), n);
}

static void wait_metric(fixture_t *f, eim_metrics_t *m, const char *series, double want)
{
    for (int i = 0; i < 200 && metric_in(m, series) != want; i++)
        pump(f, 5);
    assert_true(metric_in(m, series) == want);
}

/* The device's next datagrams come from a new address and the load
 * balancer sends them to the instance listening on port. */
static void move_to(client_t *c, int port, const char *source)
{
    c->server.sin_port = htons((uint16_t)port);
    rebind(c, source);
}

#define RESUMED_DB  "eimd_dtls_resumptions_total{from=\"database\"}"
#define RESUMED_MEM "eimd_dtls_resumptions_total{from=\"memory\"}"
#define HANDSHAKES  "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}"

/* Instances A and B (own pools and metrics) on one new database; a DTLS
 * 1.2 client with a CID, AES-CCM-8, connected to A and past its first
 * record. *dsn (caller frees) names the database. */
static client_t *two_instances(fixture_t *f, const char *db,
                               void (*tune_a)(eim_dtls_server_options_t *),
                               void (*tune_b)(eim_dtls_server_options_t *), char **dsn)
{
    *dsn = database_for(db);
    f->pool = pool_new(f, *dsn);
    f->pool_b = pool_new(f, *dsn);
    f->metrics_b = eim_metrics_new();
    f->server = start_on(f, f->pool, f->metrics, "A", tune_a, &f->port);
    f->server_b = start_on(f, f->pool_b, f->metrics_b, "B", tune_b, &f->port_b);
    client_options_t o = {wolfDTLSv1_2_client_method, "ECDHE-ECDSA-AES128-CCM-8", false, true,
                          NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_true(roundtrip(f, c, "on A"));
    return c;
}

/* The row as "blob-hex generation sealed_generation instance". */
#define ROW_SQL                                                                                    \
    "SELECT encode(sealed, 'hex') || ' ' || generation || ' ' || sealed_generation || ' ' || "     \
    "instance FROM dtls_sessions"

/*
 * A parks the session; the device wakes behind the load balancer on B,
 * which claims it from the database; B parks and wakes it again; the
 * device goes back to A. A must not resume its own (stale) copy: with
 * notifications it dropped the copy when B claimed, without them the
 * check on wake finds it stale and claims the newest state. No handshake
 * after the first, no server nonce twice.
 */
static void handover(fixture_t *f, bool notifications)
{
    char *dsn;
    client_t *c = two_instances(f, "dtlsown", notifications ? short_park : short_park_quiet,
                                short_park, &dsn);
    park_cycles(f, c, 1, "A"); /* parked, woken from memory (checked), ... */
    wait_parked(f, f->server, 1);
    settle(f, f->server);
    assert_int_equal(test_pg_long(dsn, "SELECT generation FROM dtls_sessions"), 1);

    move_to(c, f->port_b, "127.0.0.6");
    uint64_t before = last_sequence(c);
    assert_true(roundtrip(f, c, "on B"));
    assert_true(metric_in(f->metrics_b, RESUMED_DB) == 1);
    /* B writes a gap further than the blob: A may have sent after its write */
    assert_true(last_sequence(c) - before >= EIM_DTLS_SEQUENCE_GAP);
    if (notifications) {
        /* B's claim told A: the copy there goes at once */
        wait_parked(f, f->server, 0);
        assert_true(
            metric(f, "eimd_dtls_stale_copies_total{cause=\"notify\",action=\"dropped\"}") == 1);
    } else {
        pump(f, 50);
        assert_int_equal(eim_dtls_server_parked_sessions(f->server), 1); /* the stale copy */
    }
    wait_parked(f, f->server_b, 1);
    settle(f, f->server_b);
    assert_true(roundtrip(f, c, "on B again")); /* from B's memory: B holds it */
    assert_true(metric_in(f->metrics_b, RESUMED_MEM) == 1);
    wait_parked(f, f->server_b, 1);
    settle(f, f->server_b);
    assert_int_equal(test_pg_long(dsn, "SELECT generation FROM dtls_sessions"), 2);
    assert_int_equal(test_pg_long(dsn, "SELECT sealed_generation FROM dtls_sessions"), 2);

    move_to(c, f->port, "127.0.0.7");
    double memory_before = metric(f, RESUMED_MEM);
    before = last_sequence(c);
    assert_true(roundtrip(f, c, "back on A"));
    assert_true(last_sequence(c) - before >= EIM_DTLS_SEQUENCE_GAP);
    assert_true(metric(f, RESUMED_DB) == 1);
    assert_true(metric(f, RESUMED_MEM) == memory_before); /* the copy was not resumed */
    if (!notifications)
        assert_true(metric(f, "eimd_dtls_stale_copies_total{cause=\"wake\",action=\"replaced\"}") ==
                    1);
    settle(f, f->server);
    assert_int_equal(test_pg_long(dsn, "SELECT generation FROM dtls_sessions"), 3);
    /* A's claim told B, whose parked copy goes */
    wait_parked(f, f->server_b, 0);
    wait_metric(f, f->metrics_b,
                "eimd_dtls_stale_copies_total{cause=\"notify\",action=\"dropped\"}", 1);
    park_cycles(f, c, 2, "A again");
    assert_true(metric(f, HANDSHAKES) == 1);
    assert_true(metric_in(f->metrics_b, HANDSHAKES) == 0);
    assert_true(c->nonce_count >= 10);
    assert_nonces_rise(c);
    settle(f, f->server);
    client_free(c);
    free(dsn);
}

static void test_handover_between_instances(void **state)
{
    if (!getenv("EIMD_TEST_DSN")) {
        skip();
        return;
    }
    handover(*state, true);
}

static void test_handover_stale_copy_checked_on_wake(void **state)
{
    if (!getenv("EIMD_TEST_DSN")) {
        skip();
        return;
    }
    handover(*state, false);
}

/* A still has the session live when the device moves to B; A's write when
 * it parks its (now stale) copy is refused and B's row stays as B wrote
 * it; A drops the copy and later claims the newest state. */
static void test_late_write_refused(void **state)
{
    fixture_t *f = *state;
    if (!getenv("EIMD_TEST_DSN")) {
        skip();
        return;
    }
    char *dsn;
    /* parking only when told (eim_dtls_server_flush), so the order is fixed */
    client_t *c = two_instances(f, "dtlslate", long_park_quiet, long_park, &dsn);
    flush(f, f->server);
    assert_int_equal(eim_dtls_server_parked_sessions(f->server), 1);
    assert_true(roundtrip(f, c, "A wakes")); /* live on A again, row rewritten */
    settle(f, f->server);
    assert_int_equal(eim_dtls_server_live_sessions(f->server), 1);

    move_to(c, f->port_b, "127.0.0.6");
    assert_true(roundtrip(f, c, "on B"));
    settle(f, f->server_b);
    const char *row = ROW_SQL;
    char *b_row = test_pg_query_value(dsn, row);
    assert_non_null(strstr(b_row, " 2 2 B"));

    /* A parks its copy (as on shutdown) and writes as generation 1: refused */
    int closed_before = f->closed_calls;
    flush(f, f->server);
    assert_true(
        metric(f, "eimd_dtls_stale_copies_total{cause=\"write_refused\",action=\"dropped\"}") == 1);
    assert_int_equal(eim_dtls_server_parked_sessions(f->server), 0);
    assert_int_equal(eim_dtls_server_live_sessions(f->server), 0);
    assert_int_equal(f->closed_calls, closed_before + 1);
    assert_true(metric(f, "eimd_dtls_park_writes_failed_total") == 0);
    char *after = test_pg_query_value(dsn, row);
    assert_string_equal(after, b_row);
    free(after);
    free(b_row);

    assert_true(roundtrip(f, c, "still on B"));
    move_to(c, f->port, "127.0.0.7");
    uint64_t before = last_sequence(c);
    assert_true(roundtrip(f, c, "A claims"));
    assert_true(last_sequence(c) - before >= EIM_DTLS_SEQUENCE_GAP);
    assert_true(metric(f, RESUMED_DB) == 1);
    assert_true(metric(f, HANDSHAKES) == 1);
    assert_true(metric_in(f->metrics_b, HANDSHAKES) == 0);
    assert_nonces_rise(c);
    settle(f, f->server);
    settle(f, f->server_b);
    client_free(c);
    free(dsn);
}

/* A datagram carrying the session's CID (cleartext on the wire) from a new
 * address reaches B while A holds the parked session: random bytes after
 * the header (forged), then a genuine record A already took (replayed). B
 * tries them against the newest state in the database before claiming
 * anything: neither authenticates, so B writes nothing (same generation,
 * same blob), answers nothing and A never hears of it; the device then
 * wakes its session on A from memory, as if nothing had happened. */
static void test_forged_record_moves_nothing(void **state)
{
    fixture_t *f = *state;
    if (!getenv("EIMD_TEST_DSN")) {
        skip();
        return;
    }
    char *dsn;
    client_t *c = two_instances(f, "dtlsforged", long_park, long_park, &dsn);
    uint8_t genuine[2048];
    size_t genuine_len = c->last_sent_len;
    memcpy(genuine, c->last_sent, genuine_len);
    assert_int_equal(genuine[0], 25); /* tls12_cid: type, version, epoch, sequence, CID */
    flush(f, f->server);
    assert_int_equal(eim_dtls_server_parked_sessions(f->server), 1);
    const char *row = ROW_SQL;
    char *before = test_pg_query_value(dsn, row);
    assert_non_null(strstr(before, " 1 1 A"));

    uint8_t forged[11 + EIM_DTLS_CID_SIZE + 2 + 48];
    memcpy(forged, genuine, 11 + EIM_DTLS_CID_SIZE);
    forged[3] = 0; /* epoch 1, a sequence number far ahead */
    forged[4] = 1;
    memset(forged + 5, 0x7F, 6);
    forged[11 + EIM_DTLS_CID_SIZE] = 0;
    forged[11 + EIM_DTLS_CID_SIZE + 1] = 48;
    for (size_t i = 11 + EIM_DTLS_CID_SIZE + 2; i < sizeof(forged); i++)
        forged[i] = (uint8_t)(i * 131 + 7);
    struct sockaddr_in to = c->server;
    to.sin_port = htons((uint16_t)f->port_b);
    int attacker = udp_socket("127.0.0.8");
    sendto(attacker, forged, sizeof(forged), 0, (struct sockaddr *)&to, sizeof(to));
    wait_metric(f, f->metrics_b, "eimd_dtls_drops_total{reason=\"unauthenticated_claim\"}", 1);
    settle(f, f->server_b);
    sendto(attacker, genuine, genuine_len, 0, (struct sockaddr *)&to, sizeof(to));
    wait_metric(f, f->metrics_b, "eimd_dtls_drops_total{reason=\"unauthenticated_claim\"}", 2);
    settle(f, f->server_b);
    char *after = test_pg_query_value(dsn, row);
    assert_string_equal(after, before);
    free(after);
    assert_true(metric_in(f->metrics_b, RESUMED_DB) == 0);
    assert_int_equal(eim_dtls_server_live_sessions(f->server_b), 0);
    assert_int_equal(eim_dtls_server_parked_sessions(f->server_b), 0);
    char junk[64];
    assert_true(recv(attacker, junk, sizeof(junk), MSG_DONTWAIT) < 0); /* nothing answered */
    close(attacker);

    /* A's copy was never touched: the device wakes it from memory */
    pump(f, 50);
    assert_int_equal(eim_dtls_server_parked_sessions(f->server), 1);
    assert_true(roundtrip(f, c, "still on A"));
    assert_true(metric(f, RESUMED_MEM) == 1);
    assert_true(metric(f, RESUMED_DB) == 0);
    assert_true(metric(f, "eimd_dtls_stale_copies_total{cause=\"notify\",action=\"dropped\"}") ==
                0);
    assert_true(metric(f, "eimd_dtls_stale_copies_total{cause=\"wake\",action=\"replaced\"}") == 0);
    settle(f, f->server);
    assert_int_equal(test_pg_long(dsn, "SELECT generation FROM dtls_sessions"), 1);
    assert_true(metric(f, HANDSHAKES) == 1);
    assert_nonces_rise(c);
    free(before);
    client_free(c);
    free(dsn);
}

/* While the database cannot answer, a record for a parked copy is dropped
 * (never resumed on the copy's word alone); afterwards it works again. A
 * send from a parked copy goes out at once and the next record is checked. */
static void test_wake_fails_closed(void **state)
{
    fixture_t *f = *state;
    if (!getenv("EIMD_TEST_DSN")) {
        skip();
        return;
    }
    char *dsn = database_for("dtlsclosed");
    f->pool = pool_new(f, dsn);
    start_server(f, short_park);
    client_options_t o = {wolfDTLSv1_2_client_method, "ECDHE-ECDSA-AES128-CCM-8", false, true,
                          NULL};
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c);
    assert_true(roundtrip(f, c, "before"));
    wait_parked(f, f->server, 1);
    settle(f, f->server);

    test_pg_exec(dsn, "ALTER FUNCTION dtls_session_peek(bytea, bytea, bigint) "
                      "RENAME TO dtls_session_peek_away");
    assert_int_equal(wolfSSL_write(c->ssl, "lost", 4), 4);
    wait_metric(f, f->metrics, "eimd_dtls_drops_total{reason=\"db_error\"}", 1);
    char buf[64];
    pump(f, 50);
    assert_true(wolfSSL_read(c->ssl, buf, sizeof(buf)) <= 0); /* no answer */
    assert_int_equal(eim_dtls_server_parked_sessions(f->server), 1);
    assert_true(metric(f, RESUMED_MEM) == 0);
    test_pg_exec(dsn, "ALTER FUNCTION dtls_session_peek_away(bytea, bytea, bigint) "
                      "RENAME TO dtls_session_peek");
    assert_true(roundtrip(f, c, "after"));
    assert_true(metric(f, RESUMED_MEM) == 1);

    /* the server speaks first to a parked session */
    wait_parked(f, f->server, 1);
    settle(f, f->server);
    assert_int_equal(eim_dtls_send(f->last, (const uint8_t *)"push", 4), EIM_OK);
    int n = -1;
    for (int i = 0; i < 100 && n <= 0; i++) {
        pump(f, 2);
        n = wolfSSL_read(c->ssl, buf, sizeof(buf));
    }
    assert_int_equal(n, 4);
    assert_true(roundtrip(f, c, "checked")); /* verified with the database first */
    assert_true(metric(f, RESUMED_MEM) == 2);
    assert_true(metric(f, HANDSHAKES) == 1);
    assert_nonces_rise(c);
    settle(f, f->server);
    client_free(c);
    free(dsn);
}

static void small_limits(eim_dtls_server_options_t *o)
{
    o->max_sessions = 2;
    o->handshake_rate_per_prefix = 3;
}

static void test_limits_and_eviction(void **state)
{
    fixture_t *f = *state;
    start_server(f, small_limits);
    client_options_t o = {wolfDTLSv1_2_client_method, NULL, false, true, "127.0.0.1"};
    client_t *a = client_new(f->port, &o);
    connect_ok(f, a);
    assert_true(roundtrip(f, a, "a"));
    client_t *b = client_new(f->port, &o);
    connect_ok(f, b);
    assert_true(roundtrip(f, b, "b"));
    client_t *c = client_new(f->port, &o);
    connect_ok(f, c); /* a, the oldest idle, makes room */
    assert_true(roundtrip(f, c, "c"));
    assert_true(metric(f, "eimd_dtls_sessions_evicted_total") == 1);
    assert_int_equal(f->closed_calls, 1);
    assert_int_equal(eim_dtls_server_live_sessions(f->server), 2);
    /* the same /24 has used its 3 handshakes this second */
    client_t *d = client_new(f->port, &o);
    assert_int_not_equal(client_handshake(f, d, false), 0);
    assert_true(metric(f, "eimd_dtls_drops_total{reason=\"rate_limited\"}") >= 1);
    /* another prefix is not affected */
    client_options_t other = o;
    other.source = "127.0.1.1";
    client_t *e = client_new(f->port, &other);
    connect_ok(f, e);
    assert_true(roundtrip(f, e, "e"));
    /* garbage is counted */
    sendto(e->fd, "hello", 5, 0, (struct sockaddr *)&e->server, sizeof(e->server));
    pump(f, 10);
    assert_true(metric(f, "eimd_dtls_drops_total{reason=\"malformed\"}") == 1);
    client_free(a);
    client_free(b);
    client_free(c);
    client_free(d);
    client_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dtls12_x509_cid, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_dtls13_rpk_stays_live, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rpk_listed_second, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_brainpool_key_exchange, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_handshake_survives_lost_server_flights, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cookie_survives_rotation, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_migration_needs_authentic_record, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_flexible_client_dtls12_cid, fixture_setup_12,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_flexible_client_rejects_unoffered_cid,
                                        fixture_setup_12, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_park_unpark_in_memory, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_park_restart_resume, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_close_with_write_in_flight, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_handover_between_instances, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_handover_stale_copy_checked_on_wake, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_late_write_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_forged_record_moves_nothing, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wake_fails_closed, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_eviction, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, test_keys_group_setup, test_keys_group_teardown);
}
