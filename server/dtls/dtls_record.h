/*
 * First look at a datagram before any DTLS state is involved: which record
 * header it starts with and, when it carries one, the Connection ID.
 *
 * DTLS 1.2 record header (RFC 6347 §4.1): type(1) version(2) epoch(2)
 * sequence(6) length(2); with a CID (RFC 9146 §4) the type is tls12_cid
 * (25) and the CID sits between the sequence number and the length. DTLS
 * 1.3 ciphertext records (RFC 9147 §4) use the unified header 001CSLEE: the
 * C bit says a CID follows the first byte. Our CIDs have a fixed length,
 * so the CID is found without any state (RFC 9146 §3 leaves the length to
 * the receiver's choice). The ClientHello look (RFC 6347 §4.2.2, RFC 7250
 * §3) decides the certificate type before a wolfSSL object is chosen.
 *
 * Paranoid: every length is checked against what remains; nothing is
 * copied.
 */
#ifndef EIM_SERVER_DTLS_DTLS_RECORD_H
#define EIM_SERVER_DTLS_DTLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"

typedef enum {
    EIM_DTLS_RECORD_INVALID = 0, /* not a DTLS record we accept */
    EIM_DTLS_RECORD_PLAIN,       /* DTLS 1.0/1.2 header without CID */
    EIM_DTLS_RECORD_CID12,       /* tls12_cid record (RFC 9146) */
    EIM_DTLS_RECORD_UNIFIED,     /* DTLS 1.3 unified header without CID */
    EIM_DTLS_RECORD_UNIFIED_CID, /* DTLS 1.3 unified header with CID */
} eim_dtls_record_kind_t;

typedef struct {
    eim_dtls_record_kind_t kind;
    uint8_t content_type; /* PLAIN/CID12: the header's type (22 handshake, ...) */
    uint16_t epoch;       /* PLAIN/CID12 */
    const uint8_t *cid;   /* CID12/UNIFIED_CID: cid_size bytes into the datagram */
    bool client_hello;    /* PLAIN, epoch 0, handshake, first message ClientHello */
} eim_dtls_record_t;

/* Classifies the first record of datagram[0..len) for CIDs of cid_size
 * bytes (1..20). Never fails: unknown input gives kind INVALID. */
void eim_dtls_record_parse(const uint8_t *datagram, size_t len, size_t cid_size,
                           eim_dtls_record_t *out);

typedef struct {
    bool wants_raw_public_key; /* server_certificate_type lists RawPublicKey */
    bool has_cookie;           /* legacy cookie non-empty or cookie extension (1.3) */
} eim_dtls_client_hello_t;

/* Parses the ClientHello in the first record. EIM_OK or EIM_ERR_DECODE
 * (fragmented or malformed: the caller then assumes X.509, no cookie). */
eim_err_t eim_dtls_client_hello_peek(const uint8_t *datagram, size_t len,
                                     eim_dtls_client_hello_t *out);

#endif
