/*
 * The per-device operation queue: see queue.h. The SQL that changes state
 * calls the functions of migrations/0002 (eim_deliver, eim_record_result,
 * ...), each one statement and one transaction; this file reads, builds
 * packages through the caller's builder, and keeps the pending-EID set.
 */
#include "storage/queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/base/log.h"
#include "storage/pending_set.h"

#define PENDING_CHANNEL "eim_pending"

#define BATCH_MAX         64
#define BATCHES_IN_FLIGHT 2

typedef enum { BATCH_READ, BATCH_DELIVER, BATCH_RESULT, BATCH_KINDS } batch_kind_t;

typedef struct batch_item {
    struct batch_item *next;
    bool solo; /* send alone (its batch failed as a whole) */
} batch_item_t;

struct batch_list {
    batch_item_t *head, *tail;
    int in_flight;
};

struct eim_queue {
    uv_loop_t *loop;
    eim_pg_pool_t *pool;
    eim_queue_build_fn build;
    void *build_ctx;
    char *actor;
    eim_queue_options_t options;
    /* pending set */
    eim_pending_set_t *pending;
    bool listening;
    bool pending_known;
    bool reconcile_in_flight;
    bool reconcile_again;
    uint64_t gen;
    uv_timer_t reconcile_timer;
    uv_timer_t expire_timer;
    uv_timer_t batch_timer; /* flushes batches on the next loop turn */
    struct batch_list batches[BATCH_KINDS];
    int open_handles;
    int in_flight;
    bool closing;
    void (*closed)(void *ctx);
    void *closed_ctx;
    /* metrics */
    eim_counter_t *m_polls_memory, *m_polls_db, *m_delivered, *m_redelivered, *m_lost_races,
        *m_results, *m_enqueued, *m_reconciles, *m_expired;
};

/* ---- helpers ---------------------------------------------------------- */

static void maybe_closed(eim_queue_t *q)
{
    if (q->closing && q->open_handles == 0 && q->in_flight == 0) {
        void (*closed)(void *) = q->closed;
        void *ctx = q->closed_ctx;
        eim_pending_set_free(q->pending);
        free(q->actor);
        free(q);
        if (closed)
            closed(ctx);
    }
}

/* Every statement of the queue goes through here so close() can wait. */
typedef struct {
    eim_queue_t *queue;
    eim_pg_result_cb cb;
    void *ctx;
} wrap_t;

static void on_wrapped(eim_err_t err, const PGresult *res, void *ctx)
{
    wrap_t *w = ctx;
    eim_queue_t *q = w->queue;
    w->cb(err, res, w->ctx);
    free(w);
    q->in_flight--;
    maybe_closed(q);
}

static void run(eim_queue_t *q, const char *sql, int n, const char *const *params,
                eim_pg_result_cb cb, void *ctx)
{
    wrap_t *w = EIM_NEW(wrap_t);
    w->queue = q;
    w->cb = cb;
    w->ctx = ctx;
    q->in_flight++;
    eim_pg_query(q->pool, sql, n, params, on_wrapped, w);
}

/* Maps a statement failure to an eim_err_t by SQLSTATE. */
static eim_err_t db_error(eim_err_t err, const PGresult *res)
{
    if (err != EIM_ERR_DB || !res)
        return err;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!state)
        return err;
    if (strcmp(state, "23503") == 0) /* foreign key: unknown EID / eimId */
        return EIM_ERR_NOT_FOUND;
    if (strcmp(state, "23505") == 0)
        return EIM_ERR_CONFLICT;
    if (strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0)
        return EIM_ERR_INVALID_ARG;
    eim_log_warn("statement failed", "sqlstate", state, "error",
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    return err;
}

/* "\x0a1b" (bytea text output) -> bytes; returns length or -1. */
static long bytea_parse(const char *text, uint8_t *out, size_t cap)
{
    if (!text || text[0] != '\\' || text[1] != 'x')
        return -1;
    size_t n = strlen(text + 2) / 2;
    if (n > cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(text + 2 + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (long)n;
}

/* bytes -> "\x..." (heap) for a bytea text parameter. */
static char *bytea_text(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = eim_malloc(2 * len + 3);
    s[0] = '\\';
    s[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        s[2 + 2 * i] = digits[data[i] >> 4];
        s[3 + 2 * i] = digits[data[i] & 15];
    }
    s[2 * len + 2] = '\0';
    return s;
}

static bool eid_normalize(const char *in, char out[2 * EIM_EID_LEN + 1], uint8_t bin[EIM_EID_LEN])
{
    uint8_t scratch[EIM_EID_LEN];
    uint8_t *b = bin ? bin : scratch;
    if (!eim_eid_parse(in, b))
        return false;
    eim_eid_format(b, out);
    return true;
}

/* ---- pending set ------------------------------------------------------- */

static void pending_mark(eim_queue_t *q, const uint8_t eid[EIM_EID_LEN])
{
    if (!eim_pending_set_add(q->pending, eid, ++q->gen) && q->pending_known) {
        eim_log_warn("pending set full: polls ask the database until reconciled");
        q->pending_known = false;
    }
}

static void reconcile(eim_queue_t *q);

typedef struct {
    eim_queue_t *queue;
    uint64_t gen; /* generation when the query was sent */
} reconcile_t;

static void on_reconcile(eim_err_t err, const PGresult *res, void *ctx)
{
    reconcile_t *r = ctx;
    eim_queue_t *q = r->queue;
    q->reconcile_in_flight = false;
    if (err || q->closing) {
        free(r);
        return;
    }
    eim_counter_inc(q->m_reconciles);
    int rows = PQntuples(res);
    size_t max = eim_pending_set_capacity(q->pending);
    if ((size_t)rows > max) {
        eim_log_warn("pending set too small for the queued devices: polls ask the database");
        q->pending_known = false;
        free(r);
        return;
    }
    eim_pending_set_t *fresh = eim_pending_set_new(max);
    uint8_t eid[EIM_EID_LEN];
    for (int i = 0; i < rows; i++)
        if (eim_eid_parse(PQgetvalue(res, i, 0), eid))
            eim_pending_set_add(fresh, eid, r->gen);
    /* NOTIFYs that arrived while the query ran may be newer than its snapshot */
    bool fits = eim_pending_set_merge_newer(fresh, q->pending, r->gen);
    eim_pending_set_free(q->pending);
    q->pending = fresh;
    q->pending_known = fits && q->listening;
    free(r);
    if (q->reconcile_again) {
        q->reconcile_again = false;
        reconcile(q);
    }
}

static void reconcile(eim_queue_t *q)
{
    if (q->closing)
        return;
    if (q->reconcile_in_flight) {
        q->reconcile_again = true;
        return;
    }
    q->reconcile_in_flight = true;
    reconcile_t *r = EIM_NEW(reconcile_t);
    r->queue = q;
    r->gen = ++q->gen;
    char limit[32];
    snprintf(limit, sizeof(limit), "%zu", eim_pending_set_capacity(q->pending) + 1);
    const char *params[] = {limit};
    run(q,
        "SELECT DISTINCT eid FROM operations WHERE state IN ('QUEUED', 'DELIVERED') "
        "LIMIT $1::bigint",
        1, params, on_reconcile, r);
}

static void on_pending_notify(const char *channel, const char *payload, void *ctx)
{
    eim_queue_t *q = ctx;
    (void)channel;
    if (strcmp(payload, "*") == 0) {
        /* many devices at once: ask the database until reconciled */
        q->pending_known = false;
        reconcile(q);
        return;
    }
    const char *p = payload;
    while (*p) {
        char hex[2 * EIM_EID_LEN + 1];
        size_t n = strcspn(p, ",");
        uint8_t eid[EIM_EID_LEN];
        if (n == 2 * EIM_EID_LEN) {
            memcpy(hex, p, n);
            hex[n] = '\0';
            if (eim_eid_parse(hex, eid))
                pending_mark(q, eid);
        }
        p += n;
        if (*p == ',')
            p++;
    }
}

static void on_listen_state(bool up, void *ctx)
{
    eim_queue_t *q = ctx;
    q->listening = up;
    if (!up) {
        q->pending_known = false;
        return;
    }
    reconcile(q);
}

static void on_reconcile_timer(uv_timer_t *timer)
{
    eim_queue_t *q = timer->data;
    if (q->listening)
        reconcile(q);
}

static void on_expire_done(eim_err_t err, size_t count, void *ctx)
{
    (void)ctx;
    (void)count;
    (void)err;
}

static void on_expire_timer(uv_timer_t *timer)
{
    eim_queue_t *q = timer->data;
    if (eim_pg_pool_ready(q->pool))
        eim_queue_expire(q, q->options.expire_batch, on_expire_done, NULL);
}

bool eim_queue_pending_known(const eim_queue_t *queue)
{
    return queue->pending_known;
}

size_t eim_queue_pending_count(const eim_queue_t *queue)
{
    return eim_pending_set_count(queue->pending);
}

static double gauge_pending(void *ctx)
{
    return (double)eim_pending_set_count(((eim_queue_t *)ctx)->pending);
}

static void batch_flush(eim_queue_t *q);

/* ---- lifecycle --------------------------------------------------------- */

eim_queue_t *eim_queue_start(const eim_queue_options_t *options)
{
    eim_queue_t *q = EIM_NEW(eim_queue_t);
    q->options = *options;
    q->loop = options->loop;
    q->pool = options->pool;
    q->build = options->build;
    q->build_ctx = options->build_ctx;
    q->actor = eim_strdup(options->instance ? options->instance : "eimd");
    if (!q->options.pending_max)
        q->options.pending_max = 262144;
    if (q->options.reconcile_interval_ms <= 0)
        q->options.reconcile_interval_ms = 60000;
    if (q->options.expire_batch <= 0)
        q->options.expire_batch = 1000;
    if (q->options.ecall_backoff_s <= 0)
        q->options.ecall_backoff_s = 60;
    q->pending = eim_pending_set_new(q->options.pending_max);

    static eim_metrics_t *scratch;
    eim_metrics_t *m = options->metrics;
    if (!m) {
        if (!scratch)
            scratch = eim_metrics_new();
        m = scratch;
    }
    q->m_polls_memory = eim_metrics_counter(
        m, "eimd_queue_polls_total", "Polls by where they were answered.", "source=\"memory\"");
    q->m_polls_db = eim_metrics_counter(
        m, "eimd_queue_polls_total", "Polls by where they were answered.", "source=\"database\"");
    q->m_delivered = eim_metrics_counter(m, "eimd_queue_delivered_total",
                                         "Packages handed out for the first time.", NULL);
    q->m_redelivered = eim_metrics_counter(m, "eimd_queue_redelivered_total",
                                           "Stored packages handed out again.", NULL);
    q->m_lost_races =
        eim_metrics_counter(m, "eimd_queue_delivery_races_total",
                            "Deliveries another instance won (the poll started over).", NULL);
    q->m_results = eim_metrics_counter(m, "eimd_queue_results_total", "Results recorded.", NULL);
    q->m_enqueued =
        eim_metrics_counter(m, "eimd_queue_enqueued_total", "Operations created.", NULL);
    q->m_reconciles = eim_metrics_counter(m, "eimd_queue_reconciles_total",
                                          "Pending-set reloads from the database.", NULL);
    q->m_expired = eim_metrics_counter(m, "eimd_queue_expired_total", "Operations expired.", NULL);
    if (options->metrics)
        eim_metrics_gauge_fn(m, "eimd_queue_pending_devices", "EIDs in the in-memory pending set.",
                             NULL, gauge_pending, q);

    uv_timer_init(q->loop, &q->reconcile_timer);
    q->reconcile_timer.data = q;
    uv_timer_init(q->loop, &q->expire_timer);
    q->expire_timer.data = q;
    uv_timer_init(q->loop, &q->batch_timer);
    q->batch_timer.data = q;
    q->open_handles = 3;
    uv_timer_start(&q->reconcile_timer, on_reconcile_timer,
                   (uint64_t)q->options.reconcile_interval_ms,
                   (uint64_t)q->options.reconcile_interval_ms);
    if (q->options.expire_interval_ms > 0)
        uv_timer_start(&q->expire_timer, on_expire_timer, (uint64_t)q->options.expire_interval_ms,
                       (uint64_t)q->options.expire_interval_ms);
    eim_err_t err =
        eim_pg_pool_listen(q->pool, PENDING_CHANNEL, on_pending_notify, on_listen_state, q);
    if (err)
        eim_log_error("cannot listen for pending work", "error", eim_strerror(err));
    return q;
}

static void on_timer_closed(uv_handle_t *handle)
{
    eim_queue_t *q = handle->data;
    q->open_handles--;
    maybe_closed(q);
}

void eim_queue_close(eim_queue_t *queue, void (*closed)(void *ctx), void *ctx)
{
    queue->closing = true;
    queue->closed = closed;
    queue->closed_ctx = ctx;
    uv_close((uv_handle_t *)&queue->reconcile_timer, on_timer_closed);
    uv_close((uv_handle_t *)&queue->expire_timer, on_timer_closed);
    batch_flush(queue); /* whatever waits goes out now; its callbacks still run */
    uv_close((uv_handle_t *)&queue->batch_timer, on_timer_closed);
}

/* ---- enqueue ----------------------------------------------------------- */

typedef struct {
    eim_queue_t *queue;
    eim_queue_enqueue_cb cb;
    void *ctx;
    uint8_t eid[EIM_EID_LEN];
    char *params[9];
    int retries;
} enqueue_t;

static const char ENQUEUE_SQL[] =
    "WITH ins AS (INSERT INTO operations (tenant, eid, kind, parameters, priority, "
    "idempotency_key, not_before, expires_at) "
    "VALUES ($1, $2, $3, $4::jsonb, $5::int, $6, now() + make_interval(secs => $7::float8), "
    "CASE WHEN $8::float8 > 0 THEN now() + make_interval(secs => $8::float8) END) "
    "ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id, eid), "
    "aud AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, details) "
    "SELECT id, eid, NULL, 'QUEUED', $9, '{\"event\": \"enqueue\"}' FROM ins) "
    "SELECT id, true FROM ins UNION ALL "
    "SELECT id, false FROM operations WHERE tenant = $1 AND idempotency_key = $6 "
    "AND NOT EXISTS (SELECT 1 FROM ins)";

static void enqueue_free(enqueue_t *e)
{
    for (int i = 0; i < 9; i++)
        free(e->params[i]);
    free(e);
}

static void on_enqueued(eim_err_t err, const PGresult *res, void *ctx)
{
    enqueue_t *e = ctx;
    eim_queue_t *q = e->queue;
    err = db_error(err, res);
    if (!err && PQntuples(res) == 0 && e->retries++ < 2) {
        /* the same key was inserted concurrently, after our snapshot */
        run(q, ENQUEUE_SQL, 9, (const char *const *)e->params, on_enqueued, e);
        return;
    }
    if (!err && PQntuples(res) == 0)
        err = EIM_ERR_CONFLICT;
    if (err) {
        e->cb(err, NULL, false, e->ctx);
    } else {
        bool created = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        if (created) {
            eim_counter_inc(q->m_enqueued);
            pending_mark(q, e->eid);
        }
        e->cb(EIM_OK, PQgetvalue(res, 0, 0), created, e->ctx);
    }
    enqueue_free(e);
}

typedef struct {
    eim_queue_done_cb cb;
    void *ctx;
    eim_err_t err;
} fail_t;

static void on_fail_later(uv_timer_t *timer)
{
    fail_t *f = timer->data;
    f->cb(f->err, 0, f->ctx);
    free(f);
    uv_close((uv_handle_t *)timer, (uv_close_cb)free);
}

/* Completes a done-callback with err on the next loop iteration. */
static void done_later(eim_queue_t *q, eim_queue_done_cb cb, void *ctx, eim_err_t err)
{
    fail_t *f = EIM_NEW(fail_t);
    f->cb = cb;
    f->ctx = ctx;
    f->err = err;
    uv_timer_t *t = EIM_NEW(uv_timer_t);
    uv_timer_init(q->loop, t);
    t->data = f;
    uv_timer_start(t, on_fail_later, 0, 0);
}

static void on_enqueue_invalid(eim_err_t err, size_t count, void *ctx)
{
    enqueue_t *e = ctx;
    (void)count;
    e->cb(err, NULL, false, e->ctx);
    enqueue_free(e);
}

void eim_queue_enqueue(eim_queue_t *queue, const eim_queue_op_spec_t *spec, eim_queue_enqueue_cb cb,
                       void *ctx)
{
    enqueue_t *e = EIM_NEW(enqueue_t);
    e->queue = queue;
    e->cb = cb;
    e->ctx = ctx;
    char eid[2 * EIM_EID_LEN + 1];
    if (!spec || !spec->kind || !eid_normalize(spec->eid, eid, e->eid) ||
        (spec->parameters && strlen(spec->parameters) > EIM_QUEUE_MAX_PARAMS)) {
        done_later(queue, on_enqueue_invalid, e, EIM_ERR_INVALID_ARG);
        return;
    }
    e->params[0] = eim_strdup(spec->tenant ? spec->tenant : "default");
    e->params[1] = eim_strdup(eid);
    e->params[2] = eim_strdup(spec->kind);
    e->params[3] = eim_strdup(spec->parameters ? spec->parameters : "{}");
    e->params[4] = eim_sprintf("%d", spec->priority);
    e->params[5] = spec->idempotency_key ? eim_strdup(spec->idempotency_key) : NULL;
    e->params[6] = eim_sprintf("%" PRId64, spec->not_before_s);
    e->params[7] = eim_sprintf("%" PRId64, spec->expires_in_s);
    e->params[8] = eim_strdup(queue->actor);
    run(queue, ENQUEUE_SQL, 9, (const char *const *)e->params, on_enqueued, e);
}

typedef struct {
    eim_queue_t *queue;
    eim_queue_done_cb cb;
    void *ctx;
} done_req_t;

static done_req_t *done_req(eim_queue_t *q, eim_queue_done_cb cb, void *ctx)
{
    done_req_t *d = EIM_NEW(done_req_t);
    d->queue = q;
    d->cb = cb;
    d->ctx = ctx;
    return d;
}

/* Completion for statements answering one row with one count column. */
static void on_count(eim_err_t err, const PGresult *res, void *ctx)
{
    done_req_t *d = ctx;
    err = db_error(err, res);
    size_t n = 0;
    if (!err && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        n = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    d->cb(err, n, d->ctx);
    free(d);
}

static void on_bulk_enqueued(eim_err_t err, const PGresult *res, void *ctx)
{
    done_req_t *d = ctx;
    if (!err && PQntuples(res) == 1)
        eim_counter_add(d->queue->m_enqueued, strtoull(PQgetvalue(res, 0, 0), NULL, 10));
    /* the statement's NOTIFY reaches every instance, this one included */
    on_count(err, res, ctx);
}

void eim_queue_enqueue_bulk(eim_queue_t *queue, const eim_queue_op_spec_t *specs, size_t n,
                            eim_queue_done_cb cb, void *ctx)
{
    if (n == 0 || n > EIM_QUEUE_MAX_BULK) {
        done_later(queue, cb, ctx, n ? EIM_ERR_LIMIT : EIM_ERR_INVALID_ARG);
        return;
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        const eim_queue_op_spec_t *s = &specs[i];
        char eid[2 * EIM_EID_LEN + 1];
        json_t *params = s->parameters ? json_loads(s->parameters, 0, NULL) : json_object();
        if (!s->kind || !eid_normalize(s->eid, eid, NULL) || !json_is_object(params)) {
            json_decref(params);
            json_decref(rows);
            done_later(queue, cb, ctx, EIM_ERR_INVALID_ARG);
            return;
        }
        json_t *row =
            json_pack("{s:s, s:s, s:s, s:o, s:i, s:I, s:I}", "t", s->tenant ? s->tenant : "default",
                      "e", eid, "k", s->kind, "p", params, "pr", s->priority, "nb",
                      (json_int_t)s->not_before_s, "ex", (json_int_t)s->expires_in_s);
        if (s->idempotency_key)
            json_object_set_new(row, "ik", json_string(s->idempotency_key));
        json_array_append_new(rows, row);
    }
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    const char *params[] = {text, queue->actor};
    run(queue,
        "WITH src AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(t text, e text, k text, "
        "p jsonb, pr int, ik text, nb float8, ex float8)), "
        "ins AS (INSERT INTO operations (tenant, eid, kind, parameters, priority, idempotency_key, "
        "not_before, expires_at) SELECT t, e, k, p, pr, ik, now() + make_interval(secs => nb), "
        "CASE WHEN ex > 0 THEN now() + make_interval(secs => ex) END FROM src "
        "ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id, eid), "
        "aud AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, "
        "details) SELECT id, eid, NULL, 'QUEUED', $2, '{\"event\": \"enqueue\"}' FROM ins) "
        "SELECT count(*) FROM ins",
        2, params, on_bulk_enqueued, done_req(queue, cb, ctx));
    free(text);
}

/* ---- batches ------------------------------------------------------------ */

/*
 * The hot path (poll read, delivery, result) is batched across devices:
 * requests that arrive while fewer than BATCHES_IN_FLIGHT statements of
 * their kind are running go out on the next loop turn, the others wait and
 * leave together when one completes (application-level group commit). One
 * statement over unnest()ed arrays costs about one row's work per device
 * instead of one statement, one snapshot and one commit per device, which
 * is what bounded the throughput (docs/architecture.md, "storage"). Each
 * device's row succeeds or fails on its own inside the statement; only a
 * statement error (a deadlock or unique-index race between instances)
 * fails a batch, and its items are then retried alone.
 */
typedef struct {
    eim_queue_t *queue;
    batch_kind_t kind;
    int n;
    batch_item_t *items[BATCH_MAX];
} sent_batch_t;

static void batch_send(eim_queue_t *q, batch_kind_t kind);

static void batch_flush(eim_queue_t *q)
{
    for (int k = 0; k < BATCH_KINDS; k++)
        while (q->batches[k].head && (q->batches[k].in_flight < BATCHES_IN_FLIGHT || q->closing))
            batch_send(q, (batch_kind_t)k);
}

static void on_batch_timer(uv_timer_t *timer)
{
    batch_flush(timer->data);
}

static void batch_add(eim_queue_t *q, batch_kind_t kind, batch_item_t *item)
{
    struct batch_list *b = &q->batches[kind];
    item->next = NULL;
    if (b->tail)
        b->tail->next = item;
    else
        b->head = item;
    b->tail = item;
    if (q->closing)
        batch_flush(q);
    else if (!uv_is_active((uv_handle_t *)&q->batch_timer))
        uv_timer_start(&q->batch_timer, on_batch_timer, 0, 0);
}

/* Takes up to BATCH_MAX items (one when the first is solo; a solo item
 * further back ends the batch). */
static sent_batch_t *batch_take(eim_queue_t *q, batch_kind_t kind)
{
    struct batch_list *b = &q->batches[kind];
    sent_batch_t *s = EIM_NEW(sent_batch_t);
    s->queue = q;
    s->kind = kind;
    while (b->head && s->n < BATCH_MAX && !(s->n > 0 && (b->head->solo || s->items[0]->solo))) {
        batch_item_t *it = b->head;
        b->head = it->next;
        if (!b->head)
            b->tail = NULL;
        it->next = NULL;
        s->items[s->n++] = it;
    }
    b->in_flight++;
    return s;
}

static void batch_done(sent_batch_t *s)
{
    eim_queue_t *q = s->queue;
    q->batches[s->kind].in_flight--;
    free(s);
    batch_flush(q);
}

/* Array literal builders for text-format array parameters. */
static void array_open(eim_buf_t *b)
{
    eim_buf_reset(b);
    eim_buf_append_byte(b, '{');
}

static void array_sep(eim_buf_t *b)
{
    if (b->len > 1)
        eim_buf_append_byte(b, ',');
}

static void array_text(eim_buf_t *b, const char *s)
{
    array_sep(b);
    if (!s) {
        eim_buf_append_str(b, "NULL");
        return;
    }
    eim_buf_append_byte(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            eim_buf_append_byte(b, '\\');
        eim_buf_append_byte(b, (uint8_t)*s);
    }
    eim_buf_append_byte(b, '"');
}

static void array_bytea(eim_buf_t *b, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    array_sep(b);
    if (!data) {
        eim_buf_append_str(b, "NULL");
        return;
    }
    eim_buf_append_str(b, "\"\\\\x");
    if (eim_buf_reserve(b, 2 * len + 2) != EIM_OK)
        return; /* the statement then fails on the truncated literal */
    for (size_t i = 0; i < len; i++) {
        b->data[b->len++] = (uint8_t)digits[data[i] >> 4];
        b->data[b->len++] = (uint8_t)digits[data[i] & 15];
    }
    eim_buf_append_byte(b, '"');
}

static void array_u64(eim_buf_t *b, bool present, uint64_t v)
{
    array_sep(b);
    if (present)
        eim_buf_printf(b, "%" PRIu64, v);
    else
        eim_buf_append_str(b, "NULL");
}

static const char *array_close(eim_buf_t *b)
{
    eim_buf_append_byte(b, '}');
    eim_buf_append_byte(b, '\0');
    return (const char *)b->data;
}

#define ARRAY_BUF_MAX ((size_t)BATCH_MAX * (2 * EIM_QUEUE_PACKAGE_MAX + 64) + 16)

/* A statement error that means "lost a race", not "broken": retry alone. */
static bool batch_race(eim_err_t err, const PGresult *res)
{
    if (err != EIM_ERR_DB || !res)
        return false;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                     strcmp(state, "23505") == 0);
}

/* ---- the poll ---------------------------------------------------------- */

typedef struct {
    batch_item_t item; /* first: batches link polls through it */
    eim_queue_t *queue;
    eim_queue_package_cb cb;
    void *ctx;
    char eid[2 * EIM_EID_LEN + 1];
    uint8_t eid_bin[EIM_EID_LEN];
    uint64_t gen; /* pending-set generation when the read was sent */
    int attempts;
    /* the operation being delivered */
    char op_id[40];
    char kind[24];
    bool uses_counter;
    uint64_t counter;
    uint64_t expected; /* the device's counter the package was built on */
    uint8_t txid[EIM_QUEUE_TXID_LEN];
    eim_buf_t package;
} poll_t;

/* Columns: 0 counter, 1 eim_id, 2 token, 3 op id, 4 op state, 5 kind,
 * 6 parameters, 7 package, 8 op counter, 9 op txid, 10 fresh txid,
 * 11 seconds until the earliest queued operation is due (only when nothing
 * is due now), 12 the EID's position in $1 (1-based). */
static const char NEXT_SQL[] =
    "SELECT e.counter_value, e.eim_id, e.association_token, o.id, o.state, o.kind, "
    "o.parameters::text, o.package, o.counter_value, o.eim_transaction_id, "
    "replace(gen_random_uuid()::text, '-', ''), "
    "CASE WHEN o.id IS NULL THEN (SELECT extract(epoch FROM min(w.not_before) - now()) "
    " FROM operations w WHERE w.eid = e.eid AND w.state = 'QUEUED') END, i.idx "
    "FROM unnest($1::text[]) WITH ORDINALITY AS i(eid, idx) JOIN euiccs e ON e.eid = i.eid "
    "LEFT JOIN LATERAL ("
    " SELECT * FROM operations c WHERE c.eid = e.eid AND (c.state = 'DELIVERED' OR "
    "  (c.state = 'QUEUED' AND c.not_before <= now() AND (c.expires_at IS NULL OR c.expires_at > "
    "now()) "
    "   AND NOT EXISTS (SELECT 1 FROM operations d WHERE d.eid = c.eid AND d.state = 'DELIVERED' "
    "                   AND d.signed_package = c.signed_package)))"
    " ORDER BY c.priority DESC, c.state = 'DELIVERED' DESC, c.seq LIMIT 1) o ON true";

/* QUEUED -> DELIVERED for a batch, all-or-nothing per device: the device
 * rows are locked first (in EID order, so batches of several instances
 * cannot deadlock on them), the counter compared with the one each package
 * was built on, then the operation is updated only if it is still QUEUED,
 * and the device's counter moves only for an operation that was updated
 * (so a counter is never burnt without its stored package), then the audit
 * row. Rows that lost a race are simply absent from the answer. */
static const char DELIVER_SQL[] =
    "WITH i AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bytea[], "
    " $5::bytea[]) WITH ORDINALITY AS i(op, eid, expected, txid, pkg, idx)), "
    "d AS (SELECT e.eid, e.counter_value FROM euiccs e WHERE e.eid IN (SELECT eid FROM i) "
    " ORDER BY e.eid FOR UPDATE), "
    "ok AS (SELECT i.*, c.signed_package AS signed FROM i JOIN d ON d.eid = i.eid "
    " JOIN operations c ON c.id = i.op AND c.eid = i.eid AND c.state = 'QUEUED' "
    " WHERE NOT c.signed_package OR d.counter_value = i.expected), "
    "uo AS (UPDATE operations o SET state = 'DELIVERED', "
    " counter_value = CASE WHEN ok.signed THEN ok.expected + 1 END, eim_transaction_id = ok.txid, "
    " package = ok.pkg, delivered_at = now(), updated_at = now(), attempts = o.attempts + 1 "
    " FROM ok WHERE o.id = ok.op AND o.state = 'QUEUED' "
    " RETURNING ok.idx, o.id, o.eid, o.counter_value, ok.signed, ok.txid), "
    "ue AS (UPDATE euiccs e SET counter_value = CASE WHEN uo.signed THEN uo.counter_value "
    " ELSE e.counter_value END, last_seen_at = now(), updated_at = now() "
    " FROM uo WHERE e.eid = uo.eid), "
    "a AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, "
    " counter_value, details) SELECT id, eid, 'QUEUED', 'DELIVERED', $6, counter_value, "
    " jsonb_build_object('event', 'deliver', 'eim_transaction_id', encode(txid, 'hex')) FROM uo) "
    "SELECT idx FROM uo";

static void poll_read(poll_t *p);

static void poll_finish(poll_t *p, eim_err_t err, const eim_queue_package_t *pkg)
{
    p->cb(err, pkg, p->ctx);
    eim_buf_free(&p->package);
    free(p);
}

static void on_build_failed(eim_err_t err, const PGresult *res, void *ctx)
{
    poll_t *p = ctx;
    (void)res;
    if (err) {
        poll_finish(p, err, NULL);
        return;
    }
    poll_read(p); /* the next operation, if any */
}

static void poll_lost(poll_t *p)
{
    eim_counter_inc(p->queue->m_lost_races);
    if (++p->attempts < EIM_QUEUE_POLL_RETRIES) {
        poll_read(p);
        return;
    }
    poll_finish(p, EIM_ERR_BUSY, NULL);
}

static void poll_delivered(poll_t *p)
{
    eim_counter_inc(p->queue->m_delivered);
    eim_queue_package_t pkg = {
        .op_id = p->op_id,
        .kind = p->kind,
        .package = p->package.data,
        .package_len = p->package.len,
        .redelivery = false,
        .uses_counter = p->uses_counter,
        .counter_value = p->counter,
        .transaction_id = p->txid,
    };
    poll_finish(p, EIM_OK, &pkg);
}

static void on_deliver_batch(eim_err_t err, const PGresult *res, void *ctx)
{
    sent_batch_t *s = ctx;
    bool race = batch_race(err, res);
    err = db_error(err, res);
    bool delivered[BATCH_MAX] = {false};
    if (!err)
        for (int r = 0; r < PQntuples(res); r++) {
            long idx = atol(PQgetvalue(res, r, 0));
            if (idx >= 1 && idx <= s->n)
                delivered[idx - 1] = true;
        }
    for (int i = 0; i < s->n; i++) {
        poll_t *p = (poll_t *)s->items[i];
        if (race) {
            p->item.solo = true;
            poll_lost(p);
        } else if (err) {
            poll_finish(p, err, NULL);
        } else if (delivered[i]) {
            poll_delivered(p);
        } else {
            poll_lost(p);
        }
    }
    batch_done(s);
}

static void send_deliver_batch(eim_queue_t *q, sent_batch_t *s)
{
    eim_buf_t ops, eids, expected, txids, packages;
    eim_buf_init(&ops, 64 * BATCH_MAX);
    eim_buf_init(&eids, 64 * BATCH_MAX);
    eim_buf_init(&expected, 32 * BATCH_MAX);
    eim_buf_init(&txids, 64 * BATCH_MAX);
    eim_buf_init(&packages, ARRAY_BUF_MAX);
    array_open(&ops);
    array_open(&eids);
    array_open(&expected);
    array_open(&txids);
    array_open(&packages);
    for (int i = 0; i < s->n; i++) {
        const poll_t *p = (const poll_t *)s->items[i];
        array_text(&ops, p->op_id);
        array_text(&eids, p->eid);
        array_u64(&expected, true, p->expected);
        array_bytea(&txids, p->txid, sizeof(p->txid));
        array_bytea(&packages, p->package.data, p->package.len);
    }
    const char *params[] = {array_close(&ops),   array_close(&eids),     array_close(&expected),
                            array_close(&txids), array_close(&packages), q->actor};
    run(q, DELIVER_SQL, 6, params, on_deliver_batch, s);
    eim_buf_free(&ops);
    eim_buf_free(&eids);
    eim_buf_free(&expected);
    eim_buf_free(&txids);
    eim_buf_free(&packages);
}

static void deliver(poll_t *p, const PGresult *res, int row)
{
    eim_queue_t *q = p->queue;
    snprintf(p->op_id, sizeof(p->op_id), "%s", PQgetvalue(res, row, 3));
    snprintf(p->kind, sizeof(p->kind), "%s", PQgetvalue(res, row, 5));
    p->uses_counter = strcmp(p->kind, "psmo") == 0 || strcmp(p->kind, "eco") == 0;
    p->expected = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    p->counter = p->expected + 1;
    const char *txid_hex = PQgetvalue(res, row, 10);
    char txid_text[2 * EIM_QUEUE_TXID_LEN + 3];
    snprintf(txid_text, sizeof(txid_text), "\\x%s", txid_hex);
    if (bytea_parse(txid_text, p->txid, sizeof(p->txid)) != EIM_QUEUE_TXID_LEN) {
        poll_finish(p, EIM_ERR_DB, NULL);
        return;
    }
    eim_queue_build_input_t in = {
        .op_id = p->op_id,
        .eid = p->eid,
        .eim_id = PQgetvalue(res, row, 1),
        .kind = p->kind,
        .parameters = PQgetvalue(res, row, 6),
        .uses_counter = p->uses_counter,
        .counter_value = p->uses_counter ? p->counter : 0,
        .association_token = strtoll(PQgetvalue(res, row, 2), NULL, 10),
        .transaction_id = p->txid,
    };
    eim_buf_reset(&p->package);
    eim_err_t err = q->build ? q->build(q->build_ctx, &in, &p->package) : EIM_ERR_UNSUPPORTED;
    if (err || p->package.len == 0) {
        eim_log_warn("cannot build package: operation cancelled", "operation", p->op_id, "error",
                     eim_strerror(err ? err : EIM_ERR_INVALID_ARG));
        const char *params[] = {p->op_id, eim_strerror(err ? err : EIM_ERR_INVALID_ARG), q->actor};
        run(q, "SELECT eim_build_failed($1::uuid, $2, $3)", 3, params, on_build_failed, p);
        return;
    }
    batch_add(q, BATCH_DELIVER, &p->item);
}

/* One device's row of a read batch; row -1: the EID is not a known device. */
static void poll_on_row(poll_t *p, const PGresult *res, int row)
{
    eim_queue_t *q = p->queue;
    if (row < 0) { /* unknown device */
        eim_pending_set_remove(q->pending, p->eid_bin, p->gen);
        poll_finish(p, EIM_OK, NULL);
        return;
    }
    if (PQgetisnull(res, row, 3)) { /* nothing due */
        if (PQgetisnull(res, row, 11)) {
            eim_pending_set_remove(q->pending, p->eid_bin, p->gen);
        } else {
            double wait_s = atof(PQgetvalue(res, row, 11));
            uint64_t at = uv_now(q->loop) + (wait_s > 0 ? (uint64_t)(wait_s * 1000) : 0);
            eim_pending_set_defer(q->pending, p->eid_bin, at);
        }
        poll_finish(p, EIM_OK, NULL);
        return;
    }
    if (strcmp(PQgetvalue(res, row, 4), "DELIVERED") == 0) {
        /* a re-poll before the result: exactly the stored bytes again */
        const char *stored = PQgetvalue(res, row, 7);
        size_t cap = strlen(stored) / 2;
        uint8_t *bytes = eim_malloc(cap ? cap : 1);
        long n = bytea_parse(stored, bytes, cap);
        long t = bytea_parse(PQgetvalue(res, row, 9), p->txid, sizeof(p->txid));
        if (n <= 0 || t != EIM_QUEUE_TXID_LEN) {
            free(bytes);
            poll_finish(p, EIM_ERR_DB, NULL);
            return;
        }
        eim_counter_inc(q->m_redelivered);
        const char *kind = PQgetvalue(res, row, 5);
        eim_queue_package_t pkg = {
            .op_id = PQgetvalue(res, row, 3),
            .kind = kind,
            .package = bytes,
            .package_len = (size_t)n,
            .redelivery = true,
            .uses_counter = !PQgetisnull(res, row, 8),
            .counter_value = strtoull(PQgetvalue(res, row, 8), NULL, 10),
            .transaction_id = p->txid,
        };
        poll_finish(p, EIM_OK, &pkg);
        free(bytes);
        return;
    }
    deliver(p, res, row);
}

static void on_read_batch(eim_err_t err, const PGresult *res, void *ctx)
{
    sent_batch_t *s = ctx;
    err = db_error(err, res);
    int rows[BATCH_MAX];
    for (int i = 0; i < s->n; i++)
        rows[i] = -1;
    if (!err)
        for (int r = 0; r < PQntuples(res); r++) {
            long idx = atol(PQgetvalue(res, r, 12));
            if (idx >= 1 && idx <= s->n)
                rows[idx - 1] = r;
        }
    for (int i = 0; i < s->n; i++) {
        poll_t *p = (poll_t *)s->items[i];
        if (err)
            poll_finish(p, err, NULL);
        else
            poll_on_row(p, res, rows[i]);
    }
    batch_done(s);
}

static void send_read_batch(eim_queue_t *q, sent_batch_t *s)
{
    eim_buf_t eids;
    eim_buf_init(&eids, 64 * BATCH_MAX);
    array_open(&eids);
    for (int i = 0; i < s->n; i++)
        array_text(&eids, ((const poll_t *)s->items[i])->eid);
    const char *params[] = {array_close(&eids)};
    run(q, NEXT_SQL, 1, params, on_read_batch, s);
    eim_buf_free(&eids);
}

static void poll_read(poll_t *p)
{
    p->gen = p->queue->gen;
    batch_add(p->queue, BATCH_READ, &p->item);
}

eim_queue_poll_t eim_queue_next_package(eim_queue_t *queue, const uint8_t eid[EIM_EID_LEN],
                                        eim_queue_package_cb cb, void *ctx)
{
    if (queue->pending_known) {
        uint64_t not_before = 0;
        if (!eim_pending_set_find(queue->pending, eid, NULL, &not_before) ||
            not_before > uv_now(queue->loop)) {
            eim_counter_inc(queue->m_polls_memory);
            return EIM_QUEUE_POLL_NOTHING;
        }
    }
    eim_counter_inc(queue->m_polls_db);
    poll_t *p = EIM_NEW(poll_t);
    p->queue = queue;
    p->cb = cb;
    p->ctx = ctx;
    memcpy(p->eid_bin, eid, EIM_EID_LEN);
    eim_eid_format(eid, p->eid);
    eim_buf_init(&p->package, EIM_QUEUE_PACKAGE_MAX);
    poll_read(p);
    return EIM_QUEUE_POLL_ASYNC;
}

/* ---- results ----------------------------------------------------------- */

typedef struct {
    batch_item_t item; /* first: batches link results through it */
    eim_queue_t *queue;
    eim_queue_result_cb cb;
    void *ctx;
    /* a batched result keeps its own copy of the input */
    char eid[2 * EIM_EID_LEN + 1];
    uint8_t txid[EIM_QUEUE_TXID_LEN];
    size_t txid_len;
    bool has_counter;
    uint64_t counter;
    bool is_error;
    int64_t code;
    bool has_seq;
    uint64_t seq;
    bool ack_in_response;
    uint8_t *raw;
    size_t raw_len;
    char *decoded;
} result_req_t;

static void result_free(result_req_t *r)
{
    free(r->raw);
    free(r->decoded);
    free(r);
}

static eim_queue_result_status_t result_status(eim_queue_t *q, const char *s)
{
    eim_queue_result_status_t status = EIM_QUEUE_RESULT_NOT_FOUND;
    if (strcmp(s, "applied") == 0)
        status = EIM_QUEUE_RESULT_APPLIED;
    else if (strcmp(s, "duplicate") == 0)
        status = EIM_QUEUE_RESULT_DUPLICATE;
    else if (strcmp(s, "requeued") == 0)
        status = EIM_QUEUE_RESULT_REQUEUED;
    else if (strcmp(s, "replay") == 0)
        status = EIM_QUEUE_RESULT_REPLAY_FETCH;
    else if (strcmp(s, "counter_mismatch") == 0)
        status = EIM_QUEUE_RESULT_COUNTER_MISMATCH;
    if (status == EIM_QUEUE_RESULT_APPLIED || status == EIM_QUEUE_RESULT_REQUEUED ||
        status == EIM_QUEUE_RESULT_REPLAY_FETCH)
        eim_counter_inc(q->m_results);
    return status;
}

static void on_result(eim_err_t err, const PGresult *res, void *ctx)
{
    result_req_t *r = ctx;
    err = db_error(err, res);
    eim_queue_result_status_t status = EIM_QUEUE_RESULT_NOT_FOUND;
    const char *op_id = NULL;
    if (!err && PQntuples(res) == 1) {
        op_id = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
        status = result_status(r->queue, PQgetvalue(res, 0, 0));
    }
    r->cb(err, status, op_id, r->ctx);
    result_free(r);
}

/* DELIVERED -> RESULT_OK/RESULT_ERROR (or DONE: no seqNumber to
 * acknowledge, or the acknowledgement travels in this very response) for a
 * batch, found by (EID, eimTransactionId); both logical transitions are
 * audited. Results whose operation is no longer DELIVERED (or whose counter
 * differs) come back as duplicate / counter_mismatch; an unknown
 * transaction id has no row (not_found). ecallActive and replayError take
 * eim_record_result() of 0002, one by one. */
static const char RESULT_SQL[] =
    "WITH i AS (SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::boolean[], "
    " $5::int[], $6::bigint[], $7::bytea[], $8::jsonb[], $9::boolean[]) WITH ORDINALITY "
    " AS i(eid, txid, counter, is_error, code, seq, raw, decoded, acked, idx)), "
    "u AS (UPDATE operations o SET "
    " state = CASE WHEN i.seq IS NULL OR i.acked THEN 'DONE' "
    "  WHEN i.is_error THEN 'RESULT_ERROR' ELSE 'RESULT_OK' END, "
    " result_raw = i.raw, result_decoded = i.decoded, result_code = i.code, "
    " result_seq_number = i.seq, updated_at = now(), "
    " acknowledged_at = CASE WHEN i.acked AND i.seq IS NOT NULL THEN now() END, "
    " completed_at = CASE WHEN i.seq IS NULL OR i.acked THEN now() END "
    " FROM i WHERE o.eid = i.eid AND o.eim_transaction_id = i.txid AND o.state = 'DELIVERED' "
    "  AND (NOT o.signed_package OR i.counter IS NULL OR o.counter_value = i.counter) "
    " RETURNING i.idx, o.id, o.eid, o.counter_value, o.state, i.is_error, i.code, i.seq, "
    "  i.decoded, o.parameters->>'purpose' AS purpose), "
    "a AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, "
    " counter_value, details) SELECT u.id, u.eid, s.f, s.t, $10, u.counter_value, s.d "
    " FROM u CROSS JOIN LATERAL (SELECT r, 'DELIVERED' AS f, r AS t, "
    "   jsonb_build_object('event', lower(r), 'code', u.code, 'seq_number', u.seq) AS d, 1 AS k "
    "  FROM (SELECT CASE WHEN u.is_error THEN 'RESULT_ERROR' ELSE 'RESULT_OK' END AS r) x "
    "  UNION ALL SELECT r, r, 'DONE', jsonb_build_object('event', 'acknowledged', "
    "   'seq_number', u.seq), 2 "
    "  FROM (SELECT CASE WHEN u.is_error THEN 'RESULT_ERROR' ELSE 'RESULT_OK' END AS r) x "
    "  WHERE u.state = 'DONE' ORDER BY 5) s), "
    "inv AS (UPDATE euiccs e SET state_change_pending = false, state_change_cause = NULL, "
    " profile_inventory = u.decoded, inventory_at = now(), updated_at = now() "
    " FROM u WHERE e.eid = u.eid AND u.purpose = 'inventory' AND NOT u.is_error) "
    "SELECT idx, 'applied', id FROM u "
    "UNION ALL SELECT i.idx, CASE WHEN o.state <> 'DELIVERED' OR NOT o.signed_package "
    " OR i.counter IS NULL OR o.counter_value = i.counter THEN 'duplicate' "
    " ELSE 'counter_mismatch' END, o.id "
    "FROM i JOIN operations o ON o.eid = i.eid AND o.eim_transaction_id = i.txid "
    "WHERE i.idx NOT IN (SELECT idx FROM u)";

static void on_result_batch(eim_err_t err, const PGresult *res, void *ctx)
{
    sent_batch_t *s = ctx;
    eim_queue_t *q = s->queue;
    bool race = batch_race(err, res);
    err = db_error(err, res);
    int rows[BATCH_MAX];
    for (int i = 0; i < s->n; i++)
        rows[i] = -1;
    if (!err)
        for (int r = 0; r < PQntuples(res); r++) {
            long idx = atol(PQgetvalue(res, r, 0));
            if (idx >= 1 && idx <= s->n)
                rows[idx - 1] = r;
        }
    for (int i = 0; i < s->n; i++) {
        result_req_t *r = (result_req_t *)s->items[i];
        if (race && !r->item.solo) {
            r->item.solo = true;
            batch_add(q, BATCH_RESULT, &r->item);
            continue;
        }
        if (err) {
            r->cb(err, EIM_QUEUE_RESULT_NOT_FOUND, NULL, r->ctx);
        } else if (rows[i] < 0) {
            r->cb(EIM_OK, EIM_QUEUE_RESULT_NOT_FOUND, NULL, r->ctx);
        } else {
            eim_queue_result_status_t st = result_status(q, PQgetvalue(res, rows[i], 1));
            r->cb(EIM_OK, st, PQgetvalue(res, rows[i], 2), r->ctx);
        }
        result_free(r);
    }
    batch_done(s);
}

static void send_result_batch(eim_queue_t *q, sent_batch_t *s)
{
    eim_buf_t a[9];
    for (int k = 0; k < 9; k++) {
        eim_buf_init(&a[k], k == 6 || k == 7 ? ARRAY_BUF_MAX : 64 * BATCH_MAX);
        array_open(&a[k]);
    }
    for (int i = 0; i < s->n; i++) {
        const result_req_t *r = (const result_req_t *)s->items[i];
        array_text(&a[0], r->eid);
        array_bytea(&a[1], r->txid, r->txid_len);
        array_u64(&a[2], r->has_counter, r->counter);
        array_text(&a[3], r->is_error ? "t" : "f");
        array_sep(&a[4]);
        eim_buf_printf(&a[4], "%" PRId64, r->code);
        array_u64(&a[5], r->has_seq, r->seq);
        array_bytea(&a[6], r->raw, r->raw_len);
        array_text(&a[7], r->decoded);
        array_text(&a[8], r->ack_in_response ? "t" : "f");
    }
    const char *params[10];
    for (int k = 0; k < 9; k++)
        params[k] = array_close(&a[k]);
    params[9] = q->actor;
    run(q, RESULT_SQL, 10, params, on_result_batch, s);
    for (int k = 0; k < 9; k++)
        eim_buf_free(&a[k]);
}

static void batch_send(eim_queue_t *q, batch_kind_t kind)
{
    sent_batch_t *s = batch_take(q, kind);
    switch (kind) {
    case BATCH_READ: send_read_batch(q, s); break;
    case BATCH_DELIVER: send_deliver_batch(q, s); break;
    case BATCH_RESULT:
    default: send_result_batch(q, s); break;
    }
}

static void on_result_invalid(eim_err_t err, size_t count, void *ctx)
{
    result_req_t *r = ctx;
    (void)count;
    r->cb(err, EIM_QUEUE_RESULT_NOT_FOUND, NULL, r->ctx);
    result_free(r);
}

void eim_queue_record_result(eim_queue_t *queue, const eim_queue_result_t *result,
                             eim_queue_result_cb cb, void *ctx)
{
    result_req_t *r = EIM_NEW(result_req_t);
    r->queue = queue;
    r->cb = cb;
    r->ctx = ctx;
    if (!result || !eid_normalize(result->eid, r->eid, NULL) || !result->transaction_id ||
        result->transaction_id_len < 1 || result->transaction_id_len > 16 ||
        result->raw_len > EIM_QUEUE_PACKAGE_MAX ||
        (result->decoded_json && strlen(result->decoded_json) > EIM_QUEUE_PACKAGE_MAX)) {
        done_later(queue, on_result_invalid, r, EIM_ERR_INVALID_ARG);
        return;
    }
    /* ecallActive(104) and replayError(4) are rare and branchy: one by one */
    bool special = result->is_error && (result->code == 104 || result->code == 4);
    if (!special) {
        memcpy(r->txid, result->transaction_id, result->transaction_id_len);
        r->txid_len = result->transaction_id_len;
        r->has_counter = result->has_counter;
        r->counter = result->counter_value;
        r->is_error = result->is_error;
        r->code = result->code;
        r->has_seq = result->has_seq_number;
        r->seq = result->seq_number;
        r->ack_in_response = result->ack_in_response;
        if (result->raw) {
            r->raw = eim_malloc(result->raw_len ? result->raw_len : 1);
            memcpy(r->raw, result->raw, result->raw_len);
            r->raw_len = result->raw_len;
        }
        r->decoded = result->decoded_json ? eim_strdup(result->decoded_json) : NULL;
        batch_add(queue, BATCH_RESULT, &r->item);
        return;
    }
    char *txid = bytea_text(result->transaction_id, result->transaction_id_len);
    char *raw = result->raw ? bytea_text(result->raw, result->raw_len) : NULL;
    char counter[24], code[24], seq[24], backoff[16];
    snprintf(counter, sizeof(counter), "%" PRIu64, result->counter_value);
    snprintf(code, sizeof(code), "%" PRId64, result->code);
    snprintf(seq, sizeof(seq), "%" PRIu64, result->seq_number);
    snprintf(backoff, sizeof(backoff), "%d", queue->options.ecall_backoff_s);
    const char *params[] = {
        r->eid,
        txid,
        result->has_counter ? counter : NULL,
        result->is_error ? "t" : "f",
        code,
        result->has_seq_number ? seq : NULL,
        raw,
        result->decoded_json,
        queue->actor,
        backoff,
    };
    run(queue,
        "SELECT status, op_id FROM eim_record_result($1, $2::bytea, $3::bigint, $4::boolean, "
        "$5::int, $6::bigint, $7::bytea, $8::jsonb, $9, $10::int)",
        10, params, on_result, r);
    free(txid);
    free(raw);
}

/* ---- notifications, acknowledgements ----------------------------------- */

void eim_queue_record_notification(eim_queue_t *queue, const char *eid, uint64_t seq_number,
                                   const char *kind, const uint8_t *raw, size_t raw_len,
                                   eim_queue_done_cb cb, void *ctx)
{
    char e[2 * EIM_EID_LEN + 1];
    if (!eid_normalize(eid, e, NULL) || !kind || !raw || raw_len > EIM_QUEUE_PACKAGE_MAX) {
        done_later(queue, cb, ctx, EIM_ERR_INVALID_ARG);
        return;
    }
    char seq[24];
    snprintf(seq, sizeof(seq), "%" PRIu64, seq_number);
    char *raw_text = bytea_text(raw, raw_len);
    const char *params[] = {e, seq, kind, raw_text};
    run(queue,
        "WITH ins AS (INSERT INTO notifications (eid, seq_number, kind, raw) "
        "VALUES ($1, $2::bigint, $3, $4::bytea) ON CONFLICT (eid, kind, seq_number) DO NOTHING "
        "RETURNING 1) SELECT count(*) FROM ins",
        4, params, on_count, done_req(queue, cb, ctx));
    free(raw_text);
}

static void on_state_change(eim_err_t err, const PGresult *res, void *ctx)
{
    done_req_t *d = ctx;
    err = db_error(err, res);
    size_t n = !err && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? 1 : 0;
    d->cb(err, n, d->ctx);
    free(d);
}

void eim_queue_state_change(eim_queue_t *queue, const char *eid, const char *cause_json,
                            eim_queue_done_cb cb, void *ctx)
{
    char e[2 * EIM_EID_LEN + 1];
    if (!eid_normalize(eid, e, NULL)) {
        done_later(queue, cb, ctx, EIM_ERR_INVALID_ARG);
        return;
    }
    const char *params[] = {e, cause_json, queue->actor};
    run(queue, "SELECT eim_state_change($1, $2::jsonb, $3)", 3, params, on_state_change,
        done_req(queue, cb, ctx));
}

typedef struct {
    eim_queue_acks_cb cb;
    void *ctx;
} acks_req_t;

static void on_acks(eim_err_t err, const PGresult *res, void *ctx)
{
    acks_req_t *a = ctx;
    err = db_error(err, res);
    uint64_t seqs[EIM_QUEUE_MAX_ACKS];
    size_t n = 0;
    if (!err)
        for (int i = 0; i < PQntuples(res) && n < EIM_QUEUE_MAX_ACKS; i++)
            seqs[n++] = strtoull(PQgetvalue(res, i, 0), NULL, 10);
    a->cb(err, seqs, n, a->ctx);
    free(a);
}

static void on_acks_invalid(eim_err_t err, size_t count, void *ctx)
{
    acks_req_t *a = ctx;
    (void)count;
    a->cb(err, NULL, 0, a->ctx);
    free(a);
}

void eim_queue_acks(eim_queue_t *queue, const char *eid, eim_queue_acks_cb cb, void *ctx)
{
    acks_req_t *a = EIM_NEW(acks_req_t);
    a->cb = cb;
    a->ctx = ctx;
    char e[2 * EIM_EID_LEN + 1];
    if (!eid_normalize(eid, e, NULL)) {
        done_later(queue, on_acks_invalid, a, EIM_ERR_INVALID_ARG);
        return;
    }
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", EIM_QUEUE_MAX_ACKS);
    const char *params[] = {e, limit};
    run(queue,
        "SELECT s FROM (SELECT result_seq_number AS s FROM operations WHERE eid = $1 "
        "AND state IN ('RESULT_OK', 'RESULT_ERROR') AND result_seq_number IS NOT NULL "
        "UNION SELECT seq_number FROM notifications WHERE eid = $1 AND acknowledged_at IS NULL) x "
        "ORDER BY s LIMIT $2::int",
        2, params, on_acks, a);
}

void eim_queue_acks_sent(eim_queue_t *queue, const char *eid, const uint64_t *seq_numbers, size_t n,
                         eim_queue_done_cb cb, void *ctx)
{
    char e[2 * EIM_EID_LEN + 1];
    if (!eid_normalize(eid, e, NULL) || n == 0 || n > EIM_QUEUE_MAX_ACKS) {
        done_later(queue, cb, ctx, EIM_ERR_INVALID_ARG);
        return;
    }
    eim_buf_t arr;
    eim_buf_init(&arr, 32 * EIM_QUEUE_MAX_ACKS);
    eim_buf_append_byte(&arr, '{');
    for (size_t i = 0; i < n; i++)
        eim_buf_printf(&arr, "%s%" PRIu64, i ? "," : "", seq_numbers[i]);
    eim_buf_append_str(&arr, "}");
    eim_buf_append_byte(&arr, '\0');
    const char *params[] = {e, (const char *)arr.data, queue->actor};
    run(queue, "SELECT eim_acks_sent($1, $2::bigint[], $3)", 3, params, on_count,
        done_req(queue, cb, ctx));
    eim_buf_free(&arr);
}

/* ---- operators --------------------------------------------------------- */

static void on_cancelled(eim_err_t err, const PGresult *res, void *ctx)
{
    done_req_t *d = ctx;
    err = db_error(err, res);
    size_t n = 0;
    if (!err && PQntuples(res) == 1) {
        if (PQgetisnull(res, 0, 1))
            err = EIM_ERR_NOT_FOUND;
        else if (PQgetisnull(res, 0, 0))
            err = EIM_ERR_CONFLICT;
        else
            n = 1;
    }
    d->cb(err, n, d->ctx);
    free(d);
}

void eim_queue_cancel(eim_queue_t *queue, const char *op_id, eim_queue_done_cb cb, void *ctx)
{
    if (!op_id) {
        done_later(queue, cb, ctx, EIM_ERR_INVALID_ARG);
        return;
    }
    const char *params[] = {op_id, queue->actor};
    run(queue,
        "SELECT eim_finish($1::uuid, 'CANCELLED', 'cancel', $2), "
        "(SELECT id FROM operations WHERE id = $1::uuid)",
        2, params, on_cancelled, done_req(queue, cb, ctx));
}

#define OP_COLUMNS                                                                                 \
    "id, tenant, eid, kind, state, priority, parameters::text, attempts, counter_value, "          \
    "result_code, created_at, updated_at"

static void op_from_row(const PGresult *res, int row, eim_queue_op_t *op)
{
    memset(op, 0, sizeof(*op));
    op->id = PQgetvalue(res, row, 0);
    op->tenant = PQgetvalue(res, row, 1);
    op->eid = PQgetvalue(res, row, 2);
    op->kind = PQgetvalue(res, row, 3);
    if (eim_op_state_parse(PQgetvalue(res, row, 4), &op->state) != EIM_OK)
        op->state = EIM_OP_STATE_COUNT;
    op->priority = atoi(PQgetvalue(res, row, 5));
    op->parameters = PQgetvalue(res, row, 6);
    op->attempts = atoi(PQgetvalue(res, row, 7));
    op->has_counter = !PQgetisnull(res, row, 8);
    op->counter_value = strtoull(PQgetvalue(res, row, 8), NULL, 10);
    op->has_result_code = !PQgetisnull(res, row, 9);
    op->result_code = strtoll(PQgetvalue(res, row, 9), NULL, 10);
    op->created_at = PQgetvalue(res, row, 10);
    op->updated_at = PQgetvalue(res, row, 11);
}

typedef struct {
    eim_queue_get_cb cb;
    void *ctx;
} get_req_t;

static void on_get(eim_err_t err, const PGresult *res, void *ctx)
{
    get_req_t *g = ctx;
    err = db_error(err, res);
    if (!err && PQntuples(res) == 0)
        err = EIM_ERR_NOT_FOUND;
    if (err) {
        g->cb(err == EIM_ERR_INVALID_ARG ? EIM_ERR_NOT_FOUND : err, NULL, g->ctx);
    } else {
        eim_queue_op_t op;
        op_from_row(res, 0, &op);
        g->cb(EIM_OK, &op, g->ctx);
    }
    free(g);
}

void eim_queue_get(eim_queue_t *queue, const char *op_id, eim_queue_get_cb cb, void *ctx)
{
    get_req_t *g = EIM_NEW(get_req_t);
    g->cb = cb;
    g->ctx = ctx;
    const char *params[] = {op_id ? op_id : ""};
    run(queue, "SELECT " OP_COLUMNS " FROM operations WHERE id = $1::uuid", 1, params, on_get, g);
}

typedef struct {
    eim_queue_list_cb cb;
    void *ctx;
    int limit;
} list_req_t;

static void on_list(eim_err_t err, const PGresult *res, void *ctx)
{
    list_req_t *l = ctx;
    err = db_error(err, res);
    if (err) {
        l->cb(err, NULL, 0, NULL, l->ctx);
        free(l);
        return;
    }
    int rows = PQntuples(res);
    size_t n = rows > l->limit ? (size_t)l->limit : (size_t)rows;
    eim_queue_op_t *ops = eim_calloc(n ? n : 1, sizeof(*ops));
    for (size_t i = 0; i < n; i++)
        op_from_row(res, (int)i, &ops[i]);
    char *cursor = NULL;
    if (rows > l->limit) /* one more row exists: the page ends at row n-1 */
        cursor = eim_sprintf("%s|%s", PQgetvalue(res, (int)n - 1, 12), ops[n - 1].id);
    l->cb(EIM_OK, ops, n, cursor, l->ctx);
    free(cursor);
    free(ops);
    free(l);
}

void eim_queue_list(eim_queue_t *queue, const eim_queue_filter_t *filter, eim_queue_list_cb cb,
                    void *ctx)
{
    list_req_t *l = EIM_NEW(list_req_t);
    l->cb = cb;
    l->ctx = ctx;
    l->limit = filter->limit < 1                    ? 1
               : filter->limit > EIM_QUEUE_MAX_LIST ? EIM_QUEUE_MAX_LIST
                                                    : filter->limit;
    char eid[2 * EIM_EID_LEN + 1];
    const char *eid_param = NULL;
    if (filter->eid) {
        if (!eid_normalize(filter->eid, eid, NULL)) {
            l->cb(EIM_ERR_INVALID_ARG, NULL, 0, NULL, l->ctx);
            free(l);
            return;
        }
        eid_param = eid;
    }
    char cursor_time[64] = "", cursor_id[40] = "";
    bool has_cursor = false;
    if (filter->cursor) {
        const char *bar = strchr(filter->cursor, '|');
        size_t tlen = bar ? (size_t)(bar - filter->cursor) : 0;
        if (!bar || tlen == 0 || tlen >= sizeof(cursor_time) ||
            strlen(bar + 1) >= sizeof(cursor_id)) {
            l->cb(EIM_ERR_INVALID_ARG, NULL, 0, NULL, l->ctx);
            free(l);
            return;
        }
        memcpy(cursor_time, filter->cursor, tlen);
        snprintf(cursor_id, sizeof(cursor_id), "%s", bar + 1);
        has_cursor = true;
    }
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", l->limit + 1);
    const char *params[] = {
        eid_param,
        filter->has_state ? eim_op_state_name(filter->state) : NULL,
        filter->created_from,
        filter->created_before,
        has_cursor ? cursor_time : NULL,
        has_cursor ? cursor_id : NULL,
        limit,
    };
    run(queue,
        "SELECT " OP_COLUMNS ", to_char(created_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM operations "
        "WHERE ($1::text IS NULL OR eid = $1) AND ($2::text IS NULL OR state = $2) "
        "AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz) "
        "AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz) "
        "AND ($5::timestamptz IS NULL OR (created_at, id) > ($5::timestamptz, $6::uuid)) "
        "ORDER BY created_at, id LIMIT $7::int",
        7, params, on_list, l);
}

void eim_queue_upsert_euiccs(eim_queue_t *queue, const eim_queue_euicc_t *euiccs, size_t n,
                             eim_queue_done_cb cb, void *ctx)
{
    if (n == 0 || n > EIM_QUEUE_MAX_BULK) {
        done_later(queue, cb, ctx, n ? EIM_ERR_LIMIT : EIM_ERR_INVALID_ARG);
        return;
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        char eid[2 * EIM_EID_LEN + 1];
        if (!eid_normalize(euiccs[i].eid, eid, NULL) || !euiccs[i].eim_id) {
            json_decref(rows);
            done_later(queue, cb, ctx, EIM_ERR_INVALID_ARG);
            return;
        }
        json_t *row = json_pack("{s:s, s:s, s:I, s:I}", "e", eid, "m", euiccs[i].eim_id, "c",
                                (json_int_t)euiccs[i].counter_value, "t",
                                (json_int_t)euiccs[i].association_token);
        if (euiccs[i].default_smdp_address)
            json_object_set_new(row, "d", json_string(euiccs[i].default_smdp_address));
        json_array_append_new(rows, row);
    }
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    const char *params[] = {text};
    run(queue,
        "WITH src AS (SELECT DISTINCT ON (e) * FROM jsonb_to_recordset($1::jsonb) "
        "AS x(e text, m text, c bigint, t bigint, d text) ORDER BY e), "
        "up AS (INSERT INTO euiccs (eid, eim_id, counter_value, association_token, "
        "default_smdp_address) SELECT e, m, c, t, d FROM src ON CONFLICT (eid) DO UPDATE SET "
        "eim_id = excluded.eim_id, "
        "counter_value = greatest(euiccs.counter_value, excluded.counter_value), "
        "association_token = excluded.association_token, "
        "default_smdp_address = coalesce(excluded.default_smdp_address, "
        "euiccs.default_smdp_address), updated_at = now() RETURNING 1) "
        "SELECT count(*) FROM up",
        1, params, on_count, done_req(queue, cb, ctx));
    free(text);
}

static void on_expired(eim_err_t err, const PGresult *res, void *ctx)
{
    done_req_t *d = ctx;
    if (!err && PQntuples(res) == 1)
        eim_counter_add(d->queue->m_expired, strtoull(PQgetvalue(res, 0, 0), NULL, 10));
    on_count(err, res, ctx);
}

void eim_queue_expire(eim_queue_t *queue, int limit, eim_queue_done_cb cb, void *ctx)
{
    char l[16];
    snprintf(l, sizeof(l), "%d", limit > 0 ? limit : 1);
    const char *params[] = {l, queue->actor};
    run(queue, "SELECT eim_expire($1::int, $2)", 2, params, on_expired, done_req(queue, cb, ctx));
}
