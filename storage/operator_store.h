/*
 * What the operators' REST API (server/rest/) reads and writes, scoped to
 * one tenant (migrations/0005): eUICCs (import, read, list, remove),
 * operations (enqueue with an idempotency key, read, list, cancel) and
 * campaigns (one operation for many EIDs, progress by state).
 *
 * Every query filters on the caller's tenant, so another tenant's rows are
 * indistinguishable from absent ones. Operations are inserted with the same
 * columns, audit rows and NOTIFY trigger as storage/queue.c's enqueue; the
 * state machine stays the database's (0002 guard trigger).
 *
 * Asynchronous on the pool: each call queues one statement and calls back
 * later on the loop, never from inside the call. Rows come back as JSON
 * text built by PostgreSQL (field names as the API spells them; state
 * names as storage/op_state.h) with a short outcome tag; the REST layer
 * maps states to API statuses. Timestamps are RFC 3339 text.
 */
#ifndef EIM_STORAGE_OPERATOR_STORE_H
#define EIM_STORAGE_OPERATOR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "storage/pg_pool.h"

#define EIM_STORE_MAX_BATCH 10000 /* eUICCs per import, EIDs per campaign */
#define EIM_STORE_MAX_PAGE  1000  /* rows per list page */

/*
 * Completion: tag says what happened (documented per call), json is one
 * JSON document (object or array), both valid during the callback only.
 * err EIM_ERR_NOT_FOUND: nothing of that id in this tenant. Other errors
 * are the pool's (EIM_ERR_DB_UNAVAILABLE / EIM_ERR_BUSY: retry later) or
 * EIM_ERR_DB (logged here).
 */
typedef void (*eim_store_cb)(eim_err_t err, const char *tag, const char *json, void *ctx);

/* ---- eUICCs ---- */

/* euiccs_json: a JSON array (already validated by the caller) of objects
 * {eid, eimId, counterValue?, associationToken?, defaultSmdpAddress?,
 * publicKey? (base64 SPKI), certificateChain? (base64 DER)}. tag "ok";
 * json: [{eid, outcome: CREATED|UPDATED|CONFLICT|UNKNOWN_EIM_ID|DUPLICATE}]
 * in input order. The counter never goes down; an EID owned by another
 * tenant is a CONFLICT unless that tenant removed it. */
void eim_store_euiccs_import(eim_pg_pool_t *pool, const char *tenant, const char *euiccs_json,
                             eim_store_cb cb, void *ctx);

/* tag "ok", json: the eUICC object. */
void eim_store_euicc_get(eim_pg_pool_t *pool, const char *tenant, const char *eid, eim_store_cb cb,
                         void *ctx);

typedef struct {
    const char *eim_id; /* optional */
    int has_pending;    /* -1 any, 0 without live operations, 1 with */
    const char *cursor; /* the last EID of the previous page, or NULL */
    int limit;          /* 1..EIM_STORE_MAX_PAGE */
} eim_store_euicc_filter_t;

/* tag: the next cursor or "" on the last page; json: array of eUICCs. */
void eim_store_euiccs_list(eim_pg_pool_t *pool, const char *tenant,
                           const eim_store_euicc_filter_t *filter, eim_store_cb cb, void *ctx);

/* Hides the eUICC from the API and cancels its queued operations. tag
 * "removed"; EIM_ERR_CONFLICT when an operation is DELIVERED (in flight on
 * the device). actor goes into the audit trail. */
void eim_store_euicc_remove(eim_pg_pool_t *pool, const char *tenant, const char *eid,
                            const char *actor, eim_store_cb cb, void *ctx);

/* ---- operations ---- */

typedef struct {
    const char *eid;
    const char *kind;            /* psmo | eco | euicc_data_request | download_trigger */
    const char *parameters;      /* JSON object text, validated by the caller */
    int priority;                /* -1000..1000 */
    const char *idempotency_key; /* optional, 1..200 characters */
    int64_t not_before_s;        /* 0: due now */
    int64_t expires_in_s;        /* 0: never */
    const char *actor;           /* audit trail, e.g. "api:<key id>" */
} eim_store_op_spec_t;

/* tag "created" (new operation), "existing" (the idempotency key named an
 * identical request (EID, kind, parameters, priority): its operation),
 * "mismatch" (the key was used for a
 * different request: that operation); json: the operation.
 * EIM_ERR_NOT_FOUND: no such eUICC in this tenant. */
void eim_store_op_enqueue(eim_pg_pool_t *pool, const char *tenant, const eim_store_op_spec_t *spec,
                          eim_store_cb cb, void *ctx);

/* tag "ok", json: the operation. */
void eim_store_op_get(eim_pg_pool_t *pool, const char *tenant, const char *op_id, eim_store_cb cb,
                      void *ctx);

typedef struct {
    const char *eid;         /* optional; the eUICC must exist (else NOT_FOUND) */
    const char *states;      /* optional PostgreSQL array text, e.g. "{QUEUED,DELIVERED}" */
    const char *kind;        /* optional */
    const char *campaign_id; /* optional uuid */
    const char *cursor;      /* the last operation id of the previous page, or NULL */
    int limit;               /* 1..EIM_STORE_MAX_PAGE */
} eim_store_op_filter_t;

/* Ordered by (created_at, id). tag: the next cursor or ""; json: array. */
void eim_store_ops_list(eim_pg_pool_t *pool, const char *tenant,
                        const eim_store_op_filter_t *filter, eim_store_cb cb, void *ctx);

/* QUEUED -> CANCELLED. tag "cancelled" with the operation after, or
 * "not_cancellable" with the operation as it is (already delivered or
 * finished). */
void eim_store_op_cancel(eim_pg_pool_t *pool, const char *tenant, const char *op_id,
                         const char *actor, eim_store_cb cb, void *ctx);

/* ---- campaigns ---- */

/* One operation of spec (eid ignored, no idempotency key) for each EID of
 * eids_json (JSON array of 1..EIM_STORE_MAX_BATCH EID strings), in one
 * statement. tag "ok"; json: {id, requested, accepted, results: [{eid,
 * outcome: ACCEPTED|NOT_FOUND|DUPLICATE, operationId}]} in input order. */
void eim_store_campaign_create(eim_pg_pool_t *pool, const char *tenant, const char *eids_json,
                               const eim_store_op_spec_t *spec, eim_store_cb cb, void *ctx);

/* tag "ok"; json: {id, kind, parameters, requested, accepted, createdAt,
 * states: {STATE: n}, failed: n} (failed = finished without success). */
void eim_store_campaign_get(eim_pg_pool_t *pool, const char *tenant, const char *campaign_id,
                            eim_store_cb cb, void *ctx);

#endif
