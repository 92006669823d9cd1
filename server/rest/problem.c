/*
 * RFC 9457 problem details (see problem.h). The type URIs are relative
 * references under /problems/, documented in server/rest/openapi.json.
 */
#include "server/rest/problem.h"

#include <stdlib.h>
#include <string.h>

const char *eim_rest_problem_type(int status)
{
    switch (status) {
    case 400: return "/problems/invalid-request";
    case 401: return "/problems/unauthenticated";
    case 403: return "/problems/forbidden";
    case 404: return "/problems/not-found";
    case 405: return "/problems/method-not-allowed";
    case 409: return "/problems/conflict";
    case 413: return "/problems/too-large";
    case 415: return "/problems/unsupported-media-type";
    case 422: return "/problems/unprocessable";
    case 503: return "/problems/unavailable";
    default: return "about:blank";
    }
}

void eim_rest_problem(eim_http_exchange_t *exchange, int status, const char *detail,
                      const char *instance, json_t *errors, const char *extra_headers)
{
    json_t *body = json_pack("{s:s, s:s, s:i}", "type", eim_rest_problem_type(status), "title",
                             eim_http_status_text(status), "status", status);
    if (detail)
        json_object_set_new(body, "detail", json_string(detail));
    if (instance)
        json_object_set_new(body, "instance", json_string(instance));
    if (errors)
        json_object_set_new(body, "errors", errors);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    eim_http_respond(exchange, status, "application/problem+json", extra_headers, text,
                     strlen(text));
    free(text);
}

void eim_rest_field_problem(eim_http_exchange_t *exchange, int status, const char *field,
                            const char *message, const char *instance)
{
    json_t *errors = json_pack("[{s:s, s:s}]", "field", field, "message", message);
    eim_rest_problem(exchange, status, message, instance, errors, NULL);
}
