/*
 * Park blobs (see park_blob.h): AES-256-GCM sealing of wolfSSL DTLS 1.2
 * session exports, and the write sequence number inside an export.
 *
 * The byte formats are those of the rows already in dtls_sessions
 * (migration 0004): changing them makes every parked session unopenable.
 */
#include "server/dtls/park_blob.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/memory.h"

eim_err_t eim_park_blob_key_init(Aes *aes, const uint8_t key[EIM_PARK_BLOB_KEY_SIZE])
{
    wc_AesInit(aes, NULL, INVALID_DEVID);
    return wc_AesGcmSetKey(aes, key, EIM_PARK_BLOB_KEY_SIZE) == 0 ? EIM_OK : EIM_ERR_CRYPTO;
}

eim_err_t eim_park_blob_seal(Aes *aes, const uint8_t nonce[EIM_PARK_BLOB_NONCE_SIZE],
                             const uint8_t *aad, size_t aad_len,
                             const eim_park_contents_t *contents, uint8_t **out, size_t *out_len)
{
    const eim_park_contents_t *c = contents;
    uint8_t plain[EIM_PARK_BLOB_PLAIN_MAX];
    size_t n = 0;
    *out = NULL;
    *out_len = 0;
    if (c->export_len > EIM_PARK_BLOB_EXPORT_MAX || c->peer_len > sizeof(c->peer) ||
        c->peer_cid_len > EIM_PARK_BLOB_PEER_CID_MAX ||
        3 + (size_t)c->peer_len + 1 + c->peer_cid_len + 2 + c->export_len > sizeof(plain))
        return EIM_ERR_LIMIT;
    plain[n++] = c->version;
    plain[n++] = c->listener;
    plain[n++] = c->peer_len;
    memcpy(plain + n, &c->peer, c->peer_len);
    n += c->peer_len;
    plain[n++] = c->peer_cid_len;
    memcpy(plain + n, c->peer_cid, c->peer_cid_len);
    n += c->peer_cid_len;
    plain[n++] = (uint8_t)(c->export_len >> 8);
    plain[n++] = (uint8_t)c->export_len;
    memcpy(plain + n, c->export_data, c->export_len);
    n += c->export_len;
    size_t total = EIM_PARK_BLOB_OVERHEAD + n;
    uint8_t *sealed = eim_malloc(total);
    uint8_t *ciphertext = sealed + 1 + EIM_PARK_BLOB_NONCE_SIZE;
    sealed[0] = EIM_PARK_BLOB_VERSION;
    memcpy(sealed + 1, nonce, EIM_PARK_BLOB_NONCE_SIZE);
    int rc =
        wc_AesGcmEncrypt(aes, ciphertext, plain, (word32)n, sealed + 1, EIM_PARK_BLOB_NONCE_SIZE,
                         ciphertext + n, EIM_PARK_BLOB_TAG_SIZE, aad, (word32)aad_len);
    memset(plain, 0, sizeof(plain));
    if (rc != 0) {
        free(sealed);
        return EIM_ERR_CRYPTO;
    }
    *out = sealed;
    *out_len = total;
    return EIM_OK;
}

eim_err_t eim_park_blob_open(Aes *aes, const uint8_t *aad, size_t aad_len, const uint8_t *sealed,
                             size_t sealed_len, uint8_t *plain, size_t plain_size,
                             eim_park_contents_t *out)
{
    if (!sealed || sealed_len < EIM_PARK_BLOB_OVERHEAD || sealed[0] != EIM_PARK_BLOB_VERSION)
        return EIM_ERR_DECODE;
    size_t n = sealed_len - EIM_PARK_BLOB_OVERHEAD;
    if (n > plain_size)
        return EIM_ERR_LIMIT;
    const uint8_t *ciphertext = sealed + 1 + EIM_PARK_BLOB_NONCE_SIZE;
    if (wc_AesGcmDecrypt(aes, plain, ciphertext, (word32)n, sealed + 1, EIM_PARK_BLOB_NONCE_SIZE,
                         ciphertext + n, EIM_PARK_BLOB_TAG_SIZE, aad, (word32)aad_len) != 0)
        return EIM_ERR_VERIFY;
    size_t i = 0;
    if (n < 3)
        return EIM_ERR_DECODE;
    memset(out, 0, sizeof(*out));
    out->version = plain[i++];
    out->listener = plain[i++];
    out->peer_len = plain[i++];
    if (out->version != 12 || out->peer_len > sizeof(out->peer) || i + out->peer_len + 1 > n)
        return EIM_ERR_DECODE;
    memcpy(&out->peer, plain + i, out->peer_len);
    i += out->peer_len;
    out->peer_cid_len = plain[i++];
    if (out->peer_cid_len > EIM_PARK_BLOB_PEER_CID_MAX || i + out->peer_cid_len + 2 > n)
        return EIM_ERR_DECODE;
    memcpy(out->peer_cid, plain + i, out->peer_cid_len);
    i += out->peer_cid_len;
    size_t len = (size_t)plain[i] << 8 | plain[i + 1];
    i += 2;
    if (i + len != n || (out->peer.ss_family != AF_INET && out->peer.ss_family != AF_INET6))
        return EIM_ERR_DECODE;
    out->export_data = plain + i;
    out->export_len = len;
    return EIM_OK;
}

/*
 * wolfSSL export layout (5.9.2, internal.c ExportKeyState): proto(1)
 * version(1) total(2) options_len(2) options keys_len(2) keys...; the key
 * state starts with four 32-bit TLS sequence words (16 bytes), then (DTLS)
 * the peer's and current epoch/sequence heads (22 bytes), the two peer
 * handshake numbers (4 bytes), then dtls_sequence_number hi(2) lo(4): the
 * write sequence number, which the AES-CCM explicit nonce follows after an
 * import (our patch). Until this was corrected the offset missed the
 * handshake numbers, so the gap went into dtls_expected_peer_handshake_number
 * and the write sequence was never advanced.
 */
#define KEYS_WRITE_SEQ_OFFSET (16 + 22 + 4)

eim_err_t eim_park_blob_advance_write_sequence(uint8_t *export_data, size_t len, uint64_t gap)
{
    uint8_t *blob = export_data;
    if (len < 6)
        return EIM_ERR_DECODE;
    size_t options_len = (size_t)blob[4] << 8 | blob[5];
    size_t keys = 6 + options_len + 2;
    if (keys + KEYS_WRITE_SEQ_OFFSET + 6 > len ||
        ((size_t)blob[keys - 2] << 8 | blob[keys - 1]) < KEYS_WRITE_SEQ_OFFSET + 6)
        return EIM_ERR_DECODE;
    uint8_t *p = blob + keys + KEYS_WRITE_SEQ_OFFSET;
    uint64_t seq = 0;
    for (int i = 0; i < 6; i++)
        seq = seq << 8 | p[i];
    if (gap >> 48 || (seq + gap) >> 48)
        return EIM_ERR_LIMIT; /* sequence space exhausted: a new handshake is needed */
    seq += gap;
    for (int i = 5; i >= 0; i--) {
        p[i] = (uint8_t)seq;
        seq >>= 8;
    }
    return EIM_OK;
}

eim_err_t eim_park_blob_claim_gap(uint64_t generation, uint64_t sealed_generation,
                                  uint64_t gap_per_generation, uint64_t *gap)
{
    uint64_t generations = generation - sealed_generation;
    if (generation <= sealed_generation || gap_per_generation == 0 ||
        generations >= (1ULL << 48) / gap_per_generation) {
        *gap = 1ULL << 48; /* what the sequence space refuses */
        return EIM_ERR_LIMIT;
    }
    *gap = generations * gap_per_generation;
    return EIM_OK;
}
