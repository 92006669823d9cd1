/*
 * Parked DTLS sessions in PostgreSQL (migrations/0004_dtls_sessions.sql,
 * ownership rules in 0006_dtls_session_ownership.sql and
 * 0007_dtls_session_authenticated_claim.sql), through the
 * asynchronous pool (pg_pool.h). The DTLS layer (server/dtls/) seals the
 * rows; this module only moves opaque bytes, keyed by the Connection ID
 * (RFC 9146) the server chose: the first EIM_DTLS_SESSIONS_CID_LEN bytes of
 * the session key.
 *
 * Ownership: each row has a generation. The instance that made a session
 * holds generation 1; an instance resuming a session it does not hold first
 * reads the row (eim_dtls_sessions_peek, no write), checks the device's
 * record against the blob, and only then claims it
 * (eim_dtls_sessions_claim), which takes the next generation atomically if
 * the row still has the generation read (migrations/0007). Only the holder
 * of the current generation may write or end the row, so a late write of an
 * older holder (another instance, or this one before a restart) changes
 * nothing and reports EIM_ERR_CONFLICT.
 *
 * Every call queues one statement and calls cb exactly once on the loop
 * thread, never from inside the call. Byte strings are copied before the
 * call returns.
 */
#ifndef EIM_STORAGE_DTLS_SESSIONS_H
#define EIM_STORAGE_DTLS_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "storage/pg_pool.h"

#define EIM_DTLS_SESSIONS_CID_LEN 8
/* NOTIFY channel of claims and ends: payload "<cid hex>:<generation>" */
#define EIM_DTLS_SESSIONS_CHANNEL "eim_dtls_claims"

typedef void (*eim_dtls_sessions_done_cb)(eim_err_t err, void *ctx);

/* Writes the sealed state of session key (CID first) as the holder of
 * generation (>= 1; generation 1 may create the row). expires_in_ms is
 * relative to now. cb: EIM_OK written, EIM_ERR_CONFLICT the row is held by a
 * newer generation, ended or names another session (nothing written), or a
 * database error. */
void eim_dtls_sessions_store(eim_pg_pool_t *pool, const uint8_t *key, size_t key_len,
                             const uint8_t *sealed, size_t sealed_len, int64_t expires_in_ms,
                             const char *instance, uint64_t generation,
                             eim_dtls_sessions_done_cb cb, void *ctx);

typedef enum {
    EIM_DTLS_ROW_ABSENT,  /* nothing unexpired under the CID */
    EIM_DTLS_ROW_OWNED,   /* peek: the caller's generation is current: its copy is the newest */
    EIM_DTLS_ROW_PRESENT, /* peek: another generation holds it: `generation`, `sealed` */
    EIM_DTLS_ROW_CLAIMED, /* claim: the caller now holds `generation` */
    EIM_DTLS_ROW_MOVED,   /* claim: the generation is no longer the expected one: nothing written */
    EIM_DTLS_ROW_CLOSED,  /* the session ended, or the CID names another session */
} eim_dtls_row_verdict_t;

typedef struct {
    eim_dtls_row_verdict_t verdict;
    uint64_t generation;        /* current generation (claimed: the caller's now) */
    uint64_t sealed_generation; /* the generation whose holder wrote sealed */
    const uint8_t *key;         /* present only: the session key */
    size_t key_len;
    const uint8_t *sealed; /* present only */
    size_t sealed_len;
} eim_dtls_claim_t;

/* claim is borrowed for the call; NULL when err is set. */
typedef void (*eim_dtls_sessions_claimed_cb)(eim_err_t err, const eim_dtls_claim_t *claim,
                                             void *ctx);

/* Reads the row of cid without taking it (no lock, no write, no NOTIFY):
 * held is the generation the caller holds in memory (0: none), key its
 * session key (NULL when only the CID is known). OWNED: the row's generation
 * is held; PRESENT: another generation holds it (its blob comes along);
 * CLOSED, ABSENT. A claim may follow right after the answer: the caller's
 * writes name its generation and are refused then. */
void eim_dtls_sessions_peek(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                            const uint8_t *key, size_t key_len, uint64_t held,
                            eim_dtls_sessions_claimed_cb cb, void *ctx);

/* Claims the session of cid if the row's generation is still expected (what
 * a peek answered; the caller authenticated a record against that blob):
 * CLAIMED, the caller now holds max(expected, held) + 1 (NOTIFYed on
 * EIM_DTLS_SESSIONS_CHANNEL); MOVED, another instance claimed it
 * meanwhile, nothing written; CLOSED (ended meanwhile), ABSENT. */
void eim_dtls_sessions_claim(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                             const uint8_t *key, size_t key_len, uint64_t held, uint64_t expected,
                             const char *instance, eim_dtls_sessions_claimed_cb cb, void *ctx);

/* Ends the session as the holder of generation: the row becomes a
 * tombstone (kept until it expires so that no older copy can write it
 * again). EIM_ERR_CONFLICT when the caller does not hold the row. */
void eim_dtls_sessions_close(eim_pg_pool_t *pool, const uint8_t *key, size_t key_len,
                             uint64_t generation, eim_dtls_sessions_done_cb cb, void *ctx);

/* Deletes up to limit rows expired for more than an hour (the margin keeps
 * tombstones past any clock difference between instances and database); cb
 * gets the count through *deleted (may be NULL). */
typedef void (*eim_dtls_sessions_purged_cb)(eim_err_t err, size_t deleted, void *ctx);
void eim_dtls_sessions_purge(eim_pg_pool_t *pool, int limit, eim_dtls_sessions_purged_cb cb,
                             void *ctx);

/* Parses a NOTIFY payload of EIM_DTLS_SESSIONS_CHANNEL. */
bool eim_dtls_sessions_parse_notify(const char *payload, uint8_t cid[EIM_DTLS_SESSIONS_CID_LEN],
                                    uint64_t *generation);

#endif
