/*
 * The operators' REST API (JSON over HTTP on a private interface, or
 * HTTPS), following the CAMARA eSIM Profile Management conventions for
 * asynchronous device operations: a request answers 202 with an operation
 * id; the operation's status is ACCEPTED until the device's result (or
 * expiry, cancellation) makes it COMPLETED with outcome SUCCESS or FAILED
 * and a reason. The document of record is server/rest/openapi.json (served
 * at GET /openapi.json); routes under /api/v1:
 *
 *   POST   /euiccs                     import one eUICC (201 / 200)
 *   POST   /euiccs/import              import up to api.max_batch, per-item outcomes
 *   GET    /euiccs                     list (eimId, hasPendingOperations, cursor, limit)
 *   GET    /euiccs/{eid}               read one
 *   DELETE /euiccs/{eid}               remove (409 while a package is in flight)
 *   POST   /euiccs/{eid}/operations    enqueue (Idempotency-Key; 202 / 200)
 *   GET    /euiccs/{eid}/operations    list per device
 *   GET    /operations                 list (eid, state, status, kind, campaignId)
 *   GET    /operations/{id}            read one
 *   POST   /operations/{id}/cancel     cancel (409 once delivered)
 *   POST   /campaigns                  one operation for many EIDs, per-item outcomes
 *   GET    /campaigns/{id}             progress counts by state, status and outcome
 *
 * Security: "Authorization: Bearer eimd_<id>_<secret>" (storage/api_keys.h)
 * on every /api/v1 route; keys are per tenant, "ro" keys may only read
 * (403 on writes). Another tenant's ids answer 404. Errors are RFC 9457
 * problem+json (server/rest/problem.h); 503 with Retry-After while the
 * database is unavailable.
 *
 * Bounded: bodies (the listener's max_body_bytes), batches (max_batch),
 * pages (max_page_size), parameters (EIM_PACKAGE_PARAMS_MAX). Every
 * database access goes through the non-blocking pool.
 */
#ifndef EIM_SERVER_REST_REST_API_H
#define EIM_SERVER_REST_REST_API_H

#include <stddef.h>

#include "server/http/http_server.h"
#include "storage/pg_pool.h"

typedef struct eim_rest_api eim_rest_api_t;

typedef struct {
    eim_pg_pool_t *pool;   /* must outlive the API */
    int max_batch;         /* 1..10000 */
    int default_page_size; /* 1..max_page_size */
    int max_page_size;     /* 1..1000 */
    int retry_after_s;     /* Retry-After of 503 answers */
} eim_rest_options_t;

eim_rest_api_t *eim_rest_api_new(const eim_rest_options_t *options);
/* Requests still waiting for the database keep the object alive: it is
 * freed when the last one has answered. */
void eim_rest_api_free(eim_rest_api_t *api);

/* The eim_http_handler_fn of the API listener (ctx = the eim_rest_api_t). */
void eim_rest_handle(eim_http_exchange_t *exchange, const eim_http_request_t *request, void *ctx);

/* The embedded OpenAPI document (NUL-terminated JSON). */
extern const char eim_rest_openapi_json[];
extern const size_t eim_rest_openapi_json_len;

#endif
