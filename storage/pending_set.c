/*
 * Pending-EID set: linear probing over a power-of-two table kept at most
 * half full, with backward-shift deletion (no tombstones, so lookups stay
 * short however many adds and removes happen). See pending_set.h.
 */
#include "storage/pending_set.h"

#include <stdlib.h>
#include <string.h>

#include "proto/base/memory.h"

typedef struct {
    uint8_t eid[EIM_EID_LEN];
    uint64_t gen;
    uint64_t not_before_ms;
    bool used;
} entry_t;

struct eim_pending_set {
    entry_t *slots;
    size_t mask;
    size_t count;
    size_t max_entries;
};

static uint64_t hash_eid(const uint8_t eid[EIM_EID_LEN])
{
    /* EIDs end in check digits and serial numbers: mix all 16 bytes */
    uint64_t a, b;
    memcpy(&a, eid, 8);
    memcpy(&b, eid + 8, 8);
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return h;
}

eim_pending_set_t *eim_pending_set_new(size_t max_entries)
{
    if (max_entries < 1)
        max_entries = 1;
    size_t cap = 8;
    while (cap < 2 * max_entries)
        cap *= 2;
    eim_pending_set_t *set = EIM_NEW(eim_pending_set_t);
    set->slots = eim_calloc(cap, sizeof(entry_t));
    set->mask = cap - 1;
    set->max_entries = max_entries;
    return set;
}

void eim_pending_set_free(eim_pending_set_t *set)
{
    if (!set)
        return;
    free(set->slots);
    free(set);
}

static size_t slot_of(const eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN], bool *found)
{
    size_t i = (size_t)hash_eid(eid) & set->mask;
    while (set->slots[i].used) {
        if (memcmp(set->slots[i].eid, eid, EIM_EID_LEN) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & set->mask;
    }
    *found = false;
    return i;
}

bool eim_pending_set_add(eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN], uint64_t gen)
{
    bool found;
    size_t i = slot_of(set, eid, &found);
    if (!found) {
        if (set->count >= set->max_entries)
            return false;
        memcpy(set->slots[i].eid, eid, EIM_EID_LEN);
        set->slots[i].used = true;
        set->count++;
    }
    if (gen > set->slots[i].gen || !found)
        set->slots[i].gen = gen;
    set->slots[i].not_before_ms = 0;
    return true;
}

bool eim_pending_set_find(const eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN],
                          uint64_t *gen, uint64_t *not_before_ms)
{
    bool found;
    size_t i = slot_of(set, eid, &found);
    if (found) {
        if (gen)
            *gen = set->slots[i].gen;
        if (not_before_ms)
            *not_before_ms = set->slots[i].not_before_ms;
    }
    return found;
}

void eim_pending_set_defer(eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN],
                           uint64_t not_before_ms)
{
    bool found;
    size_t i = slot_of(set, eid, &found);
    if (found)
        set->slots[i].not_before_ms = not_before_ms;
}

bool eim_pending_set_remove(eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN], uint64_t gen)
{
    bool found;
    size_t i = slot_of(set, eid, &found);
    if (!found || set->slots[i].gen > gen)
        return false;
    /* backward-shift: pull later members of the probe run into the hole */
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & set->mask;
        if (!set->slots[j].used)
            break;
        size_t home = (size_t)hash_eid(set->slots[j].eid) & set->mask;
        /* j may move to hole when home is not cyclically within (hole, j] */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            set->slots[hole] = set->slots[j];
            hole = j;
        }
    }
    memset(&set->slots[hole], 0, sizeof(entry_t));
    set->count--;
    return true;
}

bool eim_pending_set_merge_newer(eim_pending_set_t *dst, const eim_pending_set_t *src, uint64_t gen)
{
    for (size_t i = 0; i <= src->mask; i++) {
        const entry_t *e = &src->slots[i];
        if (e->used && e->gen > gen && !eim_pending_set_add(dst, e->eid, e->gen))
            return false;
    }
    return true;
}

size_t eim_pending_set_count(const eim_pending_set_t *set)
{
    return set->count;
}

size_t eim_pending_set_capacity(const eim_pending_set_t *set)
{
    return set->max_entries;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool eim_eid_parse(const char *hex, uint8_t eid[EIM_EID_LEN])
{
    if (!hex)
        return false;
    for (int i = 0; i < EIM_EID_LEN; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        eid[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * EIM_EID_LEN] == '\0';
}

void eim_eid_format(const uint8_t eid[EIM_EID_LEN], char out[2 * EIM_EID_LEN + 1])
{
    static const char digits[] = "0123456789ABCDEF";
    for (int i = 0; i < EIM_EID_LEN; i++) {
        out[2 * i] = digits[eid[i] >> 4];
        out[2 * i + 1] = digits[eid[i] & 15];
    }
    out[2 * EIM_EID_LEN] = '\0';
}
