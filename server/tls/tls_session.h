/*
 * One server-side TLS connection (RFC 8446, RFC 5246) driven by bytes, not
 * by a socket: the caller feeds the ciphertext it received and sends the
 * ciphertext the session queues. wolfSSL sees custom I/O callbacks over two
 * bounded buffers, so nothing here blocks or touches libuv: the HTTP server
 * owns the socket and the timers, this module owns the TLS state.
 *
 * The wolfSSL object is created only once the first record (the
 * ClientHello) is complete, so that the context (X.509 or RFC 7250 raw
 * public key) can be chosen for it; the SNI host name is recorded from the
 * same record. Output never blocks: queued ciphertext waits in the output
 * buffer until eim_tls_session_take_output.
 */
#ifndef EIM_SERVER_TLS_TLS_SESSION_H
#define EIM_SERVER_TLS_TLS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/base/error.h"
#include "proto/base/memory.h"
#include "server/tls/tls_context.h"

typedef struct eim_tls_session eim_tls_session_t;

typedef enum {
    EIM_TLS_HANDSHAKE_WANT_MORE, /* feed more ciphertext (and send the output) */
    EIM_TLS_HANDSHAKE_DONE,
    EIM_TLS_HANDSHAKE_FAILED, /* send the output (an alert, if any), then close */
    EIM_TLS_HANDSHAKE_NOT_TLS /* the peer did not start with a ClientHello */
} eim_tls_handshake_t;

/* eim_tls_session_read results besides a byte count */
#define EIM_TLS_READ_WANT_MORE 0
#define EIM_TLS_READ_CLOSED    (-1) /* the peer sent close_notify */
#define EIM_TLS_READ_FAILED    (-2)

/* A new session on ctx (one reference taken). max_input bounds the
 * ciphertext held between feed and consumption. */
eim_tls_session_t *eim_tls_session_new(eim_tls_context_t *ctx, size_t max_input);

/* Frees the session without sending anything. */
void eim_tls_session_free(eim_tls_session_t *session);

/* Appends received ciphertext. EIM_ERR_LIMIT when the input bound is hit. */
eim_err_t eim_tls_session_feed(eim_tls_session_t *session, const uint8_t *data, size_t len);

/* Advances the handshake with what was fed. */
eim_tls_handshake_t eim_tls_session_handshake(eim_tls_session_t *session);

/* After the handshake: decrypts up to size bytes of application data into
 * out. Returns the count, EIM_TLS_READ_WANT_MORE, _CLOSED or _FAILED. */
ssize_t eim_tls_session_read(eim_tls_session_t *session, uint8_t *out, size_t size);

/* Encrypts len bytes into the output. */
eim_err_t eim_tls_session_write(eim_tls_session_t *session, const void *data, size_t len);

/* Queues close_notify (RFC 8446 §6.1) once; later calls do nothing. */
void eim_tls_session_shutdown(eim_tls_session_t *session);

/* Moves the queued ciphertext to the caller: *data is heap memory the caller
 * frees, *len its size. Returns false (and NULL) when nothing is queued. */
bool eim_tls_session_take_output(eim_tls_session_t *session, uint8_t **data, size_t *len);

/* About the connection, for logs and metrics. */
bool eim_tls_session_established(const eim_tls_session_t *session);
bool eim_tls_session_resumed(eim_tls_session_t *session);
bool eim_tls_session_raw_public_key(const eim_tls_session_t *session);
const char *eim_tls_session_sni(const eim_tls_session_t *session); /* "" when none */
bool eim_tls_session_sni_present(const eim_tls_session_t *session);
const char *eim_tls_session_version(eim_tls_session_t *session);       /* "TLSv1.3", ... */
const char *eim_tls_session_cipher(eim_tls_session_t *session);        /* IANA-style name */
const char *eim_tls_session_failure(const eim_tls_session_t *session); /* why it failed */

#endif
