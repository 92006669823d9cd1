/*
 * A look at the first TLS record before any TLS state exists (RFC 8446
 * §4.1.2 ClientHello, RFC 5246 §7.4.1.2, RFC 6066 §3 server_name, RFC 7250
 * §3 server_certificate_type).
 *
 * The HTTPS listener needs two facts before it picks a wolfSSL context: the
 * host name the client asked for (SNI: logged and counted, never required)
 * and whether the client wants a raw public key instead of an X.509 chain
 * (SGP.32 trust model "raw public key", sgp32-brief §4.4). Only the first
 * record is read; a ClientHello continued in a second record is treated as
 * if the later extensions were absent (wolfSSL still parses all of it).
 *
 * The parser is paranoid: every length is checked against what encloses it,
 * and nothing is copied except a bounded, printable host name.
 */
#ifndef EIM_SERVER_TLS_CLIENT_HELLO_H
#define EIM_SERVER_TLS_CLIENT_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"

/* Largest plaintext record (RFC 8446 §5.1) plus its 5-byte header. */
#define EIM_TLS_MAX_FIRST_RECORD (5 + 16384)

typedef struct {
    char sni[256];             /* host_name from server_name, "" when absent or unusable */
    bool sni_present;          /* the extension carried a host_name */
    bool wants_raw_public_key; /* server_certificate_type prefers RawPublicKey (2) */
    bool fragmented;           /* the ClientHello continues past the first record */
} eim_tls_client_hello_t;

/*
 * Parses the ClientHello in the first record of data[0..len).
 * EIM_OK: out is filled. EIM_ERR_TRUNCATED: the record is incomplete, call
 * again with more bytes. EIM_ERR_DECODE: this is not a TLS ClientHello (for
 * example plaintext HTTP sent to the TLS port).
 */
eim_err_t eim_tls_client_hello_peek(const uint8_t *data, size_t len, eim_tls_client_hello_t *out);

#endif
