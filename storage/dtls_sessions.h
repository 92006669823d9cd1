/*
 * Parked DTLS sessions in PostgreSQL (migrations/0006_dtls_sessions.sql),
 * through the asynchronous pool (pg_pool.h). The DTLS layer (server/dtls/)
 * seals the rows; this module only moves opaque bytes, keyed by the
 * Connection ID (RFC 9146) the server chose.
 *
 * Every call queues one statement and calls cb exactly once on the loop
 * thread. Byte strings are copied before the call returns.
 */
#ifndef EIM_STORAGE_DTLS_SESSIONS_H
#define EIM_STORAGE_DTLS_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "storage/pg_pool.h"

typedef void (*eim_dtls_sessions_done_cb)(eim_err_t err, void *ctx);

/* Inserts or replaces the row of key[0..cid_len) (the CID is the first
 * cid_len bytes of key, cid_len = 8 in eimd). expires_in_ms is relative to
 * now. */
void eim_dtls_sessions_store(eim_pg_pool_t *pool, const uint8_t *key, size_t key_len,
                             const uint8_t *sealed, size_t sealed_len, int64_t expires_in_ms,
                             const char *instance, eim_dtls_sessions_done_cb cb, void *ctx);

/* The unexpired row of a CID: cb(EIM_OK, key, sealed, len) (borrowed for
 * the call), or EIM_ERR_NOT_FOUND with NULLs, or a database error. */
typedef void (*eim_dtls_sessions_loaded_cb)(eim_err_t err, const uint8_t *key,
                                            const uint8_t *sealed, size_t sealed_len, void *ctx);
void eim_dtls_sessions_load(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                            eim_dtls_sessions_loaded_cb cb, void *ctx);

void eim_dtls_sessions_delete(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                              eim_dtls_sessions_done_cb cb, void *ctx);

/* Deletes up to limit expired rows; cb gets the count through *deleted
 * (may be NULL). */
typedef void (*eim_dtls_sessions_purged_cb)(eim_err_t err, size_t deleted, void *ctx);
void eim_dtls_sessions_purge(eim_pg_pool_t *pool, int limit, eim_dtls_sessions_purged_cb cb,
                             void *ctx);

#endif
