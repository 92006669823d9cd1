/*
 * RFC 9457 problem details for the REST API: application/problem+json with
 * type, title, status, detail, instance and, for validation failures, the
 * fields at fault ("errors": [{"field", "message"}]).
 */
#ifndef EIM_SERVER_REST_PROBLEM_H
#define EIM_SERVER_REST_PROBLEM_H

#include <jansson.h>

#include "server/http/http_server.h"

/* The problem type URI of status (a stable name per kind of problem). */
const char *eim_rest_problem_type(int status);

/* Answers exchange with a problem. detail and instance may be NULL; errors
 * (stolen reference, may be NULL) is an array of {field, message};
 * extra_headers as for eim_http_respond. */
void eim_rest_problem(eim_http_exchange_t *exchange, int status, const char *detail,
                      const char *instance, json_t *errors, const char *extra_headers);

/* One-field convenience: errors = [{field, message}], detail = message. */
void eim_rest_field_problem(eim_http_exchange_t *exchange, int status, const char *field,
                            const char *message, const char *instance);

#endif
