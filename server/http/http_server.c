/*
 * HTTP/1.1 server on libuv + llhttp. See http_server.h.
 *
 * A connection owns the llhttp parser, the bytes of the request head and
 * body, and at most one open exchange. While an exchange is open the parser
 * is paused and reading stops; bytes already received after the request
 * are kept and parsed once the response is written (pipelining in order).
 * The connection is freed when its libuv handles are closed and no exchange
 * still refers to it, so a late eim_http_respond is always safe.
 *
 * Transport: bytes from the socket go through conn_receive and bytes to it
 * through conn_send_plain. For plain HTTP they pass straight through; for
 * HTTPS an eim_tls_session_t sits in between (ciphertext in, plaintext to
 * the parser; plaintext out, ciphertext to uv_write). While an exchange is
 * open nothing more is decrypted: undecrypted records wait in the session
 * (bounded), and reading from the socket resumes only once they are used
 * up, so a pipelining client cannot grow memory.
 */
#include "server/http/http_server.h"
#include "server/net_address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "server/tls/tls_session.h"

typedef struct conn conn_t;

struct eim_http_exchange {
    conn_t *conn;
    eim_http_request_t request;
    eim_buf_t strings; /* NUL-terminated method, path, query, header names/values */
};

typedef struct {
    size_t name_off, name_len, value_off, value_len;
} header_span_t;

typedef enum { LAST_NONE, LAST_FIELD, LAST_VALUE } last_cb_t;

struct conn {
    eim_http_server_t *server;
    uv_tcp_t tcp;
    uv_timer_t idle;
    int open_handles;
    int refs; /* 1 while handles are open, +1 per open exchange */
    llhttp_t parser;
    eim_buf_t head; /* url, then header names and values, as received */
    size_t url_len;
    header_span_t headers[EIM_HTTP_MAX_HEADERS];
    size_t header_count;
    last_cb_t last;
    int reject_status; /* set by a callback that refuses the request */
    eim_buf_t body;
    eim_buf_t pending; /* received but not parsed (parser paused) */
    eim_http_exchange_t *exchange;
    bool keep_alive;
    bool closing;
    bool parsing;           /* inside llhttp_execute */
    eim_tls_session_t *tls; /* HTTPS only */
    char peer[64];          /* "ip:port" / "[ip6]:port" of the client */
    conn_t *prev, *next;
};

struct eim_http_server {
    uv_loop_t *loop;
    eim_http_server_options_t options;
    char *name;
    char address[64];
    uv_tcp_t listener;
    bool listening;
    bool draining; /* stopped accepting: close connections after their exchange */
    bool closing;
    int conn_structs; /* allocated connections, closed or not */
    int open_handles; /* listener */
    llhttp_settings_t settings;
    conn_t *conns;
    int conn_count;
    size_t in_flight;
    void (*closed)(void *ctx);
    void *closed_ctx;
    eim_metrics_t *metrics;
    eim_gauge_t *m_connections;
    eim_counter_t *m_rejected;
    eim_tls_context_t *tls;
};

typedef struct {
    uv_write_t req;
    conn_t *conn;
    char *data;
    bool close_after;
} write_req_t;

static void conn_close(conn_t *conn);
static void conn_parse(conn_t *conn, const char *data, size_t len);
static void maybe_free_server(eim_http_server_t *server);
static void tls_pump(conn_t *conn);
static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

const char *eim_http_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

const char *eim_http_request_header(const eim_http_request_t *request, const char *name)
{
    for (size_t i = 0; i < request->header_count; i++)
        if (strcasecmp(request->headers[i].name, name) == 0)
            return request->headers[i].value;
    return NULL;
}

static void count_response(eim_http_server_t *server, int status)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "listener=\"%s\",code=\"%d\"", server->name, status);
    eim_counter_inc(eim_metrics_counter(server->metrics, "eimd_http_responses_total",
                                        "HTTP responses sent, by listener and status.", labels));
}

/* --- connection lifetime ------------------------------------------------- */

static void conn_release(conn_t *conn)
{
    if (--conn->refs > 0)
        return;
    eim_http_server_t *server = conn->server;
    eim_buf_free(&conn->head);
    eim_buf_free(&conn->body);
    eim_buf_free(&conn->pending);
    eim_tls_session_free(conn->tls);
    free(conn);
    server->conn_structs--;
    maybe_free_server(server);
}

static void on_conn_handle_closed(uv_handle_t *handle)
{
    conn_t *conn = handle->data;
    if (--conn->open_handles == 0)
        conn_release(conn);
}

static void conn_close(conn_t *conn)
{
    if (conn->closing)
        return;
    if (conn->tls && eim_tls_session_established(conn->tls)) {
        /* best effort close_notify: only when nothing else is queued, which
         * is the case for idle and draining connections (a response that
         * closes the connection carries its close_notify itself) */
        eim_tls_session_shutdown(conn->tls);
        uint8_t *data;
        size_t len;
        if (eim_tls_session_take_output(conn->tls, &data, &len)) {
            uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
            (void)uv_try_write((uv_stream_t *)&conn->tcp, &buf, 1);
            free(data);
        }
    }
    conn->closing = true;
    eim_http_server_t *server = conn->server;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    server->conn_count--;
    eim_gauge_set(server->m_connections, server->conn_count);
    uv_close((uv_handle_t *)&conn->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&conn->idle, on_conn_handle_closed);
}

static void count_handshake(eim_http_server_t *server, const char *result)
{
    char labels[128];
    snprintf(labels, sizeof(labels), "listener=\"%s\",result=\"%s\"", server->name, result);
    eim_counter_inc(eim_metrics_counter(server->metrics, "eimd_tls_handshakes_total",
                                        "TLS handshakes by listener and result (ok, resumed, "
                                        "failed, not_tls, timeout, aborted).",
                                        labels));
}

static void on_idle_timeout(uv_timer_t *timer)
{
    conn_t *conn = timer->data;
    if (conn->tls && !eim_tls_session_established(conn->tls)) {
        count_handshake(conn->server, "timeout");
        eim_log_debug("tls handshake timed out", "listener", conn->server->name);
    }
    if (!conn->exchange)
        conn_close(conn);
}

static void touch(conn_t *conn)
{
    uv_timer_start(&conn->idle, on_idle_timeout, (uint64_t)conn->server->options.idle_timeout_ms,
                   0);
}

/* --- writing ------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    conn_t *conn = w->conn;
    if (status < 0 || w->close_after)
        conn_close(conn);
    free(w->data);
    free(w);
    conn_release(conn);
}

/* Queues data (heap, taken over) on the socket; closes after it if asked. */
static void conn_write(conn_t *conn, uint8_t *data, size_t len, bool close_after)
{
    write_req_t *w = EIM_NEW(write_req_t);
    w->conn = conn;
    w->data = (char *)data;
    w->close_after = close_after;
    conn->refs++;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    if (conn->closing || uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, on_written) != 0) {
        free(w->data);
        free(w);
        conn_release(conn);
        conn_close(conn);
    }
}

/* Sends what the TLS session queued (handshake flights, alerts, records). */
static void tls_flush(conn_t *conn, bool close_after)
{
    uint8_t *data;
    size_t len;
    if (eim_tls_session_take_output(conn->tls, &data, &len))
        conn_write(conn, data, len, close_after);
    else if (close_after)
        conn_close(conn);
}

/* Plaintext out: straight to the socket, or through TLS. Takes data. */
static void conn_send_plain(conn_t *conn, uint8_t *data, size_t len, bool close_after)
{
    if (!conn->tls) {
        conn_write(conn, data, len, close_after);
        return;
    }
    if (conn->closing) {
        free(data);
        return;
    }
    eim_err_t err = eim_tls_session_write(conn->tls, data, len);
    free(data);
    if (err) {
        conn_close(conn);
        return;
    }
    if (close_after)
        eim_tls_session_shutdown(conn->tls);
    tls_flush(conn, close_after);
}

static void send_response(conn_t *conn, int status, const char *content_type,
                          const char *extra_headers, const void *body, size_t body_len,
                          bool close_after)
{
    eim_buf_t out;
    eim_buf_init(&out, SIZE_MAX / 2);
    eim_buf_printf(&out, "HTTP/1.1 %d %s\r\n", status, eim_http_status_text(status));
    if (content_type && status != 204)
        eim_buf_printf(&out, "Content-Type: %s\r\n", content_type);
    if (status != 204)
        eim_buf_printf(&out, "Content-Length: %zu\r\n", body_len);
    if (close_after)
        eim_buf_append_str(&out, "Connection: close\r\n");
    if (extra_headers)
        eim_buf_append_str(&out, extra_headers);
    eim_buf_append_str(&out, "\r\n");
    if (status != 204)
        eim_buf_append(&out, body, body_len);
    count_response(conn->server, status);
    conn_send_plain(conn, out.data, out.len, close_after);
}

/* An error found while parsing: answer it and close. */
static void reject(conn_t *conn, int status)
{
    static const char body[] = "{\"error\":\"bad request\"}";
    uv_read_stop((uv_stream_t *)&conn->tcp);
    if (conn->server->options.problem_details) {
        /* RFC 9457 for listeners whose clients expect it (the REST API) */
        char problem[256];
        int n = snprintf(problem, sizeof(problem),
                         "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,"
                         "\"detail\":\"%s\"}",
                         eim_http_status_text(status), status,
                         status == 413   ? "the request body exceeds the configured limit"
                         : status == 431 ? "the request head exceeds the configured limit"
                                         : "the request is not valid HTTP/1.1");
        send_response(conn, status, "application/problem+json", NULL, problem, (size_t)n, true);
        return;
    }
    send_response(conn, status, "application/json", NULL, body, sizeof(body) - 1, true);
}

/* --- llhttp callbacks ---------------------------------------------------- */

static conn_t *conn_of(llhttp_t *p)
{
    return p->data;
}

static int append_head(conn_t *conn, const char *at, size_t len)
{
    if (eim_buf_append(&conn->head, at, len) != EIM_OK) {
        conn->reject_status = 431;
        return -1;
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    conn_t *conn = conn_of(p);
    eim_buf_reset(&conn->head);
    eim_buf_reset(&conn->body);
    conn->url_len = 0;
    conn->header_count = 0;
    conn->last = LAST_NONE;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    conn_t *conn = conn_of(p);
    conn->url_len += len;
    return append_head(conn, at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    conn_t *conn = conn_of(p);
    if (conn->last != LAST_FIELD) {
        if (conn->header_count == EIM_HTTP_MAX_HEADERS) {
            conn->reject_status = 431;
            return -1;
        }
        header_span_t *h = &conn->headers[conn->header_count++];
        memset(h, 0, sizeof(*h));
        h->name_off = conn->head.len;
        conn->last = LAST_FIELD;
    }
    conn->headers[conn->header_count - 1].name_len += len;
    return append_head(conn, at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    conn_t *conn = conn_of(p);
    header_span_t *h = &conn->headers[conn->header_count - 1];
    if (conn->last != LAST_VALUE) {
        h->value_off = conn->head.len;
        conn->last = LAST_VALUE;
    }
    h->value_len += len;
    return append_head(conn, at, len);
}

static int on_headers_complete(llhttp_t *p)
{
    conn_t *conn = conn_of(p);
    if ((p->flags & F_CONTENT_LENGTH) &&
        p->content_length > (uint64_t)conn->server->options.max_body_bytes) {
        conn->reject_status = 413;
        return -1;
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    conn_t *conn = conn_of(p);
    if (eim_buf_append(&conn->body, at, len) != EIM_OK) {
        conn->reject_status = 413;
        return -1;
    }
    return 0;
}

static void add_string(eim_buf_t *strings, size_t *offsets, size_t index, const void *data,
                       size_t len)
{
    offsets[index] = strings->len;
    eim_buf_append(strings, data, len);
    eim_buf_append_byte(strings, 0);
}

static int on_message_complete(llhttp_t *p)
{
    conn_t *conn = conn_of(p);
    eim_http_exchange_t *ex = EIM_NEW(eim_http_exchange_t);
    ex->conn = conn;
    eim_buf_init(&ex->strings, SIZE_MAX / 2);

    /* Copy everything into NUL-terminated strings first, then point at
     * them (the buffer may move while growing). */
    size_t offsets[3 + 2 * EIM_HTTP_MAX_HEADERS];
    const char *method = llhttp_method_name((llhttp_method_t)p->method);
    const char *url = (const char *)conn->head.data;
    const char *question = memchr(url, '?', conn->url_len);
    size_t path_len = question ? (size_t)(question - url) : conn->url_len;
    add_string(&ex->strings, offsets, 0, method, strlen(method));
    add_string(&ex->strings, offsets, 1, url, path_len);
    if (question)
        add_string(&ex->strings, offsets, 2, question + 1, conn->url_len - path_len - 1);
    else
        add_string(&ex->strings, offsets, 2, "", 0);
    for (size_t i = 0; i < conn->header_count; i++) {
        const header_span_t *h = &conn->headers[i];
        add_string(&ex->strings, offsets, 3 + 2 * i, conn->head.data + h->name_off, h->name_len);
        add_string(&ex->strings, offsets, 4 + 2 * i, conn->head.data + h->value_off, h->value_len);
    }
    const char *base = (const char *)ex->strings.data;
    eim_http_request_t *req = &ex->request;
    req->method = base + offsets[0];
    req->path = base + offsets[1];
    req->query = base + offsets[2];
    req->header_count = conn->header_count;
    for (size_t i = 0; i < conn->header_count; i++) {
        req->headers[i].name = base + offsets[3 + 2 * i];
        req->headers[i].value = base + offsets[4 + 2 * i];
    }
    /* the body buffer stays with the connection until the exchange ends */
    req->body = conn->body.data;
    req->body_len = conn->body.len;
    req->peer = conn->peer;

    conn->keep_alive = llhttp_should_keep_alive(p) && !conn->server->draining;
    conn->exchange = ex;
    conn->refs++;
    conn->server->in_flight++;
    uv_timer_stop(&conn->idle);
    conn->server->options.handler(ex, req, conn->server->options.handler_ctx);
    /* Answered already (eim_http_respond ran inside the handler): go on with
     * the next pipelined request, unless the connection is ending. */
    if (conn->exchange != ex)
        return conn->keep_alive && !conn->closing && !conn->server->draining ? 0 : HPE_PAUSED;
    /* pause: nothing more is parsed until the exchange is answered */
    return HPE_PAUSED;
}

/* --- reading ------------------------------------------------------------- */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    static char slab[65536]; /* one loop thread: data is parsed before the next read */
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void conn_parse(conn_t *conn, const char *data, size_t len)
{
    if (conn->closing)
        return;
    if (conn->exchange || llhttp_get_errno(&conn->parser) == HPE_PAUSED) {
        /* paused: keep the bytes for after the response */
        if (eim_buf_append(&conn->pending, data, len) != EIM_OK)
            conn->keep_alive = false;
        return;
    }
    conn->parsing = true;
    llhttp_errno_t err = llhttp_execute(&conn->parser, data, len);
    conn->parsing = false;
    if (err == HPE_OK)
        return;
    if (err == HPE_PAUSED) {
        /* keep what follows the request for after the response */
        const char *stop = llhttp_get_error_pos(&conn->parser);
        size_t used = stop ? (size_t)(stop - data) : len;
        if (used < len && eim_buf_append(&conn->pending, data + used, len - used) != EIM_OK) {
            conn->keep_alive = false;
        }
        uv_read_stop((uv_stream_t *)&conn->tcp);
        return;
    }
    if (conn->exchange)
        return; /* already answering; the connection closes after it */
    reject(conn, conn->reject_status ? conn->reject_status : 400);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *conn = stream->data;
    if (nread < 0) {
        if (conn->tls && !eim_tls_session_established(conn->tls))
            count_handshake(conn->server, "aborted");
        if (!conn->exchange)
            conn_close(conn);
        else
            conn->keep_alive = false;
        uv_read_stop(stream);
        return;
    }
    if (nread == 0)
        return;
    if (!conn->tls) {
        touch(conn);
        conn_parse(conn, buf->base, (size_t)nread);
        return;
    }
    if (eim_tls_session_feed(conn->tls, (const uint8_t *)buf->base, (size_t)nread) != EIM_OK) {
        /* more undecrypted input than the bound: a peer ignoring flow control */
        conn_close(conn);
        return;
    }
    if (!eim_tls_session_established(conn->tls)) {
        eim_http_server_t *server = conn->server;
        eim_tls_handshake_t hs = eim_tls_session_handshake(conn->tls);
        if (hs == EIM_TLS_HANDSHAKE_WANT_MORE) {
            tls_flush(conn, false); /* the server flight, if one is due */
            return;
        }
        if (hs != EIM_TLS_HANDSHAKE_DONE) {
            const char *result = hs == EIM_TLS_HANDSHAKE_NOT_TLS ? "not_tls" : "failed";
            count_handshake(server, result);
            eim_log_debug("tls handshake failed", "listener", server->name, "result", result,
                          "reason", eim_tls_session_failure(conn->tls), "sni",
                          eim_tls_session_sni(conn->tls));
            uv_read_stop(stream);
            tls_flush(conn, true); /* the alert, then close */
            return;
        }
        bool resumed = eim_tls_session_resumed(conn->tls);
        count_handshake(server, resumed ? "resumed" : "ok");
        char labels[160];
        snprintf(labels, sizeof(labels),
                 "listener=\"%s\",version=\"%s\",certificate=\"%s\",sni=\"%s\"", server->name,
                 eim_tls_session_version(conn->tls),
                 eim_tls_session_raw_public_key(conn->tls) ? "raw_public_key" : "x509",
                 eim_tls_session_sni_present(conn->tls) ? "present" : "absent");
        eim_counter_inc(eim_metrics_counter(server->metrics, "eimd_tls_sessions_total",
                                            "Established TLS sessions by listener, version, "
                                            "server certificate type and SNI presence.",
                                            labels));
        if (eim_log_enabled(EIM_LOG_DEBUG))
            eim_log_debug("tls handshake", "listener", server->name, "version",
                          eim_tls_session_version(conn->tls), "cipher",
                          eim_tls_session_cipher(conn->tls), "sni", eim_tls_session_sni(conn->tls),
                          "resumed", resumed ? "true" : "false", "certificate",
                          eim_tls_session_raw_public_key(conn->tls) ? "raw_public_key" : "x509");
        tls_flush(conn, false); /* the final flight and any tickets */
    }
    touch(conn);
    tls_pump(conn);
}

/* Decrypts and parses until an exchange opens, the input runs dry or the
 * connection ends. Returns with reading stopped when records remain. */
static void tls_pump(conn_t *conn)
{
    while (!conn->exchange && !conn->closing) {
        static uint8_t plain[16384]; /* one loop thread; parsed before the next call */
        ssize_t n = eim_tls_session_read(conn->tls, plain, sizeof(plain));
        if (n > 0) {
            conn_parse(conn, (const char *)plain, (size_t)n);
            continue;
        }
        if (n == EIM_TLS_READ_WANT_MORE)
            break;
        /* close_notify or a failed record: end after the open exchange */
        uv_read_stop((uv_stream_t *)&conn->tcp);
        if (n == EIM_TLS_READ_FAILED)
            eim_log_debug("tls record failed", "listener", conn->server->name, "reason",
                          eim_tls_session_failure(conn->tls));
        conn->keep_alive = false;
        if (!conn->exchange)
            conn_close(conn);
        return;
    }
    if (!conn->closing)
        tls_flush(conn, false); /* alerts or post-handshake messages */
}

void eim_http_respond(eim_http_exchange_t *ex, int status, const char *content_type,
                      const char *extra_headers, const void *body, size_t body_len)
{
    conn_t *conn = ex->conn;
    eim_http_server_t *server = conn->server;
    server->in_flight--;
    conn->exchange = NULL;
    bool keep = conn->keep_alive && !server->draining && !conn->closing;
    if (!conn->closing)
        send_response(conn, status, content_type, extra_headers, body, body_len, !keep);
    eim_buf_free(&ex->strings);
    free(ex);
    if (keep && conn->parsing) {
        /* answered from inside the handler: on_message_complete goes on */
        touch(conn);
    } else if (keep) {
        llhttp_resume(&conn->parser);
        touch(conn);
        if (conn->pending.len) {
            /* parse what arrived meanwhile; it may open the next exchange */
            eim_buf_t pending = conn->pending;
            eim_buf_init(&conn->pending, pending.max);
            conn_parse(conn, (const char *)pending.data, pending.len);
            eim_buf_free(&pending);
        }
        if (conn->tls && !conn->exchange && !conn->closing)
            tls_pump(conn); /* records that waited while the exchange was open */
        if (!conn->exchange && !conn->closing)
            uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
    }
    conn_release(conn);
}

/* --- accepting ----------------------------------------------------------- */

/* The client's address, for logs and for transports that record where a
 * device was last seen. */
static void format_peer(conn_t *conn)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    conn->peer[0] = '\0';
    if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&ss, &len) == 0)
        eim_address_format((const struct sockaddr *)&ss, conn->peer, sizeof(conn->peer));
}

static void on_connection(uv_stream_t *listener, int status)
{
    eim_http_server_t *server = listener->data;
    if (status < 0)
        return;
    conn_t *conn = EIM_NEW(conn_t);
    server->conn_structs++;
    conn->server = server;
    conn->refs = 1;
    uv_tcp_init(server->loop, &conn->tcp);
    uv_timer_init(server->loop, &conn->idle);
    conn->tcp.data = conn;
    conn->idle.data = conn;
    conn->open_handles = 2;
    eim_buf_init(&conn->head, (size_t)server->options.max_header_bytes);
    eim_buf_init(&conn->body, (size_t)server->options.max_body_bytes);
    eim_buf_init(&conn->pending,
                 (size_t)server->options.max_header_bytes + (size_t)server->options.max_body_bytes);
    llhttp_init(&conn->parser, HTTP_REQUEST, &server->settings);
    conn->parser.data = conn;
    conn->next = server->conns;
    if (server->conns)
        server->conns->prev = conn;
    server->conns = conn;
    server->conn_count++;
    eim_gauge_set(server->m_connections, server->conn_count);
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        conn_close(conn);
        return;
    }
    if (server->conn_count > server->options.max_connections) {
        eim_counter_inc(server->m_rejected);
        conn_close(conn);
        return;
    }
    uv_tcp_nodelay(&conn->tcp, 1);
    format_peer(conn);
    if (server->tls) {
        /* one read slab plus one partial record may wait undecrypted */
        conn->tls = eim_tls_session_new(server->tls, 65536 + 18432);
        uv_timer_start(&conn->idle, on_idle_timeout, (uint64_t)server->options.handshake_timeout_ms,
                       0);
    } else {
        touch(conn);
    }
    uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
}

eim_http_server_t *eim_http_server_start(uv_loop_t *loop, const eim_http_server_options_t *options)
{
    struct sockaddr_storage addr;
    if (eim_address_parse(options->listen, &addr) != EIM_OK) {
        eim_log_error("invalid listen address", "listener", options->name, "address",
                      options->listen);
        return NULL;
    }

    eim_http_server_t *server = EIM_NEW(eim_http_server_t);
    server->loop = loop;
    server->options = *options;
    server->name = eim_strdup(options->name);
    server->options.name = server->name;
    server->options.listen = NULL;
    server->metrics = options->metrics;
    server->tls = options->tls ? eim_tls_context_acquire(options->tls) : NULL;
    server->options.tls = NULL;
    if (server->tls && server->options.handshake_timeout_ms <= 0)
        server->options.handshake_timeout_ms = 10000;
    char labels[64];
    snprintf(labels, sizeof(labels), "listener=\"%s\"", server->name);
    server->m_connections = eim_metrics_gauge(server->metrics, "eimd_http_connections",
                                              "Open HTTP connections.", labels);
    server->m_rejected =
        eim_metrics_counter(server->metrics, "eimd_http_connections_rejected_total",
                            "Connections closed on accept (max_connections).", labels);
    llhttp_settings_init(&server->settings);
    server->settings.on_message_begin = on_message_begin;
    server->settings.on_url = on_url;
    server->settings.on_header_field = on_header_field;
    server->settings.on_header_value = on_header_value;
    server->settings.on_headers_complete = on_headers_complete;
    server->settings.on_body = on_body;
    server->settings.on_message_complete = on_message_complete;

    uv_tcp_init(loop, &server->listener);
    server->listener.data = server;
    server->open_handles = 1;
    int rc = uv_tcp_bind(&server->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server->listener, 511, on_connection);
    if (rc != 0) {
        eim_log_error("cannot listen", "listener", server->name, "address", options->listen,
                      "reason", uv_strerror(rc));
        eim_http_server_close(server, NULL, NULL);
        return NULL;
    }
    server->listening = true;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    if (uv_tcp_getsockname(&server->listener, (struct sockaddr *)&bound, &len) == 0)
        eim_address_format((const struct sockaddr *)&bound, server->address,
                           sizeof(server->address));
    return server;
}

const char *eim_http_server_address(const eim_http_server_t *server)
{
    return server->address;
}

size_t eim_http_server_in_flight(const eim_http_server_t *server)
{
    return server->in_flight;
}

static void maybe_free_server(eim_http_server_t *server)
{
    if (!server->closing || server->open_handles > 0 || server->conn_structs > 0)
        return;
    void (*closed)(void *) = server->closed;
    void *ctx = server->closed_ctx;
    if (server->tls)
        eim_tls_context_release(server->tls);
    free(server->name);
    free(server);
    if (closed)
        closed(ctx);
}

static void on_listener_closed(uv_handle_t *handle)
{
    eim_http_server_t *server = handle->data;
    server->open_handles--;
    maybe_free_server(server);
}

void eim_http_server_stop_accepting(eim_http_server_t *server)
{
    if (!server->listening)
        return;
    server->listening = false;
    server->draining = true;
    uv_close((uv_handle_t *)&server->listener, on_listener_closed);
    /* idle keep-alive connections have nothing in flight: close them now */
    conn_t *conn = server->conns;
    while (conn) {
        conn_t *next = conn->next;
        if (!conn->exchange)
            conn_close(conn);
        conn = next;
    }
}

void eim_http_server_close(eim_http_server_t *server, void (*closed)(void *ctx), void *ctx)
{
    server->closed = closed;
    server->closed_ctx = ctx;
    if (server->listening) {
        eim_http_server_stop_accepting(server);
    } else if (server->open_handles > 0 && !uv_is_closing((uv_handle_t *)&server->listener)) {
        uv_close((uv_handle_t *)&server->listener, on_listener_closed);
    }
    server->closing = true;
    while (server->conns)
        conn_close(server->conns);
    maybe_free_server(server);
}
