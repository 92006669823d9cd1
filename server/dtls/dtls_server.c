/*
 * DTLS session layer on libuv and wolfSSL 5.9.2. See dtls_server.h for the
 * contract; this paragraph is about the machinery.
 *
 * Datagrams (RFC 6347, RFC 9147) arrive on uv_udp_t handles (recvmmsg,
 * large SO_RCVBUF) and are demultiplexed without DTLS state
 * (dtls_record.h): a record with a CID (RFC 9146 tls12_cid, or a DTLS 1.3
 * unified header with the C bit) is looked up in the CID table, anything
 * else in the address table. A ClientHello from an address without a
 * handshake in progress goes to a per-socket "stateless" wolfSSL object
 * (wolfDTLS_accept_stateless): it answers with a HelloVerifyRequest / HRR
 * cookie and keeps no state; only a ClientHello with a valid cookie
 * promotes that object to a session (its replacement is created at once).
 * Cookies are HMACs under a shared secret rotated on a timer; a ClientHello
 * whose cookie fails under the current secret is tried under the previous
 * one before the new cookie is sent.
 *
 * Migration (RFC 9146 §6, RFC 9147 §9): a record found by CID from another
 * address is fed with that address as the *pending* peer; wolfSSL adopts it
 * only after the record decrypts and passes the replay window, and we
 * re-index when wolfSSL_dtls_get0_peer says it moved.
 *
 * Parking (DTLS 1.2 with CID, after the first application record): the
 * wolfSSL_dtls_export blob plus what it lacks (the peer's CID, the raw
 * peer sockaddr) is sealed (park_blob.h) with AES-256-GCM (random 96-bit
 * nonce, the CID and the session id as associated data) and the WOLFSSL
 * freed. Unparking imports into a DTLS-1.2-only context, restores both
 * CIDs (the peer's with the wolfSSL_dtls_cid_set_tx our patch adds) and the
 * peer, and frees the handshake resources. AES-CCM nonces after an import
 * start at epoch||sequence (our wolfSSL patch); a blob claimed from the
 * database gets its write sequence advanced by EIM_DTLS_SEQUENCE_GAP per
 * generation since its writer first, because a crash or another instance
 * may have sent records after the last write.
 *
 * Instances sharing the database (migrations/0006, 0007): a row is held by
 * one generation; writes and ends name it and are refused once another
 * instance claimed the session (the copy here is then dropped). A parked
 * copy (or one marked unverified) waits for the database before its next
 * record: still ours → resume; held elsewhere → try the record against the
 * newest state and, only if it authenticates, claim it (compare-and-swap
 * on the generation read) into the same session object; ended → drop;
 * database unreachable → drop the record (fail closed). A record with an
 * unknown CID takes the same authenticate-then-claim path. Claims NOTIFY
 * the other instances so that they drop stale parked copies early.
 *
 * Files (dtls_internal.h): this one; session_table.c (the CID and address
 * tables); dtls_ownership.c (the database side of parking: writes, ends,
 * look-ups, claims, NOTIFYs); park_blob.c (the sealed blob bytes).
 *
 * Timers are O(1) per event: sessions sit in one of four lists ordered by
 * last activity (handshaking, live parkable, live other, parked); one
 * periodic tick pops only the heads that are due.
 */
#include "server/dtls/dtls_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "server/dtls/dtls_record.h"
#include "server/net_address.h"
#include "server/tls/tls_context.h"
#include "storage/dtls_sessions.h"

#define RX_SLOTS       16
#define RX_SLOT_SIZE   (64 * 1024) /* libuv's recvmmsg slot size */
#define PREFIX_BUCKETS 4096
#define TICK_MS        250
#define PURGE_TICKS    2400 /* ten minutes of ticks */

/* ---- small helpers ------------------------------------------------------ */

uint64_t eim_dtls_now_ms(const eim_dtls_server_t *server)
{
    return uv_now(server->loop);
}

/* A canonical sockaddr (zeroed padding, exact length): the cookie HMAC
 * covers these bytes. */
static socklen_t canonical_addr(const struct sockaddr *in, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (in->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)in;
        struct sockaddr_in *d = (struct sockaddr_in *)out;
        d->sin_family = AF_INET;
        d->sin_port = s->sin_port;
        d->sin_addr = s->sin_addr;
        return (socklen_t)sizeof(struct sockaddr_in);
    }
    if (in->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)in;
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)out;
        d->sin6_family = AF_INET6;
        d->sin6_port = s->sin6_port;
        d->sin6_addr = s->sin6_addr;
        d->sin6_scope_id = s->sin6_scope_id;
        return (socklen_t)sizeof(struct sockaddr_in6);
    }
    return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void random_bytes(eim_dtls_server_t *server, uint8_t *out, size_t n)
{
    if (wc_RNG_GenerateBlock(&server->rng, out, (word32)n) != 0) {
        /* no safe way to continue without randomness for CIDs and nonces */
        fprintf(stderr, "eimd: random generator failed\n");
        abort();
    }
}

/* ---- metrics ------------------------------------------------------------ */

static const char *const drop_names[DROP_COUNT] = {
    [DROP_MALFORMED] = "malformed",
    [DROP_OVERSIZED] = "oversized",
    [DROP_STOPPED] = "stopped",
    [DROP_NO_SESSION] = "no_session",
    [DROP_UNKNOWN_CID] = "unknown_cid",
    [DROP_HANDSHAKE_LIMIT] = "handshake_limit",
    [DROP_RATE_LIMITED] = "rate_limited",
    [DROP_MAX_SESSIONS] = "max_sessions",
    [DROP_FATAL_ERROR] = "fatal_error",
    [DROP_PARK_FAILED] = "park_failed",
    [DROP_UNPARK_FAILED] = "unpark_failed",
    [DROP_SEND_BUFFER_FULL] = "send_buffer_full",
    [DROP_SEND_ERROR] = "send_error",
    [DROP_LOOKUP_LIMIT] = "lookup_limit",
    [DROP_LOOKUP_QUEUE_FULL] = "lookup_queue_full",
    [DROP_DB_ERROR] = "db_error",
    [DROP_UNAUTHENTICATED_CLAIM] = "unauthenticated_claim",
    [DROP_CLAIM_LOST] = "claim_lost",
    [DROP_ENDED_ELSEWHERE] = "ended_elsewhere",
    [DROP_SESSION_CLOSED] = "session_closed",
};

/* Every drop is counted, also under a flood of hostile datagrams: a
 * counter registered at start, no label text per datagram. */
void eim_dtls_count_drops(eim_dtls_server_t *server, drop_reason_t reason, size_t n)
{
    eim_counter_add(server->c.drops[reason], n);
}

void eim_dtls_count_drop(eim_dtls_server_t *server, drop_reason_t reason)
{
    eim_counter_inc(server->c.drops[reason]);
}

/* A copy held here turned out older than the database (another instance
 * claimed or ended the session): how it was found, what was done. */
void eim_dtls_count_stale(eim_dtls_server_t *server, const char *cause, const char *action)
{
    char labels[80];
    snprintf(labels, sizeof(labels), "cause=\"%s\",action=\"%s\"", cause, action);
    eim_counter_inc(eim_metrics_counter(server->metrics, "eimd_dtls_stale_copies_total",
                                        "Session copies found older than the database (another "
                                        "instance claimed or ended the session), by cause and "
                                        "action",
                                        labels));
}

static void count_handshake_failure(eim_dtls_server_t *server, const char *reason)
{
    char labels[80];
    snprintf(labels, sizeof(labels), "result=\"failed\",reason=\"%s\"", reason);
    eim_counter_inc(eim_metrics_counter(server->metrics, "eimd_dtls_handshakes_total",
                                        "DTLS handshakes by result", labels));
}

static double gauge_handshaking(void *ctx)
{
    return (double)((eim_dtls_server_t *)ctx)->list_count[LIST_HANDSHAKE];
}
static double gauge_live_12(void *ctx)
{
    return (double)((eim_dtls_server_t *)ctx)->live_12;
}
static double gauge_live_13(void *ctx)
{
    return (double)((eim_dtls_server_t *)ctx)->live_13;
}
static double gauge_parked(void *ctx)
{
    return (double)((eim_dtls_server_t *)ctx)->list_count[LIST_PARKED];
}
static double gauge_unparkable(void *ctx)
{
    return (double)((eim_dtls_server_t *)ctx)->list_count[LIST_LIVE];
}

static void register_metrics(eim_dtls_server_t *s)
{
    eim_metrics_t *m = s->metrics;
    const char *sessions = "eimd_dtls_sessions";
    const char *help = "DTLS sessions by state (live sessions by version)";
    eim_metrics_gauge_fn(m, sessions, help, "state=\"handshake\"", gauge_handshaking, s);
    eim_metrics_gauge_fn(m, sessions, help, "state=\"live\",version=\"1.2\"", gauge_live_12, s);
    eim_metrics_gauge_fn(m, sessions, help, "state=\"live\",version=\"1.3\"", gauge_live_13, s);
    eim_metrics_gauge_fn(m, sessions, help, "state=\"parked\"", gauge_parked, s);
    eim_metrics_gauge_fn(m, "eimd_dtls_sessions_unparkable",
                         "Live sessions that cannot be parked (DTLS 1.3, no CID, or before "
                         "the first application record when idle) and stay live",
                         NULL, gauge_unparkable, s);
    for (int r = 0; r < DROP_COUNT; r++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "reason=\"%s\"", drop_names[r]);
        s->c.drops[r] = eim_metrics_counter(m, "eimd_dtls_drops_total",
                                            "Datagrams or sessions dropped, by reason", labels);
    }
    s->c.parks = eim_metrics_counter(m, "eimd_dtls_parks_total", "Sessions parked", NULL);
    const char *resumed = "eimd_dtls_resumptions_total";
    const char *resumed_help = "Parked sessions revived by a record (no handshake)";
    s->c.resumed_memory = eim_metrics_counter(m, resumed, resumed_help, "from=\"memory\"");
    s->c.resumed_database = eim_metrics_counter(m, resumed, resumed_help, "from=\"database\"");
    s->c.migrations =
        eim_metrics_counter(m, "eimd_dtls_cid_migrations_total",
                            "Sessions that followed their peer to a new address", NULL);
    s->c.cookies = eim_metrics_counter(m, "eimd_dtls_cookie_exchanges_total",
                                       "HelloVerifyRequest / HelloRetryRequest cookies sent", NULL);
    const char *hs = "eimd_dtls_handshakes_total";
    s->c.handshakes_12 =
        eim_metrics_counter(m, hs, "DTLS handshakes by result", "result=\"ok\",version=\"1.2\"");
    s->c.handshakes_13 =
        eim_metrics_counter(m, hs, "DTLS handshakes by result", "result=\"ok\",version=\"1.3\"");
    s->c.expired = eim_metrics_counter(m, "eimd_dtls_sessions_expired_total",
                                       "Sessions closed after their lifetime", NULL);
    s->c.evicted = eim_metrics_counter(m, "eimd_dtls_sessions_evicted_total",
                                       "Oldest idle sessions closed to make room", NULL);
    s->c.db_writes_failed = eim_metrics_counter(m, "eimd_dtls_park_writes_failed_total",
                                                "Parked session writes the database refused", NULL);
}

/* ---- lists (activity order) ------------------------------------------- */

static void list_remove(eim_dtls_server_t *server, eim_dtls_session_t *s)
{
    if (s->list == LIST_NONE)
        return;
    int l = s->list;
    if (s->prev)
        s->prev->next = s->next;
    else
        server->head[l] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        server->tail[l] = s->prev;
    s->prev = s->next = NULL;
    server->list_count[l]--;
    s->list = LIST_NONE;
}

static void list_append(eim_dtls_server_t *server, eim_dtls_session_t *s, int l)
{
    list_remove(server, s);
    s->list = (int8_t)l;
    s->prev = server->tail[l];
    s->next = NULL;
    if (server->tail[l])
        server->tail[l]->next = s;
    else
        server->head[l] = s;
    server->tail[l] = s;
    server->list_count[l]++;
}

static int live_list_for(const eim_dtls_session_t *s)
{
    bool parkable = s->server->park_supported && s->version == 12 && s->has_cid && s->app_seen &&
                    s->server->options.park_after_ms > 0;
    return parkable ? LIST_PARKABLE : LIST_LIVE;
}

void eim_dtls_touch(eim_dtls_session_t *s)
{
    s->last_ms = eim_dtls_now_ms(s->server);
    if (s->state == STATE_LIVE)
        list_append(s->server, s, live_list_for(s));
}

/* ---- custom I/O --------------------------------------------------------- */

static void count_tx_drops(eim_dtls_server_t *server, const eim_udp_tx_drops_t *drops)
{
    eim_dtls_count_drops(server, DROP_SEND_BUFFER_FULL, drops->buffer_full);
    eim_dtls_count_drops(server, DROP_SEND_ERROR, drops->error);
}

static void udp_send(listener_t *l, const struct sockaddr *to, const void *data, size_t len)
{
    if (!l->open)
        return;
    eim_udp_tx_drops_t drops = {0, 0};
    eim_udp_tx_send(l->tx, to, data, len, &drops);
    count_tx_drops(l->server, &drops);
}

static void udp_flush(listener_t *l)
{
    eim_udp_tx_drops_t drops = {0, 0};
    eim_udp_tx_flush(l->tx, &drops);
    count_tx_drops(l->server, &drops);
}

static int session_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    eim_dtls_session_t *s = ctx;
    if (!s->in)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    size_t n = s->in_len < (size_t)size ? s->in_len : (size_t)size;
    memcpy(buf, s->in, n);
    s->in = NULL;
    return (int)n;
}

static int session_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    eim_dtls_session_t *s = ctx;
    const void *peer = NULL;
    unsigned int peer_len = 0;
    if (s->trial)
        return size; /* not the holder yet: nothing leaves */
    /* wolfSSL's peer: it moves only after an authenticated record */
    if (wolfSSL_dtls_get0_peer(ssl, &peer, &peer_len) != WOLFSSL_SUCCESS || !peer)
        peer = &s->peer;
    udp_send(&s->server->listeners[s->listener_index], peer, buf, (size_t)size);
    return size;
}

static int stateless_recv(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    stateless_t *st = ctx;
    if (!st->in)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    size_t n = st->in_len < (size_t)size ? st->in_len : (size_t)size;
    memcpy(buf, st->in, n);
    st->in = NULL;
    return (int)n;
}

static int stateless_send(WOLFSSL *ssl, char *buf, int size, void *ctx)
{
    (void)ssl;
    stateless_t *st = ctx;
    if (st->capture) {
        if ((size_t)size <= sizeof(st->held)) {
            memcpy(st->held, buf, (size_t)size);
            st->held_len = (size_t)size;
        }
        return size;
    }
    udp_send(st->listener, st->peer, buf, (size_t)size);
    return size;
}

/* ---- wolfSSL objects ---------------------------------------------------- */

static void configure_ssl(eim_dtls_server_t *server, WOLFSSL *ssl)
{
    wolfSSL_dtls_set_mtu(ssl, (unsigned short)server->options.mtu);
    wolfSSL_set_group_messages(ssl);
    wolfSSL_dtls_set_using_nonblock(ssl, 1);
}

static stateless_t *stateless_new(listener_t *l, bool raw_public_key, bool previous)
{
    eim_dtls_server_t *server = l->server;
    stateless_t *st = EIM_NEW(stateless_t);
    st->listener = l;
    WOLFSSL_CTX *ctx = eim_tls_context_select(server->tls, raw_public_key);
    st->ssl = wolfSSL_new(ctx);
    if (!st->ssl) {
        fprintf(stderr, "eimd: out of memory creating a DTLS object\n");
        abort();
    }
    configure_ssl(server, st->ssl);
    wolfSSL_SSLSetIORecv(st->ssl, stateless_recv);
    wolfSSL_SSLSetIOSend(st->ssl, stateless_send);
    wolfSSL_SetIOReadCtx(st->ssl, st);
    wolfSSL_SetIOWriteCtx(st->ssl, st);
    wolfSSL_DTLS_SetCookieSecret(st->ssl, server->cookie_secret[previous ? 1 : 0], COOKIE_SECRET);
    /* server-chosen CID, fixed length; becomes the session's on promotion */
    do
        random_bytes(server, st->cid, sizeof(st->cid));
    while (eim_dtls_cid_find(server, st->cid));
    if (wolfSSL_dtls_cid_use(st->ssl) != WOLFSSL_SUCCESS ||
        wolfSSL_dtls_cid_set(st->ssl, st->cid, sizeof(st->cid)) != WOLFSSL_SUCCESS)
        eim_log_warn("cannot enable DTLS connection IDs");
    return st;
}

static void stateless_free(stateless_t *st)
{
    if (!st)
        return;
    if (st->ssl)
        wolfSSL_free(st->ssl);
    free(st);
}

/* ---- sessions ----------------------------------------------------------- */

eim_dtls_session_t *eim_dtls_session_new(eim_dtls_server_t *server, size_t listener)
{
    eim_dtls_session_t *s = EIM_NEW(eim_dtls_session_t);
    s->refs = 1;
    s->server = server;
    s->list = LIST_NONE;
    s->listener_index = (uint8_t)listener;
    return s;
}

void eim_dtls_session_set_key(eim_dtls_session_t *s, const uint8_t *key)
{
    memcpy(s->key, key, EIM_DTLS_KEY_SIZE);
    hex(s->key, EIM_DTLS_KEY_SIZE, s->key_hex);
}

void eim_dtls_live_count(eim_dtls_session_t *s, int delta)
{
    if (s->version == 13)
        s->server->live_13 = (size_t)((long)s->server->live_13 + delta);
    else
        s->server->live_12 = (size_t)((long)s->server->live_12 + delta);
}

/* Ends a session: out of every table, wolfSSL freed, on_closed (unless
 * quiet), the server's reference dropped. */
void eim_dtls_session_end(eim_dtls_session_t *s, bool quiet, bool send_close_notify)
{
    if (s->state == STATE_CLOSED)
        return;
    eim_dtls_server_t *server = s->server;
    if (s->state == STATE_LIVE)
        eim_dtls_live_count(s, -1);
    s->state = STATE_CLOSED;
    list_remove(server, s);
    eim_dtls_addr_remove(server, s);
    if (s->has_cid)
        eim_dtls_cid_remove(server, s);
    if (s->ssl) {
        if (send_close_notify)
            wolfSSL_shutdown(s->ssl);
        wolfSSL_free(s->ssl);
        s->ssl = NULL;
    }
    free(s->sealed);
    s->sealed = NULL;
    if (!quiet && server->options.pool)
        eim_dtls_db_close(server, s);
    if (!quiet && server->options.on_closed)
        server->options.on_closed(s, server->options.ctx);
    eim_dtls_session_unref(s);
}

/* ---- sealing (park blobs) ---------------------------------------------- */

/* Seals an export of s with what it lacks (park_blob.h) into s->sealed. */
static eim_err_t seal(eim_dtls_session_t *s, const uint8_t *blob, size_t blob_len)
{
    eim_park_contents_t contents;
    memset(&contents, 0, sizeof(contents));
    contents.version = s->version;
    contents.listener = s->listener_index;
    contents.peer_len = (uint8_t)s->peer_len;
    contents.peer = s->peer;
    contents.peer_cid_len = s->peer_cid_len;
    memcpy(contents.peer_cid, s->peer_cid, s->peer_cid_len);
    contents.export_data = blob;
    contents.export_len = blob_len;
    uint8_t nonce[EIM_PARK_BLOB_NONCE_SIZE];
    if (blob_len > EIM_PARK_BLOB_EXPORT_MAX)
        return EIM_ERR_LIMIT;
    random_bytes(s->server, nonce, sizeof(nonce));
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    eim_err_t err = eim_park_blob_seal(&s->server->seal, nonce, s->key, EIM_DTLS_KEY_SIZE,
                                       &contents, &sealed, &sealed_len);
    if (err)
        return err;
    free(s->sealed);
    s->sealed = sealed;
    s->sealed_len = (uint16_t)sealed_len;
    return EIM_OK;
}

/* Opens s->sealed into plain (the caller wipes it); returns the export and
 * sets s's version, listener, peer and peer CID from the blob. */
static eim_err_t unseal(eim_dtls_session_t *s, uint8_t *plain, size_t plain_size,
                        const uint8_t **blob, size_t *blob_len)
{
    eim_park_contents_t contents;
    eim_err_t err = eim_park_blob_open(&s->server->seal, s->key, EIM_DTLS_KEY_SIZE, s->sealed,
                                       s->sealed_len, plain, plain_size, &contents);
    if (err)
        return err;
    memcpy(s->peer_cid, contents.peer_cid, contents.peer_cid_len);
    s->peer_cid_len = contents.peer_cid_len;
    s->version = 12;
    s->listener_index = contents.listener < s->server->listener_count ? contents.listener : 0;
    eim_dtls_session_set_peer(s, &contents.peer);
    *blob = contents.export_data;
    *blob_len = contents.export_len;
    return EIM_OK;
}

/* Exports and seals a live session (it stays live). */
eim_err_t eim_dtls_snapshot(eim_dtls_session_t *s)
{
    uint8_t blob[EIM_PARK_BLOB_EXPORT_MAX];
    unsigned int size = sizeof(blob);
    int rc = wolfSSL_dtls_export(s->ssl, blob, &size);
    if (rc <= 0)
        return EIM_ERR_CRYPTO;
    eim_err_t err = seal(s, blob, (size_t)rc);
    memset(blob, 0, sizeof(blob));
    return err;
}

static void park(eim_dtls_session_t *s)
{
    eim_dtls_server_t *server = s->server;
    if (eim_dtls_snapshot(s) != EIM_OK) {
        /* cannot park: it stays live until its lifetime ends */
        eim_dtls_count_drop(server, DROP_PARK_FAILED);
        list_append(server, s, LIST_LIVE);
        return;
    }
    wolfSSL_free(s->ssl);
    s->ssl = NULL;
    eim_dtls_live_count(s, -1);
    s->state = STATE_PARKED;
    eim_dtls_addr_remove(server, s);
    list_append(server, s, LIST_PARKED);
    eim_counter_inc(server->c.parks);
    s->dirty = true;
    if (server->options.pool)
        eim_dtls_db_store(server, s);
}

/* Imports s->sealed (write sequence advanced by sequence_gap) into a new
 * WOLFSSL wired to s (*out, the caller's); s->peer and the CIDs are set
 * from the blob, s is registered nowhere. */
eim_err_t eim_dtls_import_sealed(eim_dtls_session_t *s, uint64_t sequence_gap, WOLFSSL **out)
{
    eim_dtls_server_t *server = s->server;
    uint8_t plain[EIM_PARK_BLOB_PLAIN_MAX];
    const uint8_t *blob;
    size_t blob_len;
    WOLFSSL *ssl = NULL;
    *out = NULL;
    eim_err_t err = unseal(s, plain, sizeof(plain), &blob, &blob_len);
    if (err)
        goto out;
    if (sequence_gap) {
        err = eim_park_blob_advance_write_sequence(plain + (blob - plain), blob_len, sequence_gap);
        if (err)
            goto out;
    }
    ssl = wolfSSL_new(server->import_ctx);
    if (!ssl) {
        fprintf(stderr, "eimd: out of memory creating a DTLS object\n");
        abort();
    }
    if (wolfSSL_dtls_import(ssl, blob, (unsigned int)blob_len) <= 0) {
        err = EIM_ERR_DECODE;
        goto out;
    }
    /* trap 2: the blob carries no CID state */
    if (wolfSSL_dtls_cid_use(ssl) != WOLFSSL_SUCCESS ||
        wolfSSL_dtls_cid_set(ssl, s->key, EIM_DTLS_CID_SIZE) != WOLFSSL_SUCCESS ||
        wolfSSL_dtls_cid_set_tx(ssl, s->peer_cid, s->peer_cid_len) != WOLFSSL_SUCCESS) {
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    wolfSSL_FreeHandshakeResources(ssl);
    configure_ssl(server, ssl);
    wolfSSL_SSLSetIORecv(ssl, session_recv);
    wolfSSL_SSLSetIOSend(ssl, session_send);
    wolfSSL_SetIOReadCtx(ssl, s);
    wolfSSL_SetIOWriteCtx(ssl, s);
    /* trap 4: the stored raw sockaddr, not the export's peer (IPv6) */
    wolfSSL_dtls_set_peer(ssl, &s->peer, s->peer_len);
    *out = ssl;
    ssl = NULL;
out:
    memset(plain, 0, sizeof(plain));
    if (ssl)
        wolfSSL_free(ssl);
    return err;
}

/* s (imported, with its WOLFSSL) joins the live sessions. */
void eim_dtls_go_live(eim_dtls_session_t *s)
{
    s->state = STATE_LIVE;
    s->version = 12;
    eim_dtls_live_count(s, +1);
    eim_dtls_addr_insert(s->server, s);
    eim_dtls_touch(s);
}

/* Revives a parked session from its sealed blob. */
eim_err_t eim_dtls_unpark(eim_dtls_session_t *s, uint64_t sequence_gap)
{
    WOLFSSL *ssl = NULL;
    eim_err_t err = eim_dtls_import_sealed(s, sequence_gap, &ssl);
    if (err)
        return err;
    s->ssl = ssl;
    eim_dtls_go_live(s);
    return EIM_OK;
}

/* ---- limits ------------------------------------------------------------- */

bool eim_dtls_evict_one(eim_dtls_server_t *server)
{
    static const int order[] = {LIST_PARKED, LIST_PARKABLE, LIST_LIVE};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        eim_dtls_session_t *victim = server->head[order[i]];
        if (victim) {
            eim_counter_inc(server->c.evicted);
            eim_dtls_session_end(victim, false, victim->ssl != NULL);
            return true;
        }
    }
    return false;
}

size_t eim_dtls_session_count(const eim_dtls_server_t *server)
{
    size_t n = 0;
    for (int l = 0; l < LIST_COUNT; l++)
        n += server->list_count[l];
    return n;
}

/* Token bucket per source prefix (/24 for IPv4, /56 for IPv6) in a fixed
 * table; colliding prefixes share a bucket (bounded memory). */
static bool rate_allow(eim_dtls_server_t *server, const struct sockaddr_storage *a)
{
    if (server->options.handshake_rate_per_prefix <= 0)
        return true;
    uint8_t prefix[8];
    size_t n;
    if (a->ss_family == AF_INET) {
        memcpy(prefix, &((const struct sockaddr_in *)a)->sin_addr, 3);
        n = 3;
    } else {
        memcpy(prefix, &((const struct sockaddr_in6 *)a)->sin6_addr, 7);
        n = 7;
    }
    uint64_t h = eim_dtls_hash_bytes(server->hash_seed ^ 0x5bd1e995, prefix, n);
    prefix_bucket_t *b = &server->prefix[h & (PREFIX_BUCKETS - 1)];
    uint32_t tag = (uint32_t)(h >> 32);
    uint64_t now = eim_dtls_now_ms(server);
    uint32_t cap = (uint32_t)server->options.handshake_rate_per_prefix * 1000u;
    if (b->prefix_hash != tag || b->last_ms == 0) {
        b->prefix_hash = tag;
        b->tokens_milli = cap;
        b->last_ms = now;
    }
    uint64_t refill = (now - b->last_ms) * (uint64_t)server->options.handshake_rate_per_prefix;
    b->tokens_milli = (uint32_t)((b->tokens_milli + refill) > cap ? cap : b->tokens_milli + refill);
    b->last_ms = now;
    if (b->tokens_milli < 1000)
        return false;
    b->tokens_milli -= 1000;
    return true;
}

/* ---- record processing ------------------------------------------------ */

static void deliver(eim_dtls_session_t *s)
{
    eim_dtls_server_t *server = s->server;
    uint8_t plain[MAX_DATAGRAM + 512];
    for (;;) {
        if (s->state != STATE_LIVE || !s->ssl)
            return;
        int n = wolfSSL_read(s->ssl, plain, (int)sizeof(plain));
        if (n > 0) {
            if (!s->app_seen) {
                s->app_seen = true;
                eim_dtls_touch(s);
            }
            if (server->options.on_data)
                server->options.on_data(s, plain, (size_t)n, server->options.ctx);
            continue;
        }
        int e = wolfSSL_get_error(s->ssl, n);
        if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
            return;
        if (e == WOLFSSL_ERROR_ZERO_RETURN) {
            eim_dtls_session_end(s, false, false); /* close_notify */
            return;
        }
        /* a bad record is dropped by wolfSSL (DTLS); anything else is fatal */
        eim_dtls_count_drop(server, DROP_FATAL_ERROR);
        eim_dtls_session_end(s, false, false);
        return;
    }
}

static const char *failure_reason(int e)
{
    switch (e) {
    case WOLFSSL_ERROR_ZERO_RETURN: return "peer_closed";
    case -313: /* FATAL_ERROR: alert received */ return "alert_received";
    case -326: /* VERSION_ERROR */ return "version";
    case -501: /* MATCH_SUITE_ERROR */ return "no_common_suite";
    default: return "protocol_error";
    }
}

static void handshake_step(eim_dtls_session_t *s)
{
    eim_dtls_server_t *server = s->server;
    int rc = wolfSSL_accept(s->ssl);
    if (rc == WOLFSSL_SUCCESS) {
        s->state = STATE_LIVE;
        s->version = wolfSSL_GetVersion(s->ssl) == WOLFSSL_DTLSV1_3 ? 13 : 12;
        unsigned int tx = 0;
        unsigned char *rx = NULL;
        bool negotiated = wolfSSL_dtls_cid_get0_rx(s->ssl, &rx) == WOLFSSL_SUCCESS && rx != NULL;
        if (!negotiated && s->has_cid) {
            eim_dtls_cid_remove(server, s); /* the client did not take the CID */
            s->has_cid = false;
        }
        if (s->has_cid) {
            unsigned char *tx_cid = NULL;
            if (wolfSSL_dtls_cid_get_tx_size(s->ssl, &tx) == WOLFSSL_SUCCESS &&
                tx <= PEER_CID_MAX && tx > 0 &&
                wolfSSL_dtls_cid_get0_tx(s->ssl, &tx_cid) == WOLFSSL_SUCCESS && tx_cid) {
                memcpy(s->peer_cid, tx_cid, tx);
                s->peer_cid_len = (uint8_t)tx;
            }
        }
        eim_dtls_live_count(s, +1);
        eim_counter_inc(s->version == 13 ? server->c.handshakes_13 : server->c.handshakes_12);
        eim_dtls_touch(s);
        deliver(s);
        return;
    }
    int e = wolfSSL_get_error(s->ssl, rc);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
        return;
    count_handshake_failure(server, failure_reason(e));
    eim_dtls_session_end(s, true, false);
}

/* Feeds one datagram to an existing session. */
static void feed(eim_dtls_session_t *s, const uint8_t *data, size_t len,
                 const struct sockaddr_storage *from, size_t listener)
{
    eim_dtls_server_t *server = s->server;
    eim_dtls_session_ref(s);
    bool moved_from = !eim_dtls_addr_equal(&s->peer, from);
    if (s->state == STATE_PARKED) {
        if (eim_dtls_unpark(s, 0) != EIM_OK) {
            eim_dtls_count_drop(server, DROP_UNPARK_FAILED);
            eim_dtls_session_end(s, false, false);
            goto out;
        }
        eim_counter_inc(server->c.resumed_memory);
        s->dirty = true;
    }
    if (moved_from && s->state == STATE_LIVE) {
        /* adopted by wolfSSL only if the record authenticates */
        wolfSSL_dtls_set_pending_peer(s->ssl, (void *)from,
                                      from->ss_family == AF_INET
                                          ? (unsigned)sizeof(struct sockaddr_in)
                                          : (unsigned)sizeof(struct sockaddr_in6));
    }
    s->in = data;
    s->in_len = len;
    if (s->state == STATE_HANDSHAKE)
        handshake_step(s);
    else if (s->state == STATE_LIVE) {
        s->last_ms = eim_dtls_now_ms(server);
        deliver(s);
    }
    s->in = NULL;
    if (s->state == STATE_LIVE && moved_from) {
        const void *peer = NULL;
        unsigned int peer_len = 0;
        if (wolfSSL_dtls_get0_peer(s->ssl, &peer, &peer_len) == WOLFSSL_SUCCESS && peer &&
            eim_dtls_addr_equal(peer, from)) {
            s->listener_index = (uint8_t)listener;
            eim_dtls_session_set_peer(s, from);
            eim_counter_inc(server->c.migrations);
        }
    }
    if (s->state == STATE_LIVE) {
        eim_dtls_touch(s);
        /* persist after each wake (stale blobs would re-accept old records) */
        if (s->dirty && server->options.pool && eim_dtls_snapshot(s) == EIM_OK)
            eim_dtls_db_store(server, s);
    }
out:
    eim_dtls_session_unref(s);
}

static void promote(listener_t *l, stateless_t *st, bool raw_public_key, bool previous,
                    const struct sockaddr_storage *from, socklen_t from_len)
{
    eim_dtls_server_t *server = l->server;
    eim_dtls_session_t *s = eim_dtls_session_new(server, l->index);
    uint8_t key[EIM_DTLS_KEY_SIZE];
    memcpy(key, st->cid, EIM_DTLS_CID_SIZE);
    random_bytes(server, key + EIM_DTLS_CID_SIZE, EIM_DTLS_KEY_SIZE - EIM_DTLS_CID_SIZE);
    eim_dtls_session_set_key(s, key);
    s->ssl = st->ssl;
    st->ssl = NULL;
    l->stateless[raw_public_key][previous] = NULL;
    stateless_free(st);
    wolfSSL_SSLSetIORecv(s->ssl, session_recv);
    wolfSSL_SSLSetIOSend(s->ssl, session_send);
    wolfSSL_SetIOReadCtx(s->ssl, s);
    wolfSSL_SetIOWriteCtx(s->ssl, s);
    wolfSSL_dtls_set_peer(s->ssl, (void *)from, (unsigned)from_len);
    s->state = STATE_HANDSHAKE;
    eim_dtls_session_set_peer(s, from);
    eim_dtls_addr_insert(server, s);
    /* DTLS 1.3 protects the client's second flight with the CID already */
    s->has_cid = true;
    eim_dtls_cid_insert(server, s);
    s->last_ms = eim_dtls_now_ms(server);
    list_append(server, s, LIST_HANDSHAKE);
    /* wolfDTLS_accept_stateless returns before the ServerHello */
    handshake_step(s);
}

static void on_client_hello(listener_t *l, const uint8_t *data, size_t len,
                            const struct sockaddr_storage *from, socklen_t from_len)
{
    eim_dtls_server_t *server = l->server;
    eim_dtls_client_hello_t hello;
    if (eim_dtls_client_hello_peek(data, len, &hello) != EIM_OK)
        memset(&hello, 0, sizeof(hello));
    bool rpk = hello.wants_raw_public_key && eim_tls_context_has_raw_public_key(server->tls);
    if (hello.has_cookie) {
        /* the expensive part starts here: apply the limits */
        if (server->list_count[LIST_HANDSHAKE] >= (size_t)server->options.max_handshakes) {
            eim_dtls_count_drop(server, DROP_HANDSHAKE_LIMIT);
            return;
        }
        if (!rate_allow(server, from)) {
            eim_dtls_count_drop(server, DROP_RATE_LIMITED);
            return;
        }
        if (eim_dtls_session_count(server) >= (size_t)server->options.max_sessions &&
            !eim_dtls_evict_one(server)) {
            eim_dtls_count_drop(server, DROP_MAX_SESSIONS);
            return;
        }
    }
    int tries = hello.has_cookie && server->have_previous_secret ? 2 : 1;
    stateless_t *first = NULL;
    for (int previous = 0; previous < tries; previous++) {
        stateless_t **slot = &l->stateless[rpk][previous];
        if (!*slot)
            *slot = stateless_new(l, rpk, previous != 0);
        stateless_t *st = *slot;
        st->in = data;
        st->in_len = len;
        st->peer = (const struct sockaddr *)from;
        st->peer_len = from_len;
        st->capture = tries == 2;
        st->held_len = 0;
        wolfSSL_dtls_set_peer(st->ssl, (void *)from, (unsigned)from_len);
        int rc = wolfDTLS_accept_stateless(st->ssl);
        st->in = NULL;
        st->capture = false;
        if (rc == WOLFSSL_SUCCESS) {
            promote(l, st, rpk, previous != 0, from, from_len);
            return;
        }
        if (rc == WOLFSSL_FATAL_ERROR) {
            /* a broken ClientHello: start over with a clean object */
            *slot = NULL;
            stateless_free(st);
            count_handshake_failure(server, "bad_client_hello");
            return;
        }
        if (!first)
            first = st;
    }
    /* no valid cookie: send the (current secret's) cookie request */
    if (first && tries == 2 && first->held_len)
        udp_send(l, (const struct sockaddr *)from, first->held, first->held_len);
    eim_counter_inc(server->c.cookies);
}

/* A datagram for a session held here; a copy that may be stale waits for
 * the database first. */
static void to_session(listener_t *l, eim_dtls_session_t *s, const uint8_t *data, size_t len,
                       const struct sockaddr_storage *from)
{
    if (eim_dtls_must_verify(s))
        eim_dtls_lookup_parked(l, s->key, data, len, from, s);
    else
        feed(s, data, len, from, l->index);
}

void eim_dtls_on_datagram(listener_t *l, const uint8_t *data, size_t len,
                          const struct sockaddr_storage *from, socklen_t from_len)
{
    eim_dtls_server_t *server = l->server;
    eim_dtls_record_t record;
    eim_dtls_record_parse(data, len, EIM_DTLS_CID_SIZE, &record);
    if (record.kind == EIM_DTLS_RECORD_INVALID) {
        eim_dtls_count_drop(server, DROP_MALFORMED);
        return;
    }
    if (record.cid) {
        eim_dtls_session_t *s = eim_dtls_cid_find(server, record.cid);
        if (s) {
            to_session(l, s, data, len, from);
            return;
        }
        if (server->options.pool && record.kind == EIM_DTLS_RECORD_CID12 &&
            server->park_supported) {
            eim_dtls_lookup_parked(l, record.cid, data, len, from, NULL);
            return;
        }
        eim_dtls_count_drop(server, DROP_UNKNOWN_CID);
        return;
    }
    eim_dtls_session_t *s = eim_dtls_addr_find(server, from);
    if (record.client_hello && (!s || s->state != STATE_HANDSHAKE)) {
        on_client_hello(l, data, len, from, from_len);
        return;
    }
    if (s) {
        to_session(l, s, data, len, from);
        return;
    }
    eim_dtls_count_drop(server, DROP_NO_SESSION);
}

/* ---- libuv plumbing ----------------------------------------------------- */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    listener_t *l = handle->data;
    *buf = uv_buf_init((char *)l->rx, RX_SLOTS * RX_SLOT_SIZE);
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    listener_t *l = udp->data;
    /* libuv ends every recvmmsg burst with this call: the answers go out */
    if (flags & UV_UDP_MMSG_FREE) {
        udp_flush(l);
        return;
    }
    if (nread <= 0 || !addr)
        return;
    if (!l->server->accepting) {
        eim_dtls_count_drop(l->server, DROP_STOPPED);
        return;
    }
    if (flags & UV_UDP_PARTIAL || nread > MAX_DATAGRAM + 512) {
        eim_dtls_count_drop(l->server, DROP_OVERSIZED);
        return;
    }
    struct sockaddr_storage from;
    socklen_t from_len = canonical_addr(addr, &from);
    if (!from_len)
        return;
    if (flags & UV_UDP_MMSG_CHUNK)
        eim_udp_tx_hold(l->tx);
    eim_dtls_on_datagram(l, (const uint8_t *)buf->base, (size_t)nread, &from, from_len);
}

static void on_tick(uv_timer_t *timer)
{
    eim_dtls_server_t *server = timer->data;
    uint64_t now = eim_dtls_now_ms(server);
    const eim_dtls_server_options_t *o = &server->options;
    eim_dtls_session_t *s;
    while ((s = server->head[LIST_HANDSHAKE]) &&
           now - s->last_ms >= (uint64_t)o->handshake_timeout_ms) {
        count_handshake_failure(server, "timeout");
        eim_dtls_session_end(s, true, false);
    }
    while ((s = server->head[LIST_PARKABLE]) && now - s->last_ms >= (uint64_t)o->park_after_ms)
        park(s);
    while ((s = server->head[LIST_LIVE]) && now - s->last_ms >= (uint64_t)o->lifetime_ms) {
        eim_counter_inc(server->c.expired);
        eim_dtls_session_end(s, false, true);
    }
    while ((s = server->head[LIST_PARKED]) && now - s->last_ms >= (uint64_t)o->lifetime_ms) {
        eim_counter_inc(server->c.expired);
        eim_dtls_session_end(s, false, false);
    }
    /* rows of sessions no instance holds any more, bounded per round */
    if (o->pool && ++server->ticks % PURGE_TICKS == 0)
        eim_dtls_sessions_purge(o->pool, 1000, NULL, NULL);
}

static void rotate_cookie_secret(eim_dtls_server_t *server)
{
    memcpy(server->cookie_secret[1], server->cookie_secret[0], COOKIE_SECRET);
    random_bytes(server, server->cookie_secret[0], COOKIE_SECRET);
    server->have_previous_secret = true;
    for (size_t i = 0; i < server->listener_count; i++)
        for (int rpk = 0; rpk < 2; rpk++)
            for (int prev = 0; prev < 2; prev++) {
                stateless_t *st = server->listeners[i].stateless[rpk][prev];
                if (st)
                    wolfSSL_DTLS_SetCookieSecret(st->ssl, server->cookie_secret[prev],
                                                 COOKIE_SECRET);
            }
}

static void on_cookie_timer(uv_timer_t *timer)
{
    rotate_cookie_secret(timer->data);
}

void eim_dtls_server_rotate_cookie_secret(eim_dtls_server_t *server)
{
    rotate_cookie_secret(server);
}

void eim_dtls_server_options_default(eim_dtls_server_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->mtu = 1152;
    o->receive_buffer = 8 * 1024 * 1024;
    o->max_sessions = 200000;
    o->max_handshakes = 2000;
    o->handshake_rate_per_prefix = 200;
    o->handshake_timeout_ms = 30000;
    o->park_after_ms = 30000;
    o->lifetime_ms = 7LL * 24 * 3600 * 1000;
    o->cookie_rotation_ms = 300000;
    o->claim_notifications = true;
}

static void on_handle_closed(uv_handle_t *handle)
{
    eim_dtls_server_t *server = handle->data;
    if (handle->type == UV_UDP)
        server = ((listener_t *)handle->data)->server;
    if (--server->open_handles > 0)
        return;
    server->handles_closed = true;
    /* writes still in flight (a shutdown past its deadline) answer later,
     * even if only with the pool's failure: the last one frees */
    if (server->db_in_flight == 0)
        eim_dtls_server_free(server);
}

void eim_dtls_server_free(eim_dtls_server_t *server)
{
    for (size_t i = 0; i < server->listener_count; i++) {
        free(server->listeners[i].rx);
        eim_udp_tx_free(server->listeners[i].tx);
    }
    free(server->by_cid);
    free(server->by_addr);
    free(server->prefix);
    if (server->own_metrics)
        eim_metrics_free(server->metrics);
    free(server->instance_id);
    free(server);
}

eim_err_t eim_dtls_server_start(uv_loop_t *loop, const eim_dtls_server_options_t *options,
                                eim_dtls_server_t **out, char *error, size_t error_size)
{
    *out = NULL;
    eim_err_t err = EIM_OK;
    if (!options->tls || options->listen_count == 0 ||
        options->listen_count > EIM_DTLS_MAX_LISTEN || options->mtu < 256 ||
        options->mtu > MAX_DATAGRAM || options->max_sessions <= 0 || options->max_handshakes <= 0 ||
        options->lifetime_ms <= 0 || options->cookie_rotation_ms <= 0 ||
        options->handshake_timeout_ms <= 0) {
        snprintf(error, error_size, "invalid DTLS server options");
        return EIM_ERR_CONFIG;
    }
    eim_dtls_server_t *server = EIM_NEW(eim_dtls_server_t);
    server->loop = loop;
    server->options = *options;
    server->instance_id = options->instance_id ? eim_strdup(options->instance_id) : NULL;
    server->options.instance_id = server->instance_id;
    server->tls = eim_tls_context_acquire(options->tls);
    server->metrics = options->metrics;
    if (!server->metrics) {
        server->metrics = eim_metrics_new();
        server->own_metrics = true;
    }
    server->accepting = true;
    server->park_supported = true;
    server->cid_buckets = server->addr_buckets = 1024;
    server->by_cid = eim_calloc(server->cid_buckets, sizeof(*server->by_cid));
    server->by_addr = eim_calloc(server->addr_buckets, sizeof(*server->by_addr));
    server->prefix = eim_calloc(PREFIX_BUCKETS, sizeof(*server->prefix));
    if (wc_InitRng(&server->rng) != 0) {
        fprintf(stderr, "eimd: cannot initialise the random generator\n");
        abort();
    }
    random_bytes(server, (uint8_t *)&server->hash_seed, sizeof(server->hash_seed));
    random_bytes(server, server->cookie_secret[0], COOKIE_SECRET);
    uint8_t park_key[EIM_PARK_BLOB_KEY_SIZE];
    if (options->park_key)
        memcpy(park_key, options->park_key, sizeof(park_key));
    else
        random_bytes(server, park_key, sizeof(park_key));
    eim_err_t key_err = eim_park_blob_key_init(&server->seal, park_key);
    memset(park_key, 0, sizeof(park_key));
    server->import_ctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method()); /* trap 3 */
    if (key_err != EIM_OK || !server->import_ctx) {
        snprintf(error, error_size, "cannot set up the DTLS park key or import context");
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    register_metrics(server);
    if (options->pool && options->claim_notifications)
        server->listening = eim_pg_pool_listen(options->pool, EIM_DTLS_SESSIONS_CHANNEL,
                                               eim_dtls_on_claim_notify, NULL, server) == EIM_OK;

    for (size_t i = 0; i < options->listen_count; i++) {
        listener_t *l = &server->listeners[i];
        l->server = server;
        l->index = i;
        struct sockaddr_storage addr;
        memset(&addr, 0, sizeof(addr));
        if (eim_address_parse(options->listen[i], &addr) != EIM_OK) {
            snprintf(error, error_size, "invalid coaps listen address %s", options->listen[i]);
            err = EIM_ERR_CONFIG;
            goto out;
        }
        uv_udp_init_ex(loop, &l->udp, (unsigned)addr.ss_family | UV_UDP_RECVMMSG);
        l->udp.data = l;
        l->open = true;
        server->listener_count++;
        server->open_handles++;
        l->rx = eim_malloc(RX_SLOTS * RX_SLOT_SIZE);
        l->tx = eim_udp_tx_new(&l->udp);
        unsigned flags = addr.ss_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
        int brc = uv_udp_bind(&l->udp, (const struct sockaddr *)&addr, flags);
        if (brc == 0) {
            int size = options->receive_buffer;
            if (size > 0)
                uv_recv_buffer_size((uv_handle_t *)&l->udp, &size);
            brc = uv_udp_recv_start(&l->udp, on_alloc, on_recv);
        }
        if (brc != 0) {
            snprintf(error, error_size, "cannot bind %s: %s", options->listen[i], uv_strerror(brc));
            err = EIM_ERR_IO;
            goto out;
        }
        struct sockaddr_storage bound;
        int len = sizeof(bound);
        uv_udp_getsockname(&l->udp, (struct sockaddr *)&bound, &len);
        l->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                   : ((struct sockaddr_in6 *)&bound)->sin6_port);
    }
    uv_timer_init(loop, &server->tick);
    server->tick.data = server;
    server->open_handles++;
    uv_timer_start(&server->tick, on_tick, TICK_MS, TICK_MS);
    uv_timer_init(loop, &server->cookie_timer);
    server->cookie_timer.data = server;
    server->open_handles++;
    uv_timer_start(&server->cookie_timer, on_cookie_timer, (uint64_t)options->cookie_rotation_ms,
                   (uint64_t)options->cookie_rotation_ms);
out:
    if (err) {
        eim_dtls_server_close(server);
        return err;
    }
    *out = server;
    return EIM_OK;
}

void eim_dtls_server_stop_accepting(eim_dtls_server_t *server)
{
    server->accepting = false;
}

void eim_dtls_server_flush(eim_dtls_server_t *server, void (*done)(void *ctx), void *ctx)
{
    eim_dtls_session_t *s;
    while ((s = server->head[LIST_PARKABLE]))
        park(s);
    if (server->options.pool)
        for (s = server->head[LIST_PARKED]; s; s = s->next)
            if (s->dirty)
                eim_dtls_db_store(server, s);
    server->flush_done = done;
    server->flush_ctx = ctx;
    if (done && server->db_in_flight == 0) {
        server->flush_done = NULL;
        done(ctx);
    }
}

size_t eim_dtls_server_in_flight(const eim_dtls_server_t *server)
{
    return server->db_in_flight;
}

void eim_dtls_server_close(eim_dtls_server_t *server)
{
    server->closing = true;
    if (server->listening)
        eim_pg_pool_unlisten(server->options.pool, EIM_DTLS_SESSIONS_CHANNEL, server);
    server->listening = false;
    server->accepting = false;
    server->flush_done = NULL;
    for (int l = 0; l < LIST_COUNT; l++)
        while (server->head[l])
            eim_dtls_session_end(server->head[l], true, server->head[l]->ssl != NULL);
    /* pending look-ups free themselves when the pool answers */
    for (pending_t *p = server->pending, *next; p; p = next) {
        next = p->next;
        p->server_gone = true;
        server->db_in_flight--;
    }
    server->pending = NULL;
    for (size_t i = 0; i < server->listener_count; i++) {
        listener_t *l = &server->listeners[i];
        for (int rpk = 0; rpk < 2; rpk++)
            for (int prev = 0; prev < 2; prev++)
                stateless_free(l->stateless[rpk][prev]);
        udp_flush(l); /* close_notify alerts held in a burst */
        l->open = false;
        uv_close((uv_handle_t *)&l->udp, on_handle_closed);
    }
    if (server->import_ctx)
        wolfSSL_CTX_free(server->import_ctx);
    wc_AesFree(&server->seal);
    wc_FreeRng(&server->rng);
    eim_tls_context_release(server->tls);
    bool timers = uv_is_active((uv_handle_t *)&server->tick) || server->tick.loop;
    if (timers) {
        uv_close((uv_handle_t *)&server->tick, on_handle_closed);
        uv_close((uv_handle_t *)&server->cookie_timer, on_handle_closed);
    }
    if (server->open_handles == 0) {
        server->open_handles = 1;
        on_handle_closed((uv_handle_t *)&server->tick);
    }
}

int eim_dtls_server_port(const eim_dtls_server_t *server, size_t index)
{
    return index < server->listener_count ? server->listeners[index].port : -1;
}

size_t eim_dtls_server_live_sessions(const eim_dtls_server_t *server)
{
    return server->live_12 + server->live_13;
}

size_t eim_dtls_server_parked_sessions(const eim_dtls_server_t *server)
{
    return server->list_count[LIST_PARKED];
}

/* ---- session API -------------------------------------------------------- */

eim_err_t eim_dtls_send(eim_dtls_session_t *session, const uint8_t *data, size_t len)
{
    if (session->state == STATE_CLOSED || session->state == STATE_HANDSHAKE)
        return EIM_ERR_CONFLICT;
    if (session->state == STATE_PARKED) {
        /* sending cannot wait for the database: the copy's own sequence
         * range keeps its nonces unique even if another instance claimed
         * the session meanwhile; the next record it receives is checked */
        session->unverified = eim_dtls_must_verify(session);
        if (eim_dtls_unpark(session, 0) != EIM_OK)
            return EIM_ERR_CRYPTO;
        eim_counter_inc(session->server->c.resumed_memory);
        session->dirty = true;
    }
    if (len > eim_dtls_session_max_payload(session))
        return EIM_ERR_LIMIT;
    int rc = wolfSSL_write(session->ssl, data, (int)len);
    if (rc != (int)len)
        return EIM_ERR_IO;
    eim_dtls_touch(session);
    return EIM_OK;
}

size_t eim_dtls_session_max_payload(const eim_dtls_session_t *session)
{
    if (session->ssl) {
        int n = wolfSSL_GetMaxOutputSize(session->ssl);
        if (n > 0)
            return (size_t)n;
    }
    return (size_t)session->server->options.mtu - 64;
}

void eim_dtls_session_close(eim_dtls_session_t *session)
{
    eim_dtls_session_end(session, false, session->ssl != NULL);
}

eim_dtls_session_t *eim_dtls_session_ref(eim_dtls_session_t *session)
{
    session->refs++;
    return session;
}

void eim_dtls_session_unref(eim_dtls_session_t *session)
{
    if (!session || --session->refs > 0)
        return;
    if (session->ssl)
        wolfSSL_free(session->ssl);
    free(session->sealed);
    free(session->peer_text);
    free(session);
}

const uint8_t *eim_dtls_session_key(const eim_dtls_session_t *session)
{
    return session->key;
}

const char *eim_dtls_session_key_hex(const eim_dtls_session_t *session)
{
    return session->key_hex;
}

const char *eim_dtls_session_peer(const eim_dtls_session_t *session)
{
    eim_dtls_session_t *s = (eim_dtls_session_t *)session;
    if (!s->peer_text) {
        s->peer_text = eim_malloc(INET6_ADDRSTRLEN + 10);
        eim_address_format((const struct sockaddr *)&s->peer, s->peer_text, INET6_ADDRSTRLEN + 10);
    }
    return s->peer_text;
}

eim_dtls_version_t eim_dtls_session_version(const eim_dtls_session_t *session)
{
    return session->version == 13 ? EIM_DTLS_VERSION_1_3 : EIM_DTLS_VERSION_1_2;
}

const char *eim_dtls_session_identity(const eim_dtls_session_t *session)
{
    (void)session;
    return NULL; /* server authentication only (brief §4.4) */
}

bool eim_dtls_session_closed(const eim_dtls_session_t *session)
{
    return session->state == STATE_CLOSED;
}

bool eim_dtls_session_parked(const eim_dtls_session_t *session)
{
    return session->state == STATE_PARKED;
}

void eim_dtls_session_set_user(eim_dtls_session_t *session, void *user)
{
    session->user = user;
}

void *eim_dtls_session_user(const eim_dtls_session_t *session)
{
    return session->user;
}
