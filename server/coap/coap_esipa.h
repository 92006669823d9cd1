/*
 * ESipa over CoAP (SGP.32 §6.2/§6.5, brief §4.3): the CoAP endpoint's
 * handler that hands each complete POST /gsma/rsp2/asn1 body (one
 * EsipaMessageFromIpaToEim, ASN.1 binding) to the transport-blind ESipa
 * dispatcher and maps its reply to a CoAP response:
 *
 *   OK_BODY      2.05 Content with the EsipaMessageFromEimToIpa
 *   NO_CONTENT   2.04 Changed without payload (HandleNotification)
 *   BAD_REQUEST  4.00 with a diagnostic payload (RFC 7252 §5.5.2)
 *   UNSUPPORTED  5.01 Not Implemented
 *   UNAVAILABLE  5.03 Service Unavailable, Max-Age = retry-after (§5.9.3.4)
 *   INTERNAL     5.00 Internal Server Error
 *
 * The response Content-Format echoes the request's (none or 42).
 * docs/interpretation-log.md ("ESipa over CoAP") records these readings.
 *
 * The dispatcher is reached through a function pointer so that tests can
 * put a fake behind the same adapter. Without a dispatcher (and without a
 * fake) every request is answered 5.03 with Max-Age 60.
 */
#ifndef EIM_SERVER_COAP_COAP_ESIPA_H
#define EIM_SERVER_COAP_COAP_ESIPA_H

#include "server/coap/coap_endpoint.h"
#include "server/esipa/dispatcher.h"

typedef void (*eim_coap_esipa_dispatch_fn)(eim_esipa_dispatcher_t *dispatcher,
                                           const eim_esipa_request_t *request, const uint8_t *body,
                                           size_t body_len, eim_esipa_reply_cb cb, void *ctx);

typedef struct {
    eim_esipa_dispatcher_t *dispatcher;
    eim_coap_esipa_dispatch_fn dispatch; /* NULL: eim_esipa_dispatch */
    const char *transport;               /* "coaps" (default) */
} eim_coap_esipa_t;

/* The eim_coap_handler_fn to put in the endpoint options, with an
 * eim_coap_esipa_t (kept alive by the caller) as handler_ctx. */
void eim_coap_esipa_handler(eim_coap_exchange_t *exchange, const eim_coap_request_t *request,
                            void *ctx);

/* Maps one dispatcher reply onto the exchange (exposed for tests). */
void eim_coap_esipa_answer(eim_coap_exchange_t *exchange, const eim_esipa_reply_t *reply);

#endif
