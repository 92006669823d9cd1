/*
 * `eimd serve`. Start-up checks the schema (migrating first when configured),
 * then one libuv loop runs the database pool and the listeners.
 *
 * Shutdown (SIGTERM or SIGINT; the handlers only wake the loop): stop
 * accepting, report not-ready, wait for in-flight HTTP exchanges and
 * database queries until shutdown.deadline_ms, close the database, exit 0.
 * A second signal skips the wait.
 *
 * Listeners: the admin HTTP listener always; the HTTPS listener (TLS from
 * server/tls/ under the same HTTP server) when https.enabled; the CoAP over
 * DTLS listeners (server/dtls/, SGP.32 §6.2) when coaps.enabled, whose
 * application records go to the CoAP endpoint (server/coap/, RFC 7252 §9.1).
 * Both device-facing transports hand ESipa requests (SGP.32 §6.1-§6.5) to
 * the engine's one dispatcher (server/engine.h), started by the first of
 * them. On shutdown the DTLS sessions are parked and written to the
 * database (so devices resume after the restart) before the pool closes.
 * The operators' REST API (server/rest/) has its own listener when
 * api.enabled: plain HTTP for a private interface, or HTTPS (api.tls) with
 * the same keys.tls_* certificate and key.
 */
#include "server/app.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "proto/base/log.h"
#include "proto/base/metrics.h"
#include "server/admin.h"
#include "server/engine.h"
#include "server/esipa/esipa_http.h"
#include "server/coap/coap_dtls.h"
#include "server/coap/coap_esipa.h"
#include "server/dtls/dtls_server.h"
#include "server/http/http_server.h"
#include "server/rest/rest_api.h"
#include "server/tls/tls_context.h"
#include "storage/migrations.h"
#include "storage/pg_pool.h"

#ifndef EIMD_VERSION
#define EIMD_VERSION "0.0.0"
#endif

typedef struct {
    const eim_config_t *cfg;
    uv_loop_t *loop;
    eim_metrics_t *metrics;
    eim_pg_pool_t *pool;
    eim_http_server_t *admin_server;
    eim_http_server_t *https_server;
    eim_http_server_t *api_server;
    eim_rest_api_t *rest;
    eim_tls_context_t *tls;
    eim_engine_t engine;
    bool engine_started;
    eim_tls_context_t *dtls;
    eim_dtls_server_t *coaps_server;
    bool coaps_flushed;
    eim_coap_dtls_t *coap;  /* CoAP endpoint behind the DTLS sessions */
    eim_coap_esipa_t esipa; /* its ESipa handler */
    eim_admin_t admin;
    uv_signal_t sigterm, sigint;
    uv_timer_t drain_timer;
    uint64_t started_ns;
    uint64_t deadline_ns;
    bool stopping;
    bool finished;
} app_t;

static double uptime_seconds(void *ctx)
{
    app_t *app = ctx;
    return (double)(uv_hrtime() - app->started_ns) / 1e9;
}

static void register_build_metrics(app_t *app)
{
    eim_counter_t *info = eim_metrics_counter(app->metrics, "eimd_build_info",
                                              "Build information; the value is always 1.",
                                              "version=\"" EIMD_VERSION "\"");
    eim_counter_add(info, 1);
    eim_metrics_gauge_fn(app->metrics, "eimd_uptime_seconds", "Seconds since eimd started.", NULL,
                         uptime_seconds, app);
}

/* Start-up schema check: `serve` refuses an old schema unless it may migrate. */
static int check_schema(const eim_config_t *cfg)
{
    char error[512];
    int latest = eim_migrations_latest();
    if (cfg->database.migrate_on_start) {
        int applied = 0;
        eim_err_t err = eim_migrations_apply(cfg->database.dsn, eim_migrations, eim_migration_count,
                                             &applied, error, sizeof(error));
        if (err) {
            eim_log_error("migration at start failed", "reason", error);
            return err == EIM_ERR_DB_UNAVAILABLE ? EIM_EXIT_UNAVAILABLE : EIM_EXIT_SOFTWARE;
        }
        return EIM_EXIT_OK;
    }
    int version;
    eim_err_t err = eim_migrations_current(cfg->database.dsn, &version, error, sizeof(error));
    if (err) {
        /* not fatal: /readyz stays false until the database answers */
        eim_log_warn("database not reachable at start", "reason", error);
        return EIM_EXIT_OK;
    }
    if (version < latest) {
        char have[16], want[16];
        snprintf(have, sizeof(have), "%d", version);
        snprintf(want, sizeof(want), "%d", latest);
        eim_log_error("database schema is older than this build; run `eimd migrate` or set "
                      "database.migrate_on_start",
                      "schema_version", have, "expected_schema_version", want);
        return EIM_EXIT_CONFIG;
    }
    return EIM_EXIT_OK;
}

static void on_pool_closed(void *ctx)
{
    (void)ctx;
}

/* The engine's storage users are done: the pool may go. */
static void on_engine_closed(void *ctx)
{
    app_t *app = ctx;
    eim_pg_pool_close(app->pool, on_pool_closed, app);
}

static void finish(app_t *app)
{
    if (app->finished)
        return;
    app->finished = true;
    uv_timer_stop(&app->drain_timer);
    uv_close((uv_handle_t *)&app->drain_timer, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    if (app->admin_server)
        eim_http_server_close(app->admin_server, NULL, NULL);
    app->admin_server = NULL;
    if (app->https_server)
        eim_http_server_close(app->https_server, NULL, NULL);
    app->https_server = NULL;
    if (app->api_server)
        eim_http_server_close(app->api_server, NULL, NULL);
    app->api_server = NULL;
    eim_rest_api_free(app->rest); /* freed once its last request has answered */
    app->rest = NULL;
    if (app->tls)
        eim_tls_context_release(app->tls); /* the listener holds its own reference */
    app->tls = NULL;
    if (app->coaps_server)
        eim_dtls_server_close(app->coaps_server);
    app->coaps_server = NULL;
    eim_coap_dtls_free(app->coap);
    app->coap = NULL;
    if (app->dtls)
        eim_tls_context_release(app->dtls);
    app->dtls = NULL;
    if (app->engine_started)
        eim_engine_close(&app->engine, on_engine_closed, app);
    else
        eim_pg_pool_close(app->pool, on_pool_closed, app);
    /* the loop ends when the last handle is closed */
}

static size_t in_flight(const app_t *app)
{
    size_t n = eim_pg_pool_in_flight(app->pool);
    if (app->admin_server)
        n += eim_http_server_in_flight(app->admin_server);
    if (app->https_server)
        n += eim_http_server_in_flight(app->https_server);
    if (app->engine_started)
        n += eim_engine_in_flight(&app->engine);
    if (app->coaps_server)
        n += eim_dtls_server_in_flight(app->coaps_server) + (app->coaps_flushed ? 0 : 1);
    if (app->coap)
        n += eim_coap_endpoint_in_flight(eim_coap_dtls_endpoint(app->coap));
    if (app->api_server)
        n += eim_http_server_in_flight(app->api_server);
    return n;
}

static void on_drain_tick(uv_timer_t *timer)
{
    app_t *app = timer->data;
    size_t pending = in_flight(app);
    if (pending == 0) {
        eim_log_info("in-flight work finished; stopping");
        finish(app);
    } else if (uv_hrtime() >= app->deadline_ns) {
        char n[24];
        snprintf(n, sizeof(n), "%zu", pending);
        eim_log_warn("shutdown deadline reached; abandoning in-flight work", "in_flight", n);
        finish(app);
    }
}

static void on_coaps_flushed(void *ctx)
{
    ((app_t *)ctx)->coaps_flushed = true;
}

static void on_signal(uv_signal_t *handle, int signum)
{
    app_t *app = handle->data;
    if (app->stopping) {
        eim_log_warn("second signal: stopping now");
        finish(app);
        return;
    }
    app->stopping = true;
    app->admin.shutting_down = true;
    eim_log_info("shutting down", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    /* Stop accepting. The admin listener goes too: its /readyz would only
     * say "shutting down", and new TCP connections are what we refuse. */
    if (app->admin_server)
        eim_http_server_stop_accepting(app->admin_server);
    if (app->https_server)
        eim_http_server_stop_accepting(app->https_server);
    if (app->coaps_server) {
        /* park and persist every session: devices resume after the restart */
        eim_dtls_server_stop_accepting(app->coaps_server);
        eim_dtls_server_flush(app->coaps_server, on_coaps_flushed, app);
    }
    if (app->api_server)
        eim_http_server_stop_accepting(app->api_server);
    app->deadline_ns = uv_hrtime() + (uint64_t)app->cfg->shutdown.deadline_ms * 1000000ull;
    uv_timer_start(&app->drain_timer, on_drain_tick, 0, 20);
}

/* The eIM core behind every device-facing listener; started once, by the
 * first listener that needs it. */
static bool start_engine(app_t *app)
{
    if (app->engine_started)
        return true;
    char error[512];
    if (eim_engine_start(&app->engine, app->loop, app->pool, app->metrics, app->cfg, error,
                         sizeof(error)) != EIM_OK) {
        eim_log_error("cannot start the ESipa engine", "reason", error);
        return false;
    }
    app->engine_started = true;
    return true;
}

/* The TLS context shared by the HTTPS and (with api.tls) API listeners,
 * created on first use; false when it cannot be. */
static bool ensure_tls(app_t *app)
{
    const eim_config_t *cfg = app->cfg;
    if (app->tls)
        return true;
    char error[512];
    eim_tls_context_options_t tls_options = {
        .certificate_chain = cfg->keys.tls_certificate_chain,
        .private_key = cfg->keys.tls_private_key,
        .raw_public_key = cfg->https.raw_public_key ? cfg->keys.tls_raw_public_key : NULL,
        .ticket_rotation_ms = cfg->https.ticket_rotation_ms,
    };
    if (eim_tls_context_new(app->loop, &tls_options, &app->tls, error, sizeof(error)) != EIM_OK) {
        eim_log_error("cannot set up TLS (run `eimd keygen` for development keys)", "reason",
                      error);
        return false;
    }
    return true;
}

/* Starts the HTTPS listener when configured; false when it cannot. */
static bool start_https(app_t *app)
{
    const eim_config_t *cfg = app->cfg;
    if (!cfg->https.enabled)
        return true;
    if (!start_engine(app) || !ensure_tls(app))
        return false;
    eim_http_server_options_t options = {
        .name = "https",
        .listen = cfg->https.listen,
        .max_connections = cfg->https.max_connections,
        .max_header_bytes = cfg->https.max_header_bytes,
        .max_body_bytes = cfg->https.max_body_bytes,
        .idle_timeout_ms = cfg->https.idle_timeout_ms,
        .handler = eim_esipa_http_handle,
        .handler_ctx = app->engine.dispatcher,
        .metrics = app->metrics,
        .tls = app->tls,
        .handshake_timeout_ms = cfg->https.handshake_timeout_ms,
    };
    app->https_server = eim_http_server_start(app->loop, &options);
    if (!app->https_server)
        return false;
    eim_log_info("listening", "listener", "https", "protocol", "https", "address",
                 eim_http_server_address(app->https_server), "endpoints",
                 "POST /gsma/rsp2/asn1, POST /gsma/rsp2/esipa/<function>", "raw_public_key",
                 eim_tls_context_has_raw_public_key(app->tls) ? "true" : "false");
    return true;
}

/* The 32-byte park key from a file of 64 hex characters. */
static bool read_park_key(const char *path, uint8_t key[32])
{
    FILE *file = fopen(path, "r");
    if (!file)
        return false;
    char text[80] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, file);
    fclose(file);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    if (n != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(text + 2 * i, "%2x", &v) != 1)
            return false;
        key[i] = (uint8_t)v;
    }
    memset(text, 0, sizeof(text));
    return true;
}

static bool start_coaps(app_t *app)
{
    const eim_config_t *cfg = app->cfg;
    if (!cfg->coaps.enabled)
        return true;
    char error[256];
    eim_tls_context_options_t tls_options = {
        .transport = cfg->coaps.dtls13 ? EIM_TLS_DATAGRAM : EIM_TLS_DATAGRAM_12,
        .certificate_chain = cfg->keys.tls_certificate_chain,
        .private_key = cfg->keys.tls_private_key,
        .raw_public_key = cfg->coaps.raw_public_key ? cfg->keys.tls_raw_public_key : NULL,
        .ticket_rotation_ms = cfg->https.ticket_rotation_ms,
    };
    if (eim_tls_context_new(app->loop, &tls_options, &app->dtls, error, sizeof(error)) != EIM_OK) {
        eim_log_error("cannot set up DTLS", "reason", error);
        return false;
    }
    uint8_t park_key[32];
    bool have_key = cfg->coaps.park_key[0] != '\0';
    if (have_key && !read_park_key(cfg->coaps.park_key, park_key)) {
        eim_log_error("coaps.park_key must name a file with 64 hex characters", "path",
                      cfg->coaps.park_key);
        return false;
    }
    eim_dtls_server_options_t options;
    eim_dtls_server_options_default(&options);
    options.listen[options.listen_count++] = cfg->coaps.listen;
    if (cfg->coaps.listen_ipv6[0])
        options.listen[options.listen_count++] = cfg->coaps.listen_ipv6;
    options.tls = app->dtls;
    options.pool = have_key ? app->pool : NULL; /* a per-process key cannot reopen rows */
    options.instance_id = cfg->eim.id;
    options.park_key = have_key ? park_key : NULL;
    options.mtu = cfg->coaps.mtu;
    options.receive_buffer = cfg->coaps.receive_buffer_bytes;
    options.max_sessions = cfg->coaps.max_sessions;
    options.max_handshakes = cfg->coaps.max_handshakes;
    options.handshake_rate_per_prefix = cfg->coaps.handshake_rate_per_prefix;
    options.handshake_timeout_ms = cfg->coaps.handshake_timeout_ms;
    options.park_after_ms = cfg->coaps.park_after_ms;
    options.lifetime_ms = (int64_t)cfg->coaps.lifetime_s * 1000;
    options.cookie_rotation_ms = cfg->coaps.cookie_rotation_ms;
    /* ESipa over CoAP (server/coap/) into the engine's dispatcher */
    if (!start_engine(app))
        return false;
    app->esipa = (eim_coap_esipa_t){.dispatcher = app->engine.dispatcher, .transport = "coaps"};
    eim_coap_endpoint_options_t coap_options = {
        .loop = app->loop,
        .handler = eim_coap_esipa_handler,
        .handler_ctx = &app->esipa,
        .metrics = app->metrics,
        .extra_content_format = -1,
    };
    app->coap = eim_coap_dtls_new(&coap_options);
    options.on_data = eim_coap_dtls_on_data;
    options.on_closed = eim_coap_dtls_on_closed;
    options.ctx = app->coap;
    options.metrics = app->metrics;
    eim_err_t err =
        eim_dtls_server_start(app->loop, &options, &app->coaps_server, error, sizeof(error));
    memset(park_key, 0, sizeof(park_key));
    if (err) {
        eim_log_error("cannot start the coaps listener", "reason", error);
        return false;
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", eim_dtls_server_port(app->coaps_server, 0));
    eim_log_info("listening", "listener", "coaps", "protocol", "dtls", "address", cfg->coaps.listen,
                 "port", port, "dtls13", cfg->coaps.dtls13 ? "true" : "false", "parking",
                 have_key ? "persistent" : "per-process");
    return true;
}

/* Starts the operators' REST API listener when configured. */
static bool start_api(app_t *app)
{
    const eim_config_t *cfg = app->cfg;
    if (!cfg->api.enabled)
        return true;
    if (cfg->api.tls && !ensure_tls(app))
        return false;
    eim_rest_options_t rest_options = {
        .pool = app->pool,
        .max_batch = cfg->api.max_batch,
        .default_page_size = cfg->api.default_page_size < cfg->api.max_page_size
                                 ? cfg->api.default_page_size
                                 : cfg->api.max_page_size,
        .max_page_size = cfg->api.max_page_size,
        .retry_after_s = cfg->api.retry_after_s,
    };
    app->rest = eim_rest_api_new(&rest_options);
    eim_http_server_options_t options = {
        .name = "api",
        .listen = cfg->api.listen,
        .max_connections = cfg->api.max_connections,
        .max_header_bytes = cfg->api.max_header_bytes,
        .max_body_bytes = cfg->api.max_body_bytes,
        .idle_timeout_ms = cfg->api.idle_timeout_ms,
        .handler = eim_rest_handle,
        .handler_ctx = app->rest,
        .metrics = app->metrics,
        .tls = cfg->api.tls ? app->tls : NULL,
        .handshake_timeout_ms = cfg->api.handshake_timeout_ms,
        .problem_details = true,
    };
    app->api_server = eim_http_server_start(app->loop, &options);
    if (!app->api_server)
        return false;
    eim_log_info("listening", "listener", "api", "protocol", cfg->api.tls ? "https" : "http",
                 "address", eim_http_server_address(app->api_server), "endpoints",
                 "/api/v1 /openapi.json");
    return true;
}

int eim_app_serve(const eim_config_t *cfg)
{
    int code = check_schema(cfg);
    if (code != EIM_EXIT_OK)
        return code;

    app_t app;
    memset(&app, 0, sizeof(app));
    app.cfg = cfg;
    app.loop = uv_default_loop();
    app.started_ns = uv_hrtime();
    app.metrics = eim_metrics_new();
    register_build_metrics(&app);

    eim_pg_pool_options_t pool_options = {
        .dsn = cfg->database.dsn,
        .size = cfg->database.pool_size,
        .connect_timeout_ms = cfg->database.connect_timeout_ms,
        .reconnect_min_ms = cfg->database.reconnect_min_ms,
        .reconnect_max_ms = cfg->database.reconnect_max_ms,
        .health_interval_ms = cfg->database.health_interval_ms,
        .expected_schema_version = eim_migrations_latest(),
        .metrics = app.metrics,
    };
    app.pool = eim_pg_pool_start(app.loop, &pool_options);
    app.admin = (eim_admin_t){.pool = app.pool,
                              .metrics = app.metrics,
                              .expected_schema_version = eim_migrations_latest()};

    eim_http_server_options_t admin_options = {
        .name = "admin",
        .listen = cfg->admin.listen,
        .max_connections = cfg->admin.max_connections,
        .max_header_bytes = cfg->admin.max_header_bytes,
        .max_body_bytes = 4096,
        .idle_timeout_ms = cfg->admin.idle_timeout_ms,
        .handler = eim_admin_handle,
        .handler_ctx = &app.admin,
        .metrics = app.metrics,
    };
    app.admin_server = eim_http_server_start(app.loop, &admin_options);

    uv_timer_init(app.loop, &app.drain_timer);
    app.drain_timer.data = &app;
    uv_signal_init(app.loop, &app.sigterm);
    uv_signal_init(app.loop, &app.sigint);
    app.sigterm.data = app.sigint.data = &app;
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);

    if (!app.admin_server) {
        code = EIM_EXIT_CONFIG;
        finish(&app);
    } else {
        eim_log_info("listening", "listener", "admin", "protocol", "http", "address",
                     eim_http_server_address(app.admin_server), "endpoints",
                     "/livez /readyz /metrics");
        if (!start_https(&app) || !start_coaps(&app) || !start_api(&app)) {
            code = EIM_EXIT_CONFIG;
            finish(&app);
        } else {
            eim_log_info("eimd started", "version", EIMD_VERSION, "eim_id", cfg->eim.id);
        }
    }

    uv_run(app.loop, UV_RUN_DEFAULT);
    uv_loop_close(app.loop);
    eim_metrics_free(app.metrics);
    if (code == EIM_EXIT_OK)
        eim_log_info("eimd stopped");
    return code;
}
