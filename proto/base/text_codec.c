/*
 * Hex and base64 (RFC 4648 §4) for the JSON bindings and tools; see
 * text_codec.h for the strictness rules.
 */
#include "proto/base/text_codec.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

eim_err_t eim_hex_encode(const uint8_t *data, size_t len, eim_buf_t *out)
{
    static const char digits[] = "0123456789ABCDEF";
    eim_err_t err = eim_buf_reserve(out, 2 * len);
    if (err)
        return err;
    for (size_t i = 0; i < len; i++) {
        out->data[out->len++] = (uint8_t)digits[data[i] >> 4];
        out->data[out->len++] = (uint8_t)digits[data[i] & 0x0F];
    }
    return EIM_OK;
}

eim_err_t eim_hex_decode(const char *hex, size_t len, eim_buf_t *out, size_t *bad_offset)
{
    if (len % 2 != 0) {
        if (bad_offset)
            *bad_offset = len;
        return EIM_ERR_DECODE;
    }
    for (size_t i = 0; i < len; i++) {
        if (hex_value(hex[i]) < 0) {
            if (bad_offset)
                *bad_offset = i;
            return EIM_ERR_DECODE;
        }
    }
    eim_err_t err = eim_buf_reserve(out, len / 2);
    if (err)
        return err;
    for (size_t i = 0; i < len; i += 2)
        out->data[out->len++] = (uint8_t)(hex_value(hex[i]) << 4 | hex_value(hex[i + 1]));
    return EIM_OK;
}

bool eim_hex_is_upper(const char *hex, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (hex[i] >= 'a' && hex[i] <= 'f')
            return false;
    return true;
}

eim_err_t eim_base64_encode(const uint8_t *data, size_t len, eim_buf_t *out)
{
    if (len > (SIZE_MAX / 4) * 3 - 3)
        return EIM_ERR_LIMIT;
    eim_err_t err = eim_buf_reserve(out, (len + 2) / 3 * 4);
    if (err)
        return err;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out->data[out->len++] = (uint8_t)b64_alphabet[v >> 18];
        out->data[out->len++] = (uint8_t)b64_alphabet[(v >> 12) & 63];
        out->data[out->len++] = (uint8_t)b64_alphabet[(v >> 6) & 63];
        out->data[out->len++] = (uint8_t)b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        out->data[out->len++] = (uint8_t)b64_alphabet[v >> 18];
        out->data[out->len++] = (uint8_t)b64_alphabet[(v >> 12) & 63];
        out->data[out->len++] = '=';
        out->data[out->len++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        out->data[out->len++] = (uint8_t)b64_alphabet[v >> 18];
        out->data[out->len++] = (uint8_t)b64_alphabet[(v >> 12) & 63];
        out->data[out->len++] = (uint8_t)b64_alphabet[(v >> 6) & 63];
        out->data[out->len++] = '=';
    }
    return EIM_OK;
}

eim_err_t eim_base64_decode(const char *text, size_t len, eim_buf_t *out, size_t *bad_offset)
{
    size_t bad = 0;
    eim_err_t err = EIM_ERR_DECODE;
    if (len % 4 != 0) {
        bad = len;
        goto out;
    }
    size_t start = out->len;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        bool last = i + 4 == len;
        size_t pad = 0;
        for (size_t k = 0; k < 4; k++) {
            char c = text[i + k];
            if (c == '=' && last && k >= 2 && (k == 3 || text[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            v[k] = pad ? -1 : b64_value(c);
            if (v[k] < 0) {
                bad = i + k;
                out->len = start;
                goto out;
            }
        }
        uint32_t word =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Canonical: the bits dropped by padding must be zero. */
        if ((pad == 1 && (word & 0xFF) != 0) || (pad == 2 && (word & 0xFFFF) != 0)) {
            bad = i + 3 - pad;
            out->len = start;
            goto out;
        }
        uint8_t bytes[3] = {(uint8_t)(word >> 16), (uint8_t)(word >> 8), (uint8_t)word};
        err = eim_buf_append(out, bytes, 3 - pad);
        if (err) {
            out->len = start;
            return err;
        }
    }
    return EIM_OK;
out:
    if (bad_offset)
        *bad_offset = bad;
    return err;
}
