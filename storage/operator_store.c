/*
 * The operators' view of the database, tenant by tenant. See
 * operator_store.h; migrations/0002 and 0005 for the tables. Each call is
 * one statement whose result is (tag, json) rows: the first row wins.
 */
#include "storage/operator_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"

/* An operation row (alias o) as JSON. resultError: a result with an error
 * was recorded (the row may have moved on to DONE since). */
#define OP_JSON                                                                                    \
    "jsonb_build_object('id', o.id, 'eid', o.eid, 'kind', o.kind, 'parameters', o.parameters, "    \
    "'state', o.state, 'priority', o.priority, 'attempts', o.attempts, "                           \
    "'counterValue', o.counter_value, 'resultCode', o.result_code, "                               \
    "'resultError', EXISTS (SELECT 1 FROM operation_audit a WHERE a.operation_id = o.id "          \
    "AND a.to_state = 'RESULT_ERROR'), 'result', o.result_decoded, "                               \
    "'campaignId', o.campaign_id, 'idempotencyKey', o.idempotency_key, "                           \
    "'createdAt', o.created_at, 'updatedAt', o.updated_at, 'deliveredAt', o.delivered_at, "        \
    "'completedAt', o.completed_at, 'notBefore', o.not_before, 'expiresAt', o.expires_at)"

/* An eUICC row (alias e) as JSON. */
#define EUICC_JSON                                                                                 \
    "jsonb_build_object('eid', e.eid, 'eimId', e.eim_id, 'counterValue', e.counter_value, "        \
    "'associationToken', e.association_token, 'defaultSmdpAddress', e.default_smdp_address, "      \
    "'hasPublicKey', e.euicc_public_key IS NOT NULL, "                                             \
    "'hasCertificateChain', e.certificate_chain IS NOT NULL, 'lastSeenAt', e.last_seen_at, "       \
    "'transport', e.transport, 'inventory', e.profile_inventory, 'inventoryAt', e.inventory_at, "  \
    "'stateChangePending', e.state_change_pending, 'pendingOperations', (SELECT count(*) FROM "    \
    "operations p WHERE p.eid = e.eid AND p.state IN ('QUEUED', 'DELIVERED')), "                   \
    "'createdAt', e.created_at, 'updatedAt', e.updated_at)"

typedef struct {
    eim_store_cb cb;
    void *ctx;
    int limit; /* list calls: rows per page (one more is fetched) */
    bool list_euiccs;
} call_t;

static call_t *call_new(eim_store_cb cb, void *ctx)
{
    call_t *c = EIM_NEW(call_t);
    c->cb = cb;
    c->ctx = ctx;
    return c;
}

static eim_err_t db_error(eim_err_t err, const PGresult *res)
{
    if (err == EIM_ERR_DB && res)
        eim_log_warn("operator query failed", "reason", PQresultErrorMessage(res));
    return err;
}

/* (tag, json) rows: hands the first one over, or NOT_FOUND. */
static void on_row(eim_err_t err, const PGresult *res, void *ctx)
{
    call_t *c = ctx;
    err = db_error(err, res);
    if (!err && (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)))
        err = EIM_ERR_NOT_FOUND;
    if (err)
        c->cb(err, NULL, NULL, c->ctx);
    else
        c->cb(EIM_OK, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), c->ctx);
    free(c);
}

static void run(eim_pg_pool_t *pool, const char *sql, int n, const char *const *params,
                eim_store_cb cb, void *ctx)
{
    eim_pg_query(pool, sql, n, params, on_row, call_new(cb, ctx));
}

void eim_store_euiccs_import(eim_pg_pool_t *pool, const char *tenant, const char *euiccs_json,
                             eim_store_cb cb, void *ctx)
{
    static const char sql[] =
        "WITH input AS (SELECT ord, x->>'eid' AS eid, x->>'eimId' AS eim_id, "
        "  coalesce((x->>'counterValue')::bigint, 0) AS counter_value, "
        "  coalesce((x->>'associationToken')::bigint, 0) AS token, "
        "  x->>'defaultSmdpAddress' AS smdp, decode(x->>'publicKey', 'base64') AS pk, "
        "  decode(x->>'certificateChain', 'base64') AS chain "
        "  FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(x, ord)), "
        "checked AS (SELECT i.*, e.tenant AS owner, e.removed_at AS removed, "
        "  e.eid IS NOT NULL AS present, "
        "  EXISTS (SELECT 1 FROM eim_identities m WHERE m.eim_id = i.eim_id) AS eim_known, "
        "  row_number() OVER (PARTITION BY i.eid ORDER BY i.ord) AS dup "
        "  FROM input i LEFT JOIN euiccs e ON e.eid = i.eid), "
        "outcome AS (SELECT c.*, CASE WHEN dup > 1 THEN 'DUPLICATE' "
        "  WHEN NOT eim_known THEN 'UNKNOWN_EIM_ID' "
        "  WHEN present AND owner <> $1 AND removed IS NULL THEN 'CONFLICT' "
        "  WHEN present AND removed IS NULL THEN 'UPDATED' ELSE 'CREATED' END AS outcome "
        "  FROM checked c), "
        "up AS (INSERT INTO euiccs AS cur (eid, eim_id, counter_value, association_token, "
        "  default_smdp_address, euicc_public_key, certificate_chain, tenant) "
        "  SELECT eid, eim_id, counter_value, token, smdp, pk, chain, $1 FROM outcome "
        "  WHERE outcome IN ('CREATED', 'UPDATED') "
        "  ON CONFLICT (eid) DO UPDATE SET eim_id = excluded.eim_id, "
        "  counter_value = greatest(cur.counter_value, excluded.counter_value), "
        "  association_token = excluded.association_token, "
        "  default_smdp_address = coalesce(excluded.default_smdp_address, "
        "    cur.default_smdp_address), "
        "  euicc_public_key = coalesce(excluded.euicc_public_key, cur.euicc_public_key), "
        "  certificate_chain = coalesce(excluded.certificate_chain, cur.certificate_chain), "
        "  profile_inventory = CASE WHEN cur.tenant = excluded.tenant "
        "    THEN cur.profile_inventory END, "
        "  tenant = excluded.tenant, removed_at = NULL, updated_at = now() "
        "  WHERE cur.tenant = excluded.tenant OR cur.removed_at IS NOT NULL RETURNING cur.eid) "
        "SELECT 'ok', coalesce(jsonb_agg(jsonb_build_object('eid', o.eid, 'outcome', "
        "  CASE WHEN o.outcome IN ('CREATED', 'UPDATED') "
        "    AND NOT EXISTS (SELECT 1 FROM up WHERE up.eid = o.eid) THEN 'CONFLICT' "
        "  ELSE o.outcome END) ORDER BY o.ord), '[]') FROM outcome o";
    const char *params[] = {tenant, euiccs_json};
    run(pool, sql, 2, params, cb, ctx);
}

void eim_store_euicc_get(eim_pg_pool_t *pool, const char *tenant, const char *eid, eim_store_cb cb,
                         void *ctx)
{
    const char *params[] = {tenant, eid};
    run(pool,
        "SELECT 'ok', " EUICC_JSON " FROM euiccs e "
        "WHERE e.eid = $2 AND e.tenant = $1 AND e.removed_at IS NULL",
        2, params, cb, ctx);
}

/* A list page: one row (items as a JSON array of limit + 1 at most); the
 * extra item only says that there is a next page. */
static void on_page(eim_err_t err, const PGresult *res, void *ctx)
{
    call_t *c = ctx;
    err = db_error(err, res);
    if (!err && (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)))
        err = EIM_ERR_NOT_FOUND;
    if (err) {
        c->cb(err, NULL, NULL, c->ctx);
        free(c);
        return;
    }
    /* column 0: the cursor of the limit-th row when there are more rows */
    c->cb(EIM_OK, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), c->ctx);
    free(c);
}

void eim_store_euiccs_list(eim_pg_pool_t *pool, const char *tenant,
                           const eim_store_euicc_filter_t *filter, eim_store_cb cb, void *ctx)
{
    char limit[16], has_pending[8];
    snprintf(limit, sizeof(limit), "%d", filter->limit);
    snprintf(has_pending, sizeof(has_pending), "%s", filter->has_pending ? "true" : "false");
    const char *params[] = {tenant, filter->cursor, filter->eim_id,
                            filter->has_pending < 0 ? NULL : has_pending, limit};
    eim_pg_query(pool,
                 "WITH page AS (SELECT e.eid, row_number() OVER (ORDER BY e.eid) AS n, " EUICC_JSON
                 " AS j FROM euiccs e WHERE e.tenant = $1 AND e.removed_at IS NULL "
                 "AND ($2::text IS NULL OR e.eid > $2) AND ($3::text IS NULL OR e.eim_id = $3) "
                 "AND ($4::boolean IS NULL OR EXISTS (SELECT 1 FROM operations p WHERE p.eid = "
                 "e.eid AND p.state IN ('QUEUED', 'DELIVERED')) = $4) "
                 "ORDER BY e.eid LIMIT $5::int + 1) "
                 "SELECT CASE WHEN count(*) > $5::int THEN "
                 "(SELECT eid FROM page WHERE n = $5::int) ELSE '' END, "
                 "coalesce(jsonb_agg(j ORDER BY eid) FILTER (WHERE n <= $5::int), '[]') FROM page",
                 5, params, on_page, call_new(cb, ctx));
}

void eim_store_euicc_remove(eim_pg_pool_t *pool, const char *tenant, const char *eid,
                            const char *actor, eim_store_cb cb, void *ctx)
{
    const char *params[] = {tenant, eid, actor};
    run(pool,
        "WITH e AS (SELECT eid FROM euiccs WHERE eid = $2 AND tenant = $1 AND removed_at IS NULL "
        "  FOR UPDATE), "
        "d AS (SELECT count(*) AS n FROM operations o JOIN e ON o.eid = e.eid "
        "  WHERE o.state = 'DELIVERED'), "
        "c AS (SELECT eim_finish(o.id, 'CANCELLED', 'remove', $3) FROM operations o "
        "  JOIN e ON o.eid = e.eid, d WHERE d.n = 0 AND o.state = 'QUEUED'), "
        "u AS (UPDATE euiccs SET removed_at = now(), updated_at = now() FROM e, d "
        "  WHERE d.n = 0 AND euiccs.eid = e.eid AND (SELECT count(*) FROM c) >= 0 "
        "  RETURNING euiccs.eid) "
        "SELECT CASE WHEN (SELECT n FROM d) > 0 THEN 'in_flight' ELSE 'removed' END, "
        "  jsonb_build_object('cancelled', (SELECT count(*) FROM c), "
        "  'removed', (SELECT count(*) FROM u)) FROM e",
        3, params, cb, ctx);
}

/* ---- operations --------------------------------------------------------- */

typedef struct {
    char priority[16], not_before[24], expires[24];
} spec_text_t;

static void spec_text(const eim_store_op_spec_t *spec, spec_text_t *t)
{
    snprintf(t->priority, sizeof(t->priority), "%d", spec->priority);
    snprintf(t->not_before, sizeof(t->not_before), "%lld", (long long)spec->not_before_s);
    snprintf(t->expires, sizeof(t->expires), "%lld", (long long)spec->expires_in_s);
}

void eim_store_op_enqueue(eim_pg_pool_t *pool, const char *tenant, const eim_store_op_spec_t *spec,
                          eim_store_cb cb, void *ctx)
{
    spec_text_t t;
    memset(&t, 0, sizeof(t));
    spec_text(spec, &t);
    const char *params[] = {tenant,           spec->eid,  spec->kind,
                            spec->parameters, t.priority, spec->idempotency_key,
                            t.not_before,     t.expires,  spec->actor};
    /* Rows ranked: a new operation, else the one the key names, else "the
     * device is unknown". A key inserted concurrently after our snapshot
     * yields no row: NOT_FOUND would be wrong, so that case ranks as
     * "retry" and the caller's 503 makes the client try again. */
    run(pool,
        "WITH dev AS (SELECT eid FROM euiccs WHERE eid = $2 AND tenant = $1 "
        "  AND removed_at IS NULL), "
        "ins AS (INSERT INTO operations (tenant, eid, kind, parameters, priority, "
        "  idempotency_key, not_before, expires_at) "
        "  SELECT $1, eid, $3, $4::jsonb, $5::int, $6, now() + make_interval(secs => $7::float8), "
        "  CASE WHEN $8::float8 > 0 THEN now() + make_interval(secs => $8::float8) END FROM dev "
        "  ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING *), "
        "aud AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, "
        "  details) SELECT id, eid, NULL, 'QUEUED', $9, '{\"event\": \"enqueue\"}' FROM ins) "
        "SELECT tag, j FROM ("
        "  SELECT 1 AS rank, 'created' AS tag, " OP_JSON " AS j FROM ins o "
        "  UNION ALL SELECT 2, CASE WHEN o.eid = $2 AND o.kind = $3 AND o.parameters = $4::jsonb "
        "    AND o.priority = $5::int "
        "    THEN 'existing' ELSE 'mismatch' END, " OP_JSON " FROM operations o "
        "    WHERE $6::text IS NOT NULL AND o.tenant = $1 AND o.idempotency_key = $6 "
        "  UNION ALL SELECT 3, NULL, NULL WHERE NOT EXISTS (SELECT 1 FROM dev)) r "
        "ORDER BY rank LIMIT 1",
        9, params, cb, ctx);
}

void eim_store_op_get(eim_pg_pool_t *pool, const char *tenant, const char *op_id, eim_store_cb cb,
                      void *ctx)
{
    const char *params[] = {tenant, op_id};
    run(pool, "SELECT 'ok', " OP_JSON " FROM operations o WHERE o.id = $2::uuid AND o.tenant = $1",
        2, params, cb, ctx);
}

void eim_store_ops_list(eim_pg_pool_t *pool, const char *tenant,
                        const eim_store_op_filter_t *filter, eim_store_cb cb, void *ctx)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", filter->limit);
    const char *params[] = {tenant,       filter->eid,         filter->states,
                            filter->kind, filter->campaign_id, filter->cursor,
                            limit};
    /* With an EID the device must be the tenant's: no row otherwise. */
    eim_pg_query(
        pool,
        "WITH page AS (SELECT o.created_at, o.id, row_number() OVER (ORDER BY o.created_at, o.id) "
        "  AS n, " OP_JSON " AS j FROM operations o WHERE o.tenant = $1 "
        "  AND ($2::text IS NULL OR o.eid = $2) AND ($3::text[] IS NULL OR o.state = ANY ($3)) "
        "  AND ($4::text IS NULL OR o.kind = $4) AND ($5::uuid IS NULL OR o.campaign_id = $5) "
        "  AND ($6::uuid IS NULL OR (o.created_at, o.id) > "
        "    (SELECT c.created_at, c.id FROM operations c WHERE c.id = $6 AND c.tenant = $1)) "
        "  ORDER BY o.created_at, o.id LIMIT $7::int + 1) "
        "SELECT CASE WHEN count(*) > $7::int THEN (SELECT id::text FROM page WHERE n = $7::int) "
        "  ELSE '' END, coalesce(jsonb_agg(j ORDER BY created_at, id) FILTER (WHERE n <= $7::int), "
        "  '[]') FROM page "
        "HAVING $2::text IS NULL OR EXISTS (SELECT 1 FROM euiccs e WHERE e.eid = $2 "
        "  AND e.tenant = $1 AND e.removed_at IS NULL)",
        7, params, on_page, call_new(cb, ctx));
}

void eim_store_op_cancel(eim_pg_pool_t *pool, const char *tenant, const char *op_id,
                         const char *actor, eim_store_cb cb, void *ctx)
{
    const char *params[] = {tenant, op_id, actor};
    run(pool,
        "WITH u AS (UPDATE operations SET state = 'CANCELLED', completed_at = now(), "
        "  updated_at = now() WHERE id = $2::uuid AND tenant = $1 AND state = 'QUEUED' "
        "  RETURNING *), "
        "a AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, "
        "  details) SELECT id, eid, 'QUEUED', 'CANCELLED', $3, '{\"event\": \"cancel\"}' FROM u) "
        "SELECT 'cancelled', " OP_JSON " FROM u o "
        "UNION ALL SELECT 'not_cancellable', " OP_JSON " FROM operations o "
        "  WHERE o.id = $2::uuid AND o.tenant = $1 AND NOT EXISTS (SELECT 1 FROM u)",
        3, params, cb, ctx);
}

/* ---- campaigns ---------------------------------------------------------- */

void eim_store_campaign_create(eim_pg_pool_t *pool, const char *tenant, const char *eids_json,
                               const eim_store_op_spec_t *spec, eim_store_cb cb, void *ctx)
{
    spec_text_t t;
    memset(&t, 0, sizeof(t));
    spec_text(spec, &t);
    const char *params[] = {tenant,     eids_json,    spec->kind, spec->parameters,
                            t.priority, t.not_before, t.expires,  spec->actor};
    run(pool,
        "WITH input AS (SELECT value AS eid, ord FROM jsonb_array_elements_text($2::jsonb) "
        "  WITH ORDINALITY AS t(value, ord)), "
        "checked AS (SELECT i.eid, i.ord, row_number() OVER (PARTITION BY i.eid ORDER BY i.ord) "
        "  AS dup, EXISTS (SELECT 1 FROM euiccs e WHERE e.eid = i.eid AND e.tenant = $1 "
        "  AND e.removed_at IS NULL) AS known FROM input i), "
        "c AS (INSERT INTO campaigns (tenant, kind, parameters, requested, accepted) "
        "  SELECT $1, $3, $4::jsonb, (SELECT count(*) FROM input), "
        "  (SELECT count(*) FROM checked WHERE known AND dup = 1) RETURNING id, requested, "
        "  accepted), "
        "ins AS (INSERT INTO operations (tenant, eid, kind, parameters, priority, not_before, "
        "  expires_at, campaign_id) SELECT $1, k.eid, $3, $4::jsonb, $5::int, "
        "  now() + make_interval(secs => $6::float8), "
        "  CASE WHEN $7::float8 > 0 THEN now() + make_interval(secs => $7::float8) END, c.id "
        "  FROM checked k, c WHERE k.known AND k.dup = 1 RETURNING id, eid), "
        "aud AS (INSERT INTO operation_audit (operation_id, eid, from_state, to_state, actor, "
        "  details) SELECT ins.id, ins.eid, NULL, 'QUEUED', $8, "
        "  jsonb_build_object('event', 'enqueue', 'campaign', c.id) FROM ins, c) "
        "SELECT 'ok', jsonb_build_object('id', c.id, 'requested', c.requested, "
        "  'accepted', c.accepted, 'results', (SELECT jsonb_agg(jsonb_build_object('eid', k.eid, "
        "  'outcome', CASE WHEN k.dup > 1 THEN 'DUPLICATE' WHEN NOT k.known THEN 'NOT_FOUND' "
        "  ELSE 'ACCEPTED' END, 'operationId', ins.id) ORDER BY k.ord) "
        "  FROM checked k LEFT JOIN ins ON ins.eid = k.eid AND k.dup = 1)) FROM c",
        8, params, cb, ctx);
}

void eim_store_campaign_get(eim_pg_pool_t *pool, const char *tenant, const char *campaign_id,
                            eim_store_cb cb, void *ctx)
{
    const char *params[] = {tenant, campaign_id};
    run(pool,
        "SELECT 'ok', jsonb_build_object('id', c.id, 'kind', c.kind, 'parameters', c.parameters, "
        "  'requested', c.requested, 'accepted', c.accepted, 'createdAt', c.created_at, "
        "  'states', coalesce((SELECT jsonb_object_agg(state, n) FROM (SELECT state, count(*) "
        "    AS n FROM operations WHERE campaign_id = c.id GROUP BY state) s), '{}'), "
        "  'failed', (SELECT count(*) FROM operations o WHERE o.campaign_id = c.id AND "
        "    (o.state IN ('EXPIRED', 'CANCELLED', 'RESULT_ERROR') OR (o.state = 'DONE' AND "
        "    EXISTS (SELECT 1 FROM operation_audit a WHERE a.operation_id = o.id "
        "    AND a.to_state = 'RESULT_ERROR'))))) "
        "FROM campaigns c WHERE c.id = $2::uuid AND c.tenant = $1",
        2, params, cb, ctx);
}
