/*
 * Bounded LRU cache of verified eUICC keys (key_cache.h). A chained hash
 * table over a preallocated entry array plus an intrusive doubly linked LRU
 * list: O(1) get/put/evict, no allocation after creation. SGP.32 v1.2
 * §2.11.1.2; brief §3.2, §5.
 */
#include "proto/crypto/key_cache.h"

#include <stdlib.h>
#include <string.h>

#include "proto/base/memory.h"

#define NIL UINT32_MAX

typedef struct {
    eim_euicc_key_t key;
    uint32_t hnext;      /* next in bucket chain */
    uint32_t prev, next; /* LRU list (head = most recent) */
    bool used;
} entry_t;

struct eim_key_cache {
    entry_t *entries;
    uint32_t *buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t capacity;
    uint32_t size;
    uint32_t head, tail; /* LRU ends */
    uint32_t free_head;  /* free list threaded through hnext */
    eim_key_cache_stats_t stats;
};

/* FNV-1a over the 32 EID characters. */
static uint32_t hash_eid(const char *eid)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < EIM_EID_DIGITS; i++)
        h = (h ^ (uint8_t)eid[i]) * 16777619u;
    return h;
}

eim_err_t eim_key_cache_new(size_t capacity, eim_key_cache_t **out)
{
    eim_key_cache_t *c;
    if (!out || capacity == 0 || capacity > EIM_KEY_CACHE_MAX_CAPACITY)
        return EIM_ERR_INVALID_ARG;
    c = EIM_NEW(eim_key_cache_t);
    c->capacity = (uint32_t)capacity;
    c->nbuckets = 1;
    while (c->nbuckets < c->capacity)
        c->nbuckets <<= 1;
    c->entries = eim_calloc(capacity, sizeof(entry_t));
    c->buckets = eim_malloc(c->nbuckets * sizeof(uint32_t));
    eim_key_cache_clear(c);
    *out = c;
    return EIM_OK;
}

void eim_key_cache_free(eim_key_cache_t *cache)
{
    if (!cache)
        return;
    free(cache->entries);
    free(cache->buckets);
    free(cache);
}

void eim_key_cache_clear(eim_key_cache_t *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->nbuckets; i++)
        c->buckets[i] = NIL;
    for (uint32_t i = 0; i < c->capacity; i++) {
        c->entries[i].used = false;
        c->entries[i].hnext = i + 1 < c->capacity ? i + 1 : NIL;
    }
    c->free_head = 0;
    c->head = c->tail = NIL;
    c->size = 0;
}

static void lru_unlink(eim_key_cache_t *c, uint32_t i)
{
    entry_t *e = &c->entries[i];
    if (e->prev != NIL)
        c->entries[e->prev].next = e->next;
    else
        c->head = e->next;
    if (e->next != NIL)
        c->entries[e->next].prev = e->prev;
    else
        c->tail = e->prev;
}

static void lru_push_front(eim_key_cache_t *c, uint32_t i)
{
    entry_t *e = &c->entries[i];
    e->prev = NIL;
    e->next = c->head;
    if (c->head != NIL)
        c->entries[c->head].prev = i;
    c->head = i;
    if (c->tail == NIL)
        c->tail = i;
}

static uint32_t find(const eim_key_cache_t *c, const char *eid, uint32_t **link)
{
    uint32_t *p = &c->buckets[hash_eid(eid) & (c->nbuckets - 1)];
    while (*p != NIL) {
        if (memcmp(c->entries[*p].key.eid, eid, EIM_EID_DIGITS) == 0) {
            if (link)
                *link = p;
            return *p;
        }
        p = &c->entries[*p].hnext;
    }
    return NIL;
}

static void drop(eim_key_cache_t *c, uint32_t i)
{
    uint32_t *link = NULL;
    entry_t *e = &c->entries[i];
    find(c, e->key.eid, &link);
    *link = e->hnext;
    lru_unlink(c, i);
    memset(&e->key, 0, sizeof(e->key));
    e->used = false;
    e->hnext = c->free_head;
    c->free_head = i;
    c->size--;
}

eim_err_t eim_key_cache_put(eim_key_cache_t *c, const eim_euicc_key_t *key)
{
    uint32_t i, b;
    char eid[EIM_EID_DIGITS + 1];

    if (!c || !key)
        return EIM_ERR_INVALID_ARG;
    if (eim_eid_to_text(eim_span(key->eid, EIM_EID_DIGITS), eid) != EIM_OK)
        return EIM_ERR_INVALID_ARG;
    i = find(c, eid, NULL);
    if (i != NIL) { /* replace in place */
        c->entries[i].key = *key;
        memcpy(c->entries[i].key.eid, eid, sizeof(eid));
        lru_unlink(c, i);
        lru_push_front(c, i);
        c->stats.inserts++;
        return EIM_OK;
    }
    if (c->free_head == NIL) {
        drop(c, c->tail);
        c->stats.evictions++;
    }
    i = c->free_head;
    c->free_head = c->entries[i].hnext;
    c->entries[i].key = *key;
    memcpy(c->entries[i].key.eid, eid, sizeof(eid));
    c->entries[i].used = true;
    b = hash_eid(eid) & (c->nbuckets - 1);
    c->entries[i].hnext = c->buckets[b];
    c->buckets[b] = i;
    lru_push_front(c, i);
    c->size++;
    c->stats.inserts++;
    return EIM_OK;
}

eim_err_t eim_key_cache_get(eim_key_cache_t *c, eim_span_t eid, int64_t now, eim_euicc_key_t *out)
{
    char text[EIM_EID_DIGITS + 1];
    uint32_t i;

    if (!c || !out || eim_eid_to_text(eid, text) != EIM_OK)
        return EIM_ERR_INVALID_ARG;
    i = find(c, text, NULL);
    if (i == NIL) {
        c->stats.misses++;
        return EIM_ERR_NOT_FOUND;
    }
    if (now > c->entries[i].key.valid_until) {
        drop(c, i);
        c->stats.expired++;
        c->stats.misses++;
        return EIM_ERR_NOT_FOUND;
    }
    lru_unlink(c, i);
    lru_push_front(c, i);
    *out = c->entries[i].key;
    c->stats.hits++;
    return EIM_OK;
}

void eim_key_cache_remove(eim_key_cache_t *c, eim_span_t eid)
{
    char text[EIM_EID_DIGITS + 1];
    uint32_t i;
    if (!c || eim_eid_to_text(eid, text) != EIM_OK)
        return;
    i = find(c, text, NULL);
    if (i != NIL)
        drop(c, i);
}

void eim_key_cache_stats(const eim_key_cache_t *c, eim_key_cache_stats_t *out)
{
    if (!c || !out)
        return;
    *out = c->stats;
    out->size = c->size;
    out->capacity = c->capacity;
}
