/*
 * Per-EID cache of verified eUICC public keys (PK.EUICC.ECDSA).
 *
 * Chain validation (cert_chain.h) costs two ECDSA verifications plus
 * parsing; the result for an EID stays good until the chain's earliest
 * notAfter, so results are cached here and result verification (SGP.32 v1.2
 * §2.11.1.2, brief §3.2, §5 "what the eIM must store per eUICC") only needs
 * one ECDSA verification. Bounded: at most `capacity` entries, the least
 * recently used entry is evicted. Lookups past an entry's valid_until miss
 * and drop the entry. Not thread-safe: one cache per thread or a lock.
 */
#ifndef EIM_PROTO_CRYPTO_KEY_CACHE_H
#define EIM_PROTO_CRYPTO_KEY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"
#include "proto/crypto/cert_chain.h"

#define EIM_KEY_CACHE_MAX_CAPACITY (16u * 1024 * 1024)

typedef struct eim_key_cache eim_key_cache_t;

typedef struct {
    uint64_t hits, misses, expired, evictions, inserts;
    size_t size, capacity;
} eim_key_cache_stats_t;

/* capacity 1..EIM_KEY_CACHE_MAX_CAPACITY; memory is allocated up front. */
eim_err_t eim_key_cache_new(size_t capacity, eim_key_cache_t **out);
void eim_key_cache_free(eim_key_cache_t *cache);

/* Inserts or replaces the entry for key->eid (copied). */
eim_err_t eim_key_cache_put(eim_key_cache_t *cache, const eim_euicc_key_t *key);
/* Copies the entry for eid (16 bytes or 32 digits) into *out when present
 * and now <= valid_until (and marks it recently used); EIM_ERR_NOT_FOUND
 * otherwise. */
eim_err_t eim_key_cache_get(eim_key_cache_t *cache, eim_span_t eid, int64_t now,
                            eim_euicc_key_t *out);
/* Drops the entry for eid (e.g. certificates changed); no-op if absent. */
void eim_key_cache_remove(eim_key_cache_t *cache, eim_span_t eid);
/* Drops everything (e.g. CI configuration changed or a CI was revoked). */
void eim_key_cache_clear(eim_key_cache_t *cache);
void eim_key_cache_stats(const eim_key_cache_t *cache, eim_key_cache_stats_t *out);

#endif
