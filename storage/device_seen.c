/*
 * Last-seen write-behind buffer (see device_seen.h; brief §8.2 device-level
 * state). A dense entry array plus an open-addressing index keyed by EID;
 * a flush serialises the entries into five text arrays for one
 * UPDATE ... FROM unnest(...) statement and clears the table.
 */
#include "storage/device_seen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"

typedef struct {
    uint8_t eid[EIM_EID_LEN];
    uint8_t rplmn[EIM_DEVICE_SEEN_RPLMN_LEN];
    bool has_rplmn; /* false: unknown, the stored one stays */
    char transport[6];
    char address[EIM_DEVICE_SEEN_ADDRESS_MAX + 1];
    double seen_at; /* seconds since the epoch */
} seen_entry_t;

struct eim_device_seen {
    eim_device_seen_options_t options;
    uv_timer_t timer;
    seen_entry_t *entries;
    size_t count;
    int32_t *index; /* entry number or -1 */
    size_t index_mask;
    bool flushing;
    bool closing;
    uint64_t dropped;
    void (*closed)(void *ctx);
    void *closed_ctx;
    eim_counter_t *m_dropped, *m_flushed, *m_flush_errors;
};

typedef struct {
    eim_device_seen_t *seen;
    size_t rows;
    bool noop; /* answered without writing (empty table or a flush running) */
    void (*done)(eim_err_t err, size_t rows, void *ctx);
    void *ctx;
} flush_req_t;

static uint64_t eid_hash(const uint8_t eid[EIM_EID_LEN])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < EIM_EID_LEN; i++)
        h = (h ^ eid[i]) * 1099511628211ull;
    return h;
}

static void on_timer(uv_timer_t *timer)
{
    eim_device_seen_t *seen = timer->data;
    if (seen->count > 0)
        eim_device_seen_flush(seen, NULL, NULL);
}

eim_device_seen_t *eim_device_seen_start(const eim_device_seen_options_t *options)
{
    eim_device_seen_t *seen = EIM_NEW(eim_device_seen_t);
    seen->options = *options;
    if (seen->options.capacity == 0)
        seen->options.capacity = 65536;
    if (seen->options.capacity > EIM_DEVICE_SEEN_MAX_CAPACITY)
        seen->options.capacity = EIM_DEVICE_SEEN_MAX_CAPACITY;
    if (seen->options.flush_interval_ms == 0)
        seen->options.flush_interval_ms = 5000;
    size_t slots = 16;
    while (slots < 2 * seen->options.capacity)
        slots <<= 1;
    seen->entries = eim_calloc(seen->options.capacity, sizeof(seen_entry_t));
    seen->index = eim_malloc(slots * sizeof(int32_t));
    memset(seen->index, 0xFF, slots * sizeof(int32_t));
    seen->index_mask = slots - 1;
    static eim_metrics_t *scratch;
    eim_metrics_t *m = options->metrics;
    if (!m) {
        if (!scratch)
            scratch = eim_metrics_new();
        m = scratch;
    }
    seen->m_dropped = eim_metrics_counter(m, "eimd_device_seen_dropped_total",
                                          "Last-seen updates dropped (buffer full or flush "
                                          "failed).",
                                          NULL);
    seen->m_flushed = eim_metrics_counter(m, "eimd_device_seen_flushed_total",
                                          "Last-seen rows written by bulk flushes.", NULL);
    seen->m_flush_errors = eim_metrics_counter(m, "eimd_device_seen_flush_errors_total",
                                               "Bulk last-seen flushes that failed.", NULL);
    uv_timer_init(options->loop, &seen->timer);
    seen->timer.data = seen;
    if (seen->options.flush_interval_ms > 0)
        uv_timer_start(&seen->timer, on_timer, (uint64_t)seen->options.flush_interval_ms,
                       (uint64_t)seen->options.flush_interval_ms);
    return seen;
}

bool eim_device_seen_note(eim_device_seen_t *seen, const uint8_t eid[EIM_EID_LEN],
                          const char *transport, const char *address, const uint8_t *rplmn)
{
    if (!seen || seen->closing || !eid || !transport ||
        (strcmp(transport, "https") != 0 && strcmp(transport, "coaps") != 0))
        return false;
    size_t slot = (size_t)eid_hash(eid) & seen->index_mask;
    seen_entry_t *e = NULL;
    while (seen->index[slot] >= 0) {
        seen_entry_t *c = &seen->entries[seen->index[slot]];
        if (memcmp(c->eid, eid, EIM_EID_LEN) == 0) {
            e = c;
            break;
        }
        slot = (slot + 1) & seen->index_mask;
    }
    if (!e) {
        if (seen->count == seen->options.capacity) {
            seen->dropped++;
            eim_counter_inc(seen->m_dropped);
            return false;
        }
        seen->index[slot] = (int32_t)seen->count;
        e = &seen->entries[seen->count++];
        memcpy(e->eid, eid, EIM_EID_LEN);
        e->has_rplmn = false;
    }
    eim_strlcpy(e->transport, transport, sizeof(e->transport));
    eim_strlcpy(e->address, address ? address : "", sizeof(e->address));
    if (rplmn) {
        memcpy(e->rplmn, rplmn, EIM_DEVICE_SEEN_RPLMN_LEN);
        e->has_rplmn = true;
    }
    uv_timeval64_t now;
    uv_gettimeofday(&now);
    e->seen_at = (double)now.tv_sec + (double)now.tv_usec / 1e6;
    return true;
}

/* Appends one quoted array element (escaping " and \) or NULL. */
static void array_elem(eim_buf_t *b, const char *value, bool first)
{
    if (!first)
        eim_buf_append_byte(b, ',');
    if (!value) {
        eim_buf_append_str(b, "NULL");
        return;
    }
    eim_buf_append_byte(b, '"');
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            eim_buf_append_byte(b, '\\');
        eim_buf_append_byte(b, (uint8_t)*p);
    }
    eim_buf_append_byte(b, '"');
}

static void maybe_finish_close(eim_device_seen_t *seen);

static void on_flushed(eim_err_t err, const PGresult *res, void *ctx)
{
    flush_req_t *f = ctx;
    eim_device_seen_t *seen = f->seen;
    size_t rows = 0;
    if (!err && res)
        rows = (size_t)strtoull(PQcmdTuples((PGresult *)res), NULL, 10);
    if (err && !f->noop) {
        seen->dropped += f->rows;
        eim_counter_add(seen->m_dropped, f->rows);
        eim_counter_inc(seen->m_flush_errors);
        eim_log_warn("last-seen flush failed", "error", eim_strerror(err), "detail",
                     res ? PQresultErrorMessage(res) : "");
    } else if (!err) {
        eim_counter_add(seen->m_flushed, rows);
    }
    if (!f->noop)
        seen->flushing = false;
    if (f->done)
        f->done(err, rows, f->ctx);
    free(f);
    maybe_finish_close(seen);
}

void eim_device_seen_flush(eim_device_seen_t *seen,
                           void (*done)(eim_err_t err, size_t rows, void *ctx), void *ctx)
{
    flush_req_t *f = EIM_NEW(flush_req_t);
    f->seen = seen;
    f->done = done;
    f->ctx = ctx;
    if (seen->flushing || seen->count == 0) {
        /* Nothing to write now; the caller still gets its callback later
         * (never from inside this call), behind the flush in progress. */
        f->noop = true;
        eim_pg_query(seen->options.pool, "SELECT 1 WHERE false", 0, NULL, on_flushed, f);
        return;
    }
    eim_buf_t a[5];
    for (int i = 0; i < 5; i++) {
        eim_buf_init(&a[i], 128 + seen->count * (EIM_DEVICE_SEEN_ADDRESS_MAX * 2 + 8));
        eim_buf_append_byte(&a[i], '{');
    }
    for (size_t i = 0; i < seen->count; i++) {
        seen_entry_t *e = &seen->entries[i];
        char t[32], eid[2 * EIM_EID_LEN + 1], rplmn[2 * EIM_DEVICE_SEEN_RPLMN_LEN + 1];
        snprintf(t, sizeof(t), "%.6f", e->seen_at);
        eim_eid_format(e->eid, eid);
        snprintf(rplmn, sizeof(rplmn), "%02X%02X%02X", e->rplmn[0], e->rplmn[1], e->rplmn[2]);
        array_elem(&a[0], eid, i == 0);
        array_elem(&a[1], e->transport, i == 0);
        array_elem(&a[2], e->address, i == 0);
        array_elem(&a[3], e->has_rplmn ? rplmn : NULL, i == 0);
        array_elem(&a[4], t, i == 0);
    }
    for (int i = 0; i < 5; i++) {
        eim_buf_append_byte(&a[i], '}');
        eim_buf_append_byte(&a[i], '\0');
    }
    f->rows = seen->count;
    seen->count = 0;
    memset(seen->index, 0xFF, (seen->index_mask + 1) * sizeof(int32_t));
    seen->flushing = true;
    const char *params[] = {(const char *)a[0].data, (const char *)a[1].data,
                            (const char *)a[2].data, (const char *)a[3].data,
                            (const char *)a[4].data};
    eim_pg_query(seen->options.pool,
                 "UPDATE euiccs e SET last_seen_at = greatest(e.last_seen_at, to_timestamp(v.t)), "
                 "transport = v.tr, address = v.a, rplmn = coalesce(v.r, e.rplmn) "
                 "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[]) "
                 "AS v(eid, tr, a, r, t) WHERE e.eid = v.eid",
                 5, params, on_flushed, f);
    for (int i = 0; i < 5; i++)
        eim_buf_free(&a[i]);
}

size_t eim_device_seen_buffered(const eim_device_seen_t *seen)
{
    return seen->count;
}

uint64_t eim_device_seen_dropped(const eim_device_seen_t *seen)
{
    return seen->dropped;
}

static void on_timer_closed(uv_handle_t *handle)
{
    eim_device_seen_t *seen = handle->data;
    void (*closed)(void *ctx) = seen->closed;
    void *ctx = seen->closed_ctx;
    free(seen->entries);
    free(seen->index);
    free(seen);
    if (closed)
        closed(ctx);
}

static void maybe_finish_close(eim_device_seen_t *seen)
{
    if (!seen->closing || seen->flushing)
        return;
    if (seen->count > 0) {
        eim_device_seen_flush(seen, NULL, NULL);
        return;
    }
    uv_close((uv_handle_t *)&seen->timer, on_timer_closed);
}

void eim_device_seen_close(eim_device_seen_t *seen, void (*closed)(void *ctx), void *ctx)
{
    seen->closing = true;
    seen->closed = closed;
    seen->closed_ctx = ctx;
    uv_timer_stop(&seen->timer);
    maybe_finish_close(seen);
}
