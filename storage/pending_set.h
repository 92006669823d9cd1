/*
 * The in-memory set of EIDs that may have work queued (architecture.md:
 * "nothing-pending polls never touch the database"). A fixed-capacity open
 * addressing hash table keyed by the 16-byte EID; it never grows: when more
 * EIDs than max_entries would be needed the set reports overflow and its
 * owner answers "unknown, ask the database" until a reconciliation fits.
 *
 * Each entry carries the generation at which it was last added so a removal
 * decided from an older database read ("nothing queued") cannot drop an
 * EID that a newer NOTIFY re-added meanwhile, and a not-before time (ms,
 * loop clock) when the only queued work waits for a back-off.
 */
#ifndef EIM_STORAGE_PENDING_SET_H
#define EIM_STORAGE_PENDING_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EIM_EID_LEN 16

typedef struct eim_pending_set eim_pending_set_t;

/* max_entries >= 1; memory is allocated once (about 2 * max_entries
 * entries of 40 bytes). */
eim_pending_set_t *eim_pending_set_new(size_t max_entries);
void eim_pending_set_free(eim_pending_set_t *set);

/* Adds or refreshes eid with generation gen (and clears its not-before).
 * Returns false, changing nothing, when the set is full. */
bool eim_pending_set_add(eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN], uint64_t gen);
/* True when eid is present; *gen and *not_before_ms (optional) receive its
 * entry's values. */
bool eim_pending_set_find(const eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN],
                          uint64_t *gen, uint64_t *not_before_ms);
/* Sets the not-before time of a present eid. */
void eim_pending_set_defer(eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN],
                           uint64_t not_before_ms);
/* Removes eid if present and its generation is <= gen. Returns whether it
 * was removed. */
bool eim_pending_set_remove(eim_pending_set_t *set, const uint8_t eid[EIM_EID_LEN], uint64_t gen);
/* Copies into dst every entry of src whose generation is > gen (entries
 * added after a reconciliation query was sent). False when dst is full. */
bool eim_pending_set_merge_newer(eim_pending_set_t *dst, const eim_pending_set_t *src,
                                 uint64_t gen);
size_t eim_pending_set_count(const eim_pending_set_t *set);
size_t eim_pending_set_capacity(const eim_pending_set_t *set);

/* Parses 32 hex digits (either case) into 16 bytes. */
bool eim_eid_parse(const char *hex, uint8_t eid[EIM_EID_LEN]);
/* Writes 32 uppercase hex digits and a NUL (33 bytes). */
void eim_eid_format(const uint8_t eid[EIM_EID_LEN], char out[2 * EIM_EID_LEN + 1]);

#endif
