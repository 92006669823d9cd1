/*
 * The DTLS sessions' indexes (see dtls_internal.h): a hash table by
 * server-chosen CID (RFC 9146, RFC 9147 §9; fixed length, so a record's CID
 * is found in O(1) without DTLS state) and one by peer address (family,
 * port, address) for records without a CID. Both are chained, keyed with a
 * random per-server seed (no chosen-collision flooding) and double when
 * they hold as many sessions as buckets.
 */
#include "server/dtls/dtls_internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/memory.h"

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t eim_dtls_hash_bytes(uint64_t seed, const uint8_t *p, size_t n)
{
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < n; i++)
        h = mix64(h ^ p[i]) + i;
    return mix64(h);
}

/* The address bytes the tables key on: family, port, address. */
static size_t addr_key(const struct sockaddr_storage *a, uint8_t out[20])
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        out[0] = 4;
        memcpy(out + 1, &in->sin_port, 2);
        memcpy(out + 3, &in->sin_addr, 4);
        return 7;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
    out[0] = 6;
    memcpy(out + 1, &in6->sin6_port, 2);
    memcpy(out + 3, &in6->sin6_addr, 16);
    return 19;
}

bool eim_dtls_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    uint8_t ka[20], kb[20];
    size_t la = addr_key(a, ka), lb = addr_key(b, kb);
    return la == lb && memcmp(ka, kb, la) == 0;
}

static size_t cid_slot(const eim_dtls_server_t *server, const uint8_t *cid)
{
    return (size_t)eim_dtls_hash_bytes(server->hash_seed, cid, EIM_DTLS_CID_SIZE) &
           (server->cid_buckets - 1);
}

static size_t addr_slot(const eim_dtls_server_t *server, const struct sockaddr_storage *a)
{
    uint8_t k[20];
    size_t n = addr_key(a, k);
    return (size_t)eim_dtls_hash_bytes(server->hash_seed, k, n) & (server->addr_buckets - 1);
}

/* The chain link of s in the CID table (by_cid) or the address table. */
static eim_dtls_session_t **chain_next(eim_dtls_session_t *s, bool by_cid)
{
    return by_cid ? &s->cid_next : &s->addr_next;
}

/* Doubles the CID table (by_cid) or the address table and rehashes it. */
static void table_grow(eim_dtls_server_t *server, bool by_cid)
{
    eim_dtls_session_t ***table = by_cid ? &server->by_cid : &server->by_addr;
    size_t *buckets = by_cid ? &server->cid_buckets : &server->addr_buckets;
    size_t old = *buckets;
    eim_dtls_session_t **old_table = *table;
    *buckets = old * 2;
    *table = eim_calloc(*buckets, sizeof(**table));
    for (size_t i = 0; i < old; i++) {
        for (eim_dtls_session_t *s = old_table[i], *next; s; s = next) {
            next = *chain_next(s, by_cid);
            size_t slot = by_cid ? cid_slot(server, s->key) : addr_slot(server, &s->peer);
            *chain_next(s, by_cid) = (*table)[slot];
            (*table)[slot] = s;
        }
    }
    free(old_table);
}

eim_dtls_session_t *eim_dtls_cid_find(const eim_dtls_server_t *server, const uint8_t *cid)
{
    for (eim_dtls_session_t *s = server->by_cid[cid_slot(server, cid)]; s; s = s->cid_next)
        if (memcmp(s->key, cid, EIM_DTLS_CID_SIZE) == 0)
            return s;
    return NULL;
}

void eim_dtls_cid_insert(eim_dtls_server_t *server, eim_dtls_session_t *s)
{
    if (server->cid_count + 1 > server->cid_buckets)
        table_grow(server, true);
    size_t slot = cid_slot(server, s->key);
    s->cid_next = server->by_cid[slot];
    server->by_cid[slot] = s;
    server->cid_count++;
}

void eim_dtls_cid_remove(eim_dtls_server_t *server, eim_dtls_session_t *s)
{
    for (eim_dtls_session_t **p = &server->by_cid[cid_slot(server, s->key)]; *p;
         p = &(*p)->cid_next) {
        if (*p == s) {
            *p = s->cid_next;
            s->cid_next = NULL;
            server->cid_count--;
            return;
        }
    }
}

eim_dtls_session_t *eim_dtls_addr_find(const eim_dtls_server_t *server,
                                       const struct sockaddr_storage *a)
{
    for (eim_dtls_session_t *s = server->by_addr[addr_slot(server, a)]; s; s = s->addr_next)
        if (eim_dtls_addr_equal(&s->peer, a))
            return s;
    return NULL;
}

void eim_dtls_addr_remove(eim_dtls_server_t *server, eim_dtls_session_t *s)
{
    if (!s->in_addr_table)
        return;
    for (eim_dtls_session_t **p = &server->by_addr[addr_slot(server, &s->peer)]; *p;
         p = &(*p)->addr_next) {
        if (*p == s) {
            *p = s->addr_next;
            s->addr_next = NULL;
            s->in_addr_table = false;
            server->addr_count--;
            return;
        }
    }
}

/* Indexes s under its current peer; a previous owner of that address (a
 * stale session whose device moved away) loses the address index. */
void eim_dtls_addr_insert(eim_dtls_server_t *server, eim_dtls_session_t *s)
{
    eim_dtls_session_t *other = eim_dtls_addr_find(server, &s->peer);
    if (other)
        eim_dtls_addr_remove(server, other);
    if (server->addr_count + 1 > server->addr_buckets)
        table_grow(server, false);
    size_t slot = addr_slot(server, &s->peer);
    s->addr_next = server->by_addr[slot];
    server->by_addr[slot] = s;
    s->in_addr_table = true;
    server->addr_count++;
}

void eim_dtls_session_set_peer(eim_dtls_session_t *s, const struct sockaddr_storage *peer)
{
    bool indexed = s->in_addr_table;
    if (indexed)
        eim_dtls_addr_remove(s->server, s);
    s->peer = *peer;
    s->peer_len = peer->ss_family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
                                             : (socklen_t)sizeof(struct sockaddr_in6);
    free(s->peer_text);
    s->peer_text = NULL;
    if (indexed)
        eim_dtls_addr_insert(s->server, s);
}
