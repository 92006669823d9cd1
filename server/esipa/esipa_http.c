/*
 * ESipa over HTTP(S). See esipa_http.h for the routes and the status
 * mapping.
 */
#include "server/esipa/esipa_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/base/memory.h"

#define ASN1_PATH        "/gsma/rsp2/asn1"
#define JSON_PREFIX      "/gsma/rsp2/esipa/"
#define ASN1_TYPE        "application/x-gsma-rsp-asn1"
#define JSON_TYPE        "application/json"
#define ADMIN_PROTOCOL   "X-Admin-Protocol"
#define DEFAULT_PROTOCOL "gsma/rsp/v2.1.0"

typedef struct {
    eim_http_exchange_t *exchange;
    char protocol[64]; /* X-Admin-Protocol to echo */
} pending_t;

static void problem(eim_http_exchange_t *exchange, int status, const char *detail,
                    const char *extra_headers)
{
    char body[512];
    int n = snprintf(body, sizeof(body),
                     "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}",
                     eim_http_status_text(status), status, detail);
    eim_http_respond(exchange, status, "application/problem+json", extra_headers, body,
                     (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1);
}

/* "type/subtype" of a Content-Type value equals want (parameters ignored). */
static bool media_type_is(const char *value, const char *want)
{
    size_t n = strlen(want);
    if (!value || strncasecmp(value, want, n) != 0)
        return false;
    return value[n] == '\0' || value[n] == ';' || value[n] == ' ';
}

static int status_of(eim_esipa_reply_kind_t kind)
{
    switch (kind) {
    case EIM_ESIPA_REPLY_OK_BODY: return 200;
    case EIM_ESIPA_REPLY_NO_CONTENT: return 204;
    case EIM_ESIPA_REPLY_BAD_REQUEST: return 400;
    case EIM_ESIPA_REPLY_UNSUPPORTED: return 501;
    case EIM_ESIPA_REPLY_UNAVAILABLE: return 503;
    case EIM_ESIPA_REPLY_TOO_MANY_REQUESTS: return 429;
    case EIM_ESIPA_REPLY_INTERNAL: break;
    }
    return 500;
}

static void on_reply(const eim_esipa_reply_t *reply, void *ctx)
{
    pending_t *p = ctx;
    int status = status_of(reply->kind);
    char headers[160];
    int n = snprintf(headers, sizeof(headers), "%s: %s\r\n", ADMIN_PROTOCOL, p->protocol);
    if (reply->kind == EIM_ESIPA_REPLY_UNAVAILABLE ||
        reply->kind == EIM_ESIPA_REPLY_TOO_MANY_REQUESTS)
        snprintf(headers + n, sizeof(headers) - (size_t)n, "Retry-After: %d\r\n",
                 reply->retry_after_s > 0 ? reply->retry_after_s : 30);
    if (reply->body && reply->body_len) {
        eim_http_respond(p->exchange, status, reply->content_type, headers, reply->body,
                         reply->body_len);
    } else if (status == 200 || status == 204) {
        eim_http_respond(p->exchange, status, NULL, headers, NULL, 0);
    } else {
        char detail[256];
        /* keep the diagnostic JSON-safe: it comes from our decoders, but be strict */
        size_t j = 0;
        for (const char *c = reply->diagnostic ? reply->diagnostic : "";
             *c && j + 1 < sizeof(detail); c++)
            detail[j++] = (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) ? '\'' : *c;
        detail[j] = '\0';
        problem(p->exchange, status, detail, headers);
    }
    free(p);
}

void eim_esipa_http_handle(eim_http_exchange_t *exchange, const eim_http_request_t *request,
                           void *ctx)
{
    eim_esipa_dispatcher_t *dispatcher = ctx;
    eim_esipa_request_t req = {.transport = "https", .peer = request->peer};
    bool asn1 = strcmp(request->path, ASN1_PATH) == 0;
    bool json = !asn1 && strncmp(request->path, JSON_PREFIX, strlen(JSON_PREFIX)) == 0 &&
                request->path[strlen(JSON_PREFIX)] != '\0';
    if (!asn1 && !json) {
        problem(exchange, 404, "no such ESipa resource", NULL);
        return;
    }
    if (strcmp(request->method, "POST") != 0) {
        problem(exchange, 405, "ESipa functions are called with POST", "Allow: POST\r\n");
        return;
    }
    if (!eim_http_request_header(request, "Content-Length") &&
        !eim_http_request_header(request, "Transfer-Encoding")) {
        problem(exchange, 411, "a request body with Content-Length is required", NULL);
        return;
    }
    const char *type = eim_http_request_header(request, "Content-Type");
    if (!media_type_is(type, asn1 ? ASN1_TYPE : JSON_TYPE)) {
        problem(exchange, 415,
                asn1 ? "Content-Type must be " ASN1_TYPE : "Content-Type must be " JSON_TYPE, NULL);
        return;
    }
    const char *protocol = eim_http_request_header(request, ADMIN_PROTOCOL);
    if (protocol && strncmp(protocol, "gsma/rsp/v", 10) != 0) {
        problem(exchange, 400, "X-Admin-Protocol must be gsma/rsp/v<x.y.z>", NULL);
        return;
    }
    pending_t *p = EIM_NEW(pending_t);
    p->exchange = exchange;
    snprintf(p->protocol, sizeof(p->protocol), "%s",
             protocol && strlen(protocol) < sizeof(p->protocol) ? protocol : DEFAULT_PROTOCOL);
    req.binding = asn1 ? EIM_ESIPA_BINDING_ASN1 : EIM_ESIPA_BINDING_JSON;
    req.json_function = json ? request->path + strlen(JSON_PREFIX) : NULL;
    eim_esipa_dispatch(dispatcher, &req, request->body, request->body_len, on_reply, p);
}
