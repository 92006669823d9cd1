/*
 * Last-seen write-behind buffer: when, over which transport, from which
 * address and in which rPLMN each eUICC was last heard of (brief §8.2
 * "device-level state: last poll time, rPLMN", issue 4 "last seen time,
 * transport and address, rPLMN"; SGP.32 v1.2 §5.14.5 GetEimPackage rPLMN).
 *
 * A poll must not touch PostgreSQL (brief §2.2 / architecture "the path of
 * one poll"), so eim_device_seen_note only writes into a bounded in-memory
 * table that coalesces per EID (the latest sighting wins). A libuv timer
 * flushes the table with ONE bulk UPDATE (unnest of arrays) per interval.
 * When the table is full, sightings of EIDs not yet in it are dropped and
 * counted (eimd_device_seen_dropped_total); a failed flush drops its rows
 * and counts them too: last-seen data is advisory, losing some under
 * overload is the price of never slowing the poll path.
 */
#ifndef EIM_STORAGE_DEVICE_SEEN_H
#define EIM_STORAGE_DEVICE_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "proto/base/metrics.h"
#include "storage/pending_set.h"
#include "storage/pg_pool.h"

#define EIM_DEVICE_SEEN_ADDRESS_MAX  63 /* bytes of peer address text kept */
#define EIM_DEVICE_SEEN_RPLMN_LEN    3  /* MCC/MNC as in GetEimPackageRequest (SGP.32) */
#define EIM_DEVICE_SEEN_MAX_CAPACITY (1u << 20)

typedef struct eim_device_seen eim_device_seen_t;

typedef struct {
    uv_loop_t *loop;
    eim_pg_pool_t *pool;
    eim_metrics_t *metrics; /* optional */
    size_t capacity;        /* distinct EIDs buffered; default 65536, max 2^20 */
    int flush_interval_ms;  /* 0: default 5000; negative: no timer (explicit flushes) */
} eim_device_seen_options_t;

eim_device_seen_t *eim_device_seen_start(const eim_device_seen_options_t *options);

/* Records a sighting in memory (never touches PostgreSQL; the EID and
 * rPLMN are formatted only when the table is flushed). eid: the 16 bytes;
 * transport "https" or "coaps"; address: peer text (truncated); rplmn: 3
 * bytes or NULL (keeps the stored one). Returns false when the sighting was
 * dropped (invalid input or table full). */
bool eim_device_seen_note(eim_device_seen_t *seen, const uint8_t eid[EIM_EID_LEN],
                          const char *transport, const char *address, const uint8_t *rplmn);

/* Flushes now (one UPDATE); done (optional) gets the rows written. A flush
 * already running makes this a no-op reporting 0. */
void eim_device_seen_flush(eim_device_seen_t *seen,
                           void (*done)(eim_err_t err, size_t rows, void *ctx), void *ctx);

size_t eim_device_seen_buffered(const eim_device_seen_t *seen);
uint64_t eim_device_seen_dropped(const eim_device_seen_t *seen);

/* Stops the timer, flushes what is buffered, frees everything once that
 * flush completed, then calls closed(ctx). */
void eim_device_seen_close(eim_device_seen_t *seen, void (*closed)(void *ctx), void *ctx);

#endif
