/*
 * ESipa over HTTP(S): the HTTP binding of the ESipa dispatcher (SGP.32
 * §6.1.1 and §6.3 ASN.1 binding on POST /gsma/rsp2/asn1, §6.4 JSON binding
 * on POST /gsma/rsp2/esipa/<function>; brief §4.1, §4.2).
 *
 * Status mapping: 200 with the response body, 204 for HandleNotification,
 * 400 undecodable or unattributable, 405 not POST, 411 no length, 413 body
 * too large (from the HTTP server), 415 wrong Content-Type, 429 with
 * Retry-After when the EID polls faster than allowed, 501 a function
 * eimd does not implement yet (indirect download, inject mode), 503 with
 * Retry-After when the database is unavailable, 500 otherwise. Any
 * X-Admin-Protocol gsma/rsp/v* is accepted and echoed; User-Agent is not
 * checked. Nothing is keyed on the connection.
 */
#ifndef EIM_SERVER_ESIPA_ESIPA_HTTP_H
#define EIM_SERVER_ESIPA_ESIPA_HTTP_H

#include "server/esipa/dispatcher.h"
#include "server/http/http_server.h"

/* eim_http_handler_fn; ctx is the eim_esipa_dispatcher_t. */
void eim_esipa_http_handle(eim_http_exchange_t *exchange, const eim_http_request_t *request,
                           void *ctx);

#endif
