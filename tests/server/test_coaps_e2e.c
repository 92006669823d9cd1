/*
 * ESipa over CoAP on DTLS end to end (issue 6 "tests with real third-party
 * peers"): a real `eimd serve` process with coaps enabled, the real
 * PostgreSQL, and third-party CoAP/DTLS clients as the IPA.
 *
 *  - Debian 12's libcoap 4.3.1 `coap-client-openssl` (X.509, DTLS 1.2) and
 *    `coap-client-gnutls` (X.509 and RFC 7250 raw public key) poll with
 *    `POST /gsma/rsp2/asn1` (RFC 7252) and get the signed BF51, which
 *    verifies with the eIM public key; the eUICC-signed result is
 *    acknowledged (BF50) and the operation ends DONE.
 *  - libcoap 4.3.5's `coap-client-wolfssl` (built by bootstrap-deps
 *    --peers) fetches a package larger than one block with Block2 (RFC
 *    7959) with `-d 1` (a new source port on every datagram), on DTLS 1.3
 *    (Connection ID per RFC 9147) and on a 1.2-only eimd (RFC 9146, after
 *    a 1.3 offer: see test_wolfssl_cid_block2_dtls12); eimd counts CID
 *    migrations and the body arrives intact.
 *  - Parking across a restart: the third-party clients exit after one
 *    request, so an in-process wolfSSL DTLS 1.2 client with a CID (as in
 *    test_dtls_server.c) keeps its session while eimd parks it, is stopped
 *    with SIGTERM and started again on the same database and park key; the
 *    client's next request, from a new port, is answered without a new
 *    handshake (eimd's metrics: no handshake, one resumption from the
 *    database).
 *
 * Skipped (with a message) when a client binary is missing.
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
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "proto/base/text_codec.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/esipa/esipa_message.h"
#include "server/coap/coap_codec.h"
#include "tests/proto/crypto_test_util.h"
#include "tests/server/eimd_process.h"
#include "tests/server/esipa_test_util.h"
#include "tests/support/support.h"

#define EIM_ID EIMD_PROCESS_EIM_ID
#define ENABLE "{\"psmos\":[{\"enable\":{\"iccid\":\"98001032547698103214\"}}]}"
#define URI    "coaps://127.0.0.1:%d/gsma/rsp2/asn1"

typedef struct {
    eimd_process_t e;
    int coaps_port;
} fixture_t;

/* Options a test sets before setup_with. */
typedef struct {
    bool dtls13;
    int park_after_ms;
} serve_options_t;

/* $LIBCOAP_PREFIX/bin/coap-client-wolfssl, the prefix from the environment
 * or else from deploy/deps.env (it names the wolfSSL build id). */
static const char *wolfssl_client(void)
{
    static char path[512];
    if (path[0])
        return path;
    char prefix[400] = "";
    const char *env = getenv("LIBCOAP_PREFIX");
    if (env) {
        snprintf(prefix, sizeof(prefix), "%s", env);
    } else {
        FILE *p = popen("bash -c '. \"" EIMD_SOURCE_DIR "/deploy/deps.env\" && "
                        "printf %s \"$LIBCOAP_PREFIX\"'",
                        "r");
        if (p) {
            if (!fgets(prefix, sizeof(prefix), p))
                prefix[0] = '\0';
            pclose(p);
        }
    }
    snprintf(path, sizeof(path), "%s/bin/coap-client-wolfssl", prefix);
    return path;
}

static bool have(const char *binary)
{
    return access(binary, X_OK) == 0;
}

static int setup_with(void **state, const serve_options_t *so)
{
    fixture_t *f = calloc(1, sizeof(*f));
    eimd_process_init(&f->e, "coaps_e2e");
    /* the test eUICC with the public key of the test PKI's eUICC */
    esipa_test_import_euicc(f->e.dsn, EIM_ID, TEST_EID, f->e.euicc);
    f->coaps_port = test_free_port(); /* free for TCP; UDP on loopback is as good as free */
    static const char park_key[] =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    test_write_file(eimd_path(&f->e, "park.key"), park_key, strlen(park_key));
    eimd_process_env(&f->e, "EIMD_COAPS_ENABLED=true");
    eimd_process_env(&f->e, "EIMD_COAPS_LISTEN=127.0.0.1:%d", f->coaps_port);
    eimd_process_env(&f->e, "EIMD_COAPS_DTLS13=%s", so->dtls13 ? "true" : "false");
    eimd_process_env(&f->e, "EIMD_COAPS_PARK_AFTER_MS=%d", so->park_after_ms);
    eimd_process_env(&f->e, "EIMD_COAPS_PARK_KEY=%s", eimd_path(&f->e, "park.key"));
    eimd_process_env(&f->e, "EIMD_ESIPA_POLLS_PER_MINUTE=0"); /* tests poll in loops */
    eimd_process_keygen(&f->e);
    /* the IPA's own key for raw-public-key mode (GnuTLS wants both halves) */
    assert_int_equal(test_run("openssl ecparam -name prime256v1 -genkey -noout -out '%s' && "
                              "{ openssl pkey -in '%s' -pubout; cat '%s'; } > '%s'",
                              eimd_path(&f->e, "ipa.key.pem"), eimd_path(&f->e, "ipa.key.pem"),
                              eimd_path(&f->e, "ipa.key.pem"), eimd_path(&f->e, "ipa.rpk.pem")),
                     0);
    eimd_process_start(&f->e);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    serve_options_t so = {.dtls13 = true, .park_after_ms = 30000};
    return setup_with(state, &so);
}

static int setup_dtls12_only(void **state)
{
    serve_options_t so = {.dtls13 = false, .park_after_ms = 30000};
    return setup_with(state, &so);
}

static int setup_short_park(void **state)
{
    serve_options_t so = {.dtls13 = false, .park_after_ms = 300};
    return setup_with(state, &so);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    eimd_process_cleanup(&f->e);
    free(f);
    return 0;
}

/* The value of one metric series on eimd's admin /metrics. */
static double metric(const fixture_t *f, const char *series)
{
    static char body[1 << 18];
    assert_int_equal(test_http_get(f->e.admin_port, "/metrics", body, sizeof(body)), 200);
    size_t n = strlen(series);
    for (const char *line = body; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return 0;
}

typedef struct {
    int exit_code;
    uint8_t body[16384];
    size_t body_len;
    char *output; /* the client's verbose log (heap) */
} response_t;

static void response_clear(response_t *r)
{
    free(r->output);
    memset(r, 0, sizeof(*r));
}

/*
 * Runs a libcoap client: POST body_file to the eIM with Content-Format 42;
 * args are its DTLS options (already quoted). The answer's payload lands in
 * r->body, the client's log (-v 7: every PDU) in r->output.
 */
static void coap_post(const fixture_t *f, const char *client, const char *args,
                      const char *body_file, response_t *r)
{
    response_clear(r);
    char uri[128];
    snprintf(uri, sizeof(uri), URI, f->coaps_port);
    unlink(eimd_path(&f->e, "response.bin"));
    r->exit_code = test_run("timeout 30 '%s' -m post -t 42 -f '%s' -o '%s' -B 15 -v 7 %s '%s' "
                            "> '%s' 2>&1",
                            client, body_file, eimd_path(&f->e, "response.bin"), args, uri,
                            eimd_path(&f->e, "client.log"));
    r->output = test_read_file(eimd_path(&f->e, "client.log"));
    FILE *b = fopen(eimd_path(&f->e, "response.bin"), "rb");
    r->body_len = b ? fread(r->body, 1, sizeof(r->body), b) : 0;
    if (b)
        fclose(b);
}

static const char *write_body(const fixture_t *f, const char *name, const void *data, size_t len)
{
    const char *path = eimd_path(&f->e, name);
    test_write_file(path, data, len);
    return path;
}

/* Polls until a package comes (the pending set may learn of new work a
 * moment after the INSERT). */
static void poll_package(const fixture_t *f, const char *client, const char *args, response_t *r)
{
    uint8_t body[64];
    const char *file = write_body(f, "poll.der", body, esipa_test_poll_body(body));
    for (int i = 0; i < 50; i++) {
        coap_post(f, client, args, file, r);
        if (r->exit_code != 0 || r->body_len == 0)
            fail_msg("%s failed (%d):\n%s", client, r->exit_code, r->output);
        if (r->body_len > 6)
            return;
        usleep(100000);
    }
    fail_msg("no package delivered");
}

static void decode_package(const fixture_t *f, const response_t *r,
                           eim_euicc_package_request_t *req)
{
    eim_esipa_eim_to_ipa_t *msg = calloc(1, sizeof(*msg));
    assert_int_equal(eim_esipa_eim_to_ipa_decode(r->body, r->body_len, msg, NULL), EIM_OK);
    assert_int_equal(msg->function, EIM_ESIPA_GET_EIM_PACKAGE);
    char *pem = test_read_file(eimd_path(&f->e, "signing.pub.pem"));
    assert_non_null(pem);
    esipa_test_verify_package(eim_span(pem, strlen(pem)), EIM_ID,
                              msg->get_eim_package.euicc_package_request, req);
    free(pem);
    free(msg);
}

/* ---- Debian's libcoap 4.3.1 clients ------------------------------------ */

static void test_openssl_gnutls_cycle(void **state)
{
    fixture_t *f = *state;
    if (!have("/usr/bin/coap-client-openssl") || !have("/usr/bin/coap-client-gnutls")) {
        fprintf(stderr, "libcoap3-bin missing: skipped\n");
        skip();
    }
    test_pg_exec(f->e.dsn, "INSERT INTO operations (eid, kind, parameters) VALUES ('" TEST_EID
                           "', 'psmo', '" ENABLE "')");
    response_t *r = calloc(1, sizeof(*r)), *again = calloc(1, sizeof(*again));
    eim_euicc_package_request_t *req = calloc(1, sizeof(*req));
    char args[512];

    /* OpenSSL, X.509 chain to the development CA */
    snprintf(args, sizeof(args), "-R '%s'", eimd_path(&f->e, "ca.pem"));
    poll_package(f, "/usr/bin/coap-client-openssl", args, r);
    assert_non_null(strstr(r->output, "c:2.05"));       /* 2.05 Content */
    assert_non_null(strstr(r->output, "t:ACK c:2.05")); /* piggybacked */
    decode_package(f, r, req);
    assert_int_equal(req->package.psmos[0].kind, EIM_PSMO_ENABLE);
    assert_int_equal(req->package.counter_value, 1);

    /* GnuTLS, X.509 (the CA given as common CA): the same bytes again */
    snprintf(args, sizeof(args), "-C '%s'", eimd_path(&f->e, "ca.pem"));
    poll_package(f, "/usr/bin/coap-client-gnutls", args, again);
    assert_int_equal(again->body_len, r->body_len);
    assert_memory_equal(again->body, r->body, r->body_len);

    /* GnuTLS, raw public key (RFC 7250; it lists X.509 first) */
    snprintf(args, sizeof(args), "-M '%s'", eimd_path(&f->e, "ipa.rpk.pem"));
    poll_package(f, "/usr/bin/coap-client-gnutls", args, again);
    assert_int_equal(again->body_len, r->body_len);
    assert_memory_equal(again->body, r->body, r->body_len);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") >= 3);

    /* the eUICC's signed result over RPK: acknowledged, the operation DONE */
    uint8_t body[2048];
    size_t len = esipa_test_result_body(f->e.euicc, &req->package, 5, false, body, sizeof(body));
    coap_post(f, "/usr/bin/coap-client-gnutls", args, write_body(f, "result.der", body, len),
              again);
    assert_int_equal(again->exit_code, 0);
    static const uint8_t ack5[] = {0xBF, 0x50, 0x06, 0xBF, 0x53, 0x03, 0x80, 0x01, 0x05};
    assert_int_equal(again->body_len, sizeof(ack5));
    assert_memory_equal(again->body, ack5, sizeof(ack5));
    assert_int_equal(test_pg_long(f->e.dsn,
                                  "SELECT count(*) FROM operations WHERE state = 'DONE' AND "
                                  "counter_value = 1 AND result_seq_number = 5"),
                     1);
    /* the device was seen over CoAP (written behind, within seconds) */
    for (int i = 0;
         i < 100 && test_pg_long(f->e.dsn, "SELECT count(*) FROM euiccs WHERE transport = "
                                           "'coaps'") != 1;
         i++)
        usleep(100000);
    assert_int_equal(
        test_pg_long(f->e.dsn, "SELECT count(*) FROM euiccs WHERE transport = 'coaps'"), 1);

    /* nothing pending now (OpenSSL again) */
    uint8_t poll[64];
    snprintf(args, sizeof(args), "-R '%s'", eimd_path(&f->e, "ca.pem"));
    coap_post(f, "/usr/bin/coap-client-openssl", args,
              write_body(f, "poll.der", poll, esipa_test_poll_body(poll)), r);
    static const uint8_t nothing[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(r->body_len, sizeof(nothing));
    assert_memory_equal(r->body, nothing, sizeof(nothing));
    response_clear(r);
    response_clear(again);
    free(r);
    free(again);
    free(req);
}

/* ---- libcoap 4.3.5 + wolfSSL: CID with a new source port per datagram --- */

/* An addEim eCO carrying two certificates: a package over 1 KiB. */
static void enqueue_large_eco(fixture_t *f)
{
    char *cert = NULL, *ca = NULL;
    assert_int_equal(test_run("openssl x509 -in '%s' -outform DER | base64 -w0 > '%s' && "
                              "openssl x509 -in '%s' -outform DER | base64 -w0 > '%s'",
                              eimd_path(&f->e, "chain.pem"), eimd_path(&f->e, "cert.b64"),
                              eimd_path(&f->e, "ca.pem"), eimd_path(&f->e, "ca.b64")),
                     0);
    cert = test_read_file(eimd_path(&f->e, "cert.b64"));
    ca = test_read_file(eimd_path(&f->e, "ca.b64"));
    assert_non_null(cert);
    assert_non_null(ca);
    size_t cap = strlen(cert) + strlen(ca) + 1024;
    char *stmt = malloc(cap);
    snprintf(stmt, cap,
             "INSERT INTO operations (eid, kind, parameters) VALUES ('" TEST_EID "', 'eco', "
             "'{\"ecos\":[{\"addEim\":{\"eimId\":\"eim2.example\",\"eimFqdn\":"
             "\"eim2.example:8443\",\"counterValue\":10,\"associationToken\":300,"
             "\"eimPublicKeyData\":{\"eimCertificate\":\"%s\"},\"trustedPublicKeyDataTls\":"
             "{\"trustedCertificateTls\":\"%s\"},\"eimSupportedProtocol\":[\"eimRetrieveCoaps\"]"
             "}}]}')",
             cert, ca);
    test_pg_exec(f->e.dsn, stmt);
    free(stmt);
    free(cert);
    free(ca);
}

static void wolfssl_block2_rebinding(fixture_t *f, const char *version)
{
    if (!have(wolfssl_client())) {
        fprintf(stderr, "%s missing (deploy/bootstrap-deps --peers): skipped\n", wolfssl_client());
        skip();
    }
    enqueue_large_eco(f);
    response_t *r = calloc(1, sizeof(*r));
    char args[512];
    snprintf(args, sizeof(args), "-R '%s' -d 1", eimd_path(&f->e, "ca.pem"));
    poll_package(f, wolfssl_client(), args, r);
    assert_true(r->body_len > 1024);
    /* the answer came in blocks: block 0 piggybacked, then further blocks */
    assert_non_null(strstr(r->output, "Block2:0/M/1024"));
    assert_non_null(strstr(r->output, "Block2:1/"));
    eim_euicc_package_request_t *req = calloc(1, sizeof(*req));
    decode_package(f, r, req); /* intact: decodes and the signature verifies */
    assert_int_equal(req->package.list, EIM_PACKAGE_ECO_LIST);
    assert_int_equal(req->package.ecos[0].kind, EIM_ECO_ADD_EIM);
    assert_true(req->package.ecos[0].config.eim_public_key_data.contents.len > 300);
    /* every datagram from a new port: the session followed it */
    assert_true(metric(f, "eimd_dtls_cid_migrations_total") >= 2);
    char series[96];
    snprintf(series, sizeof(series), "eimd_dtls_handshakes_total{result=\"ok\",version=\"%s\"}",
             version);
    assert_true(metric(f, series) >= 1);
    response_clear(r);
    free(r);
    free(req);
}

/*
 * DTLS 1.2: libcoap 4.3.5 uses wolfDTLS_client_method(), which offers 1.3
 * (and the connection_id extension); the 1.2-only eimd answers with a DTLS
 * 1.2 ServerHello carrying its CID. Unpatched wolfSSL 5.9.2 as such a client
 * drops the extension from its list before it parses a downgraded
 * ServerHello and aborts with -429 (unsupported_extension);
 * deploy/patches/wolfssl-dtls12-cid-after-13-offer.patch fixes that, so `-d 1`
 * works on 1.2 as on 1.3.
 */
static void test_wolfssl_cid_block2_dtls12(void **state)
{
    fixture_t *f = *state;
    wolfssl_block2_rebinding(f, "1.2");
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.3\"}") == 0);
}

static void test_wolfssl_cid_block2_dtls13(void **state)
{
    fixture_t *f = *state;
    wolfssl_block2_rebinding(f, "1.3");
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 0);
}

/* ---- parking across a restart (in-process wolfSSL client) --------------- */

typedef struct {
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    int fd;
    struct sockaddr_in server;
} client_t;

static int client_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    client_t *c = ctx;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (poll(&p, 1, 20) <= 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    ssize_t n = recv(c->fd, buf, (size_t)size, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? WOLFSSL_CBIO_ERR_WANT_READ
                                                       : WOLFSSL_CBIO_ERR_GENERAL;
    return (int)n;
}

static int client_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    client_t *c = ctx;
    ssize_t n =
        sendto(c->fd, buf, (size_t)size, 0, (struct sockaddr *)&c->server, sizeof(c->server));
    return n < 0 ? WOLFSSL_CBIO_ERR_GENERAL : (int)n;
}

static int udp_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static client_t *client_new(const fixture_t *f)
{
    client_t *c = calloc(1, sizeof(*c));
    c->ctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    assert_non_null(c->ctx);
    assert_int_equal(wolfSSL_CTX_set_cipher_list(c->ctx, "ECDHE-ECDSA-AES128-CCM-8"),
                     WOLFSSL_SUCCESS);
    int groups[] = {WOLFSSL_ECC_SECP256R1};
    assert_int_equal(wolfSSL_CTX_set_groups(c->ctx, groups, 1), WOLFSSL_SUCCESS);
    assert_int_equal(wolfSSL_CTX_load_verify_locations(c->ctx, eimd_path(&f->e, "ca.pem"), NULL),
                     WOLFSSL_SUCCESS);
    wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_PEER, NULL);
    c->ssl = wolfSSL_new(c->ctx);
    assert_non_null(c->ssl);
    c->fd = udp_socket();
    c->server.sin_family = AF_INET;
    c->server.sin_port = htons((uint16_t)f->coaps_port);
    inet_pton(AF_INET, "127.0.0.1", &c->server.sin_addr);
    wolfSSL_SSLSetIORecv(c->ssl, client_recv);
    wolfSSL_SSLSetIOSend(c->ssl, client_send);
    wolfSSL_SetIOReadCtx(c->ssl, c);
    wolfSSL_SetIOWriteCtx(c->ssl, c);
    wolfSSL_dtls_set_using_nonblock(c->ssl, 1);
    wolfSSL_dtls_set_peer(c->ssl, &c->server, sizeof(c->server));
    assert_int_equal(wolfSSL_dtls_cid_use(c->ssl), WOLFSSL_SUCCESS);
    unsigned char own[4] = {0xC1, 0xC2, 0xC3, 0xC4};
    assert_int_equal(wolfSSL_dtls_cid_set(c->ssl, own, sizeof(own)), WOLFSSL_SUCCESS);
    for (int i = 0; i < 500; i++) {
        int rc = wolfSSL_connect(c->ssl);
        if (rc == WOLFSSL_SUCCESS)
            return c;
        int e = wolfSSL_get_error(c->ssl, rc);
        if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE)
            fail_msg("handshake failed: %d", e);
    }
    fail_msg("handshake timed out");
    return NULL;
}

static void client_free(client_t *c)
{
    wolfSSL_free(c->ssl);
    wolfSSL_CTX_free(c->ctx);
    close(c->fd);
    free(c);
}

/* A CON POST of body to /gsma/rsp2/asn1; returns the piggybacked answer's
 * payload length (copied into out) after checking code 2.05. */
static size_t coap_exchange(client_t *c, uint16_t mid, const uint8_t *body, size_t body_len,
                            uint8_t *out, size_t cap)
{
    eim_coap_message_t m;
    static const uint8_t token[] = {0x7A, 0x01};
    eim_coap_message_init(&m, EIM_COAP_CON, EIM_COAP_POST, mid, token, sizeof(token));
    eim_coap_add_option(&m, EIM_COAP_OPTION_URI_PATH, (const uint8_t *)"gsma", 4);
    eim_coap_add_option(&m, EIM_COAP_OPTION_URI_PATH, (const uint8_t *)"rsp2", 4);
    eim_coap_add_option(&m, EIM_COAP_OPTION_URI_PATH, (const uint8_t *)"asn1", 4);
    uint8_t scratch[4];
    eim_coap_add_uint_option(&m, EIM_COAP_OPTION_CONTENT_FORMAT, EIM_COAP_FORMAT_OCTET, scratch);
    m.payload = body;
    m.payload_len = body_len;
    uint8_t datagram[1024];
    size_t len;
    assert_int_equal(eim_coap_build(&m, datagram, sizeof(datagram), &len), EIM_OK);
    assert_int_equal(wolfSSL_write(c->ssl, datagram, (int)len), (int)len);
    uint8_t in[2048];
    for (int i = 0; i < 500; i++) { /* 20 ms each: 10 s */
        int n = wolfSSL_read(c->ssl, in, sizeof(in));
        if (n <= 0)
            continue;
        eim_coap_message_t answer;
        assert_int_equal(eim_coap_parse(in, (size_t)n, &answer), EIM_OK);
        assert_int_equal(answer.type, EIM_COAP_ACK);
        assert_int_equal(answer.message_id, mid);
        assert_int_equal(answer.code, EIM_COAP_CONTENT);
        assert_true(answer.payload_len <= cap);
        memcpy(out, answer.payload, answer.payload_len);
        size_t got = answer.payload_len;
        eim_coap_message_clear(&answer);
        return got;
    }
    fail_msg("no CoAP answer");
    return 0;
}

static void test_park_restart_resume(void **state)
{
    fixture_t *f = *state;
    test_pg_exec(f->e.dsn, "INSERT INTO operations (eid, kind, parameters) VALUES ('" TEST_EID
                           "', 'psmo', '" ENABLE "')");
    client_t *c = client_new(f);
    uint8_t poll[64], answer[2048];
    size_t poll_len = esipa_test_poll_body(poll);
    size_t first = 0;
    for (int i = 0; i < 50 && first <= 6; i++) { /* until the pending set has it */
        first = coap_exchange(c, (uint16_t)(0x100 + i), poll, poll_len, answer, sizeof(answer));
        if (first <= 6)
            usleep(100000);
    }
    assert_true(first > 6);
    uint8_t package[2048];
    memcpy(package, answer, first);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 1);

    /* idle past coaps.park_after_ms: parked (and persisted) */
    for (int i = 0; i < 100 && metric(f, "eimd_dtls_sessions{state=\"parked\"}") != 1; i++)
        usleep(50000);
    assert_true(metric(f, "eimd_dtls_sessions{state=\"parked\"}") == 1);

    /* restart on the same database and park key */
    eimd_process_stop(&f->e);
    assert_int_equal(test_pg_long(f->e.dsn, "SELECT count(*) FROM dtls_sessions"), 1);
    eimd_process_start(&f->e);

    /* the device wakes behind a new NAT binding and just sends */
    close(c->fd);
    c->fd = udp_socket();
    size_t again = coap_exchange(c, 0x200, poll, poll_len, answer, sizeof(answer));
    assert_int_equal(again, first); /* the same package, still unanswered */
    assert_memory_equal(answer, package, first);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 0);
    assert_true(metric(f, "eimd_dtls_resumptions_total{from=\"database\"}") == 1);
    assert_true(metric(f, "eimd_dtls_cid_migrations_total") == 1);
    /* and it keeps working after the wake */
    again = coap_exchange(c, 0x201, poll, poll_len, answer, sizeof(answer));
    assert_int_equal(again, first);
    assert_true(metric(f, "eimd_dtls_handshakes_total{result=\"ok\",version=\"1.2\"}") == 0);
    client_free(c);
}

static int group_setup(void **state)
{
    wolfSSL_Init();
    eim_coap_codec_init();
    return test_pki_group_setup(state);
}

static int group_teardown(void **state)
{
    wolfSSL_Cleanup();
    return test_pki_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_openssl_gnutls_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wolfssl_cid_block2_dtls12, setup_dtls12_only,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wolfssl_cid_block2_dtls13, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_restart_resume, setup_short_park, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
