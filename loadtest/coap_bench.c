/*
 * CoAP over DTLS 1.2 request-rate client (RFC 7252 over RFC 6347, CID per
 * RFC 9146), driven by loadtest/coap_bench.sh: establishes S sessions
 * (ECDHE-ECDSA-AES128-CCM-8, P-256, X.509 checked against the CA), then
 * keeps one Confirmable request outstanding per session for D seconds and
 * prints the answered requests per second. With -r N every session moves
 * to a new source port every N requests (NAT rebinding; needs a server
 * Connection ID, so only with -c).
 *
 *   coap_bench -p PORT -C CA.pem [-s SESSIONS] [-d SECONDS] [-c] [-r N]
 *              [-m post|get] [-u PATH] [-f BODYFILE]
 *
 * Output (one line): "<requests/s> <answers> <bytes of the last answer>".
 * One thread; every answer's code must be 2.xx (else exit 1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "server/coap/coap_codec.h"

#define MAX_SESSIONS 1024

typedef struct {
    WOLFSSL *ssl;
    int fd;
    uint16_t mid;
    unsigned since_rebind;
    bool waiting;
    double sent_at; /* a request lost on loopback is given up after 1 s */
} session_t;

static struct sockaddr_in server;

static int io_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    session_t *s = ctx;
    ssize_t n = recv(s->fd, buf, (size_t)size, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? WOLFSSL_CBIO_ERR_WANT_READ
                                                       : WOLFSSL_CBIO_ERR_GENERAL;
    return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    session_t *s = ctx;
    ssize_t n = sendto(s->fd, buf, (size_t)size, 0, (struct sockaddr *)&server, sizeof(server));
    return n < 0 ? WOLFSSL_CBIO_ERR_GENERAL : (int)n;
}

static int new_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("socket");
        exit(1);
    }
    return fd;
}

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

static void wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, ms);
}

int main(int argc, char **argv)
{
    int port = 0, sessions = 32, rebind_every = 0;
    double seconds = 5;
    bool cid = false, get = false;
    const char *ca = NULL, *path = "gsma/rsp2/asn1", *body_file = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "p:C:s:d:cr:m:u:f:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'C': ca = optarg; break;
        case 's': sessions = atoi(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'c': cid = true; break;
        case 'r': rebind_every = atoi(optarg); break;
        case 'm': get = strcmp(optarg, "get") == 0; break;
        case 'u': path = optarg; break;
        case 'f': body_file = optarg; break;
        default: return 2;
        }
    }
    if (port <= 0 || ca == NULL || sessions < 1 || sessions > MAX_SESSIONS ||
        (rebind_every && !cid)) {
        fprintf(stderr,
                "usage: coap_bench -p PORT -C CA [-s 1..%d] [-d S] [-c [-r N]] [-m "
                "post|get] [-u PATH] [-f BODY]\n",
                MAX_SESSIONS);
        return 2;
    }
    uint8_t body[1024];
    size_t body_len = 0;
    if (body_file) {
        FILE *f = fopen(body_file, "rb");
        if (!f)
            return 2;
        body_len = fread(body, 1, sizeof(body), f);
        fclose(f);
    }
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    wolfSSL_Init();
    eim_coap_codec_init();
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    int groups[] = {WOLFSSL_ECC_SECP256R1};
    if (wolfSSL_CTX_load_verify_locations(ctx, ca, NULL) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-CCM-8") != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_groups(ctx, groups, 1) != WOLFSSL_SUCCESS) {
        fprintf(stderr, "client context\n");
        return 1;
    }
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
    wolfSSL_SetIORecv(ctx, io_recv);
    wolfSSL_SetIOSend(ctx, io_send);

    session_t *s = calloc((size_t)sessions, sizeof(*s));
    for (int i = 0; i < sessions; i++) {
        s[i].fd = new_socket();
        s[i].ssl = wolfSSL_new(ctx);
        s[i].mid = (uint16_t)(i * 1000);
        wolfSSL_SetIOReadCtx(s[i].ssl, &s[i]);
        wolfSSL_SetIOWriteCtx(s[i].ssl, &s[i]);
        wolfSSL_dtls_set_using_nonblock(s[i].ssl, 1);
        wolfSSL_dtls_set_peer(s[i].ssl, &server, sizeof(server));
        if (cid) {
            wolfSSL_dtls_cid_use(s[i].ssl);
            wolfSSL_dtls_cid_set(s[i].ssl, NULL, 0);
        }
        int rc = 0;
        for (int k = 0; k < 2000 && rc != WOLFSSL_SUCCESS; k++) {
            rc = wolfSSL_connect(s[i].ssl);
            if (rc != WOLFSSL_SUCCESS) {
                int e = wolfSSL_get_error(s[i].ssl, rc);
                if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE) {
                    fprintf(stderr, "handshake %d failed: %d\n", i, e);
                    return 1;
                }
                wait_readable(s[i].fd, 5);
            }
        }
        if (rc != WOLFSSL_SUCCESS) {
            fprintf(stderr, "handshake %d timed out\n", i);
            return 1;
        }
    }

    struct pollfd *pfd = calloc((size_t)sessions, sizeof(*pfd));
    uint64_t answers = 0, counted = 0;
    size_t last_len = 0;
    double start = now_s(), measure_from = start + 0.5, end = measure_from + seconds;
    double last_progress = start;
    for (;;) {
        double t = now_s();
        if (t >= end)
            break;
        if (t - last_progress > 5) {
            fprintf(stderr, "no answers for 5 s\n");
            return 1;
        }
        for (int i = 0; i < sessions; i++) {
            if (s[i].waiting && t - s[i].sent_at > 1.0)
                s[i].waiting = false;
            if (s[i].waiting)
                continue;
            if (rebind_every && ++s[i].since_rebind >= (unsigned)rebind_every) {
                close(s[i].fd);
                s[i].fd = new_socket(); /* the next record comes from a new port */
                s[i].since_rebind = 0;
            }
            eim_coap_message_t m;
            uint8_t token[2] = {(uint8_t)(i >> 8), (uint8_t)i}, scratch[4];
            eim_coap_message_init(&m, EIM_COAP_CON, get ? EIM_COAP_GET : EIM_COAP_POST, ++s[i].mid,
                                  token, sizeof(token));
            for (const char *seg = path; *seg;) {
                const char *slash = strchr(seg, '/');
                size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
                eim_coap_add_option(&m, EIM_COAP_OPTION_URI_PATH, (const uint8_t *)seg, n);
                seg += n + (slash ? 1 : 0);
            }
            if (body_len) {
                eim_coap_add_uint_option(&m, EIM_COAP_OPTION_CONTENT_FORMAT, EIM_COAP_FORMAT_OCTET,
                                         scratch);
                m.payload = body;
                m.payload_len = body_len;
            }
            uint8_t datagram[1200];
            size_t len;
            if (eim_coap_build(&m, datagram, sizeof(datagram), &len) != EIM_OK ||
                wolfSSL_write(s[i].ssl, datagram, (int)len) != (int)len) {
                fprintf(stderr, "send failed\n");
                return 1;
            }
            s[i].waiting = true;
            s[i].sent_at = t;
        }
        for (int i = 0; i < sessions; i++)
            pfd[i] = (struct pollfd){.fd = s[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)sessions, 100) <= 0)
            continue;
        for (int i = 0; i < sessions; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            uint8_t in[2048];
            int n = wolfSSL_read(s[i].ssl, in, sizeof(in));
            if (n <= 0)
                continue;
            eim_coap_message_t a;
            if (eim_coap_parse(in, (size_t)n, &a) != EIM_OK || a.message_id != s[i].mid) {
                eim_coap_message_clear(&a);
                continue; /* a late duplicate */
            }
            if (a.code >> 5 != 2) {
                char text[5];
                fprintf(stderr, "answer %s\n", eim_coap_code_text(a.code, text));
                return 1;
            }
            last_len = a.payload_len;
            eim_coap_message_clear(&a);
            s[i].waiting = false;
            answers++;
            last_progress = now_s();
            if (last_progress >= measure_from)
                counted++;
        }
    }
    printf("%.0f %llu %zu\n", (double)counted / seconds, (unsigned long long)answers, last_len);
    for (int i = 0; i < sessions; i++) {
        wolfSSL_free(s[i].ssl);
        close(s[i].fd);
    }
    free(s);
    free(pfd);
    wolfSSL_CTX_free(ctx);
    wolfSSL_Cleanup();
    return 0;
}
