/*
 * CoAP over DTLS ("coaps", RFC 7252 §9.1; SGP.32 §6.2): glue between the
 * DTLS session layer (server/dtls/) and the CoAP endpoint.
 *
 * Every decrypted application record of a session is one CoAP message
 * (§9.1.1); it goes to the endpoint under the session's stable key (the
 * CID plus a random id, EIM_DTLS_KEY_SIZE bytes), so a device that comes
 * back from another address, or after its session was parked, still finds
 * its deduplication cache, Block1 reassembly and Block2 body. The peer
 * address handed on is the session's current one.
 *
 * What the endpoint sends for a key goes to the DTLS session of that key,
 * found in an O(1) table of referenced sessions (a reference is taken on
 * the first record of a session and dropped when the DTLS layer reports
 * the session closed, which also drops the CoAP state).
 */
#ifndef EIM_SERVER_COAP_COAP_DTLS_H
#define EIM_SERVER_COAP_COAP_DTLS_H

#include "server/coap/coap_endpoint.h"
#include "server/dtls/dtls_server.h"

typedef struct eim_coap_dtls eim_coap_dtls_t;

/* Creates the endpoint from options (send/send_ctx are set here). Put
 * eim_coap_dtls_on_data / eim_coap_dtls_on_closed with the returned
 * object as ctx into the DTLS server options. */
eim_coap_dtls_t *eim_coap_dtls_new(const eim_coap_endpoint_options_t *options);
/* Drops the session references and frees the endpoint. */
void eim_coap_dtls_free(eim_coap_dtls_t *glue);
eim_coap_endpoint_t *eim_coap_dtls_endpoint(eim_coap_dtls_t *glue);

void eim_coap_dtls_on_data(eim_dtls_session_t *session, const uint8_t *data, size_t len, void *ctx);
void eim_coap_dtls_on_closed(eim_dtls_session_t *session, void *ctx);

#endif
