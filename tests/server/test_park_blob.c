/*
 * Park blobs (server/dtls/park_blob.h): the sealed byte format (pinned by
 * decrypting it independently), refusal of altered, truncated and
 * misaddressed blobs, the write sequence number inside a real wolfSSL 5.9.2
 * DTLS 1.2 export (checked by importing the modified export and reading the
 * sequence number of the next record it sends), and the claim gap.
 *
 * The DTLS pair runs in-process over memory: each side's datagrams go to a
 * queue the other side reads.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>
#include <uv.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "proto/base/memory.h"
#include "server/dtls/park_blob.h"
#include "server/tls/tls_context.h"
#include "tests/server/test_keys.h"

static const uint8_t test_key[EIM_PARK_BLOB_KEY_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t test_aad[16] = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
                                     0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7};
static const uint8_t test_nonce[EIM_PARK_BLOB_NONCE_SIZE] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};

/* ---- sealing ------------------------------------------------------------ */

/* A session's contents: IPv4 with a 4-byte peer CID, or IPv6 with the
 * longest peer CID. */
static void make_contents(eim_park_contents_t *c, int family, const uint8_t *export_data,
                          size_t export_len)
{
    memset(c, 0, sizeof(*c));
    c->version = 12;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&c->peer;
        in->sin_family = AF_INET;
        in->sin_port = htons(5684);
        inet_pton(AF_INET, "192.0.2.7", &in->sin_addr);
        c->listener = 3;
        c->peer_len = sizeof(struct sockaddr_in);
        c->peer_cid_len = 4;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&c->peer;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(40000);
        inet_pton(AF_INET6, "2001:db8::42", &in6->sin6_addr);
        c->peer_len = sizeof(struct sockaddr_in6);
        c->peer_cid_len = EIM_PARK_BLOB_PEER_CID_MAX;
    }
    for (size_t i = 0; i < c->peer_cid_len; i++)
        c->peer_cid[i] = (uint8_t)(0xC1 + i);
    c->export_data = export_data;
    c->export_len = export_len;
}

static Aes *keyed(const uint8_t *key)
{
    Aes *aes = EIM_NEW(Aes);
    assert_int_equal(eim_park_blob_key_init(aes, key), EIM_OK);
    return aes;
}

static void aes_free(Aes *aes)
{
    wc_AesFree(aes);
    free(aes);
}

static void seal_ok(Aes *aes, const eim_park_contents_t *c, uint8_t **sealed, size_t *len)
{
    assert_int_equal(
        eim_park_blob_seal(aes, test_nonce, test_aad, sizeof(test_aad), c, sealed, len), EIM_OK);
    assert_non_null(*sealed);
}

/* A sealed blob to take apart. */
typedef struct {
    Aes *aes;
    eim_park_contents_t contents;
    uint8_t *sealed;
    size_t len;
} sample_t;

static void sample_seal(sample_t *sample, int family, const uint8_t *export_data, size_t export_len)
{
    sample->aes = keyed(test_key);
    make_contents(&sample->contents, family, export_data, export_len);
    seal_ok(sample->aes, &sample->contents, &sample->sealed, &sample->len);
}

static void sample_free(sample_t *sample)
{
    free(sample->sealed);
    aes_free(sample->aes);
}

static void assert_same_contents(const eim_park_contents_t *a, const eim_park_contents_t *b)
{
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->listener, b->listener);
    assert_int_equal(a->peer_len, b->peer_len);
    assert_memory_equal(&a->peer, &b->peer, a->peer_len);
    assert_int_equal(a->peer_cid_len, b->peer_cid_len);
    assert_memory_equal(a->peer_cid, b->peer_cid, a->peer_cid_len);
    assert_int_equal(a->export_len, b->export_len);
    if (a->export_len)
        assert_memory_equal(a->export_data, b->export_data, a->export_len);
}

static void test_round_trip(void **state)
{
    (void)state;
    Aes *aes = keyed(test_key);
    uint8_t export_data[EIM_PARK_BLOB_EXPORT_MAX];
    for (size_t i = 0; i < sizeof(export_data); i++)
        export_data[i] = (uint8_t)(i * 7 + 1);
    const size_t lengths[] = {0, 1, 330, EIM_PARK_BLOB_EXPORT_MAX};
    for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
        for (int family = 0; family < 2; family++) {
            eim_park_contents_t in, out;
            make_contents(&in, family ? AF_INET6 : AF_INET, export_data, lengths[k]);
            uint8_t *sealed;
            size_t len;
            seal_ok(aes, &in, &sealed, &len);
            assert_int_equal(len, EIM_PARK_BLOB_OVERHEAD + 3 + in.peer_len + 1 + in.peer_cid_len +
                                      2 + lengths[k]);
            uint8_t plain[EIM_PARK_BLOB_PLAIN_MAX];
            assert_int_equal(eim_park_blob_open(aes, test_aad, sizeof(test_aad), sealed, len, plain,
                                                sizeof(plain), &out),
                             EIM_OK);
            assert_same_contents(&in, &out);
            assert_true(out.export_data >= plain && out.export_data <= plain + sizeof(plain));
            free(sealed);
        }
    }
    aes_free(aes);
}

/* The plaintext of a sealed blob as the format says (written out here, not
 * taken from the module): version listener peer_len peer peer_cid_len
 * peer_cid export_len(2, big endian) export. */
static size_t layout(const eim_park_contents_t *c, uint8_t *out)
{
    const uint8_t export_len[2] = {(uint8_t)(c->export_len >> 8), (uint8_t)c->export_len};
    const struct {
        const void *bytes;
        size_t len;
    } fields[] = {
        {&c->version, 1},      {&c->listener, 1},
        {&c->peer_len, 1},     {&c->peer, c->peer_len},
        {&c->peer_cid_len, 1}, {c->peer_cid, c->peer_cid_len},
        {export_len, 2},       {c->export_data, c->export_len},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i].len)
            memcpy(out + n, fields[i].bytes, fields[i].len);
        n += fields[i].len;
    }
    return n;
}

/* The format of the rows already in databases, decrypted without the
 * module: version(1) nonce(12) AES-256-GCM(plaintext, AAD = session key)
 * tag(16); plaintext version listener peer_len peer peer_cid_len peer_cid
 * export_len(2, big endian) export. */
static void test_sealed_format(void **state)
{
    (void)state;
    Aes *aes = keyed(test_key);
    const uint8_t export_data[] = {0xDE, 0xAD, 0xBE, 0xEF, 0x01};
    eim_park_contents_t in;
    make_contents(&in, AF_INET, export_data, sizeof(export_data));
    uint8_t *sealed;
    size_t len;
    seal_ok(aes, &in, &sealed, &len);

    uint8_t expected[64];
    size_t n = layout(&in, expected);
    /* the fields in bytes: 12, listener 3, sockaddr_in (16), CID 4, length 5 */
    assert_int_equal(n, 3 + 16 + 1 + 4 + 2 + 5);
    assert_memory_equal(expected, "\x0c\x03\x10", 3);
    assert_memory_equal(expected + 19, "\x04\xc1\xc2\xc3\xc4\x00\x05\xde", 8);

    assert_int_equal(len, 1 + 12 + n + 16);
    assert_int_equal(sealed[0], 1);
    assert_memory_equal(sealed + 1, test_nonce, 12);
    Aes check;
    wc_AesInit(&check, NULL, INVALID_DEVID);
    assert_int_equal(wc_AesGcmSetKey(&check, test_key, sizeof(test_key)), 0);
    uint8_t plain[64];
    assert_int_equal(wc_AesGcmDecrypt(&check, plain, sealed + 13, (word32)n, sealed + 1, 12,
                                      sealed + 13 + n, 16, test_aad, sizeof(test_aad)),
                     0);
    assert_memory_equal(plain, expected, n);
    wc_AesFree(&check);
    free(sealed);
    aes_free(aes);
}

static void test_altered_blobs_refused(void **state)
{
    (void)state;
    const uint8_t export_data[] = {1, 2, 3, 4, 5, 6, 7, 8};
    sample_t blob;
    sample_seal(&blob, AF_INET6, export_data, sizeof(export_data));
    eim_park_contents_t out;
    uint8_t plain[EIM_PARK_BLOB_PLAIN_MAX];

    /* every byte, flipped in one bit and in all */
    for (size_t i = 0; i < blob.len; i++) {
        for (int mask = 1; mask <= 0xFF; mask = mask == 1 ? 0xFF : 0x100) {
            blob.sealed[i] ^= (uint8_t)mask;
            eim_err_t err = eim_park_blob_open(blob.aes, test_aad, sizeof(test_aad), blob.sealed,
                                               blob.len, plain, sizeof(plain), &out);
            /* the version byte is read before anything is decrypted */
            if (err != (i == 0 ? EIM_ERR_DECODE : EIM_ERR_VERIFY))
                fail_msg("byte %zu ^ %#x: %s", i, (unsigned)mask, eim_strerror(err));
            blob.sealed[i] ^= (uint8_t)mask;
        }
    }
    assert_int_equal(eim_park_blob_open(blob.aes, test_aad, sizeof(test_aad), blob.sealed, blob.len,
                                        plain, sizeof(plain), &out),
                     EIM_OK);

    /* another park key */
    uint8_t other_key[EIM_PARK_BLOB_KEY_SIZE];
    memcpy(other_key, test_key, sizeof(other_key));
    other_key[31] ^= 0x80;
    Aes *other = keyed(other_key);
    assert_int_equal(eim_park_blob_open(other, test_aad, sizeof(test_aad), blob.sealed, blob.len,
                                        plain, sizeof(plain), &out),
                     EIM_ERR_VERIFY);
    aes_free(other);

    /* another session's key as AAD: one bit off, shorter, longer, none */
    uint8_t aad[sizeof(test_aad) + 1];
    memcpy(aad, test_aad, sizeof(test_aad));
    aad[sizeof(test_aad)] = 0;
    for (size_t i = 0; i < sizeof(test_aad); i++) {
        aad[i] ^= 1;
        assert_int_equal(eim_park_blob_open(blob.aes, aad, sizeof(test_aad), blob.sealed, blob.len,
                                            plain, sizeof(plain), &out),
                         EIM_ERR_VERIFY);
        aad[i] ^= 1;
    }
    assert_int_equal(eim_park_blob_open(blob.aes, aad, sizeof(test_aad) - 1, blob.sealed, blob.len,
                                        plain, sizeof(plain), &out),
                     EIM_ERR_VERIFY);
    assert_int_equal(eim_park_blob_open(blob.aes, aad, sizeof(aad), blob.sealed, blob.len, plain,
                                        sizeof(plain), &out),
                     EIM_ERR_VERIFY);
    assert_int_equal(
        eim_park_blob_open(blob.aes, NULL, 0, blob.sealed, blob.len, plain, sizeof(plain), &out),
        EIM_ERR_VERIFY);
    assert_string_not_equal(eim_strerror(EIM_ERR_VERIFY), "");
    sample_free(&blob);
}

static void test_truncated_blobs_refused(void **state)
{
    (void)state;
    uint8_t export_data[330];
    memset(export_data, 0x5A, sizeof(export_data));
    sample_t blob;
    sample_seal(&blob, AF_INET, export_data, sizeof(export_data));
    eim_park_contents_t out;
    uint8_t plain[EIM_PARK_BLOB_PLAIN_MAX];
    for (size_t n = 0; n < blob.len; n++) {
        /* an exact-size copy, so that a read past the end is caught (ASan) */
        uint8_t *cut = eim_malloc(n ? n : 1);
        memcpy(cut, blob.sealed, n);
        eim_err_t err = eim_park_blob_open(blob.aes, test_aad, sizeof(test_aad), cut, n, plain,
                                           sizeof(plain), &out);
        eim_err_t expected = n < EIM_PARK_BLOB_OVERHEAD ? EIM_ERR_DECODE : EIM_ERR_VERIFY;
        if (err != expected)
            fail_msg("%zu of %zu bytes: %s", n, blob.len, eim_strerror(err));
        free(cut);
    }
    assert_int_equal(eim_park_blob_open(blob.aes, test_aad, sizeof(test_aad), NULL, 0, plain,
                                        sizeof(plain), &out),
                     EIM_ERR_DECODE);
    /* a plaintext buffer too small for the blob */
    assert_int_equal(eim_park_blob_open(blob.aes, test_aad, sizeof(test_aad), blob.sealed, blob.len,
                                        plain, blob.len - EIM_PARK_BLOB_OVERHEAD - 1, &out),
                     EIM_ERR_LIMIT);
    sample_free(&blob);
}

/* Authentic blobs whose plaintext is not a parked DTLS 1.2 session. */
static void test_authentic_but_malformed(void **state)
{
    (void)state;
    Aes *aes = keyed(test_key);
    const uint8_t export_data[] = {1, 2, 3};
    uint8_t plain[EIM_PARK_BLOB_PLAIN_MAX];
    uint8_t *sealed;
    size_t len;
    eim_park_contents_t in, out;

    make_contents(&in, AF_INET, export_data, sizeof(export_data));
    in.version = 13;
    seal_ok(aes, &in, &sealed, &len);
    assert_int_equal(eim_park_blob_open(aes, test_aad, sizeof(test_aad), sealed, len, plain,
                                        sizeof(plain), &out),
                     EIM_ERR_DECODE);
    free(sealed);

    make_contents(&in, AF_INET, export_data, sizeof(export_data));
    struct sockaddr_un *un = (struct sockaddr_un *)&in.peer;
    un->sun_family = AF_UNIX;
    seal_ok(aes, &in, &sealed, &len);
    assert_int_equal(eim_park_blob_open(aes, test_aad, sizeof(test_aad), sealed, len, plain,
                                        sizeof(plain), &out),
                     EIM_ERR_DECODE);
    free(sealed);

    /* plaintexts cut inside each field, sealed as they are */
    for (size_t n = 0; n < 3 + sizeof(struct sockaddr_in) + 1 + 4 + 2 + sizeof(export_data); n++) {
        uint8_t raw[64];
        make_contents(&in, AF_INET, export_data, sizeof(export_data));
        layout(&in, raw);
        uint8_t *blob = eim_malloc(EIM_PARK_BLOB_OVERHEAD + n);
        blob[0] = EIM_PARK_BLOB_VERSION;
        memcpy(blob + 1, test_nonce, 12);
        assert_int_equal(wc_AesGcmEncrypt(aes, blob + 13, raw, (word32)n, test_nonce, 12,
                                          blob + 13 + n, 16, test_aad, sizeof(test_aad)),
                         0);
        eim_err_t err = eim_park_blob_open(aes, test_aad, sizeof(test_aad), blob,
                                           EIM_PARK_BLOB_OVERHEAD + n, plain, sizeof(plain), &out);
        if (err != EIM_ERR_DECODE)
            fail_msg("plaintext cut at %zu: %s", n, eim_strerror(err));
        free(blob);
    }
    aes_free(aes);
}

static void test_seal_limits(void **state)
{
    (void)state;
    Aes *aes = keyed(test_key);
    static uint8_t big[EIM_PARK_BLOB_EXPORT_MAX + 1];
    eim_park_contents_t in;
    uint8_t *sealed = (uint8_t *)1;
    size_t len = 1;
    make_contents(&in, AF_INET6, big, sizeof(big));
    assert_int_equal(
        eim_park_blob_seal(aes, test_nonce, test_aad, sizeof(test_aad), &in, &sealed, &len),
        EIM_ERR_LIMIT);
    assert_null(sealed);
    assert_int_equal(len, 0);
    make_contents(&in, AF_INET6, big, 10);
    in.peer_cid_len = EIM_PARK_BLOB_PEER_CID_MAX + 1;
    assert_int_equal(
        eim_park_blob_seal(aes, test_nonce, test_aad, sizeof(test_aad), &in, &sealed, &len),
        EIM_ERR_LIMIT);
    aes_free(aes);
}

/* ---- a real wolfSSL DTLS 1.2 export ------------------------------------ */

#define QUEUE_MAX 32

typedef struct {
    uint8_t data[QUEUE_MAX][2048];
    size_t len[QUEUE_MAX];
    size_t head, count;
} queue_t;

typedef struct {
    queue_t *in, *out;
} endpoint_t;

static void queue_push(queue_t *q, const void *data, size_t len)
{
    assert_true(q->count < QUEUE_MAX);
    assert_true(len <= sizeof(q->data[0]));
    size_t slot = (q->head + q->count) % QUEUE_MAX;
    memcpy(q->data[slot], data, len);
    q->len[slot] = len;
    q->count++;
}

static int memory_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    endpoint_t *e = ctx;
    if (e->in->count == 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    size_t slot = e->in->head;
    size_t n = e->in->len[slot] < (size_t)size ? e->in->len[slot] : (size_t)size;
    memcpy(buf, e->in->data[slot], n);
    e->in->head = (slot + 1) % QUEUE_MAX;
    e->in->count--;
    return (int)n;
}

static int memory_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    endpoint_t *e = ctx;
    queue_push(e->out, buf, (size_t)size);
    return size;
}

typedef struct {
    uv_loop_t loop;
    eim_tls_context_t *tls;
    WOLFSSL_CTX *client_ctx, *import_ctx;
    WOLFSSL *client, *server;
    queue_t to_server, to_client;
    endpoint_t client_end, server_end;
    struct sockaddr_in client_addr;
    uint8_t export_data[EIM_PARK_BLOB_EXPORT_MAX];
    size_t export_len;
} pair_t;

static void wire(WOLFSSL *ssl, endpoint_t *e)
{
    wolfSSL_SSLSetIORecv(ssl, memory_recv);
    wolfSSL_SSLSetIOSend(ssl, memory_send);
    wolfSSL_SetIOReadCtx(ssl, e);
    wolfSSL_SetIOWriteCtx(ssl, e);
    wolfSSL_dtls_set_using_nonblock(ssl, 1);
}

/* The 48-bit sequence number of the DTLS 1.2 record waiting for the client
 * (header: type(1) version(2) epoch(2) sequence(6) length(2)). */
static uint64_t next_record_sequence(const pair_t *p)
{
    assert_true(p->to_client.count > 0);
    const uint8_t *d = p->to_client.data[p->to_client.head];
    assert_true(p->to_client.len[p->to_client.head] >= 13);
    uint64_t seq = 0;
    for (int i = 5; i < 11; i++)
        seq = seq << 8 | d[i];
    return seq;
}

static void client_reads(pair_t *p, const char *expected)
{
    char buf[64];
    int n = wolfSSL_read(p->client, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(expected));
    assert_memory_equal(buf, expected, (size_t)n);
}

static void server_reads(WOLFSSL *server, const char *expected)
{
    char buf[64];
    int n = wolfSSL_read(server, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(expected));
    assert_memory_equal(buf, expected, (size_t)n);
}

static int pair_setup(void **state)
{
    pair_t *p = EIM_NEW(pair_t);
    uv_loop_init(&p->loop);
    p->tls = test_keys_tls_context(&p->loop, EIM_TLS_DATAGRAM_12);
    p->client_end = (endpoint_t){&p->to_client, &p->to_server};
    p->server_end = (endpoint_t){&p->to_server, &p->to_client};

    p->client_ctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    assert_non_null(p->client_ctx);
    assert_int_equal(wolfSSL_CTX_load_verify_locations(p->client_ctx, test_keys.ca, NULL),
                     WOLFSSL_SUCCESS);
    int groups[] = {WOLFSSL_ECC_SECP256R1};
    assert_int_equal(wolfSSL_CTX_set_groups(p->client_ctx, groups, 1), WOLFSSL_SUCCESS);
    p->client = wolfSSL_new(p->client_ctx);
    assert_non_null(p->client);
    wire(p->client, &p->client_end);

    p->server = wolfSSL_new((WOLFSSL_CTX *)eim_tls_context_select(p->tls, false));
    assert_non_null(p->server);
    wire(p->server, &p->server_end);
    p->client_addr.sin_family = AF_INET;
    p->client_addr.sin_port = htons(40001);
    inet_pton(AF_INET, "192.0.2.1", &p->client_addr.sin_addr);
    wolfSSL_dtls_set_peer(p->server, &p->client_addr, sizeof(p->client_addr));

    bool client_done = false, server_done = false;
    for (int round = 0; round < 20 && !(client_done && server_done); round++) {
        if (!client_done)
            client_done = wolfSSL_connect(p->client) == WOLFSSL_SUCCESS;
        if (!server_done)
            server_done = wolfSSL_accept(p->server) == WOLFSSL_SUCCESS;
    }
    assert_true(client_done && server_done);
    assert_string_equal(wolfSSL_get_version(p->server), "DTLSv1.2");
    /* a session is parked after the client's first application record */
    assert_int_equal(wolfSSL_write(p->client, "hello", 5), 5);
    server_reads(p->server, "hello");
    assert_int_equal(wolfSSL_write(p->server, "one", 3), 3);
    client_reads(p, "one");

    unsigned int size = sizeof(p->export_data);
    int rc = wolfSSL_dtls_export(p->server, p->export_data, &size);
    assert_true(rc > 0);
    p->export_len = (size_t)rc;
    wolfSSL_free(p->server);
    p->server = NULL;
    p->import_ctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
    assert_non_null(p->import_ctx);
    *state = p;
    return 0;
}

static int pair_teardown(void **state)
{
    pair_t *p = *state;
    if (p->server)
        wolfSSL_free(p->server);
    wolfSSL_free(p->client);
    wolfSSL_CTX_free(p->client_ctx);
    wolfSSL_CTX_free(p->import_ctx);
    eim_tls_context_release(p->tls);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&p->loop), 0);
    free(p);
    return 0;
}

/* Imports export_data as the server side would after unparking. */
static WOLFSSL *import(pair_t *p, const uint8_t *export_data, size_t len)
{
    WOLFSSL *ssl = wolfSSL_new(p->import_ctx);
    assert_non_null(ssl);
    assert_true(wolfSSL_dtls_import(ssl, export_data, (unsigned)len) > 0);
    wolfSSL_FreeHandshakeResources(ssl);
    wire(ssl, &p->server_end);
    wolfSSL_dtls_set_peer(ssl, &p->client_addr, sizeof(p->client_addr));
    return ssl;
}

static uint64_t read48(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | b[i];
    return v;
}

static void test_advance_write_sequence(void **state)
{
    pair_t *p = *state;
    const uint64_t gap = 1000003;

    /* the unchanged export sends the next number ... */
    WOLFSSL *plain = import(p, p->export_data, p->export_len);
    assert_int_equal(wolfSSL_write(plain, "two", 3), 3);
    uint64_t next = next_record_sequence(p);
    client_reads(p, "two");
    wolfSSL_free(plain);

    /* ... the advanced one that number plus the gap, and nothing else moved */
    uint8_t advanced[EIM_PARK_BLOB_EXPORT_MAX];
    memcpy(advanced, p->export_data, p->export_len);
    assert_int_equal(eim_park_blob_advance_write_sequence(advanced, p->export_len, gap), EIM_OK);
    size_t first = p->export_len, last = 0;
    for (size_t i = 0; i < p->export_len; i++)
        if (advanced[i] != p->export_data[i]) {
            first = i < first ? i : first;
            last = i;
        }
    assert_true(first < p->export_len && last < first + 6);
    size_t at = last + 1 - 6; /* the field ends with its lowest byte */
    assert_int_equal(read48(advanced + at) - read48(p->export_data + at), gap);
    assert_int_equal(read48(p->export_data + at), next);

    WOLFSSL *moved = import(p, advanced, p->export_len);
    assert_int_equal(wolfSSL_write(moved, "three", 5), 5);
    assert_int_equal(next_record_sequence(p), next + gap);
    client_reads(p, "three"); /* the peer accepts it: same keys, higher number */
    /* the read side is untouched: the client's records still open */
    assert_int_equal(wolfSSL_write(p->client, "four", 4), 4);
    server_reads(moved, "four");
    wolfSSL_free(moved);
}

static void test_advance_limits(void **state)
{
    pair_t *p = *state;
    uint8_t blob[EIM_PARK_BLOB_EXPORT_MAX];
    memcpy(blob, p->export_data, p->export_len);
    /* find the field as the import sees it */
    uint8_t probe[EIM_PARK_BLOB_EXPORT_MAX];
    memcpy(probe, blob, p->export_len);
    assert_int_equal(eim_park_blob_advance_write_sequence(probe, p->export_len, 1), EIM_OK);
    size_t field_end = 0; /* +1 always changes the lowest byte, the field's last */
    for (size_t i = 0; i < p->export_len; i++)
        if (probe[i] != blob[i])
            field_end = i + 1;
    assert_true(field_end >= 6);
    uint64_t seq = read48(blob + field_end - 6);

    /* the whole 48-bit space, not one more */
    assert_int_equal(eim_park_blob_advance_write_sequence(blob, p->export_len, (1ULL << 48) - seq),
                     EIM_ERR_LIMIT);
    assert_int_equal(eim_park_blob_advance_write_sequence(blob, p->export_len, UINT64_MAX),
                     EIM_ERR_LIMIT);
    assert_memory_equal(blob, p->export_data, p->export_len);
    memcpy(probe, blob, p->export_len);
    assert_int_equal(
        eim_park_blob_advance_write_sequence(probe, p->export_len, (1ULL << 48) - 1 - seq), EIM_OK);
    assert_int_equal(read48(probe + field_end - 6), (1ULL << 48) - 1);

    /* too short: every length that ends before the field */
    for (size_t n = 0; n < field_end; n++) {
        uint8_t *cut = eim_malloc(n ? n : 1);
        memcpy(cut, blob, n);
        if (eim_park_blob_advance_write_sequence(cut, n, 1) != EIM_ERR_DECODE)
            fail_msg("an export cut at %zu bytes was accepted", n);
        assert_memory_equal(cut, blob, n);
        free(cut);
    }
    assert_int_equal(eim_park_blob_advance_write_sequence(blob, field_end, 1), EIM_OK);
    memcpy(blob, p->export_data, p->export_len);

    /* odd layouts: an options length pointing past the end, a key state
     * too short for the field */
    uint8_t odd[EIM_PARK_BLOB_EXPORT_MAX];
    memcpy(odd, blob, p->export_len);
    odd[4] = 0xFF;
    odd[5] = 0xFF;
    assert_int_equal(eim_park_blob_advance_write_sequence(odd, p->export_len, 1), EIM_ERR_DECODE);
    memcpy(odd, blob, p->export_len);
    size_t options_len = (size_t)odd[4] << 8 | odd[5];
    size_t keys_len_at = 6 + options_len;
    odd[keys_len_at] = 0;
    odd[keys_len_at + 1] = (uint8_t)(field_end - (keys_len_at + 2) - 1);
    assert_int_equal(eim_park_blob_advance_write_sequence(odd, p->export_len, 1), EIM_ERR_DECODE);
    odd[keys_len_at + 1] = (uint8_t)(field_end - (keys_len_at + 2));
    assert_int_equal(eim_park_blob_advance_write_sequence(odd, p->export_len, 1), EIM_OK);
}

/* ---- claim gap ---------------------------------------------------------- */

static void test_claim_gap(void **state)
{
    (void)state;
    const uint64_t per = 1ULL << 24;
    uint64_t gap = 0;
    assert_int_equal(eim_park_blob_claim_gap(2, 1, per, &gap), EIM_OK);
    assert_int_equal(gap, per);
    assert_int_equal(eim_park_blob_claim_gap(7, 3, per, &gap), EIM_OK);
    assert_int_equal(gap, 4 * per);
    /* not newer than the writer: refused */
    assert_int_equal(eim_park_blob_claim_gap(5, 5, per, &gap), EIM_ERR_LIMIT);
    assert_int_equal(gap, 1ULL << 48);
    assert_int_equal(eim_park_blob_claim_gap(4, 5, per, &gap), EIM_ERR_LIMIT);
    assert_int_equal(eim_park_blob_claim_gap(0, UINT64_MAX, per, &gap), EIM_ERR_LIMIT);
    /* the last generation whose range fits in 48 bits, and the first that does not */
    assert_int_equal(eim_park_blob_claim_gap(1 + (1ULL << 24) - 1, 1, per, &gap), EIM_OK);
    assert_int_equal(gap, ((1ULL << 24) - 1) * per);
    assert_int_equal(eim_park_blob_claim_gap(1 + (1ULL << 24), 1, per, &gap), EIM_ERR_LIMIT);
    assert_int_equal(gap, 1ULL << 48);
    assert_int_equal(eim_park_blob_claim_gap(UINT64_MAX, 0, per, &gap), EIM_ERR_LIMIT);
    assert_int_equal(eim_park_blob_claim_gap(UINT64_MAX, 1, per, &gap), EIM_ERR_LIMIT);
    assert_int_equal(eim_park_blob_claim_gap(2, 1, 0, &gap), EIM_ERR_LIMIT);
    /* a refused gap is refused by the export too */
    uint8_t blob[64] = {0};
    blob[5] = 0;               /* no options */
    blob[7] = 16 + 22 + 4 + 6; /* key state just long enough */
    assert_int_equal(eim_park_blob_advance_write_sequence(blob, 8 + 48, 1ULL << 48), EIM_ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sealed_format),
        cmocka_unit_test(test_altered_blobs_refused),
        cmocka_unit_test(test_truncated_blobs_refused),
        cmocka_unit_test(test_authentic_but_malformed),
        cmocka_unit_test(test_seal_limits),
        cmocka_unit_test_setup_teardown(test_advance_write_sequence, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_advance_limits, pair_setup, pair_teardown),
        cmocka_unit_test(test_claim_gap),
    };
    return cmocka_run_group_tests(tests, test_keys_group_setup, test_keys_group_teardown);
}
