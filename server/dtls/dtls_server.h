/*
 * DTLS session layer for CoAP over DTLS (SGP.32 §6.2 / §6.5, brief §4.3).
 *
 * An eim_dtls_server_t terminates DTLS 1.2 (RFC 6347) and DTLS 1.3
 * (RFC 9147) on one or more UDP sockets (IPv4 and IPv6) of a libuv loop.
 * wolfSSL runs on custom I/O; the stateless cookie exchange (RFC 6347
 * §4.2.1, RFC 9147 §5.1) is always on, with a shared secret rotated on a
 * timer. Sessions use server-chosen fixed-length Connection IDs (RFC 9146
 * for 1.2, RFC 9147 §9 for 1.3) and are found in O(1) by CID or by peer
 * address; when an authenticated record arrives from a new address the
 * session follows it (a forged or replayed one moves nothing).
 *
 * Idle DTLS 1.2 sessions are "parked": exported, sealed with AES-GCM under
 * a server key and their wolfSSL objects freed; the next record with their
 * CID revives them transparently (also after a restart, from PostgreSQL).
 * Instances sharing the database hand sessions over through it: a session
 * is held by one generation (storage/dtls_sessions.h); a copy held here is
 * resumed only after the database confirms no other instance claimed it,
 * else the newest state is claimed from the row and replaces it.
 * The upper layer never sees parking: a session object it holds a
 * reference to stays valid and keeps its key; eim_dtls_send on a parked
 * session revives it first.
 *
 * Ownership: the server owns its sessions; the upper layer may keep a
 * session beyond a callback by taking a reference (eim_dtls_session_ref)
 * and must drop it with eim_dtls_session_unref. A closed session keeps
 * answering the accessors but eim_dtls_send fails with EIM_ERR_CONFLICT.
 * Everything runs on the loop thread.
 */
#ifndef EIM_SERVER_DTLS_DTLS_SERVER_H
#define EIM_SERVER_DTLS_DTLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "proto/base/error.h"
#include "proto/base/metrics.h"

typedef struct eim_dtls_server eim_dtls_server_t;
typedef struct eim_dtls_session eim_dtls_session_t;
typedef struct eim_pg_pool eim_pg_pool_t;
typedef struct eim_tls_context eim_tls_context_t;

#define EIM_DTLS_MAX_LISTEN 8
#define EIM_DTLS_CID_SIZE   8  /* server-chosen CID length (bytes), fixed */
#define EIM_DTLS_KEY_SIZE   16 /* session key: 8-byte CID + 8-byte random id */
/* Records a session claimed from the database skips in its write sequence
 * (and so in its AES-CCM nonces), per generation between the blob's writer
 * and the claim: more than any instance can send between two writes of the
 * row. */
#define EIM_DTLS_SEQUENCE_GAP (1ULL << 24)

typedef enum {
    EIM_DTLS_VERSION_1_2 = 12,
    EIM_DTLS_VERSION_1_3 = 13,
} eim_dtls_version_t;

/* One decrypted application record. data is only valid during the call. */
typedef void (*eim_dtls_on_data)(eim_dtls_session_t *session, const uint8_t *data, size_t len,
                                 void *ctx);
/* The session ended (close_notify, fatal alert, eviction, expiry, server
 * shutdown). Called once; afterwards the session is no longer usable for
 * sending; references held by the upper layer stay valid until dropped.
 * Parking does NOT close a session. */
typedef void (*eim_dtls_on_closed)(eim_dtls_session_t *session, void *ctx);

typedef struct {
    /* "0.0.0.0:5684", "[::]:5684", "127.0.0.1:0" (port 0: ephemeral, see
     * eim_dtls_server_port) */
    const char *listen[EIM_DTLS_MAX_LISTEN];
    size_t listen_count;
    eim_tls_context_t
        *tls;            /* certificate chain / raw public key; borrowed (a reference is taken) */
    eim_pg_pool_t *pool; /* parked sessions in PostgreSQL; NULL: in memory only */
    const char *instance_id; /* written with parked rows (diagnostics); may be NULL */
    /* with a pool: LISTEN for sessions claimed by other instances and drop
     * the copies held here at once (memory); the check on wake is the
     * authority either way. Default true. */
    bool claim_notifications;
    /* 32-byte key sealing parked sessions (shared by instances sharing the
     * database); NULL: random per process (parked state does not survive a
     * restart then) */
    const uint8_t *park_key;
    int mtu;                       /* DTLS record MTU (bytes), e.g. 1152 */
    int receive_buffer;            /* SO_RCVBUF request (bytes) */
    int max_sessions;              /* live + parked sessions */
    int max_handshakes;            /* concurrent handshakes in progress */
    int handshake_rate_per_prefix; /* new handshakes per second per /24 (IPv4) or /56 (IPv6) */
    int handshake_timeout_ms;
    int park_after_ms;      /* DTLS 1.2 session idle this long gets parked; 0: never */
    int64_t lifetime_ms;    /* a session idle this long (live or parked) expires */
    int cookie_rotation_ms; /* cookie secret lifetime; previous kept one more period */
    eim_dtls_on_data on_data;
    eim_dtls_on_closed on_closed;
    void *ctx;
    eim_metrics_t *metrics; /* may be NULL */
} eim_dtls_server_options_t;

/* Defaults for every numeric option (listen/tls/callbacks left empty). */
void eim_dtls_server_options_default(eim_dtls_server_options_t *options);

/*
 * Binds the sockets and starts the timers. On failure returns EIM_ERR_IO
 * (bind) / EIM_ERR_CONFIG / EIM_ERR_CRYPTO and a one-line reason in error.
 * When a pool is given, parked sessions of the database are found on
 * demand (the first record with an unknown CID looks it up).
 */
eim_err_t eim_dtls_server_start(uv_loop_t *loop, const eim_dtls_server_options_t *options,
                                eim_dtls_server_t **out, char *error, size_t error_size);

/* Stops receiving (new datagrams are dropped); sessions stay. */
void eim_dtls_server_stop_accepting(eim_dtls_server_t *server);

/* Parks every DTLS 1.2 session that can be parked and writes all parked
 * sessions still dirty to the database; calls done(ctx) when written (at
 * once without a pool). Used on shutdown. */
void eim_dtls_server_flush(eim_dtls_server_t *server, void (*done)(void *ctx), void *ctx);

/* Work the server still waits for (database writes, handshakes). */
size_t eim_dtls_server_in_flight(const eim_dtls_server_t *server);

/* Closes sockets and timers, closes live sessions without callbacks and
 * frees the server when libuv has closed its handles. */
void eim_dtls_server_close(eim_dtls_server_t *server);

/* The local port of listen address index (after binding port 0). */
int eim_dtls_server_port(const eim_dtls_server_t *server, size_t index);

/* Rotates the cookie secret now (the timer does it every
 * cookie_rotation_ms); the previous secret stays valid one more period. */
void eim_dtls_server_rotate_cookie_secret(eim_dtls_server_t *server);

/* Counts (for tests and the benchmark). */
size_t eim_dtls_server_live_sessions(const eim_dtls_server_t *server);
size_t eim_dtls_server_parked_sessions(const eim_dtls_server_t *server);

/* Sends one application record (len ≤ MTU minus record overhead, else
 * EIM_ERR_LIMIT). Revives a parked session. EIM_ERR_CONFLICT when closed. */
eim_err_t eim_dtls_send(eim_dtls_session_t *session, const uint8_t *data, size_t len);

/* Largest application payload that fits one datagram for this session. */
size_t eim_dtls_session_max_payload(const eim_dtls_session_t *session);

/* Sends close_notify and closes the session (on_closed follows). */
void eim_dtls_session_close(eim_dtls_session_t *session);

eim_dtls_session_t *eim_dtls_session_ref(eim_dtls_session_t *session);
void eim_dtls_session_unref(eim_dtls_session_t *session);

/* Stable key for the session's life, across migrations, parking and
 * restarts: EIM_DTLS_KEY_SIZE bytes (the CID, then a random id). */
const uint8_t *eim_dtls_session_key(const eim_dtls_session_t *session);
/* The same as lowercase hex (2 * EIM_DTLS_KEY_SIZE characters). */
const char *eim_dtls_session_key_hex(const eim_dtls_session_t *session);
/* Current peer as text: "192.0.2.1:5684" or "[2001:db8::1]:5684". */
const char *eim_dtls_session_peer(const eim_dtls_session_t *session);
eim_dtls_version_t eim_dtls_session_version(const eim_dtls_session_t *session);
/* The authenticated client identity (certificate subject CN or a hash of a
 * raw public key), NULL when the client did not authenticate (the usual
 * case: SGP.32 DTLS is server-authenticated, brief §4.4). */
const char *eim_dtls_session_identity(const eim_dtls_session_t *session);
/* Whether the session is closed. */
bool eim_dtls_session_closed(const eim_dtls_session_t *session);
/* Whether the session is parked right now (informational: parking is
 * transparent). */
bool eim_dtls_session_parked(const eim_dtls_session_t *session);
/* Upper-layer slot (e.g. the CoAP state); the server never touches it. */
void eim_dtls_session_set_user(eim_dtls_session_t *session, void *user);
void *eim_dtls_session_user(const eim_dtls_session_t *session);

#endif
