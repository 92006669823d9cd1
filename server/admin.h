/*
 * The admin HTTP face: GET /livez, /readyz and /metrics for orchestrators
 * and Prometheus. Loopback by default (admin.listen).
 */
#ifndef EIM_SERVER_ADMIN_H
#define EIM_SERVER_ADMIN_H

#include "server/http/http_server.h"
#include "storage/pg_pool.h"

typedef struct {
    eim_pg_pool_t *pool;
    eim_metrics_t *metrics;
    int expected_schema_version;
    bool shutting_down;
} eim_admin_t;

/* eim_http_handler_fn for the admin listener; ctx is an eim_admin_t. */
void eim_admin_handle(eim_http_exchange_t *exchange, const eim_http_request_t *request, void *ctx);

#endif
