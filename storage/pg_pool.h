/*
 * A small pool of non-blocking PostgreSQL connections driven by the libuv
 * loop (libpq's asynchronous API: PQconnectStart/PQconnectPoll, then
 * PQsendQueryParams/PQconsumeInput/PQgetResult, with a uv_poll_t on
 * PQsocket). Nothing here ever blocks the loop.
 *
 * Each connection runs one query at a time; queries wait in a bounded FIFO
 * for a free connection. A connection that breaks fails its query with
 * EIM_ERR_DB_UNAVAILABLE and is re-established with exponential back-off
 * (reconnect_min_ms doubling up to reconnect_max_ms). While no connection
 * is up, new queries fail at once with EIM_ERR_DB_UNAVAILABLE, so callers
 * can answer "retry later" instead of piling up.
 *
 * A periodic health probe reads the schema version (max(version) of
 * schema_migrations); eim_pg_pool_ready() is true only when the last probe
 * succeeded and the schema is at least the version this build expects.
 *
 * LISTEN: channels registered with eim_pg_pool_listen are listened to on
 * connection 0, which re-issues LISTEN before any other query after every
 * (re)connect and then calls the listener's ready callback, so the caller
 * can reconcile whatever it may have missed while the connection was down.
 */
#ifndef EIM_STORAGE_PG_POOL_H
#define EIM_STORAGE_PG_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>
#include <uv.h>

#include "proto/base/error.h"
#include "proto/base/metrics.h"

typedef struct eim_pg_pool eim_pg_pool_t;

typedef struct {
    const char *dsn;
    int size;
    int connect_timeout_ms;
    int reconnect_min_ms;
    int reconnect_max_ms;
    int health_interval_ms;
    int max_queued; /* queries waiting for a connection; beyond: EIM_ERR_BUSY */
    int expected_schema_version;
    eim_metrics_t *metrics; /* optional: pool metrics are registered here */
} eim_pg_pool_options_t;

/*
 * Result callback. On success err is EIM_OK and result is the query's
 * PGresult (PGRES_COMMAND_OK or PGRES_TUPLES_OK), owned by the pool and
 * cleared after the callback returns. On failure result may still carry the
 * server's error (EIM_ERR_DB) or be NULL (EIM_ERR_DB_UNAVAILABLE, EIM_ERR_BUSY,
 * or the pool closing).
 */
typedef void (*eim_pg_result_cb)(eim_err_t err, const PGresult *result, void *ctx);

/* Creates the pool and starts connecting. dsn is copied. */
eim_pg_pool_t *eim_pg_pool_start(uv_loop_t *loop, const eim_pg_pool_options_t *options);

/* Queues a one-statement query with text parameters (copied). cb is called
 * exactly once, never from inside this call. */
void eim_pg_query(eim_pg_pool_t *pool, const char *sql, int param_count, const char *const *params,
                  eim_pg_result_cb cb, void *ctx);

bool eim_pg_pool_ready(const eim_pg_pool_t *pool);
/* Why the pool is not ready, or "ready"; a static string. */
const char *eim_pg_pool_status(const eim_pg_pool_t *pool);
/* Schema version seen by the last successful probe; -1 before that. */
int eim_pg_pool_schema_version(const eim_pg_pool_t *pool);
size_t eim_pg_pool_in_flight(const eim_pg_pool_t *pool);

/* Called for each NOTIFY on a registered channel; payload may be "". */
typedef void (*eim_pg_notify_cb)(const char *channel, const char *payload, void *ctx);
/* Called with up=true each time LISTEN has been (re-)established on a fresh
 * connection, and with up=false when that connection is lost (notifications
 * may be missed until the next up=true). */
typedef void (*eim_pg_listen_ready_cb)(bool up, void *ctx);

#define EIM_PG_MAX_LISTENERS 4

/* Registers a listener for channel (lowercase letters, digits, '_', at most
 * 63 characters; copied). EIM_ERR_INVALID_ARG for another name, EIM_ERR_LIMIT
 * beyond EIM_PG_MAX_LISTENERS. ready may be NULL. */
eim_err_t eim_pg_pool_listen(eim_pg_pool_t *pool, const char *channel, eim_pg_notify_cb cb,
                             eim_pg_listen_ready_cb ready, void *ctx);

/* Removes the listener registered with this channel and ctx (a no-op when
 * there is none): its callbacks are not called any more. Not from inside
 * one of the pool's callbacks for that listener. */
void eim_pg_pool_unlisten(eim_pg_pool_t *pool, const char *channel, void *ctx);

/* Fails queued queries, closes every connection and frees the pool once
 * libuv has released its handles; then calls closed(ctx) if given. */
void eim_pg_pool_close(eim_pg_pool_t *pool, void (*closed)(void *ctx), void *ctx);

#endif
