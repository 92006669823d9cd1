/*
 * HTTP/1.1 server on libuv TCP with llhttp (RFC 9112 message parsing).
 *
 * One server per listener. Requests are parsed with bounded heads (request
 * line + headers) and bodies; each complete request is handed to the
 * handler as an exchange, which the handler answers with eim_http_respond,
 * at once or later (after a database round trip). Requests on a keep-alive
 * connection are answered in order: parsing pauses while an exchange is
 * open. No state is kept per connection beyond the exchange in progress.
 *
 * Limits: max_connections (beyond it new connections are closed on accept),
 * max_header_bytes (431), max_body_bytes (413), idle_timeout_ms (a
 * connection that sends nothing, or a request that does not complete, is
 * closed).
 *
 * The server does not know what it serves: the handler decides. With a TLS
 * context in the options the listener speaks HTTPS (RFC 9110 §4.2.2): each
 * connection first completes a TLS handshake (bounded by
 * handshake_timeout_ms; failures counted in eimd_tls_handshakes_total and
 * logged at debug), then the same request handling runs over the decrypted
 * stream, and a connection the server closes ends with close_notify.
 */
#ifndef EIM_SERVER_HTTP_HTTP_SERVER_H
#define EIM_SERVER_HTTP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "proto/base/error.h"
#include "proto/base/metrics.h"
#include "server/tls/tls_context.h"

#define EIM_HTTP_MAX_HEADERS 32

typedef struct eim_http_server eim_http_server_t;
typedef struct eim_http_exchange eim_http_exchange_t;

typedef struct {
    const char *name; /* as received */
    const char *value;
} eim_http_header_t;

typedef struct {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* target without the query string */
    const char *query;  /* after '?', or "" */
    eim_http_header_t headers[EIM_HTTP_MAX_HEADERS];
    size_t header_count;
    const uint8_t *body;
    size_t body_len;
    const char *peer; /* client address, "ip:port" or "[ip6]:port" */
} eim_http_request_t;

/* Called once per complete request. The request stays valid until the
 * exchange is answered. */
typedef void (*eim_http_handler_fn)(eim_http_exchange_t *exchange,
                                    const eim_http_request_t *request, void *ctx);

typedef struct {
    const char *name;   /* for logs and metrics labels, e.g. "admin" */
    const char *listen; /* "host:port" */
    int max_connections;
    int max_header_bytes;
    int max_body_bytes;
    int idle_timeout_ms;
    eim_http_handler_fn handler;
    void *handler_ctx;
    eim_metrics_t *metrics;
    /* HTTPS: NULL for plain HTTP; otherwise the server takes a reference */
    eim_tls_context_t *tls;
    int handshake_timeout_ms; /* HTTPS only: close a handshake unfinished after this */
    /* Requests the server refuses itself (400, 413, 431) are answered as
     * RFC 9457 application/problem+json instead of a bare JSON error. */
    bool problem_details;
} eim_http_server_options_t;

/* Binds and listens. On failure returns NULL and logs why. */
eim_http_server_t *eim_http_server_start(uv_loop_t *loop, const eim_http_server_options_t *options);

/* The bound address as "host:port" (useful with port 0). */
const char *eim_http_server_address(const eim_http_server_t *server);

/* Case-insensitive header lookup; NULL when absent. */
const char *eim_http_request_header(const eim_http_request_t *request, const char *name);

/*
 * Answers an exchange. extra_headers is NULL or "Name: value\r\n..." lines.
 * body is copied. After this call the exchange and its request are gone.
 */
void eim_http_respond(eim_http_exchange_t *exchange, int status, const char *content_type,
                      const char *extra_headers, const void *body, size_t body_len);

/* Exchanges received but not yet answered. */
size_t eim_http_server_in_flight(const eim_http_server_t *server);

/* Stops accepting; existing connections finish their exchange in progress
 * and are closed after it (keep-alive ends). */
void eim_http_server_stop_accepting(eim_http_server_t *server);

/* Closes everything (unanswered exchanges are dropped) and frees the server
 * once libuv has released its handles; then calls closed(ctx) if given. */
void eim_http_server_close(eim_http_server_t *server, void (*closed)(void *ctx), void *ctx);

const char *eim_http_status_text(int status);

#endif
