/*
 * ClientHello peek (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7250 §3). See
 * client_hello.h.
 */
#include "server/tls/client_hello.h"

#include <string.h>

enum {
    RECORD_HANDSHAKE = 22,
    HANDSHAKE_CLIENT_HELLO = 1,
    EXT_SERVER_NAME = 0,
    EXT_SERVER_CERTIFICATE_TYPE = 20,
    SNI_HOST_NAME = 0,
    CERT_TYPE_X509 = 0,
    CERT_TYPE_RAW_PUBLIC_KEY = 2,
};

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

static bool take_u8(reader_t *r, size_t *v)
{
    const uint8_t *b;
    if (!take(r, 1, &b))
        return false;
    *v = b[0];
    return true;
}

static bool take_u16(reader_t *r, size_t *v)
{
    const uint8_t *b;
    if (!take(r, 2, &b))
        return false;
    *v = (size_t)b[0] << 8 | b[1];
    return true;
}

/* A sub-reader over the next n bytes (a length-prefixed vector). */
static bool take_vector(reader_t *r, size_t n, reader_t *sub)
{
    const uint8_t *b;
    if (!take(r, n, &b))
        return false;
    sub->p = b;
    sub->left = n;
    return true;
}

static bool host_name_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

static void parse_server_name(reader_t ext, eim_tls_client_hello_t *out)
{
    size_t list_len;
    reader_t list;
    if (!take_u16(&ext, &list_len) || !take_vector(&ext, list_len, &list))
        return;
    while (list.left > 0) {
        size_t type, name_len;
        const uint8_t *name;
        if (!take_u8(&list, &type) || !take_u16(&list, &name_len) || !take(&list, name_len, &name))
            return;
        if (type != SNI_HOST_NAME)
            continue;
        out->sni_present = true;
        if (name_len == 0 || name_len >= sizeof(out->sni))
            return;
        for (size_t i = 0; i < name_len; i++)
            if (!host_name_char(name[i]))
                return; /* present but not loggable: reported as present, empty */
        memcpy(out->sni, name, name_len);
        out->sni[name_len] = '\0';
        return;
    }
}

/* RFC 7250 §3: the client lists the types it accepts, most preferred
 * first. We serve a raw public key when it comes before X.509. */
static void parse_server_certificate_type(reader_t ext, eim_tls_client_hello_t *out)
{
    size_t count;
    const uint8_t *types;
    if (!take_u8(&ext, &count) || !take(&ext, count, &types))
        return;
    for (size_t i = 0; i < count; i++) {
        if (types[i] == CERT_TYPE_RAW_PUBLIC_KEY) {
            out->wants_raw_public_key = true;
            return;
        }
        if (types[i] == CERT_TYPE_X509)
            return;
    }
}

eim_err_t eim_tls_client_hello_peek(const uint8_t *data, size_t len, eim_tls_client_hello_t *out)
{
    memset(out, 0, sizeof(*out));
    reader_t r = {data, len};
    size_t content_type, version_major, version_minor, record_len;
    const uint8_t *b;
    /* Reject non-TLS input as early as its first bytes allow. */
    if (!take_u8(&r, &content_type))
        return EIM_ERR_TRUNCATED;
    if (content_type != RECORD_HANDSHAKE)
        return EIM_ERR_DECODE;
    if (!take_u8(&r, &version_major))
        return EIM_ERR_TRUNCATED;
    if (version_major != 3)
        return EIM_ERR_DECODE;
    if (!take_u8(&r, &version_minor) || !take_u16(&r, &record_len))
        return EIM_ERR_TRUNCATED;
    if (version_minor > 4 || record_len == 0 || record_len > 16384)
        return EIM_ERR_DECODE;
    reader_t record;
    if (!take_vector(&r, record_len, &record))
        return EIM_ERR_TRUNCATED;

    size_t msg_type;
    if (!take_u8(&record, &msg_type) || msg_type != HANDSHAKE_CLIENT_HELLO || !take(&record, 3, &b))
        return EIM_ERR_DECODE;
    size_t msg_len = (size_t)b[0] << 16 | (size_t)b[1] << 8 | b[2];
    reader_t body = record;
    if (msg_len > record.left)
        out->fragmented = true;
    else
        body.left = msg_len;

    /* legacy_version, random, legacy_session_id, cipher_suites,
     * legacy_compression_methods; a cut-off message simply ends early */
    size_t n;
    if (!take(&body, 2 + 32, &b) || !take_u8(&body, &n) || n > 32 || !take(&body, n, &b) ||
        !take_u16(&body, &n) || !take(&body, n, &b) || !take_u8(&body, &n) || !take(&body, n, &b))
        return out->fragmented ? EIM_OK : EIM_ERR_DECODE;
    if (body.left == 0)
        return EIM_OK; /* no extensions */
    size_t ext_total;
    reader_t exts;
    if (!take_u16(&body, &ext_total))
        return out->fragmented ? EIM_OK : EIM_ERR_DECODE;
    if (!take_vector(&body, ext_total, &exts)) {
        if (!out->fragmented)
            return EIM_ERR_DECODE;
        exts = body; /* read the extensions that made it into this record */
    }
    while (exts.left > 0) {
        size_t type, ext_len;
        reader_t ext;
        if (!take_u16(&exts, &type) || !take_u16(&exts, &ext_len) ||
            !take_vector(&exts, ext_len, &ext))
            return out->fragmented ? EIM_OK : EIM_ERR_DECODE;
        if (type == EXT_SERVER_NAME)
            parse_server_name(ext, out);
        else if (type == EXT_SERVER_CERTIFICATE_TYPE)
            parse_server_certificate_type(ext, out);
    }
    return EIM_OK;
}
