/*
 * Admin endpoints.
 *   /livez   200 while the process runs its loop (liveness).
 *   /readyz  200 only when PostgreSQL answers and the schema is at least the
 *            version this build carries; 503 with the reason otherwise, and
 *            during shutdown (so load balancers drain us first).
 *   /metrics Prometheus text format 0.0.4.
 */
#include "server/admin.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "proto/base/memory.h"

static void respond_json(eim_http_exchange_t *exchange, int status, json_t *body,
                         const char *extra_headers)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    eim_http_respond(exchange, status, "application/json", extra_headers, text, strlen(text));
    free(text);
}

static void handle_readyz(eim_admin_t *admin, eim_http_exchange_t *exchange)
{
    const char *reason = NULL;
    if (admin->shutting_down)
        reason = "shutting down";
    else if (!eim_pg_pool_ready(admin->pool))
        reason = eim_pg_pool_status(admin->pool);
    json_t *body = json_pack("{s:s, s:i, s:i}", "status", reason ? "not ready" : "ready",
                             "schema_version", eim_pg_pool_schema_version(admin->pool),
                             "expected_schema_version", admin->expected_schema_version);
    if (reason)
        json_object_set_new(body, "reason", json_string(reason));
    respond_json(exchange, reason ? 503 : 200, body, NULL);
}

static void handle_metrics(eim_admin_t *admin, eim_http_exchange_t *exchange)
{
    eim_buf_t out;
    eim_buf_init(&out, 64 * 1024 * 1024);
    if (eim_metrics_render(admin->metrics, &out) != EIM_OK) {
        eim_buf_free(&out);
        respond_json(exchange, 500, json_pack("{s:s}", "error", "metrics too large"), NULL);
        return;
    }
    eim_http_respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, out.data,
                     out.len);
    eim_buf_free(&out);
}

void eim_admin_handle(eim_http_exchange_t *exchange, const eim_http_request_t *request, void *ctx)
{
    eim_admin_t *admin = ctx;
    static const struct {
        const char *path;
        int id;
    } routes[] = {{"/livez", 0}, {"/readyz", 1}, {"/metrics", 2}};
    int id = -1;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(request->path, routes[i].path) == 0)
            id = routes[i].id;
    if (id < 0) {
        respond_json(exchange, 404, json_pack("{s:s}", "error", "not found"), NULL);
        return;
    }
    if (strcmp(request->method, "GET") != 0) {
        respond_json(exchange, 405, json_pack("{s:s}", "error", "method not allowed"),
                     "Allow: GET\r\n");
        return;
    }
    switch (id) {
    case 0: respond_json(exchange, 200, json_pack("{s:s}", "status", "alive"), NULL); break;
    case 1: handle_readyz(admin, exchange); break;
    default: handle_metrics(admin, exchange); break;
    }
}
