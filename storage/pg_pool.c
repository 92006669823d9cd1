/*
 * Non-blocking PostgreSQL connection pool on libuv. See pg_pool.h.
 *
 * Each connection is a small state machine:
 *   DOWN --timer--> CONNECTING --PQconnectPoll OK--> IDLE <--> BUSY
 *     ^                 |                              |         |
 *     +----- failure (back-off timer) -----------------+---------+
 * The uv_poll_t watching PQsocket is re-created whenever libpq changes the
 * socket (it may during connection setup) and always closed before
 * PQfinish closes the descriptor.
 */
#include "storage/pg_pool.h"

#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"

#define SCHEMA_PROBE_SQL "SELECT coalesce(max(version), 0) FROM schema_migrations"

typedef struct query {
    char *sql;
    char **params;
    int param_count;
    eim_pg_result_cb cb;
    void *ctx;
    uint64_t started_ns;
    eim_err_t fail_err; /* set when completed through fail_later */
    bool internal;      /* the pool's own health probe: not "in flight" work */
    bool simple;        /* simple query protocol (several statements, no parameters) */
    struct query *next;
} query_t;

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY } conn_state_t;

typedef struct pg_conn {
    eim_pg_pool_t *pool;
    int index;
    PGconn *pg;
    conn_state_t state;
    uv_poll_t *poll; /* NULL when not watching */
    int poll_fd;
    int poll_events;
    uv_timer_t timer; /* connect timeout, or reconnect back-off */
    int backoff_ms;
    query_t *query;
    PGresult *result;
    bool listen_pending; /* connection 0: LISTEN must run before other work */
} pg_conn_t;

typedef struct {
    char channel[64];
    eim_pg_notify_cb cb;
    eim_pg_listen_ready_cb ready;
    void *ctx;
} listener_t;

struct eim_pg_pool {
    uv_loop_t *loop;
    eim_pg_pool_options_t options;
    char *dsn;
    pg_conn_t *conns;
    query_t *queue_head, *queue_tail;
    int queued;
    query_t *failed_head, *failed_tail; /* completed off-stack by defer_timer */
    uv_timer_t defer_timer;
    uv_timer_t health_timer;
    int open_handles;
    bool closing;
    void (*closed)(void *ctx);
    void *closed_ctx;
    bool probe_ok;
    bool probe_in_flight;
    int schema_version;
    const char *status;
    size_t in_flight;
    listener_t listeners[EIM_PG_MAX_LISTENERS];
    int listener_count;
    eim_metrics_t *own_metrics; /* when the caller gave no registry */
    eim_counter_t *m_queries, *m_errors, *m_reconnects, *m_notifications;
    eim_histogram_t *m_latency;
};

static void conn_connect(pg_conn_t *conn);
static void conn_fail(pg_conn_t *conn, const char *why);
static void dispatch(eim_pg_pool_t *pool);
static void on_poll(uv_poll_t *handle, int status, int events);
static void on_health_timer(uv_timer_t *timer);

static int conns_up(const eim_pg_pool_t *pool)
{
    int n = 0;
    for (int i = 0; i < pool->options.size; i++)
        if (pool->conns[i].state == CONN_IDLE || pool->conns[i].state == CONN_BUSY)
            n++;
    return n;
}

static double gauge_conns_up(void *ctx)
{
    return conns_up(ctx);
}

static double gauge_ready(void *ctx)
{
    return eim_pg_pool_ready(ctx) ? 1 : 0;
}

static void query_free(query_t *q)
{
    for (int i = 0; i < q->param_count; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q);
}

static void query_complete(eim_pg_pool_t *pool, query_t *q, eim_err_t err, const PGresult *res)
{
    if (!q->internal)
        pool->in_flight--;
    eim_counter_inc(pool->m_queries);
    if (err)
        eim_counter_inc(pool->m_errors);
    if (q->started_ns)
        eim_histogram_observe(pool->m_latency, (double)(uv_hrtime() - q->started_ns) / 1e9);
    q->cb(err, res, q->ctx);
    query_free(q);
}

/* --- deferred failures: callbacks never run inside eim_pg_query --------- */

static void on_defer(uv_timer_t *timer)
{
    eim_pg_pool_t *pool = timer->data;
    query_t *q = pool->failed_head;
    pool->failed_head = pool->failed_tail = NULL;
    while (q) {
        query_t *next = q->next;
        query_complete(pool, q, q->fail_err, NULL);
        q = next;
    }
}

static void fail_later(eim_pg_pool_t *pool, query_t *q, eim_err_t err)
{
    q->fail_err = err;
    q->next = NULL;
    if (pool->failed_tail)
        pool->failed_tail->next = q;
    else
        pool->failed_head = q;
    pool->failed_tail = q;
    if (!pool->closing)
        uv_timer_start(&pool->defer_timer, on_defer, 0, 0);
}

static void fail_queue(eim_pg_pool_t *pool)
{
    query_t *q = pool->queue_head;
    pool->queue_head = pool->queue_tail = NULL;
    pool->queued = 0;
    while (q) {
        query_t *next = q->next;
        fail_later(pool, q, EIM_ERR_DB_UNAVAILABLE);
        q = next;
    }
}

/* --- socket watching ----------------------------------------------------- */

/* Every libuv handle of the pool is counted; the pool (and the connection
 * array the handles point into) is freed when the last one has closed. */
static void release_handle(eim_pg_pool_t *pool)
{
    if (--pool->open_handles == 0 && pool->closing) {
        void (*closed)(void *) = pool->closed;
        void *ctx = pool->closed_ctx;
        free(pool->conns);
        eim_metrics_free(pool->own_metrics);
        free(pool->dsn);
        free(pool);
        if (closed)
            closed(ctx);
    }
}

static void on_pool_handle_closed(uv_handle_t *handle)
{
    release_handle(handle->data);
}

static void on_conn_handle_closed(uv_handle_t *handle)
{
    pg_conn_t *conn = handle->data;
    if (handle->type == UV_POLL)
        free(handle);
    release_handle(conn->pool);
}

static void unwatch(pg_conn_t *conn)
{
    if (!conn->poll)
        return;
    /* uv_close removes the descriptor from epoll synchronously, so the
     * caller may PQfinish right after. */
    uv_close((uv_handle_t *)conn->poll, on_conn_handle_closed);
    conn->poll = NULL;
    conn->poll_fd = -1;
}

static int watch(pg_conn_t *conn, int events)
{
    int fd = PQsocket(conn->pg);
    if (fd < 0)
        return -1;
    if (conn->poll && conn->poll_fd != fd)
        unwatch(conn);
    if (!conn->poll) {
        conn->poll = eim_malloc(sizeof(*conn->poll));
        if (uv_poll_init(conn->pool->loop, conn->poll, fd) != 0) {
            free(conn->poll);
            conn->poll = NULL;
            return -1;
        }
        conn->poll->data = conn;
        conn->pool->open_handles++;
        conn->poll_fd = fd;
        conn->poll_events = 0;
    }
    if (conn->poll_events != events || !uv_is_active((uv_handle_t *)conn->poll)) {
        if (uv_poll_start(conn->poll, events, on_poll) != 0)
            return -1;
        conn->poll_events = events;
    }
    return 0;
}

/* --- connecting ---------------------------------------------------------- */

static void on_reconnect_timer(uv_timer_t *timer)
{
    conn_connect(timer->data);
}

static void on_connect_timeout(uv_timer_t *timer)
{
    conn_fail(timer->data, "connect timeout");
}

static void connect_step(pg_conn_t *conn)
{
    PostgresPollingStatusType st = PQconnectPoll(conn->pg);
    switch (st) {
    case PGRES_POLLING_READING:
        if (watch(conn, UV_READABLE) != 0)
            conn_fail(conn, "cannot watch socket");
        return;
    case PGRES_POLLING_WRITING:
        if (watch(conn, UV_WRITABLE) != 0)
            conn_fail(conn, "cannot watch socket");
        return;
    case PGRES_POLLING_OK: {
        uv_timer_stop(&conn->timer);
        PQsetnonblocking(conn->pg, 1);
        bool was_down = conns_up(conn->pool) == 0;
        conn->state = CONN_IDLE;
        conn->backoff_ms = 0;
        conn->listen_pending = conn->index == 0 && conn->pool->listener_count > 0;
        if (watch(conn, UV_READABLE) != 0) {
            conn_fail(conn, "cannot watch socket");
            return;
        }
        if (was_down)
            eim_log_info("database connected");
        eim_pg_pool_t *pool = conn->pool;
        if (!pool->probe_ok && !pool->probe_in_flight)
            uv_timer_start(&pool->health_timer, on_health_timer, 0,
                           (uint64_t)pool->options.health_interval_ms);
        dispatch(pool);
        return;
    }
    case PGRES_POLLING_FAILED:
    default: conn_fail(conn, PQerrorMessage(conn->pg)); return;
    }
}

static void conn_connect(pg_conn_t *conn)
{
    eim_pg_pool_t *pool = conn->pool;
    if (pool->closing)
        return;
    conn->pg = PQconnectStart(pool->dsn);
    if (!conn->pg || PQstatus(conn->pg) == CONNECTION_BAD) {
        conn_fail(conn, conn->pg ? PQerrorMessage(conn->pg) : "out of memory");
        return;
    }
    conn->state = CONN_CONNECTING;
    uv_timer_start(&conn->timer, on_connect_timeout, (uint64_t)pool->options.connect_timeout_ms, 0);
    connect_step(conn);
}

static void conn_fail(pg_conn_t *conn, const char *why)
{
    eim_pg_pool_t *pool = conn->pool;
    bool was_up = conn->state == CONN_IDLE || conn->state == CONN_BUSY;
    unwatch(conn);
    if (conn->pg) {
        /* libpq messages end with a newline; keep log lines clean */
        char reason[256];
        snprintf(reason, sizeof(reason), "%s", why ? why : "");
        reason[strcspn(reason, "\n")] = '\0';
        if (was_up || conn->backoff_ms == 0)
            eim_log_warn("database connection lost", "reason", reason);
        PQfinish(conn->pg);
        conn->pg = NULL;
    }
    if (conn->result) {
        PQclear(conn->result);
        conn->result = NULL;
    }
    conn->state = CONN_DOWN;
    if (was_up && conn->index == 0)
        for (int i = 0; i < pool->listener_count; i++)
            if (pool->listeners[i].ready)
                pool->listeners[i].ready(false, pool->listeners[i].ctx);
    if (conn->query) {
        query_t *q = conn->query;
        conn->query = NULL;
        fail_later(pool, q, EIM_ERR_DB_UNAVAILABLE);
    }
    if (conns_up(pool) == 0) {
        pool->probe_ok = false;
        pool->status = "database unreachable";
        fail_queue(pool);
    }
    if (pool->closing)
        return;
    eim_counter_inc(pool->m_reconnects);
    conn->backoff_ms = conn->backoff_ms ? conn->backoff_ms * 2 : pool->options.reconnect_min_ms;
    if (conn->backoff_ms > pool->options.reconnect_max_ms)
        conn->backoff_ms = pool->options.reconnect_max_ms;
    uv_timer_start(&conn->timer, on_reconnect_timer, (uint64_t)conn->backoff_ms, 0);
}

/* --- queries ------------------------------------------------------------- */

static void finish_query(pg_conn_t *conn)
{
    query_t *q = conn->query;
    PGresult *res = conn->result;
    conn->query = NULL;
    conn->result = NULL;
    conn->state = CONN_IDLE;
    eim_err_t err = EIM_OK;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        err = EIM_ERR_DB;
    query_complete(conn->pool, q, err, res);
    if (res)
        PQclear(res);
}

static void drain_notifications(pg_conn_t *conn)
{
    eim_pg_pool_t *pool = conn->pool;
    PGnotify *n;
    while ((n = PQnotifies(conn->pg)) != NULL) {
        eim_counter_inc(pool->m_notifications);
        for (int i = 0; i < pool->listener_count; i++) {
            const listener_t *l = &pool->listeners[i];
            if (strcmp(l->channel, n->relname) == 0)
                l->cb(n->relname, n->extra ? n->extra : "", l->ctx);
        }
        PQfreemem(n);
    }
}

/* Reads whatever arrived; completes the running query when libpq has its
 * final result. */
static void conn_read(pg_conn_t *conn)
{
    if (!PQconsumeInput(conn->pg)) {
        conn_fail(conn, PQerrorMessage(conn->pg));
        return;
    }
    drain_notifications(conn);
    if (conn->state != CONN_BUSY) {
        if (PQstatus(conn->pg) == CONNECTION_BAD)
            conn_fail(conn, PQerrorMessage(conn->pg));
        return;
    }
    while (!PQisBusy(conn->pg)) {
        PGresult *res = PQgetResult(conn->pg);
        if (!res) {
            finish_query(conn);
            dispatch(conn->pool);
            return;
        }
        /* keep the first error, otherwise the last result */
        if (conn->result && PQresultStatus(conn->result) == PGRES_FATAL_ERROR) {
            PQclear(res);
        } else {
            if (conn->result)
                PQclear(conn->result);
            conn->result = res;
        }
    }
    if (PQstatus(conn->pg) == CONNECTION_BAD)
        conn_fail(conn, PQerrorMessage(conn->pg));
}

static void conn_flush(pg_conn_t *conn)
{
    int r = PQflush(conn->pg);
    if (r < 0)
        conn_fail(conn, PQerrorMessage(conn->pg));
    else if (watch(conn, r == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE) != 0)
        conn_fail(conn, "cannot watch socket");
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    pg_conn_t *conn = handle->data;
    if (status < 0) {
        conn_fail(conn, uv_strerror(status));
        return;
    }
    if (conn->state == CONN_CONNECTING) {
        connect_step(conn);
        return;
    }
    if (events & UV_WRITABLE) {
        conn_flush(conn);
        if (!conn->pg)
            return;
    }
    if (events & UV_READABLE)
        conn_read(conn);
}

static void send_query(pg_conn_t *conn, query_t *q)
{
    conn->query = q;
    conn->state = CONN_BUSY;
    q->started_ns = uv_hrtime();
    int sent = q->simple ? PQsendQuery(conn->pg, q->sql)
                         : PQsendQueryParams(conn->pg, q->sql, q->param_count, NULL,
                                             (const char *const *)q->params, NULL, NULL, 0);
    if (!sent) {
        conn_fail(conn, PQerrorMessage(conn->pg));
        return;
    }
    conn_flush(conn);
}

static void on_listen(eim_err_t err, const PGresult *res, void *ctx)
{
    eim_pg_pool_t *pool = ctx;
    (void)res;
    if (err) {
        /* the connection broke (it re-LISTENs when it is back) or SQL failed */
        eim_log_warn("LISTEN failed", "error", eim_strerror(err));
        return;
    }
    for (int i = 0; i < pool->listener_count; i++)
        if (pool->listeners[i].ready)
            pool->listeners[i].ready(true, pool->listeners[i].ctx);
}

static void send_listen(pg_conn_t *conn)
{
    eim_pg_pool_t *pool = conn->pool;
    char sql[EIM_PG_MAX_LISTENERS * 80] = "";
    size_t used = 0;
    for (int i = 0; i < pool->listener_count; i++)
        used += (size_t)snprintf(sql + used, sizeof(sql) - used, "LISTEN %s;",
                                 pool->listeners[i].channel);
    query_t *q = EIM_NEW(query_t);
    q->sql = eim_strdup(sql);
    q->params = eim_calloc(1, sizeof(char *));
    q->cb = on_listen;
    q->ctx = pool;
    q->internal = true;
    q->simple = true;
    conn->listen_pending = false;
    send_query(conn, q);
}

static void dispatch(eim_pg_pool_t *pool)
{
    if (pool->conns[0].state == CONN_IDLE && pool->conns[0].listen_pending)
        send_listen(&pool->conns[0]);
    for (int i = 0; i < pool->options.size && pool->queue_head; i++) {
        pg_conn_t *conn = &pool->conns[i];
        if (conn->state != CONN_IDLE)
            continue;
        query_t *q = pool->queue_head;
        pool->queue_head = q->next;
        if (!pool->queue_head)
            pool->queue_tail = NULL;
        pool->queued--;
        q->next = NULL;
        send_query(conn, q);
    }
}

static void submit(eim_pg_pool_t *pool, const char *sql, int param_count, const char *const *params,
                   eim_pg_result_cb cb, void *ctx, bool internal)
{
    query_t *q = EIM_NEW(query_t);
    q->sql = eim_strdup(sql);
    q->param_count = param_count;
    q->params = eim_calloc((size_t)(param_count ? param_count : 1), sizeof(char *));
    for (int i = 0; i < param_count; i++)
        q->params[i] = params[i] ? eim_strdup(params[i]) : NULL;
    q->cb = cb;
    q->ctx = ctx;
    q->internal = internal;
    if (!internal)
        pool->in_flight++;
    if (pool->closing || conns_up(pool) == 0) {
        fail_later(pool, q, EIM_ERR_DB_UNAVAILABLE);
        return;
    }
    if (pool->queued >= pool->options.max_queued) {
        fail_later(pool, q, EIM_ERR_BUSY);
        return;
    }
    if (pool->queue_tail)
        pool->queue_tail->next = q;
    else
        pool->queue_head = q;
    pool->queue_tail = q;
    pool->queued++;
    dispatch(pool);
}

void eim_pg_query(eim_pg_pool_t *pool, const char *sql, int param_count, const char *const *params,
                  eim_pg_result_cb cb, void *ctx)
{
    submit(pool, sql, param_count, params, cb, ctx, false);
}

static bool channel_valid(const char *channel)
{
    size_t n = strlen(channel);
    if (n == 0 || n > 63 || (channel[0] >= '0' && channel[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = channel[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

eim_err_t eim_pg_pool_listen(eim_pg_pool_t *pool, const char *channel, eim_pg_notify_cb cb,
                             eim_pg_listen_ready_cb ready, void *ctx)
{
    if (!pool || !channel || !cb || !channel_valid(channel))
        return EIM_ERR_INVALID_ARG;
    if (pool->listener_count >= EIM_PG_MAX_LISTENERS)
        return EIM_ERR_LIMIT;
    listener_t *l = &pool->listeners[pool->listener_count++];
    snprintf(l->channel, sizeof(l->channel), "%s", channel);
    l->cb = cb;
    l->ready = ready;
    l->ctx = ctx;
    pg_conn_t *conn0 = &pool->conns[0];
    if (conn0->state == CONN_IDLE || conn0->state == CONN_BUSY) {
        conn0->listen_pending = true;
        dispatch(pool);
    }
    return EIM_OK;
}

void eim_pg_pool_unlisten(eim_pg_pool_t *pool, const char *channel, void *ctx)
{
    for (int i = 0; i < pool->listener_count; i++) {
        listener_t *l = &pool->listeners[i];
        if (l->ctx != ctx || strcmp(l->channel, channel) != 0)
            continue;
        /* the connection keeps listening (harmless); nobody is called */
        memmove(l, l + 1, (size_t)(pool->listener_count - i - 1) * sizeof(*l));
        pool->listener_count--;
        return;
    }
}

/* --- health probe -------------------------------------------------------- */

static void on_probe(eim_err_t err, const PGresult *res, void *ctx)
{
    eim_pg_pool_t *pool = ctx;
    pool->probe_in_flight = false;
    if (err == EIM_ERR_DB && res) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "42P01") == 0) { /* undefined_table */
            pool->schema_version = 0;
            pool->probe_ok = false;
            pool->status = "schema not migrated";
            return;
        }
    }
    if (err || PQntuples(res) != 1) {
        pool->probe_ok = false;
        pool->status = err == EIM_ERR_DB ? "schema probe failed" : "database unreachable";
        return;
    }
    int version = atoi(PQgetvalue(res, 0, 0));
    if (version != pool->schema_version)
        eim_log_info("database schema version", "version", PQgetvalue(res, 0, 0));
    pool->schema_version = version;
    if (version < pool->options.expected_schema_version) {
        pool->probe_ok = false;
        pool->status = "schema outdated";
    } else {
        pool->probe_ok = true;
        pool->status = "ready";
    }
}

static void on_health_timer(uv_timer_t *timer)
{
    eim_pg_pool_t *pool = timer->data;
    if (pool->probe_in_flight || pool->closing)
        return;
    if (conns_up(pool) == 0) {
        pool->probe_ok = false;
        pool->status = "database unreachable";
        return;
    }
    pool->probe_in_flight = true;
    submit(pool, SCHEMA_PROBE_SQL, 0, NULL, on_probe, pool, true);
}

/* --- lifecycle ----------------------------------------------------------- */

eim_pg_pool_t *eim_pg_pool_start(uv_loop_t *loop, const eim_pg_pool_options_t *options)
{
    eim_pg_pool_t *pool = EIM_NEW(eim_pg_pool_t);
    pool->loop = loop;
    pool->options = *options;
    if (pool->options.size < 1)
        pool->options.size = 1;
    if (pool->options.max_queued < 1)
        pool->options.max_queued = 10000;
    pool->dsn = eim_strdup(options->dsn);
    pool->options.dsn = pool->dsn;
    pool->schema_version = -1;
    pool->status = "connecting";
    pool->conns = eim_calloc((size_t)pool->options.size, sizeof(pg_conn_t));

    /* metrics are optional for callers: without a registry the pool keeps
     * its series in one of its own, freed with the pool */
    eim_metrics_t *m = options->metrics;
    if (!m)
        m = pool->own_metrics = eim_metrics_new();
    pool->m_queries = eim_metrics_counter(m, "eimd_db_queries_total", "Queries completed.", NULL);
    pool->m_errors = eim_metrics_counter(m, "eimd_db_query_errors_total",
                                         "Queries that failed or were refused.", NULL);
    pool->m_reconnects = eim_metrics_counter(m, "eimd_db_reconnects_total",
                                             "Connection attempts after a failure.", NULL);
    pool->m_notifications =
        eim_metrics_counter(m, "eimd_db_notifications_total", "NOTIFY messages received.", NULL);
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,   0.25,   0.5,   1,    5};
    pool->m_latency = eim_metrics_histogram(m, "eimd_db_query_duration_seconds", "Query latency.",
                                            NULL, bounds, sizeof(bounds) / sizeof(bounds[0]));
    if (options->metrics) {
        eim_metrics_gauge_fn(m, "eimd_db_connections_up", "Open PostgreSQL connections.", NULL,
                             gauge_conns_up, pool);
        eim_metrics_gauge_fn(m, "eimd_db_ready",
                             "1 when the database answers and the schema is "
                             "current.",
                             NULL, gauge_ready, pool);
    }

    uv_timer_init(loop, &pool->defer_timer);
    pool->defer_timer.data = pool;
    uv_timer_init(loop, &pool->health_timer);
    pool->health_timer.data = pool;
    pool->open_handles = 2;
    uv_timer_start(&pool->health_timer, on_health_timer, (uint64_t)options->health_interval_ms,
                   (uint64_t)options->health_interval_ms);
    for (int i = 0; i < pool->options.size; i++) {
        pg_conn_t *conn = &pool->conns[i];
        conn->pool = pool;
        conn->index = i;
        conn->poll_fd = -1;
        uv_timer_init(loop, &conn->timer);
        conn->timer.data = conn;
        pool->open_handles++;
    }
    for (int i = 0; i < pool->options.size; i++)
        conn_connect(&pool->conns[i]);
    return pool;
}

bool eim_pg_pool_ready(const eim_pg_pool_t *pool)
{
    return pool->probe_ok && conns_up(pool) > 0;
}

const char *eim_pg_pool_status(const eim_pg_pool_t *pool)
{
    if (pool->probe_ok && conns_up(pool) == 0)
        return "database unreachable";
    return pool->status;
}

int eim_pg_pool_schema_version(const eim_pg_pool_t *pool)
{
    return pool->schema_version;
}

size_t eim_pg_pool_in_flight(const eim_pg_pool_t *pool)
{
    return pool->in_flight;
}

void eim_pg_pool_close(eim_pg_pool_t *pool, void (*closed)(void *ctx), void *ctx)
{
    pool->closing = true;
    pool->closed = closed;
    pool->closed_ctx = ctx;
    fail_queue(pool);
    for (int i = 0; i < pool->options.size; i++) {
        pg_conn_t *conn = &pool->conns[i];
        unwatch(conn);
        if (conn->query) {
            fail_later(pool, conn->query, EIM_ERR_DB_UNAVAILABLE);
            conn->query = NULL;
        }
        if (conn->result)
            PQclear(conn->result);
        conn->result = NULL;
        if (conn->pg)
            PQfinish(conn->pg);
        conn->pg = NULL;
        conn->state = CONN_DOWN;
        uv_close((uv_handle_t *)&conn->timer, on_conn_handle_closed);
    }
    /* complete whatever is left before the handles go */
    on_defer(&pool->defer_timer);
    uv_close((uv_handle_t *)&pool->defer_timer, on_pool_handle_closed);
    uv_close((uv_handle_t *)&pool->health_timer, on_pool_handle_closed);
}
