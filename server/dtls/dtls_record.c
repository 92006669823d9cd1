/*
 * DTLS record header and ClientHello look. See dtls_record.h.
 */
#include "server/dtls/dtls_record.h"

#include <string.h>

enum {
    RECORD_HEADER = 13,
    HANDSHAKE_HEADER = 12,
    TYPE_HANDSHAKE = 22,
    TYPE_TLS12_CID = 25,
    MSG_CLIENT_HELLO = 1,
    EXT_SERVER_CERTIFICATE_TYPE = 20,
    EXT_COOKIE = 44,
    CERT_TYPE_X509 = 0,
    CERT_TYPE_RAW_PUBLIC_KEY = 2,
};

static size_t u16(const uint8_t *p)
{
    return (size_t)p[0] << 8 | p[1];
}

static size_t u24(const uint8_t *p)
{
    return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
}

void eim_dtls_record_parse(const uint8_t *datagram, size_t len, size_t cid_size,
                           eim_dtls_record_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 1 || cid_size == 0 || cid_size > 20)
        return;
    uint8_t first = datagram[0];
    if ((first & 0xE0) == 0x20) { /* RFC 9147 §4: 001CSLEE */
        if (first & 0x10) {
            if (len < 1 + cid_size)
                return;
            out->kind = EIM_DTLS_RECORD_UNIFIED_CID;
            out->cid = datagram + 1;
        } else {
            out->kind = EIM_DTLS_RECORD_UNIFIED;
        }
        return;
    }
    if (len < RECORD_HEADER || datagram[1] != 0xFE)
        return;
    /* 0xFEFF DTLS 1.0 (ClientHello record version), 0xFEFD DTLS 1.2 */
    if (datagram[2] != 0xFF && datagram[2] != 0xFD)
        return;
    out->content_type = first;
    out->epoch = (uint16_t)u16(datagram + 3);
    if (first == TYPE_TLS12_CID) {
        if (len < 11 + cid_size + 2)
            return;
        out->kind = EIM_DTLS_RECORD_CID12;
        out->cid = datagram + 11;
        return;
    }
    if (first < 20 || first > 26)
        return;
    out->kind = EIM_DTLS_RECORD_PLAIN;
    size_t record_len = u16(datagram + 11);
    if (first == TYPE_HANDSHAKE && out->epoch == 0 && record_len >= HANDSHAKE_HEADER &&
        record_len <= len - RECORD_HEADER && datagram[RECORD_HEADER] == MSG_CLIENT_HELLO)
        out->client_hello = true;
}

typedef struct {
    const uint8_t *p;
    size_t left;
} reader_t;

static bool take(reader_t *r, size_t n, const uint8_t **out)
{
    if (n > r->left)
        return false;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

static bool take_vector(reader_t *r, size_t length_size, reader_t *sub)
{
    const uint8_t *b;
    if (!take(r, length_size, &b))
        return false;
    size_t n = length_size == 1 ? b[0] : u16(b);
    const uint8_t *body;
    if (!take(r, n, &body))
        return false;
    sub->p = body;
    sub->left = n;
    return true;
}

eim_err_t eim_dtls_client_hello_peek(const uint8_t *datagram, size_t len,
                                     eim_dtls_client_hello_t *out)
{
    memset(out, 0, sizeof(*out));
    eim_dtls_record_t record;
    eim_dtls_record_parse(datagram, len, 1, &record);
    if (!record.client_hello)
        return EIM_ERR_DECODE;
    reader_t r = {datagram + RECORD_HEADER, u16(datagram + 11)};
    const uint8_t *h;
    if (!take(&r, HANDSHAKE_HEADER, &h))
        return EIM_ERR_DECODE;
    size_t msg_len = u24(h + 1), frag_offset = u24(h + 6), frag_len = u24(h + 9);
    /* only a complete, unfragmented ClientHello is looked at */
    if (frag_offset != 0 || frag_len != msg_len || msg_len > r.left)
        return EIM_ERR_DECODE;
    reader_t body = {r.p, msg_len}, v;
    const uint8_t *b;
    if (!take(&body, 2 + 32, &b) || !take_vector(&body, 1, &v) || v.left > 32 ||
        !take_vector(&body, 1, &v))
        return EIM_ERR_DECODE;
    if (v.left > 0)
        out->has_cookie = true;
    if (!take_vector(&body, 2, &v) || !take_vector(&body, 1, &v))
        return EIM_ERR_DECODE;
    if (body.left == 0)
        return EIM_OK;
    reader_t exts;
    if (!take_vector(&body, 2, &exts) || body.left != 0)
        return EIM_ERR_DECODE;
    while (exts.left > 0) {
        const uint8_t *t;
        reader_t ext;
        if (!take(&exts, 2, &t) || !take_vector(&exts, 2, &ext))
            return EIM_ERR_DECODE;
        size_t type = u16(t);
        if (type == EXT_COOKIE) {
            out->has_cookie = true;
        } else if (type == EXT_SERVER_CERTIFICATE_TYPE) {
            reader_t types;
            if (!take_vector(&ext, 1, &types))
                return EIM_ERR_DECODE;
            /* A client that lists RawPublicKey at all has the server's key
             * pinned; X.509 ahead of it (GnuTLS's default order) does not
             * mean it holds the CA. Interpretation log P5. */
            for (size_t i = 0; i < types.left; i++) {
                if (types.p[i] == CERT_TYPE_RAW_PUBLIC_KEY) {
                    out->wants_raw_public_key = true;
                    break;
                }
            }
        }
    }
    return EIM_OK;
}
