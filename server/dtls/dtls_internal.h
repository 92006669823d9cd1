/*
 * Internals of the DTLS session layer, shared by the files of server/dtls/
 * only (never included elsewhere; the interface is dtls_server.h):
 *
 *   dtls_server.c     UDP I/O and demultiplexing, handshakes, record
 *                     processing, parking, limits, metrics, timers, the
 *                     public API
 *   session_table.c   the CID and peer-address hash tables
 *   dtls_ownership.c  parked sessions in the database shared by instances:
 *                     writes and ends by generation, the database's word
 *                     before a possibly stale copy takes a record,
 *                     authenticate-then-claim, claim NOTIFYs
 *   park_blob.c       sealing of wolfSSL exports (pure over bytes)
 *
 * The structs below are the server's and the sessions' state; the
 * functions declared here cross those files. Everything runs on the loop
 * thread.
 */
#ifndef EIM_SERVER_DTLS_DTLS_INTERNAL_H
#define EIM_SERVER_DTLS_DTLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/random.h>

#include "server/dtls/dtls_server.h"
#include "server/dtls/park_blob.h"
#include "server/dtls/udp_tx_batch.h"

#define MAX_DATAGRAM   1500
#define COOKIE_SECRET  32
#define PENDING_DGRAMS 4 /* datagrams kept per look-up */
#define PENDING_PLAIN  8 /* plaintexts held per claim until the database answers */
#define PEER_CID_MAX   EIM_PARK_BLOB_PEER_CID_MAX

enum { LIST_NONE = -1, LIST_HANDSHAKE, LIST_PARKABLE, LIST_LIVE, LIST_PARKED, LIST_COUNT };

typedef enum { STATE_HANDSHAKE, STATE_LIVE, STATE_PARKED, STATE_CLOSED } state_t;

typedef struct listener listener_t;

struct eim_dtls_session {
    int refs;
    state_t state;
    int8_t list;
    uint8_t version; /* 12 / 13 */
    bool has_cid;    /* negotiated: indexed by CID */
    bool app_seen;   /* the client sent an application record (park rule 4) */
    bool in_addr_table;
    bool dirty;      /* database copy older than the state */
    bool unverified; /* live from memory without the database's word (a send; a NOTIFY) */
    bool released;   /* the row is another instance's (or ended): never written or ended here */
    bool storing;    /* a write in flight: the next waits for it (writes stay in order) */
    bool end_row;    /* ended while a write was in flight: end the row after it */
    bool trial;      /* a claim candidate (try_claim): sends nothing, indexed nowhere */
    bool moved;      /* trial: wolfSSL adopted a new peer (counted once it is claimed) */
    uint8_t listener_index;
    uint8_t peer_cid_len;
    uint16_t sealed_len;
    socklen_t peer_len;
    eim_dtls_server_t *server;
    WOLFSSL *ssl; /* NULL when parked or closed */
    uint8_t *sealed;
    eim_dtls_session_t *prev, *next;          /* activity list */
    eim_dtls_session_t *cid_next, *addr_next; /* hash chains */
    uint64_t last_ms;
    uint64_t generation; /* database generation held (dtls_sessions.h); 0: no row written */
    const uint8_t *in;   /* datagram being fed (custom I/O) */
    size_t in_len;
    void *user;
    uint8_t key[EIM_DTLS_KEY_SIZE];
    uint8_t peer_cid[PEER_CID_MAX];
    struct sockaddr_storage peer;
    char *peer_text; /* lazily built */
    char key_hex[2 * EIM_DTLS_KEY_SIZE + 1];
};

/* A stateless wolfSSL object answering ClientHellos on one socket. */
typedef struct {
    listener_t *listener;
    WOLFSSL *ssl;
    uint8_t cid[EIM_DTLS_CID_SIZE];
    const uint8_t *in;
    size_t in_len;
    const struct sockaddr *peer;
    socklen_t peer_len;
    bool capture; /* hold the reply instead of sending it */
    uint8_t held[MAX_DATAGRAM];
    size_t held_len;
} stateless_t;

struct listener {
    eim_dtls_server_t *server;
    uv_udp_t udp;
    size_t index;
    int port;
    bool open;
    uint8_t *rx;
    eim_udp_tx_t *tx; /* answers to one recvmmsg burst leave in one sendmmsg */
    /* [raw public key][previous secret] */
    stateless_t *stateless[2][2];
};

typedef struct {
    uint32_t prefix_hash;
    uint32_t tokens_milli;
    uint64_t last_ms;
} prefix_bucket_t;

typedef struct pending {
    eim_dtls_server_t *server;
    struct pending *next;
    eim_dtls_session_t *held; /* the copy held here being checked, referenced; NULL: none */
    uint8_t cid[EIM_DTLS_CID_SIZE];
    size_t count;
    bool server_gone;
    struct {
        uint8_t *data;
        size_t len;
        struct sockaddr_storage addr;
        size_t listener;
    } dgram[PENDING_DGRAMS];
    /* a claim in flight (try_claim): the newest state imported, not indexed */
    eim_dtls_session_t *candidate;
    uint64_t expected; /* the generation the peek found */
    uint64_t taken;    /* the generation the claim gives (the gap was computed for it) */
    size_t fed;        /* datagrams [0, fed) went to the candidate */
    size_t plain_count;
    struct {
        uint8_t *data;
        size_t len;
    } plain[PENDING_PLAIN]; /* their application data, delivered once claimed */
} pending_t;

/* Why a datagram (or a session) was dropped: eimd_dtls_drops_total{reason}
 * (names in dtls_server.c, counters registered at start). */
typedef enum {
    DROP_MALFORMED,
    DROP_OVERSIZED,
    DROP_STOPPED,
    DROP_NO_SESSION,
    DROP_UNKNOWN_CID,
    DROP_HANDSHAKE_LIMIT,
    DROP_RATE_LIMITED,
    DROP_MAX_SESSIONS,
    DROP_FATAL_ERROR,
    DROP_PARK_FAILED,
    DROP_UNPARK_FAILED,
    DROP_SEND_BUFFER_FULL,
    DROP_SEND_ERROR,
    DROP_LOOKUP_LIMIT,
    DROP_LOOKUP_QUEUE_FULL,
    DROP_DB_ERROR,
    DROP_UNAUTHENTICATED_CLAIM,
    DROP_CLAIM_LOST,
    DROP_ENDED_ELSEWHERE,
    DROP_SESSION_CLOSED,
    DROP_COUNT
} drop_reason_t;

typedef struct {
    eim_counter_t *drops[DROP_COUNT];
    eim_counter_t *parks, *resumed_memory, *resumed_database, *migrations, *cookies, *handshakes_12,
        *handshakes_13, *expired, *evicted, *db_writes_failed;
} counters_t;

struct eim_dtls_server {
    uv_loop_t *loop;
    eim_dtls_server_options_t options;
    char *instance_id;
    eim_tls_context_t *tls;
    WOLFSSL_CTX *import_ctx;
    WC_RNG rng;
    Aes seal;
    uint8_t cookie_secret[2][COOKIE_SECRET]; /* current, previous */
    bool have_previous_secret;
    uint64_t hash_seed;
    listener_t listeners[EIM_DTLS_MAX_LISTEN];
    size_t listener_count;
    size_t open_handles;
    uv_timer_t tick, cookie_timer;
    eim_dtls_session_t **by_cid, **by_addr;
    size_t cid_buckets, addr_buckets;
    size_t cid_count, addr_count;
    eim_dtls_session_t *head[LIST_COUNT], *tail[LIST_COUNT];
    size_t list_count[LIST_COUNT];
    size_t live_12, live_13;
    prefix_bucket_t *prefix;
    pending_t *pending;
    size_t pending_count;
    size_t db_in_flight;
    uint64_t ticks;
    bool accepting;
    bool closing;
    bool handles_closed; /* freed once these are closed and db_in_flight is 0 */
    bool park_supported;
    bool listening; /* claim NOTIFYs registered with the pool */
    bool own_metrics;
    eim_metrics_t *metrics;
    counters_t c;
    void (*flush_done)(void *ctx);
    void *flush_ctx;
};

/* ---- dtls_server.c ------------------------------------------------------ */

uint64_t eim_dtls_now_ms(const eim_dtls_server_t *server);
/* One datagram or session dropped, by reason (eimd_dtls_drops_total). */
void eim_dtls_count_drop(eim_dtls_server_t *server, drop_reason_t reason);
void eim_dtls_count_drops(eim_dtls_server_t *server, drop_reason_t reason, size_t n);
/* A copy held here found older than the database: how, and what was done. */
void eim_dtls_count_stale(eim_dtls_server_t *server, const char *cause, const char *action);
/* A new session (one reference: the server's) on listener, in no table. */
eim_dtls_session_t *eim_dtls_session_new(eim_dtls_server_t *server, size_t listener);
void eim_dtls_session_set_key(eim_dtls_session_t *s, const uint8_t *key);
/* Moves the live session count of s's version by delta. */
void eim_dtls_live_count(eim_dtls_session_t *s, int delta);
/* Ends a session: out of every table, wolfSSL freed, on_closed (unless
 * quiet), the server's reference dropped. */
void eim_dtls_session_end(eim_dtls_session_t *s, bool quiet, bool send_close_notify);
/* Last activity now; a live session moves to the tail of its list. */
void eim_dtls_touch(eim_dtls_session_t *s);
/* Exports and seals a live session into s->sealed (it stays live). */
eim_err_t eim_dtls_snapshot(eim_dtls_session_t *s);
/* Imports s->sealed (write sequence advanced by sequence_gap) into a new
 * WOLFSSL wired to s (*out, the caller's); s->peer and the CIDs are set
 * from the blob, s is registered nowhere. */
eim_err_t eim_dtls_import_sealed(eim_dtls_session_t *s, uint64_t sequence_gap, WOLFSSL **out);
/* s (imported, with its WOLFSSL) joins the live sessions. */
void eim_dtls_go_live(eim_dtls_session_t *s);
/* Revives a parked session from its sealed blob. */
eim_err_t eim_dtls_unpark(eim_dtls_session_t *s, uint64_t sequence_gap);
/* Closes the oldest idle session (parked first); false when there is none. */
bool eim_dtls_evict_one(eim_dtls_server_t *server);
size_t eim_dtls_session_count(const eim_dtls_server_t *server);
/* A datagram as it arrived on listener l (also for replayed ones). */
void eim_dtls_on_datagram(listener_t *l, const uint8_t *data, size_t len,
                          const struct sockaddr_storage *from, socklen_t from_len);
/* Frees a closed server once its handles are closed and nothing is in flight. */
void eim_dtls_server_free(eim_dtls_server_t *server);

/* ---- session_table.c ---------------------------------------------------- */

/* A keyed 64-bit hash of n bytes. */
uint64_t eim_dtls_hash_bytes(uint64_t seed, const uint8_t *p, size_t n);
/* Same family, port and address. */
bool eim_dtls_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
eim_dtls_session_t *eim_dtls_cid_find(const eim_dtls_server_t *server, const uint8_t *cid);
void eim_dtls_cid_insert(eim_dtls_server_t *server, eim_dtls_session_t *s);
void eim_dtls_cid_remove(eim_dtls_server_t *server, eim_dtls_session_t *s);
eim_dtls_session_t *eim_dtls_addr_find(const eim_dtls_server_t *server,
                                       const struct sockaddr_storage *a);
/* Indexes s under its current peer; a previous owner of that address (a
 * stale session whose device moved away) loses the address index. */
void eim_dtls_addr_insert(eim_dtls_server_t *server, eim_dtls_session_t *s);
void eim_dtls_addr_remove(eim_dtls_server_t *server, eim_dtls_session_t *s);
/* s's peer becomes peer (re-indexed if it was indexed by address). */
void eim_dtls_session_set_peer(eim_dtls_session_t *s, const struct sockaddr_storage *peer);

/* ---- dtls_ownership.c --------------------------------------------------- */

/* Writes s->sealed as s's generation (after the write in flight, if any). */
void eim_dtls_db_store(eim_dtls_server_t *server, eim_dtls_session_t *s);
/* The session ended here: its row becomes a tombstone if this instance
 * still holds it. */
void eim_dtls_db_close(eim_dtls_server_t *server, eim_dtls_session_t *s);
/* Whether a record for s must wait for the database's word first. */
bool eim_dtls_must_verify(const eim_dtls_session_t *s);
/* Queues the datagram until the database answers for its CID: a claim of a
 * session not held here (held NULL), or the check of a copy that may be
 * stale (held: a parked or unverified session of this CID). */
void eim_dtls_lookup_parked(listener_t *l, const uint8_t *cid, const uint8_t *data, size_t len,
                            const struct sockaddr_storage *from, eim_dtls_session_t *held);
/* The pool's NOTIFY handler for claims and ends (eim_pg_pool_listen). */
void eim_dtls_on_claim_notify(const char *channel, const char *payload, void *ctx);

#endif
