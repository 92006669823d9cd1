/*
 * DTLS session layer benchmark (server/dtls/, RFC 6347 / RFC 9146): full
 * and resumed (RFC 5077 ticket) DTLS 1.2 handshakes per second against the
 * eimd DTLS server over loopback, every client from a new source port
 * (address rebinding), next to the in-process wolfSSL rate (client and
 * server objects over memory buffers) measured by the same program; then
 * heap per live session and per parked session, and N parked sessions.
 *
 * One thread runs both sides (the server loop is pumped between client
 * steps), so both rates include the client's work. Keys: `eimd keygen`
 * output in a temporary directory. Usage: dtls_bench [handshakes] [parked]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "server/config.h"
#include "server/dtls/dtls_server.h"
#include "server/keygen.h"
#include "server/tls/tls_context.h"

static char dir[64], ca[128], chain[128], key[128], rpk[128];

typedef struct {
    int fd;
    struct sockaddr_in to;
} io_t;

static int io_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    io_t *io = ctx;
    ssize_t n = recv(io->fd, buf, (size_t)size, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN ? WOLFSSL_CBIO_ERR_WANT_READ : WOLFSSL_CBIO_ERR_GENERAL;
    return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    io_t *io = ctx;
    return (int)sendto(io->fd, buf, (size_t)size, 0, (struct sockaddr *)&io->to, sizeof(io->to));
}

static uv_loop_t loop;

static void on_data(eim_dtls_session_t *s, const uint8_t *d, size_t n, void *ctx)
{
    (void)ctx;
    eim_dtls_send(s, d, n);
}

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

static size_t heap(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* One client: handshake (optionally resuming), one echo; returns its SSL. */
static WOLFSSL *client(WOLFSSL_CTX *ctx, int port, WOLFSSL_SESSION *resume, io_t *io)
{
    io->fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(io->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        abort();
    io->to = a;
    io->to.sin_port = htons((uint16_t)port);
    WOLFSSL *ssl = wolfSSL_new(ctx);
    wolfSSL_SetIOReadCtx(ssl, io);
    wolfSSL_SetIOWriteCtx(ssl, io);
    wolfSSL_dtls_set_using_nonblock(ssl, 1);
    wolfSSL_dtls_set_peer(ssl, &io->to, sizeof(io->to));
    wolfSSL_dtls_cid_use(ssl);
    wolfSSL_dtls_cid_set(ssl, NULL, 0);
    if (resume)
        wolfSSL_set_session(ssl, resume);
    for (int i = 0; i < 100000; i++) {
        int rc = wolfSSL_connect(ssl);
        if (rc == WOLFSSL_SUCCESS)
            break;
        int e = wolfSSL_get_error(ssl, rc);
        if (e != WOLFSSL_ERROR_WANT_READ) {
            fprintf(stderr, "client handshake failed: %d\n", e);
            exit(1);
        }
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    wolfSSL_write(ssl, "poll", 4);
    char buf[16];
    for (int i = 0; i < 100000 && wolfSSL_read(ssl, buf, sizeof(buf)) <= 0; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    return ssl;
}

/* In-process wolfSSL: client and server objects over memory queues. */
typedef struct {
    uint8_t data[8][2048];
    int len[8];
    int head, tail;
} queue_t;

static int mem_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    queue_t *q = ((queue_t **)ctx)[1];
    if (q->tail - q->head >= 8 || size > 2048)
        return size;
    memcpy(q->data[q->tail % 8], buf, (size_t)size);
    q->len[q->tail++ % 8] = size;
    return size;
}

static int mem_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    queue_t *q = ((queue_t **)ctx)[0];
    if (q->head == q->tail)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    int n = q->len[q->head % 8] < size ? q->len[q->head % 8] : size;
    memcpy(buf, q->data[q->head++ % 8], (size_t)n);
    return n;
}

static double in_process_rate(WOLFSSL_CTX *cctx, WOLFSSL_CTX *sctx, int n)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        queue_t *a = calloc(1, sizeof(queue_t)), *b = calloc(1, sizeof(queue_t));
        queue_t *cq[2] = {b, a}, *sq[2] = {a, b};
        WOLFSSL *c = wolfSSL_new(cctx), *s = wolfSSL_new(sctx);
        wolfSSL_SetIOReadCtx(c, cq);
        wolfSSL_SetIOWriteCtx(c, cq);
        wolfSSL_SetIOReadCtx(s, sq);
        wolfSSL_SetIOWriteCtx(s, sq);
        wolfSSL_dtls_set_using_nonblock(c, 1);
        wolfSSL_dtls_set_using_nonblock(s, 1);
        int cr = 0, sr = 0;
        for (int k = 0; k < 50 && (cr != 1 || sr != 1); k++) {
            if (cr != 1)
                cr = wolfSSL_connect(c);
            if (sr != 1)
                sr = wolfSSL_accept(s);
        }
        if (cr != 1 || sr != 1) {
            fprintf(stderr, "in-process handshake failed\n");
            exit(1);
        }
        wolfSSL_free(c);
        wolfSSL_free(s);
        free(a);
        free(b);
    }
    return n / (now_s() - t0);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int parked_n = argc > 2 ? atoi(argv[2]) : 2000;
    snprintf(dir, sizeof(dir), "/tmp/eimd-dtls-bench-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    eim_config_t cfg;
    eim_config_defaults(&cfg);
    char **slots[] = {&cfg.keys.signing_key,     &cfg.keys.tls_ca_certificate,
                      &cfg.keys.tls_ca_key,      &cfg.keys.tls_certificate_chain,
                      &cfg.keys.tls_private_key, &cfg.keys.tls_raw_public_key};
    const char *names[] = {"s.pem", "ca.pem", "ca.key", "chain.pem", "tls.key", "tls.der"};
    for (int i = 0; i < 6; i++) {
        free(*slots[i]);
        *slots[i] = eim_sprintf("%s/%s", dir, names[i]);
    }
    eim_log_set_level(EIM_LOG_WARN);
    if (eim_keygen(&cfg) != 0)
        return 1;
    snprintf(ca, sizeof(ca), "%s", cfg.keys.tls_ca_certificate);
    snprintf(chain, sizeof(chain), "%s", cfg.keys.tls_certificate_chain);
    snprintf(key, sizeof(key), "%s", cfg.keys.tls_private_key);
    snprintf(rpk, sizeof(rpk), "%s", cfg.keys.tls_raw_public_key);
    eim_config_free(&cfg);
    wolfSSL_Init();
    uv_loop_init(&loop);

    eim_tls_context_t *tls;
    char error[256];
    eim_tls_context_options_t to = {EIM_TLS_DATAGRAM, chain, key, rpk, 3600000};
    if (eim_tls_context_new(&loop, &to, &tls, error, sizeof(error)) != EIM_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    WOLFSSL_CTX *cctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    wolfSSL_CTX_load_verify_locations(cctx, ca, NULL);
    wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_PEER, NULL);
    wolfSSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES128-CCM-8");
    int groups[] = {WOLFSSL_ECC_SECP256R1};
    wolfSSL_CTX_set_groups(cctx, groups, 1);
    wolfSSL_CTX_UseSessionTicket(cctx);
    wolfSSL_SetIORecv(cctx, io_recv);
    wolfSSL_SetIOSend(cctx, io_send);

    /* baseline: the same handshake, in process, no sockets */
    WOLFSSL_CTX *bc = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    wolfSSL_CTX_load_verify_locations(bc, ca, NULL);
    wolfSSL_CTX_set_cipher_list(bc, "ECDHE-ECDSA-AES128-CCM-8");
    wolfSSL_CTX_set_groups(bc, groups, 1);
    wolfSSL_SetIORecv(bc, mem_recv);
    wolfSSL_SetIOSend(bc, mem_send);
    WOLFSSL_CTX *bs = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
    wolfSSL_CTX_use_certificate_chain_file(bs, chain);
    wolfSSL_CTX_use_PrivateKey_file(bs, key, WOLFSSL_FILETYPE_PEM);
    wolfSSL_CTX_set_groups(bs, groups, 1);
    wolfSSL_SetIORecv(bs, mem_recv);
    wolfSSL_SetIOSend(bs, mem_send);
    double baseline = in_process_rate(bc, bs, n / 2 > 0 ? n / 2 : 1);

    eim_dtls_server_options_t o;
    eim_dtls_server_options_default(&o);
    o.listen[0] = "127.0.0.1:0";
    o.listen_count = 1;
    o.tls = tls;
    o.on_data = on_data;
    o.handshake_rate_per_prefix = 0;
    o.park_after_ms = 3600000; /* parkable, parked only by the flush below */
    eim_dtls_server_t *server;
    if (eim_dtls_server_start(&loop, &o, &server, error, sizeof(error)) != EIM_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    int port = eim_dtls_server_port(server, 0);

    /* full handshakes, each from a new port; sessions stay live */
    WOLFSSL_SESSION *ticket = NULL;
    io_t *ios = calloc((size_t)n, sizeof(io_t));
    WOLFSSL **clients = calloc((size_t)n, sizeof(WOLFSSL *));
    size_t heap0 = heap();
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        clients[i] = client(cctx, port, NULL, &ios[i]);
        if (i == 0)
            ticket = wolfSSL_get1_session(clients[0]);
    }
    double full = n / (now_s() - t0);
    size_t live_bytes = (heap() - heap0) / (size_t)n; /* server + client objects */
    /* park them all */
    size_t heap_live = heap();
    eim_dtls_server_flush(server, NULL, NULL);
    size_t parked = eim_dtls_server_parked_sessions(server);
    double freed_per_session = (double)(heap_live - heap()) / (double)(parked ? parked : 1);

    /* resumed handshakes (ticket), each from a new port */
    int resumed_n = n / 2 > 0 ? n / 2 : 1;
    io_t *rios = calloc((size_t)resumed_n, sizeof(io_t));
    t0 = now_s();
    for (int i = 0; i < resumed_n; i++) {
        WOLFSSL *c = client(cctx, port, ticket, &rios[i]);
        if (!wolfSSL_session_reused(c))
            fprintf(stderr, "warning: not resumed\n");
        wolfSSL_free(c);
        close(rios[i].fd);
    }
    double resumed = resumed_n / (now_s() - t0);

    /* many parked sessions: free the clients, measure the server alone */
    for (int i = 0; i < n; i++) {
        wolfSSL_free(clients[i]);
        close(ios[i].fd);
    }
    size_t before_more = heap();
    int more = parked_n > n ? parked_n - n : 0;
    io_t tmp;
    for (int i = 0; i < more; i++) {
        WOLFSSL *c = client(cctx, port, NULL, &tmp);
        wolfSSL_free(c);
        close(tmp.fd);
        if (i % 1000 == 999)
            eim_dtls_server_flush(server, NULL, NULL);
    }
    eim_dtls_server_flush(server, NULL, NULL);
    size_t total_parked = eim_dtls_server_parked_sessions(server);
    (void)before_more;
    /* what the server holds for them: the heap its close gives back */
    size_t with_server = heap();
    eim_dtls_server_close(server);
    uv_run(&loop, UV_RUN_NOWAIT);
    double per_parked = (double)(with_server - heap()) / (double)total_parked;
    printf("| measure | value |\n|---|---|\n");
    printf("| in-process wolfSSL full handshakes/s (client+server, P-256, CCM-8) | %.0f |\n",
           baseline);
    printf("| eimd full handshakes/s (loopback, new source port each) | %.0f (%.0f %% of "
           "in-process) |\n",
           full, 100 * full / baseline);
    printf("| eimd resumed handshakes/s (ticket, new source port each) | %.0f |\n", resumed);
    printf("| heap per live session (server + in-process client) | %zu B |\n", live_bytes);
    printf("| heap freed per session when parked | %.0f B |\n", freed_per_session);
    printf("| heap per parked session (server only, incl. tables) | %.0f B |\n", per_parked);
    printf("| parked sessions held | %zu (%.1f MiB projected for 100k) |\n", total_parked,
           per_parked * 100000 / 1048576);
    eim_tls_context_release(tls);
    uv_run(&loop, UV_RUN_DEFAULT);
    wolfSSL_SESSION_free(ticket);
    wolfSSL_CTX_free(cctx);
    wolfSSL_CTX_free(bc);
    wolfSSL_CTX_free(bs);
    free(ios);
    free(rios);
    free(clients);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return 0;
}
