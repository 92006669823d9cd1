/*
 * Parked DTLS sessions in the database shared by instances (see
 * docs/architecture.md, "Ownership across instances", and dtls_internal.h).
 *
 * Ownership (migrations/0006_dtls_session_ownership.sql). s->generation is
 * the database generation this instance holds: 1 for a session it made
 * (the first write creates the row), the claimed one for a session resumed
 * from the database. Every write and every end names it and is refused once
 * another instance claimed the session; a refused write drops the copy here
 * (released: no close_notify, no database change), because the device now
 * talks to the holder. A copy that may be stale (parked, or marked
 * unverified) takes no record before the database said it is still held
 * here (eim_dtls_lookup_parked), so a stale copy never accepts a record
 * another instance already took; what it may send (eim_dtls_send on a
 * parked copy) stays in its own sequence range (eim_park_blob_claim_gap).
 * Taking a session from another instance (migrations/0007) needs a record
 * that authenticates under the newest state first (try_claim), so a
 * datagram that merely carries the CID moves nothing.
 *
 * Look-ups in flight (pending_t) hold the datagrams of one CID until the
 * database answers (on_peeked, on_claimed); NOTIFYs of other instances'
 * claims drop or mark stale copies early (eim_dtls_on_claim_notify).
 */
#include "server/dtls/dtls_internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/memory.h"
#include "storage/dtls_sessions.h"

#define PENDING_MAX 256 /* concurrent database look-ups of unknown CIDs */

typedef struct {
    eim_dtls_server_t *server;
    eim_dtls_session_t *session;
    uint64_t generation; /* the generation the write was made as */
} db_call_t;

/* After every database answer: a flush waiting for the last write is done;
 * a closed server whose handles are gone is freed by its last answer. */
static void maybe_flush_done(eim_dtls_server_t *server)
{
    if (server->flush_done && server->db_in_flight == 0) {
        void (*done)(void *) = server->flush_done;
        server->flush_done = NULL;
        done(server->flush_ctx);
    }
    if (server->handles_closed && server->db_in_flight == 0)
        eim_dtls_server_free(server);
}

static pending_t *pending_find(eim_dtls_server_t *server, const uint8_t *cid)
{
    for (pending_t *p = server->pending; p; p = p->next)
        if (memcmp(p->cid, cid, EIM_DTLS_CID_SIZE) == 0)
            return p;
    return NULL;
}

static void pending_free(pending_t *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->dgram[i].data);
    for (size_t i = 0; i < p->plain_count; i++) {
        memset(p->plain[i].data, 0, p->plain[i].len);
        free(p->plain[i].data);
    }
    eim_dtls_session_unref(p->candidate);
    eim_dtls_session_unref(p->held);
    free(p);
}

static void pending_unlink(eim_dtls_server_t *server, const pending_t *p)
{
    for (pending_t **q = &server->pending; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            server->pending_count--;
            return;
        }
    }
}

static void drop_pending(eim_dtls_server_t *server, const pending_t *p, drop_reason_t reason)
{
    eim_dtls_count_drops(server, reason, p->count);
}

/* The datagrams of p from the first not yet fed on, as if they arrived now. */
static void replay_pending(eim_dtls_server_t *server, const pending_t *p)
{
    for (size_t i = p->fed; i < p->count; i++) {
        listener_t *dl = &server->listeners[p->dgram[i].listener];
        eim_dtls_on_datagram(dl, p->dgram[i].data, p->dgram[i].len, &p->dgram[i].addr,
                             p->dgram[i].addr.ss_family == AF_INET
                                 ? (socklen_t)sizeof(struct sockaddr_in)
                                 : (socklen_t)sizeof(struct sockaddr_in6));
    }
}

static void release(eim_dtls_session_t *s, const char *cause)
{
    if (s->state == STATE_CLOSED)
        return;
    eim_dtls_count_stale(s->server, cause, "dropped");
    s->released = true;
    eim_dtls_session_end(s, false, false);
}

static void on_stored(eim_err_t err, void *ctx)
{
    db_call_t *call = ctx;
    eim_dtls_server_t *server = call->server;
    eim_dtls_session_t *s = call->session;
    s->storing = false;
    /* a refusal about an older generation (this instance claimed the
     * session again meanwhile) says nothing about the current one */
    if (err == EIM_ERR_CONFLICT && s->generation == call->generation) {
        /* another instance holds the session now */
        s->end_row = false; /* not ours to end */
        release(s, "write_refused");
    } else if (err && err != EIM_ERR_CONFLICT) {
        eim_counter_inc(server->c.db_writes_failed);
        s->dirty = true;
    } else if (s->dirty && s->state != STATE_CLOSED) {
        eim_dtls_db_store(server, s); /* a newer state waited for this write */
    }
    if (s->end_row && s->state == STATE_CLOSED) {
        s->end_row = false;
        eim_dtls_db_close(server, s); /* after the write, not overtaken by it */
    }
    eim_dtls_session_unref(s);
    free(call);
    server->db_in_flight--;
    maybe_flush_done(server);
}

void eim_dtls_db_store(eim_dtls_server_t *server, eim_dtls_session_t *s)
{
    if (!s->sealed || s->released || server->closing)
        return;
    if (s->storing) {
        s->dirty = true; /* written when the write in flight is done */
        return;
    }
    if (s->generation == 0)
        s->generation = 1; /* made here: the first write creates the row */
    db_call_t *call = EIM_NEW(db_call_t);
    call->server = server;
    call->session = eim_dtls_session_ref(s);
    call->generation = s->generation;
    s->dirty = false;
    s->storing = true;
    server->db_in_flight++;
    int64_t expires = (int64_t)(s->last_ms - eim_dtls_now_ms(server)) + server->options.lifetime_ms;
    eim_dtls_sessions_store(server->options.pool, s->key, EIM_DTLS_KEY_SIZE, s->sealed,
                            s->sealed_len, expires, server->instance_id, s->generation, on_stored,
                            call);
}

static void on_closed_in_db(eim_err_t err, void *ctx)
{
    (void)err; /* refused: another instance holds the row; failed: it expires */
    eim_dtls_server_t *server = ctx;
    server->db_in_flight--;
    maybe_flush_done(server);
}

/* The session ended here: its row becomes a tombstone if this instance
 * still holds it. */
void eim_dtls_db_close(eim_dtls_server_t *server, eim_dtls_session_t *s)
{
    if (s->generation == 0 || s->released || server->closing)
        return; /* no row written, not ours, or no new work after close */
    if (s->storing) {
        s->end_row = true;
        return;
    }
    server->db_in_flight++;
    eim_dtls_sessions_close(server->options.pool, s->key, EIM_DTLS_KEY_SIZE, s->generation,
                            on_closed_in_db, server);
}

/* Whether a record for s must wait for the database's word first. */
bool eim_dtls_must_verify(const eim_dtls_session_t *s)
{
    return s->server->options.pool && s->generation > 0 &&
           (s->state == STATE_PARKED || s->unverified);
}

static void replace_sealed(eim_dtls_session_t *s, const uint8_t *sealed, size_t len)
{
    free(s->sealed);
    s->sealed = eim_malloc(len);
    memcpy(s->sealed, sealed, len);
    s->sealed_len = (uint16_t)len;
}

/* The database says the copy held here is current: resume it. */
static bool resume_held(eim_dtls_session_t *s)
{
    eim_dtls_server_t *server = s->server;
    s->unverified = false;
    if (s->state != STATE_PARKED)
        return true;
    if (eim_dtls_unpark(s, 0) != EIM_OK) {
        eim_dtls_count_drop(server, DROP_UNPARK_FAILED);
        eim_dtls_session_end(s, false, false);
        return false;
    }
    eim_counter_inc(server->c.resumed_memory);
    s->dirty = true; /* written back after the first record */
    return true;
}

/* The claim of a held (stale) copy succeeded: the candidate's state
 * replaces the copy in the same session object, so the upper layer keeps
 * its key and state. */
static eim_dtls_session_t *adopt_candidate(eim_dtls_session_t *s, eim_dtls_session_t *c,
                                           uint64_t generation)
{
    eim_dtls_server_t *server = s->server;
    eim_dtls_count_stale(server, "wake", "replaced");
    if (s->ssl) {
        wolfSSL_free(s->ssl);
        s->ssl = NULL;
        eim_dtls_live_count(s, -1);
    }
    eim_dtls_addr_remove(server, s);
    s->ssl = c->ssl;
    c->ssl = NULL;
    wolfSSL_SetIOReadCtx(s->ssl, s);
    wolfSSL_SetIOWriteCtx(s->ssl, s);
    memcpy(s->peer_cid, c->peer_cid, c->peer_cid_len);
    s->peer_cid_len = c->peer_cid_len;
    s->listener_index = c->listener_index;
    eim_dtls_session_set_peer(s, &c->peer);
    free(s->sealed);
    s->sealed = c->sealed;
    s->sealed_len = c->sealed_len;
    c->sealed = NULL;
    s->moved = c->moved;
    s->generation = generation;
    s->unverified = false;
    s->app_seen = true;
    eim_dtls_go_live(s);
    return s;
}

/* The claim of a session not held here succeeded: the candidate becomes
 * the session (it takes the server's reference). */
static eim_dtls_session_t *install_candidate(pending_t *p, uint64_t generation)
{
    eim_dtls_server_t *server = p->server;
    if (eim_dtls_session_count(server) >= (size_t)server->options.max_sessions &&
        !eim_dtls_evict_one(server)) {
        drop_pending(server, p, DROP_MAX_SESSIONS);
        return NULL;
    }
    eim_dtls_session_t *s = p->candidate;
    p->candidate = NULL;
    s->trial = false;
    s->generation = generation;
    eim_dtls_cid_insert(server, s);
    eim_dtls_go_live(s);
    return s;
}

/* Feeds the datagrams queued in p to its candidate, as feed() would (a new
 * address adopted only after an authenticated record). True when at least
 * one record authenticated and passed the replay window as application
 * data; that plaintext is copied into p, for delivery only once the claim
 * succeeded. Nothing is sent. */
static bool try_records(pending_t *p)
{
    eim_dtls_server_t *server = p->server;
    eim_dtls_session_t *c = p->candidate;
    uint8_t plain[MAX_DATAGRAM + 512];
    bool authenticated = false;
    for (size_t i = 0; i < p->count; i++) {
        const struct sockaddr_storage *from = &p->dgram[i].addr;
        bool moved_from = !eim_dtls_addr_equal(&c->peer, from);
        if (moved_from)
            wolfSSL_dtls_set_pending_peer(c->ssl, (void *)from,
                                          from->ss_family == AF_INET
                                              ? (unsigned)sizeof(struct sockaddr_in)
                                              : (unsigned)sizeof(struct sockaddr_in6));
        c->in = p->dgram[i].data;
        c->in_len = p->dgram[i].len;
        p->fed = i + 1;
        for (;;) {
            int n = wolfSSL_read(c->ssl, plain, (int)sizeof(plain));
            if (n > 0) {
                authenticated = true;
                if (p->plain_count == PENDING_PLAIN) {
                    eim_dtls_count_drop(server, DROP_LOOKUP_QUEUE_FULL);
                    continue;
                }
                p->plain[p->plain_count].data = eim_malloc((size_t)n);
                memcpy(p->plain[p->plain_count].data, plain, (size_t)n);
                p->plain[p->plain_count].len = (size_t)n;
                p->plain_count++;
                continue;
            }
            int e = wolfSSL_get_error(c->ssl, n);
            if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
                break;
            /* close_notify, an alert or a fatal error: nothing to claim for */
            c->in = NULL;
            memset(plain, 0, sizeof(plain));
            return false;
        }
        c->in = NULL;
        const void *peer = NULL;
        unsigned int peer_len = 0;
        if (moved_from && wolfSSL_dtls_get0_peer(c->ssl, &peer, &peer_len) == WOLFSSL_SUCCESS &&
            peer && eim_dtls_addr_equal(peer, from)) {
            c->listener_index = (uint8_t)p->dgram[i].listener;
            eim_dtls_session_set_peer(c, from);
            c->moved = true;
        }
    }
    memset(plain, 0, sizeof(plain));
    return authenticated;
}

static void on_claimed(eim_err_t err, const eim_dtls_claim_t *claim, void *ctx);

/*
 * The row names another holder (row: a peek's PRESENT answer). Before
 * anything is written, the queued records are tried against the newest
 * state: imported into a candidate whose write sequence is already
 * advanced as the claim will require (generation max(row, held) + 1), fed
 * the datagrams. Only if one of them authenticates as application data is
 * the session claimed, and only if its generation is still the one read
 * (compare-and-swap, on_claimed). A forged datagram, or one replayed
 * within the blob's window, costs one read and no write, no NOTIFY, no
 * sequence range. False: dropped (counted), nothing claimed.
 */
static bool try_claim(pending_t *p, const eim_dtls_claim_t *row)
{
    eim_dtls_server_t *server = p->server;
    eim_dtls_session_t *held = p->held;
    if (row->key_len != EIM_DTLS_KEY_SIZE || memcmp(row->key, p->cid, EIM_DTLS_CID_SIZE)) {
        drop_pending(server, p, DROP_UNPARK_FAILED);
        return false;
    }
    uint64_t held_generation = held ? held->generation : 0;
    p->expected = row->generation;
    p->taken = (row->generation > held_generation ? row->generation : held_generation) + 1;
    eim_dtls_session_t *c = eim_dtls_session_new(server, p->dgram[0].listener);
    p->candidate = c;
    c->trial = true;
    eim_dtls_session_set_key(c, row->key);
    replace_sealed(c, row->sealed, row->sealed_len);
    c->has_cid = true;
    c->app_seen = true;
    c->version = 12;
    c->state = STATE_PARKED;
    /* the blob may be older than what a holder sent since (a crash, a
     * write in flight): move the write sequence (and with it the CCM
     * nonce) past every range a holder may have used */
    uint64_t gap = 0;
    if (eim_park_blob_claim_gap(p->taken, row->sealed_generation, EIM_DTLS_SEQUENCE_GAP, &gap) !=
            EIM_OK ||
        eim_dtls_import_sealed(c, gap, &c->ssl) != EIM_OK) {
        drop_pending(server, p, DROP_UNPARK_FAILED);
        return false;
    }
    if (!try_records(p)) {
        drop_pending(server, p, DROP_UNAUTHENTICATED_CLAIM);
        return false;
    }
    server->db_in_flight++;
    eim_dtls_sessions_claim(server->options.pool, p->cid, EIM_DTLS_CID_SIZE, row->key,
                            EIM_DTLS_KEY_SIZE, held_generation, p->expected, server->instance_id,
                            on_claimed, p);
    return true;
}

/* NOTIFY from a claim or an end (possibly this instance's own). A parked
 * copy of an older generation is dropped at once (it could never be
 * resumed); a live one is checked against the database before its next
 * record. Missing a NOTIFY costs only memory: the check on wake decides. */
void eim_dtls_on_claim_notify(const char *channel, const char *payload, void *ctx)
{
    (void)channel;
    eim_dtls_server_t *server = ctx;
    uint8_t cid[EIM_DTLS_SESSIONS_CID_LEN];
    uint64_t generation = 0;
    if (server->closing || !eim_dtls_sessions_parse_notify(payload, cid, &generation))
        return;
    eim_dtls_session_t *s = eim_dtls_cid_find(server, cid);
    /* a check in flight answers for itself (it may be this very claim) */
    if (!s || s->generation == 0 || generation <= s->generation || s->state == STATE_CLOSED ||
        pending_find(server, cid))
        return;
    if (s->state == STATE_PARKED) {
        release(s, "notify");
    } else if (!s->unverified) {
        s->unverified = true;
        eim_dtls_count_stale(server, "notify", "recheck");
    }
}

/* The pool answered a look-up or a claim of p. False when nothing more is
 * to be done with it: the server is gone (p freed), closing, or the copy
 * being checked ended meanwhile (eviction, expiry: p's datagrams dropped);
 * p is then unlinked and freed. */
static bool pending_answered(pending_t *p)
{
    eim_dtls_server_t *server = p->server;
    if (p->server_gone) {
        pending_free(p);
        return false;
    }
    server->db_in_flight--;
    bool closed = p->held && p->held->state == STATE_CLOSED;
    if (!server->closing && !closed)
        return true;
    if (!server->closing)
        drop_pending(server, p, DROP_SESSION_CLOSED);
    pending_unlink(server, p);
    pending_free(p);
    maybe_flush_done(server);
    return false;
}

/*
 * The database's word on a CID (a read, nothing taken): resume the copy
 * held here, try to take the session from its holder (try_claim), or drop.
 *
 * "Still held here" comes from a plain read, not under the row lock: a
 * claim may commit right after it, exactly as one may right after a locked
 * check releases its lock, so the lock would prove nothing more. What
 * keeps a copy resumed this way safe is unchanged: it sends in its own
 * sequence range, and its writes name its generation and are refused
 * (the copy dropped) once another instance took the session.
 */
static void on_peeked(eim_err_t err, const eim_dtls_claim_t *row, void *ctx)
{
    pending_t *p = ctx;
    eim_dtls_session_t *s = p->held; /* referenced by p */
    if (!pending_answered(p))
        return;
    eim_dtls_server_t *server = p->server;
    if (!s && eim_dtls_cid_find(server, p->cid)) {
        pending_unlink(server, p);
        replay_pending(server, p); /* found meanwhile (a concurrent look-up) */
        goto done;
    }
    if (err) {
        /* fail closed: without the database's word a copy may be stale */
        drop_pending(server, p, DROP_DB_ERROR);
        goto unlink;
    }
    bool absent = row->verdict == EIM_DTLS_ROW_ABSENT;
    if (row->verdict == EIM_DTLS_ROW_OWNED || (absent && s && s->generation == 1)) {
        /* still held here; generation 1 without a row: its first write never
         * landed (or the row was purged), and nobody else can hold it */
        pending_unlink(server, p);
        if (s && resume_held(s))
            replay_pending(server, p);
        else if (!s)
            drop_pending(server, p, DROP_UNKNOWN_CID);
        goto done;
    }
    if (row->verdict == EIM_DTLS_ROW_PRESENT) {
        /* held elsewhere: the claim stays listed (later datagrams of the
         * CID queue behind it, NOTIFYs leave the copy to it) */
        if (try_claim(p, row))
            return;
        goto unlink;
    }
    /* ended elsewhere (tombstone), expired, or another session's CID */
    if (s)
        release(s, "wake");
    drop_pending(server, p, s ? DROP_ENDED_ELSEWHERE : DROP_UNKNOWN_CID);
unlink:
    pending_unlink(server, p);
done:
    pending_free(p);
    maybe_flush_done(server);
}

/* The answer to try_claim's compare-and-swap. Claimed: the candidate
 * becomes the session (or replaces the stale copy held here), its held
 * plaintext goes to the upper layer, the datagrams that queued meanwhile
 * follow. Anything else: candidate and datagrams dropped, nothing held
 * changes (the device retransmits and finds the new state). */
static void on_claimed(eim_err_t err, const eim_dtls_claim_t *claim, void *ctx)
{
    pending_t *p = ctx;
    if (!pending_answered(p))
        return;
    eim_dtls_server_t *server = p->server;
    eim_dtls_session_t *s = p->held;
    pending_unlink(server, p);
    if (err) {
        /* the claim may have landed: then no instance holds that generation
         * and the next authenticated record claims it again (as after a
         * crash) */
        drop_pending(server, p, DROP_DB_ERROR);
        goto done;
    }
    if (claim->verdict == EIM_DTLS_ROW_MOVED) {
        drop_pending(server, p, DROP_CLAIM_LOST); /* another instance was first */
        goto done;
    }
    if (claim->verdict != EIM_DTLS_ROW_CLAIMED) {
        if (s)
            release(s, "wake");
        drop_pending(server, p, s ? DROP_ENDED_ELSEWHERE : DROP_UNKNOWN_CID);
        goto done;
    }
    if (claim->generation != p->taken || (!s && eim_dtls_cid_find(server, p->cid))) {
        /* not the generation the gap was computed for (cannot happen with
         * 0007's function), or the CID is in use here after all */
        drop_pending(server, p, DROP_UNPARK_FAILED);
        goto done;
    }
    s = s ? adopt_candidate(s, p->candidate, claim->generation)
          : install_candidate(p, claim->generation);
    if (!s)
        goto done;
    eim_dtls_session_ref(s);
    eim_counter_inc(server->c.resumed_database);
    if (s->moved)
        eim_counter_inc(server->c.migrations);
    s->moved = false;
    for (size_t i = 0; i < p->plain_count && s->state == STATE_LIVE; i++)
        if (server->options.on_data)
            server->options.on_data(s, p->plain[i].data, p->plain[i].len, server->options.ctx);
    if (s->state == STATE_LIVE) {
        eim_dtls_touch(s);
        /* written back (with the advanced sequence) at once: the claim
         * took the row, and stale blobs would re-accept these records */
        s->dirty = true;
        if (eim_dtls_snapshot(s) == EIM_OK)
            eim_dtls_db_store(server, s);
    }
    eim_dtls_session_unref(s);
    replay_pending(server, p);
done:
    pending_free(p);
    maybe_flush_done(server);
}

/* Queues the datagram until the database answers for its CID: a claim of a
 * session not held here (held NULL), or the check of a copy that may be
 * stale (held: a parked or unverified session of this CID). */
void eim_dtls_lookup_parked(listener_t *l, const uint8_t *cid, const uint8_t *data, size_t len,
                            const struct sockaddr_storage *from, eim_dtls_session_t *held)
{
    eim_dtls_server_t *server = l->server;
    pending_t *p = pending_find(server, cid);
    if (!p) {
        if (server->pending_count >= PENDING_MAX) {
            eim_dtls_count_drop(server, DROP_LOOKUP_LIMIT);
            return;
        }
        p = EIM_NEW(pending_t);
        p->server = server;
        memcpy(p->cid, cid, EIM_DTLS_CID_SIZE);
        p->next = server->pending;
        server->pending = p;
        server->pending_count++;
        server->db_in_flight++;
        if (held) {
            p->held = eim_dtls_session_ref(held);
            eim_dtls_sessions_peek(server->options.pool, cid, EIM_DTLS_CID_SIZE, held->key,
                                   EIM_DTLS_KEY_SIZE, held->generation, on_peeked, p);
        } else {
            eim_dtls_sessions_peek(server->options.pool, cid, EIM_DTLS_CID_SIZE, NULL, 0, 0,
                                   on_peeked, p);
        }
    }
    if (p->count >= PENDING_DGRAMS) {
        eim_dtls_count_drop(server, DROP_LOOKUP_QUEUE_FULL);
        return;
    }
    p->dgram[p->count].data = eim_malloc(len);
    memcpy(p->dgram[p->count].data, data, len);
    p->dgram[p->count].len = len;
    p->dgram[p->count].addr = *from;
    p->dgram[p->count].listener = l->index;
    p->count++;
}
