/*
 * The CoAP server side of ESipa (SGP.32 §6.2/§6.5, brief §4.3): message
 * layer and request/response layer of RFC 7252 plus block-wise transfers of
 * RFC 7959, independent of the transport underneath.
 *
 * A transport (DTLS sessions in production, plain UDP in tests) hands every
 * datagram it received for a session to eim_coap_endpoint_input together
 * with a stable session key (not the address: a DTLS session with a
 * Connection ID keeps its key when the device's address changes) and the
 * peer's current address text. Everything the endpoint sends for a session
 * goes through the send callback with the same key.
 *
 * What the endpoint does:
 *  - accepts POST on one resource (default "gsma/rsp2/asn1"); other paths
 *    4.04, other methods 4.05, an unacceptable Content-Format 4.15, an
 *    unrecognised critical option 4.02 (§5.4.1), an empty body 4.00; every
 *    error carries a diagnostic payload (§5.5.2);
 *  - CON and NON requests (§4.2, §4.3); a CON request whose answer is ready
 *    within piggyback_ms is answered in the ACK (§5.2.1), otherwise an empty
 *    ACK goes out and the answer follows as a separate CON response
 *    (§5.2.2), retransmitted with ACK_TIMEOUT, ACK_RANDOM_FACTOR and
 *    MAX_RETRANSMIT (§4.2, §4.8) until the client acknowledges it;
 *  - deduplication (§4.5): a request with a message ID seen in the same
 *    session within EXCHANGE_LIFETIME (NON_LIFETIME for NON, §4.8.2) is
 *    answered from the cache (or with the empty ACK again while it runs)
 *    and never handed to the handler twice;
 *  - Block2 (RFC 7959 §2.4): responses larger than the block size are
 *    served block by block from a per-session copy, with ETag and Size2;
 *    Block1 (§2.5): request bodies are reassembled (2.31 Continue per
 *    block, 4.08 for a block out of order, 4.13 with Size1 beyond
 *    max_body_bytes); a single datagram larger than max_datagram_bytes is
 *    answered 4.13 as well;
 *  - a CoAP ping (empty CON, §4.3) gets a Reset; a malformed CON a Reset.
 *
 * Bounds: sessions (max_sessions), exchanges kept per session
 * (max_exchanges_per_session), bytes of cached responses, reassembly
 * buffers and Block2 bodies over all sessions (max_cache_bytes; the least
 * recently active sessions give theirs up first). Session state that is
 * idle past EXCHANGE_LIFETIME is dropped by one periodic sweep that visits
 * only expired sessions (oldest-first list), never all of them.
 *
 * Timers: one libuv timer per exchange that waits (piggyback window or
 * retransmission), one sweep timer per endpoint.
 *
 * Metrics (when options.metrics is set): eimd_coap_requests_total{code},
 * eimd_coap_retransmissions_total, eimd_coap_duplicates_total,
 * eimd_coap_drops_total{reason}, eimd_coap_sessions, eimd_coap_cache_bytes.
 */
#ifndef EIM_SERVER_COAP_COAP_ENDPOINT_H
#define EIM_SERVER_COAP_COAP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "proto/base/metrics.h"
#include "server/coap/coap_codec.h"

#define EIM_COAP_MAX_KEY  32
#define EIM_COAP_MAX_PEER 64

typedef struct {
    uint8_t len;
    uint8_t bytes[EIM_COAP_MAX_KEY];
} eim_coap_key_t;

typedef struct eim_coap_endpoint eim_coap_endpoint_t;
typedef struct eim_coap_exchange eim_coap_exchange_t;

/* Sends one datagram for the session; data is valid during the call only. */
typedef void (*eim_coap_send_fn)(const eim_coap_key_t *session, const uint8_t *data, size_t len,
                                 void *ctx);

typedef struct {
    const eim_coap_key_t *session;
    const char *peer; /* current address text of the session */
    const char *path; /* joined Uri-Path */
    const uint8_t *body;
    size_t body_len;
    int content_format; /* EIM_COAP_FORMAT_NONE when absent */
    bool confirmable;
} eim_coap_request_t;

/* Called once per complete request. The request (and its body) is valid
 * during the call only; the exchange until eim_coap_respond. */
typedef void (*eim_coap_handler_fn)(eim_coap_exchange_t *exchange,
                                    const eim_coap_request_t *request, void *ctx);

typedef struct {
    uint8_t code; /* EIM_COAP_CHANGED, EIM_COAP_CONTENT, ... */
    const uint8_t *body;
    size_t body_len;
    int content_format; /* EIM_COAP_FORMAT_NONE: no option */
    int64_t max_age_s;  /* < 0: no Max-Age option */
} eim_coap_response_t;

typedef struct {
    uv_loop_t *loop;
    eim_coap_send_fn send;
    void *send_ctx;
    eim_coap_handler_fn handler;
    void *handler_ctx;
    eim_metrics_t *metrics;           /* optional */
    const char *resource_path;        /* default "gsma/rsp2/asn1" */
    int extra_content_format;         /* accepted besides none and 42; <0: none */
    uint32_t ack_timeout_ms;          /* RFC 7252 ACK_TIMEOUT; default 2000 */
    double ack_random_factor;         /* default 1.5 */
    unsigned max_retransmit;          /* default 4 */
    uint32_t piggyback_ms;            /* answer in the ACK if ready within; 0: default 500 */
    uint32_t exchange_lifetime_ms;    /* default 247000 (§4.8.2) */
    uint32_t non_lifetime_ms;         /* default 145000 */
    uint8_t block_szx;                /* 0..6; default 6 (1024-byte blocks) */
    size_t max_datagram_bytes;        /* single request datagram; default 1400 */
    size_t max_body_bytes;            /* reassembled request body; default 65536 */
    size_t max_exchanges_per_session; /* default 8 */
    size_t max_sessions;              /* default 100000 */
    size_t max_cache_bytes;           /* default 32 MiB */
    uint32_t sweep_interval_ms;       /* default 1000 */
} eim_coap_endpoint_options_t;

eim_coap_endpoint_t *eim_coap_endpoint_new(const eim_coap_endpoint_options_t *options);

/* Drops every session. Exchanges still with the handler stay valid until
 * answered (their answer is then discarded). The endpoint's memory is
 * released once the loop has run its close callbacks. */
void eim_coap_endpoint_free(eim_coap_endpoint_t *endpoint);

/* One datagram received for a session (data read during the call only). */
void eim_coap_endpoint_input(eim_coap_endpoint_t *endpoint, const eim_coap_key_t *session,
                             const char *peer, const uint8_t *data, size_t len);

/* The transport ended the session for good: drop its state. */
void eim_coap_endpoint_forget(eim_coap_endpoint_t *endpoint, const eim_coap_key_t *session);

/* Answers an exchange (exactly once, at once or later). */
void eim_coap_respond(eim_coap_exchange_t *exchange, const eim_coap_response_t *response);

/* Convenience: an error code with a diagnostic payload (RFC 7252 §5.5.2). */
void eim_coap_respond_error(eim_coap_exchange_t *exchange, uint8_t code, const char *diagnostic,
                            int64_t max_age_s);

/* The request's Content-Format (EIM_COAP_FORMAT_NONE when absent). */
int eim_coap_exchange_request_format(const eim_coap_exchange_t *exchange);

size_t eim_coap_endpoint_in_flight(const eim_coap_endpoint_t *endpoint);
size_t eim_coap_endpoint_sessions(const eim_coap_endpoint_t *endpoint);
size_t eim_coap_endpoint_cache_bytes(const eim_coap_endpoint_t *endpoint);

/* Key helpers. */
void eim_coap_key_set(eim_coap_key_t *key, const void *bytes, size_t len);

#endif
