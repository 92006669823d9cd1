/*
 * CoAP over plain UDP (RFC 7252 "NoSec" mode, §9) on a libuv socket: a
 * TEST HARNESS transport only. eimd serves devices over DTLS (coap_dtls);
 * this binds the same endpoint to a UDP socket so that third-party CoAP
 * clients and the load generator can exercise the CoAP layer without a
 * security layer. Never expose it to devices: there is no authentication.
 *
 * Session key = the peer's socket address (no address migration without
 * DTLS Connection IDs). Datagrams are received into one 64 KiB slab.
 */
#ifndef EIM_SERVER_COAP_COAP_UDP_H
#define EIM_SERVER_COAP_COAP_UDP_H

#include <uv.h>

#include "proto/base/error.h"
#include "server/coap/coap_endpoint.h"

typedef struct eim_coap_udp eim_coap_udp_t;

/* Binds address ("127.0.0.1:0" for an ephemeral port) and feeds every
 * datagram to the endpoint built from options (send/send_ctx are set by
 * this transport). */
eim_err_t eim_coap_udp_start(uv_loop_t *loop, const char *address,
                             const eim_coap_endpoint_options_t *options, eim_coap_udp_t **out);
int eim_coap_udp_port(const eim_coap_udp_t *udp);
eim_coap_endpoint_t *eim_coap_udp_endpoint(eim_coap_udp_t *udp);
/* Closes the socket and frees the endpoint (memory goes when the loop has
 * run the close callbacks). */
void eim_coap_udp_close(eim_coap_udp_t *udp);

#endif
