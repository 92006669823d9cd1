/*
 * Park blobs: the bytes a parked DTLS 1.2 session is kept as, in memory
 * and in the dtls_sessions rows (storage/dtls_sessions.h).
 *
 * A blob is a wolfSSL 5.9.2 session export (wolfSSL_dtls_export) plus what
 * the export lacks (the peer's CID, the raw peer sockaddr, the listener),
 * sealed with AES-256-GCM under the park key (coaps.park_key) with the
 * session key (CID || id) as associated data, because the export holds
 * both traffic keys in clear and wolfSSL_dtls_import checks nothing.
 *
 * Besides sealing and opening, this module knows the one field of the
 * export that eimd changes: the 48-bit DTLS write sequence number (RFC 6347
 * §4.1), advanced when a session is claimed from the database so that every
 * generation holding it sends in a range of its own (claim gap; see
 * docs/architecture.md, DTLS ownership).
 *
 * Everything here is pure over bytes (no server or session state); the
 * caller supplies the keyed AES context and the nonce.
 */
#ifndef EIM_SERVER_DTLS_PARK_BLOB_H
#define EIM_SERVER_DTLS_PARK_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#include "proto/base/error.h"

#define EIM_PARK_BLOB_KEY_SIZE     32 /* AES-256 */
#define EIM_PARK_BLOB_NONCE_SIZE   12
#define EIM_PARK_BLOB_TAG_SIZE     16
#define EIM_PARK_BLOB_VERSION      1    /* first byte of a sealed blob */
#define EIM_PARK_BLOB_EXPORT_MAX   1024 /* largest wolfSSL export sealed */
#define EIM_PARK_BLOB_PEER_CID_MAX 20   /* RFC 9146: a CID has at most 255 bytes; 20 is ours */
/* Room for the plaintext of any blob (eim_park_blob_open's buffer). */
#define EIM_PARK_BLOB_PLAIN_MAX (EIM_PARK_BLOB_EXPORT_MAX + 64)
/* Overhead of sealing: version, nonce, tag. */
#define EIM_PARK_BLOB_OVERHEAD (1 + EIM_PARK_BLOB_NONCE_SIZE + EIM_PARK_BLOB_TAG_SIZE)

/* What a blob holds. For sealing, export_data is the caller's; after
 * opening it points into the caller's plaintext buffer. */
typedef struct {
    uint8_t version;  /* DTLS version: 12 (only 1.2 sessions are parked) */
    uint8_t listener; /* index of the socket the session was on */
    uint8_t peer_len; /* bytes of peer used (sizeof sockaddr_in / _in6) */
    struct sockaddr_storage peer;
    uint8_t peer_cid_len;
    uint8_t peer_cid[EIM_PARK_BLOB_PEER_CID_MAX];
    const uint8_t *export_data; /* wolfSSL_dtls_export output */
    size_t export_len;
} eim_park_contents_t;

/* Initialises aes (wc_AesInit) and sets the 32-byte park key for GCM.
 * The caller frees aes with wc_AesFree in any case. */
eim_err_t eim_park_blob_key_init(Aes *aes, const uint8_t key[EIM_PARK_BLOB_KEY_SIZE]);

/*
 * Seals contents into a new buffer (*out, the caller's to free; *out_len
 * bytes). Layout: EIM_PARK_BLOB_VERSION(1) nonce(12) ciphertext tag(16);
 * plaintext: version(1) listener(1) peer_len(1) peer(peer_len)
 * peer_cid_len(1) peer_cid blob_len(2, big endian) blob; associated data:
 * aad (the session key). nonce must be fresh random bytes for every call.
 * EIM_ERR_LIMIT: export or CID too long; EIM_ERR_CRYPTO: the cipher failed.
 */
eim_err_t eim_park_blob_seal(Aes *aes, const uint8_t nonce[EIM_PARK_BLOB_NONCE_SIZE],
                             const uint8_t *aad, size_t aad_len,
                             const eim_park_contents_t *contents, uint8_t **out, size_t *out_len);

/*
 * Opens a sealed blob. The plaintext goes to plain (plain_size bytes,
 * EIM_PARK_BLOB_PLAIN_MAX is enough; the caller wipes it after use) and
 * out->export_data points into it. EIM_ERR_DECODE: not a sealed blob
 * (truncated, unknown version, malformed plaintext); EIM_ERR_VERIFY:
 * sealed under another key or AAD, or altered; EIM_ERR_LIMIT: plain too
 * small. On error *out is unspecified.
 */
eim_err_t eim_park_blob_open(Aes *aes, const uint8_t *aad, size_t aad_len, const uint8_t *sealed,
                             size_t sealed_len, uint8_t *plain, size_t plain_size,
                             eim_park_contents_t *out);

/*
 * Adds gap to the write sequence number inside a wolfSSL 5.9.2 DTLS export
 * (in place). EIM_ERR_DECODE: the export is too short for the layout;
 * EIM_ERR_LIMIT: the 48-bit sequence space would be exceeded (a new
 * handshake is needed). The export is unchanged on error.
 */
eim_err_t eim_park_blob_advance_write_sequence(uint8_t *export_data, size_t len, uint64_t gap);

/*
 * The write sequence skip for a blob claimed as generation `generation`
 * when its writer held `sealed_generation`: every generation in between
 * resumed (or may have) from the same blob with a range of gap_per_generation
 * sequence numbers of its own, so *gap = (generation - sealed_generation) *
 * gap_per_generation. EIM_ERR_LIMIT (and *gap = 2^48, which the sequence
 * space refuses) when generation is not newer or the product leaves the
 * 48-bit space.
 */
eim_err_t eim_park_blob_claim_gap(uint64_t generation, uint64_t sealed_generation,
                                  uint64_t gap_per_generation, uint64_t *gap);

#endif
