/*
 * TLS server configuration for the HTTPS listeners (wolfSSL 5.9.2).
 *
 * Follows SGP.32 §2.6 / SGP.22 §2.6.6 as summarised in sgp32-brief §4.1:
 * server authentication only, TLS 1.2 minimum (RFC 5246) and TLS 1.3
 * (RFC 8446) allowed; suites TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 and
 * TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (1.2), TLS_AES_128_GCM_SHA256
 * (1.3); key exchange groups restricted to secp256r1 and brainpoolP256r1
 * (RFC 7027, RFC 8734 for 1.3), which also keeps wolfSSL from choosing its
 * default ML-KEM hybrids.
 *
 * Two wolfSSL contexts share one configuration: one serves the X.509 chain
 * (trust models "full chain" and "pinned certificate", brief §4.4), the
 * other the raw public key (RFC 7250 server_certificate_type). The HTTPS
 * connection picks one per ClientHello (see client_hello.h).
 *
 * Resumption (RFC 5077 for 1.2, RFC 8446 §4.6.1 for 1.3) uses stateless
 * session tickets sealed with AES-128-GCM under a key that rotates on a
 * libuv timer; tickets under the previous key are still accepted and
 * renewed, so a ticket lives between one and two rotation periods.
 *
 * The same contexts serve DTLS (CoAP over DTLS, server/dtls/) when built
 * with a datagram transport: DTLS 1.2 (RFC 6347) minimum, DTLS 1.3
 * (RFC 9147) optional, and TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (RFC 7251)
 * added first for constrained devices.
 *
 * The context is reference-counted: the application holds one reference
 * and each listener using it another; the last release closes the timer
 * and frees the wolfSSL objects. Loop thread only.
 */
#ifndef EIM_SERVER_TLS_TLS_CONTEXT_H
#define EIM_SERVER_TLS_TLS_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "proto/base/error.h"

typedef struct eim_tls_context eim_tls_context_t;
/* wolfSSL's context type, kept opaque here so users need no wolfSSL headers. */
typedef struct WOLFSSL_CTX eim_wolfssl_ctx_t;

typedef enum {
    EIM_TLS_STREAM = 0,      /* TLS 1.2 + 1.3 over TCP */
    EIM_TLS_DATAGRAM = 1,    /* DTLS 1.2 + 1.3 over UDP */
    EIM_TLS_DATAGRAM_12 = 2, /* DTLS 1.2 only */
} eim_tls_transport_t;

typedef struct {
    eim_tls_transport_t transport;
    const char *certificate_chain; /* PEM file: server certificate, then its CA(s) */
    const char *private_key;       /* PEM file: the certificate's key */
    const char *raw_public_key;    /* DER SubjectPublicKeyInfo of the same key; NULL: no RPK */
    int ticket_rotation_ms;        /* session ticket key lifetime (> 0) */
} eim_tls_context_options_t;

/*
 * Builds both contexts and starts the ticket key timer on loop. Files are
 * read here (before the loop serves anything). On failure returns
 * EIM_ERR_CONFIG (a file or key is unusable) or EIM_ERR_CRYPTO and writes a
 * one-line reason to error. On success *out holds one reference.
 */
eim_err_t eim_tls_context_new(uv_loop_t *loop, const eim_tls_context_options_t *options,
                              eim_tls_context_t **out, char *error, size_t error_size);

/* Takes another reference; returns ctx. */
eim_tls_context_t *eim_tls_context_acquire(eim_tls_context_t *ctx);

/* Drops a reference; the last one frees the context once libuv has closed
 * its timer. wolfSSL sessions still alive keep their own wolfSSL reference
 * but must not be used after the last release. */
void eim_tls_context_release(eim_tls_context_t *ctx);

/* The context for a ClientHello: the raw-public-key one when asked for and
 * configured, else the X.509 one. Borrowed. */
eim_wolfssl_ctx_t *eim_tls_context_select(eim_tls_context_t *ctx, bool raw_public_key);

/* Whether a raw public key is configured. */
bool eim_tls_context_has_raw_public_key(const eim_tls_context_t *ctx);

/* Rotates the ticket key now (the timer does it every ticket_rotation_ms). */
void eim_tls_context_rotate_ticket_key(eim_tls_context_t *ctx);

#endif
